"""Audit projection: who signed what, when, with which parties and protocol, and the outcome.

Projection name ``audit``. One row per ceremony (every signing ceremony; wallet-creation
ceremonies too, with ``kind = 'create_wallet'``), built from ``CeremonyStarted``,
``SignatureProduced``, ``CeremonyFailed``, ``PartyMisbehaved`` and ``WalletCreated``. This is
the table the audit CLI (``quorate audit query``) reads; the 7-year trail itself is the
event store, and every row names the positions of its events there, so an auditor can check
a row against the verified hash chain.

Table ``audit_ceremonies``::

    ceremony_id       TEXT PRIMARY KEY
    wallet_id         TEXT NOT NULL
    tenant            TEXT        event metadata ``tenant``, ``actor`` and ``correlation_id``
    actor             TEXT        (storage/events/metadata.py): the first value any event of
    correlation_id    TEXT        the ceremony carries; NULL if none does
    kind              TEXT        'sign' | 'create_wallet' | NULL (start not recorded)
    protocol          TEXT        CeremonyStarted.protocol (the ciphersuite id)
    scheme            TEXT        'bip340' | 'ed25519' | 'ecdsa-secp256k1' (once finished)
    parties           TEXT        JSON list: the parties the ceremony started with
    signers           TEXT        JSON list: the parties whose shares made the signature
    message           TEXT        hex, as signed (NULL unless signed)
    signature         TEXT        hex (NULL unless signed)
    public_key        TEXT        hex: the key the signature verifies under (x-only for
                                  BIP340); for a wallet creation, the group key
    outcome           TEXT NOT NULL  'pending' | 'signed' | 'created' | 'failed'
    failure_reason    TEXT        CeremonyFailed.reason (NULL if none)
    culprits          TEXT NOT NULL  JSON list of party ids blamed ([] if none)
    misbehaviours     TEXT NOT NULL  JSON list of {"party", "reason", "position"}
    started_at        timestamp   recorded_at of CeremonyStarted
    finished_at       timestamp   recorded_at of the event that decided the outcome
    started_position  BIGINT
    finished_position BIGINT
    event_positions   TEXT NOT NULL  JSON list of the positions of all its events

    INDEX audit_ceremonies_wallet_finished (wallet_id, finished_at)  -- range queries
    INDEX audit_ceremonies_finished (finished_at)                    -- across wallets

``signed`` and ``created`` are final: a ``CeremonyFailed`` recorded after the signature
keeps the outcome (the signature exists) and only fills ``failure_reason``; a signature
recorded after a failure (a retry under the same ceremony id) turns the outcome to
``signed``.

Table ``audit_wallets`` (immutable facts, for as-of queries): ``wallet_id`` PK, ``scheme``,
``ciphersuite``, ``threshold``, ``parties`` (JSON), ``group_public_key``, ``ceremony_id``,
``created_at``, ``created_position``.

Times are the events' ``recorded_at`` (UTC). Query API (all read one snapshot):

* :func:`get_ceremony` ``(db, ceremony_id) -> AuditRecord | None``;
* :func:`signatures_between` ``(db, wallet_id, start, end, *, limit=None)``: signed
  ceremonies with ``start <= finished_at < end``, oldest first;
* :func:`ceremonies_between` ``(db, start, end, *, wallet_id=None, limit=None)``: every
  finished ceremony (any outcome) in the same half-open range, one wallet or all;
* :func:`wallet_state_as_of` ``(db, wallet_id, instant) -> WalletState | None``: the
  wallet as it stood at ``instant`` (events recorded at or before it), from this
  projection's tables; it knows only what the projection has applied (see
  :func:`storage.projections.checkpoints.get_checkpoints`);
* :func:`fold_wallet_state` ``(store, wallet_id, instant)``: the same answer folded
  directly from the event store, hash chain verified on the way: authoritative and
  independent of any projection, but it reads the whole log (a full scan, since a wallet's
  signatures live in their ceremonies' streams).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from storage.events.models import (
    CeremonyFailed,
    CeremonyStarted,
    PartyMisbehaved,
    SignatureProduced,
    WalletCreated,
)
from storage.events.port import EventStore, StoredEvent
from storage.projections.current_state import WalletState
from storage.projections.port import (
    BatchProjection,
    Decoder,
    ProjectionDb,
    ProjectionTx,
    Row,
    as_datetime,
    as_is,
    check_window,
    decode_domain_event,
    decode_row,
    dump_json,
    format_timestamp,
    load_json,
    require_datetime,
    verified_events,
)

Outcome = Literal["pending", "signed", "created", "failed"]
FINAL_OUTCOMES: frozenset[str] = frozenset({"signed", "created"})

_DDL = (
    """
    CREATE TABLE IF NOT EXISTS audit_ceremonies (
        ceremony_id       TEXT PRIMARY KEY,
        wallet_id         TEXT NOT NULL,
        tenant            TEXT,
        actor             TEXT,
        correlation_id    TEXT,
        kind              TEXT,
        protocol          TEXT,
        scheme            TEXT,
        parties           TEXT,
        signers           TEXT,
        message           TEXT,
        signature         TEXT,
        public_key        TEXT,
        outcome           TEXT NOT NULL
                          CHECK (outcome IN ('pending', 'signed', 'created', 'failed')),
        failure_reason    TEXT,
        culprits          TEXT NOT NULL,
        misbehaviours     TEXT NOT NULL,
        started_at        {timestamp},
        finished_at       {timestamp},
        started_position  BIGINT,
        finished_position BIGINT,
        event_positions   TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS audit_ceremonies_wallet_finished"
    " ON audit_ceremonies (wallet_id, finished_at)",
    "CREATE INDEX IF NOT EXISTS audit_ceremonies_finished ON audit_ceremonies (finished_at)",
    """
    CREATE TABLE IF NOT EXISTS audit_wallets (
        wallet_id        TEXT PRIMARY KEY,
        scheme           TEXT NOT NULL,
        ciphersuite      TEXT NOT NULL,
        threshold        INTEGER NOT NULL,
        parties          TEXT NOT NULL,
        group_public_key TEXT NOT NULL,
        ceremony_id      TEXT NOT NULL,
        created_at       {timestamp} NOT NULL,
        created_position BIGINT NOT NULL
    )
    """,
)

_SELECT = (
    "SELECT ceremony_id, wallet_id, tenant, actor, correlation_id, kind, protocol, scheme,"
    " parties, signers, message, signature, public_key, outcome, failure_reason, culprits,"
    " misbehaviours, started_at, finished_at, started_position, finished_position,"
    " event_positions FROM audit_ceremonies"
)
_SELECT_ONE = _SELECT + " WHERE ceremony_id = $1"
# A batch's rows in one query; the ids are one JSON-array parameter, expanded by each
# database's own JSON function (the only statement whose text differs between dialects:
# Dialect.in_json_array).
_SELECT_MANY = _SELECT + " WHERE ceremony_id IN ({json_array})"
_UPSERT = (
    "INSERT INTO audit_ceremonies (ceremony_id, wallet_id, tenant, actor, correlation_id, kind,"
    " protocol, scheme, parties, signers, message, signature, public_key, outcome,"
    " failure_reason, culprits, misbehaviours, started_at, finished_at, started_position,"
    " finished_position, event_positions)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
    " $19, $20, $21, $22)"
    " ON CONFLICT (ceremony_id) DO UPDATE SET wallet_id = excluded.wallet_id,"
    " tenant = excluded.tenant, actor = excluded.actor,"
    " correlation_id = excluded.correlation_id, kind = excluded.kind,"
    " protocol = excluded.protocol, scheme = excluded.scheme, parties = excluded.parties,"
    " signers = excluded.signers, message = excluded.message, signature = excluded.signature,"
    " public_key = excluded.public_key, outcome = excluded.outcome,"
    " failure_reason = excluded.failure_reason, culprits = excluded.culprits,"
    " misbehaviours = excluded.misbehaviours, started_at = excluded.started_at,"
    " finished_at = excluded.finished_at, started_position = excluded.started_position,"
    " finished_position = excluded.finished_position, event_positions = excluded.event_positions"
)
_SIGNATURES_BETWEEN = (
    _SELECT + " WHERE wallet_id = $1 AND outcome = 'signed'"
    " AND finished_at >= $2 AND finished_at < $3"
    " ORDER BY finished_at, finished_position LIMIT $4"
)
_WALLET_CEREMONIES_BETWEEN = (
    _SELECT + " WHERE wallet_id = $1 AND finished_at >= $2 AND finished_at < $3"
    " ORDER BY finished_at, finished_position LIMIT $4"
)
_ALL_CEREMONIES_BETWEEN = (
    _SELECT + " WHERE finished_at >= $1 AND finished_at < $2"
    " ORDER BY finished_at, finished_position LIMIT $3"
)
_INSERT_WALLET = (
    "INSERT INTO audit_wallets (wallet_id, scheme, ciphersuite, threshold, parties,"
    " group_public_key, ceremony_id, created_at, created_position)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (wallet_id) DO NOTHING"
)
_WALLET_AS_OF = (
    "SELECT wallet_id, scheme, ciphersuite, threshold, parties, group_public_key, ceremony_id,"
    " created_at FROM audit_wallets WHERE wallet_id = $1 AND created_at <= $2"
)
_SIGNATURES_AS_OF = (
    "SELECT count(*) AS signature_count, max(finished_at) AS last_signed_at"
    " FROM audit_ceremonies WHERE wallet_id = $1 AND outcome = 'signed' AND finished_at <= $2"
)


class Misbehaviour(BaseModel):
    """A ``PartyMisbehaved`` event, as listed in an audit row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    party: str
    reason: str
    position: int


class AuditRecord(BaseModel):
    """One row of ``audit_ceremonies`` (see the module docstring for each field)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ceremony_id: str
    wallet_id: str
    tenant: str | None
    actor: str | None
    correlation_id: str | None
    kind: str | None
    protocol: str | None
    scheme: str | None
    parties: list[str] | None
    signers: list[str] | None
    message: str | None
    signature: str | None
    public_key: str | None
    outcome: Outcome
    failure_reason: str | None
    culprits: list[str]
    misbehaviours: list[Misbehaviour]
    started_at: datetime | None
    finished_at: datetime | None
    started_position: int | None
    finished_position: int | None
    event_positions: list[int]


@dataclass(frozen=True, slots=True)
class _Row:
    """An audit row while an event is folded into it (read, changed in Python, written)."""

    ceremony_id: str
    wallet_id: str
    tenant: str | None = None
    actor: str | None = None
    correlation_id: str | None = None
    kind: str | None = None
    protocol: str | None = None
    scheme: str | None = None
    parties: list[str] | None = None
    signers: list[str] | None = None
    message: str | None = None
    signature: str | None = None
    public_key: str | None = None
    outcome: str = "pending"
    failure_reason: str | None = None
    culprits: list[str] = field(default_factory=list)
    misbehaviours: list[dict[str, Any]] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    started_position: int | None = None
    finished_position: int | None = None
    event_positions: list[int] = field(default_factory=list)

    def parameters(self) -> tuple[Any, ...]:
        return (
            self.ceremony_id,
            self.wallet_id,
            self.tenant,
            self.actor,
            self.correlation_id,
            self.kind,
            self.protocol,
            self.scheme,
            None if self.parties is None else dump_json(self.parties),
            None if self.signers is None else dump_json(self.signers),
            self.message,
            self.signature,
            self.public_key,
            self.outcome,
            self.failure_reason,
            dump_json(self.culprits),
            dump_json(self.misbehaviours),
            self.started_at,
            self.finished_at,
            self.started_position,
            self.finished_position,
            dump_json(self.event_positions),
        )


_DECODERS: dict[str, Decoder] = {
    "ceremony_id": as_is,
    "wallet_id": as_is,
    "tenant": as_is,
    "actor": as_is,
    "correlation_id": as_is,
    "kind": as_is,
    "protocol": as_is,
    "scheme": as_is,
    "parties": load_json,
    "signers": load_json,
    "message": as_is,
    "signature": as_is,
    "public_key": as_is,
    "outcome": as_is,
    "failure_reason": as_is,
    "culprits": load_json,
    "misbehaviours": load_json,
    "started_at": as_datetime,
    "finished_at": as_datetime,
    "started_position": as_is,
    "finished_position": as_is,
    "event_positions": load_json,
}
"""How each column of ``audit_ceremonies`` reads back (lists are JSON text)."""


def _load_row(row: Row) -> _Row:
    return _Row(**decode_row(row, _DECODERS))


def _record(row: Row) -> AuditRecord:
    # The same fields; pydantic checks the outcome and turns misbehaviours into models.
    return AuditRecord(**asdict(_load_row(row)))


_AuditEvent = CeremonyStarted | SignatureProduced | CeremonyFailed | PartyMisbehaved | WalletCreated


def _fold(row: _Row, domain: _AuditEvent, event: StoredEvent) -> _Row:
    """``row`` with one more of its ceremony's events applied."""
    at, position = event.recorded_at, event.position
    metadata = event.metadata
    row = replace(
        row,
        # Read as plain keys, not through EventMetadata: whatever older code wrote must
        # still project, and an unconventional value is better shown than dropped.
        tenant=row.tenant or metadata.get("tenant"),
        actor=row.actor or metadata.get("actor"),
        correlation_id=row.correlation_id or metadata.get("correlation_id"),
        event_positions=[*row.event_positions, position],
    )
    if isinstance(domain, CeremonyStarted):
        return replace(
            row,
            kind=domain.kind,
            protocol=domain.protocol,
            parties=list(domain.parties),
            started_at=at,
            started_position=position,
        )
    if isinstance(domain, SignatureProduced):
        if row.outcome == "signed":
            # The store's idempotency keys allow one signature per ceremony; should a second
            # ever be recorded, the first stays the audited one (fold_wallet_state agrees).
            return row
        return replace(
            row,
            scheme=domain.scheme,
            signers=list(domain.signers),
            message=domain.message,
            signature=domain.signature,
            public_key=domain.public_key,
            outcome="signed",
            finished_at=at,
            finished_position=position,
        )
    if isinstance(domain, WalletCreated):
        return replace(
            row,
            kind=row.kind or "create_wallet",
            scheme=domain.scheme,
            public_key=domain.group_public_key,
            outcome="created",
            finished_at=at,
            finished_position=position,
        )
    if isinstance(domain, CeremonyFailed):
        row = replace(row, failure_reason=domain.reason, culprits=list(domain.culprits))
        if row.outcome in FINAL_OUTCOMES:
            return row
        return replace(row, outcome="failed", finished_at=at, finished_position=position)
    if isinstance(domain, PartyMisbehaved):
        entry = {"party": domain.party, "reason": domain.reason, "position": position}
        return replace(row, misbehaviours=[*row.misbehaviours, entry])
    return row


class AuditProjection(BatchProjection):
    """One row per ceremony, for auditors (see the module docstring for the layout)."""

    name = "audit"
    version = 1
    tables = ("audit_ceremonies", "audit_wallets")
    ddl = _DDL

    async def apply_batch(self, tx: ProjectionTx, events: Sequence[StoredEvent]) -> None:
        # Each ceremony's row is read at most once and written once per batch (a ceremony's
        # events usually arrive together); the fold itself is the event-at-a-time one.
        folded: list[tuple[StoredEvent, _AuditEvent]] = []
        for event in events:
            domain = decode_domain_event(event)
            if isinstance(
                domain,
                CeremonyStarted
                | SignatureProduced
                | CeremonyFailed
                | PartyMisbehaved
                | WalletCreated,
            ):
                folded.append((event, domain))
        ids = sorted({domain.ceremony_id for _, domain in folded})
        rows: dict[str, _Row] = {}
        if ids:
            sql = tx.dialect.in_json_array(_SELECT_MANY)
            for stored in await tx.fetch(sql, dump_json(ids)):
                rows[stored["ceremony_id"]] = _load_row(stored)
        wallets: list[tuple[Any, ...]] = []
        for event, domain in folded:
            if isinstance(domain, WalletCreated):
                wallets.append(
                    (
                        domain.wallet_id,
                        domain.scheme,
                        domain.ciphersuite,
                        domain.threshold,
                        dump_json(domain.parties),
                        domain.group_public_key,
                        domain.ceremony_id,
                        event.recorded_at,
                        event.position,
                    )
                )
            row = rows.get(domain.ceremony_id) or _Row(
                ceremony_id=domain.ceremony_id, wallet_id=domain.wallet_id
            )
            rows[domain.ceremony_id] = _fold(row, domain, event)
        if wallets:
            # In order, and ON CONFLICT DO NOTHING: the first WalletCreated of a wallet wins.
            await tx.executemany(_INSERT_WALLET, wallets)
        if ids:
            await tx.executemany(_UPSERT, [rows[ceremony].parameters() for ceremony in ids])


async def get_ceremony(db: ProjectionDb, ceremony_id: str) -> AuditRecord | None:
    """The audit row of one ceremony, or ``None``."""
    async with db.read() as tx:
        row = await tx.fetchrow(_SELECT_ONE, ceremony_id)
    return None if row is None else _record(row)


async def signatures_between(
    db: ProjectionDb,
    wallet_id: str,
    start: datetime,
    end: datetime,
    *,
    limit: int | None = None,
) -> list[AuditRecord]:
    """Every signature of ``wallet_id`` with ``start <= finished_at < end``, oldest first.

    Half-open, so consecutive ranges never count a signature twice. Uses the
    ``(wallet_id, finished_at)`` index.
    """
    check_window(start, end)
    async with db.read() as tx:
        rows = await tx.fetch(_SIGNATURES_BETWEEN, wallet_id, start, end, tx.dialect.limit(limit))
    return [_record(row) for row in rows]


async def ceremonies_between(
    db: ProjectionDb,
    start: datetime,
    end: datetime,
    *,
    wallet_id: str | None = None,
    limit: int | None = None,
) -> list[AuditRecord]:
    """Every ceremony that finished (any outcome) with ``start <= finished_at < end``.

    One wallet's, or (``wallet_id=None``) every wallet's; oldest first. Pending ceremonies
    have no ``finished_at`` and are never returned.
    """
    check_window(start, end)
    async with db.read() as tx:
        if wallet_id is None:
            rows = await tx.fetch(_ALL_CEREMONIES_BETWEEN, start, end, tx.dialect.limit(limit))
        else:
            rows = await tx.fetch(
                _WALLET_CEREMONIES_BETWEEN, wallet_id, start, end, tx.dialect.limit(limit)
            )
    return [_record(row) for row in rows]


async def wallet_state_as_of(
    db: ProjectionDb, wallet_id: str, instant: datetime
) -> WalletState | None:
    """The wallet as it stood at ``instant`` (events recorded at or before it), or ``None``
    if it did not exist yet. Read from the audit projection, in one snapshot."""
    format_timestamp(instant)  # Refuses a naive instant.
    async with db.read() as tx:
        created = await tx.fetchrow(_WALLET_AS_OF, wallet_id, instant)
        if created is None:
            return None
        signed = await tx.fetchrow(_SIGNATURES_AS_OF, wallet_id, instant)
    count = int(signed["signature_count"]) if signed is not None else 0
    return WalletState(
        wallet_id=created["wallet_id"],
        scheme=created["scheme"],
        ciphersuite=created["ciphersuite"],
        threshold=int(created["threshold"]),
        parties=load_json(created["parties"]),
        group_public_key=created["group_public_key"],
        ceremony_id=created["ceremony_id"],
        created_at=require_datetime(created["created_at"]),
        signature_count=count,
        last_signed_at=as_datetime(signed["last_signed_at"]) if signed is not None else None,
    )


async def fold_wallet_state(
    store: EventStore, wallet_id: str, instant: datetime, *, page_size: int = 1000
) -> WalletState | None:
    """:func:`wallet_state_as_of` computed from the event store alone.

    Reads the whole log in pages, verifying the hash chain as it goes
    (:class:`~storage.events.errors.ChainBroken` on tampering), and folds the wallet's
    ``WalletCreated`` and ``SignatureProduced`` events recorded at or before ``instant``.
    Slow on a large store; use it to check the projection or when none is at hand. The
    live log must start at position 1: after the store has archived old months, the chain
    check refuses (the answer would silently miss the archived events).
    """
    format_timestamp(instant)
    state: WalletState | None = None
    signed_ceremonies: set[str] = set()
    count = 0
    last_signed_at: datetime | None = None
    async for event in verified_events(store, page_size=page_size):
        if event.recorded_at > instant:
            continue
        domain = decode_domain_event(event)
        if isinstance(domain, WalletCreated) and domain.wallet_id == wallet_id:
            if state is None:
                state = WalletState(
                    wallet_id=domain.wallet_id,
                    scheme=domain.scheme,
                    ciphersuite=domain.ciphersuite,
                    threshold=domain.threshold,
                    parties=list(domain.parties),
                    group_public_key=domain.group_public_key,
                    ceremony_id=domain.ceremony_id,
                    created_at=event.recorded_at,
                    signature_count=0,
                    last_signed_at=None,
                )
        elif (
            isinstance(domain, SignatureProduced)
            and domain.wallet_id == wallet_id
            and domain.ceremony_id not in signed_ceremonies
        ):
            # One signature per ceremony, as in the audit table.
            signed_ceremonies.add(domain.ceremony_id)
            count += 1
            if last_signed_at is None or event.recorded_at > last_signed_at:
                last_signed_at = event.recorded_at
    if state is None:
        return None
    return state.model_copy(update={"signature_count": count, "last_signed_at": last_signed_at})
