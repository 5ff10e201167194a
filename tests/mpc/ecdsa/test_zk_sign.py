"""The signing range proofs Π_enc (Fig. 14), Π_aff-g (Fig. 15) and Π_log* (Fig. 25).

Each check runs over the three proofs through a small adapter (:class:`Case`): honest
proofs verify at the edges of the witness ranges, and any change to a proof, to the
statement, to the transcript's session or parties, to the keys or to the ring-Pedersen
parameters makes verification fail.

Paillier keys are 2048-bit moduli built from the TEST-ONLY safe primes in
``tests/vectors/ecdsa-safe-primes.json`` when that file is present, and from freshly
generated safe primes otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.ecdsa.errors import InvalidParameters, InvalidProof
from mpc.ecdsa.paillier import PaillierPublicKey, PaillierSecretKey, paillier_keypair
from mpc.ecdsa.params import FAST_TESTS, PRODUCTION, SecurityParameters
from mpc.ecdsa.primes import generate_safe_prime, is_safe_prime
from mpc.ecdsa.ring_pedersen import RingPedersenParameters, generate_ring_pedersen
from mpc.ecdsa.transcript import Transcript
from mpc.ecdsa.zk import aff_g, enc, log_star
from mpc.ecdsa.zk.enc import CHALLENGE_BITS
from mpc.group import SECP256K1, Rng, Secp256k1Element
from tests.helpers.rng import DeterministicRng
from tests.helpers.vectors import VECTORS, load_json

PARAMS = FAST_TESTS
ELL, ELL_PRIME, EPS = PARAMS.ell, PARAMS.ell_prime, PARAMS.epsilon
Q = SECP256K1.order
G = SECP256K1.generator()
SESSION = b"wallet-7/sign-42/attempt-0/signers-alice,bob,carol"

# --- Keys --------------------------------------------------------------------------------


def _safe_primes(bits: int, count: int) -> list[int]:
    """``count`` safe primes of ``bits`` bits: from the test-only file, else generated."""
    if (VECTORS / "ecdsa-safe-primes.json").exists():
        listed = load_json("ecdsa-safe-primes.json").get("primes", {}).get(str(bits), [])
        primes = [int(p, 16) for p in listed[:count]]
        if len(primes) == count and all(is_safe_prime(p) for p in primes):
            return primes
    return [generate_safe_prime(bits) for _ in range(count)]


@dataclass(frozen=True)
class Party:
    """A party's auxiliary information: its Paillier keys and ring-Pedersen parameters."""

    secret: PaillierSecretKey
    key: PaillierPublicKey
    setup: RingPedersenParameters


def _party(p: int, q: int, seed: str) -> Party:
    # As in CGGMP21's auxiliary information, the ring-Pedersen modulus is the Paillier one.
    secret, _ = paillier_keypair(p, q)
    setup, _ = generate_ring_pedersen(p, q, DeterministicRng(seed))
    return Party(secret, secret.public_key, setup)


@dataclass(frozen=True)
class Parties:
    alice: Party  # the prover
    bob: Party  # the verifier
    carol: Party  # a third party, for keys and parameters that do not belong


@pytest.fixture(scope="session")
def parties() -> Parties:
    p = _safe_primes(1024, 6)
    return Parties(
        _party(p[0], p[1], "alice"), _party(p[2], p[3], "bob"), _party(p[4], p[5], "carol")
    )


def transcript(
    session: bytes = SESSION, prover: bytes = b"alice", verifier: bytes = b"bob"
) -> Transcript:
    """A fresh transcript bound to the session and both parties, as the protocol opens it."""
    t = Transcript(b"quorate/ecdsa/sign", session)
    t.append_bytes(b"prover", prover)
    t.append_bytes(b"verifier", verifier)
    return t


def point(x: int) -> Secp256k1Element:
    return SECP256K1.base_mul(SECP256K1.scalar(x))


def signed(bits: int, rng: Rng) -> int:
    """Uniform in ±2^bits."""
    bound = 1 << bits
    return int.from_bytes(rng(bits // 8 + 17), "big") % (2 * bound + 1) - bound


# --- One adapter per proof ---------------------------------------------------------------


class Case:
    """What the generic checks need from a proof: build, prove, verify, alter.

    Every proof is made for Bob (the verifier), under his ring-Pedersen parameters.
    """

    name: str
    proof_type: type[Any]
    module: ModuleType  # the proof's module: its ``prove`` and ``verify``

    def __init__(self, parties: Parties) -> None:
        self.parties = parties

    def make(self, rng: Rng, x: int | None = None, y: int | None = None) -> tuple[Any, Any]:
        """A statement and its witness; x (and y for Π_aff-g) random in range if None."""
        raise NotImplementedError

    def prove(self, statement: Any, witness: Any, t: Transcript, rng: Rng) -> Any:
        return self.module.prove(statement, witness, self.parties.bob.setup, t, rng, params=PARAMS)

    def verify(
        self,
        statement: Any,
        proof: Any,
        t: Transcript,
        setup: RingPedersenParameters | None = None,
        params: SecurityParameters = PARAMS,
    ) -> None:
        self.module.verify(statement, proof, setup or self.parties.bob.setup, t, params=params)

    def altered(self, statement: Any, rng: Rng) -> dict[str, Any]:
        """Statements that differ from ``statement`` in one public input each."""
        raise NotImplementedError


class EncCase(Case):
    name = "enc"
    proof_type = enc.EncProof
    module = enc

    def make(self, rng: Rng, x: int | None = None, y: int | None = None) -> tuple[Any, Any]:
        k = signed(ELL, rng) if x is None else x
        key = self.parties.alice.key
        K, rho = key.encrypt(k, rng)
        return enc.EncStatement(key, K), enc.EncWitness(k, rho)

    def altered(self, statement: Any, rng: Rng) -> dict[str, Any]:
        key = statement.key0
        other_key = self.parties.carol.key
        return {
            # The same plaintext under fresh randomness is a different statement.
            "other ciphertext": dataclasses.replace(statement, K=key.encrypt(1, rng)[0]),
            "re-randomized ciphertext": dataclasses.replace(
                statement, K=key.add(statement.K, key.encrypt(0, rng)[0])
            ),
            "other modulus": dataclasses.replace(statement, key0=other_key),
        }


class LogStarCase(Case):
    name = "log*"
    proof_type = log_star.LogStarProof
    module = log_star
    base = point(0xC0FFEE)  # a base point other than G, as Γ is in signing

    def make(self, rng: Rng, x: int | None = None, y: int | None = None) -> tuple[Any, Any]:
        value = signed(ELL, rng) if x is None else x
        key = self.parties.alice.key
        C, rho = key.encrypt(value, rng)
        X = self.base * SECP256K1.scalar(value)
        return log_star.LogStarStatement(key, C, X, self.base), log_star.LogStarWitness(value, rho)

    def altered(self, statement: Any, rng: Rng) -> dict[str, Any]:
        key = statement.key0
        return {
            "other ciphertext": dataclasses.replace(
                statement, C=key.add(statement.C, key.encrypt(0, rng)[0])
            ),
            "other point": dataclasses.replace(statement, X=statement.X + G),
            "negated point": dataclasses.replace(statement, X=-statement.X),
            "other base point": dataclasses.replace(statement, g=G),
            "other modulus": dataclasses.replace(statement, key0=self.parties.carol.key),
        }


class AffGCase(Case):
    name = "aff-g"
    proof_type = aff_g.AffGProof
    module = aff_g

    def make(self, rng: Rng, x: int | None = None, y: int | None = None) -> tuple[Any, Any]:
        # Bob (the verifier) sent C = enc_N0(k) under his key; Alice answers with
        # D = x ⊙ C ⊕ enc_N0(y; ρ) and Y = enc_N1(y; ρ_y) under hers.
        key0, key1 = self.parties.bob.key, self.parties.alice.key
        x = signed(ELL, rng) if x is None else x
        y = signed(ELL_PRIME, rng) if y is None else y
        C, _ = key0.encrypt(signed(ELL, rng), rng)
        masked, rho = key0.encrypt(y, rng)
        D = key0.add(key0.multiply(C, x), masked)
        Y, rho_y = key1.encrypt(y, rng)
        statement = aff_g.AffGStatement(key0, key1, C, D, Y, point(x))
        return statement, aff_g.AffGWitness(x, y, rho, rho_y)

    def altered(self, statement: Any, rng: Rng) -> dict[str, Any]:
        key0, key1 = statement.key0, statement.key1
        fresh0 = key0.encrypt(0, rng)[0]
        return {
            "other C": dataclasses.replace(statement, C=key0.add(statement.C, fresh0)),
            "other D": dataclasses.replace(statement, D=key0.add(statement.D, fresh0)),
            "other Y": dataclasses.replace(
                statement, Y=key1.add(statement.Y, key1.encrypt(0, rng)[0])
            ),
            "other point": dataclasses.replace(statement, X=statement.X + G),
            "other prover modulus": dataclasses.replace(statement, key1=self.parties.carol.key),
            "other verifier modulus": dataclasses.replace(statement, key0=self.parties.carol.key),
            "swapped moduli": dataclasses.replace(statement, key0=key1, key1=key0),
        }


CASES: dict[str, type[Case]] = {"enc": EncCase, "log*": LogStarCase, "aff-g": AffGCase}
PROOF_FIELDS = [
    (name, field.name)
    for name, cls in CASES.items()
    for field in dataclasses.fields(cls.proof_type)
]


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest, parties: Parties) -> Case:
    return CASES[request.param](parties)


@pytest.fixture(scope="session")
def honest(parties: Parties) -> dict[str, tuple[Any, Any, Any]]:
    """One honest (statement, witness, proof) per proof, shared by the negative tests."""
    made = {}
    for name, cls in CASES.items():
        c = cls(parties)
        rng = DeterministicRng(f"honest/{name}")
        statement, witness = c.make(rng)
        made[name] = (statement, witness, c.prove(statement, witness, transcript(), rng))
    return made


# --- Completeness ------------------------------------------------------------------------

EDGES = {
    "random": (None, None),
    "random again": (None, None),
    "top of range": (2**ELL, 2**ELL_PRIME),
    "bottom of range": (-(2**ELL), -(2**ELL_PRIME)),
    "small": (1, -1),
    "negative and zero y": (-12345, 0),
    "group order": (Q - 1, -(Q - 1)),
}


@pytest.mark.parametrize("edge", list(EDGES))
def test_honest_proofs_verify(case: Case, edge: str) -> None:
    rng = DeterministicRng(f"complete/{case.name}/{edge}")
    x, y = EDGES[edge]
    statement, witness = case.make(rng, x, y)
    proof = case.prove(statement, witness, transcript(), rng)
    case.verify(statement, proof, transcript())


def test_honest_proofs_verify_at_the_production_modulus(parties: Parties) -> None:
    """3072-bit moduli and the production parameters, for every proof."""
    p = _safe_primes(1536, 4)
    big = Parties(_party(p[0], p[1], "alice"), _party(p[2], p[3], "bob"), parties.carol)
    for cls in CASES.values():
        c = cls(big)
        rng = DeterministicRng(f"production/{c.name}")
        statement, witness = c.make(rng)
        proof = c.prove(statement, witness, transcript(), rng)
        c.verify(statement, proof, transcript(), params=PRODUCTION)


# --- Soundness: every change is rejected --------------------------------------------------


def _tampered(value: Any) -> list[Any]:
    return [value + G if isinstance(value, Secp256k1Element) else value + 1]


def _negated_or_zeroed(value: Any) -> list[Any]:
    return [-value, 0 if isinstance(value, int) else SECP256K1.identity()]


@pytest.mark.parametrize(
    "change", [_tampered, _negated_or_zeroed], ids=["tampered", "negated-or-zeroed"]
)
@pytest.mark.parametrize(("name", "field"), PROOF_FIELDS)
def test_every_proof_field_changed_fails(
    parties: Parties,
    honest: dict[str, tuple[Any, Any, Any]],
    name: str,
    field: str,
    change: Callable[[Any], list[Any]],
) -> None:
    c = CASES[name](parties)
    statement, _, proof = honest[name]
    c.verify(statement, proof, transcript())  # the untouched proof is fine
    for bad in change(getattr(proof, field)):
        forged = dataclasses.replace(proof, **{field: bad})
        with pytest.raises(InvalidProof):
            c.verify(statement, forged, transcript())


def test_altered_statement_fails(case: Case, honest: dict[str, tuple[Any, Any, Any]]) -> None:
    statement, _, proof = honest[case.name]
    alterations = case.altered(statement, DeterministicRng(f"alter/{case.name}"))
    assert alterations
    for label, other in alterations.items():
        assert other != statement, label
        with pytest.raises(InvalidProof):
            case.verify(other, proof, transcript())


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_change_to_any_proof_fails(
    parties: Parties, honest: dict[str, tuple[Any, Any, Any]], data: st.DataObject
) -> None:
    """Property: adding any nonzero amount to any field (a multiple of G to a point) fails."""
    name = data.draw(st.sampled_from(list(CASES)), label="proof")
    c = CASES[name](parties)
    field = data.draw(
        st.sampled_from([f.name for f in dataclasses.fields(c.proof_type)]), label="field"
    )
    statement, _, proof = honest[name]
    value = getattr(proof, field)
    if isinstance(value, Secp256k1Element):
        delta = data.draw(st.integers(min_value=1, max_value=Q - 1), label="delta")
        changed: Any = value + point(delta)
    else:
        bit = data.draw(st.integers(min_value=0, max_value=value.bit_length() + 8), label="bit")
        sign = data.draw(st.sampled_from([1, -1]), label="sign")
        changed = value + sign * (1 << bit)
    with pytest.raises(InvalidProof):
        c.verify(statement, dataclasses.replace(proof, **{field: changed}), transcript())


@pytest.mark.parametrize(
    "other",
    [
        {"session": b"wallet-7/sign-42/attempt-1/signers-alice,bob,carol"},
        {"session": b"wallet-8/sign-42/attempt-0/signers-alice,bob,carol"},
        {"prover": b"carol"},
        {"verifier": b"carol"},
        {"prover": b"bob", "verifier": b"alice"},
    ],
    ids=["attempt", "wallet", "prover", "verifier", "swapped parties"],
)
def test_other_transcript_fails(
    case: Case, honest: dict[str, tuple[Any, Any, Any]], other: dict[str, bytes]
) -> None:
    statement, _, proof = honest[case.name]
    with pytest.raises(InvalidProof):
        case.verify(statement, proof, transcript(**other))


def test_replayed_in_another_proof_type_fails(parties: Parties) -> None:
    """A Π_enc proof is not a Π_log* proof for the same ciphertext, nor the other way."""
    rng = DeterministicRng("cross")
    e, ls = EncCase(parties), LogStarCase(parties)
    statement, witness = ls.make(rng)
    log_proof = ls.prove(statement, witness, transcript(), rng)
    enc_statement = enc.EncStatement(statement.key0, statement.C)
    # (S, A, D, z1, z2, z3) of Π_log* in the places of Π_enc's (S, A, C, z1, z2, z3).
    p = log_proof
    forged = enc.EncProof(p.S, p.A, p.D, p.z1, p.z2, p.z3)
    with pytest.raises(InvalidProof):
        e.verify(enc_statement, forged, transcript())


def test_other_ring_pedersen_parameters_fail(
    case: Case, parties: Parties, honest: dict[str, tuple[Any, Any, Any]]
) -> None:
    statement, _, proof = honest[case.name]
    with pytest.raises(InvalidProof):
        case.verify(statement, proof, transcript(), setup=parties.carol.setup)


def test_other_parameters_fail(case: Case, honest: dict[str, tuple[Any, Any, Any]]) -> None:
    """The sizes are bound into the transcript: a verifier with other sizes disagrees."""
    statement, _, proof = honest[case.name]
    other = SecurityParameters.unsafe_for_tests(modulus_bits=2048, ell_prime=PARAMS.ell_prime + 8)
    with pytest.raises(InvalidProof):
        case.verify(statement, proof, transcript(), params=other)


def test_proof_for_key_a_fails_against_key_b(parties: Parties) -> None:
    """A proof made with Alice's Paillier key does not verify with Carol's in its place."""
    rng = DeterministicRng("keys")
    # The prover's own key is key0 in Π_enc and Π_log*, key1 in Π_aff-g (key0 is Bob's).
    for cls, field in ((EncCase, "key0"), (LogStarCase, "key0"), (AffGCase, "key1")):
        c: Case = cls(parties)
        statement, witness = c.make(rng)
        proof = c.prove(statement, witness, transcript(), rng)
        assert getattr(statement, field) == parties.alice.key
        moved = dataclasses.replace(statement, **{field: parties.carol.key})
        with pytest.raises(InvalidProof):
            c.verify(moved, proof, transcript())


# --- Range checks ------------------------------------------------------------------------


@pytest.mark.parametrize("sign", [1, -1])
def test_out_of_range_x_fails_the_range_check(case: Case, sign: int) -> None:
    """An honest-looking proof for x = ±2^(ℓ+ε+10) is caught by the check on z1."""
    rng = DeterministicRng(f"range-x/{case.name}/{sign}")
    statement, witness = case.make(rng, x=sign * 2 ** (ELL + EPS + 10))
    proof = case.prove(statement, witness, transcript(), rng)
    assert abs(proof.z1) > 2 ** (ELL + EPS)
    with pytest.raises(InvalidProof, match="z1 out of range"):
        case.verify(statement, proof, transcript())


@pytest.mark.parametrize("sign", [1, -1])
def test_out_of_range_y_fails_the_range_check(parties: Parties, sign: int) -> None:
    c = AffGCase(parties)
    rng = DeterministicRng(f"range-y/{sign}")
    statement, witness = c.make(rng, y=sign * 2 ** (ELL_PRIME + EPS + 10))
    proof = c.prove(statement, witness, transcript(), rng)
    with pytest.raises(InvalidProof, match="z2 out of range"):
        c.verify(statement, proof, transcript())


def test_range_edges_of_responses(case: Case, honest: dict[str, tuple[Any, Any, Any]]) -> None:
    """z1 = ±2^(ℓ+ε) passes the range check (and fails later); one more fails the range."""
    statement, _, proof = honest[case.name]
    for z1 in (2 ** (ELL + EPS), -(2 ** (ELL + EPS))):
        with pytest.raises(InvalidProof) as caught:
            case.verify(statement, dataclasses.replace(proof, z1=z1), transcript())
        assert "out of range" not in str(caught.value)
    for z1 in (2 ** (ELL + EPS) + 1, -(2 ** (ELL + EPS)) - 1):
        with pytest.raises(InvalidProof, match="z1 out of range"):
            case.verify(statement, dataclasses.replace(proof, z1=z1), transcript())


# --- Structural checks -------------------------------------------------------------------


def test_log_star_wrong_base_point_fails(parties: Parties) -> None:
    c = LogStarCase(parties)
    rng = DeterministicRng("base")
    statement, witness = c.make(rng)
    proof = c.prove(statement, witness, transcript(), rng)
    # Same x, the point recomputed for G: the statement is true but not the one proven.
    on_g = dataclasses.replace(statement, X=point(witness.x), g=G)
    with pytest.raises(InvalidProof):
        c.verify(on_g, proof, transcript())
    # Proven for G, verified for Γ.
    g_statement = log_star.LogStarStatement(statement.key0, statement.C, point(witness.x))
    g_proof = c.prove(g_statement, witness, transcript(), rng)
    c.verify(g_statement, g_proof, transcript())
    with pytest.raises(InvalidProof):
        c.verify(dataclasses.replace(g_statement, g=c.base), g_proof, transcript())


def test_identity_points_are_rejected(parties: Parties, honest: dict[str, Any]) -> None:
    identity = SECP256K1.identity()
    statement, _, proof = honest["log*"]
    ls = LogStarCase(parties)
    for bad in (
        dataclasses.replace(statement, X=identity),
        dataclasses.replace(statement, g=identity),
    ):
        with pytest.raises(InvalidProof, match="identity"):
            ls.verify(bad, proof, transcript())
    ag = AffGCase(parties)
    statement, _, proof = honest["aff-g"]
    with pytest.raises(InvalidProof, match="identity"):
        ag.verify(dataclasses.replace(statement, X=identity), proof, transcript())
    with pytest.raises(InvalidProof, match="identity"):
        ag.verify(statement, dataclasses.replace(proof, B_x=identity), transcript())


def test_non_units_are_rejected(parties: Parties, honest: dict[str, Any]) -> None:
    """Commitments must be units mod N̂, ciphertexts units mod N², nonces units mod N."""
    n_hat = parties.bob.setup.n
    statement, _, proof = honest["enc"]
    n0 = statement.key0.n
    c = EncCase(parties)
    for changes in (
        {"S": n_hat},
        {"S": parties.bob.secret.p},
        {"C": 0},
        {"A": n0},
        {"A": n0 * n0},
        {"z2": n0},
        {"z2": statement.key0.n + 1},
    ):
        forged = dataclasses.replace(proof, **changes)
        with pytest.raises(InvalidProof, match="not"):
            c.verify(statement, forged, transcript())
    for K in (0, n0, n0 * n0 + 1):
        with pytest.raises(InvalidProof):
            c.verify(dataclasses.replace(statement, K=K), proof, transcript())


def test_non_integers_are_rejected(parties: Parties, honest: dict[str, Any]) -> None:
    statement, _, proof = honest["enc"]
    c = EncCase(parties)
    for changes in ({"z1": True}, {"z1": float(proof.z1)}, {"z3": str(proof.z3)}):
        forged = dataclasses.replace(proof, **changes)
        with pytest.raises(InvalidProof):
            c.verify(statement, forged, transcript())


def test_prover_modulus_equal_to_verifier_ring_pedersen_is_refused(parties: Parties) -> None:
    """A prover that knows the factorization of N̂ could open commitments at will."""
    rng = DeterministicRng("own-setup")
    alice = parties.alice
    k = 5
    K, rho = alice.key.encrypt(k, rng)
    statement = enc.EncStatement(alice.key, K)
    with pytest.raises(InvalidParameters):
        enc.prove(statement, enc.EncWitness(k, rho), alice.setup, transcript(), rng, params=PARAMS)
    honest_proof = enc.prove(
        statement, enc.EncWitness(k, rho), parties.bob.setup, transcript(), rng, params=PARAMS
    )
    with pytest.raises(InvalidProof, match="ring-Pedersen"):
        enc.verify(statement, honest_proof, alice.setup, transcript(), params=PARAMS)


def test_prover_refuses_a_nonce_that_is_not_a_unit(parties: Parties) -> None:
    key = parties.alice.key
    statement = enc.EncStatement(key, key.encrypt(3)[0])
    for rho in (0, key.n, parties.alice.secret.p):
        with pytest.raises(InvalidParameters):
            enc.prove(statement, enc.EncWitness(3, rho), parties.bob.setup, transcript())


def test_epsilon_must_leave_room_for_the_challenge(
    case: Case, honest: dict[str, tuple[Any, Any, Any]]
) -> None:
    statement, _, proof = honest[case.name]
    narrow = SecurityParameters.unsafe_for_tests(modulus_bits=2048, epsilon=CHALLENGE_BITS + 79)
    with pytest.raises(InvalidParameters):
        case.verify(statement, proof, transcript(), params=narrow)


def test_challenges_spread_over_the_signed_range() -> None:
    """e ← ±2^128: both signs occur and no challenge exceeds the bound."""
    bound = enc.challenge_bound(PARAMS)
    challenges = [transcript(session=b"s%d" % i).challenge_signed(b"e", bound) for i in range(64)]
    assert all(abs(e) <= 2**CHALLENGE_BITS for e in challenges)
    assert any(e < 0 for e in challenges)
    assert any(e > 0 for e in challenges)
    assert max(abs(e) for e in challenges).bit_length() > CHALLENGE_BITS - 8


def test_witnesses_do_not_print_their_secrets(honest: dict[str, Any]) -> None:
    for name in CASES:
        _, witness, _ = honest[name]
        assert "redacted" in repr(witness)
        assert str(witness.rho) not in repr(witness)


def _all_cases(parties: Parties) -> Iterator[Case]:
    for cls in CASES.values():
        yield cls(parties)


def test_proofs_are_randomized(parties: Parties) -> None:
    """Two proofs of one statement differ (fresh masks), and both verify."""
    for c in _all_cases(parties):
        rng = DeterministicRng(f"twice/{c.name}")
        statement, witness = c.make(rng)
        first = c.prove(statement, witness, transcript(), rng)
        second = c.prove(statement, witness, transcript(), rng)
        assert first != second
        c.verify(statement, first, transcript())
        c.verify(statement, second, transcript())
