"""SignWorkflow: FROST signing (RFC 9591 §5) across the signers' own workers.

Round 1 and round 2 run on each signer's queue; the coordinator aggregates, verifies
every share (naming cheaters) and records the signature. The workflow id is the
request's idempotency key, so the same request never signs twice.

The request's authorization travels to every party round unchanged: each party checks
it (runtime.authorization) and refuses (Unauthorized) what it does not cover. A ceremony
that fails once nonces may exist has them destroyed at every signer (``discard_nonces``,
or the presignature for ECDSA), and its CeremonyFailed says what was destroyed where.
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
    from workflows.common import (
        ECDSA_IDENTIFICATION_PATCH,
        NONCE_CLEANUP_PATCH,
        coordinator,
        discard_nonces,
        discard_presignature,
        fail_ceremony,
        fan_out,
    )
    from workflows.ecdsa_identification import identify_signing_failure
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
            return await self._ecdsa(request, plan, ceremony_id)
        # New executions wait for every party's round before failing, and destroy the
        # nonces the ceremony left; recorded histories replay the old way.
        cleanup = workflow.patched(NONCE_CLEANUP_PATCH)
        try:
            round1 = await fan_out(
                PartyActivities.sign_round1,
                {
                    p: SignRound1Input(
                        wallet_id=wallet.wallet_id,
                        ceremony_id=ceremony_id,
                        ciphersuite=wallet.ciphersuite,
                        message=plan.message,
                        taproot_merkle_root=plan.taproot_merkle_root,
                        authorization=request.authorization,
                        transfer=request.transfer,
                    )
                    for p in plan.signers
                },
                settle=cleanup,
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
                        authorization=request.authorization,
                        transfer=request.transfer,
                    )
                    for p in plan.signers
                },
                settle=cleanup,
            )
        except ActivityError as error:
            destroyed = None
            if cleanup:
                destroyed = await discard_nonces(wallet.wallet_id, ceremony_id, plan.signers)
            await fail_ceremony(error, ceremony_id, wallet.wallet_id, cleanup=destroyed)
        return await coordinator(
            CoordinatorActivities.aggregate,
            AggregateInput(
                plan=plan,
                ceremony_id=ceremony_id,
                commitments=commitments,
                signature_shares={p: r.signature_share for p, r in round2.items()},
            ),
        )

    async def _ecdsa(self, request: SignInput, plan: SignPlan, ceremony_id: str) -> SignResult:
        """CGGMP21: a pooled presignature if one was reserved, else presigning inline
        (Fig. 7); then the one signing round (Fig. 8) and the coordinator's combination."""
        wallet = plan.wallet
        signers = plan.signers
        cleanup = workflow.patched(NONCE_CLEANUP_PATCH)
        presign_id = plan.presignature.presign_id if plan.presignature is not None else ceremony_id
        try:
            if plan.presignature is not None:
                R, R_shares = plan.presignature.R, plan.presignature.R_shares
                transcript_digest = plan.presignature.transcript_digest
            else:
                finished = await run_presign(wallet.wallet_id, presign_id, signers, settle=cleanup)
                R, R_shares = finished.R, finished.R_shares
                transcript_digest = finished.transcript_digest
            shares = await fan_out(
                EcdsaPartyActivities.sign,
                {
                    p: EcdsaSignInput(
                        wallet_id=wallet.wallet_id,
                        presign_id=presign_id,
                        digest=plan.message,
                        ceremony_id=ceremony_id,
                        authorization=request.authorization,
                        transfer=request.transfer,
                    )
                    for p in signers
                },
                settle=cleanup,
            )
        except (ActivityError, ApplicationError) as error:
            destroyed = None
            if cleanup:
                # The presignature was reserved for this ceremony (PresignatureUsed) or made
                # for it: no other ceremony may use it, so it goes, at every signer.
                destroyed = await discard_presignature(wallet.wallet_id, presign_id, signers)
            await fail_ceremony(error, ceremony_id, wallet.wallet_id, cleanup=destroyed)
        combination = EcdsaCombineInput(
            plan=plan,
            ceremony_id=ceremony_id,
            R=R,
            R_shares=R_shares,
            shares={p: r.share for p, r in shares.items()},
        )
        if not workflow.patched(ECDSA_IDENTIFICATION_PATCH):
            return await coordinator(EcdsaCoordinatorActivities.combine, combination)
        try:
            return await coordinator(EcdsaCoordinatorActivities.combine, combination)
        except ApplicationError as error:
            if error.type != "ChiCheckFailed":
                raise
        # Every σ_i passed its own check, yet ΣS_i ≠ X: some S_i is not χ_i·R. The
        # signers prove theirs (CGGMP21's identification) and the coordinator names whoever
        # cannot; the presignature is spent either way.
        identified = await identify_signing_failure(
            plan, ceremony_id, presign_id, R, R_shares, combination.shares, transcript_digest
        )
        await fail_ceremony(identified, ceremony_id, wallet.wallet_id)
