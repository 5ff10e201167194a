"""The coordinator worker: the workflows and their (local) coordinator activities."""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import Client
from temporalio.worker import Worker

from activities.coordinator import CoordinatorActivities, EcdsaCoordinatorActivities
from activities.models import COORDINATOR_TASK_QUEUE
from quorate.client import connect
from quorate.provision import load_topology
from quorate.settings import Settings
from quorate.topology import Topology
from storage.events.port import EventStore, open_event_store
from workflows.create_wallet import CreateWalletWorkflow
from workflows.ecdsa_presign import PresignWorkflow
from workflows.ecdsa_setup import SetupEcdsaWorkflow
from workflows.noop import NoopWorkflow
from workflows.sign import SignWorkflow

WORKFLOWS = [CreateWalletWorkflow, SignWorkflow, NoopWorkflow, SetupEcdsaWorkflow, PresignWorkflow]


def build_coordinator_worker(client: Client, topology: Topology, events: EventStore) -> Worker:
    activities = CoordinatorActivities(topology, events)
    ecdsa = EcdsaCoordinatorActivities(topology, events)
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
            ecdsa.list_parties,
            ecdsa.check_aux,
            ecdsa.combine,
        ],
        max_concurrent_workflow_tasks=64,
        max_concurrent_local_activities=64,
    )


async def run_coordinator(settings: Settings) -> None:
    topology = load_topology(settings)
    events = await open_event_store(settings.events_url)
    client = await connect(settings)
    try:
        logging.getLogger(__name__).info("coordinator polling %s", COORDINATOR_TASK_QUEUE)
        await build_coordinator_worker(client, topology, events).run()
    finally:
        await events.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_coordinator(Settings.from_env()))


if __name__ == "__main__":
    main()
