"""Identifiable aborts of threshold ECDSA: who to blame when presigning's δ check or
signing's ΣS_i check fails (CGGMP21's identification phase; activities.ecdsa_identification).

Both steps ask every signer for what the identification needs (the δ openings, or the χ
proofs), tolerate any signer that refuses or fails (a signer that gives nothing is named by
the check itself), and have the coordinator verify everything on public data. They return
the typed failure for the caller to record (PartyMisbehaved per culprit, CeremonyFailed)
after its own cleanup.
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.ecdsa_identification import EcdsaIdentificationActivities
    from activities.ecdsa_party import EcdsaPartyActivities
    from activities.models import (
        ChiProofInput,
        ChiProofResult,
        DeltaOpeningResult,
        IdentifyPresignInput,
        IdentifySigningInput,
        PresignRoundInput,
        SignPlan,
    )
    from workflows.common import (
        IDENTIFICATION_TIMEOUT,
        coordinator,
        fan_out_outcomes,
        verified_failure,
    )


async def identify_presign_failure(
    wallet_id: str,
    presign_id: str,
    signers: tuple[str, ...],
    transcript: str,
    round3_broadcasts: Mapping[str, str],
    failed: tuple[str, ...],
) -> ApplicationError:
    """After a failed δ check at ``failed``: the signers' openings (GG20 §4.2), checked by
    the coordinator against the transcript; the failure naming whoever lied."""
    opened = await fan_out_outcomes(
        EcdsaPartyActivities.presign_open_delta,
        {
            p: PresignRoundInput(wallet_id=wallet_id, presign_id=presign_id, signers=signers)
            for p in signers
        },
        slow=True,
    )
    openings = {p: o.opening for p, o in opened.items() if isinstance(o, DeltaOpeningResult)}
    result = await coordinator(
        EcdsaIdentificationActivities.identify_presign,
        IdentifyPresignInput(
            wallet_id=wallet_id,
            presign_id=presign_id,
            signers=signers,
            transcript=transcript,
            broadcasts=dict(round3_broadcasts),
            failed=failed,
            openings=openings,
        ),
        timeout=IDENTIFICATION_TIMEOUT,
    )
    return verified_failure(
        "ConsistencyCheckFailed", f"the δ check failed ({result.reason})", result.culprits
    )


async def identify_signing_failure(
    plan: SignPlan,
    ceremony_id: str,
    presign_id: str,
    R: str,
    R_shares: Mapping[str, str],
    shares: Mapping[str, str],
    transcript_digest: str,
) -> ApplicationError:
    """After a failed ΣS_i check: every signer's χ proofs, verified by the coordinator to
    every verifier's parameters; the failure naming each signer whose proofs fail."""
    proven = await fan_out_outcomes(
        EcdsaPartyActivities.prove_chi,
        {
            p: ChiProofInput(
                wallet_id=plan.wallet.wallet_id, presign_id=presign_id, ceremony_id=ceremony_id
            )
            for p in R_shares
        },
        slow=True,
    )
    result = await coordinator(
        EcdsaIdentificationActivities.identify_signing,
        IdentifySigningInput(
            plan=plan,
            ceremony_id=ceremony_id,
            presign_id=presign_id,
            R=R,
            R_shares=dict(R_shares),
            shares=dict(shares),
            transcript_digest=transcript_digest,
            identifications={p: r for p, r in proven.items() if isinstance(r, ChiProofResult)},
        ),
        timeout=IDENTIFICATION_TIMEOUT,
    )
    return verified_failure(
        "ChiCheckFailed", f"ΣS_i differs from the public key ({result.reason})", result.culprits
    )
