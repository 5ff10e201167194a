"""Auxiliary information (CGGMP21 Fig. 6, aux-info): generation, verification by the other
parties, pairwise Π_fac, distinctness across parties, serialization, and attack
reproductions, each naming the culprit party.

Most tests use 2048-bit moduli (FAST_TESTS) from the committed test-only safe primes; one
test runs the whole generation at the production size (3072 bits) with fresh primes.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import gmpy2
import pytest

from mpc.ecdsa import aux_info
from mpc.ecdsa.aux_info import (
    AUX_INFO_VERSION,
    AuxInfoPublic,
    AuxInfoSecret,
    check_distinct,
    fac_proof_from_dict,
    fac_proof_to_dict,
    generate_aux_info,
    prove_no_small_factors,
    verify_aux_info,
    verify_no_small_factors,
)
from mpc.ecdsa.errors import (
    EcdsaError,
    InvalidModulus,
    InvalidParameters,
    InvalidProof,
    InvalidRingPedersen,
)
from mpc.ecdsa.params import FAST_TESTS, PRODUCTION
from mpc.ecdsa.ring_pedersen import RingPedersenParameters, RingPedersenSecret
from mpc.ecdsa.transcript import Transcript
from mpc.ecdsa.zk import fac, mod, prm
from mpc.ecdsa.zk.mod import ModProof
from mpc.ecdsa.zk.prm import PrmProof
from tests.helpers.rng import DeterministicRng
from tests.mpc.ecdsa.test_zk_aux import (
    bitforge_modulus,
    forge_mod_proof,
    forge_prm_proof,
    order_two_element,
    prime_congruent,
    safe_primes,
)

SESSION = b"aux-info/epoch-1"
PARTIES = ("alice", "bob", "carol")
PARAMS = FAST_TESTS


@cache
def party(party_id: str) -> tuple[AuxInfoSecret, AuxInfoPublic]:
    index = PARTIES.index(party_id)
    p, q = safe_primes(1024)[2 * index : 2 * index + 2]
    return generate_aux_info(
        party_id, PARAMS, DeterministicRng(f"aux/{party_id}"), (p, q), session_id=SESSION
    )


def public(party_id: str) -> AuxInfoPublic:
    return party(party_id)[1]


def secret(party_id: str) -> AuxInfoSecret:
    return party(party_id)[0]


@contextmanager
def raises_naming(
    error: type[EcdsaError] | tuple[type[EcdsaError], ...],
    *culprits: str,
    match: str | None = None,
) -> Iterator[None]:
    """``pytest.raises`` that also checks the error names exactly these culprits."""
    with pytest.raises(error, match=match) as info:
        yield
    assert info.value.culprits == culprits


# ---------------------------------------------------------------------------------------
# The honest run


def test_honest_aux_info_verifies_for_every_party() -> None:
    for party_id in PARTIES:
        aux = public(party_id)
        assert aux.n.bit_length() == PARAMS.modulus_bits
        assert aux.n == secret(party_id).paillier.public_key.n
        assert len(aux.mod_proof.responses) == len(aux.prm_proof.A) == PARAMS.iterations
        verify_aux_info(aux, party_id, PARAMS, SESSION)
    check_distinct([public(i) for i in PARTIES])


def test_ring_pedersen_is_over_the_paillier_modulus() -> None:
    aux, sec = public("alice"), secret("alice")
    assert sec.ring_pedersen.parameters == aux.ring_pedersen
    assert pow(aux.t, sec.ring_pedersen.lam, aux.n) == aux.s


def test_paillier_key_works() -> None:
    aux, sec = public("bob"), secret("bob")
    ciphertext, _ = aux.paillier_public_key.encrypt(-12345, DeterministicRng("enc"))
    assert sec.paillier.decrypt(ciphertext) == -12345


@pytest.mark.parametrize(("prover", "verifier"), list(itertools.permutations(PARTIES, 2)))
def test_pairwise_no_small_factor_proofs_verify(prover: str, verifier: str) -> None:
    proof = prove_no_small_factors(
        secret(prover), public(verifier), SESSION, prover, verifier, params=PARAMS
    )
    verify_no_small_factors(
        proof, public(prover), public(verifier), SESSION, prover, verifier, params=PARAMS
    )


def test_secrets_are_redacted() -> None:
    sec = secret("alice")
    for text in (repr(sec), str(sec)):
        assert "<redacted>" in text
        assert str(sec.paillier.p) not in text
        assert hex(sec.paillier.p)[2:] not in text
        assert str(sec.ring_pedersen.lam) not in text
    assert str(sec.paillier.p) not in repr(public("alice"))


# ---------------------------------------------------------------------------------------
# Serialization


def test_public_json_round_trip() -> None:
    aux = public("alice")
    text = aux.to_json()
    assert AuxInfoPublic.from_json(text) == aux
    assert AuxInfoPublic.from_dict(json.loads(text)) == aux
    verify_aux_info(AuxInfoPublic.from_json(text), "alice", PARAMS, SESSION)


def test_public_dict_snapshot() -> None:
    data = public("alice").to_dict()
    assert sorted(data) == [
        "N", "mod_proof", "party_id", "prm_proof", "s", "scheme", "t", "type", "version",
    ]  # fmt: skip
    assert data["version"] == AUX_INFO_VERSION == 1
    assert data["type"] == "ecdsa-aux-info"
    assert data["scheme"] == "ecdsa-secp256k1"
    assert data["N"] == format(public("alice").n, "x")
    assert sorted(data["mod_proof"]) == ["responses", "w"]
    assert sorted(data["mod_proof"]["responses"][0]) == ["a", "b", "x", "z"]
    assert sorted(data["prm_proof"]) == ["A", "z"]


def test_fac_proof_round_trip_keeps_signs() -> None:
    proof = prove_no_small_factors(
        secret("alice"), public("bob"), SESSION, "alice", "bob", params=PARAMS
    )
    data = json.loads(json.dumps(fac_proof_to_dict(proof)))
    assert data["version"] == 1
    assert data["type"] == "ecdsa-aux-info-fac-proof"
    assert fac_proof_from_dict(data) == proof
    # z1 is signed and may already be negative: force a negative value to encode.
    negative = dataclasses.replace(proof, z1=-abs(proof.z1) - 1)
    assert fac_proof_to_dict(negative)["z1"].startswith("-")
    assert fac_proof_from_dict(fac_proof_to_dict(negative)) == negative


def _mutations() -> dict[str, Any]:
    def edit(path: tuple[Any, ...], value: Any) -> Any:
        def apply(data: dict[str, Any]) -> None:
            target: Any = data
            for key in path[:-1]:
                target = target[key]
            if value is KeyError:
                del target[path[-1]]
            else:
                target[path[-1]] = value

        return apply

    def add_field(data: dict[str, Any]) -> None:
        data["extra"] = 1

    return {
        "version 2": edit(("version",), 2),
        "version true": edit(("version",), True),
        "other type": edit(("type",), "ecdsa-aux-info-fac-proof"),
        "other scheme": edit(("scheme",), "bip340"),
        "extra field": add_field,
        "missing field": edit(("s",), KeyError),
        "0x prefix": edit(("N",), "0x1234"),
        "uppercase hex": edit(("s",), "ABCDEF"),
        "leading zero": edit(("t",), "0abc"),
        "negative N": edit(("N",), "-abc"),
        "int not hex": edit(("N",), 12345),
        "a not bool": edit(("mod_proof", "responses", 0, "a"), 1),
        "responses not list": edit(("mod_proof", "responses"), {}),
        "empty party id": edit(("party_id",), ""),
    }


@pytest.mark.parametrize("mutation", sorted(_mutations()))
def test_malformed_public_rejected_naming_sender(mutation: str) -> None:
    data = json.loads(public("alice").to_json())
    _mutations()[mutation](data)
    with raises_naming(InvalidParameters, "alice", match="malformed"):
        AuxInfoPublic.from_dict(data, sender="alice")


def test_non_json_rejected_naming_sender() -> None:
    with raises_naming(InvalidParameters, "bob"):
        AuxInfoPublic.from_json("{not json", sender="bob")


# ---------------------------------------------------------------------------------------
# Verification failures name the culprit


def test_aux_info_from_another_session_rejected() -> None:
    with raises_naming(InvalidProof, "alice"):
        verify_aux_info(public("alice"), "alice", PARAMS, b"aux-info/epoch-2")


def test_aux_info_claimed_by_another_party_rejected() -> None:
    # Bob forwards Alice's message as his own: the party id does not match.
    with raises_naming(InvalidParameters, "bob"):
        verify_aux_info(public("alice"), "bob", PARAMS, SESSION)
    # Mallory relabels Alice's aux info: the proofs are bound to Alice's id.
    relabelled = dataclasses.replace(public("alice"), party_id="mallory")
    with raises_naming(InvalidProof, "mallory", match="Π_mod"):
        verify_aux_info(relabelled, "mallory", PARAMS, SESSION)


def test_unsupported_version_rejected() -> None:
    newer = dataclasses.replace(public("alice"), version=2)
    with raises_naming(InvalidParameters, "alice", match="version"):
        verify_aux_info(newer, "alice", PARAMS, SESSION)


@pytest.mark.parametrize("field", ["n", "s", "t", "w", "x", "z", "A", "prm z"])
def test_tampered_aux_info_rejected(field: str) -> None:
    aux = public("alice")
    n = aux.n
    if field == "n":
        tampered = dataclasses.replace(aux, n=public("bob").n)
    elif field in ("s", "t"):
        # Still a valid-looking element of ⟨t⟩ (s·t, t²), so only the proofs can object.
        if field == "s":
            tampered = dataclasses.replace(aux, s=aux.s * aux.t % n)
        else:
            tampered = dataclasses.replace(aux, t=aux.t * aux.t % n)
    elif field == "w":
        w = aux.mod_proof.w + 1
        while gmpy2.jacobi(w, n) != -1:
            w += 1
        tampered = dataclasses.replace(aux, mod_proof=dataclasses.replace(aux.mod_proof, w=w))
    elif field in ("x", "z"):
        responses = list(aux.mod_proof.responses)
        r = responses[5]
        responses[5] = dataclasses.replace(r, **{field: getattr(r, field) * 4 % n})
        tampered = dataclasses.replace(
            aux, mod_proof=dataclasses.replace(aux.mod_proof, responses=tuple(responses))
        )
    else:
        name = "A" if field == "A" else "z"
        values = list(getattr(aux.prm_proof, name))
        values[7] = values[7] * aux.t % n if name == "A" else values[7] + 1
        tampered = dataclasses.replace(
            aux, prm_proof=dataclasses.replace(aux.prm_proof, **{name: tuple(values)})
        )
    # Another N may leave s or t out of range for it: either way, Alice is named.
    with raises_naming((InvalidProof, InvalidRingPedersen), "alice"):
        verify_aux_info(tampered, "alice", PARAMS, SESSION)


@pytest.mark.parametrize("count", [0, 1, 80, PARAMS.iterations - 1])
def test_too_few_iterations_rejected(count: int) -> None:
    """TSSHOCK class: the verifier's repetition count, not the proof's, is what counts."""
    aux = public("alice")
    short_mod = dataclasses.replace(aux.mod_proof, responses=aux.mod_proof.responses[:count])
    with raises_naming(InvalidProof, "alice", match="repetitions"):
        verify_aux_info(dataclasses.replace(aux, mod_proof=short_mod), "alice", PARAMS, SESSION)
    short_prm = PrmProof(A=aux.prm_proof.A[:count], z=aux.prm_proof.z[:count])
    with raises_naming(InvalidProof, "alice", match="repetitions"):
        verify_aux_info(dataclasses.replace(aux, prm_proof=short_prm), "alice", PARAMS, SESSION)


def test_modulus_below_configured_size_rejected() -> None:
    """A 2048-bit modulus is refused by a verifier configured for 3072 bits."""
    with raises_naming(InvalidModulus, "alice", match="below the configured 3072"):
        verify_aux_info(public("alice"), "alice", PRODUCTION, SESSION)


def test_short_prime_pair_refused_by_generation() -> None:
    p, q = safe_primes(1024)[:2]
    with pytest.raises(InvalidParameters, match="2048-bit modulus, not 3072"):
        generate_aux_info("alice", PRODUCTION, primes=(p, q), session_id=SESSION)
    with pytest.raises(InvalidParameters, match="safe primes"):
        generate_aux_info("alice", PARAMS, primes=(p, p), session_id=SESSION)
    non_safe = prime_congruent(1024, 3, 4, "not-safe")
    with pytest.raises(InvalidParameters, match="safe primes"):
        generate_aux_info("alice", PARAMS, primes=(p, non_safe), session_id=SESSION)


def test_oversized_modulus_rejected() -> None:
    huge = dataclasses.replace(public("alice"), n=public("alice").n << 4096 | 1)
    with raises_naming(InvalidModulus, "alice", match="implausibly large"):
        verify_aux_info(huge, "alice", PARAMS, SESSION)


def test_even_modulus_rejected() -> None:
    even = dataclasses.replace(public("alice"), n=public("alice").n + 1)
    with raises_naming(InvalidModulus, "alice", match="odd"):
        verify_aux_info(even, "alice", PARAMS, SESSION)


def _aux_transcript(party_id: str, n: int, s: int, t: int, step: bytes) -> Transcript:
    """The transcript a cheater must reproduce to forge the proofs of :func:`party`."""
    return aux_info._aux_transcript(SESSION, party_id, n, s, t, step)


def _cheating_aux(party_id: str, primes: list[int]) -> AuxInfoPublic:
    """Aux info for N = ∏ primes from a cheating prover: ring-Pedersen over N, Π_mod
    forged with the factors, and an honest Π_prm (λ is known)."""
    n = 1
    for p in primes:
        n *= p
    phi = 1
    for p in primes:
        phi *= p - 1
    rng = DeterministicRng(f"cheat/{party_id}")
    t = pow(2 + int.from_bytes(rng(32), "big"), 2, n)
    lam = int.from_bytes(rng(300), "big") % phi
    s = pow(t, lam, n)
    forged, _ = forge_mod_proof(primes, _aux_transcript(party_id, n, s, t, b"pi-mod"))
    rp_secret = RingPedersenSecret(RingPedersenParameters(n, s, t), lam, phi)
    prm_proof = prm.prove(
        rp_secret, _aux_transcript(party_id, n, s, t, b"pi-prm"), rng, params=PARAMS
    )
    return AuxInfoPublic(party_id=party_id, n=n, s=s, t=t, mod_proof=forged, prm_proof=prm_proof)


def test_non_blum_modulus_rejected() -> None:
    p = prime_congruent(1024, 1, 4, "aux-non-blum")
    q = safe_primes(1024)[6]
    cheat = _cheating_aux("mallory", [p, q])
    assert cheat.n.bit_length() == 2048
    with raises_naming(InvalidProof, "mallory", match="Π_mod"):
        verify_aux_info(cheat, "mallory", PARAMS, SESSION)


def test_prime_modulus_rejected() -> None:
    n = int(gmpy2.next_prime(public("alice").n))
    cheat = dataclasses.replace(public("alice"), party_id="mallory", n=n)
    with raises_naming(InvalidModulus, "mallory", match="prime"):
        verify_aux_info(cheat, "mallory", PARAMS, SESSION)


@pytest.mark.parametrize("case", ["s=t", "t=N-1", "s=1", "t order 2"])
def test_weak_ring_pedersen_rejected(case: str) -> None:
    aux = public("alice")
    p, q = secret("alice").paillier.p, secret("alice").paillier.q
    order_two = order_two_element(p, q)
    assert pow(order_two, 2, aux.n) == 1
    s, t = {
        "s=t": (aux.t, aux.t),
        "t=N-1": (aux.s, aux.n - 1),
        "s=1": (1, aux.t),
        "t order 2": (aux.s, order_two),
    }[case]
    with raises_naming(InvalidRingPedersen, "alice"):
        verify_aux_info(dataclasses.replace(aux, s=s, t=t), "alice", PARAMS, SESSION)


def test_s_outside_subgroup_of_t_rejected() -> None:
    """s a non-residue while t is a square: no λ exists, so Π_prm cannot be made."""
    aux, sec = public("alice"), secret("alice")
    p, q = sec.paillier.p, sec.paillier.q
    rng = DeterministicRng("aux-non-residue")
    while True:
        s = int.from_bytes(rng(300), "big") % aux.n
        if gmpy2.legendre(s, p) == -1 and gmpy2.legendre(s, q) == -1:
            break
    # The cheater redoes Π_mod honestly for the new (s, t), so only Π_prm can object.
    mod_proof = mod.prove((p, q), _aux_transcript("alice", aux.n, s, aux.t, b"pi-mod"), rng)
    forged, _ = forge_prm_proof(
        RingPedersenParameters(aux.n, s, aux.t),
        lambda: _aux_transcript("alice", aux.n, s, aux.t, b"pi-prm"),
    )
    cheat = dataclasses.replace(aux, s=s, mod_proof=mod_proof, prm_proof=forged)
    with raises_naming(InvalidProof, "alice", match="Π_prm"):
        verify_aux_info(cheat, "alice", PARAMS, SESSION)


# ---------------------------------------------------------------------------------------
# Π_fac, pairwise


def _dummy_public(party_id: str, n: int) -> AuxInfoPublic:
    """Only N and the id matter to Π_fac; its Π_mod/Π_prm are checked elsewhere."""
    return AuxInfoPublic(
        party_id=party_id,
        n=n,
        s=2,
        t=3,
        mod_proof=ModProof(w=1, responses=()),
        prm_proof=PrmProof(A=(), z=()),
    )


def test_small_factor_modulus_rejected_naming_prover() -> None:
    """BitForge / CVE-2023-33241: N = (product of small primes) × large prime."""
    p, q = bitforge_modulus(256, "aux-bitforge")
    mallory = _dummy_public("mallory", p * q)
    proof = fac.prove(
        (p, q),
        public("alice").ring_pedersen,
        _fac_transcript(SESSION, "mallory", "alice"),
        DeterministicRng("bitforge"),
        params=PARAMS,
    )
    with raises_naming(InvalidProof, "mallory", match="Π_fac"):
        verify_no_small_factors(
            proof, mallory, public("alice"), SESSION, "mallory", "alice", params=PARAMS
        )


def _fac_transcript(session_id: bytes, prover: str, verifier: str) -> Transcript:
    return aux_info._fac_transcript(session_id, prover, verifier)


def test_fac_proof_replayed_to_another_verifier_or_session_rejected() -> None:
    proof = prove_no_small_factors(
        secret("alice"), public("bob"), SESSION, "alice", "bob", params=PARAMS
    )
    with raises_naming(InvalidProof, "alice"):
        verify_no_small_factors(
            proof, public("alice"), public("carol"), SESSION, "alice", "carol", params=PARAMS
        )
    with raises_naming(InvalidProof, "alice"):
        verify_no_small_factors(
            proof, public("alice"), public("bob"), b"other", "alice", "bob", params=PARAMS
        )
    # Carol claims Alice's proof as hers (same N would be caught by check_distinct anyway).
    with raises_naming(InvalidProof, "carol"):
        verify_no_small_factors(
            proof, public("carol"), public("bob"), SESSION, "carol", "bob", params=PARAMS
        )


@pytest.mark.parametrize("field", ["P", "z1", "z2", "v", "sigma"])
def test_tampered_fac_proof_rejected_naming_prover(field: str) -> None:
    proof = prove_no_small_factors(
        secret("bob"), public("carol"), SESSION, "bob", "carol", params=PARAMS
    )
    tampered = dataclasses.replace(proof, **{field: getattr(proof, field) + 2})
    with raises_naming(InvalidProof, "bob"):
        verify_no_small_factors(
            tampered, public("bob"), public("carol"), SESSION, "bob", "carol", params=PARAMS
        )


def test_fac_party_id_mismatches_refused() -> None:
    with pytest.raises(InvalidParameters):
        prove_no_small_factors(
            secret("alice"), public("bob"), SESSION, "alice", "alice", params=PARAMS
        )
    with pytest.raises(InvalidParameters):
        prove_no_small_factors(
            secret("alice"), public("bob"), SESSION, "carol", "bob", params=PARAMS
        )
    proof = prove_no_small_factors(
        secret("alice"), public("bob"), SESSION, "alice", "bob", params=PARAMS
    )
    with raises_naming(InvalidParameters, "carol"):
        verify_no_small_factors(
            proof, public("alice"), public("bob"), SESSION, "carol", "bob", params=PARAMS
        )


# ---------------------------------------------------------------------------------------
# Distinctness across parties


def test_duplicate_modulus_rejected_naming_both() -> None:
    copy = dataclasses.replace(public("alice"), party_id="carol")
    with raises_naming(InvalidModulus, "alice", "carol", match="reused"):
        check_distinct([public("alice"), public("bob"), copy])


def test_reused_ring_pedersen_value_rejected() -> None:
    reuse_s = dataclasses.replace(public("carol"), s=public("alice").s)
    with raises_naming(InvalidRingPedersen, "alice", "carol"):
        check_distinct([public("alice"), public("bob"), reuse_s])
    # t of one party used as s of another counts too.
    cross = dataclasses.replace(public("carol"), s=public("bob").t)
    with raises_naming(InvalidRingPedersen, "bob", "carol"):
        check_distinct([public("alice"), public("bob"), cross])


def test_duplicate_party_ids_rejected() -> None:
    with raises_naming(InvalidParameters, "alice"):
        check_distinct([public("alice"), public("bob"), public("alice")])


# ---------------------------------------------------------------------------------------
# Production size


def test_full_generation_at_production_size() -> None:
    """One party generates fresh 1536-bit safe primes and its 3072-bit aux info; a second
    party (from the test primes) verifies it and they exchange Π_fac both ways."""
    start = time.perf_counter()
    alice_secret, alice = generate_aux_info("alice", PRODUCTION, session_id=SESSION)
    generated = time.perf_counter() - start
    assert alice.n.bit_length() == 3072
    assert gmpy2.is_prime(alice_secret.paillier.p)
    assert alice_secret.paillier.p % 4 == 3

    p, q = safe_primes(1536)[:2]
    bob_secret, bob = generate_aux_info(
        "bob", PRODUCTION, DeterministicRng("bob-3072"), (p, q), session_id=SESSION
    )
    verify_aux_info(alice, "alice", PRODUCTION, SESSION)
    verify_aux_info(bob, "bob", PRODUCTION, SESSION)
    check_distinct([alice, bob])
    to_bob = prove_no_small_factors(alice_secret, bob, SESSION, "alice", "bob", params=PRODUCTION)
    verify_no_small_factors(to_bob, alice, bob, SESSION, "alice", "bob", params=PRODUCTION)
    to_alice = prove_no_small_factors(bob_secret, alice, SESSION, "bob", "alice", params=PRODUCTION)
    verify_no_small_factors(to_alice, bob, alice, SESSION, "bob", "alice", params=PRODUCTION)
    assert AuxInfoPublic.from_json(alice.to_json()) == alice
    print(f"3072-bit aux info generated in {generated:.1f} s")
