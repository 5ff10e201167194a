"""A workflow that does nothing: the orchestration floor the ceremony benchmark compares to."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.models import NoopInput


@workflow.defn(name="Noop")
class NoopWorkflow:
    @workflow.run
    async def run(self, request: NoopInput) -> None:
        return None
