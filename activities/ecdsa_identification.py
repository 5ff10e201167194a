"""The coordinator's side of threshold-ECDSA identification: the presigning transcript,
and who to blame when the δ check (presigning) or the ΣS_i check (signing) fails.

Every check here runs on public data (mpc.ecdsa.identify): the transcript of presigning
(round-1 ciphertexts, every round-2 ciphertext and each signer's aux parameters), the
broadcast values and what each signer sends for the identification. The identification
proofs are made to each signer's ring-Pedersen parameters, and any party can verify
any of them; the coordinator verifies all of them itself instead of trusting a party's
word, because with a dishonest majority among the signers the parties' verdicts cannot be
combined safely (a cheating pair could outvote the honest signer), while a proof that
fails to an honest verifier's parameters is proof of cheating, and an honest signer's
proofs always pass.

The transcript is built here from what the workflow relayed, and each signer checks the
parts it knows (its own messages, what it received, the aux information it verified)
before it finishes; the digest every signer reports must agree, and that digest is what
the pool records, so an identification later uses the copy the signers accepted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from temporalio import activity

from activities.errors import business_error, refuse_untyped
from activities.models import (
    IdentificationResult,
    IdentifyPresignInput,
    IdentifySigningInput,
    PresignTranscriptInput,
    PresignTranscriptResult,
)
from activities.protocol import identifier, session_id
from activities.recording import find_wallet
from mpc.ecdsa import codec, identify, presign
from mpc.ecdsa.errors import EcdsaError, InvalidParameters
from mpc.ecdsa.keys import public_shares
from mpc.ecdsa.params import PRODUCTION
from mpc.ecdsa.ring_pedersen import RingPedersenParameters
from mpc.ecdsa.sign import SignatureShare
from mpc.frost import FROST_SECP256K1, PublicKeyPackage
from mpc.frost.serialization import decode
from mpc.group import SECP256K1, Secp256k1Element
from storage.events.port import EventStore


def presign_session(wallet_id: str, presign_id: str, signers: tuple[str, ...]) -> bytes:
    """The presigning session id, as the signers derive it (activities.ecdsa_party)."""
    return session_id(wallet_id, presign_id, "cggmp21-presign", *signers)


def _wallet_key(
    package_hex: str, signers: tuple[str, ...]
) -> tuple[dict[str, Secp256k1Element], Secp256k1Element]:
    public = decode(bytes.fromhex(package_hex), PublicKeyPackage)
    key = public.verifying_key
    if not isinstance(key, Secp256k1Element):
        raise InvalidParameters("not a secp256k1 wallet")
    ids = {p: identifier(FROST_SECP256K1, p) for p in signers}
    return public_shares(public, ids), key


def _context(
    transcript: presign.PresignTranscript, wallet_id: str, presign_id: str, package_hex: str
) -> presign.PresignContext:
    W, key = _wallet_key(package_hex, transcript.signers)
    # The proofs' sizes (ℓ, ℓ', ε, repetitions) are production's in every setting; only the
    # modulus size differs in tests, and the verifiers check plaintext room per modulus.
    return transcript.context(
        presign_session(wallet_id, presign_id, transcript.signers), W, key, PRODUCTION
    )


def delta_check_holds(
    broadcasts: Mapping[str, presign.Round3Broadcast], signers: tuple[str, ...]
) -> bool:
    """δ·G = ΣΔ_j over the broadcast values: what every honest signer checked."""
    delta = sum(broadcasts[p].delta for p in signers) % SECP256K1.order
    total = SECP256K1.identity()
    for p in signers:
        total = total + broadcasts[p].Delta
    return delta != 0 and SECP256K1.base_mul(SECP256K1.scalar(delta)) == total


class EcdsaIdentificationActivities:
    """Coordinator steps of presigning's transcript and of both identifications."""

    def __init__(self, events: EventStore) -> None:
        self._events = events

    @activity.defn(name="coordinator.ecdsa_presign_transcript")
    @refuse_untyped
    async def presign_transcript(self, request: PresignTranscriptInput) -> PresignTranscriptResult:
        """The PresignTranscript of what the workflow relayed in rounds 1 and 2."""
        signers = tuple(sorted(request.signers))
        try:
            broadcasts = {
                p: codec.decode(request.broadcasts[p], presign.Round1Broadcast, sender=p)
                for p in signers
            }
            aux = {
                p: codec.decode(request.aux[p], RingPedersenParameters, sender=p) for p in signers
            }
            directs = {
                (i, j): codec.decode(request.directs[i][j], presign.Round2Direct, sender=i)
                for i in signers
                for j in signers
                if i != j
            }
            transcript = await asyncio.to_thread(
                presign.relayed_transcript, signers, aux, broadcasts, directs
            )
        except KeyError as missing:
            raise business_error(
                InvalidParameters(f"the transcript lacks a message of {missing}")
            ) from None
        except EcdsaError as error:
            raise business_error(error, culprits=error.culprits) from None
        return PresignTranscriptResult(
            transcript=codec.encode(transcript).decode(), digest=transcript.digest().hex()
        )

    @activity.defn(name="coordinator.ecdsa_identify_presign")
    @refuse_untyped
    async def identify_presign(self, request: IdentifyPresignInput) -> IdentificationResult:
        """A failed δ check: GG20's openings, recomputed on the transcript (§4.2)."""
        signers = tuple(sorted(request.signers))
        created = await find_wallet(self._events, request.wallet_id)
        if created is None:
            raise business_error(InvalidParameters(f"no wallet {request.wallet_id}"))
        try:
            transcript = codec.decode(request.transcript, presign.PresignTranscript)
            broadcasts = {
                p: codec.decode(request.broadcasts[p], presign.Round3Broadcast, sender=p)
                for p in signers
                if p in request.broadcasts
            }
            context = _context(
                transcript, request.wallet_id, request.presign_id, created.public_key_package
            )
        except EcdsaError as error:
            raise business_error(error, culprits=error.culprits) from None
        if set(broadcasts) == set(signers) and delta_check_holds(broadcasts, signers):
            # Every honest signer saw these values and found δ consistent: whoever says its
            # δ check failed is lying (and would have others open their nonces for it).
            return IdentificationResult(
                culprits=tuple(sorted(request.failed)),
                reason="reported a failed δ check that the broadcast values contradict",
            )
        openings = {}
        for party, encoded in request.openings.items():
            try:
                openings[party] = codec.decode(encoded, presign.DeltaOpening, sender=party)
            except EcdsaError:
                continue  # a malformed opening counts as none: its sender is named
        # Seconds of Paillier arithmetic at 3072 bits: off the coordinator's event loop.
        culprits = await asyncio.to_thread(
            presign.identify_delta_culprits, context, transcript, broadcasts, openings
        )
        return IdentificationResult(
            culprits=tuple(culprits),
            reason="δ_i does not follow from the signer's opened k_i, γ_i and conversions",
        )

    @activity.defn(name="coordinator.ecdsa_identify_signing")
    @refuse_untyped
    async def identify_signing(self, request: IdentifySigningInput) -> IdentificationResult:
        """A failed ΣS_i check: every signer's χ proofs, verified to every verifier."""
        plan = request.plan
        signers = tuple(sorted(request.R_shares))
        transcript = None
        # The copy the signers accepted is the one whose digest they all reported; a
        # signer that hands in another copy only loses the chance to use its own.
        for result in request.identifications.values():
            try:
                candidate = codec.decode(result.transcript, presign.PresignTranscript)
            except EcdsaError:
                continue
            if request.transcript_digest and candidate.digest().hex() == request.transcript_digest:
                transcript = candidate
                break
        if transcript is None:
            return IdentificationResult(
                culprits=(),
                reason="no signer kept the accepted presigning transcript: nobody can be named",
            )
        try:
            context = _context(
                transcript,
                plan.wallet.wallet_id,
                request.presign_id,
                plan.wallet.public_key_package,
            )
            R = SECP256K1.deserialize_element(bytes.fromhex(request.R))
            shares = {
                p: codec.decode(v, SignatureShare, sender=p) for p, v in request.shares.items()
            }
        except EcdsaError as error:
            raise business_error(error, culprits=error.culprits) from None
        if not isinstance(R, Secp256k1Element) or tuple(sorted(shares)) != signers:
            raise business_error(InvalidParameters("R and one share per signer are needed"))
        identifications = {}
        for party, result in request.identifications.items():
            try:
                identifications[party] = codec.decode(
                    result.identification, identify.ChiIdentification, sender=party
                )
            except EcdsaError:
                continue  # malformed: counted as none, which names its sender
        # Every signer's proofs to every verifier: seconds, off the coordinator's loop.
        culprits = await asyncio.to_thread(
            identify.identify_chi_culprits, context, transcript, R, shares, identifications
        )
        return IdentificationResult(
            culprits=tuple(culprits),
            reason="S_i is not χ_i·R: a χ identification proof fails",
        )
