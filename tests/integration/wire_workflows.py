"""A test-only workflow that waits for one signal (tests/integration/test_wire.py).

In a module of its own because the workflow sandbox re-imports the module that defines a
workflow, and the test module imports TLS and HTTP machinery the sandbox would refuse.
"""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="WireTestWaitForSignal")
class WaitForSignalWorkflow:
    def __init__(self) -> None:
        self._notes: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: bool(self._notes))
        return self._notes

    @workflow.signal
    async def deliver(self, note: str) -> None:
        self._notes.append(note)
