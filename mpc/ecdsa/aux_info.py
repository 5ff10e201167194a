"""Auxiliary information per party (CGGMP21, ePrint 2021/060, Fig. 6 "aux-info", without
the key-refresh part).

Each party generates, once and for every wallet it joins, a Paillier–Blum modulus
N = p·q from two safe primes and ring-Pedersen parameters (s, t) over the same N (Fig. 6,
step 1), and publishes them with Π_mod (Fig. 16: N is Paillier–Blum) and Π_prm
(Fig. 17: s ∈ ⟨t⟩). Every other party checks them with :func:`verify_aux_info`, and all
of them together with :func:`check_distinct`. Π_fac (Fig. 28: N has no small factor) is
pairwise, because it is made under the VERIFIER's ring-Pedersen parameters:
:func:`prove_no_small_factors` for each other party, :func:`verify_no_small_factors` for
each proof received.

Every failure raises an :class:`mpc.ecdsa.errors.EcdsaError` naming the culprit parties.
Every proof is bound to a transcript over the session id, the step, the party ids and the
statement, so it does not verify for another session, party or modulus.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import gmpy2

from mpc.ecdsa.errors import (
    EcdsaError,
    InvalidModulus,
    InvalidParameters,
    InvalidRingPedersen,
)
from mpc.ecdsa.paillier import PaillierPublicKey, PaillierSecretKey
from mpc.ecdsa.params import SecurityParameters
from mpc.ecdsa.primes import generate_safe_prime, is_safe_prime
from mpc.ecdsa.ring_pedersen import (
    RingPedersenParameters,
    RingPedersenSecret,
    generate_ring_pedersen,
)
from mpc.ecdsa.transcript import Transcript
from mpc.ecdsa.zk import fac, mod, prm
from mpc.ecdsa.zk.fac import FacProof
from mpc.ecdsa.zk.mod import ModProof, ModResponse
from mpc.ecdsa.zk.prm import PrmProof
from mpc.group import Rng

AUX_INFO_VERSION: Final = 1
"""The only serialization version this module writes or accepts."""

SCHEME: Final = "ecdsa-secp256k1"
AUX_INFO_TYPE: Final = "ecdsa-aux-info"
FAC_PROOF_TYPE: Final = "ecdsa-aux-info-fac-proof"

AUX_INFO_DOMAIN: Final = b"quorate/ecdsa/aux-info/v1"
FAC_DOMAIN: Final = b"quorate/ecdsa/aux-info/pi-fac/v1"

MAX_MODULUS_FACTOR: Final = 2
"""A peer's modulus may exceed the configured size, up to this factor: larger moduli are
not less secure, but they cost every verifier time, so an unbounded one is a denial of
service."""


# ---------------------------------------------------------------------------------------
# Types


@dataclass(frozen=True, slots=True, repr=False)
class AuxInfoSecret:
    """The party's factorization of N and the ring-Pedersen trapdoor λ. Secret."""

    party_id: str
    paillier: PaillierSecretKey
    ring_pedersen: RingPedersenSecret

    def __repr__(self) -> str:
        return f"AuxInfoSecret(party_id={self.party_id!r}, <redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class AuxInfoPublic:
    """What a party broadcasts: N, (s, t) over the same N, and Π_mod and Π_prm for them.

    Unverified until :func:`verify_aux_info` has accepted it for the sender's party id.
    """

    party_id: str
    n: int
    s: int
    t: int
    mod_proof: ModProof
    prm_proof: PrmProof
    version: int = AUX_INFO_VERSION

    def __repr__(self) -> str:
        return f"AuxInfoPublic(party_id={self.party_id!r}, n_bits={self.n.bit_length()})"

    @property
    def paillier_public_key(self) -> PaillierPublicKey:
        return PaillierPublicKey(self.n)

    @property
    def ring_pedersen(self) -> RingPedersenParameters:
        return RingPedersenParameters(self.n, self.s, self.t)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (integers as lowercase hex strings), versioned."""
        return {
            "version": self.version,
            "type": AUX_INFO_TYPE,
            "scheme": SCHEME,
            "party_id": self.party_id,
            "N": _to_hex(self.n),
            "s": _to_hex(self.s),
            "t": _to_hex(self.t),
            "mod_proof": {
                "w": _to_hex(self.mod_proof.w),
                "responses": [
                    {"x": _to_hex(r.x), "a": r.a, "b": r.b, "z": _to_hex(r.z)}
                    for r in self.mod_proof.responses
                ],
            },
            "prm_proof": {
                "A": [_to_hex(v) for v in self.prm_proof.A],
                "z": [_to_hex(v) for v in self.prm_proof.z],
            },
        }

    @classmethod
    def from_dict(cls, data: Any, *, sender: str | None = None) -> AuxInfoPublic:
        """Parse :meth:`to_dict`'s output; malformed input raises InvalidParameters
        naming ``sender`` (the party the message came from), if given."""
        culprits = [sender] if sender is not None else []
        try:
            _expect_keys(
                data,
                {"version", "type", "scheme", "party_id", "N", "s", "t", "mod_proof", "prm_proof"},
                "aux info",
            )
            _expect_header(data, AUX_INFO_TYPE)
            party_id = data["party_id"]
            if not isinstance(party_id, str) or not party_id:
                raise ValueError("party_id must be a non-empty string")
            mod_data, prm_data = data["mod_proof"], data["prm_proof"]
            _expect_keys(mod_data, {"w", "responses"}, "mod_proof")
            _expect_keys(prm_data, {"A", "z"}, "prm_proof")
            responses = []
            for item in _expect_list(mod_data["responses"], "mod_proof.responses"):
                _expect_keys(item, {"x", "a", "b", "z"}, "mod_proof response")
                if type(item["a"]) is not bool or type(item["b"]) is not bool:
                    raise ValueError("mod_proof a and b must be booleans")
                responses.append(
                    ModResponse(
                        x=_from_hex(item["x"]), a=item["a"], b=item["b"], z=_from_hex(item["z"])
                    )
                )
            return cls(
                party_id=party_id,
                n=_from_hex(data["N"]),
                s=_from_hex(data["s"]),
                t=_from_hex(data["t"]),
                mod_proof=ModProof(w=_from_hex(mod_data["w"]), responses=tuple(responses)),
                prm_proof=PrmProof(
                    A=tuple(_from_hex(v) for v in _expect_list(prm_data["A"], "A")),
                    z=tuple(_from_hex(v) for v in _expect_list(prm_data["z"], "z")),
                ),
                version=data["version"],
            )
        except (ValueError, TypeError, KeyError) as error:
            raise InvalidParameters(f"malformed aux info: {error}", culprits) from error

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes, *, sender: str | None = None) -> AuxInfoPublic:
        try:
            data = json.loads(text)
        except ValueError as error:
            culprits = [sender] if sender is not None else []
            raise InvalidParameters("aux info is not JSON", culprits) from error
        return cls.from_dict(data, sender=sender)


_FAC_FIELDS: Final = ("P", "Q", "A", "B", "T", "sigma", "z1", "z2", "w1", "w2", "v")


def fac_proof_to_dict(proof: FacProof) -> dict[str, Any]:
    """A JSON-ready, versioned dict for a Π_fac proof (signed integers as hex, "-" first)."""
    return {
        "version": AUX_INFO_VERSION,
        "type": FAC_PROOF_TYPE,
        "scheme": SCHEME,
        **{name: _to_hex(getattr(proof, name)) for name in _FAC_FIELDS},
    }


def fac_proof_from_dict(data: Any, *, sender: str | None = None) -> FacProof:
    culprits = [sender] if sender is not None else []
    try:
        _expect_keys(data, {"version", "type", "scheme", *_FAC_FIELDS}, "Π_fac proof")
        _expect_header(data, FAC_PROOF_TYPE)
        values = {name: _from_hex(data[name], signed=True) for name in _FAC_FIELDS}
        return FacProof(**values)
    except (ValueError, TypeError, KeyError) as error:
        raise InvalidParameters(f"malformed Π_fac proof: {error}", culprits) from error


# ---------------------------------------------------------------------------------------
# Generation and verification (Fig. 6)


def generate_aux_info(
    party_id: str,
    params: SecurityParameters,
    rng: Rng = os.urandom,
    primes: tuple[int, int] | None = None,
    *,
    session_id: bytes,
) -> tuple[AuxInfoSecret, AuxInfoPublic]:
    """Fig. 6, steps 1–2: a Paillier–Blum N, (s, t) over N, and Π_mod and Π_prm for them.

    ``primes`` are two safe primes of ``params.prime_bits`` bits each (from a pre-filled
    pool, or test data); without them two fresh ones are generated, which takes seconds.
    ``session_id`` names the aux-info run (e.g. the refresh epoch); verifiers pass the
    same one.
    """
    _check_party_id(party_id)
    if primes is None:
        p, q = _fresh_primes(params)
    else:
        p, q = primes
        # Checking the caller's primes costs a few Miller–Rabin rounds; a non-safe prime
        # would give ring-Pedersen parameters of unknown order and a proof that fails.
        if p == q or not is_safe_prime(p) or not is_safe_prime(q):
            raise InvalidParameters("aux info needs two distinct safe primes")
    n = p * q
    if n.bit_length() != params.modulus_bits:
        raise InvalidParameters(
            f"the primes give a {n.bit_length()}-bit modulus, not {params.modulus_bits}"
        )

    paillier = PaillierSecretKey(p, q)
    # Fig. 6, step 1: t = τ², s = t^λ over the same N (CGGMP21 uses one modulus for both).
    parameters, ring_secret = generate_ring_pedersen(p, q, rng)
    s, t = parameters.s, parameters.t
    mod_proof = mod.prove(
        (p, q), _aux_transcript(session_id, party_id, n, s, t, b"pi-mod"), rng, params=params
    )
    prm_proof = prm.prove(
        ring_secret,
        _aux_transcript(session_id, party_id, n, s, t, b"pi-prm"),
        rng,
        params=params,
        factors=(p, q),
    )
    secret = AuxInfoSecret(party_id=party_id, paillier=paillier, ring_pedersen=ring_secret)
    public = AuxInfoPublic(
        party_id=party_id, n=n, s=s, t=t, mod_proof=mod_proof, prm_proof=prm_proof
    )
    return secret, public


def verify_aux_info(
    public: AuxInfoPublic, party_id: str, params: SecurityParameters, session_id: bytes
) -> None:
    """Fig. 6, step 3 (for one sender): everything a party checks before trusting another's
    N and (s, t). Raises an EcdsaError naming ``party_id``; never returns a bool.

    Π_fac is not included: it is pairwise (see :func:`verify_no_small_factors`).
    """
    culprits = [party_id]
    if type(public.version) is not int or public.version != AUX_INFO_VERSION:
        raise InvalidParameters(f"unsupported aux info version {public.version!r}", culprits)
    if public.party_id != party_id:
        raise InvalidParameters(
            f"aux info claims party {public.party_id!r}, received from {party_id!r}", culprits
        )
    n = public.n
    # Cheap structural checks first, so a bad modulus costs no exponentiation.
    if type(n) is not int or n < 3 or n % 2 == 0:
        raise InvalidModulus("the Paillier modulus must be odd", culprits)
    if n.bit_length() < params.modulus_bits:
        raise InvalidModulus(
            f"a {n.bit_length()}-bit modulus is below the configured {params.modulus_bits} bits",
            culprits,
        )
    if n.bit_length() > MAX_MODULUS_FACTOR * params.modulus_bits:
        raise InvalidModulus(f"a {n.bit_length()}-bit modulus is implausibly large", culprits)
    if gmpy2.is_prime(n, 50):
        raise InvalidModulus("the Paillier modulus is prime", culprits)
    _blame(party_id, public.ring_pedersen.validate)
    _blame(
        party_id,
        lambda: mod.verify(
            n,
            public.mod_proof,
            _aux_transcript(session_id, party_id, n, public.s, public.t, b"pi-mod"),
            params=params,
        ),
    )
    _blame(
        party_id,
        lambda: prm.verify(
            public.ring_pedersen,
            public.prm_proof,
            _aux_transcript(session_id, party_id, n, public.s, public.t, b"pi-prm"),
            params=params,
        ),
    )


def check_distinct(publics: Sequence[AuxInfoPublic]) -> None:
    """No two parties share a party id, a modulus, or a ring-Pedersen s or t.

    A copied modulus would let its owner decrypt what others send to the copier (and make
    Π_fac and Π_mod replayable); a reused s or t makes the range proofs of two parties
    depend on one trapdoor. We cannot tell the original from the copy, so every party
    holding the value is named.
    """
    ids = [public.party_id for public in publics]
    duplicate_ids = sorted({i for i in ids if ids.count(i) > 1})
    if duplicate_ids:
        raise InvalidParameters("party ids are not distinct", duplicate_ids)

    holders: dict[int, set[str]] = {}
    for public in publics:
        holders.setdefault(public.n, set()).add(public.party_id)
    culprits = sorted({i for owners in holders.values() if len(owners) > 1 for i in owners})
    if culprits:
        raise InvalidModulus("Paillier moduli are reused across parties", culprits)

    holders = {}
    for public in publics:
        for value in {public.s, public.t}:
            holders.setdefault(value, set()).add(public.party_id)
    culprits = sorted({i for owners in holders.values() if len(owners) > 1 for i in owners})
    if culprits:
        raise InvalidRingPedersen("ring-Pedersen s or t reused across parties", culprits)


# ---------------------------------------------------------------------------------------
# Π_fac, pairwise (Fig. 28)


def prove_no_small_factors(
    secret: AuxInfoSecret,
    verifier_public: AuxInfoPublic,
    session_id: bytes,
    prover_id: str,
    verifier_id: str,
    *,
    params: SecurityParameters,
    rng: Rng = os.urandom,
) -> FacProof:
    """Π_fac for our N, under ``verifier_public``'s ring-Pedersen parameters.

    Call it only after :func:`verify_aux_info` has accepted ``verifier_public``: the proof
    hides p and q only if those parameters are sound (Π_prm).
    """
    _check_pair(prover_id, verifier_id)
    if secret.party_id != prover_id or verifier_public.party_id != verifier_id:
        raise InvalidParameters("Π_fac: party ids do not match the aux info given")
    verifier_public.ring_pedersen.validate()
    return fac.prove(
        secret.paillier,
        verifier_public.ring_pedersen,
        _fac_transcript(session_id, prover_id, verifier_id),
        rng,
        params=params,
    )


def verify_no_small_factors(
    proof: FacProof,
    prover_public: AuxInfoPublic,
    verifier_public: AuxInfoPublic,
    session_id: bytes,
    prover_id: str,
    verifier_id: str,
    *,
    params: SecurityParameters,
) -> None:
    """Check the prover's N has no small factor; raises InvalidProof naming the prover.

    ``verifier_public`` must be OUR OWN aux info (we know its trapdoor, the prover does
    not); a proof made under anyone else's parameters proves nothing to us.
    """
    _check_pair(prover_id, verifier_id)
    if prover_public.party_id != prover_id:
        raise InvalidParameters("Π_fac: the prover's aux info is another party's", [prover_id])
    if verifier_public.party_id != verifier_id:
        raise InvalidParameters("Π_fac: the verifier's aux info is another party's")
    _blame(
        prover_id,
        lambda: fac.verify(
            prover_public.n,
            verifier_public.ring_pedersen,
            proof,
            _fac_transcript(session_id, prover_id, verifier_id),
            params=params,
        ),
    )


# ---------------------------------------------------------------------------------------
# Helpers


def _fresh_primes(params: SecurityParameters) -> tuple[int, int]:
    """Two distinct safe primes whose product has exactly ``params.modulus_bits`` bits.

    OpenSSL sets only the top bit of a safe prime, so about 39% of pairs give a product one
    bit short. Rather than accept a short N we draw another prime and try it with every
    prime drawn so far, since each takes seconds to generate.
    """
    drawn: list[int] = []
    while True:
        q = generate_safe_prime(params.prime_bits)
        for p in drawn:
            if q != p and (p * q).bit_length() == params.modulus_bits:
                return p, q
        drawn.append(q)


def _aux_transcript(
    session_id: bytes, party_id: str, n: int, s: int, t: int, step: bytes
) -> Transcript:
    """Fig. 6's transcript: the session, the proof's step, the prover and its statement."""
    transcript = Transcript(AUX_INFO_DOMAIN, session_id)
    transcript.append_bytes(b"step", step)
    transcript.append_bytes(b"party", party_id.encode())
    transcript.append_int(b"N", n)
    transcript.append_int(b"s", s)
    transcript.append_int(b"t", t)
    return transcript


def _fac_transcript(session_id: bytes, prover_id: str, verifier_id: str) -> Transcript:
    """Π_fac's transcript binds both ends: a proof made for one verifier fails for another."""
    transcript = Transcript(FAC_DOMAIN, session_id)
    transcript.append_bytes(b"prover", prover_id.encode())
    transcript.append_bytes(b"verifier", verifier_id.encode())
    return transcript


def _blame(party_id: str, check: Callable[[], None]) -> None:
    """Run ``check``; re-raise its EcdsaError, of the same type, naming ``party_id``."""
    try:
        check()
    except EcdsaError as error:
        raise type(error)(str(error), [party_id]) from error


def _check_party_id(party_id: str) -> None:
    if not isinstance(party_id, str) or not party_id:
        raise InvalidParameters("a party id is a non-empty string")


def _check_pair(prover_id: str, verifier_id: str) -> None:
    _check_party_id(prover_id)
    _check_party_id(verifier_id)
    if prover_id == verifier_id:
        raise InvalidParameters("Π_fac is between two different parties")


_HEX: Final = re.compile(r"-?[0-9a-f]+")


def _to_hex(value: int) -> str:
    return format(value, "x")


def _from_hex(text: Any, *, signed: bool = False) -> int:
    """Canonical lowercase hex only (no prefix, no leading zeros), so one value has one
    encoding; a sign only where the field is signed."""
    if not isinstance(text, str) or not _HEX.fullmatch(text):
        raise ValueError("integers are lowercase hex strings")
    value = int(text, 16)
    if _to_hex(value) != text:
        raise ValueError("non-canonical hex integer")
    if value < 0 and not signed:
        raise ValueError("negative value in an unsigned field")
    return value


def _expect_keys(data: Any, keys: Iterable[str], what: str) -> None:
    if not isinstance(data, dict):
        raise TypeError(f"{what} must be an object")
    expected = set(keys)
    if set(data) != expected:
        raise ValueError(f"{what} has fields {sorted(data)}, expected {sorted(expected)}")


def _expect_header(data: dict[str, Any], kind: str) -> None:
    if type(data["version"]) is not int or data["version"] != AUX_INFO_VERSION:
        raise ValueError(f"unsupported version {data['version']!r}")
    if data["type"] != kind or data["scheme"] != SCHEME:
        raise ValueError(f"expected a {kind} for {SCHEME}")


def _expect_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"{what} must be a list")
    return value


__all__ = [
    "AUX_INFO_VERSION",
    "AuxInfoPublic",
    "AuxInfoSecret",
    "FacProof",
    "check_distinct",
    "fac_proof_from_dict",
    "fac_proof_to_dict",
    "generate_aux_info",
    "prove_no_small_factors",
    "verify_aux_info",
    "verify_no_small_factors",
]
