"""Metadata conventions: EventMetadata, and the key and value rules NewEvent enforces."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from storage.events.metadata import (
    ACTOR,
    CAUSATION_ID,
    CEREMONY,
    CORRELATION_ID,
    MAX_METADATA_ENTRIES,
    TENANT,
    WELL_KNOWN_KEYS,
    EventMetadata,
)
from storage.events.models import to_new_event
from storage.events.port import NewEvent
from tests.storage.events.contract import domain_event_examples


def new_event(metadata: Any) -> NewEvent:
    return NewEvent(
        stream_id="wallet-w1",
        event_type="Tested",
        payload={},
        metadata=metadata,
        idempotency_key="k",
    )


def test_conventional_keys() -> None:
    assert (TENANT, ACTOR, CORRELATION_ID, CAUSATION_ID, CEREMONY) == (
        "tenant",
        "actor",
        "correlation_id",
        "causation_id",
        "ceremony",
    )
    assert set(EventMetadata.model_fields) - {"extra"} == WELL_KNOWN_KEYS


def test_to_dict_leaves_unset_fields_out_and_round_trips() -> None:
    assert EventMetadata().to_dict() == {}
    metadata = EventMetadata(tenant="acme", ceremony="sign-1", extra={"x.y-z_1": "v"})
    assert metadata.to_dict() == {"tenant": "acme", "ceremony": "sign-1", "x.y-z_1": "v"}
    assert EventMetadata.from_dict(metadata.to_dict()) == metadata
    # What the coordinator writes today is conventional.
    assert EventMetadata.from_dict({"ceremony": "dkg-1"}).ceremony == "dkg-1"


@pytest.mark.parametrize(
    "fields",
    [
        {"tenant": ""},
        {"actor": "line\nbreak"},
        {"actor": "c1 control \x85"},
        {"correlation_id": "x" * 1025},
        {"extra": {"tenant": "acme"}},  # Conventional keys use their typed field.
        {"extra": {"Upper": "v"}},
        {"extra": {"1digit": "v"}},
        {"extra": {"space key": "v"}},
        {"extra": {"k" * 65: "v"}},
        {"extra": {f"k{i}": "v" for i in range(MAX_METADATA_ENTRIES + 1)}},
        {"unknown": "field"},
    ],
    ids=repr,
)
def test_event_metadata_refuses_bad_input(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EventMetadata(**fields)


@pytest.mark.parametrize(
    "metadata",
    [
        {"Actor": "x"},
        {"": "x"},
        {"actor": ""},
        {"actor": "nul\x00"},
        {f"k{i}": "v" for i in range(MAX_METADATA_ENTRIES + 1)},
    ],
    ids=repr,
)
def test_new_event_checks_metadata_keys_and_values(metadata: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        new_event(metadata)


def test_to_new_event_takes_event_metadata() -> None:
    (example, *_) = domain_event_examples()
    metadata = EventMetadata(tenant="acme", actor="api:alice", correlation_id="req-1")
    new = to_new_event(example, stream_id="s", idempotency_key="k", metadata=metadata)
    assert new.metadata == metadata.to_dict()
    plain = to_new_event(example, stream_id="s", idempotency_key="k", metadata={"actor": "a"})
    assert plain.metadata == {"actor": "a"}
