"""From stored events to rows: every domain event type, and the ones not known yet."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.analytics.rows import project_batch, project_event
from storage.events.errors import EventDecodeError
from storage.events.models import (
    CeremonyFailed,
    CeremonyStarted,
    DomainEvent,
    PartyMisbehaved,
    PresignatureUsed,
    SignatureProduced,
    TransactionBroadcast,
    TransactionConfirmed,
    WalletCreated,
)
from storage.events.port import GENESIS_HASH, StoredEvent, canonical_json, compute_event_hash

AT = datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)


def stored(event: DomainEvent | None = None, **override: object) -> StoredEvent:
    """A correctly hashed stored event at position 1 (the rows do not check the chain)."""
    fields: dict[str, object] = {
        "position": 1,
        "stream_id": "s",
        "stream_version": 1,
        "event_type": type(event).__name__,
        "schema_version": 1,
        "payload": event.model_dump(mode="json", exclude={"version"}) if event else {},
        "metadata": {"tenant": "acme"},
        "idempotency_key": "k",
        "recorded_at": AT,
    }
    fields.update(override)
    digest = compute_event_hash(GENESIS_HASH, **fields)  # type: ignore[arg-type]
    return StoredEvent(prev_hash=GENESIS_HASH, hash=digest, **fields)


def test_signature_produced_fills_both_tables() -> None:
    event = SignatureProduced(
        ceremony_id="c",
        wallet_id="w",
        scheme="ed25519",
        public_key="ab",
        message="",
        signature="cd",
        signers=["eu-1", "us-1"],
    )
    row, signature = project_event(stored(event))
    assert (row.wallet_id, row.ceremony_id, row.parties) == ("w", "c", ("eu-1", "us-1"))
    assert signature is not None
    json_row = signature.to_json_row()
    assert json_row["signers"] == ["eu-1", "us-1"]
    assert json_row["day"] == "2025-06-30"  # the UTC day, whatever the server's zone
    assert json_row["recorded_at"] == "2025-06-30 23:59:59"
    assert json_row["recorded_at_us"] == 1751327999999999


@pytest.mark.parametrize(
    ("event", "party", "parties", "reason"),
    [
        (
            WalletCreated(
                wallet_id="w",
                scheme="bip340",
                ciphersuite="x",
                group_public_key="ab",
                threshold=2,
                parties=["a", "b"],
                public_key_package="cd",
                ceremony_id="c",
            ),
            "",
            ("a", "b"),
            "",
        ),
        (
            CeremonyStarted(
                ceremony_id="c", wallet_id="w", kind="sign", protocol="gg20", parties=["a"]
            ),
            "",
            ("a",),
            "",
        ),
        (
            CeremonyFailed(ceremony_id="c", wallet_id="w", reason="timeout", culprits=["b"]),
            "",
            ("b",),
            "timeout",
        ),
        (
            PartyMisbehaved(ceremony_id="c", wallet_id="w", party="b", reason="bad proof"),
            "b",
            ("b",),
            "bad proof",
        ),
    ],
)
def test_other_domain_events(
    event: DomainEvent, party: str, parties: tuple[str, ...], reason: str
) -> None:
    row, signature = project_event(stored(event))
    assert signature is None
    assert (row.wallet_id, row.ceremony_id) == ("w", "c")
    assert (row.party, row.parties, row.reason) == (party, parties, reason)
    assert row.payload == canonical_json(event.model_dump(mode="json", exclude={"version"}))
    assert row.metadata == '{"tenant":"acme"}'


def test_unknown_event_types_keep_what_their_payload_names() -> None:
    row, signature = project_event(
        stored(None, event_type="PoolRefilled", payload={"wallet_id": "w", "party": 3})
    )
    assert signature is None
    assert (row.event_type, row.wallet_id, row.party) == ("PoolRefilled", "w", "")


@pytest.mark.parametrize(
    ("event", "ceremony_id"),
    [
        (
            TransactionBroadcast(
                request_id="r", wallet_id="w", chain="solana", tx_hash="t", raw_tx="00"
            ),
            "",
        ),
        (
            TransactionConfirmed(
                request_id="r", wallet_id="w", chain="solana", tx_hash="t", confirmations=1
            ),
            "",
        ),
        (PresignatureUsed(wallet_id="w", presign_id="p", ceremony_id="c"), "c"),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, str) else None,
)
def test_known_events_without_columns_of_their_own(event: DomainEvent, ceremony_id: str) -> None:
    """Transfers and presignatures are recorded like unknown types: by what their payload
    names (they once raised UnboundLocalError, which stopped the analytics runner)."""
    row, signature = project_event(stored(event))
    assert signature is None
    assert (row.event_type, row.wallet_id, row.ceremony_id) == (
        type(event).__name__,
        "w",
        ceremony_id,
    )


def test_corrupt_known_events_are_refused() -> None:
    with pytest.raises(EventDecodeError):
        project_event(stored(None, event_type="SignatureProduced", payload={"wallet_id": "w"}))


def test_batches_keep_order() -> None:
    failed = CeremonyFailed(ceremony_id="c", wallet_id="w", reason="r")
    batch = project_batch([stored(failed), stored(failed, position=2)])
    assert [row.position for row in batch.events] == [1, 2]
    assert batch.signatures == ()
