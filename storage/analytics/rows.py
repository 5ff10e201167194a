"""From stored events to analytics rows: the pure, I/O-free half of the projection.

:func:`project_event` maps one :class:`~storage.events.port.StoredEvent` to its row in the
``events`` table and, for a ``SignatureProduced``, its row in ``signatures``. The payload is
copied as canonical JSON: domain events never carry secrets (``storage/events/models.py``,
ARCHITECTURE.md invariant 1), so nothing has to be filtered out here, and forensics keeps
every public field, including those of event types this module does not know yet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from storage.analytics.sql import epoch_microseconds, format_datetime
from storage.events.models import (
    EVENT_TYPES,
    CeremonyFailed,
    CeremonyStarted,
    PartyMisbehaved,
    SignatureProduced,
    WalletCreated,
    parse_event,
)
from storage.events.port import StoredEvent, canonical_json

UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda dt: dt.astimezone(UTC))]

JsonRow = dict[str, Any]
"""One row as a JSON object, in the shape ``INSERT ... FORMAT JSONEachRow`` reads."""


class EventRow(BaseModel):
    """One event in the ``events`` table.

    ``party`` is the one party an event is about (``PartyMisbehaved``); ``parties`` every
    party it names: the participants of a DKG or ceremony, the signers of a signature, the
    culprits of a failure, or the misbehaving party.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: int = Field(ge=1)
    stream_id: str
    stream_version: int = Field(ge=1)
    event_type: str
    schema_version: int = Field(ge=1)
    recorded_at: UtcDatetime
    wallet_id: str = ""
    ceremony_id: str = ""
    party: str = ""
    parties: tuple[str, ...] = ()
    reason: str = ""
    payload: str
    metadata: str
    hash: str

    def to_json_row(self) -> JsonRow:
        """The row as ``JSONEachRow`` input for the ``events`` table."""
        return {
            "position": self.position,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "recorded_at": format_datetime(self.recorded_at),
            "recorded_at_us": epoch_microseconds(self.recorded_at),
            "wallet_id": self.wallet_id,
            "ceremony_id": self.ceremony_id,
            "party": self.party,
            "parties": list(self.parties),
            "reason": self.reason,
            "payload": self.payload,
            "metadata": self.metadata,
            "hash": self.hash,
        }


class SignatureRow(BaseModel):
    """One produced signature in the ``signatures`` table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: int = Field(ge=1)
    ceremony_id: str
    wallet_id: str
    scheme: str
    signers: tuple[str, ...]
    recorded_at: UtcDatetime

    def to_json_row(self) -> JsonRow:
        """The row as ``JSONEachRow`` input for the ``signatures`` table."""
        return {
            "position": self.position,
            "ceremony_id": self.ceremony_id,
            "wallet_id": self.wallet_id,
            "scheme": self.scheme,
            "signers": list(self.signers),
            "recorded_at": format_datetime(self.recorded_at),
            "recorded_at_us": epoch_microseconds(self.recorded_at),
            # The UTC calendar day, computed here rather than with toDate() in SQL, so the
            # day never depends on a server's or a column's time zone setting.
            "day": self.recorded_at.date().isoformat(),
        }


class ProjectedBatch(BaseModel):
    """The rows one batch of events adds to each table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    events: tuple[EventRow, ...]
    signatures: tuple[SignatureRow, ...]


def _payload_str(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


# ClickHouse's DateTime ends in 2106; refuse an event it would silently wrap around rather
# than file it under the wrong century.
_DATETIME_END = datetime(2106, 2, 7, 6, 28, 15, tzinfo=UTC)


def project_event(event: StoredEvent) -> tuple[EventRow, SignatureRow | None]:
    """The ``events`` row of ``event`` and, for a ``SignatureProduced``, its ``signatures`` row.

    Known event types are decoded with :func:`~storage.events.models.parse_event`, so a
    corrupt payload raises :class:`~storage.events.errors.EventDecodeError` instead of
    landing in the projection. Event types this module does not know are still recorded
    (forensics wants every event), with the identifiers their payload happens to carry.
    """
    if not event.recorded_at < _DATETIME_END:
        raise ValueError(f"event {event.position}: recorded_at beyond ClickHouse's DateTime")
    base: dict[str, Any] = {
        "position": event.position,
        "stream_id": event.stream_id,
        "stream_version": event.stream_version,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "recorded_at": event.recorded_at,
        "payload": canonical_json(event.payload),
        "metadata": canonical_json(event.metadata),
        "hash": event.hash,
    }
    domain = parse_event(event) if event.event_type in EVENT_TYPES else None
    signature: SignatureRow | None = None
    match domain:
        case WalletCreated() | CeremonyStarted():
            row = EventRow(
                **base,
                wallet_id=domain.wallet_id,
                ceremony_id=domain.ceremony_id,
                parties=tuple(domain.parties),
            )
        case SignatureProduced():
            row = EventRow(
                **base,
                wallet_id=domain.wallet_id,
                ceremony_id=domain.ceremony_id,
                parties=tuple(domain.signers),
            )
            signature = SignatureRow(
                position=event.position,
                ceremony_id=domain.ceremony_id,
                wallet_id=domain.wallet_id,
                scheme=domain.scheme,
                signers=tuple(domain.signers),
                recorded_at=event.recorded_at,
            )
        case CeremonyFailed():
            row = EventRow(
                **base,
                wallet_id=domain.wallet_id,
                ceremony_id=domain.ceremony_id,
                parties=tuple(domain.culprits),
                reason=domain.reason,
            )
        case PartyMisbehaved():
            row = EventRow(
                **base,
                wallet_id=domain.wallet_id,
                ceremony_id=domain.ceremony_id,
                party=domain.party,
                parties=(domain.party,),
                reason=domain.reason,
            )
        case _:
            # Event types without columns of their own (transfers, presignatures, and
            # types this module does not know): the identifiers their payload carries.
            row = EventRow(
                **base,
                wallet_id=_payload_str(event.payload, "wallet_id"),
                ceremony_id=_payload_str(event.payload, "ceremony_id"),
                party=_payload_str(event.payload, "party"),
                reason=_payload_str(event.payload, "reason"),
            )
    return row, signature


def project_batch(events: list[StoredEvent]) -> ProjectedBatch:
    """The rows of every event in ``events``, in position order."""
    event_rows: list[EventRow] = []
    signature_rows: list[SignatureRow] = []
    for event in events:
        row, signature = project_event(event)
        event_rows.append(row)
        if signature is not None:
            signature_rows.append(signature)
    return ProjectedBatch(events=tuple(event_rows), signatures=tuple(signature_rows))
