"""Quorate's domain events, and their mapping to and from the event store's envelope.

These events never carry secrets: no key share, nonce, presignature, Paillier key or sealed
P2P payload, only what is public by construction (group and verifying keys, public key
packages, messages, signatures, party ids) and why a ceremony failed. ARCHITECTURE.md
invariant 1 is tested by scanning stored events for the bytes of known shares and nonces;
a field added here must be public too.

Each event carries ``version`` (the store's ``schema_version``); the payload stored is the
event's JSON form without it. A new schema version is a new ``Literal`` and an upcaster in
:func:`parse_event`, never an edit of a stored event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Self, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from common.types import Hex, HexOrEmpty, PartyId, Scheme
from storage.events.errors import EventDecodeError, UnknownEventType
from storage.events.metadata import EventMetadata
from storage.events.port import NewEvent, StoredEvent, canonical_json, format_recorded_at

_Model = TypeVar("_Model", bound=BaseModel)

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""A wallet, ceremony or request id."""
CeremonyKind = Literal["create_wallet", "sign", "presign"]


def _check_unique(field: str, values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{field} contains duplicates")


class _DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WalletCreated(_DomainEvent):
    """A DKG ceremony completed: the wallet's group key and public key package exist."""

    version: Literal[1] = 1
    wallet_id: Identifier
    scheme: Scheme
    ciphersuite: Identifier
    group_public_key: Hex
    threshold: int = Field(ge=1)
    parties: list[PartyId] = Field(min_length=1)
    public_key_package: Hex
    ceremony_id: Identifier

    @model_validator(mode="after")
    def _check_parties(self) -> Self:
        _check_unique("parties", self.parties)
        if self.threshold > len(self.parties):
            raise ValueError(
                f"threshold {self.threshold} exceeds the number of parties {len(self.parties)}"
            )
        return self


class CeremonyStarted(_DomainEvent):
    """A DKG or signing ceremony began with these parties."""

    version: Literal[1] = 1
    ceremony_id: Identifier
    wallet_id: Identifier
    kind: CeremonyKind
    protocol: Identifier
    parties: list[PartyId] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_parties(self) -> Self:
        _check_unique("parties", self.parties)
        return self


class SignatureProduced(_DomainEvent):
    """A signing ceremony produced a signature that verified against the group key."""

    version: Literal[1] = 1
    ceremony_id: Identifier
    wallet_id: Identifier
    scheme: Scheme
    public_key: Hex
    message: HexOrEmpty
    signature: Hex
    signers: list[PartyId] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_signers(self) -> Self:
        _check_unique("signers", self.signers)
        return self


class CeremonyFailed(_DomainEvent):
    """A ceremony aborted; ``culprits`` names the parties blamed (empty if none was)."""

    version: Literal[1] = 1
    ceremony_id: Identifier
    wallet_id: Identifier
    reason: str = Field(min_length=1)
    culprits: list[PartyId] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_culprits(self) -> Self:
        _check_unique("culprits", self.culprits)
        return self


class PartyMisbehaved(_DomainEvent):
    """A party sent an invalid share or proof (identifiable abort, invariant 7)."""

    version: Literal[1] = 1
    ceremony_id: Identifier
    wallet_id: Identifier
    party: PartyId
    reason: str = Field(min_length=1)


class PresignatureAdded(_DomainEvent):
    """An ECDSA presignature now waits in each signer's vault (its public part only)."""

    version: Literal[1] = 1
    wallet_id: Identifier
    presign_id: Identifier
    signers: list[PartyId] = Field(min_length=2)
    R: Hex
    R_shares: dict[str, Hex]
    # SHA-256 of the presigning transcript (ciphertexts and the signers' aux parameters)
    # that every signer checked; empty for presignatures made before transcripts were kept.
    transcript_digest: HexOrEmpty = ""

    @model_validator(mode="after")
    def _check_signers(self) -> Self:
        _check_unique("signers", self.signers)
        if set(self.R_shares) != set(self.signers):
            raise ValueError("one R share per signer")
        return self


class PresignatureUsed(_DomainEvent):
    """A presignature was reserved by a signing ceremony; it is never handed out again."""

    version: Literal[1] = 1
    wallet_id: Identifier
    presign_id: Identifier
    ceremony_id: Identifier


class TransactionBuilt(_DomainEvent):
    """A transfer request's unsigned transaction: the one transaction it may ever sign.

    ``transaction`` is the chain adapter's unsigned transaction (public: recipient,
    amount, fee, nonce or inputs, signing payloads). A retried or repeated request reads
    this back instead of building again, so one request never signs two transactions.
    """

    version: Literal[1] = 1
    request_id: Identifier
    wallet_id: Identifier
    chain: Identifier
    intent: dict[str, Any]
    transaction: dict[str, Any]


class TransactionBroadcast(_DomainEvent):
    """The signed transaction was handed to the chain and accepted (or already known)."""

    version: Literal[1] = 1
    request_id: Identifier
    wallet_id: Identifier
    chain: Identifier
    tx_hash: str = Field(min_length=1, max_length=128)
    raw_tx: Hex


class TransactionConfirmed(_DomainEvent):
    """The transaction reached the chain's configured depth."""

    version: Literal[1] = 1
    request_id: Identifier
    wallet_id: Identifier
    chain: Identifier
    tx_hash: str = Field(min_length=1, max_length=128)
    confirmations: int = Field(ge=1)
    block: int | None = None


DomainEvent = (
    WalletCreated
    | CeremonyStarted
    | SignatureProduced
    | CeremonyFailed
    | PartyMisbehaved
    | PresignatureAdded
    | PresignatureUsed
    | TransactionBuilt
    | TransactionBroadcast
    | TransactionConfirmed
)

EVENT_TYPES: Mapping[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in (
        WalletCreated,
        CeremonyStarted,
        SignatureProduced,
        CeremonyFailed,
        PartyMisbehaved,
        PresignatureAdded,
        PresignatureUsed,
        TransactionBuilt,
        TransactionBroadcast,
        TransactionConfirmed,
    )
}
"""Domain event classes by the ``event_type`` they are stored under (their class name)."""


def wallet_stream(wallet_id: str) -> str:
    """The stream id of a wallet's events."""
    return f"wallet-{wallet_id}"


def ceremony_stream(ceremony_id: str) -> str:
    """The stream id of a ceremony's events."""
    return f"ceremony-{ceremony_id}"


def transaction_stream(request_id: str) -> str:
    """The stream id of one transfer request's events (built, broadcast, confirmed)."""
    return f"transaction-{request_id}"


def presignature_stream(wallet_id: str) -> str:
    """The stream id of a wallet's ECDSA presignature pool (added, used)."""
    return f"presignatures-{wallet_id}"


def idempotency_key(scope: str, event_type: type[DomainEvent], *qualifiers: str) -> str:
    """The idempotency key of the one ``event_type`` event that ``scope`` (a ceremony,
    request or presignature id) may record: ``scope/EventType[/qualifier...]``. Retried
    appends of it are recognized; a different event under the same key is refused."""
    return "/".join((scope, event_type.__name__, *qualifiers))


def to_new_event(
    event: DomainEvent,
    *,
    stream_id: str,
    idempotency_key: str,
    metadata: Mapping[str, str] | EventMetadata | None = None,
) -> NewEvent:
    """Wrap ``event`` in the store's envelope; ``version`` becomes ``schema_version``.

    ``metadata`` is best given as :class:`~storage.events.metadata.EventMetadata` (tenant,
    actor, correlation id, ceremony); a plain mapping must follow the same key rules.
    """
    if isinstance(metadata, EventMetadata):
        metadata = metadata.to_dict()
    return NewEvent(
        stream_id=stream_id,
        event_type=type(event).__name__,
        schema_version=event.version,
        payload=event.model_dump(mode="json", exclude={"version"}),
        metadata=dict(metadata or {}),
        idempotency_key=idempotency_key,
    )


def parse_event(stored: StoredEvent) -> DomainEvent:
    """The domain event in ``stored``, dispatching on its ``event_type``.

    Raises :class:`UnknownEventType` or :class:`EventDecodeError` (never a bare pydantic
    error), naming the event's position.
    """
    cls = EVENT_TYPES.get(stored.event_type)
    if cls is None:
        raise UnknownEventType(stored.event_type, position=stored.position)
    return _validate_envelope(cls, stored)


def _validate_envelope(cls: type[_Model], stored: StoredEvent) -> _Model:
    """``stored``'s payload as ``cls``, its ``version`` from the envelope's
    ``schema_version``; raises :class:`EventDecodeError` naming its position."""
    if "version" in stored.payload:
        raise EventDecodeError(
            position=stored.position,
            event_type=stored.event_type,
            reason="payload must not carry 'version'; it is the envelope's schema_version",
        )
    try:
        return cls.model_validate({**stored.payload, "version": stored.schema_version})
    except ValidationError as exc:
        raise EventDecodeError(
            position=stored.position, event_type=stored.event_type, reason=str(exc)
        ) from exc


# -- the chain's signed checkpoints ------------------------------------------------------

CHECKPOINT_STREAM: Final = "checkpoints"
"""The stream of :class:`ChainCheckpoint` events."""
CHECKPOINT_SIGNING_LABEL: Final = b"quorate/chain-checkpoint/v1\n"
"""Domain separation: a checkpoint key's signature can mean nothing else."""


class ChainCheckpoint(BaseModel):
    """The coordinator's signature over the chain's head: "as of ``signed_at``, the event at
    ``head_position`` has hash ``head_hash``".

    Not a domain event (it is about the log, not about wallets), so it is not in
    :data:`DomainEvent` or :data:`EVENT_TYPES`, and readers that follow domain events skip it
    as an unknown type. It is recorded in the :data:`CHECKPOINT_STREAM` by
    ``workers.checkpoints`` and checked by ``quorate audit verify`` against the checkpoint
    public key: since ``head_hash`` commits to every event up to ``head_position``, a chain
    edited and re-hashed below a checkpoint no longer hashes to it, and whoever re-hashed
    it cannot sign a new one without the key.

    ``signature`` is Ed25519 (RFC 8032) by ``public_key`` over :meth:`signed_message`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    head_position: int = Field(ge=1)
    head_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    signed_at: AwareDatetime
    interval_seconds: float = Field(gt=0, description="How often the writer checkpoints.")
    public_key: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    signature: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")]

    def signed_message(self) -> bytes:
        """The bytes the key signs: :data:`CHECKPOINT_SIGNING_LABEL` then the canonical JSON
        (``storage.events.port.canonical_json``) of ``head_hash``, ``head_position``,
        ``interval_seconds`` and ``signed_at`` (as events' ``recorded_at`` is written)."""
        return checkpoint_signed_message(
            head_position=self.head_position,
            head_hash=self.head_hash,
            signed_at=self.signed_at,
            interval_seconds=self.interval_seconds,
        )


def checkpoint_signed_message(
    *, head_position: int, head_hash: str, signed_at: Any, interval_seconds: float
) -> bytes:
    """:meth:`ChainCheckpoint.signed_message` before the signature exists (for the signer)."""
    document = {
        "head_hash": head_hash,
        "head_position": head_position,
        "interval_seconds": interval_seconds,
        "signed_at": format_recorded_at(signed_at),
    }
    return CHECKPOINT_SIGNING_LABEL + canonical_json(document).encode("utf-8")


def checkpoint_to_new_event(checkpoint: ChainCheckpoint) -> NewEvent:
    """``checkpoint`` in the store's envelope; one key per covered head, so a retried write
    of the same checkpoint is recognized (and another signature of that head refused)."""
    return NewEvent(
        stream_id=CHECKPOINT_STREAM,
        event_type=ChainCheckpoint.__name__,
        schema_version=checkpoint.version,
        payload=checkpoint.model_dump(mode="json", exclude={"version"}),
        idempotency_key=f"checkpoint-{checkpoint.head_position}/{ChainCheckpoint.__name__}",
    )


def parse_checkpoint(stored: StoredEvent) -> ChainCheckpoint:
    """The checkpoint in ``stored`` (a ``ChainCheckpoint`` event); raises
    :class:`EventDecodeError` naming its position."""
    if stored.event_type != ChainCheckpoint.__name__:
        raise UnknownEventType(stored.event_type, position=stored.position)
    return _validate_envelope(ChainCheckpoint, stored)
