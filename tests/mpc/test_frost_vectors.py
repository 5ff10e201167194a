"""RFC 9591 and ZcashFoundation/frost test vectors, step by step.

Sources: tests/vectors/README.md. Each vector fixes the key shares, the nonce randomness
and the message; every intermediate value (nonces, commitments, binding factors, shares,
signature) must match byte for byte. The nonces are fixed and published, so each vector
signs in an isolated registry of consumed nonces (see tests/mpc/frost_nonce_registry.py):
running a vector again in the same process is not a nonce reuse to refuse.
"""

from __future__ import annotations

from typing import Any

import pytest

from mpc.frost import (
    FROST_ED25519,
    FROST_SECP256K1,
    FROST_SECP256K1_TR,
    Ciphersuite,
    Identifier,
    KeyShare,
    PublicKeyPackage,
    SigningPackage,
    aggregate,
    sign,
    verify_signature_share,
)
from mpc.frost.errors import NonceReuse
from mpc.frost.helpers import compute_binding_factors, encode_group_commitment_list
from mpc.frost.round1 import nonce_generate_from_randomness, signing_nonces_from_scalars
from tests.helpers.vectors import load_json
from tests.mpc.frost_nonce_registry import isolated_nonce_registry

CASES = [
    ("cfrg-poc-frost-secp256k1-sha256.json", FROST_SECP256K1, "group_public_key"),
    ("cfrg-poc-frost-ed25519-sha512.json", FROST_ED25519, "group_public_key"),
    ("zf-frost-secp256k1-tr-vectors.json", FROST_SECP256K1_TR, "verifying_key_key"),
]


def _load(
    name: str, cs: Ciphersuite, key_field: str
) -> tuple[Any, dict[int, KeyShare], PublicKeyPackage]:
    vectors = load_json(name)
    inputs = vectors["inputs"]
    group = cs.group
    min_signers = int(vectors["config"]["MIN_PARTICIPANTS"])
    verifying_key = group.deserialize_element(bytes.fromhex(inputs[key_field]))
    # The group secret key is given too: it must be the key of the group public key.
    secret = group.deserialize_scalar(bytes.fromhex(inputs["group_secret_key"]))
    assert group.base_mul(secret) == verifying_key
    key_shares: dict[int, KeyShare] = {}
    for entry in inputs["participant_shares"]:
        identifier = Identifier.from_int(cs, entry["identifier"])
        share = group.deserialize_scalar(bytes.fromhex(entry["participant_share"]))
        key_shares[entry["identifier"]] = KeyShare(
            cs, identifier, share, group.base_mul(share), verifying_key, min_signers
        )
    public = PublicKeyPackage(
        cs,
        {k.identifier: k.verifying_share for k in key_shares.values()},
        verifying_key,
        min_signers,
    )
    return vectors, key_shares, public


@pytest.mark.parametrize(("name", "cs", "key_field"), CASES, ids=[c[0] for c in CASES])
def test_signing_vector_step_by_step(name: str, cs: Ciphersuite, key_field: str) -> None:
    with isolated_nonce_registry():
        _check_signing_vector(name, cs, key_field)


def test_a_vector_signs_again_only_in_a_new_isolated_registry() -> None:
    """Fixed nonces: a second run in one registry is refused, a fresh registry allows it."""
    name, cs, key_field = CASES[0]
    with isolated_nonce_registry():
        _check_signing_vector(name, cs, key_field)
        with pytest.raises(NonceReuse):
            _check_signing_vector(name, cs, key_field)
    with isolated_nonce_registry():
        _check_signing_vector(name, cs, key_field)


def _check_signing_vector(name: str, cs: Ciphersuite, key_field: str) -> None:
    vectors, key_shares, public = _load(name, cs, key_field)
    message = bytes.fromhex(vectors["inputs"]["message"])
    nonces = {}
    commitments = []
    for out in vectors["round_one_outputs"]["outputs"]:
        key_share = key_shares[out["identifier"]]
        hiding = nonce_generate_from_randomness(
            cs, key_share.signing_share, bytes.fromhex(out["hiding_nonce_randomness"])
        )
        binding = nonce_generate_from_randomness(
            cs, key_share.signing_share, bytes.fromhex(out["binding_nonce_randomness"])
        )
        assert hiding.to_bytes().hex() == out["hiding_nonce"]
        assert binding.to_bytes().hex() == out["binding_nonce"]
        signing_nonces, signing_commitments = signing_nonces_from_scalars(
            key_share, hiding, binding
        )
        assert signing_commitments.hiding.to_bytes().hex() == out["hiding_nonce_commitment"]
        assert signing_commitments.binding.to_bytes().hex() == out["binding_nonce_commitment"]
        nonces[out["identifier"]] = signing_nonces
        commitments.append(signing_commitments)
    participants = vectors["inputs"]["participant_list"]
    assert sorted(nonces) == participants

    package = SigningPackage(cs, commitments, message)
    factors = compute_binding_factors(cs, public.verifying_key, package.commitments, message)
    prefix = (
        public.verifying_key.to_bytes()
        + cs.H4(message)
        + cs.H5(encode_group_commitment_list(package.commitments))
    )
    for out in vectors["round_one_outputs"]["outputs"]:
        identifier = Identifier.from_int(cs, out["identifier"])
        assert (prefix + identifier.to_bytes()).hex() == out["binding_factor_input"]
        assert factors[identifier].to_bytes().hex() == out["binding_factor"]

    shares = []
    for out in vectors["round_two_outputs"]["outputs"]:
        share = sign(package, nonces[out["identifier"]], key_shares[out["identifier"]])
        assert share.share.to_bytes().hex() == out["sig_share"]
        verify_signature_share(package, share, public)
        shares.append(share)

    signature = aggregate(package, shares, public)
    assert signature.to_bytes().hex() == vectors["final_output"]["sig"]
    cs.verify_bytes(message, signature.to_bytes(), public.verifying_key.to_bytes())
