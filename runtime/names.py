"""The names Temporal sees, defined once: task queues and reserved workflow-id prefixes.

Workflows import this module inside the sandbox, so it depends on nothing.
"""

from __future__ import annotations

COORDINATOR_TASK_QUEUE = "coordinator"
PARTY_TASK_QUEUE_PREFIX = "party."

# Workflow ids under this prefix belong to Quorate itself (wallet locks); the client
# refuses idempotency keys that start with it, so no request can take such an id.
RESERVED_ID_PREFIX = "quorate:"


def party_task_queue(party: str) -> str:
    """Each party's worker polls its own queue; only that process holds its vault."""
    return f"{PARTY_TASK_QUEUE_PREFIX}{party}"
