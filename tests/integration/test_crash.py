"""A party worker killed with SIGKILL in the middle of a signing ceremony.

The worker runs as its own process (as in production). It is made to stall right after
its nonce's consumption became durable and before its share is returned, killed there,
and restarted: the ceremony completes, the retried round 2 returns the stored share
(the nonce is not used twice), and there is exactly one SignatureProduced event.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from nacl.signing import VerifyKey
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.models import (
    CreateWalletInput,
    SignInput,
)
from activities.party import FAULT_STALL_AFTER_CONSUME
from quorate.client import create_wallet
from runtime.connection import connect
from runtime.names import COORDINATOR_TASK_QUEUE
from runtime.provision import load_request_authorizer, open_party_vault
from runtime.settings import Settings
from storage.events.port import open_event_store
from workers.runner import LocalTopology
from workflows.sign import SignWorkflow

VICTIM = "eu-1"


async def _wait_consumed(settings: Settings, wallet_id: str, ceremony_id: str) -> None:
    vault = open_party_vault(settings, VICTIM)
    try:
        deadline = time.monotonic() + 60
        while vault.nonce_state(wallet_id, ceremony_id) != "consumed":
            if time.monotonic() > deadline:
                raise AssertionError("the victim never consumed its nonce")
            await asyncio.sleep(0.05)
    finally:
        vault.close()


async def _round2_attempts(client: Client, ceremony_id: str) -> list[int]:
    """Attempt numbers of the victim's sign_round2 activity, from the history."""
    history = await client.get_workflow_handle(ceremony_id).fetch_history()
    scheduled = {
        event.event_id: event.activity_task_scheduled_event_attributes
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    attempts = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attributes = event.activity_task_started_event_attributes
            origin = scheduled[attributes.scheduled_event_id]
            if (
                origin.activity_type.name == "party.sign_round2"
                and origin.task_queue.name == f"party.{VICTIM}"
            ):
                attempts.append(attributes.attempt)
    return attempts


async def test_sigkill_during_round2_then_restart(settings: Settings) -> None:
    topology = LocalTopology(settings)
    await topology.start()
    try:
        client = await connect(settings)
        wallet = await create_wallet(
            client, CreateWalletInput(wallet_id=f"crash-{uuid.uuid4().hex[:8]}", scheme="ed25519")
        )
        await topology.restart_worker(VICTIM, {FAULT_STALL_AFTER_CONSUME: "30"})
        ceremony_id = f"crash-sign-{uuid.uuid4().hex[:8]}"
        message = b"sign through a crash"
        signers = ("us-1", VICTIM, "apac-1")
        authorization = load_request_authorizer(settings).authorize_sign(
            ceremony_id, wallet.wallet_id, message, signers=signers
        )
        handle = await client.start_workflow(
            SignWorkflow.run,
            SignInput(
                wallet_id=wallet.wallet_id,
                message=message.hex(),
                signers=signers,
                authorization=authorization,
            ),
            id=ceremony_id,
            task_queue=COORDINATOR_TASK_QUEUE,
        )
        await _wait_consumed(settings, wallet.wallet_id, ceremony_id)
        topology.workers[VICTIM].kill()
        await topology.restart_worker(VICTIM)
        result = await asyncio.wait_for(handle.result(), timeout=90)

        VerifyKey(bytes.fromhex(result.public_key)).verify(message, bytes.fromhex(result.signature))
        # The victim's round 2 ran again after the crash, and that retry got the stored share.
        attempts = await _round2_attempts(client, ceremony_id)
        assert max(attempts) >= 2
        events = await open_event_store(settings.events_url)
        try:
            produced = [
                e
                for e in await events.read_all()
                if e.event_type == "SignatureProduced" and e.payload["ceremony_id"] == ceremony_id
            ]
        finally:
            await events.close()
        assert len(produced) == 1
        assert produced[0].payload["signature"] == result.signature
    finally:
        topology.stop()
