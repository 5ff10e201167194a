"""In-process runs of the DKG and of FROST signing, for tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from mpc.frost import (
    Ciphersuite,
    Identifier,
    KeyShare,
    PublicKeyPackage,
    Signature,
    SignatureShare,
    SigningPackage,
    aggregate,
    commit,
    dkg,
    sign,
)
from mpc.group import Rng

KeySplit: TypeAlias = tuple[dict[Identifier, KeyShare], PublicKeyPackage]
"""Each party's key share and the group's public key package: what a DKG or a dealer yields."""


def identifiers_for(cs: Ciphersuite, names: Sequence[str]) -> list[Identifier]:
    return [Identifier.derive(cs, name.encode()) for name in names]


def run_dkg(
    cs: Ciphersuite, identifiers: Sequence[Identifier], min_signers: int, rng: Rng
) -> KeySplit:
    """All three DKG parts for every party; asserts that every party derived the same key."""
    n = len(identifiers)
    round1 = {i: dkg.part1(cs, i, n, min_signers, rng) for i in identifiers}
    round2 = {
        i: dkg.part2(round1[i][0], [round1[j][1] for j in identifiers if j != i])
        for i in identifiers
    }
    results = {
        i: dkg.part3(round2[i][0], [round2[j][1][i] for j in identifiers if j != i])
        for i in identifiers
    }
    publics = {result[1] for result in results.values()}
    first = next(iter(results.values()))[1]
    assert all(
        p.verifying_key == first.verifying_key
        and dict(p.verifying_shares) == dict(first.verifying_shares)
        for p in publics
    )
    return {i: result[0] for i, result in results.items()}, first


def sign_round(
    key_shares: Sequence[KeyShare], message: bytes, rng: Rng
) -> tuple[SigningPackage, list[SignatureShare]]:
    """Round one and round two for the given signers; returns the package and the shares."""
    cs = key_shares[0].ciphersuite
    round1 = [commit(k, rng) for k in key_shares]
    package = SigningPackage(cs, [c for _, c in round1], message)
    shares = [sign(package, nonces, k) for (nonces, _), k in zip(round1, key_shares, strict=True)]
    return package, shares


def sign_message(
    key_shares: Sequence[KeyShare], public: PublicKeyPackage, message: bytes, rng: Rng
) -> Signature:
    package, shares = sign_round(key_shares, message, rng)
    return aggregate(package, shares, public)
