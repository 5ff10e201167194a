"""Party-side threshold-ECDSA activities: auxiliary information, presigning, signing.

Like the FROST activities, each instance serves one party with its own vault, and each
step stores what it produced before replying, so a retried activity returns the same
messages and never draws new randomness for a round it already answered. A presignature
is kept in the vault's single-use store: the share it signs is recorded there, in the
same transaction that consumes it, before it leaves the activity.

Only the online round (``ecdsa_sign``) releases anything that signs a message, so it is
the one that checks the request's authorization (runtime.authorization), before the
presignature is touched. Presigning is message-independent: a presignature alone signs
nothing, and each is consumed by at most one authorized signing, so the offline phase
(``Presign``, and the inline presigning of a Sign) and the ECDSA setup are not gated; an
unauthorized caller can at most spend the parties' time and presignatures (DoS), never
obtain a share of a signature.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from typing import TypeVar

from temporalio import activity

from activities.broadcast import BroadcastRound
from activities.errors import CeremonyDiscarded, PeerNotVerified, business_error
from activities.models import (
    AuxGenerateInput,
    AuxGenerateResult,
    AuxVerifyFacInput,
    AuxVerifyPeerInput,
    AuxVerifyPeerResult,
    ChiProofInput,
    ChiProofResult,
    DeltaOpeningResult,
    DiscardNoncesResult,
    DiscardPresignatureInput,
    EcdsaSignInput,
    EcdsaSignResult,
    PresignFinishResult,
    PresignRoundInput,
    PresignRoundResult,
)
from activities.party import DISCARDED, authorize_request, discard_nonce_record
from activities.prime_pool import SafePrimePool
from activities.protocol import KEY_SHARE, PUBLIC_KEY_PACKAGE, identifier, session_id
from mpc.ecdsa import codec, identify, presign
from mpc.ecdsa.aux_info import (
    AuxInfoPublic,
    AuxInfoSecret,
    fac_proof_from_dict,
    fac_proof_to_dict,
    generate_aux_info,
    prove_no_small_factors,
    verify_aux_info,
    verify_no_small_factors,
)
from mpc.ecdsa.errors import EcdsaError, InvalidParameters
from mpc.ecdsa.keys import additive_share, public_shares
from mpc.ecdsa.paillier import PaillierSecretKey
from mpc.ecdsa.params import PRODUCTION, SecurityParameters
from mpc.ecdsa.presign import Peer, PresignContext
from mpc.ecdsa.ring_pedersen import RingPedersenParameters, RingPedersenSecret
from mpc.ecdsa.sign import sign_share
from mpc.frost import FROST_SECP256K1, KeyShare, PublicKeyPackage
from mpc.frost.serialization import decode
from mpc.group import SECP256K1, Secp256k1Element
from runtime.authorization import RequestVerifier, Unauthorized
from storage.vault.errors import (
    NonceAlreadyConsumed,
    NoncesNotFound,
    SecretAlreadyStored,
    SecretNotFound,
)
from storage.vault.port import ShareVault

log = logging.getLogger(__name__)

PARTY = "_party"
AUX_SECRET = "ecdsa/aux-secret"  # noqa: S105 - a vault record name, not a secret
AUX_PUBLIC = "ecdsa/aux-public"
# A signed presignature's identification witness is kept for this many later signings of
# the same wallet at this party: a failed ΣS_i check is identified right after its own
# signing round, and a witness has no other use.
WITNESSES_KEPT = 32
SIGNED_PRESIGNATURES = "ecdsa/signed-presignatures"


def _peer_record(session: str, peer: str) -> str:
    """A peer's aux info once this party has checked all of it (Π_mod, Π_prm, Π_fac)."""
    return f"ecdsa/{session}/peer/{peer}"


def _fac_record(session: str, peer: str) -> str:
    """Written once this party has checked the peer's Π_fac itself (as before the pending
    record existed, so a session set up then is judged by the same record)."""
    return f"ecdsa/{session}/fac-ok/{peer}"


def _pending_peer_record(session: str, peer: str) -> str:
    """A peer's aux info after Π_mod and Π_prm, before its Π_fac: never used to presign."""
    return f"ecdsa/{session}/peer-pending/{peer}"


def _aux_session(session: str) -> bytes:
    return session_id("ecdsa-aux-info", session)


_T = TypeVar("_T")


def _decode_each(messages: Mapping[str, str], cls: type[_T]) -> dict[str, _T]:
    """Each sender's message as ``cls``; a malformed one is an error naming its sender."""
    return {j: codec.decode(m, cls, sender=j) for j, m in messages.items()}


class EcdsaPartyActivities:
    """One party's ECDSA steps, bound to its own vault."""

    def __init__(
        self,
        party_id: str,
        vault: ShareVault,
        primes: SafePrimePool | None = None,
        *,
        requests: RequestVerifier,
        params: SecurityParameters = PRODUCTION,
    ) -> None:
        """``params``: the CGGMP21 sizes; only tests pass weaker ones, which exist only
        through ``SecurityParameters.unsafe_for_tests`` (no setting or environment
        variable selects them)."""
        if vault.party_id != party_id:
            raise ValueError("a party's activities must use that party's own vault")
        self.party_id = party_id
        self._vault = vault
        self._primes = primes
        self._requests = requests
        self._params = params
        self._witness_lock = threading.Lock()

    # -- auxiliary information (CGGMP21 Fig. 6) --------------------------------------

    @activity.defn(name="party.ecdsa_aux_generate")
    def aux_generate(self, request: AuxGenerateInput) -> AuxGenerateResult:
        """A Paillier–Blum modulus, ring-Pedersen parameters, Π_mod and Π_prm."""
        if self._vault.has_secret(PARTY, f"{AUX_PUBLIC}/{request.session}"):
            stored = self._vault.get_secret(PARTY, f"{AUX_PUBLIC}/{request.session}").decode()
            return self._aux_result(AuxInfoPublic.from_json(stored))
        params = self._params
        pooled = None
        if self._primes is not None and self._primes.bits == params.prime_bits:
            pooled = self._primes.take_pair()
        try:
            secret, public = generate_aux_info(
                self.party_id, params, primes=pooled, session_id=_aux_session(request.session)
            )
        except EcdsaError:
            if pooled is None:
                raise
            # Two pooled primes whose product is a bit short: fall back to fresh ones.
            secret, public = generate_aux_info(
                self.party_id, params, session_id=_aux_session(request.session)
            )
        record = {
            "p": format(secret.paillier.p, "x"),
            "q": format(secret.paillier.q, "x"),
            "lam": format(secret.ring_pedersen.lam, "x"),
        }
        self._vault.put_secret(
            PARTY, f"{AUX_SECRET}/{request.session}", json.dumps(record).encode()
        )
        self._vault.put_secret(PARTY, f"{AUX_PUBLIC}/{request.session}", public.to_json().encode())
        return self._aux_result(public)

    def _aux_result(self, public: AuxInfoPublic) -> AuxGenerateResult:
        summary = {
            "n": format(public.n, "x"),
            "s": format(public.s, "x"),
            "t": format(public.t, "x"),
        }
        return AuxGenerateResult(
            party=self.party_id,
            public=public.to_json(),
            summary=json.dumps(summary, sort_keys=True),
        )

    @activity.defn(name="party.ecdsa_aux_verify_peer")
    def aux_verify_peer(self, request: AuxVerifyPeerInput) -> AuxVerifyPeerResult:
        """Verify a peer's aux info (Π_mod, Π_prm, sizes), keep it, prove Π_fac to it."""
        params = self._params
        session = _aux_session(request.session)
        try:
            peer = AuxInfoPublic.from_json(request.peer_public, sender=request.peer)
            verify_aux_info(peer, request.peer, params, session)
            secret = self._aux_secret(request.session)
            proof = prove_no_small_factors(
                secret, peer, session, self.party_id, request.peer, params=params
            )
        except EcdsaError as error:
            raise business_error(error, culprits=error.culprits) from None
        # Not yet usable: the peer's Π_fac (no small factors, CVE-2023-33241) addressed to
        # this party is still to come (aux_verify_fac), and only then is it kept as verified.
        self._vault.put_secret(
            PARTY,
            _pending_peer_record(request.session, request.peer),
            request.peer_public.encode(),
        )
        return AuxVerifyPeerResult(
            party=self.party_id,
            peer=request.peer,
            fac_proof=json.dumps(fac_proof_to_dict(proof), sort_keys=True),
        )

    @activity.defn(name="party.ecdsa_aux_verify_fac")
    def aux_verify_fac(self, request: AuxVerifyFacInput) -> None:
        """Check the prover's Π_fac, made under our ring-Pedersen parameters."""
        params = self._params
        try:
            pending = self._vault.get_secret(
                PARTY, _pending_peer_record(request.session, request.prover)
            )
            prover = AuxInfoPublic.from_json(pending, sender=request.prover)
            own = AuxInfoPublic.from_json(
                self._vault.get_secret(PARTY, f"{AUX_PUBLIC}/{request.session}")
            )
            proof = fac_proof_from_dict(json.loads(request.fac_proof), sender=request.prover)
            verify_no_small_factors(
                proof,
                prover,
                own,
                _aux_session(request.session),
                request.prover,
                self.party_id,
                params=params,
            )
        except SecretNotFound as error:
            raise business_error(
                error, message="the prover's aux info was never verified"
            ) from None
        except EcdsaError as error:
            raise business_error(error, culprits=error.culprits) from None
        # Π_mod, Π_prm (aux_verify_peer) and now Π_fac all hold, checked here by this
        # party: only now may presigning encrypt to the prover's modulus (see _context).
        verified = _peer_record(request.session, request.prover)
        if not self._vault.has_secret(PARTY, verified):
            self._vault.put_secret(PARTY, verified, pending)
        if not self._vault.has_secret(PARTY, _fac_record(request.session, request.prover)):
            self._vault.put_secret(PARTY, _fac_record(request.session, request.prover), b"ok")

    # -- presigning (CGGMP21 Fig. 7) ---------------------------------------------------

    @activity.defn(name="party.ecdsa_presign_round1")
    def presign_round1(self, request: PresignRoundInput) -> PresignRoundResult:
        stored = self._stored_round(request, 1)
        if stored is not None:
            return stored
        self._refuse_if_discarded(request)
        context, share, paillier = self._context(request)
        try:
            state, broadcast, direct = presign.round1(context, self.party_id, share, paillier)
        except EcdsaError as error:
            raise business_error(error, culprits=error.culprits) from None
        # (K_i, G_i) is a broadcast over one relay: signed (mpc.broadcast), and the
        # signature stored with the round's output, so a retry returns this very one.
        payload = codec.encode(broadcast)
        result = PresignRoundResult(
            party=self.party_id,
            broadcast=payload.decode(),
            direct={j: codec.encode(m).decode() for j, m in direct.items()},
            signature=self._presign_round1(context).sign(payload),
            # This signer's (N, s, t) for the relay's transcript; every signer checks the
            # transcript's copy against the aux info it verified itself (presign.finish).
            aux=codec.encode(context.peers[self.party_id].ring_pedersen).decode(),
        )
        return self._store_presign_result(request, 1, codec.encode(state), result)

    @activity.defn(name="party.ecdsa_presign_round2")
    def presign_round2(self, request: PresignRoundInput) -> PresignRoundResult:
        stored = self._stored_round(request, 2)
        if stored is not None:
            return stored
        self._refuse_if_discarded(request)
        context, _, _ = self._context(request)
        own = self._stored_round(request, 1)
        if own is None or not own.signature:
            raise business_error(
                ValueError("this signer's presigning round 1 never ran (or was not signed)")
            )
        # Every sender's signature first, under the key this party pinned for it (this
        # party's own broadcast from its own records); the echo goes out with round 2.
        echo = self._presign_round1(context).verify(
            {
                **{j: broadcast.encode() for j, broadcast in request.broadcasts.items()},
                self.party_id: own.broadcast.encode(),
            },
            {**request.signatures, self.party_id: own.signature},
            context.signers,
        )
        state = codec.decode(self._state(request, 1), presign.Round1State)
        try:
            broadcasts = _decode_each(request.broadcasts, presign.Round1Broadcast)
            direct = _decode_each(request.direct, presign.Round1Direct)
            state2, out = presign.round2(context, state, broadcasts, direct)
        except EcdsaError as error:
            raise business_error(error, culprits=error.culprits) from None
        result = PresignRoundResult(
            party=self.party_id,
            direct={j: codec.encode(m).decode() for j, m in out.items()},
            echo=echo,
        )
        return self._store_presign_result(request, 2, codec.encode(state2), result)

    @activity.defn(name="party.ecdsa_presign_round3")
    def presign_round3(self, request: PresignRoundInput) -> PresignRoundResult:
        stored = self._stored_round(request, 3)
        if stored is not None:
            return stored
        self._refuse_if_discarded(request)
        context, _, _ = self._context(request)
        # Every other signer must have received the round-1 broadcasts this one did
        # (their echoes) before δ_i and χ_i are computed from them.
        own = self._stored_round(request, 2)
        if own is None or own.echo is None:
            raise business_error(
                ValueError("this signer's presigning round 2 never ran (or made no echo)")
            )
        self._presign_round1(context).check_echoes(own.echo, request.echoes)
        state = codec.decode(self._state(request, 2), presign.Round2State)
        try:
            direct = _decode_each(request.direct, presign.Round2Direct)
            state3, broadcast, out = presign.round3(context, state, direct)
        except EcdsaError as error:
            raise business_error(error, culprits=error.culprits) from None
        return self._store_round(request, 3, codec.encode(state3), codec.encode(broadcast), out)

    @activity.defn(name="party.ecdsa_presign_finish")
    def presign_finish(self, request: PresignRoundInput) -> PresignFinishResult:
        """Verify the last proofs and the δ check; keep the presignature for one use."""
        context, _, _ = self._context(request)
        state = codec.decode(self._state(request, 3), presign.Round3State)
        if not request.transcript:
            raise business_error(
                InvalidParameters("the output step needs the presigning transcript")
            )
        try:
            broadcasts = _decode_each(request.broadcasts, presign.Round3Broadcast)
            direct = _decode_each(request.direct, presign.Round3Direct)
            transcript = codec.decode(request.transcript, presign.PresignTranscript)
            presignature = presign.finish(context, state, broadcasts, direct, transcript)
        except EcdsaError as error:
            raise business_error(error, culprits=error.culprits) from None
        stored = self._vault.store_nonces(
            request.wallet_id,
            f"presign/{request.presign_id}",
            codec.encode(presignature),
            presignature.R.compressed(),
        )
        if stored == DISCARDED:
            raise business_error(
                CeremonyDiscarded(f"presignature {request.presign_id} was discarded")
            )
        # The vault erases the presignature when it signs; a failed ΣS_i check afterwards
        # needs its witness (w_i, the k·x conversions) and the transcript, to prove that
        # this signer's S_i was right (prove_chi). Kept under the same protection as the
        # key share itself; destroyed with a discarded presignature, and once
        # WITNESSES_KEPT later signings of the wallet have happened here
        # (_forget_older_witnesses), by which time its ceremony has long ended.
        record = self._identification_name(request.presign_id)
        if not self._vault.has_secret(request.wallet_id, record):
            witness = {
                "presignature": codec.encode(presignature).decode(),
                "transcript": request.transcript,
                "aux_session": self._current_aux_session(),
            }
            self._vault.put_secret(
                request.wallet_id, record, json.dumps(witness, sort_keys=True).encode()
            )
        for round_number in (1, 2, 3):
            self._vault.delete_secret(request.wallet_id, self._state_name(request, round_number))
        return PresignFinishResult(
            party=self.party_id,
            R=presignature.R.compressed().hex(),
            R_shares={j: p.compressed().hex() for j, p in presignature.R_shares.items()},
            transcript_digest=presignature.transcript_digest,
        )

    # -- identification after an abort (mpc.ecdsa.identify) -----------------------------

    @activity.defn(name="party.ecdsa_presign_open_delta")
    def presign_open_delta(self, request: PresignRoundInput) -> DeltaOpeningResult:
        """GG20's opening after a failed δ check: k_i, γ_i and the k·γ conversions (nothing
        of the key). The presignature is destroyed here first, durably: once opened, k_i
        must never sign (with σ_i it would give χ_i, and all of them the key), so a
        presignature that already signed is never opened, and one opened can never finish
        (its record is a tombstone that presign_finish's store refuses)."""
        outcome = discard_nonce_record(
            self._vault, request.wallet_id, f"presign/{request.presign_id}"
        )
        if outcome == "used":
            raise business_error(
                InvalidParameters(
                    f"presignature {request.presign_id} has signed at {self.party_id}: "
                    "nothing is opened"
                )
            )
        context, _, _ = self._context(request)
        state = codec.decode(self._state(request, 3), presign.Round3State)
        opening = presign.open_delta(context, state)
        return DeltaOpeningResult(party=self.party_id, opening=codec.encode(opening).decode())

    @activity.defn(name="party.ecdsa_prove_chi")
    def prove_chi(self, request: ChiProofInput) -> ChiProofResult:
        """The χ identification after a failed ΣS_i check (mpc.ecdsa.identify.prove_chi):
        zero-knowledge proofs that this signer's S_i = χ_i·R is the one presigning defined.

        Only for the presignature this ceremony signed with here; the proofs reveal
        nothing of w_i, k_i or χ_i. The first answer is kept: a retry returns it."""
        answered = f"ecdsa/presign/{request.presign_id}/chi-proof/{request.ceremony_id}"
        if self._vault.has_secret(request.wallet_id, answered):
            return ChiProofResult.model_validate_json(
                self._vault.get_secret(request.wallet_id, answered)
            )
        try:
            used = self._vault.get_secret(request.wallet_id, f"ecdsa/sign/{request.ceremony_id}")
            record = json.loads(
                self._vault.get_secret(
                    request.wallet_id, self._identification_name(request.presign_id)
                )
            )
        except SecretNotFound:
            raise business_error(
                InvalidParameters(
                    f"{self.party_id} did not sign ceremony {request.ceremony_id} with "
                    f"presignature {request.presign_id}"
                )
            ) from None
        if used.decode() != request.presign_id:
            raise business_error(
                InvalidParameters(
                    f"ceremony {request.ceremony_id} signed with another presignature here"
                )
            )
        try:
            presignature = codec.decode(record["presignature"], presign.Presignature)
            transcript = codec.decode(record["transcript"], presign.PresignTranscript)
            W, key = self._wallet_public(request.wallet_id, presignature.signers)
            context = transcript.context(
                self._presign_session(request.wallet_id, request.presign_id, transcript.signers),
                W,
                key,
                self._params,
            )
            paillier = self._aux_secret(record["aux_session"]).paillier
            S_i = presignature.R * SECP256K1.scalar(presignature.chi)
            identification = identify.prove_chi(context, presignature, paillier, transcript, S_i)
        except EcdsaError as error:
            raise business_error(error) from None
        result = ChiProofResult(
            party=self.party_id,
            identification=codec.encode(identification).decode(),
            transcript=record["transcript"],
        )
        try:
            self._vault.put_secret(request.wallet_id, answered, result.model_dump_json().encode())
        except SecretAlreadyStored:  # a concurrent attempt answered first: that answer
            return ChiProofResult.model_validate_json(
                self._vault.get_secret(request.wallet_id, answered)
            )
        return result

    # -- signing (CGGMP21 Fig. 8) --------------------------------------------------------

    @activity.defn(name="party.ecdsa_sign")
    def sign(self, request: EcdsaSignInput) -> EcdsaSignResult:
        """σ_i for one digest; the presignature is consumed before the share leaves.

        Only for an authorized request: the digest, wallet and request (and, for a
        transfer, the transaction) are checked first, and one request signs with one
        presignature (a second one for the same request is refused)."""
        digest = bytes.fromhex(request.digest)
        ceremony_id = request.ceremony_id or ""
        claims = authorize_request(
            self._requests,
            self._vault,
            self.party_id,
            request.authorization,
            wallet_id=request.wallet_id,
            ceremony_id=ceremony_id,
            message=digest,
            taproot_merkle_root=None,
            transfer=request.transfer,
        )
        try:
            self._vault.put_secret(
                request.wallet_id, f"ecdsa/sign/{ceremony_id}", request.presign_id.encode()
            )
        except SecretAlreadyStored:
            raise business_error(
                Unauthorized(
                    "wrong-request", f"request {ceremony_id} already used another presignature"
                )
            ) from None

        def compute(exported: bytes) -> bytes:
            presignature = codec.decode(exported, presign.Presignature)
            # Raising here leaves the presignature unused (the vault changes nothing).
            RequestVerifier.check_signers(claims, presignature.signers)
            return codec.encode(sign_share(presignature, digest))

        try:
            share = self._vault.consume_nonces(
                request.wallet_id,
                f"presign/{request.presign_id}",
                hashlib.sha256(request.model_dump_json().encode()).digest(),
                compute,
            )
        except (NonceAlreadyConsumed, NoncesNotFound, Unauthorized) as error:
            raise business_error(error) from None
        except EcdsaError as error:
            raise business_error(error) from None
        self._forget_older_witnesses(request.wallet_id, request.presign_id)
        return EcdsaSignResult(party=self.party_id, share=share.decode())

    @activity.defn(name="party.ecdsa_discard_presignature")
    def discard_presignature(self, request: DiscardPresignatureInput) -> DiscardNoncesResult:
        """Destroys a presignature of a failed ceremony and any presigning round state
        (k_i, γ_i and the rest): idempotent; says what it found."""
        outcome = discard_nonce_record(
            self._vault, request.wallet_id, f"presign/{request.presign_id}"
        )
        names = [f"ecdsa/presign/{request.presign_id}/state{n}" for n in (1, 2, 3)]
        names.append(self._identification_name(request.presign_id))
        for name in names:
            if self._vault.has_secret(request.wallet_id, name):
                self._vault.delete_secret(request.wallet_id, name)
                if outcome == "none":
                    outcome = "destroyed"
        log.info(
            "party %s discarded presignature %s: %s", self.party_id, request.presign_id, outcome
        )
        return DiscardNoncesResult(party=self.party_id, outcome=outcome)

    # -- helpers -----------------------------------------------------------------------

    def _forget_older_witnesses(self, wallet_id: str, presign_id: str) -> None:
        """Appends ``presign_id`` to the wallet's list of signed presignatures and destroys
        the identification witness of any beyond the last WITNESSES_KEPT."""
        with self._witness_lock:
            try:
                signed = json.loads(self._vault.get_secret(wallet_id, SIGNED_PRESIGNATURES))
                self._vault.delete_secret(wallet_id, SIGNED_PRESIGNATURES)
            except SecretNotFound:
                signed = []
            if presign_id not in signed:
                signed.append(presign_id)
            for old in signed[:-WITNESSES_KEPT]:
                name = self._identification_name(old)
                if self._vault.has_secret(wallet_id, name):
                    self._vault.delete_secret(wallet_id, name)
            kept = signed[-WITNESSES_KEPT:]
            self._vault.put_secret(wallet_id, SIGNED_PRESIGNATURES, json.dumps(kept).encode())

    @staticmethod
    def _identification_name(presign_id: str) -> str:
        return f"ecdsa/presign/{presign_id}/identification"

    @staticmethod
    def _presign_session(wallet_id: str, presign_id: str, signers: tuple[str, ...]) -> bytes:
        return session_id(wallet_id, presign_id, "cggmp21-presign", *signers)

    def _wallet_public(
        self, wallet_id: str, signers: tuple[str, ...]
    ) -> tuple[dict[str, Secp256k1Element], Secp256k1Element]:
        """The signers' additive public shares W_j and the wallet's key."""
        try:
            public = decode(self._vault.get_secret(wallet_id, PUBLIC_KEY_PACKAGE), PublicKeyPackage)
        except SecretNotFound as error:
            raise business_error(error, message="this party holds no share of the wallet") from None
        key = public.verifying_key
        if not isinstance(key, Secp256k1Element):
            raise business_error(ValueError("not an ECDSA (secp256k1) wallet"))
        ids = {p: identifier(FROST_SECP256K1, p) for p in signers}
        return public_shares(public, ids), key

    def _aux_secret(self, session: str) -> AuxInfoSecret:
        data = json.loads(self._vault.get_secret(PARTY, f"{AUX_SECRET}/{session}"))
        p, q, lam = int(data["p"], 16), int(data["q"], 16), int(data["lam"], 16)
        own = AuxInfoPublic.from_json(self._vault.get_secret(PARTY, f"{AUX_PUBLIC}/{session}"))
        parameters = RingPedersenParameters(own.n, own.s, own.t)
        return AuxInfoSecret(
            party_id=self.party_id,
            paillier=PaillierSecretKey(p, q),
            ring_pedersen=RingPedersenSecret(parameters, lam, (p - 1) * (q - 1)),
        )

    def _context(self, request: PresignRoundInput) -> tuple[PresignContext, int, PaillierSecretKey]:
        """The presigning context from the wallet's key and the verified aux info."""
        try:
            key_share = decode(self._vault.get_secret(request.wallet_id, KEY_SHARE), KeyShare)
            public = decode(
                self._vault.get_secret(request.wallet_id, PUBLIC_KEY_PACKAGE), PublicKeyPackage
            )
        except SecretNotFound as error:
            raise business_error(error, message="this party holds no share of the wallet") from None
        if key_share.ciphersuite is not FROST_SECP256K1:
            raise business_error(ValueError("not an ECDSA (secp256k1) wallet"))
        session = self._current_aux_session()
        signers = tuple(sorted(request.signers))
        ids = {p: identifier(FROST_SECP256K1, p) for p in signers}
        W = public_shares(public, ids)
        peers = {}
        for party in signers:
            record = (
                f"{AUX_PUBLIC}/{session}"
                if party == self.party_id
                else _peer_record(session, party)
            )
            try:
                if party != self.party_id and not self._vault.has_secret(
                    PARTY, _fac_record(session, party)
                ):
                    raise SecretNotFound(PARTY, _fac_record(session, party))
                aux = AuxInfoPublic.from_json(self._vault.get_secret(PARTY, record))
            except SecretNotFound:
                # Either the setup never reached this peer, or it skipped a proof (Π_fac
                # above all): this party presigns only with peers it verified itself.
                raise business_error(
                    PeerNotVerified(
                        f"{self.party_id} has not verified the aux info of {party} itself "
                        "(Π_mod, Π_prm and Π_fac): run the ECDSA setup"
                    )
                ) from None
            if aux.n.bit_length() < self._params.modulus_bits:
                # Set up under weaker sizes than this party now runs with (2048-bit moduli
                # were once configurable): refused until a new setup replaces them.
                raise business_error(
                    PeerNotVerified(
                        f"the aux info of {party} has a {aux.n.bit_length()}-bit modulus; "
                        f"this party requires {self._params.modulus_bits}: run the ECDSA setup"
                    )
                )
            peers[party] = Peer(aux.paillier_public_key, aux.ring_pedersen, W[party])
        key = public.verifying_key
        assert isinstance(key, Secp256k1Element)  # noqa: S101 - secp256k1 ciphersuite above
        context = PresignContext(
            self._presign_session(request.wallet_id, request.presign_id, signers),
            signers,
            peers,
            key,
            self._params,
        )
        share = additive_share(key_share, list(ids.values()))
        return context, share, self._aux_secret(session).paillier

    def _current_aux_session(self) -> str:
        try:
            return self._vault.get_secret(PARTY, "ecdsa/current-session").decode()
        except SecretNotFound:
            raise business_error(
                ValueError("this party has no ECDSA auxiliary information: run the setup")
            ) from None

    def _refuse_if_discarded(self, request: PresignRoundInput) -> None:
        """A presignature's record exists once it is finished or discarded: no new round."""
        if self._vault.nonce_state(request.wallet_id, f"presign/{request.presign_id}"):
            raise business_error(
                CeremonyDiscarded(f"presignature {request.presign_id} is finished or discarded")
            )

    @staticmethod
    def _state_name(request: PresignRoundInput, round_number: int) -> str:
        return f"ecdsa/presign/{request.presign_id}/state{round_number}"

    def _state(self, request: PresignRoundInput, round_number: int) -> bytes:
        try:
            return self._vault.get_secret(
                request.wallet_id, self._state_name(request, round_number)
            )
        except SecretNotFound:
            raise business_error(ValueError("the previous presigning round never ran")) from None

    def _stored_round(
        self, request: PresignRoundInput, round_number: int
    ) -> PresignRoundResult | None:
        name = f"ecdsa/presign/{request.presign_id}/out{round_number}"
        if not self._vault.has_secret(request.wallet_id, name):
            return None
        return PresignRoundResult.model_validate_json(
            self._vault.get_secret(request.wallet_id, name)
        )

    def _store_round(
        self,
        request: PresignRoundInput,
        round_number: int,
        state: bytes,
        broadcast: bytes,
        direct: Mapping[str, object],
    ) -> PresignRoundResult:
        result = PresignRoundResult(
            party=self.party_id,
            broadcast=broadcast.decode(),
            direct={j: codec.encode(m).decode() for j, m in direct.items()},
        )
        self._vault.put_secret(request.wallet_id, self._state_name(request, round_number), state)
        self._vault.put_secret(
            request.wallet_id,
            f"ecdsa/presign/{request.presign_id}/out{round_number}",
            result.model_dump_json().encode(),
        )
        return result

    @activity.defn(name="party.ecdsa_aux_activate")
    def aux_activate(self, request: AuxGenerateInput) -> None:
        """Makes a completed setup session the one presigning uses."""
        self._vault.delete_secret(PARTY, "ecdsa/current-session")
        self._vault.put_secret(PARTY, "ecdsa/current-session", request.session.encode())

    # -- signed broadcasts of presigning (mpc.broadcast) ---------------------------------

    def _presign_round1(self, context: PresignContext) -> BroadcastRound:
        """Round 1's broadcast ``(K_i, G_i)``, bound to the presigning session (wallet,
        presignature and signer set), with this party's keys from its vault."""
        return BroadcastRound.open(
            self._vault,
            self.party_id,
            session_id=context.session_id,
            label="cggmp21-presign/round1",
        )

    def _store_presign_result(
        self,
        request: PresignRoundInput,
        round_number: int,
        state: bytes,
        result: PresignRoundResult,
    ) -> PresignRoundResult:
        """Like ``_store_round``, for a result that also carries a signature or an echo."""
        self._vault.put_secret(request.wallet_id, self._state_name(request, round_number), state)
        self._vault.put_secret(
            request.wallet_id,
            f"ecdsa/presign/{request.presign_id}/out{round_number}",
            result.model_dump_json().encode(),
        )
        return result
