"""Deliberately changed copies of SignWorkflow, registered under the same name, "Sign".

They prove that the replay tests catch a change that is not replay-safe. They live in their
own module, not in the test module, because the workflow sandbox re-imports the module
that defines a workflow, and the test module imports things the sandbox refuses
(``cryptography``, through runtime.codec).
"""

from __future__ import annotations

from typing import Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.coordinator import CoordinatorActivities
    from activities.models import (
        AggregateInput,
        CeremonyFailedInput,
        PlanSignInput,
        SignInput,
        SignResult,
        SignRound1Input,
        SignRound2Input,
    )
    from activities.party import PartyActivities
    from workflows.common import coordinator, failure_of, fan_out

ExtraStep = Literal["none", "always", "patched"]
EXTRA_STEP_PATCH = "replay-test-extra-plan-check"


async def _sign(request: SignInput, *, extra_step: ExtraStep, swap_rounds: bool) -> SignResult:
    """SignWorkflow.run, with the changes the variants below switch on."""
    ceremony_id = workflow.info().workflow_id
    plan = await coordinator(
        CoordinatorActivities.plan_sign, PlanSignInput(request=request, ceremony_id=ceremony_id)
    )
    wallet = plan.wallet
    # Change 1: an extra coordinator step (a local activity) before round 1.
    if extra_step == "always" or (extra_step == "patched" and workflow.patched(EXTRA_STEP_PATCH)):
        await coordinator(
            CoordinatorActivities.plan_sign,
            PlanSignInput(request=request, ceremony_id=ceremony_id),
        )

    def round1_inputs() -> dict[str, SignRound1Input]:
        return {
            p: SignRound1Input(
                wallet_id=wallet.wallet_id, ceremony_id=ceremony_id, ciphersuite=wallet.ciphersuite
            )
            for p in plan.signers
        }

    def round2_inputs(commitments: dict[str, str]) -> dict[str, SignRound2Input]:
        return {
            p: SignRound2Input(
                wallet_id=wallet.wallet_id,
                ceremony_id=ceremony_id,
                ciphersuite=wallet.ciphersuite,
                message=plan.message,
                commitments=commitments,
                taproot_merkle_root=plan.taproot_merkle_root,
            )
            for p in plan.signers
        }

    try:
        if swap_rounds:
            # Change 2: the rounds in the other order (round 2 is scheduled first).
            round2 = await fan_out(PartyActivities.sign_round2, round2_inputs({}))
            round1 = await fan_out(PartyActivities.sign_round1, round1_inputs())
            commitments = {p: r.commitments for p, r in round1.items()}
        else:
            round1 = await fan_out(PartyActivities.sign_round1, round1_inputs())
            commitments = {p: r.commitments for p, r in round1.items()}
            round2 = await fan_out(PartyActivities.sign_round2, round2_inputs(commitments))
    except ActivityError as error:
        kind, message, culprits = failure_of(error)
        await coordinator(
            CoordinatorActivities.record_failed,
            CeremonyFailedInput(
                ceremony_id=ceremony_id,
                wallet_id=wallet.wallet_id,
                reason=f"{kind}: {message}",
                culprits=culprits,
            ),
        )
        raise ApplicationError(message, list(culprits), type=kind, non_retryable=True) from None
    return await coordinator(
        CoordinatorActivities.aggregate,
        AggregateInput(
            plan=plan,
            ceremony_id=ceremony_id,
            commitments=commitments,
            signature_shares={p: r.signature_share for p, r in round2.items()},
        ),
    )


@workflow.defn(name="Sign")
class UnchangedSignCopy:
    """The copy with no change switched on: it must replay, or the copy itself is wrong."""

    @workflow.run
    async def run(self, request: SignInput) -> SignResult:
        return await _sign(request, extra_step="none", swap_rounds=False)


@workflow.defn(name="Sign")
class SignWithExtraLocalActivity:
    """Not replay-safe: a new local activity between planning and round 1."""

    @workflow.run
    async def run(self, request: SignInput) -> SignResult:
        return await _sign(request, extra_step="always", swap_rounds=False)


@workflow.defn(name="Sign")
class SignWithRoundsSwapped:
    """Not replay-safe: round 2's activities are scheduled before round 1's."""

    @workflow.run
    async def run(self, request: SignInput) -> SignResult:
        return await _sign(request, extra_step="none", swap_rounds=True)


@workflow.defn(name="Sign")
class SignWithPatchedExtraLocalActivity:
    """The same extra step behind ``workflow.patched``: replay-safe, as it should be."""

    @workflow.run
    async def run(self, request: SignInput) -> SignResult:
        return await _sign(request, extra_step="patched", swap_rounds=False)
