"""Transactions projection: each transfer request's transaction, from built to confirmed.

Projection name ``transactions``. Built from the chain activities' events
(activities/chain.py), recorded once each per request in the stream
``transaction-<request_id>`` under the idempotency keys ``<request_id>/<EventType>``:
``TransactionBuilt`` (the chain adapter's unsigned transaction), ``TransactionBroadcast``
(its hash once the chain accepted it) and ``TransactionConfirmed`` (its depth and block).
Public by construction, like every domain event: addresses, amounts, hashes. Table
``transactions``::

    request_id     TEXT PRIMARY KEY   the transfer request (one transaction per request)
    wallet_id      TEXT NOT NULL
    chain          TEXT NOT NULL      the chain adapter's name ('ethereum', 'bitcoin', ...)
    from_address   TEXT NOT NULL      the unsigned transaction's ``from_address``
    to_address     TEXT NOT NULL      its ``to``
    amount         TEXT NOT NULL      decimal strings, in the chain's smallest unit: wei
    fee            TEXT NOT NULL      amounts overflow BIGINT (and SQLite has no NUMERIC)
    tx_hash        TEXT               the chain's transaction id; NULL until broadcast
    status         TEXT NOT NULL      'built' | 'broadcast' | 'confirmed'
    confirmations  BIGINT             the depth it was confirmed at; NULL until confirmed
    block          BIGINT             the block (or slot) it was included in, if the chain
                                      said; NULL until confirmed
    built_at       timestamp NOT NULL recorded_at of TransactionBuilt
    built_position BIGINT NOT NULL    its position: orders builds recorded at one instant
    broadcast_at   timestamp          recorded_at of TransactionBroadcast
    confirmed_at   timestamp          recorded_at of TransactionConfirmed
    last_position  BIGINT NOT NULL    the last event that changed the row

    INDEX transactions_wallet_built (wallet_id, built_at)  -- one wallet's, by time

Folding rules (one pure function, :func:`fold_transaction`, used by the projection and by
:func:`fold_transactions` alike):

* ``TransactionBuilt`` creates the row with status ``built``. A request is built once (the
  idempotency key allows one ``TransactionBuilt`` per request); should a second ever be
  recorded, the first stays authoritative, as the chain activities themselves treat it.
* ``TransactionBroadcast`` and ``TransactionConfirmed`` change an existing row only. For a
  request whose ``TransactionBuilt`` the projection has not seen they create nothing, as
  the current-state projection counts no signature for a wallet it does not know: the row's
  addresses and amounts exist only in the build, which always precedes the other two in the
  request's stream.
* Status only moves forward, ``built`` → ``broadcast`` → ``confirmed``: a broadcast folded
  after the confirmation (which the chain activities never record, but a fold must not
  depend on it) fills ``broadcast_at`` and keeps ``confirmed``. The first value of each
  field stays: ``tx_hash`` is the broadcast's (or the confirmation's if that came first),
  and a second confirmation changes nothing. An event that changes nothing leaves
  ``last_position`` alone, so applying the same event twice is a no-op.

Queries (each reads one snapshot): :func:`get_transaction` ``(db, request_id)`` and
:func:`wallet_transactions` ``(db, wallet_id, since=None, until=None)``, the transactions
*built* in ``[since, until)``, oldest first, as :class:`TransactionRecord` (amounts as
``int``). :func:`fold_transactions` computes the latter from the event store alone,
verifying the hash chain: slow, but independent of any projection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictInt

from storage.events.models import (
    TransactionBroadcast,
    TransactionBuilt,
    TransactionConfirmed,
)
from storage.events.port import EventStore, StoredEvent
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
    optional_int,
    require_datetime,
    verified_events,
)

TransactionStatus = Literal["built", "broadcast", "confirmed"]
TransactionEvent = TransactionBuilt | TransactionBroadcast | TransactionConfirmed

EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
"""Open bounds of :func:`wallet_transactions`' range."""

_DDL = (
    """
    CREATE TABLE IF NOT EXISTS transactions (
        request_id    TEXT PRIMARY KEY,
        wallet_id     TEXT NOT NULL,
        chain         TEXT NOT NULL,
        from_address  TEXT NOT NULL,
        to_address    TEXT NOT NULL,
        amount        TEXT NOT NULL,
        fee           TEXT NOT NULL,
        tx_hash       TEXT,
        status        TEXT NOT NULL CHECK (status IN ('built', 'broadcast', 'confirmed')),
        confirmations BIGINT,
        block         BIGINT,
        built_at      {timestamp} NOT NULL,
        built_position BIGINT NOT NULL,
        broadcast_at  {timestamp},
        confirmed_at  {timestamp},
        last_position BIGINT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS transactions_wallet_built ON transactions (wallet_id, built_at)",
)

_SELECT = (
    "SELECT request_id, wallet_id, chain, from_address, to_address, amount, fee, tx_hash,"
    " status, confirmations, block, built_at, built_position, broadcast_at, confirmed_at,"
    " last_position FROM transactions"
)
_SELECT_ONE = _SELECT + " WHERE request_id = $1"
# A batch's rows in one query, the ids as one JSON-array parameter (as the audit projection
# does): the only statement whose text differs between dialects (Dialect.in_json_array).
_SELECT_MANY = _SELECT + " WHERE request_id IN ({json_array})"
_SELECT_WALLET = (
    _SELECT + " WHERE wallet_id = $1 AND built_at >= $2 AND built_at < $3"
    " ORDER BY built_at, built_position"
)
_UPSERT = (
    "INSERT INTO transactions (request_id, wallet_id, chain, from_address, to_address, amount,"
    " fee, tx_hash, status, confirmations, block, built_at, built_position, broadcast_at,"
    " confirmed_at, last_position)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    " ON CONFLICT (request_id) DO UPDATE SET wallet_id = excluded.wallet_id,"
    " chain = excluded.chain, from_address = excluded.from_address,"
    " to_address = excluded.to_address, amount = excluded.amount, fee = excluded.fee,"
    " tx_hash = excluded.tx_hash, status = excluded.status,"
    " confirmations = excluded.confirmations, block = excluded.block,"
    " built_at = excluded.built_at, built_position = excluded.built_position,"
    " broadcast_at = excluded.broadcast_at,"
    " confirmed_at = excluded.confirmed_at, last_position = excluded.last_position"
)


class TransactionRecord(BaseModel):
    """One row of ``transactions`` (see the module docstring for each field)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    wallet_id: str
    chain: str
    from_address: str
    to_address: str
    amount: int
    fee: int
    tx_hash: str | None
    status: TransactionStatus
    confirmations: int | None
    block: int | None
    built_at: datetime
    built_position: int
    broadcast_at: datetime | None
    confirmed_at: datetime | None
    last_position: int


class _Transfer(BaseModel):
    """The fields of the chain adapter's unsigned transaction this projection keeps.

    The rest (payload, signing payloads, prevouts, details) is ignored. Amounts must be JSON
    integers: a float or a string would mean a writer that can lose wei, and the runner stops
    on such an event rather than store an amount nobody sent.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    from_address: str
    to: str
    amount: StrictInt
    fee: StrictInt


def fold_transaction(
    row: TransactionRecord | None, domain: TransactionEvent, event: StoredEvent
) -> TransactionRecord | None:
    """``row`` (its request's transaction so far, ``None`` if unseen) with one more event.

    The projection's rule and the store fold's alike; see the module docstring.
    """
    at, position = event.recorded_at, event.position
    if isinstance(domain, TransactionBuilt):
        if row is not None:
            return row
        transfer = _Transfer.model_validate(domain.transaction)
        return TransactionRecord(
            request_id=domain.request_id,
            wallet_id=domain.wallet_id,
            chain=domain.chain,
            from_address=transfer.from_address,
            to_address=transfer.to,
            amount=transfer.amount,
            fee=transfer.fee,
            tx_hash=None,
            status="built",
            confirmations=None,
            block=None,
            built_at=at,
            built_position=position,
            broadcast_at=None,
            confirmed_at=None,
            last_position=position,
        )
    if row is None:
        return None
    changes: dict[str, Any] = {}
    if row.tx_hash is None:
        changes["tx_hash"] = domain.tx_hash
    if isinstance(domain, TransactionBroadcast):
        if row.broadcast_at is None:
            changes["broadcast_at"] = at
        if row.status == "built":
            changes["status"] = "broadcast"
    elif row.status != "confirmed":
        changes.update(
            status="confirmed",
            confirmations=domain.confirmations,
            block=domain.block,
            confirmed_at=at,
        )
    if not changes:
        return row
    return row.model_copy(update={**changes, "last_position": position})


def _parameters(record: TransactionRecord) -> tuple[Any, ...]:
    return (
        record.request_id,
        record.wallet_id,
        record.chain,
        record.from_address,
        record.to_address,
        str(record.amount),
        str(record.fee),
        record.tx_hash,
        record.status,
        record.confirmations,
        record.block,
        record.built_at,
        record.built_position,
        record.broadcast_at,
        record.confirmed_at,
        record.last_position,
    )


_DECODERS: dict[str, Decoder] = {
    "request_id": as_is,
    "wallet_id": as_is,
    "chain": as_is,
    "from_address": as_is,
    "to_address": as_is,
    "amount": int,
    "fee": int,
    "tx_hash": as_is,
    "status": as_is,
    "confirmations": optional_int,
    "block": optional_int,
    "built_at": require_datetime,
    "built_position": int,
    "broadcast_at": as_datetime,
    "confirmed_at": as_datetime,
    "last_position": int,
}
"""How each column of ``transactions`` reads back (amounts are decimal text)."""


def _record(row: Row) -> TransactionRecord:
    return TransactionRecord(**decode_row(row, _DECODERS))


def _transaction_event(stored: StoredEvent) -> TransactionEvent | None:
    domain = decode_domain_event(stored)
    if isinstance(domain, TransactionBuilt | TransactionBroadcast | TransactionConfirmed):
        return domain
    return None


class TransactionsProjection(BatchProjection):
    """One row per transfer request (see the module docstring for the layout)."""

    name = "transactions"
    version = 1
    tables = ("transactions",)
    ddl = _DDL

    async def apply_batch(self, tx: ProjectionTx, events: Sequence[StoredEvent]) -> None:
        # Each request's row is read at most once and written at most once per batch (its
        # events are often in one batch); the fold itself is the event-at-a-time one.
        folded = [
            (event, domain) for event in events if (domain := _transaction_event(event)) is not None
        ]
        if not folded:
            return
        ids = sorted({domain.request_id for _, domain in folded})
        sql = tx.dialect.in_json_array(_SELECT_MANY)
        loaded = {row["request_id"]: _record(row) for row in await tx.fetch(sql, dump_json(ids))}
        rows: dict[str, TransactionRecord | None] = {key: loaded.get(key) for key in ids}
        for event, domain in folded:
            rows[domain.request_id] = fold_transaction(rows[domain.request_id], domain, event)
        changed = [
            _parameters(record)
            for key, record in rows.items()
            if record is not None and record != loaded.get(key)
        ]
        if changed:
            await tx.executemany(_UPSERT, changed)


def _check_range(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    start, end = since or EARLIEST, until or LATEST
    check_window(start, end, ("since", "until"))
    return start, end


async def get_transaction(db: ProjectionDb, request_id: str) -> TransactionRecord | None:
    """The transaction of one transfer request, or ``None`` if it was never built."""
    async with db.read() as tx:
        row = await tx.fetchrow(_SELECT_ONE, request_id)
    return None if row is None else _record(row)


async def wallet_transactions(
    db: ProjectionDb,
    wallet_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[TransactionRecord]:
    """The wallet's transactions built in ``[since, until)`` (open ends when ``None``).

    Oldest first (by ``built_at``, then position), each in its latest status. Uses the
    ``(wallet_id, built_at)`` index.
    """
    start, end = _check_range(since, until)
    async with db.read() as tx:
        rows = await tx.fetch(_SELECT_WALLET, wallet_id, start, end)
    return [_record(row) for row in rows]


async def fold_transactions(
    store: EventStore,
    wallet_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    page_size: int = 1000,
) -> list[TransactionRecord]:
    """:func:`wallet_transactions` computed from the event store alone.

    Reads the whole log in pages, verifying the hash chain as it goes
    (:class:`~storage.events.errors.ChainBroken` on tampering), and folds the wallet's
    transaction events with :func:`fold_transaction`. Like
    :func:`storage.projections.audit.fold_wallet_state`, it needs the live log to start at
    position 1.
    """
    start, end = _check_range(since, until)
    rows: dict[str, TransactionRecord] = {}
    others: set[str] = set()
    async for event in verified_events(store, page_size=page_size):
        domain = _transaction_event(event)
        if domain is None:
            continue
        if domain.request_id in others:
            continue
        current = rows.get(domain.request_id)
        # The first build decides whose request it is (as in the projection, where a later
        # build changes nothing); other wallets' requests are not kept.
        if (
            current is None
            and isinstance(domain, TransactionBuilt)
            and domain.wallet_id != wallet_id
        ):
            others.add(domain.request_id)
            continue
        folded = fold_transaction(current, domain, event)
        if folded is not None:
            rows[domain.request_id] = folded
    found = [record for record in rows.values() if start <= record.built_at < end]
    return sorted(found, key=lambda record: (record.built_at, record.built_position))
