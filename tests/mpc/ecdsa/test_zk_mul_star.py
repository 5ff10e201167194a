"""Π_mul* (CGGMP21 Fig. 31) and Π_log* with a widened witness bound (Fig. 25, ℓ → b).

Both serve the χ identification (:mod:`mpc.ecdsa.identify`). Honest proofs verify; any
change to a proof, the statement, the witness, the transcript or the verifier's
ring-Pedersen parameters fails. Keys: the 2048-bit aux info of the presigning tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.ecdsa.errors import InvalidParameters, InvalidProof
from mpc.ecdsa.identify import chi_witness_bits
from mpc.ecdsa.paillier import PaillierPublicKey, PaillierSecretKey, random_unit
from mpc.ecdsa.params import FAST_TESTS, SecurityParameters
from mpc.ecdsa.ring_pedersen import RingPedersenParameters
from mpc.ecdsa.transcript import Transcript
from mpc.ecdsa.zk import log_star, mul_star
from mpc.group import SECP256K1, Rng, Secp256k1Element
from tests.helpers.rng import DeterministicRng
from tests.mpc.ecdsa.presign_helpers import aux_info

PARAMS = FAST_TESTS
ELL, EPS = PARAMS.ell, PARAMS.epsilon
Q = SECP256K1.order
G = SECP256K1.generator()
SESSION = b"wallet-7/sign-42/attempt-0/identification"


@dataclass(frozen=True)
class Party:
    secret: PaillierSecretKey
    key: PaillierPublicKey
    setup: RingPedersenParameters


def _party(name: str) -> Party:
    aux, publics = aux_info()
    key, setup = publics[name]
    return Party(aux[name].paillier, key, setup)


ALICE, BOB, CAROL = "us-1", "us-2", "eu-1"  # prover, verifier, a third party


def transcript(
    session: bytes = SESSION, prover: bytes = b"alice", verifier: bytes = b"bob"
) -> Transcript:
    t = Transcript(b"quorate/ecdsa/identify-test", session)
    t.append_bytes(b"prover", prover)
    t.append_bytes(b"verifier", verifier)
    return t


def point(x: int) -> Secp256k1Element:
    return SECP256K1.base_mul(SECP256K1.scalar(x))


def signed(bits: int, rng: Rng) -> int:
    bound = 1 << bits
    return int.from_bytes(rng(bits // 8 + 17), "big") % (2 * bound + 1) - bound


# --- Π_mul* ------------------------------------------------------------------------------


def mul_statement(
    rng: Rng, x: int | None = None
) -> tuple[mul_star.MulStarStatement, mul_star.MulStarWitness]:
    """C = enc(k) under Alice's key, D = C^x·ρ^N0, X = x·G: as Ĥ_i = K_i^{w_i}·ρ^{N_i}."""
    key = _party(ALICE).key
    x = signed(ELL, rng) if x is None else x
    C, _ = key.encrypt(signed(ELL, rng), rng)
    rho = random_unit(key.n, rng)
    D = key.multiply(C, x) * key.pow(rho, key.n) % key.n2
    return mul_star.MulStarStatement(key, C, D, point(x)), mul_star.MulStarWitness(x, rho)


def mul_prove(statement: Any, witness: Any, rng: Rng, t: Transcript | None = None) -> Any:
    setup = _party(BOB).setup
    return mul_star.prove(statement, witness, setup, t or transcript(), rng, params=PARAMS)


def mul_verify(
    statement: Any,
    proof: Any,
    t: Transcript | None = None,
    setup: RingPedersenParameters | None = None,
    params: SecurityParameters = PARAMS,
) -> None:
    mul_star.verify(statement, proof, setup or _party(BOB).setup, t or transcript(), params=params)


@pytest.fixture(scope="module")
def honest_mul() -> tuple[Any, Any, Any]:
    rng = DeterministicRng("mul*/honest")
    statement, witness = mul_statement(rng)
    return statement, witness, mul_prove(statement, witness, rng)


@pytest.mark.parametrize(
    "x", [None, 1, -1, 2**ELL, -(2**ELL), Q - 1], ids=["random", "1", "-1", "top", "bottom", "q-1"]
)
def test_mul_star_honest_proofs_verify(x: int | None) -> None:
    rng = DeterministicRng(f"mul*/complete/{x}")
    statement, witness = mul_statement(rng, x)
    mul_verify(statement, mul_prove(statement, witness, rng))


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(mul_star.MulStarProof)])
def test_mul_star_every_field_changed_fails(honest_mul: tuple[Any, Any, Any], field: str) -> None:
    statement, _, proof = honest_mul
    mul_verify(statement, proof)
    value = getattr(proof, field)
    changes = (
        [value + G, -value, SECP256K1.identity()]
        if isinstance(value, Secp256k1Element)
        else [value + 1, value - 1, -value, 0]
    )
    for bad in changes:
        with pytest.raises(InvalidProof):
            mul_verify(statement, dataclasses.replace(proof, **{field: bad}))


def test_mul_star_altered_statement_fails(honest_mul: tuple[Any, Any, Any]) -> None:
    statement, _, proof = honest_mul
    rng = DeterministicRng("mul*/alter")
    key = statement.key0
    fresh = key.encrypt(0, rng)[0]
    for other in (
        dataclasses.replace(statement, C=key.add(statement.C, fresh)),
        dataclasses.replace(statement, D=key.add(statement.D, fresh)),
        dataclasses.replace(statement, D=key.add(statement.D, key.encrypt(1, rng)[0])),
        dataclasses.replace(statement, X=statement.X + G),
        dataclasses.replace(statement, X=-statement.X),
        dataclasses.replace(statement, key0=_party(CAROL).key),
    ):
        with pytest.raises(InvalidProof):
            mul_verify(other, proof)


def test_mul_star_wrong_witness_fails() -> None:
    """A proof made with a witness that does not open the statement never verifies."""
    rng = DeterministicRng("mul*/witness")
    statement, witness = mul_statement(rng)
    for wrong in (
        dataclasses.replace(witness, x=witness.x + 1),
        dataclasses.replace(witness, x=witness.x + Q),  # same point, other exponent in D
        dataclasses.replace(witness, rho=witness.rho * 2 % statement.key0.n),
    ):
        with pytest.raises(InvalidProof):
            mul_verify(statement, mul_prove(statement, wrong, rng))
    # D = C^x·ρ^N for an x whose point is not X.
    lying = dataclasses.replace(statement, X=point(witness.x + 1))
    with pytest.raises(InvalidProof):
        mul_verify(lying, mul_prove(lying, witness, rng))


@pytest.mark.parametrize("sign", [1, -1])
def test_mul_star_out_of_range_x_fails_the_range_check(sign: int) -> None:
    rng = DeterministicRng(f"mul*/range/{sign}")
    statement, witness = mul_statement(rng, x=sign * 2 ** (ELL + EPS + 10))
    with pytest.raises(InvalidProof, match="z1 out of range"):
        mul_verify(statement, mul_prove(statement, witness, rng))


def test_mul_star_wrong_verifier_parameters_fail(honest_mul: tuple[Any, Any, Any]) -> None:
    statement, witness, proof = honest_mul
    with pytest.raises(InvalidProof):
        mul_verify(statement, proof, setup=_party(CAROL).setup)
    # Alice knows the factorization of her own ring-Pedersen modulus: she may not prove
    # under it, and a verifier refuses it.
    own = _party(ALICE).setup
    with pytest.raises(InvalidParameters):
        mul_star.prove(statement, witness, own, transcript(), params=PARAMS)
    with pytest.raises(InvalidProof, match="ring-Pedersen"):
        mul_verify(statement, proof, setup=own)
    other = SecurityParameters.unsafe_for_tests(modulus_bits=2048, ell_prime=PARAMS.ell_prime + 8)
    with pytest.raises(InvalidProof):
        mul_verify(statement, proof, params=other)


@pytest.mark.parametrize(
    "other",
    [
        {"session": SESSION + b"/attempt-1"},
        {"prover": b"carol"},
        {"verifier": b"carol"},
        {"prover": b"bob", "verifier": b"alice"},
    ],
    ids=["session", "prover", "verifier", "swapped"],
)
def test_mul_star_other_transcript_fails(
    honest_mul: tuple[Any, Any, Any], other: dict[str, bytes]
) -> None:
    statement, _, proof = honest_mul
    with pytest.raises(InvalidProof):
        mul_verify(statement, proof, transcript(**other))


def test_mul_star_malformed_statement_and_witness_are_refused(
    honest_mul: tuple[Any, Any, Any],
) -> None:
    statement, witness, proof = honest_mul
    n0 = statement.key0.n
    for bad in (
        dataclasses.replace(statement, C=0),
        dataclasses.replace(statement, D=n0),
        dataclasses.replace(statement, X=SECP256K1.identity()),
    ):
        with pytest.raises(InvalidProof):
            mul_verify(bad, proof)
        with pytest.raises(InvalidParameters):
            mul_prove(bad, witness, DeterministicRng("bad"))
    with pytest.raises(InvalidParameters):
        mul_prove(statement, dataclasses.replace(witness, rho=n0), DeterministicRng("rho"))
    for changes in ({"z1": True}, {"z2": str(proof.z2)}, {"w": float(proof.w % 2**60)}):
        with pytest.raises(InvalidProof):
            mul_verify(statement, dataclasses.replace(proof, **changes))
    assert "redacted" in repr(witness)
    assert str(witness.rho) not in repr(witness)


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_mul_star_any_change_fails(honest_mul: tuple[Any, Any, Any], data: st.DataObject) -> None:
    """Property: adding any nonzero amount to any field (a multiple of G to B_x) fails."""
    statement, _, proof = honest_mul
    field = data.draw(st.sampled_from([f.name for f in dataclasses.fields(proof)]), label="field")
    value = getattr(proof, field)
    if isinstance(value, Secp256k1Element):
        changed: Any = value + point(data.draw(st.integers(1, Q - 1), label="delta"))
    else:
        bit = data.draw(st.integers(0, value.bit_length() + 8), label="bit")
        changed = value + data.draw(st.sampled_from([1, -1]), label="sign") * (1 << bit)
    with pytest.raises(InvalidProof):
        mul_verify(statement, dataclasses.replace(proof, **{field: changed}))


# --- Π_log* with a widened witness bound ----------------------------------------------------

BITS = chi_witness_bits(PARAMS, 4)
BASE = point(0xBEEF)  # a base other than G, as R is in the identification


def log_statement(rng: Rng, y: int) -> tuple[log_star.LogStarStatement, log_star.LogStarWitness]:
    key = _party(ALICE).key
    C, rho = key.encrypt(y, rng)
    return log_star.LogStarStatement(key, C, BASE * SECP256K1.scalar(y), BASE), (
        log_star.LogStarWitness(y, rho)
    )


def log_prove(statement: Any, witness: Any, rng: Rng, bits: int | None = BITS) -> Any:
    return log_star.prove(
        statement, witness, _party(BOB).setup, transcript(), rng, params=PARAMS, witness_bits=bits
    )


def log_verify(statement: Any, proof: Any, bits: int | None = BITS) -> None:
    log_star.verify(
        statement, proof, _party(BOB).setup, transcript(), params=PARAMS, witness_bits=bits
    )


def test_chi_witness_bound_covers_the_derivation() -> None:
    """b grows with log2 of the signers and sits just above ℓ' + ε."""
    production = SecurityParameters()
    bound = [chi_witness_bits(production, n) for n in (2, 3, 5, 9)]
    assert bound == [1080, 1081, 1082, 1083]
    assert all(b > production.ell_prime + production.epsilon for b in bound)
    with pytest.raises(InvalidParameters):
        chi_witness_bits(production, 1)


@pytest.mark.parametrize(
    "which", ["top", "bottom", "random", "small"], ids=["top", "bottom", "random", "small"]
)
def test_log_star_widened_bound_completeness(which: str) -> None:
    rng = DeterministicRng(f"log*/wide/{which}")
    y = {"top": 2**BITS, "bottom": -(2**BITS), "random": signed(BITS, rng), "small": 7}[which]
    statement, witness = log_statement(rng, y)
    log_verify(statement, log_prove(statement, witness, rng))


@pytest.mark.parametrize("sign", [1, -1])
def test_log_star_out_of_bound_witness_fails(sign: int) -> None:
    rng = DeterministicRng(f"log*/out/{sign}")
    statement, witness = log_statement(rng, sign * 2 ** (BITS + EPS + 10))
    proof = log_prove(statement, witness, rng)
    assert abs(proof.z1) > 2 ** (BITS + EPS)
    with pytest.raises(InvalidProof, match="z1 out of range"):
        log_verify(statement, proof)


def test_log_star_bound_is_bound_into_the_proof() -> None:
    """A proof for one bound does not verify for another, nor for the default ℓ."""
    rng = DeterministicRng("log*/bound")
    statement, witness = log_statement(rng, signed(ELL, rng))
    wide = log_prove(statement, witness, rng)
    for other in (None, ELL, BITS + 1, BITS - 1):
        with pytest.raises(InvalidProof):
            log_verify(statement, wide, bits=other)
    narrow = log_prove(statement, witness, rng, bits=None)
    with pytest.raises(InvalidProof):
        log_verify(statement, narrow)


def test_log_star_default_bound_is_unchanged() -> None:
    """witness_bits = ℓ is the figure's proof: same values, same transcript as the default."""
    statement, witness = log_statement(DeterministicRng("log*/default"), 12345)
    default = log_prove(statement, witness, DeterministicRng("same"), bits=None)
    explicit = log_prove(statement, witness, DeterministicRng("same"), bits=ELL)
    assert default == explicit
    log_verify(statement, default, bits=None)
    log_verify(statement, default, bits=ELL)


def test_log_star_bound_must_fit_the_modulus() -> None:
    rng = DeterministicRng("log*/room")
    statement, witness = log_statement(rng, 5)
    too_wide = statement.key0.n.bit_length() - EPS
    with pytest.raises(InvalidParameters):
        log_prove(statement, witness, rng, bits=too_wide)
    proof = log_prove(statement, witness, rng)
    with pytest.raises(InvalidProof, match="too small"):
        log_verify(statement, proof, bits=too_wide)
    for bad in (ELL - 1, 0):
        with pytest.raises(InvalidParameters):
            log_prove(statement, witness, rng, bits=bad)
        with pytest.raises(InvalidParameters):
            log_verify(statement, proof, bits=bad)
