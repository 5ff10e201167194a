"""FROST end to end: DKG over the reference 3-of-6 policy, every 3-party signer subset,
each signature checked by a verifier we did not write.

- FROST(secp256k1, SHA-256): the RFC 9591 verification equation ``z*G == R + c*PK``,
  evaluated by libsecp256k1 (coincurve), beside our own ``verify``;
- FROST(Ed25519, SHA-512): libsodium's Ed25519 verifier (PyNaCl);
- FROST(secp256k1, SHA-256)-TR: libsecp256k1's BIP340 verifier against the taproot
  output key (BIP341 TapTweak, with and without a script merkle root).
"""

from __future__ import annotations

import itertools

import pytest
from coincurve import PublicKey, PublicKeyXOnly
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from mpc.errors import InvalidSignature
from mpc.frost import (
    FROST_ED25519,
    FROST_SECP256K1,
    FROST_SECP256K1_TR,
    Ciphersuite,
    Identifier,
    PublicKeyPackage,
    Signature,
    aggregate,
)
from mpc.frost.helpers import compute_binding_factors, compute_group_commitment
from mpc.frost.taproot import output_key_x_only, tweak_key_share, tweak_public_key_package
from mpc.group import Secp256k1Element
from tests.helpers.ceremony import KeySplit, identifiers_for, run_dkg, sign_message, sign_round
from tests.helpers.rng import DeterministicRng
from tests.helpers.suites import PARTIES, SUITE_IDS, SUITES


def rfc_equation_by_libsecp256k1(message: bytes, signature: Signature, key: bytes) -> None:
    """RFC 9591 verification for secp256k1, with every point operation done by coincurve."""
    cs = FROST_SECP256K1
    c = cs.challenge(signature.R, cs.group.deserialize_element(key), message)
    lhs = PublicKey.from_valid_secret(signature.z.to_bytes())
    rhs = PublicKey.combine_keys(
        [PublicKey(signature.R.to_bytes()), PublicKey(key).multiply(c.to_bytes())]
    )
    if lhs.format() != rhs.format():
        raise InvalidSignature("RFC 9591 equation fails")


def external_verify(
    cs: Ciphersuite, public: PublicKeyPackage, message: bytes, sig: Signature
) -> None:
    """Verification by code we did not write; raises on failure."""
    encoded = sig.to_bytes()
    if cs is FROST_ED25519:
        VerifyKey(public.verifying_key.to_bytes()).verify(message, encoded)
    elif cs is FROST_SECP256K1:
        rfc_equation_by_libsecp256k1(message, sig, public.verifying_key.to_bytes())
    else:
        assert isinstance(public.verifying_key, Secp256k1Element)
        if not PublicKeyXOnly(public.verifying_key.x_only()).verify(encoded, message):
            raise InvalidSignature("libsecp256k1 rejects the BIP340 signature")


def dkg_with_parity(cs: Ciphersuite, want_odd: bool, threshold: int = 3) -> KeySplit:
    """A real DKG whose group key has the requested Y parity (found by trying seeds)."""
    ids = identifiers_for(cs, PARTIES)
    for seed in range(64):
        shares, public = run_dkg(cs, ids, threshold, DeterministicRng(f"{cs.id}/{seed}"))
        key = public.verifying_key
        if not isinstance(key, Secp256k1Element) or key.has_even_y() != want_odd:
            return shares, public
    raise AssertionError("no key of the requested parity in 64 seeds")


# Y parity is a secp256k1 notion: both parities for the secp256k1 suites, Ed25519 once.
DKG_CASES = [
    (FROST_SECP256K1, False),
    (FROST_SECP256K1, True),
    (FROST_SECP256K1_TR, False),
    (FROST_SECP256K1_TR, True),
    (FROST_ED25519, False),
]


@pytest.mark.parametrize(
    ("cs", "odd_key"),
    DKG_CASES,
    ids=[f"{cs.id}-{'odd' if odd else 'even'}-key" for cs, odd in DKG_CASES],
)
def test_dkg_3_of_6_then_every_3_subset_signs(cs: Ciphersuite, odd_key: bool) -> None:
    shares, public = dkg_with_parity(cs, want_odd=odd_key)
    if isinstance(public.verifying_key, Secp256k1Element):
        assert public.verifying_key.has_even_y() is not odd_key
    rng = DeterministicRng(f"sign/{cs.id}/{odd_key}")
    subsets = list(itertools.combinations(sorted(shares, key=lambda i: i.value), 3))
    assert len(subsets) == 20
    commitment_parities = set()
    for number, subset in enumerate(subsets):
        message = bytes([number]) * 32
        signers = [shares[i] for i in subset]
        if cs is FROST_SECP256K1_TR:
            # Alternate key-path-only outputs (BIP86) and outputs with a script tree.
            root = None if number % 2 == 0 else bytes([0xA0 + number]) * 32
            signers = [tweak_key_share(k, root) for k in signers]
            signing_public = tweak_public_key_package(public, root)
            assert signing_public.verifying_key.x_only() == output_key_x_only(  # type: ignore[attr-defined]
                public.verifying_key, root
            )
        else:
            signing_public = public
        package, sig_shares = sign_round(signers, message, rng)
        signature = aggregate(package, sig_shares, signing_public)
        cs.verify(message, signature, signing_public.verifying_key)
        external_verify(cs, signing_public, message, signature)
        group_commitment = compute_group_commitment(
            package.commitments,
            compute_binding_factors(
                cs, cs.pre_aggregate(signing_public).verifying_key, package.commitments, message
            ),
        )
        if isinstance(group_commitment, Secp256k1Element):
            commitment_parities.add(group_commitment.has_even_y())
        # The signature equals its own decoding (for BIP340: R is returned with even Y).
        assert cs.deserialize_signature(signature.to_bytes()) == signature
        # A signature over another message never verifies.
        with pytest.raises((InvalidSignature, BadSignatureError)):
            external_verify(cs, signing_public, message[::-1] + b"x", signature)
    if cs is not FROST_ED25519:
        # Both parities of the group commitment occurred among the 20 signings.
        assert commitment_parities == {True, False}


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
@pytest.mark.parametrize(("threshold", "parties"), [(2, 2), (11, 20), (20, 20)])
def test_large_policies_sign(cs: Ciphersuite, threshold: int, parties: int) -> None:
    ids = identifiers_for(cs, [f"party-{n}" for n in range(parties)])
    rng = DeterministicRng(f"large/{cs.id}/{threshold}/{parties}")
    shares, public = run_dkg(cs, ids, threshold, rng)
    ordered = sorted(shares, key=lambda i: i.value)
    for subset in (ordered[:threshold], ordered[-threshold:], ordered):
        message = b"quorate" * 5
        signature = sign_message([shares[i] for i in subset], public, message, rng)
        external_verify(cs, public, message, signature)


@pytest.mark.parametrize("cs", SUITES, ids=SUITE_IDS)
def test_identifiers_are_arbitrary_scalars(cs: Ciphersuite) -> None:
    order = cs.group.order
    ids = [Identifier.from_int(cs, v) for v in (order - 1, 2**200 + 7, 1, 0xDEADBEEF)]
    rng = DeterministicRng(f"ids/{cs.id}")
    shares, public = run_dkg(cs, ids, 3, rng)
    signature = sign_message([shares[i] for i in ids[:3]], public, b"m", rng)
    external_verify(cs, public, b"m", signature)


def test_group_commitment_is_recomputed_identically_by_signers_and_coordinator() -> None:
    # Two paths to the same group commitment: the coordinator's aggregate and a direct
    # computation from the signing package agree.
    cs = FROST_SECP256K1
    shares, public = run_dkg(cs, identifiers_for(cs, PARTIES), 3, DeterministicRng("gc"))
    package, sig_shares = sign_round(list(shares.values())[:3], b"msg", DeterministicRng("r"))
    factors = compute_binding_factors(cs, public.verifying_key, package.commitments, b"msg")
    signature = aggregate(package, sig_shares, public)
    assert compute_group_commitment(package.commitments, factors) == signature.R
