"""Domain events: validation, round trips through the envelope, and typed decode errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from storage.events.errors import EventDecodeError, UnknownEventType
from storage.events.models import (
    CHECKPOINT_STREAM,
    EVENT_TYPES,
    CeremonyFailed,
    ChainCheckpoint,
    SignatureProduced,
    WalletCreated,
    ceremony_stream,
    checkpoint_to_new_event,
    parse_checkpoint,
    parse_event,
    to_new_event,
    wallet_stream,
)
from storage.events.port import GENESIS_HASH, NewEvent, StoredEvent, compute_event_hash
from tests.storage.events.contract import domain_event_examples


def stored_from(new: NewEvent, *, payload: dict[str, Any] | None = None) -> StoredEvent:
    """``new`` as a store would record it at position 1."""
    fields: dict[str, Any] = {
        "position": 1,
        "stream_id": new.stream_id,
        "stream_version": 1,
        "event_type": new.event_type,
        "schema_version": new.schema_version,
        "payload": new.canonical_payload() if payload is None else payload,
        "metadata": new.metadata,
        "idempotency_key": new.idempotency_key,
        "recorded_at": datetime(2025, 1, 1, tzinfo=UTC),
    }
    digest = compute_event_hash(GENESIS_HASH, **fields)
    return StoredEvent(**fields, prev_hash=GENESIS_HASH, hash=digest)


def wallet_created(**changes: Any) -> WalletCreated:
    fields: dict[str, Any] = {
        "wallet_id": "w1",
        "scheme": "ed25519",
        "ciphersuite": "FROST-ED25519-SHA512-v1",
        "group_public_key": "ab" * 32,
        "threshold": 2,
        "parties": ["us-1", "eu-1", "apac-1"],
        "public_key_package": "01" * 10,
        "ceremony_id": "dkg-1",
    } | changes
    return WalletCreated(**fields)


@pytest.mark.parametrize("domain_event", domain_event_examples(), ids=lambda e: type(e).__name__)
def test_round_trip(domain_event: Any) -> None:
    new = to_new_event(
        domain_event, stream_id="wallet-w1", idempotency_key="k", metadata={"a": "b"}
    )
    assert new.event_type == type(domain_event).__name__
    assert new.schema_version == domain_event.version == 1
    assert "version" not in new.payload
    assert new.metadata == {"a": "b"}
    assert parse_event(stored_from(new)) == domain_event


def test_every_event_type_has_an_example() -> None:
    assert {type(e).__name__ for e in domain_event_examples()} == set(EVENT_TYPES)


def test_payload_snapshot() -> None:
    new = to_new_event(
        CeremonyFailed(ceremony_id="c1", wallet_id="w1", reason="timeout"),
        stream_id=ceremony_stream("c1"),
        idempotency_key="k",
    )
    assert new.model_dump() == {
        "stream_id": "ceremony-c1",
        "event_type": "CeremonyFailed",
        "schema_version": 1,
        "payload": {"ceremony_id": "c1", "wallet_id": "w1", "reason": "timeout", "culprits": []},
        "metadata": {},
        "idempotency_key": "k",
    }


def test_stream_ids() -> None:
    assert wallet_stream("w1") == "wallet-w1"
    assert ceremony_stream("c1") == "ceremony-c1"


@pytest.mark.parametrize(
    "changes",
    [
        {"threshold": 4},
        {"threshold": 0},
        {"parties": []},
        {"parties": ["us-1", "us-1"]},
        {"parties": [""]},
        {"scheme": "rsa"},
        {"group_public_key": "AB" * 32},
        {"group_public_key": "abc"},
        {"group_public_key": ""},
        {"public_key_package": "zz"},
        {"wallet_id": ""},
        {"version": 2},
        {"share": "00" * 32},
    ],
    ids=repr,
)
def test_wallet_created_refuses_bad_input(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        wallet_created(**changes)


def test_signature_produced_refuses_duplicate_signers_and_allows_empty_message() -> None:
    fields: dict[str, Any] = {
        "ceremony_id": "s1",
        "wallet_id": "w1",
        "scheme": "ecdsa-secp256k1",
        "public_key": "02" + "11" * 32,
        "message": "",
        "signature": "22" * 64,
        "signers": ["us-1", "eu-1"],
    }
    assert SignatureProduced(**fields).message == ""
    with pytest.raises(ValidationError, match="duplicates"):
        SignatureProduced(**{**fields, "signers": ["us-1", "us-1"]})


def test_domain_events_are_frozen() -> None:
    event = wallet_created()
    with pytest.raises(ValidationError):
        event.threshold = 1  # type: ignore[misc]


def test_unknown_event_type() -> None:
    new = NewEvent(stream_id="s", event_type="Mystery", payload={}, idempotency_key="k")
    with pytest.raises(UnknownEventType) as caught:
        parse_event(stored_from(new))
    assert (caught.value.event_type, caught.value.position) == ("Mystery", 1)


def test_payload_that_does_not_match_its_schema() -> None:
    new = to_new_event(wallet_created(), stream_id="wallet-w1", idempotency_key="k")
    broken = {**new.canonical_payload(), "threshold": "many"}
    with pytest.raises(EventDecodeError) as caught:
        parse_event(stored_from(new, payload=broken))
    assert caught.value.event_type == "WalletCreated"


def test_unknown_schema_version() -> None:
    new = to_new_event(wallet_created(), stream_id="wallet-w1", idempotency_key="k")
    newer = new.model_copy(update={"schema_version": 2})
    with pytest.raises(EventDecodeError):
        parse_event(stored_from(newer))


def test_payload_must_not_carry_its_own_version() -> None:
    new = to_new_event(wallet_created(), stream_id="wallet-w1", idempotency_key="k")
    with pytest.raises(EventDecodeError, match="version"):
        parse_event(stored_from(new, payload={**new.canonical_payload(), "version": 1}))


# -- the chain's checkpoints ---------------------------------------------------------------


def _checkpoint(**changes: Any) -> ChainCheckpoint:
    fields: dict[str, Any] = {
        "head_position": 41,
        "head_hash": "cd" * 32,
        "signed_at": datetime(2025, 1, 1, 12, 0, tzinfo=UTC),
        "interval_seconds": 60.0,
        "public_key": "ef" * 32,
        "signature": "01" * 64,
    } | changes
    return ChainCheckpoint(**fields)


def test_a_checkpoint_round_trips_and_is_no_domain_event() -> None:
    checkpoint = _checkpoint()
    new = checkpoint_to_new_event(checkpoint)
    assert (new.stream_id, new.event_type) == (CHECKPOINT_STREAM, "ChainCheckpoint")
    assert new.idempotency_key == "checkpoint-41/ChainCheckpoint"
    assert "version" not in new.payload
    assert parse_checkpoint(stored_from(new)) == checkpoint
    # Readers of domain events skip it as an unknown type.
    assert "ChainCheckpoint" not in EVENT_TYPES
    with pytest.raises(UnknownEventType):
        parse_event(stored_from(new))


def test_the_signed_message_is_pinned() -> None:
    """The bytes a checkpoint key signs (an independent verifier rebuilds them from this)."""
    assert _checkpoint().signed_message() == (
        b"quorate/chain-checkpoint/v1\n"
        b'{"head_hash":"' + b"cd" * 32 + b'","head_position":41,"interval_seconds":60.0,'
        b'"signed_at":"2025-01-01T12:00:00.000000+00:00"}'
    )
    # Read back from the store, the same bytes.
    stored = stored_from(checkpoint_to_new_event(_checkpoint()))
    assert parse_checkpoint(stored).signed_message() == _checkpoint().signed_message()


@pytest.mark.parametrize(
    "bad",
    [
        {"head_position": 0},
        {"head_hash": "CD" * 32},
        {"public_key": "ef" * 31},
        {"signature": "01" * 63},
        {"interval_seconds": 0},
        {"signed_at": datetime(2025, 1, 1)},  # naive
    ],
)
def test_a_malformed_checkpoint_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _checkpoint(**bad)
    good = checkpoint_to_new_event(_checkpoint())
    spoiled = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in bad.items()}
    stored = stored_from(good, payload={**good.canonical_payload(), **spoiled})
    with pytest.raises(EventDecodeError):
        parse_checkpoint(stored)
