"""Hypothesis: any change to a message, key, share, commitment or signature breaks it."""

from __future__ import annotations

import dataclasses
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.errors import InvalidSignature
from mpc.frost import (
    FROST_SECP256K1_TR,
    Ciphersuite,
    KeyShare,
    PublicKeyPackage,
    SigningCommitments,
    SigningPackage,
    aggregate,
)
from mpc.frost.errors import FrostError
from mpc.group import GroupError
from tests.helpers.ceremony import identifiers_for, run_dkg, sign_round
from tests.helpers.rng import DeterministicRng
from tests.helpers.suites import SUITES

EXAMPLES = settings(max_examples=30, deadline=None)


@cache
def key(cs: Ciphersuite) -> tuple[tuple[KeyShare, ...], PublicKeyPackage]:
    ids = identifiers_for(cs, ["us-1", "us-2", "eu-1", "eu-2", "apac-1"])
    shares, public = run_dkg(cs, ids, 3, DeterministicRng(f"prop/{cs.id}"))
    return tuple(shares[i] for i in ids), public


@cache
def signed(cs: Ciphersuite, message: bytes):
    shares, public = key(cs)
    package, sig_shares = sign_round(list(shares[:3]), message, DeterministicRng(message))
    return package, sig_shares, aggregate(package, sig_shares, public)


def flip(data: bytes, index: int, mask: int) -> bytes:
    index %= len(data)
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


MESSAGE = b"transfer 1.5 ETH to 0x00000000219ab540356cbb839cbe05303d7705fa"
masks = st.integers(min_value=1, max_value=255)
positions = st.integers(min_value=0, max_value=10_000)
suites = st.sampled_from(SUITES)


@pytest.mark.parametrize("part", ["message", "signature", "key"])
@EXAMPLES
@given(cs=suites, index=positions, mask=masks)
def test_changed_message_signature_or_key_fails(
    part: str, cs: Ciphersuite, index: int, mask: int
) -> None:
    _, _, signature = signed(cs, MESSAGE)
    _, public = key(cs)
    parts = {
        "message": MESSAGE,
        "signature": signature.to_bytes(),
        "key": public.verifying_key.to_bytes(),
    }
    if part == "key" and cs is FROST_SECP256K1_TR:
        parts["key"] = parts["key"][1:]  # BIP340 keys are x-only: every byte is significant
    parts[part] = flip(parts[part], index, mask)
    with pytest.raises(InvalidSignature):
        cs.verify_bytes(parts["message"], parts["signature"], parts["key"])


@EXAMPLES
@given(cs=suites, signer=st.integers(min_value=0, max_value=2), index=positions, mask=masks)
def test_changed_share_is_caught_and_named(
    cs: Ciphersuite, signer: int, index: int, mask: int
) -> None:
    package, sig_shares, _ = signed(cs, MESSAGE)
    _, public = key(cs)
    target = sig_shares[signer]
    try:
        changed = cs.group.deserialize_scalar(flip(target.share.to_bytes(), index, mask))
    except GroupError:
        return  # the flipped bytes are not a scalar at all: refused at decoding
    tampered = list(sig_shares)
    tampered[signer] = dataclasses.replace(target, share=changed)
    with pytest.raises(FrostError) as caught:
        aggregate(package, tampered, public)
    assert caught.value.culprits == (target.identifier,)


@EXAMPLES
@given(
    cs=suites,
    signer=st.integers(min_value=0, max_value=2),
    which=st.sampled_from(["hiding", "binding"]),
    index=positions,
    mask=masks,
)
def test_changed_commitment_fails(
    cs: Ciphersuite, signer: int, which: str, index: int, mask: int
) -> None:
    package, sig_shares, _ = signed(cs, MESSAGE)
    _, public = key(cs)
    original = package.commitments[signer]
    try:
        point = cs.group.deserialize_element(flip(getattr(original, which).to_bytes(), index, mask))
    except GroupError:
        return  # not a valid group element: refused at decoding
    changed = dataclasses.replace(original, **{which: point})
    commitments = [changed if c is original else c for c in package.commitments]
    assert isinstance(changed, SigningCommitments)
    with pytest.raises(FrostError) as caught:
        aggregate(SigningPackage(cs, commitments, MESSAGE), sig_shares, public)
    assert caught.value.culprits  # at least one signer's share no longer checks out
