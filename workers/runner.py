"""The local topology: the dev server and one process per worker, for `up` and `demo`.

Every party runs as its own operating-system process (``python -m workers.party``), as it
would on its own host, plus one coordinator process; the runner waits until each task
queue has a poller and stops them all on exit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import TracebackType

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from runtime.connection import connect
from runtime.files import PRIVATE_UMASK, open_private_append, private_dir
from runtime.names import COORDINATOR_TASK_QUEUE, party_task_queue
from runtime.provision import provision_local
from runtime.settings import Settings
from runtime.temporal_server import DevServer
from runtime.topology import Topology


class TopologyError(RuntimeError):
    pass


@dataclass
class WorkerProcess:
    name: str
    command: list[str]
    task_queue: str | None
    queue_type: TaskQueueType.ValueType
    process: subprocess.Popen[bytes] | None = field(default=None)

    def start(self, settings: Settings, extra_env: dict[str, str] | None = None) -> None:
        logs = private_dir(settings.data_dir / "logs")
        env = {**os.environ, **settings.to_env(), **(extra_env or {})}
        with open_private_append(logs / f"{self.name}.log") as log:
            # The worker's own main restricts its umask too; this covers what it creates
            # before that line runs (and a worker started some other way).
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self.command, stdout=log, stderr=subprocess.STDOUT, env=env, umask=PRIVATE_UMASK
            )

    def kill(self) -> None:
        """SIGKILL, as a crash would: no cleanup runs."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


PARTY_WORKER_MODULE = "workers.party"
"""What each party process runs. Production is always ``workers.party``; the tests' and
benchmarks' own entry points (tests/support, bench/, never installed) run the same worker
with weaker Paillier sizes, a switch no setting or environment variable reaches."""


def party_process(party: str, module: str = PARTY_WORKER_MODULE) -> WorkerProcess:
    return WorkerProcess(
        f"party-{party}",
        [sys.executable, "-m", module, "--party", party],
        party_task_queue(party),
        TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    )


def projections_process() -> WorkerProcess:
    """Not a Temporal worker: it follows the event store (no task queue to wait for)."""
    return WorkerProcess(
        "projections",
        [sys.executable, "-m", "workers.projections"],
        None,
        TaskQueueType.TASK_QUEUE_TYPE_UNSPECIFIED,
    )


def checkpoints_process() -> WorkerProcess:
    """Not a Temporal worker: it signs the event store's chain head now and then
    (``workers.checkpoints``; ``quorate audit verify`` checks the signatures)."""
    return WorkerProcess(
        "checkpoints",
        [sys.executable, "-m", "workers.checkpoints"],
        None,
        TaskQueueType.TASK_QUEUE_TYPE_UNSPECIFIED,
    )


def coordinator_process() -> WorkerProcess:
    return WorkerProcess(
        "coordinator",
        [sys.executable, "-m", "workers.coordinator"],
        COORDINATOR_TASK_QUEUE,
        TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )


async def wait_for_poller(
    client: Client, worker: WorkerProcess, namespace: str, timeout: float = 60.0
) -> None:
    """Waits until the worker's queue shows a poller (the worker is connected and ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process is not None and worker.process.poll() is not None:
            raise TopologyError(f"{worker.name} exited early; see its log in the data directory")
        if worker.task_queue is None:
            return
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=namespace,
                task_queue=TaskQueue(name=worker.task_queue),
                task_queue_type=worker.queue_type,
            )
        )
        if response.pollers:
            return
        await asyncio.sleep(0.1)
    raise TopologyError(f"{worker.name} did not start polling {worker.task_queue} in time")


class LocalTopology:
    """Provisioning, the embedded dev server (unless an address is set) and all workers."""

    def __init__(self, settings: Settings, *, party_module: str | None = None) -> None:
        self.settings = settings
        self.party_module = party_module or PARTY_WORKER_MODULE
        self.topology: Topology | None = None
        self.server = DevServer(settings) if settings.embedded_temporal else None
        self.workers: dict[str, WorkerProcess] = {}
        self.client: Client | None = None

    async def __aenter__(self) -> LocalTopology:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def start(self) -> None:
        private_dir(self.settings.data_dir, tighten_existing=False)
        self.topology = provision_local(self.settings)
        if self.server is not None:
            self.server.start()
        try:
            self.client = await connect(self.settings)
            self.workers = {
                p.id: party_process(p.id, self.party_module) for p in self.topology.parties
            }
            self.workers["coordinator"] = coordinator_process()
            self.workers["projections"] = projections_process()
            # Last, so it is stopped after the coordinator and signs the final head.
            self.workers["checkpoints"] = checkpoints_process()
            for worker in self.workers.values():
                worker.start(self.settings)
            for worker in self.workers.values():
                await wait_for_poller(self.client, worker, self.settings.temporal_namespace)
        except BaseException:
            self.stop()
            raise

    async def restart_worker(self, name: str, extra_env: dict[str, str] | None = None) -> None:
        worker = self.workers[name]
        worker.stop()
        worker.start(self.settings, extra_env)
        assert self.client is not None  # noqa: S101 - start() sets it
        await wait_for_poller(self.client, worker, self.settings.temporal_namespace)

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        if self.server is not None:
            self.server.stop()
