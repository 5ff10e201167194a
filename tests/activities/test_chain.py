"""Chain activities without Temporal: the build is recorded once per request, and
everything after reads it back; refusals are typed and record nothing.

They run on the in-memory fake chain and the SQLite event store (the workflow on the
real engines is in tests/integration/test_sign_transaction.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.exceptions import ApplicationError

from activities.chain import ChainActivities
from activities.models import (
    BroadcastInput,
    BuildTransactionInput,
    FaucetInput,
    TransactionStatusInput,
    WalletAddressInput,
)
from chains.config import ChainConfig, ChainsConfig
from chains.fake import FakeChain
from chains.models import TransferIntent
from chains.registry import ChainRegistry
from storage.events.models import WalletCreated, to_new_event, wallet_stream
from storage.events.port import EventStore, open_event_store
from tests.chains.signers import signer_for

SIGNER = signer_for("bip340", "wallet")
WALLET = "w-taproot"
RECIPIENT = "fake:" + "cd" * 20
CONFIG = ChainConfig(
    name="fake-btc",
    family="bitcoin",
    network="regtest",
    output="p2tr",
    symbol="F",
    decimals=0,
    confirmations=2,
    local=True,
)


@pytest.fixture
async def events() -> AsyncIterator[EventStore]:
    store = await open_event_store("sqlite:///:memory:")
    await store.append(
        to_new_event(
            WalletCreated(
                wallet_id=WALLET,
                scheme="bip340",
                ciphersuite="FROST-secp256k1-SHA256-TR-v1",
                group_public_key=SIGNER.public_key.hex(),
                threshold=2,
                parties=["us-1", "us-2", "eu-1"],
                public_key_package="00",
                ceremony_id="dkg-1",
            ),
            stream_id=wallet_stream(WALLET),
            idempotency_key="dkg-1/WalletCreated",
        )
    )
    yield store
    await store.close()


@pytest.fixture
def chain() -> FakeChain:
    return FakeChain(CONFIG)


@pytest.fixture
async def activities(events: EventStore, chain: FakeChain) -> ChainActivities:
    registry = ChainRegistry(ChainsConfig(chains={CONFIG.name: CONFIG}), [chain])
    activities = ChainActivities(registry, events)
    source = await activities.wallet_address(WalletAddressInput(wallet_id=WALLET, chain="fake-btc"))
    await activities.faucet(FaucetInput(chain="fake-btc", address=source.address, amount=10**6))
    return activities


def _request(
    request_id: str, amount: int = 5_000, chain: str = "fake-btc"
) -> BuildTransactionInput:
    return BuildTransactionInput(
        request_id=request_id,
        wallet_id=WALLET,
        intent=TransferIntent(chain=chain, to=RECIPIENT, amount=amount),
    )


async def _types(events: EventStore) -> list[str]:
    return [e.event_type for e in await events.read_all()]


async def test_a_rebuild_returns_the_recorded_transaction(
    activities: ChainActivities, events: EventStore
) -> None:
    first = await activities.build(_request("r-1"))
    assert first.broadcast is None
    assert first.confirmations == 2
    # Another transfer moves the wallet's nonce on: a fresh build of r-1 would differ.
    other = await activities.build(_request("r-2"))
    signatures = tuple(SIGNER.sign(p) for p in other.transaction.signing_payloads)
    await activities.broadcast(
        BroadcastInput(
            request_id="r-2",
            wallet_id=WALLET,
            transaction=other.transaction,
            signatures=signatures,
        )
    )
    again = await activities.build(_request("r-1"))
    assert again.transaction == first.transaction
    assert (await _types(events)).count("TransactionBuilt") == 2


async def test_a_request_id_reused_for_another_transfer_is_refused(
    activities: ChainActivities, events: EventStore
) -> None:
    await activities.build(_request("r-1"))
    before = await _types(events)
    with pytest.raises(ApplicationError) as caught:
        await activities.build(_request("r-1", amount=6_000))
    assert caught.value.type == "RequestConflict"
    assert caught.value.non_retryable
    assert await _types(events) == before


async def test_after_broadcast_a_rebuild_hands_back_the_signed_transaction(
    activities: ChainActivities, events: EventStore
) -> None:
    built = await activities.build(_request("r-1"))
    signatures = tuple(SIGNER.sign(p) for p in built.transaction.signing_payloads)
    broadcast = BroadcastInput(
        request_id="r-1", wallet_id=WALLET, transaction=built.transaction, signatures=signatures
    )
    signed = await activities.broadcast(broadcast)
    # A retried broadcast sends the same bytes: same hash, one event, funds moved once.
    assert await activities.broadcast(broadcast) == signed
    again = await activities.build(_request("r-1"))
    assert again.broadcast == signed
    kinds = await _types(events)
    assert kinds.count("TransactionBroadcast") == 1


async def test_status_records_the_confirmation_once(
    activities: ChainActivities, events: EventStore
) -> None:
    built = await activities.build(_request("r-1"))
    signatures = tuple(SIGNER.sign(p) for p in built.transaction.signing_payloads)
    signed = await activities.broadcast(
        BroadcastInput(
            request_id="r-1",
            wallet_id=WALLET,
            transaction=built.transaction,
            signatures=signatures,
        )
    )
    poll = TransactionStatusInput(request_id="r-1", wallet_id=WALLET, signed=signed)
    first = await activities.status(poll)
    # One block on inclusion; a poll short of the depth makes the dev engine mine one more.
    assert first.status == "confirmed"
    assert first.confirmations == 2
    assert (await activities.status(poll)).status == "confirmed"
    assert (await _types(events)).count("TransactionConfirmed") == 1


async def test_a_bad_signature_is_refused_and_nothing_is_sent(
    activities: ChainActivities, events: EventStore, chain: FakeChain
) -> None:
    built = await activities.build(_request("r-1"))
    stranger = signer_for("bip340", "stranger")
    before = await _types(events)
    with pytest.raises(ApplicationError) as caught:
        await activities.broadcast(
            BroadcastInput(
                request_id="r-1",
                wallet_id=WALLET,
                transaction=built.transaction,
                signatures=tuple(stranger.sign(p) for p in built.transaction.signing_payloads),
            )
        )
    assert caught.value.type == "InvalidSignature"
    assert await _types(events) == before
    assert await chain.balance(RECIPIENT) == 0


@pytest.mark.parametrize(
    ("request_input", "kind"),
    [
        (_request("r-x", chain="no-such-chain"), "UnknownChain"),
        (_request("r-x", amount=10**9), "InsufficientFunds"),
        (_request("r-x", amount=1), "DustOutput"),
        (
            BuildTransactionInput(
                request_id="r-x",
                wallet_id="no-such-wallet",
                intent=TransferIntent(chain="fake-btc", to=RECIPIENT, amount=5_000),
            ),
            "UnknownWallet",
        ),
        (
            BuildTransactionInput(
                request_id="r-x",
                wallet_id=WALLET,
                intent=TransferIntent(chain="fake-btc", to="fake:zz", amount=5_000),
            ),
            "InvalidAddress",
        ),
    ],
)
async def test_refusals_are_typed_and_record_nothing(
    activities: ChainActivities,
    events: EventStore,
    request_input: BuildTransactionInput,
    kind: str,
) -> None:
    before = await _types(events)
    with pytest.raises(ApplicationError) as caught:
        await activities.build(request_input)
    assert caught.value.type == kind
    assert caught.value.non_retryable
    assert await _types(events) == before
