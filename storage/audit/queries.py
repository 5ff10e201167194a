"""Temporal queries for auditors, answered by a fold over the event store.

"Every signature of a wallet between two instants" and "a wallet's state as of an instant".
The projections' audit view (storage.projections) answers both from indexed tables and is
what ``quorate audit query/state`` use when it is available; these folds are the fallback
and the reference: they read the log itself, ``batch_size`` events at a time, so they need
no projection to be up to date and hold only one wallet's state in memory.

Instants: ``since`` is inclusive and ``until`` exclusive (so consecutive ranges never count
an event twice); "as of" includes events recorded at exactly that instant.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from storage.audit.errors import AuditError
from storage.audit.export import in_window, iter_events
from storage.audit.verify import DEFAULT_BATCH_SIZE
from storage.events.models import (
    EVENT_TYPES,
    CeremonyFailed,
    CeremonyStarted,
    PartyMisbehaved,
    SignatureProduced,
    WalletCreated,
    ceremony_stream,
    parse_event,
    wallet_stream,
)
from storage.events.port import EventStore, StoredEvent


class SignatureRecord(BaseModel):
    """One signature a wallet produced: who signed what, when, with which protocol."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: int
    recorded_at: AwareDatetime
    wallet_id: str
    ceremony_id: str
    scheme: str
    protocol: str | None = Field(
        default=None, description="From the ceremony's CeremonyStarted, if recorded."
    )
    signers: list[str]
    public_key: str
    message: str
    signature: str


class WalletState(BaseModel):
    """A wallet as the log described it at ``as_of``: created yet, with what, and activity.

    The fields up to ``last_signed_at`` are those of the projections' audit view
    (storage.projections ``WalletState``), so both sources print alike; the activity counts
    after them only the fold knows (``None`` when the audit view answered).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    wallet_id: str
    as_of: AwareDatetime
    exists: bool = False
    scheme: str | None = None
    ciphersuite: str | None = None
    threshold: int | None = None
    parties: list[str] = Field(default_factory=list)
    group_public_key: str | None = None
    ceremony_id: str | None = Field(default=None, description="The creating (DKG) ceremony.")
    created_at: AwareDatetime | None = None
    signature_count: int = 0
    last_signed_at: AwareDatetime | None = None
    ceremonies_started: int | None = None
    ceremonies_failed: int | None = None
    misbehaviours: dict[str, int] | None = None
    last_position: int | None = None
    last_event_at: AwareDatetime | None = None


def _require_aware(name: str, instant: datetime | None) -> None:
    if instant is not None and instant.utcoffset() is None:
        raise AuditError(f"{name} must include a timezone (e.g. 2024-05-01T00:00:00Z)")


def _is_wallets(event: StoredEvent, wallet_id: str) -> bool:
    # Checked on the raw payload before parsing: most events of a large store are other
    # wallets', and skipping them unparsed keeps the fold cheap.
    return (
        event.stream_id == wallet_stream(wallet_id) or event.payload.get("wallet_id") == wallet_id
    ) and event.event_type in EVENT_TYPES


async def _protocol_of(store: EventStore, ceremony_id: str) -> str:
    """The protocol a ceremony started with ("" if its start is not recorded)."""
    for stored in await store.read_stream(ceremony_stream(ceremony_id)):
        if stored.event_type == CeremonyStarted.__name__:
            event = parse_event(stored)
            if isinstance(event, CeremonyStarted):
                return event.protocol
    return ""


async def fold_signatures_between(
    store: EventStore,
    wallet_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[SignatureRecord]:
    """Every ``SignatureProduced`` of ``wallet_id`` recorded in ``[since, until)``."""
    _require_aware("since", since)
    _require_aware("until", until)
    protocols: dict[str, str] = {}
    found: list[SignatureRecord] = []
    async for stored in iter_events(store, since=since, until=until, batch_size=batch_size):
        if not _is_wallets(stored, wallet_id):
            continue
        event = parse_event(stored)
        if isinstance(event, CeremonyStarted):
            # Started precedes Produced in the log, so one pass sees the protocol first,
            # unless the ceremony started before ``since`` (looked up below).
            protocols[event.ceremony_id] = event.protocol
        elif isinstance(event, SignatureProduced) and in_window(stored.recorded_at, since, until):
            if event.ceremony_id not in protocols:
                protocols[event.ceremony_id] = await _protocol_of(store, event.ceremony_id)
            found.append(
                SignatureRecord(
                    position=stored.position,
                    recorded_at=stored.recorded_at,
                    wallet_id=event.wallet_id,
                    ceremony_id=event.ceremony_id,
                    scheme=event.scheme,
                    protocol=protocols[event.ceremony_id] or None,
                    signers=list(event.signers),
                    public_key=event.public_key,
                    message=event.message,
                    signature=event.signature,
                )
            )
    return found


async def fold_wallet_state_as_of(
    store: EventStore,
    wallet_id: str,
    as_of: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> WalletState:
    """``wallet_id``'s state from every event of it recorded at or before ``as_of``."""
    _require_aware("as_of", as_of)
    state = WalletState(wallet_id=wallet_id, as_of=as_of)
    changes: dict[str, object] = {}
    misbehaviours: dict[str, int] = {}
    counts = {"signature_count": 0, "ceremonies_started": 0, "ceremonies_failed": 0}
    signed: set[str] = set()
    last_signed_at: datetime | None = None
    last: StoredEvent | None = None
    # recorded_at has microsecond precision: "at or before as_of" is "before as_of + 1 µs".
    until = as_of + timedelta(microseconds=1)
    async for stored in iter_events(store, until=until, batch_size=batch_size):
        # Filtered again: a store that broke its clock discipline must not leak later events.
        if stored.recorded_at > as_of or not _is_wallets(stored, wallet_id):
            continue
        event = parse_event(stored)
        last = stored
        if isinstance(event, WalletCreated):
            changes.update(
                exists=True,
                created_at=stored.recorded_at,
                scheme=event.scheme,
                ciphersuite=event.ciphersuite,
                threshold=event.threshold,
                parties=list(event.parties),
                group_public_key=event.group_public_key,
                ceremony_id=event.ceremony_id,
            )
        elif isinstance(event, SignatureProduced):
            # One signature per ceremony, as the audit view counts them.
            if event.ceremony_id not in signed:
                signed.add(event.ceremony_id)
                counts["signature_count"] += 1
                last_signed_at = stored.recorded_at
        elif isinstance(event, CeremonyStarted):
            counts["ceremonies_started"] += 1
        elif isinstance(event, CeremonyFailed):
            counts["ceremonies_failed"] += 1
        elif isinstance(event, PartyMisbehaved):
            misbehaviours[event.party] = misbehaviours.get(event.party, 0) + 1
    return state.model_copy(
        update={
            **changes,
            **counts,
            "last_signed_at": last_signed_at,
            "misbehaviours": misbehaviours,
            "last_position": last.position if last is not None else None,
            "last_event_at": last.recorded_at if last is not None else None,
        }
    )
