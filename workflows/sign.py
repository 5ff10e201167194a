"""SignWorkflow: FROST signing (RFC 9591 §5) across the signers' own workers.

Round 1 and round 2 run on each signer's queue; the coordinator aggregates, verifies
every share (naming cheaters) and records the signature. The workflow id is the
request's idempotency key, so the same request never signs twice.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.models import (
        AggregateInput,
        CeremonyFailedInput,
        PlanSignInput,
        SignInput,
        SignPlan,
        SignResult,
        SignRound1Input,
        SignRound1Result,
        SignRound2Input,
        SignRound2Result,
    )
    from workflows.common import coordinator, failure_of, fan_out


@workflow.defn(name="Sign")
class SignWorkflow:
    @workflow.run
    async def run(self, request: SignInput) -> SignResult:
        ceremony_id = workflow.info().workflow_id
        plan: SignPlan = await coordinator(
            "coordinator.plan_sign",
            PlanSignInput(request=request, ceremony_id=ceremony_id),
            SignPlan,
        )
        wallet = plan.wallet
        try:
            round1 = await fan_out(
                "party.sign_round1",
                {
                    p: SignRound1Input(
                        wallet_id=wallet.wallet_id,
                        ceremony_id=ceremony_id,
                        ciphersuite=wallet.ciphersuite,
                    )
                    for p in plan.signers
                },
                SignRound1Result,
            )
            commitments = {p: r.commitments for p, r in round1.items()}
            round2 = await fan_out(
                "party.sign_round2",
                {
                    p: SignRound2Input(
                        wallet_id=wallet.wallet_id,
                        ceremony_id=ceremony_id,
                        ciphersuite=wallet.ciphersuite,
                        message=plan.message,
                        commitments=commitments,
                        taproot_merkle_root=plan.taproot_merkle_root,
                    )
                    for p in plan.signers
                },
                SignRound2Result,
            )
        except ActivityError as error:
            kind, message, culprits = failure_of(error)
            await coordinator(
                "coordinator.record_failed",
                CeremonyFailedInput(
                    ceremony_id=ceremony_id,
                    wallet_id=wallet.wallet_id,
                    reason=f"{kind}: {message}",
                    culprits=culprits,
                ),
            )
            raise ApplicationError(message, list(culprits), type=kind, non_retryable=True) from None
        result: SignResult = await coordinator(
            "coordinator.aggregate",
            AggregateInput(
                plan=plan,
                ceremony_id=ceremony_id,
                commitments=commitments,
                signature_shares={p: r.signature_share for p, r in round2.items()},
            ),
            SignResult,
        )
        return result
