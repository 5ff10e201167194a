"""Current-state projection: wallets, parties, key-share metadata and pool levels.

Projection name ``current_state``. Never a secret: only what the domain events carry, which
is public by construction (storage/events/models.py). Tables::

    wallets      wallet_id PK, scheme, ciphersuite, threshold INTEGER,
                 parties TEXT (JSON list, DKG order), group_public_key (hex),
                 ceremony_id (the DKG's), created_at, created_position,
                 signature_count BIGINT, last_signed_at (NULL before the first),
                 last_position (last event that changed the row)
    parties      party_id PK, ceremonies_participated BIGINT (CeremonyStarted naming it),
                 misbehaviour_count BIGINT (PartyMisbehaved), last_seen_at, last_position
                 (the last event naming the party as participant, signer or culprit)
    key_shares   (wallet_id, party_id) PK, party_index INTEGER (1-based place in the
                 wallet's party list), scheme, ciphersuite, group_public_key, created_at:
                 who holds a share of which key; the share itself never leaves its party
    pool_levels  (wallet_id, party_id, pool) PK, pool 'nonces' (FROST) or 'presignatures'
                 (ECDSA), level BIGINT, updated_at, last_position

``pool_levels`` gets a row at level 0 per wallet and party when the wallet is created; the
pool events (``NoncesCommitted``, ``PresignaturesAdded``) do not exist yet, and until they
do the runner skips them like any unknown event type. Timestamps are the events'
``recorded_at``. Queries: :func:`get_wallet`, :func:`list_wallets`, :func:`get_party`,
:func:`list_parties`, :func:`key_shares`, :func:`pool_levels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from storage.events.models import (
    CeremonyFailed,
    CeremonyStarted,
    PartyMisbehaved,
    SignatureProduced,
    WalletCreated,
)
from storage.events.port import StoredEvent
from storage.projections.port import (
    BatchProjection,
    Decoder,
    ProjectionDb,
    ProjectionTx,
    Row,
    as_datetime,
    as_is,
    decode_domain_event,
    decode_row,
    dump_json,
    load_json,
    require_datetime,
)

PoolKind = Literal["nonces", "presignatures"]

_DDL = (
    """
    CREATE TABLE IF NOT EXISTS wallets (
        wallet_id        TEXT PRIMARY KEY,
        scheme           TEXT NOT NULL,
        ciphersuite      TEXT NOT NULL,
        threshold        INTEGER NOT NULL CHECK (threshold >= 1),
        parties          TEXT NOT NULL,
        group_public_key TEXT NOT NULL,
        ceremony_id      TEXT NOT NULL,
        created_at       {timestamp} NOT NULL,
        created_position BIGINT NOT NULL,
        signature_count  BIGINT NOT NULL CHECK (signature_count >= 0),
        last_signed_at   {timestamp},
        last_position    BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS parties (
        party_id                TEXT PRIMARY KEY,
        ceremonies_participated BIGINT NOT NULL CHECK (ceremonies_participated >= 0),
        misbehaviour_count      BIGINT NOT NULL CHECK (misbehaviour_count >= 0),
        last_seen_at            {timestamp} NOT NULL,
        last_position           BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS key_shares (
        wallet_id        TEXT NOT NULL,
        party_id         TEXT NOT NULL,
        party_index      INTEGER NOT NULL CHECK (party_index >= 1),
        scheme           TEXT NOT NULL,
        ciphersuite      TEXT NOT NULL,
        group_public_key TEXT NOT NULL,
        created_at       {timestamp} NOT NULL,
        PRIMARY KEY (wallet_id, party_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS key_shares_party ON key_shares (party_id)",
    """
    CREATE TABLE IF NOT EXISTS pool_levels (
        wallet_id     TEXT NOT NULL,
        party_id      TEXT NOT NULL,
        pool          TEXT NOT NULL CHECK (pool IN ('nonces', 'presignatures')),
        level         BIGINT NOT NULL CHECK (level >= 0),
        updated_at    {timestamp} NOT NULL,
        last_position BIGINT NOT NULL,
        PRIMARY KEY (wallet_id, party_id, pool)
    )
    """,
)

_INSERT_WALLET = (
    "INSERT INTO wallets (wallet_id, scheme, ciphersuite, threshold, parties, group_public_key,"
    " ceremony_id, created_at, created_position, signature_count, last_signed_at, last_position)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, NULL, $9)"
    # A wallet is created once (the coordinator refuses a second DKG for an id); should a
    # second WalletCreated ever be recorded, the first one stays authoritative.
    " ON CONFLICT (wallet_id) DO NOTHING"
)
_INSERT_SHARE = (
    "INSERT INTO key_shares (wallet_id, party_id, party_index, scheme, ciphersuite,"
    " group_public_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    " ON CONFLICT (wallet_id, party_id) DO NOTHING"
)
_INSERT_POOL = (
    "INSERT INTO pool_levels (wallet_id, party_id, pool, level, updated_at, last_position)"
    " VALUES ($1, $2, $3, 0, $4, $5) ON CONFLICT (wallet_id, party_id, pool) DO NOTHING"
)
_COUNT_SIGNATURES = (
    "UPDATE wallets SET signature_count = signature_count + $2, last_signed_at = $3,"
    " last_position = $4 WHERE wallet_id = $1"
)
# The increments are added to the stored counts, so one statement serves every event type.
_TOUCH_PARTY = (
    "INSERT INTO parties (party_id, ceremonies_participated, misbehaviour_count, last_seen_at,"
    " last_position) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (party_id) DO UPDATE SET"
    " ceremonies_participated = parties.ceremonies_participated"
    " + excluded.ceremonies_participated,"
    " misbehaviour_count = parties.misbehaviour_count + excluded.misbehaviour_count,"
    " last_seen_at = excluded.last_seen_at, last_position = excluded.last_position"
)

_WALLET_COLUMNS = (
    "SELECT wallet_id, scheme, ciphersuite, threshold, parties, group_public_key, ceremony_id,"
    " created_at, signature_count, last_signed_at FROM wallets"
)
_SELECT_WALLET = _WALLET_COLUMNS + " WHERE wallet_id = $1"
_SELECT_WALLETS = _WALLET_COLUMNS + " ORDER BY wallet_id"
_PARTY_COLUMNS = (
    "SELECT party_id, ceremonies_participated, misbehaviour_count, last_seen_at FROM parties"
)
_SELECT_PARTY = _PARTY_COLUMNS + " WHERE party_id = $1"
_SELECT_PARTIES = _PARTY_COLUMNS + " ORDER BY party_id"
_SELECT_SHARES = (
    "SELECT wallet_id, party_id, party_index, scheme, ciphersuite, group_public_key, created_at"
    " FROM key_shares WHERE wallet_id = $1 ORDER BY party_index"
)
_SELECT_POOLS = (
    "SELECT wallet_id, party_id, pool, level, updated_at FROM pool_levels"
    " WHERE wallet_id = $1 ORDER BY party_id, pool"
)


def pool_kind(scheme: str) -> PoolKind:
    """Which pool a wallet's signers draw from: FROST nonces, or GG20/CGGMP presignatures."""
    return "presignatures" if scheme == "ecdsa-secp256k1" else "nonces"


class WalletState(BaseModel):
    """A wallet as the projections know it (now, or as of an instant: see ``audit``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wallet_id: str
    scheme: str
    ciphersuite: str
    threshold: int
    parties: list[str]
    group_public_key: str
    ceremony_id: str
    created_at: datetime
    signature_count: int
    last_signed_at: datetime | None


class PartyState(BaseModel):
    """A party's activity as the current-state projection knows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    party_id: str
    ceremonies_participated: int
    misbehaviour_count: int
    last_seen_at: datetime


class KeyShareInfo(BaseModel):
    """Who holds a share of which wallet's key: metadata only, never the share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wallet_id: str
    party_id: str
    party_index: int
    scheme: str
    ciphersuite: str
    group_public_key: str
    created_at: datetime


class PoolLevel(BaseModel):
    """How many unused nonces or presignatures a party holds for a wallet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wallet_id: str
    party_id: str
    pool: PoolKind
    level: int
    updated_at: datetime


class CurrentStateProjection(BatchProjection):
    """Wallets, parties, key-share metadata and pool levels, as of the checkpoint."""

    name = "current_state"
    version = 1
    tables = ("wallets", "parties", "key_shares", "pool_levels")
    ddl = _DDL

    async def apply_batch(self, tx: ProjectionTx, events: Sequence[StoredEvent]) -> None:
        # Counters are additive and "last seen" is the latest event, so a batch's changes to a
        # party or a wallet add up to one write each: the same row as one write per event.
        parties: dict[str, _PartyDelta] = {}
        signatures: dict[str, _SignatureDelta] = {}

        def touch(
            names: list[str], event: StoredEvent, *, participated: int = 0, misbehaved: int = 0
        ) -> None:
            for party in names:
                delta = parties.setdefault(party, _PartyDelta())
                delta.participated += participated
                delta.misbehaved += misbehaved
                delta.last_seen_at, delta.last_position = event.recorded_at, event.position

        for event in events:
            domain = decode_domain_event(event)
            at, position = event.recorded_at, event.position
            if isinstance(domain, WalletCreated):
                # Signatures counted before the wallet existed must not land on the new
                # row: write them (to no row, as event-at-a-time would) first.
                pending = signatures.pop(domain.wallet_id, None)
                if pending is not None:
                    await _count_signatures(tx, [(domain.wallet_id, pending)])
                await self._create_wallet(tx, domain, at, position)
                touch(domain.parties, event)
            elif isinstance(domain, CeremonyStarted):
                touch(domain.parties, event, participated=1)
            elif isinstance(domain, SignatureProduced):
                delta = signatures.setdefault(domain.wallet_id, _SignatureDelta())
                delta.count += 1
                delta.last_signed_at, delta.last_position = at, position
                touch(domain.signers, event)
            elif isinstance(domain, CeremonyFailed):
                touch(domain.culprits, event)
            elif isinstance(domain, PartyMisbehaved):
                touch([domain.party], event, misbehaved=1)
            # Anything else (unknown types included) does not concern this projection.
        await _count_signatures(tx, list(signatures.items()))
        if parties:
            await tx.executemany(
                _TOUCH_PARTY,
                [
                    (party, d.participated, d.misbehaved, d.last_seen_at, d.last_position)
                    for party, d in parties.items()
                ],
            )

    @staticmethod
    async def _create_wallet(
        tx: ProjectionTx, domain: WalletCreated, at: datetime, position: int
    ) -> None:
        await tx.execute(
            _INSERT_WALLET,
            domain.wallet_id,
            domain.scheme,
            domain.ciphersuite,
            domain.threshold,
            dump_json(domain.parties),
            domain.group_public_key,
            domain.ceremony_id,
            at,
            position,
        )
        await tx.executemany(
            _INSERT_SHARE,
            [
                (
                    domain.wallet_id,
                    party,
                    index,
                    domain.scheme,
                    domain.ciphersuite,
                    domain.group_public_key,
                    at,
                )
                for index, party in enumerate(domain.parties, start=1)
            ],
        )
        pool = pool_kind(domain.scheme)
        await tx.executemany(
            _INSERT_POOL,
            [(domain.wallet_id, party, pool, at, position) for party in domain.parties],
        )


@dataclass(slots=True)
class _PartyDelta:
    participated: int = 0
    misbehaved: int = 0
    last_seen_at: datetime | None = None
    last_position: int = 0


@dataclass(slots=True)
class _SignatureDelta:
    count: int = 0
    last_signed_at: datetime | None = None
    last_position: int = 0


async def _count_signatures(tx: ProjectionTx, deltas: list[tuple[str, _SignatureDelta]]) -> None:
    if deltas:
        await tx.executemany(
            _COUNT_SIGNATURES,
            [(wallet, d.count, d.last_signed_at, d.last_position) for wallet, d in deltas],
        )


# How the columns the queries select read back, one table of decoders per model.
_WALLET: dict[str, Decoder] = {
    "wallet_id": as_is,
    "scheme": as_is,
    "ciphersuite": as_is,
    "threshold": int,
    "parties": load_json,
    "group_public_key": as_is,
    "ceremony_id": as_is,
    "created_at": require_datetime,
    "signature_count": int,
    "last_signed_at": as_datetime,
}
_PARTY: dict[str, Decoder] = {
    "party_id": as_is,
    "ceremonies_participated": int,
    "misbehaviour_count": int,
    "last_seen_at": require_datetime,
}
_KEY_SHARE: dict[str, Decoder] = {
    "wallet_id": as_is,
    "party_id": as_is,
    "party_index": int,
    "scheme": as_is,
    "ciphersuite": as_is,
    "group_public_key": as_is,
    "created_at": require_datetime,
}
_POOL_LEVEL: dict[str, Decoder] = {
    "wallet_id": as_is,
    "party_id": as_is,
    "pool": as_is,
    "level": int,
    "updated_at": require_datetime,
}


def _wallet(row: Row) -> WalletState:
    return WalletState(**decode_row(row, _WALLET))


def _party(row: Row) -> PartyState:
    return PartyState(**decode_row(row, _PARTY))


async def get_wallet(db: ProjectionDb, wallet_id: str) -> WalletState | None:
    """The wallet's current state, or ``None`` if the projection has not seen it."""
    async with db.read() as tx:
        row = await tx.fetchrow(_SELECT_WALLET, wallet_id)
    return None if row is None else _wallet(row)


async def list_wallets(db: ProjectionDb) -> list[WalletState]:
    """Every wallet, by id."""
    async with db.read() as tx:
        return [_wallet(row) for row in await tx.fetch(_SELECT_WALLETS)]


async def get_party(db: ProjectionDb, party_id: str) -> PartyState | None:
    """One party's activity, or ``None`` if no event has named it."""
    async with db.read() as tx:
        row = await tx.fetchrow(_SELECT_PARTY, party_id)
    return None if row is None else _party(row)


async def list_parties(db: ProjectionDb) -> list[PartyState]:
    """Every party any event has named, by id."""
    async with db.read() as tx:
        return [_party(row) for row in await tx.fetch(_SELECT_PARTIES)]


async def key_shares(db: ProjectionDb, wallet_id: str) -> list[KeyShareInfo]:
    """Who holds a share of the wallet's key, in the wallet's party order."""
    async with db.read() as tx:
        rows = await tx.fetch(_SELECT_SHARES, wallet_id)
    return [KeyShareInfo(**decode_row(row, _KEY_SHARE)) for row in rows]


async def pool_levels(db: ProjectionDb, wallet_id: str) -> list[PoolLevel]:
    """The wallet's pool levels per party."""
    async with db.read() as tx:
        rows = await tx.fetch(_SELECT_POOLS, wallet_id)
    return [PoolLevel(**decode_row(row, _POOL_LEVEL)) for row in rows]
