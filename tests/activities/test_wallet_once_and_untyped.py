"""Coordinator activities without Temporal: a wallet's stream takes one creation, and an
untyped error retrying cannot change fails at once, non-retryable and typed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import WalletExists, refuse_untyped
from activities.models import NoopInput
from activities.recording import CeremonyRecorder
from common.types import Scheme
from storage.events.models import WalletCreated, wallet_stream
from storage.events.port import EventStore, open_event_store


@pytest.fixture
async def events() -> AsyncIterator[EventStore]:
    store = await open_event_store("sqlite:///:memory:")
    yield store
    await store.close()


def _created(ceremony_id: str, scheme: Scheme = "bip340") -> WalletCreated:
    return WalletCreated(
        wallet_id="w-once",
        scheme=scheme,
        ciphersuite="FROST-secp256k1-SHA256-TR-v1",
        group_public_key="02" + "11" * 32,
        threshold=2,
        parties=["us-1", "us-2", "eu-1"],
        public_key_package="00",
        ceremony_id=ceremony_id,
    )


async def test_a_second_creation_of_a_wallet_is_refused_and_writes_nothing(
    events: EventStore,
) -> None:
    log = CeremonyRecorder(events)
    await log.wallet_created(_created("dkg-a"))
    # The same ceremony's step retried: the stored event, not a conflict.
    await log.wallet_created(_created("dkg-a"))
    with pytest.raises(WalletExists):
        await log.wallet_created(_created("dkg-b", scheme="ed25519"))
    stream = await events.read_stream(wallet_stream("w-once"))
    assert [(e.event_type, e.stream_version) for e in stream] == [("WalletCreated", 1)]
    assert stream[0].payload["ceremony_id"] == "dkg-a"


async def test_only_the_first_creation_ceremony_of_a_wallet_id_may_start(
    events: EventStore,
) -> None:
    log = CeremonyRecorder(events)
    parties = ["us-1", "us-2", "eu-1"]
    await log.creation_started("dkg-a", "w-once", "FROST-secp256k1-SHA256-TR-v1", parties)
    await log.creation_started("dkg-a", "w-once", "FROST-secp256k1-SHA256-TR-v1", parties)
    with pytest.raises(WalletExists):
        await log.creation_started("dkg-b", "w-once", "FROST-ED25519-SHA512-v1", parties)
    # Another wallet id is free.
    await log.creation_started("dkg-c", "w-other", "FROST-ED25519-SHA512-v1", parties)
    started = [e for e in await events.read_all() if e.event_type == "CeremonyStarted"]
    assert [e.payload["ceremony_id"] for e in started] == ["dkg-a", "dkg-c"]


class _Broken:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    @activity.defn(name="test.broken")
    @refuse_untyped
    async def broken(self, request: NoopInput) -> NoopInput:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [OverflowError("int too big to convert"), ValueError("non-hexadecimal number"), TypeError("x")],
)
async def test_untyped_errors_retrying_cannot_change_become_non_retryable(
    error: Exception,
) -> None:
    with pytest.raises(ApplicationError) as failed:
        await _Broken(error).broken(NoopInput())
    assert failed.value.non_retryable
    assert failed.value.type == type(error).__name__
    assert str(error) in failed.value.message


@pytest.mark.parametrize(
    "error",
    [
        ConnectionError("database gone"),
        ApplicationError("typed", type="UnknownWallet", non_retryable=True),
    ],
)
async def test_infrastructure_and_typed_errors_pass_through(error: Exception) -> None:
    with pytest.raises(type(error)) as raised:
        await _Broken(error).broken(NoopInput())
    assert raised.value is error


def test_the_wrapper_keeps_the_activity_definition() -> None:
    definition = activity._Definition.must_from_callable(_Broken.broken)
    assert definition.name == "test.broken"
    assert definition.arg_types == [NoopInput]
    assert definition.is_async
