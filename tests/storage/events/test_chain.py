"""The hash chain: the canonical encoding, compute_event_hash and verify_chain, without I/O."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from storage.events.errors import ChainBroken
from storage.events.port import (
    GENESIS_HASH,
    NewEvent,
    StoredEvent,
    compute_event_hash,
    verify_chain,
)
from tests.storage.events.chains import hashed_chain

WHEN = datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC)

FIELDS: dict[str, Any] = {
    "position": 1,
    "stream_id": "wallet-w1",
    "stream_version": 1,
    "event_type": "WalletCreated",
    "schema_version": 1,
    "payload": {"wallet_id": "w1", "b": [1, 2.5, None], "é": "ü"},
    "metadata": {"actor": "api", "ceremony": "dkg-1"},
    "idempotency_key": "req-1",
    "recorded_at": WHEN,
}


def chain_of(count: int, *, streams: int = 2) -> list[StoredEvent]:
    """A valid chain built with compute_event_hash, independent of any store."""
    return hashed_chain(
        count,
        stream_of=lambda position: f"wallet-w{position % streams}",
        fields_of=lambda position: {
            **FIELDS,
            "payload": {"n": position},
            "idempotency_key": f"k{position}",
            "recorded_at": WHEN + timedelta(seconds=position),
        },
    )


def rehashed(event: StoredEvent, **changes: Any) -> StoredEvent:
    """``event`` with ``changes`` and a hash that is correct for its new content."""
    fields = event.model_dump(exclude={"hash"}) | changes
    prev_hash = fields.pop("prev_hash")
    return StoredEvent(**fields, prev_hash=prev_hash, hash=compute_event_hash(prev_hash, **fields))


def test_known_answer() -> None:
    # The encoding written out by hand, so a change to canonical_json or to the field set
    # cannot pass unnoticed: every stored chain depends on these exact bytes. The pinned
    # digest was checked independently: `printf '%s' '<document>' | sha256sum`.
    expected_document = (
        '{"event_type":"WalletCreated","idempotency_key":"req-1",'
        '"metadata":{"actor":"api","ceremony":"dkg-1"},'
        '"payload":{"b":[1,2.5,null],"wallet_id":"w1","é":"ü"},"position":1,'
        f'"prev_hash":"{GENESIS_HASH}","recorded_at":"2025-01-02T03:04:05.000006+00:00",'
        '"schema_version":1,"stream_id":"wallet-w1","stream_version":1}'
    )
    expected = hashlib.sha256(expected_document.encode("utf-8")).hexdigest()
    assert compute_event_hash(GENESIS_HASH, **FIELDS) == expected
    assert expected == "85a9b587aa7b75239a4545c8e67fca2e289929320dfb799954816882f400ade6"


def test_hash_does_not_depend_on_key_order_or_time_zone() -> None:
    reordered = {**FIELDS, "payload": dict(reversed(list(FIELDS["payload"].items())))}
    in_paris = {**FIELDS, "recorded_at": WHEN.astimezone(timezone(timedelta(hours=1)))}
    expected = compute_event_hash(GENESIS_HASH, **FIELDS)
    assert compute_event_hash(GENESIS_HASH, **reordered) == expected
    assert compute_event_hash(GENESIS_HASH, **in_paris) == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("position", 2),
        ("stream_id", "wallet-w2"),
        ("stream_version", 2),
        ("event_type", "WalletCreatedX"),
        ("schema_version", 2),
        ("payload", {**FIELDS["payload"], "wallet_id": "w2"}),
        ("metadata", {"actor": "api"}),
        ("idempotency_key", "req-2"),
        ("recorded_at", WHEN + timedelta(microseconds=1)),
    ],
)
def test_every_field_is_covered_by_the_hash(field: str, value: Any) -> None:
    assert compute_event_hash(GENESIS_HASH, **{**FIELDS, field: value}) != compute_event_hash(
        GENESIS_HASH, **FIELDS
    )


def test_prev_hash_is_covered_by_the_hash() -> None:
    assert compute_event_hash("11" * 32, **FIELDS) != compute_event_hash(GENESIS_HASH, **FIELDS)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_event_hash(GENESIS_HASH, **{**FIELDS, "recorded_at": WHEN.replace(tzinfo=None)})


def test_valid_chains_verify() -> None:
    events = chain_of(6)
    verify_chain(events)
    verify_chain([])
    verify_chain(events[3:], previous=events[2])


def test_tampered_payload_is_named() -> None:
    events = chain_of(5)
    events[2] = events[2].model_copy(update={"payload": {"n": 999}})
    with pytest.raises(ChainBroken) as caught:
        verify_chain(events)
    assert (caught.value.position, caught.value.reason) == (3, "hash does not match content")


def test_rehashed_event_breaks_the_link_to_its_successor() -> None:
    # An attacker who recomputes the tampered event's hash breaks the next event's link.
    events = chain_of(5)
    events[2] = rehashed(events[2], payload={"n": 999})
    with pytest.raises(ChainBroken) as caught:
        verify_chain(events)
    assert caught.value.position == 4
    assert "prev_hash" in caught.value.reason


def test_wrong_prev_hash_is_named() -> None:
    events = chain_of(3)
    events[1] = rehashed(events[1], prev_hash="11" * 32)
    with pytest.raises(ChainBroken, match="prev_hash") as caught:
        verify_chain(events)
    assert caught.value.position == 2


def test_gap_is_named() -> None:
    events = chain_of(5)
    with pytest.raises(ChainBroken, match="expected position 3, found 4") as caught:
        verify_chain(events[:2] + events[3:])
    assert caught.value.position == 4


def test_reorder_is_named() -> None:
    events = chain_of(5)
    events[1], events[2] = events[2], events[1]
    with pytest.raises(ChainBroken) as caught:
        verify_chain(events)
    assert caught.value.position == 3


def test_duplicate_is_named() -> None:
    events = chain_of(3)
    with pytest.raises(ChainBroken) as caught:
        verify_chain([*events, events[2]])
    assert caught.value.position == 3


def test_a_whole_log_starts_at_position_one_after_genesis() -> None:
    events = chain_of(3)
    with pytest.raises(ChainBroken, match="expected position 1") as caught:
        verify_chain(events[1:])
    assert caught.value.position == 2
    with pytest.raises(ChainBroken, match="prev_hash"):
        verify_chain([rehashed(events[0], prev_hash="11" * 32)])


def test_tail_must_continue_from_its_anchor() -> None:
    events = chain_of(4)
    with pytest.raises(ChainBroken) as caught:
        verify_chain(events[2:], previous=events[0])
    assert caught.value.position == 3


def test_stream_version_out_of_sequence_is_named() -> None:
    events = chain_of(1)
    second = compute_event_hash(events[0].hash, **{**FIELDS, "position": 2, "stream_version": 3})
    events.append(
        StoredEvent(
            **{**FIELDS, "position": 2, "stream_version": 3},
            prev_hash=events[0].hash,
            hash=second,
        )
    )
    with pytest.raises(ChainBroken, match="expected version 2, found 3") as caught:
        verify_chain(events)
    assert caught.value.position == 2


# -- the envelope models ---------------------------------------------------------------------


def new_event(**changes: Any) -> NewEvent:
    fields: dict[str, Any] = {
        "stream_id": "wallet-w1",
        "event_type": "WalletCreated",
        "payload": {"a": 1},
        "idempotency_key": "k",
    } | changes
    return NewEvent(**fields)


def test_new_event_defaults_and_freezing() -> None:
    new = new_event()
    assert new.schema_version == 1
    assert new.metadata == {}
    with pytest.raises(ValidationError):
        new.stream_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [
        {"payload": {"set": {1, 2}}},
        {"payload": {"bytes": b"\x00"}},
        {"payload": {"nan": float("nan")}},
        {"payload": {"inf": float("inf")}},
        {"payload": {"surrogate": "\ud800"}},
        {"stream_id": ""},
        {"event_type": ""},
        {"idempotency_key": ""},
        {"idempotency_key": "x" * 257},
        {"stream_id": "wallet\x00"},
        {"idempotency_key": "line\nbreak"},
        {"schema_version": 0},
        {"metadata": {"actor": 1}},
        {"unexpected": "field"},
    ],
    ids=repr,
)
def test_new_event_refuses_bad_input(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        new_event(**changes)


def test_stored_event_times_are_utc_and_aware() -> None:
    (event,) = chain_of(1)
    fields = event.model_dump()
    local = WHEN.astimezone(timezone(timedelta(hours=-5)))
    assert StoredEvent(**{**fields, "recorded_at": local}).recorded_at.tzinfo == UTC
    with pytest.raises(ValidationError):
        StoredEvent(**{**fields, "recorded_at": WHEN.replace(tzinfo=None)})
    with pytest.raises(ValidationError):
        StoredEvent(**{**fields, "hash": "AB" * 32})
