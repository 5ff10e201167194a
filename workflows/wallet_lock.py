"""WalletLock: one transfer at a time per (chain, wallet), across every coordinator.

Two transfers built concurrently from one wallet would pick the same EVM nonce or the
same Bitcoin outputs, and the second would be refused by the chain after its signature
was made. So SignTransaction holds this lock from build to broadcast: the critical
section during which the chain's view of the wallet (nonce, unspent outputs) is read and
then consumed. This is the mutex pattern of the Temporal samples (samples-go ``mutex``):
a workflow per lock that grants it to one requester at a time by signal.

A holder releases by signal, in a ``finally``; should it vanish without releasing (a
terminated workflow), the lease ends the hold so the wallet is not stuck forever. The
lock workflow ends when nobody has asked for a while, and continues as new after many
grants so its history stays small.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.models import LockInput, LockRequestInput
    from runtime.names import COORDINATOR_TASK_QUEUE, RESERVED_ID_PREFIX

GRANTED_SIGNAL = "lock_granted"
REQUEST_SIGNAL = "request"
RELEASE_SIGNAL = "release"
# Longer than any build-sign-broadcast: a holder's ECDSA ceremony may retry for minutes.
LEASE = timedelta(minutes=30)
IDLE = timedelta(minutes=2)
GRANTS_PER_RUN = 500


def lock_id(chain: str, wallet_id: str) -> str:
    return f"{RESERVED_ID_PREFIX}lock:{chain}:{wallet_id}"


def requester_id(workflow_id: str, run_id: str) -> str:
    """One run of a requesting workflow: a reset or rerun of the same request id is a new
    requester, which the lock grants in its turn."""
    return f"{workflow_id}\n{run_id}"


def _requester_handle(requester: str) -> tuple[str, str | None]:
    workflow_id, _, run_id = requester.partition("\n")
    return workflow_id, run_id or None


@workflow.defn(name="WalletLock")
class WalletLockWorkflow:
    def __init__(self) -> None:
        self._queue: deque[str] = deque()
        self._released: set[str] = set()
        # Recent holders: a repeated request of one that already held and released the
        # lock (a retried signal-with-start) must not be granted again, which would keep
        # everyone else waiting for a release that never comes.
        self._served: deque[str] = deque(maxlen=1000)

    @workflow.signal(name=REQUEST_SIGNAL)
    def request(self, requester: str) -> None:
        if requester not in self._queue and requester not in self._served:
            self._queue.append(requester)

    @workflow.signal(name=RELEASE_SIGNAL)
    def release(self, requester: str) -> None:
        self._released.add(requester)
        # A requester that gave up before its turn leaves the queue too.
        if requester in self._queue and self._queue[0] != requester:
            self._queue.remove(requester)

    @workflow.run
    async def run(self, lock: LockInput) -> None:
        # Requesters handed over by the previous run go first, in their order.
        earlier = [r for r in lock.waiting if r not in self._queue]
        self._queue.extendleft(reversed(earlier))
        grants = 0
        while grants < GRANTS_PER_RUN:
            try:
                await workflow.wait_condition(lambda: bool(self._queue), timeout=IDLE)
            except TimeoutError:
                if not self._queue:
                    return
            holder = self._queue[0]
            if holder not in self._released and await self._grant(holder):
                try:
                    await workflow.wait_condition(self._released_by(holder), timeout=LEASE)
                except TimeoutError:
                    workflow.logger.warning("lease of %s on %s ended", holder, lock.lock_id)
            self._queue.popleft()
            self._released.discard(holder)
            self._served.append(holder)
            grants += 1
        # Hand the waiting requesters to the next run.
        workflow.continue_as_new(LockInput(lock_id=lock.lock_id, waiting=tuple(self._queue)))

    def _released_by(self, holder: str) -> Callable[[], bool]:
        return lambda: holder in self._released

    async def _grant(self, holder: str) -> bool:
        """Signals the holder; False if it no longer runs (nothing to wait for)."""
        try:
            workflow_id, run_id = _requester_handle(holder)
            handle = workflow.get_external_workflow_handle(workflow_id, run_id=run_id)
            await handle.signal(GRANTED_SIGNAL)
        except FailureError as error:
            # The server could not deliver the signal: the holder's run has ended.
            workflow.logger.warning("lock holder %s is gone: %s", holder, error)
            return False
        return True


class LockActivities:
    """Asking a WalletLock workflow for its lock: signal-with-start, from an activity
    because a workflow cannot start another workflow that is not its child. It lives
    beside the lock's workflow because it starts it."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name="chain.request_lock")
    async def request_lock(self, request: LockRequestInput) -> LockRequestInput:
        """Queues ``requester`` on the lock, starting the lock's workflow if none runs; the
        grant arrives later as a signal to the requester. Idempotent: a requester already
        queued is not queued twice."""
        await self._client.start_workflow(
            WalletLockWorkflow.run,
            LockInput(lock_id=request.lock_id),
            id=request.lock_id,
            task_queue=COORDINATOR_TASK_QUEUE,
            start_signal=REQUEST_SIGNAL,
            start_signal_args=[request.requester],
        )
        return request
