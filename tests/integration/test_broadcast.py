"""An equivocated DKG broadcast through the real dev server: refused, its sender named.

The CreateWallet workflow and every party worker are the real ones; what delivers us-1's
round-2 input plays a relay colluding with eu-2: an activity interceptor (on us-1's queue
only) replaces eu-2's round-1 package with a second one that eu-2 signed for the same
ceremony. Each party's round 2 passes (every message it got is validly signed); round 3
compares the echoes and aborts, so the ceremony fails with ``BroadcastEquivocation``
naming eu-2 (in its ``CeremonyFailed``), and no wallet is created.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio import activity, client
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.models import CreateWalletInput, DkgRound2Input
from activities.party import DKG_ROUND1, PartyActivities
from activities.protocol import ciphersuite, identifier
from mpc.broadcast import MessageSigningKeyPair, sign_broadcast
from mpc.frost import dkg
from mpc.frost.serialization import encode
from quorate.client import CeremonyFailed, create_wallet
from runtime.names import party_task_queue
from runtime.party_keys import load_message_signing_key
from runtime.settings import Settings
from tests.integration.conftest import System, start_system

SENDER = "eu-2"
VICTIM = "us-1"
THRESHOLD = 3


class EquivocatingRelay(client.Interceptor, Interceptor):
    """Hands ``VICTIM``'s DKG round 2 a second, validly signed package of ``SENDER``'s.

    A client interceptor too (one that changes nothing there), so that it can ride on the
    client every worker of the system is built from."""

    def __init__(self) -> None:
        self.sender_key: MessageSigningKeyPair | None = None
        self.delivered = 0

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self)

    def equivocate(self, request: DkgRound2Input) -> DkgRound2Input:
        if self.sender_key is None:
            raise RuntimeError("the relay has no key of the sender yet")
        cs = ciphersuite(request.ciphersuite)
        parties = [p.id for p in request.parties]
        _, second = dkg.part1(cs, identifier(cs, SENDER), len(parties), THRESHOLD)
        package = encode(second)
        signature = sign_broadcast(
            self.sender_key,
            session_id=PartyActivities._dkg_session(
                request.wallet_id, request.ceremony_id, request.ciphersuite, parties
            ),
            round_label=DKG_ROUND1,
            sender=SENDER,
            payload=package,
        )
        self.delivered += 1
        return request.model_copy(
            update={
                "round1_packages": {**request.round1_packages, SENDER: package.hex()},
                "round1_signatures": {**request.round1_signatures, SENDER: signature.hex()},
            }
        )


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, relay: EquivocatingRelay) -> None:
        super().__init__(next)
        self._relay = relay

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.activity_type == "party.dkg_round2" and info.task_queue == party_task_queue(VICTIM):
            (request,) = input.args
            input = dataclasses.replace(input, args=[self._relay.equivocate(request)])
        return await super().execute_activity(input)


@pytest.fixture
def relay() -> EquivocatingRelay:
    return EquivocatingRelay()


@pytest.fixture
async def relayed_system(
    settings: Settings, temporal: WorkflowEnvironment, relay: EquivocatingRelay
) -> AsyncIterator[System]:
    # Interceptors on the client are the workers' too; this one acts on one queue only.
    config = temporal.client.config()
    config["interceptors"] = [relay]
    relaying = Client(**config)
    async for running in start_system(settings, relaying):
        relay.sender_key = load_message_signing_key(running.vaults[SENDER])
        yield running


async def test_an_equivocated_dkg_package_fails_the_ceremony_naming_its_sender(
    relayed_system: System, relay: EquivocatingRelay
) -> None:
    system = relayed_system
    wallet_id = f"eq-{uuid.uuid4().hex[:10]}"
    with pytest.raises(CeremonyFailed) as caught:
        await create_wallet(
            system.client,
            CreateWalletInput(wallet_id=wallet_id, scheme="ed25519", threshold=THRESHOLD),
        )
    assert relay.delivered >= 1
    assert caught.value.kind == "BroadcastEquivocation"
    assert caught.value.culprits == (SENDER,)
    events = [e for e in await system.events.read_all() if e.payload.get("wallet_id") == wallet_id]
    kinds = [e.event_type for e in events]
    assert "WalletCreated" not in kinds
    # Named in the failure, as the parties that compared the echoes found; not recorded
    # as PartyMisbehaved, which only the coordinator's own verification writes.
    assert "PartyMisbehaved" not in kinds
    (failed,) = [e.payload for e in events if e.event_type == "CeremonyFailed"]
    assert failed["culprits"] == [SENDER]
    assert failed["reason"].startswith("BroadcastEquivocation")
