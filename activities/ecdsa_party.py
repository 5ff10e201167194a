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
import os
from collections.abc import Mapping
from typing import TypeVar

from temporalio import activity

from activities.errors import CeremonyDiscarded, business_error
from activities.models import (
    AuxGenerateInput,
    AuxGenerateResult,
    AuxVerifyFacInput,
    AuxVerifyPeerInput,
    AuxVerifyPeerResult,
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
from mpc.ecdsa import codec, presign
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
from mpc.ecdsa.errors import EcdsaError
from mpc.ecdsa.keys import additive_share, public_shares
from mpc.ecdsa.paillier import PaillierSecretKey
from mpc.ecdsa.params import PRODUCTION, SecurityParameters
from mpc.ecdsa.presign import Peer, PresignContext
from mpc.ecdsa.ring_pedersen import RingPedersenParameters, RingPedersenSecret
from mpc.ecdsa.sign import sign_share
from mpc.frost import FROST_SECP256K1, KeyShare, PublicKeyPackage
from mpc.frost.serialization import decode
from mpc.group import Secp256k1Element
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
MODULUS_BITS_ENV = "QUORATE_ECDSA_MODULUS_BITS"


def ecdsa_parameters() -> SecurityParameters:
    """3072-bit Paillier moduli by default (128-bit security); 2048 is configurable."""
    bits = int(os.environ.get(MODULUS_BITS_ENV, "") or PRODUCTION.modulus_bits)
    return SecurityParameters(modulus_bits=bits)


def _peer_record(session: str, peer: str) -> str:
    return f"ecdsa/{session}/peer/{peer}"


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
    ) -> None:
        if vault.party_id != party_id:
            raise ValueError("a party's activities must use that party's own vault")
        self.party_id = party_id
        self._vault = vault
        self._primes = primes
        self._requests = requests

    # -- auxiliary information (CGGMP21 Fig. 6) --------------------------------------

    @activity.defn(name="party.ecdsa_aux_generate")
    def aux_generate(self, request: AuxGenerateInput) -> AuxGenerateResult:
        """A Paillier–Blum modulus, ring-Pedersen parameters, Π_mod and Π_prm."""
        if self._vault.has_secret(PARTY, f"{AUX_PUBLIC}/{request.session}"):
            stored = self._vault.get_secret(PARTY, f"{AUX_PUBLIC}/{request.session}").decode()
            return self._aux_result(AuxInfoPublic.from_json(stored))
        params = ecdsa_parameters()
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
        params = ecdsa_parameters()
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
        self._vault.put_secret(
            PARTY, _peer_record(request.session, request.peer), request.peer_public.encode()
        )
        return AuxVerifyPeerResult(
            party=self.party_id,
            peer=request.peer,
            fac_proof=json.dumps(fac_proof_to_dict(proof), sort_keys=True),
        )

    @activity.defn(name="party.ecdsa_aux_verify_fac")
    def aux_verify_fac(self, request: AuxVerifyFacInput) -> None:
        """Check the prover's Π_fac, made under our ring-Pedersen parameters."""
        params = ecdsa_parameters()
        try:
            prover = AuxInfoPublic.from_json(
                self._vault.get_secret(PARTY, _peer_record(request.session, request.prover)),
                sender=request.prover,
            )
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
        self._vault.put_secret(
            PARTY, f"ecdsa/{request.session}/fac-ok/{request.prover}", b"verified"
        )

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
        return self._store_round(request, 1, codec.encode(state), codec.encode(broadcast), direct)

    @activity.defn(name="party.ecdsa_presign_round2")
    def presign_round2(self, request: PresignRoundInput) -> PresignRoundResult:
        stored = self._stored_round(request, 2)
        if stored is not None:
            return stored
        self._refuse_if_discarded(request)
        context, _, _ = self._context(request)
        state = codec.decode(self._state(request, 1), presign.Round1State)
        try:
            broadcasts = _decode_each(request.broadcasts, presign.Round1Broadcast)
            direct = _decode_each(request.direct, presign.Round1Direct)
            state2, out = presign.round2(context, state, broadcasts, direct)
        except EcdsaError as error:
            raise business_error(error, culprits=error.culprits) from None
        return self._store_round(request, 2, codec.encode(state2), b"", out)

    @activity.defn(name="party.ecdsa_presign_round3")
    def presign_round3(self, request: PresignRoundInput) -> PresignRoundResult:
        stored = self._stored_round(request, 3)
        if stored is not None:
            return stored
        self._refuse_if_discarded(request)
        context, _, _ = self._context(request)
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
        try:
            broadcasts = _decode_each(request.broadcasts, presign.Round3Broadcast)
            direct = _decode_each(request.direct, presign.Round3Direct)
            presignature = presign.finish(context, state, broadcasts, direct)
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
        for round_number in (1, 2, 3):
            self._vault.delete_secret(request.wallet_id, self._state_name(request, round_number))
        return PresignFinishResult(
            party=self.party_id,
            R=presignature.R.compressed().hex(),
            R_shares={j: p.compressed().hex() for j, p in presignature.R_shares.items()},
        )

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
        return EcdsaSignResult(party=self.party_id, share=share.decode())

    @activity.defn(name="party.ecdsa_discard_presignature")
    def discard_presignature(self, request: DiscardPresignatureInput) -> DiscardNoncesResult:
        """Destroys a presignature of a failed ceremony and any presigning round state
        (k_i, γ_i and the rest): idempotent; says what it found."""
        outcome = discard_nonce_record(
            self._vault, request.wallet_id, f"presign/{request.presign_id}"
        )
        for round_number in (1, 2, 3):
            name = f"ecdsa/presign/{request.presign_id}/state{round_number}"
            if self._vault.has_secret(request.wallet_id, name):
                self._vault.delete_secret(request.wallet_id, name)
                if outcome == "none":
                    outcome = "destroyed"
        log.info(
            "party %s discarded presignature %s: %s", self.party_id, request.presign_id, outcome
        )
        return DiscardNoncesResult(party=self.party_id, outcome=outcome)

    # -- helpers -----------------------------------------------------------------------

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
                aux = AuxInfoPublic.from_json(self._vault.get_secret(PARTY, record))
            except SecretNotFound:
                raise business_error(
                    ValueError(f"no verified aux info for {party}: run the ECDSA setup")
                ) from None
            peers[party] = Peer(aux.paillier_public_key, aux.ring_pedersen, W[party])
        key = public.verifying_key
        assert isinstance(key, Secp256k1Element)  # noqa: S101 - secp256k1 ciphersuite above
        context = PresignContext(
            session_id(request.wallet_id, request.presign_id, "cggmp21-presign", *signers),
            signers,
            peers,
            key,
            ecdsa_parameters(),
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
