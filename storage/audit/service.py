"""What the ``quorate audit`` and ``quorate projections`` commands do, minus the terminal.

Queries are answered by the projections' audit view (storage.projections.audit) when its
database exists and the ``audit`` projection has caught up with the event store (its
checkpoint is the store's head, same hash), and otherwise by a fold over the store
(:mod:`storage.audit.queries`). Audit commands only read: they never advance a projection
themselves (``quorate projections rebuild`` and the runner do), so an auditor with read
access gets an answer either way, and the result says which source gave it. The event store
is opened read-only (:func:`~storage.events.port.open_event_store_read_only`): a query never
creates, migrates or changes it, and a target that is no event store is refused.

Both sources are normalized to the same rows (:class:`~storage.audit.queries.
SignatureRecord`, :class:`~storage.audit.queries.WalletState`), so the command prints the
same table whichever answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from storage.audit.errors import AuditError
from storage.audit.queries import (
    SignatureRecord,
    WalletState,
    fold_signatures_between,
    fold_wallet_state_as_of,
)
from storage.events.port import EventStore, open_event_store_read_only
from storage.projections import (
    AuditProjection,
    ProjectionDb,
    ProjectionRunner,
    TransactionsProjection,
    default_projections,
    fold_transactions,
    get_checkpoints,
    open_projection_db,
)
from storage.projections import signatures_between as view_signatures_between
from storage.projections import wallet_state_as_of as view_wallet_state_as_of
from storage.projections import wallet_transactions as view_wallet_transactions

Source = Literal["auto", "projection", "events"]
"""Where a query is answered: the audit view if fresh (auto), only it, or only the log."""

EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
"""Open bounds, for the audit view whose range queries take both ends."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of a query, what answered it (``projection`` or ``events``), and remarks."""

    source: str
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)


def projection_db_exists(url: str) -> bool:
    """Whether a projection database is there to ask. A SQLite file must exist already:
    opening one would create it empty, and an empty view would answer "no signatures"."""
    if url.split(":", 1)[0].lower() != "sqlite":
        return True
    path = url.split(":///", 1)[1] if ":///" in url else ""
    return path != ":memory:" and Path(path).is_file()


async def projection_lag(store: EventStore, db: ProjectionDb, name: str) -> str | None:
    """``None`` if projection ``name`` is at the store's head (same hash), else why not."""
    checkpoint = (await get_checkpoints(db)).get(name)
    head = await store.head()
    if checkpoint is None:
        return f"the {name} projection has not been built"
    if head is None:
        return None if checkpoint.position == 0 else f"the {name} projection is ahead of the store"
    if checkpoint.position != head.position:
        return (
            f"the {name} projection is at position {checkpoint.position}, "
            f"the store at {head.position}"
        )
    if checkpoint.last_hash != head.hash:
        return f"the {name} projection's last hash differs from the store's head"
    return None


async def _ask_view(
    store: EventStore,
    projections_url: str | None,
    source: Source,
    projection: str = AuditProjection.name,
) -> tuple[ProjectionDb | None, list[str]]:
    """An open projection database to answer from, or ``None`` and why not."""
    if source == "events":
        return None, []
    if projections_url is None or not projection_db_exists(projections_url):
        if source == "projection":
            raise AuditError(f"no projection database at {projections_url}")
        return None, []
    db = await open_projection_db(projections_url)
    lag = await projection_lag(store, db, projection)
    if lag is None:
        return db, []
    if source == "projection":
        return db, [f"{lag}: the answer may be incomplete"]
    await db.close()
    return None, [f"{lag}; answered from the event store instead"]


async def _archived_note(store: EventStore) -> list[str]:
    """A remark when the live store no longer starts at position 1 (months archived)."""
    first = await store.read_all(after_position=0, limit=1)
    if first and first[0].position > 1:
        return [
            f"positions 1-{first[0].position - 1} are archived; the event store only "
            "answers for the live log"
        ]
    return []


async def _answer(
    events_url: str,
    projections_url: str | None,
    source: Source,
    projection: str,
    *,
    from_view: Callable[[ProjectionDb], Awaitable[list[dict[str, Any]]]],
    from_store: Callable[[EventStore], Awaitable[list[dict[str, Any]]]],
) -> QueryResult:
    """Answer from ``projection``'s view when it may (see :func:`_ask_view`), else by a fold
    over the event store, with a note if that store's oldest months are archived."""
    async with await open_event_store_read_only(events_url) as store:
        db, notes = await _ask_view(store, projections_url, source, projection)
        if db is not None:
            async with db:
                return QueryResult("projection", await from_view(db), notes)
        rows = await from_store(store)
        notes += await _archived_note(store)
    return QueryResult("events", rows, notes)


async def signatures_between(
    events_url: str,
    wallet_id: str,
    since: datetime | None,
    until: datetime | None,
    *,
    projections_url: str | None = None,
    source: Source = "auto",
) -> QueryResult:
    """Every signature of ``wallet_id`` recorded in ``[since, until)``, oldest first."""

    async def from_view(db: ProjectionDb) -> list[dict[str, Any]]:
        records = await view_signatures_between(db, wallet_id, since or EARLIEST, until or LATEST)
        return [
            SignatureRecord(
                position=record.finished_position or 0,
                recorded_at=record.finished_at or EARLIEST,
                wallet_id=record.wallet_id,
                ceremony_id=record.ceremony_id,
                scheme=record.scheme or "",
                protocol=record.protocol,
                signers=list(record.signers or []),
                public_key=record.public_key or "",
                message=record.message or "",
                signature=record.signature or "",
            ).model_dump(mode="json")
            for record in records
        ]

    async def from_store(store: EventStore) -> list[dict[str, Any]]:
        found = await fold_signatures_between(store, wallet_id, since, until)
        return [record.model_dump(mode="json") for record in found]

    return await _answer(
        events_url,
        projections_url,
        source,
        AuditProjection.name,
        from_view=from_view,
        from_store=from_store,
    )


async def wallet_state_as_of(
    events_url: str,
    wallet_id: str,
    as_of: datetime,
    *,
    projections_url: str | None = None,
    source: Source = "auto",
) -> QueryResult:
    """``wallet_id``'s state as of ``as_of`` (one row)."""

    async def from_view(db: ProjectionDb) -> list[dict[str, Any]]:
        viewed = await view_wallet_state_as_of(db, wallet_id, as_of)
        state = WalletState(wallet_id=wallet_id, as_of=as_of)
        if viewed is not None:
            state = WalletState.model_validate(
                {**viewed.model_dump(), "as_of": as_of, "exists": True}
            )
        return [state.model_dump(mode="json")]

    async def from_store(store: EventStore) -> list[dict[str, Any]]:
        folded = await fold_wallet_state_as_of(store, wallet_id, as_of)
        return [folded.model_dump(mode="json")]

    return await _answer(
        events_url,
        projections_url,
        source,
        AuditProjection.name,
        from_view=from_view,
        from_store=from_store,
    )


async def transactions_between(
    events_url: str,
    wallet_id: str,
    since: datetime | None,
    until: datetime | None,
    *,
    projections_url: str | None = None,
    source: Source = "auto",
) -> QueryResult:
    """The wallet's transfers built in ``[since, until)``: from the transactions projection
    when it is at the store's head, else folded from the verified event store."""

    async def from_view(db: ProjectionDb) -> list[dict[str, Any]]:
        records = await view_wallet_transactions(db, wallet_id, since, until)
        return [record.model_dump(mode="json") for record in records]

    async def from_store(store: EventStore) -> list[dict[str, Any]]:
        found = await fold_transactions(store, wallet_id, since, until)
        return [record.model_dump(mode="json") for record in found]

    return await _answer(
        events_url,
        projections_url,
        source,
        TransactionsProjection.name,
        from_view=from_view,
        from_store=from_store,
    )


async def rebuild_projections(
    events_url: str, projections_url: str, names: list[str] | None
) -> dict[str, int]:
    """Rebuild the named projections (every default one if ``names`` is None) from event 0.

    Returns the position each reached. Raises :class:`AuditError` for an unknown name.
    """
    projections = default_projections()
    known = [projection.name for projection in projections]
    chosen = known if names is None else names
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise AuditError(f"unknown projection(s) {', '.join(unknown)}; known: {', '.join(known)}")
    reached: dict[str, int] = {}
    async with (
        await open_event_store_read_only(events_url) as store,
        await open_projection_db(projections_url) as db,
    ):
        runner = ProjectionRunner(store, db, projections)
        for name in chosen:
            reached[name] = await runner.rebuild(name)
    return reached
