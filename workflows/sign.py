"""SignWorkflow: FROST signing (RFC 9591 §5) across the signers' own workers.

Round 1 and round 2 run on each signer's queue; the coordinator aggregates, verifies
every share (naming cheaters) and records the signature. The workflow id is the
request's idempotency key, so the same request never signs twice.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.coordinator import CoordinatorActivities, EcdsaCoordinatorActivities
    from activities.ecdsa_party import EcdsaPartyActivities
    from activities.models import (
        AggregateInput,
        EcdsaCombineInput,
        EcdsaSignInput,
        PlanSignInput,
        SignInput,
        SignPlan,
        SignResult,
        SignRound1Input,
        SignRound2Input,
    )
    from activities.party import PartyActivities
    from workflows.common import coordinator, fail_ceremony, fan_out
    from workflows.ecdsa_presign import run_presign


@workflow.defn(name="Sign")
class SignWorkflow:
    @workflow.run
    async def run(self, request: SignInput) -> SignResult:
        ceremony_id = workflow.info().workflow_id
        plan = await coordinator(
            CoordinatorActivities.plan_sign,
            PlanSignInput(request=request, ceremony_id=ceremony_id),
        )
        wallet = plan.wallet
        if wallet.scheme == "ecdsa-secp256k1":
            return await self._ecdsa(plan, ceremony_id)
        try:
            round1 = await fan_out(
                PartyActivities.sign_round1,
                {
                    p: SignRound1Input(
                        wallet_id=wallet.wallet_id,
                        ceremony_id=ceremony_id,
                        ciphersuite=wallet.ciphersuite,
                    )
                    for p in plan.signers
                },
            )
            commitments = {p: r.commitments for p, r in round1.items()}
            round2 = await fan_out(
                PartyActivities.sign_round2,
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
            )
        except ActivityError as error:
            await fail_ceremony(error, ceremony_id, wallet.wallet_id)
        return await coordinator(
            CoordinatorActivities.aggregate,
            AggregateInput(
                plan=plan,
                ceremony_id=ceremony_id,
                commitments=commitments,
                signature_shares={p: r.signature_share for p, r in round2.items()},
            ),
        )

    async def _ecdsa(self, plan: SignPlan, ceremony_id: str) -> SignResult:
        """CGGMP21: a pooled presignature if one was reserved, else presigning inline
        (Fig. 7); then the one signing round (Fig. 8) and the coordinator's combination."""
        wallet = plan.wallet
        signers = plan.signers
        try:
            if plan.presignature is not None:
                presign_id = plan.presignature.presign_id
                R, R_shares = plan.presignature.R, plan.presignature.R_shares
            else:
                presign_id = ceremony_id
                finished = await run_presign(wallet.wallet_id, presign_id, signers)
                R, R_shares = finished.R, finished.R_shares
            shares = await fan_out(
                EcdsaPartyActivities.sign,
                {
                    p: EcdsaSignInput(
                        wallet_id=wallet.wallet_id, presign_id=presign_id, digest=plan.message
                    )
                    for p in signers
                },
            )
        except (ActivityError, ApplicationError) as error:
            await fail_ceremony(error, ceremony_id, wallet.wallet_id)
        return await coordinator(
            EcdsaCoordinatorActivities.combine,
            EcdsaCombineInput(
                plan=plan,
                ceremony_id=ceremony_id,
                R=R,
                R_shares=R_shares,
                shares={p: r.share for p, r in shares.items()},
            ),
        )
