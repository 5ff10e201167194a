"""SignTransactionWorkflow on the real dev server and real party workers, with the
in-memory fake chain: the workflow's logic (build once, one ceremony per payload, attach,
broadcast, durable confirmation polling, idempotency, typed refusals), fast.

The same workflow on every real engine is in test_sign_transaction.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment

from activities.models import (
    CreateWalletInput,
    SignTransactionInput,
)
from chains.config import ChainConfig, ChainsConfig
from chains.fake import FakeChain
from chains.models import TransferIntent
from chains.registry import ChainRegistry
from quorate.client import (
    CeremonyFailed,
    address_balance,
    create_wallet,
    faucet,
    sign_transaction,
    wallet_address,
)
from runtime.authorization import transfer_ceremony_id
from runtime.names import COORDINATOR_TASK_QUEUE
from runtime.settings import Settings
from storage.events.port import verify_chain
from tests.helpers.fake_cosigner import fake_transfer_payloads
from tests.integration.conftest import System, start_system
from workflows.sign_transaction import SignTransactionWorkflow

FAKE_CHAINS = {
    "fake-taproot": {"family": "bitcoin", "network": "regtest", "output": "p2tr"},
    "fake-solana": {"family": "solana"},
}
RECIPIENT = "fake:" + "ab" * 20


@pytest.fixture
async def fake_system(settings: Settings, temporal: WorkflowEnvironment) -> AsyncIterator[System]:
    configs = [
        ChainConfig(name=name, symbol="F", decimals=0, confirmations=3, poll_interval=0.05, **extra)
        for name, extra in FAKE_CHAINS.items()
    ]
    registry = ChainRegistry(
        ChainsConfig(chains={c.name: c for c in configs}), [FakeChain(c) for c in configs]
    )
    # The parties check the fake chain's transactions with the fake's own decoding.
    decoders = {name: fake_transfer_payloads for name in FAKE_CHAINS}
    async for running in start_system(
        settings, temporal.client, chains=registry, decoders=decoders
    ):
        yield running


async def _funded_wallet(system: System, scheme: str, chain: str) -> tuple[str, str]:
    wallet = await create_wallet(
        system.client,
        CreateWalletInput(wallet_id=f"w-{uuid.uuid4().hex[:8]}", scheme=scheme),
    )
    address = (await wallet_address(system.client, wallet.wallet_id, chain)).address
    funded = await faucet(system.client, chain, address, 100_000)
    assert funded.balance == 100_000
    return wallet.wallet_id, address


@pytest.mark.parametrize(
    ("scheme", "chain"), [("bip340", "fake-taproot"), ("ed25519", "fake-solana")]
)
async def test_transfer_is_signed_broadcast_and_confirmed(
    fake_system: System, scheme: str, chain: str
) -> None:
    wallet_id, source = await _funded_wallet(fake_system, scheme, chain)
    request = SignTransactionInput(
        wallet_id=wallet_id, intent=TransferIntent(chain=chain, to=RECIPIENT, amount=5_000)
    )
    key = f"tx-{uuid.uuid4().hex[:8]}"
    result = await sign_transaction(
        fake_system.client, request, key, authorizer=fake_system.authorizer
    )
    assert result.status == "confirmed"
    assert result.confirmations >= 3
    assert result.from_address == source
    # The ceremony's id is under the reserved prefix, which no idempotency key can take.
    assert result.ceremonies == (transfer_ceremony_id(key, 0),)
    assert (await address_balance(fake_system.client, chain, RECIPIENT)).balance == 5_000
    sender = (await address_balance(fake_system.client, chain, source)).balance
    assert sender == 100_000 - 5_000 - result.fee

    # The same request again: the first outcome, nothing signed or sent twice.
    again = await sign_transaction(
        fake_system.client, request, key, authorizer=fake_system.authorizer
    )
    assert again.tx_hash == result.tx_hash
    assert (await address_balance(fake_system.client, chain, RECIPIENT)).balance == 5_000

    events = await fake_system.events.read_all()
    verify_chain(events)
    kinds = [e.event_type for e in events]
    for kind in ("TransactionBuilt", "TransactionBroadcast", "TransactionConfirmed"):
        assert kinds.count(kind) == 1, kind
    assert kinds.count("SignatureProduced") == 1
    built = next(e for e in events if e.event_type == "TransactionBuilt")
    assert built.stream_id == f"transaction-{key}"
    assert built.payload["transaction"]["signing_payloads"][0]["scheme"] == scheme

    # The same key for another transfer is refused, not signed.
    other = SignTransactionInput(
        wallet_id=wallet_id, intent=TransferIntent(chain=chain, to=RECIPIENT, amount=6_000)
    )
    with pytest.raises(CeremonyFailed) as caught:
        await sign_transaction(fake_system.client, other, key, authorizer=fake_system.authorizer)
    assert caught.value.kind == "RequestConflict"
    assert [e.event_type for e in await fake_system.events.read_all()] == kinds


async def test_bad_input_is_refused_before_any_ceremony(fake_system: System) -> None:
    wallet_id, _ = await _funded_wallet(fake_system, "bip340", "fake-taproot")
    before = await fake_system.events.read_all()
    cases = [
        (TransferIntent(chain="no-such-chain", to=RECIPIENT, amount=5_000), "UnknownChain"),
        (TransferIntent(chain="fake-taproot", to="fake:nothex", amount=5_000), "InvalidAddress"),
        (TransferIntent(chain="fake-taproot", to=RECIPIENT, amount=10**9), "InsufficientFunds"),
        (TransferIntent(chain="fake-taproot", to=RECIPIENT, amount=10), "DustOutput"),
        # An Ed25519 chain for a BIP340 wallet: the wallet's key cannot sign there.
        (TransferIntent(chain="fake-solana", to=RECIPIENT, amount=5_000), "WrongScheme"),
    ]
    for intent, kind in cases:
        with pytest.raises(CeremonyFailed) as caught:
            await sign_transaction(
                fake_system.client,
                SignTransactionInput(wallet_id=wallet_id, intent=intent),
                authorizer=fake_system.authorizer,
            )
        assert caught.value.kind == kind, (intent, caught.value)
    with pytest.raises(CeremonyFailed) as unknown:
        await sign_transaction(
            fake_system.client,
            SignTransactionInput(
                wallet_id="no-such-wallet",
                intent=TransferIntent(chain="fake-taproot", to=RECIPIENT, amount=5_000),
            ),
            authorizer=fake_system.authorizer,
        )
    assert unknown.value.kind == "UnknownWallet"
    # Nothing was recorded: no transaction built, no ceremony started.
    assert len(await fake_system.events.read_all()) == len(before)


async def test_concurrent_transfers_from_one_wallet_take_turns(fake_system: System) -> None:
    """Built at once, three transfers would share the wallet's nonce and two would be
    refused after signing; the wallet's lock makes them build one after the other."""
    wallet_id, _ = await _funded_wallet(fake_system, "ed25519", "fake-solana")
    results = await asyncio.gather(
        *(
            sign_transaction(
                fake_system.client,
                SignTransactionInput(
                    wallet_id=wallet_id,
                    intent=TransferIntent(chain="fake-solana", to=RECIPIENT, amount=1_000 + n),
                ),
                authorizer=fake_system.authorizer,
            )
            for n in range(3)
        )
    )
    assert {r.status for r in results} == {"confirmed"}
    assert len({r.tx_hash for r in results}) == 3
    balance = (await address_balance(fake_system.client, "fake-solana", RECIPIENT)).balance
    assert balance == 1_000 + 1_001 + 1_002
    built = [
        e.payload["transaction"]["details"]["nonce"]
        for e in await fake_system.events.read_all()
        if e.event_type == "TransactionBuilt"
    ]
    assert sorted(built) == [0, 1, 2]


async def test_a_key_reused_for_another_recipient_is_refused(fake_system: System) -> None:
    wallet_id, _ = await _funded_wallet(fake_system, "ed25519", "fake-solana")
    key = f"tx-{uuid.uuid4().hex[:8]}"
    first = SignTransactionInput(
        wallet_id=wallet_id, intent=TransferIntent(chain="fake-solana", to=RECIPIENT, amount=5_000)
    )
    await sign_transaction(fake_system.client, first, key, authorizer=fake_system.authorizer)
    other = "fake:" + "ef" * 20
    with pytest.raises(CeremonyFailed) as caught:
        await sign_transaction(
            fake_system.client,
            first.model_copy(update={"intent": first.intent.model_copy(update={"to": other})}),
            key,
            authorizer=fake_system.authorizer,
        )
    assert caught.value.kind == "RequestConflict"
    assert (await address_balance(fake_system.client, "fake-solana", other)).balance == 0


async def test_reserved_and_oversized_keys_are_refused(fake_system: System) -> None:
    wallet_id, _ = await _funded_wallet(fake_system, "ed25519", "fake-solana")
    request = SignTransactionInput(
        wallet_id=wallet_id, intent=TransferIntent(chain="fake-solana", to=RECIPIENT, amount=5_000)
    )
    # A lock's workflow id: a request under it would block the wallet's transfers.
    for key in (f"quorate:lock:fake-solana:{wallet_id}", "k" * 121):
        with pytest.raises(CeremonyFailed) as caught:
            await sign_transaction(
                fake_system.client, request, key, authorizer=fake_system.authorizer
            )
        assert caught.value.kind == "InvalidIdempotencyKey"
    assert (await address_balance(fake_system.client, "fake-solana", RECIPIENT)).balance == 0


async def test_a_second_run_of_a_request_gets_the_lock_and_signs_nothing(
    fake_system: System,
) -> None:
    """A rerun of the same request id (an operator's reset) is a new requester for the
    wallet's lock, is granted it, finds the broadcast recorded and signs nothing."""
    wallet_id, _ = await _funded_wallet(fake_system, "ed25519", "fake-solana")
    key = f"tx-{uuid.uuid4().hex[:8]}"
    request = SignTransactionInput(
        wallet_id=wallet_id, intent=TransferIntent(chain="fake-solana", to=RECIPIENT, amount=5_000)
    )
    first = await sign_transaction(
        fake_system.client, request, key, authorizer=fake_system.authorizer
    )
    rerun = await fake_system.client.execute_workflow(
        SignTransactionWorkflow.run,
        request,
        id=key,
        task_queue=COORDINATOR_TASK_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        execution_timeout=timedelta(seconds=60),
    )
    assert rerun.tx_hash == first.tx_hash
    assert rerun.ceremonies == ()
    kinds = [e.event_type for e in await fake_system.events.read_all()]
    assert kinds.count("SignatureProduced") == 1
    assert (await address_balance(fake_system.client, "fake-solana", RECIPIENT)).balance == 5_000
