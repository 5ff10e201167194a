"""Asking a WalletLock workflow for its lock: signal-with-start, from an activity because
a workflow cannot start another workflow that is not its child."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client

from activities.models import (
    LockInput,
    LockRequestInput,
)
from runtime.names import COORDINATOR_TASK_QUEUE


class LockActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name="chain.request_lock")
    async def request_lock(self, request: LockRequestInput) -> LockRequestInput:
        """Queues ``requester`` on the lock, starting the lock's workflow if none runs; the
        grant arrives later as a signal to the requester. Idempotent: a requester already
        queued is not queued twice."""
        await self._client.start_workflow(
            "WalletLock",
            LockInput(lock_id=request.lock_id),
            id=request.lock_id,
            task_queue=COORDINATOR_TASK_QUEUE,
            start_signal="request",
            start_signal_args=[request.requester],
        )
        return request
