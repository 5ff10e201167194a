"""The coordinator worker: the workflows and their (local) coordinator activities.

A workflow whose input (or an activity result) does not decode into its pydantic model
fails at once with a ``ValidationError`` failure, instead of failing its workflow task
forever: the SDK re-raises a decoding error of a configured failure type unwrapped
(``temporalio.worker._workflow_instance._convert_payloads``), and the same bytes would fail
the same way on every retry. Such input only comes from a caller that skipped the models'
own validation (the ``quorate`` command and ``quorate.client`` build the models first).
"""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError
from temporalio.client import Client
from temporalio.worker import Worker

from activities.chain import ChainActivities
from activities.coordinator import CoordinatorActivities, EcdsaCoordinatorActivities
from activities.ecdsa_identification import EcdsaIdentificationActivities
from chains.config import ChainsConfig
from chains.registry import ChainRegistry
from runtime.connection import connect
from runtime.files import restrict_umask
from runtime.names import COORDINATOR_TASK_QUEUE
from runtime.provision import load_topology
from runtime.settings import Settings
from runtime.topology import Topology
from storage.events.port import EventStore, open_event_store
from workflows.create_wallet import CreateWalletWorkflow
from workflows.ecdsa_presign import PresignWorkflow
from workflows.ecdsa_setup import SetupEcdsaWorkflow
from workflows.noop import NoopWorkflow
from workflows.sign import SignWorkflow
from workflows.sign_transaction import (
    AddressBalanceWorkflow,
    FaucetWorkflow,
    KeyAddressWorkflow,
    SignTransactionWorkflow,
    WalletAddressWorkflow,
)
from workflows.wallet_lock import LockActivities, WalletLockWorkflow

WORKFLOWS = [
    CreateWalletWorkflow,
    SignWorkflow,
    NoopWorkflow,
    SetupEcdsaWorkflow,
    PresignWorkflow,
    SignTransactionWorkflow,
    WalletAddressWorkflow,
    AddressBalanceWorkflow,
    FaucetWorkflow,
    KeyAddressWorkflow,
    WalletLockWorkflow,
]


def build_coordinator_worker(
    client: Client, topology: Topology, events: EventStore, chains: ChainRegistry | None = None
) -> Worker:
    activities = CoordinatorActivities(topology, events)
    ecdsa = EcdsaCoordinatorActivities(topology, events)
    identification = EcdsaIdentificationActivities(events)
    # The chain adapters (and the embedded engines) live in this process.
    chain = ChainActivities(chains or ChainRegistry(ChainsConfig.load()), events)
    locks = LockActivities(client)
    return Worker(
        client,
        task_queue=COORDINATOR_TASK_QUEUE,
        workflows=WORKFLOWS,
        activities=[
            activities.plan_wallet,
            activities.record_wallet,
            activities.plan_sign,
            activities.aggregate,
            activities.record_failed,
            activities.plan_presign,
            activities.record_presignature,
            identification.presign_transcript,
            identification.identify_presign,
            identification.identify_signing,
            ecdsa.list_parties,
            ecdsa.check_aux,
            ecdsa.combine,
            chain.build,
            chain.broadcast,
            chain.status,
            chain.wallet_address,
            chain.key_address,
            chain.balance,
            chain.faucet,
            locks.request_lock,
        ],
        max_concurrent_workflow_tasks=64,
        max_concurrent_local_activities=64,
        # Fail the workflow, typed, rather than its task in a loop (module docstring).
        workflow_failure_exception_types=[ValidationError],
    )


async def run_coordinator(settings: Settings) -> None:
    topology = load_topology(settings)
    events = await open_event_store(settings.events_url)
    chains = ChainRegistry(ChainsConfig.load(settings.chains))
    client = await connect(settings)
    try:
        logging.getLogger(__name__).info("coordinator polling %s", COORDINATOR_TASK_QUEUE)
        await build_coordinator_worker(client, topology, events, chains).run()
    finally:
        await chains.close()
        await events.close()


def main() -> None:
    restrict_umask()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_coordinator(Settings.from_env()))


if __name__ == "__main__":
    main()
