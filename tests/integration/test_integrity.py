"""Mistakes a careless client makes through the real dev server, and their refusals
(issue 11): a wallet created twice at once, a malformed workflow input sent around the
client's checks, a faucet amount no chain field holds, a transfer to the wallet itself.
Each is refused typed and at once, and records what it should (and nothing else)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import cast

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from activities.models import CreateWalletInput, SignInput, SignTransactionInput
from chains.models import TransferIntent
from quorate.client import (
    CeremonyFailed,
    create_wallet,
    faucet,
    sign_transaction,
    wallet_address,
)
from runtime.names import COORDINATOR_TASK_QUEUE
from storage.events.models import ceremony_stream, parse_event, wallet_stream
from storage.events.port import verify_chain
from tests.integration.conftest import System
from workflows.sign import SignWorkflow

# A typed refusal takes one workflow task and one local activity; seconds even on a
# loaded machine, where the retries it replaces took minutes.
QUICKLY = 20.0


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_concurrent_creates_of_one_wallet_id_create_it_once(system: System) -> None:
    wallet_id = _id("race")
    keys = {"bip340": _id("create-tap"), "ed25519": _id("create-sol")}
    outcomes = await asyncio.gather(
        *(
            create_wallet(system.client, CreateWalletInput(wallet_id=wallet_id, scheme=s), key)
            for s, key in keys.items()
        ),
        return_exceptions=True,
    )
    created = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(created) == 1, outcomes
    assert len(refused) == 1, outcomes
    assert isinstance(refused[0], CeremonyFailed), refused[0]
    assert refused[0].kind == "WalletExists"

    # The wallet's stream holds one creation: the winner's, with the winner's scheme.
    (winner,) = created
    stream = await system.events.read_stream(wallet_stream(wallet_id))
    assert [e.event_type for e in stream] == ["WalletCreated"]
    assert stream[0].payload["scheme"] == winner.scheme
    assert stream[0].payload["ceremony_id"] == winner.ceremony_id

    # The loser's ceremony is recorded as failed, and never reached a party.
    loser_key = next(k for s, k in keys.items() if s != winner.scheme)
    loser = [parse_event(e) for e in await system.events.read_stream(ceremony_stream(loser_key))]
    assert [type(e).__name__ for e in loser] == ["CeremonyFailed"]
    assert loser[0].reason.startswith("WalletExists")  # type: ignore[union-attr]
    verify_chain(await system.events.read_all())

    # And later attempts are refused as before, whatever their scheme.
    for scheme in ("bip340", "ed25519", "ecdsa-secp256k1"):
        with pytest.raises(CeremonyFailed) as again:
            await create_wallet(
                system.client, CreateWalletInput(wallet_id=wallet_id, scheme=scheme)
            )
        assert again.value.kind == "WalletExists"
    assert len(await system.events.read_stream(wallet_stream(wallet_id))) == 1


async def test_an_odd_length_message_sent_around_the_client_fails_the_workflow_typed(
    system: System,
) -> None:
    """The raw client skips the models' validation: the payload holds an odd-length hex
    message, which the workflow's input model (HexOrEmpty) refuses to decode. The
    workflow fails at once with a typed error instead of failing its task forever."""
    raw = {"version": 1, "wallet_id": "w", "message": "abc"}
    started = time.monotonic()
    handle = await system.client.start_workflow(
        SignWorkflow.run,
        cast(SignInput, raw),  # a raw payload, as a client without the models sends it
        id=_id("raw-odd"),
        task_queue=COORDINATOR_TASK_QUEUE,
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), QUICKLY)
    assert time.monotonic() - started < QUICKLY
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "ValidationError"
    assert "message" in cause.message
    history = [e.event_type async for e in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in history
    assert history[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED


@pytest.mark.parametrize(
    ("chain", "amount"),
    [("solana", 2**64), ("ethereum", 2**256), ("ethereum", 2**200), ("bitcoin-p2tr", 2**64)],
    ids=["solana-u64", "evm-uint256", "evm-more-than-the-faucet", "bitcoin-max-money"],
)
async def test_a_faucet_amount_no_field_holds_is_refused_typed_at_once(
    system: System, chain: str, amount: int
) -> None:
    scheme = {"solana": "ed25519", "ethereum": "ecdsa-secp256k1"}.get(chain, "bip340")
    wallet = await create_wallet(
        system.client, CreateWalletInput(wallet_id=_id("faucet"), scheme=scheme)
    )
    address = (await wallet_address(system.client, wallet.wallet_id, chain)).address
    started = time.monotonic()
    with pytest.raises(CeremonyFailed) as refused:
        await faucet(system.client, chain, address, amount)
    assert time.monotonic() - started < QUICKLY
    assert refused.value.kind == "InvalidAmount", refused.value
    assert (await wallet_address(system.client, wallet.wallet_id, chain)).balance == 0


async def test_a_transfer_to_the_wallets_own_address_is_refused_before_signing(
    system: System,
) -> None:
    wallet = await create_wallet(
        system.client, CreateWalletInput(wallet_id=_id("self"), scheme="ed25519")
    )
    own = (await wallet_address(system.client, wallet.wallet_id, "solana")).address
    await faucet(system.client, "solana", own, 10**9)
    before = await system.events.read_all()
    with pytest.raises(CeremonyFailed) as refused:
        await sign_transaction(
            system.client,
            SignTransactionInput(
                wallet_id=wallet.wallet_id,
                intent=TransferIntent(chain="solana", to=own, amount=10**7),
            ),
            authorizer=system.authorizer,
        )
    assert refused.value.kind == "SelfTransfer"
    # Nothing recorded: no transaction built, no signing ceremony started.
    assert len(await system.events.read_all()) == len(before)
