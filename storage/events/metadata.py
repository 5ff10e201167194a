"""Event metadata conventions: who did what, for whom, as part of which request and ceremony.

An event's ``metadata`` stays a flat ``dict[str, str]`` (it is hashed as such, see
:mod:`storage.events.port`), but its keys follow conventions so that projections and
auditors can rely on them:

========================  ==================================================================
key                       meaning
========================  ==================================================================
``tenant``                the customer (organisation) the wallet belongs to
``actor``                 who caused the event: an API principal, ``system``, a party id
``correlation_id``        the request that led to the event (shared by every event of it)
``causation_id``          the event or command that directly caused this one
``ceremony``              the DKG or signing ceremony the event belongs to
========================  ==================================================================

Other keys are allowed (``extra``), with the same spelling rules: lowercase ASCII letters,
digits, ``_``, ``.`` and ``-``, starting with a letter, at most 64 characters. Values are
1 to 1024 characters without control characters. The rules are checked when a
:class:`~storage.events.port.NewEvent` is built, so a malformed key never reaches the log;
stored events are read as they are, whatever older code wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Final, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

TENANT: Final = "tenant"
ACTOR: Final = "actor"
CORRELATION_ID: Final = "correlation_id"
CAUSATION_ID: Final = "causation_id"
CEREMONY: Final = "ceremony"

WELL_KNOWN_KEYS: Final = frozenset({TENANT, ACTOR, CORRELATION_ID, CAUSATION_ID, CEREMONY})
"""The keys :class:`EventMetadata` has a field for."""

MAX_METADATA_ENTRIES: Final = 64
"""More than this is a payload in disguise; it belongs in the event's payload."""

KEY_PATTERN: Final = r"^[a-z][a-z0-9_.\-]{0,63}$"


def _no_control_characters(value: str) -> str:
    # Metadata ends up in indexes, projections and log lines; a NUL cannot even be stored in
    # a PostgreSQL text column. Refuse control characters up front (invariant 8).
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        raise ValueError("must not contain control characters")
    return value


MetadataKey = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
"""A metadata key: ``[a-z][a-z0-9_.-]{0,63}``."""
MetadataValue = Annotated[
    str, StringConstraints(min_length=1, max_length=1024), AfterValidator(_no_control_characters)
]
"""A metadata value: 1 to 1024 characters, no control characters."""


def check_metadata_size(metadata: Mapping[str, str]) -> None:
    """Raise ``ValueError`` if ``metadata`` has more than :data:`MAX_METADATA_ENTRIES` keys."""
    if len(metadata) > MAX_METADATA_ENTRIES:
        raise ValueError(
            f"metadata has {len(metadata)} entries; at most {MAX_METADATA_ENTRIES} are allowed"
        )


class EventMetadata(BaseModel):
    """Typed access to an event's metadata: the conventional keys, plus any ``extra`` ones.

    ``EventMetadata(tenant="acme", actor="api:alice").to_dict()`` is what goes into
    :attr:`NewEvent.metadata <storage.events.port.NewEvent.metadata>`;
    :meth:`from_dict` reads it back from a stored event.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: MetadataValue | None = None
    actor: MetadataValue | None = None
    correlation_id: MetadataValue | None = None
    causation_id: MetadataValue | None = None
    ceremony: MetadataValue | None = None
    extra: dict[MetadataKey, MetadataValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _extra_keys_are_not_conventional(self) -> Self:
        # One spelling per fact: a tenant given as extra["tenant"] would hide from
        # everything that reads the typed field.
        clashes = sorted(WELL_KNOWN_KEYS.intersection(self.extra))
        if clashes:
            raise ValueError(f"use the typed field, not extra, for {', '.join(clashes)}")
        check_metadata_size(self.to_dict())
        return self

    def to_dict(self) -> dict[str, str]:
        """The flat mapping stored with the event; unset fields are left out."""
        known = {
            TENANT: self.tenant,
            ACTOR: self.actor,
            CORRELATION_ID: self.correlation_id,
            CAUSATION_ID: self.causation_id,
            CEREMONY: self.ceremony,
        }
        return {key: value for key, value in known.items() if value is not None} | self.extra

    @classmethod
    def from_dict(cls, metadata: Mapping[str, str]) -> Self:
        """Split a stored metadata mapping into the typed fields and ``extra``.

        Raises pydantic's ``ValidationError`` if a key or value breaks the conventions.
        """
        known = {key: value for key, value in metadata.items() if key in WELL_KNOWN_KEYS}
        extra = {key: value for key, value in metadata.items() if key not in WELL_KNOWN_KEYS}
        return cls.model_validate({**known, "extra": extra})
