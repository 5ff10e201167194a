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
        EcdsaCombineInput,
        EcdsaSignInput,
        EcdsaSignResult,
        PlanSignInput,
        PresignFinishResult,
        PresignRoundInput,
        PresignRoundResult,
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
        if wallet.scheme == "ecdsa-secp256k1":
            return await self._ecdsa(plan, ceremony_id)
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

    async def _ecdsa(self, plan: SignPlan, ceremony_id: str) -> SignResult:
        """CGGMP21 presigning (Fig. 7, three rounds), then one signing round (Fig. 8)."""
        wallet = plan.wallet
        signers = plan.signers

        def request(party: str, **fields: dict[str, str]) -> PresignRoundInput:
            return PresignRoundInput(
                wallet_id=wallet.wallet_id, presign_id=ceremony_id, signers=signers, **fields
            )

        def others(party: str) -> list[str]:
            return [j for j in signers if j != party]

        try:
            r1 = await fan_out(
                "party.ecdsa_presign_round1",
                {p: request(p) for p in signers},
                PresignRoundResult,
                slow=True,
            )
            r2 = await fan_out(
                "party.ecdsa_presign_round2",
                {
                    p: request(
                        p,
                        broadcasts={j: r1[j].broadcast for j in others(p)},
                        direct={j: r1[j].direct[p] for j in others(p)},
                    )
                    for p in signers
                },
                PresignRoundResult,
                slow=True,
            )
            r3 = await fan_out(
                "party.ecdsa_presign_round3",
                {p: request(p, direct={j: r2[j].direct[p] for j in others(p)}) for p in signers},
                PresignRoundResult,
                slow=True,
            )
            finished = await fan_out(
                "party.ecdsa_presign_finish",
                {
                    p: request(
                        p,
                        broadcasts={j: r3[j].broadcast for j in others(p)},
                        direct={j: r3[j].direct[p] for j in others(p)},
                    )
                    for p in signers
                },
                PresignFinishResult,
                slow=True,
            )
            shares = await fan_out(
                "party.ecdsa_sign",
                {
                    p: EcdsaSignInput(
                        wallet_id=wallet.wallet_id, presign_id=ceremony_id, digest=plan.message
                    )
                    for p in signers
                },
                EcdsaSignResult,
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
        first = finished[signers[0]]
        if any((f.R, f.R_shares) != (first.R, first.R_shares) for f in finished.values()):
            await coordinator(
                "coordinator.record_failed",
                CeremonyFailedInput(
                    ceremony_id=ceremony_id,
                    wallet_id=wallet.wallet_id,
                    reason="signers finished presigning with different nonce points",
                ),
            )
            raise ApplicationError(
                "signers disagree on the presignature",
                type="PresignatureMismatch",
                non_retryable=True,
            )
        result: SignResult = await coordinator(
            "coordinator.ecdsa_combine",
            EcdsaCombineInput(
                plan=plan,
                ceremony_id=ceremony_id,
                R=first.R,
                R_shares=first.R_shares,
                shares={p: r.share for p, r in shares.items()},
            ),
            SignResult,
        )
        return result
