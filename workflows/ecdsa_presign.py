"""CGGMP21 presigning (Fig. 7) across the signers' workers, and the Presign workflow.

The three rounds and the output step run as activities on each signer's queue; the
workflow relays public broadcasts and each round's messages to their recipient (the
conversions are Paillier ciphertexts under the recipient's key). Round 1's broadcasts
``(K_i, G_i)`` are signed by their sender; round 2 answers each signer's signed echo of
them, which every other signer checks in round 3 before it uses anything
(activities.broadcast). ``PresignWorkflow``
fills a wallet's pool ahead of time, so a signing request needs only the online round.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.coordinator import CoordinatorActivities
    from activities.ecdsa_identification import EcdsaIdentificationActivities
    from activities.ecdsa_party import EcdsaPartyActivities
    from activities.models import (
        BroadcastEcho,
        PresignFinishResult,
        PresignInput,
        PresignPlanInput,
        PresignResult,
        PresignRoundInput,
        PresignTranscriptInput,
        RecordPresignatureInput,
    )
    from workflows.common import (
        ECDSA_IDENTIFICATION_PATCH,
        NONCE_CLEANUP_PATCH,
        coordinator,
        discard_presignature,
        fail_ceremony,
        failure_of,
        fan_out,
        fan_out_outcomes,
    )
    from workflows.ecdsa_identification import identify_presign_failure


async def run_presign(
    wallet_id: str, presign_id: str, signers: tuple[str, ...], *, settle: bool = False
) -> PresignFinishResult:
    """The three rounds and the output step; every signer must end with the same R.

    ``settle``: a failed round waits for every signer's activity to end (fan_out), so a
    cleanup afterwards finds no round still running."""

    def request(**fields: str | dict[str, str] | dict[str, BroadcastEcho]) -> PresignRoundInput:
        return PresignRoundInput(
            wallet_id=wallet_id, presign_id=presign_id, signers=signers, **fields
        )

    def others(party: str) -> list[str]:
        return [j for j in signers if j != party]

    r1 = await fan_out(
        EcdsaPartyActivities.presign_round1,
        {p: request() for p in signers},
        slow=True,
        settle=settle,
    )
    r2 = await fan_out(
        EcdsaPartyActivities.presign_round2,
        {
            p: request(
                broadcasts={j: r1[j].broadcast for j in others(p)},
                direct={j: r1[j].direct[p] for j in others(p)},
                signatures={j: r1[j].signature for j in others(p) if r1[j].signature},
            )
            for p in signers
        },
        slow=True,
        settle=settle,
    )
    round3 = fan_out(
        EcdsaPartyActivities.presign_round3,
        {
            p: request(
                direct={j: r2[j].direct[p] for j in others(p)},
                echoes={j: echo for j in others(p) if (echo := r2[j].echo) is not None},
            )
            for p in signers
        },
        slow=True,
        settle=settle,
    )
    # The transcript (round-1 and round-2 ciphertexts, the signers' aux parameters) that
    # each signer checks before it finishes, and that an identification works on; built
    # by the coordinator while round 3 runs.
    identifiable = workflow.patched(ECDSA_IDENTIFICATION_PATCH)
    transcript = ""
    if identifiable:
        r3, relayed = await asyncio.gather(
            round3,
            coordinator(
                EcdsaIdentificationActivities.presign_transcript,
                PresignTranscriptInput(
                    signers=signers,
                    broadcasts={p: r1[p].broadcast for p in signers},
                    aux={p: r1[p].aux for p in signers},
                    directs={i: dict(r2[i].direct) for i in signers},
                ),
            ),
        )
        transcript = relayed.transcript
    else:
        r3 = await round3
    finish_inputs = {
        p: request(
            broadcasts={j: r3[j].broadcast for j in others(p)},
            direct={j: r3[j].direct[p] for j in others(p)},
            transcript=transcript,
        )
        for p in signers
    }
    if identifiable and settle:
        outcomes = await fan_out_outcomes(
            EcdsaPartyActivities.presign_finish, finish_inputs, slow=True
        )
        failures = {p: o for p, o in outcomes.items() if isinstance(o, BaseException)}
        if failures:
            # Any signer's failed δ check starts the identification, whatever else failed
            # (a cheater must not dodge it by failing some other way).
            failed_delta = tuple(
                p
                for p, f in sorted(failures.items())
                if failure_of(f)[0] == "ConsistencyCheckFailed"
            )
            if failed_delta:
                raise await identify_presign_failure(
                    wallet_id,
                    presign_id,
                    signers,
                    transcript,
                    {p: r3[p].broadcast for p in signers},
                    failed_delta,
                )
            raise failures[min(failures)]
        finished = {p: o for p, o in outcomes.items() if isinstance(o, PresignFinishResult)}
    else:
        finished = await fan_out(
            EcdsaPartyActivities.presign_finish, finish_inputs, slow=True, settle=settle
        )
    first = finished[signers[0]]
    agreed = (first.R, first.R_shares, first.transcript_digest)
    if any((f.R, f.R_shares, f.transcript_digest) != agreed for f in finished.values()):
        raise ApplicationError(
            "signers disagree on the presignature", type="PresignatureMismatch", non_retryable=True
        )
    return first


@workflow.defn(name="Presign")
class PresignWorkflow:
    @workflow.run
    async def run(self, request: PresignInput) -> PresignResult:
        ceremony_id = workflow.info().workflow_id
        plan = await coordinator(
            CoordinatorActivities.plan_presign,
            PresignPlanInput(request=request, ceremony_id=ceremony_id),
        )
        presign_ids = []
        cleanup = workflow.patched(NONCE_CLEANUP_PATCH)
        for n in range(request.count):
            presign_id = f"{ceremony_id}/{n}"
            try:
                result = await run_presign(
                    request.wallet_id, presign_id, plan.signers, settle=cleanup
                )
            except (ActivityError, ApplicationError) as error:
                if not cleanup:
                    if isinstance(error, ApplicationError):
                        raise
                    await fail_ceremony(error, ceremony_id, request.wallet_id)
                # The failed presignature (or its round state: k_i, γ_i...) goes at every
                # signer; the ones already recorded stay in the pool.
                destroyed = await discard_presignature(request.wallet_id, presign_id, plan.signers)
                await fail_ceremony(error, ceremony_id, request.wallet_id, cleanup=destroyed)
            await coordinator(
                CoordinatorActivities.record_presignature,
                RecordPresignatureInput(
                    wallet_id=request.wallet_id,
                    presign_id=presign_id,
                    signers=plan.signers,
                    R=result.R,
                    R_shares=result.R_shares,
                    transcript_digest=result.transcript_digest,
                ),
            )
            presign_ids.append(presign_id)
        return PresignResult(
            wallet_id=request.wallet_id, presign_ids=tuple(presign_ids), signers=plan.signers
        )
