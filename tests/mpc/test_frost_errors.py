"""FROST's refusals: every bad input gets a typed error, and cheaters are named."""

from __future__ import annotations

import dataclasses

import pytest

from mpc.frost import (
    FROST_ED25519,
    FROST_SECP256K1,
    FROST_SECP256K1_TR,
    Ciphersuite,
    Identifier,
    SignatureShare,
    SigningCommitments,
    SigningPackage,
    aggregate,
    commit,
    sign,
    verify_signature_share,
)
from mpc.frost.errors import (
    CiphersuiteMismatch,
    DuplicateIdentifier,
    IdentityCommitment,
    InvalidIdentifier,
    InvalidParameters,
    InvalidSignatureShare,
    NonceReuse,
    UnknownIdentifier,
)
from mpc.frost.taproot import tweak_key_share
from tests.helpers.ceremony import identifiers_for, run_dkg, sign_round
from tests.helpers.rng import DeterministicRng
from tests.helpers.suites import PARTIES, SUITE_IDS, SUITES


@pytest.fixture(scope="module", params=SUITES, ids=SUITE_IDS)
def keys(request: pytest.FixtureRequest):
    cs: Ciphersuite = request.param
    shares, public = run_dkg(cs, identifiers_for(cs, PARTIES), 3, DeterministicRng(cs.id))
    return cs, [shares[i] for i in identifiers_for(cs, PARTIES)], public


def _tampered(share: SignatureShare) -> SignatureShare:
    return dataclasses.replace(share, share=share.share + share.ciphersuite.group.scalar(1))


def test_tampered_share_is_rejected_and_its_sender_named(keys) -> None:
    _cs, shares, public = keys
    package, sig_shares = sign_round(shares[:3], b"pay 1 BTC", DeterministicRng("t1"))
    bad = [sig_shares[0], _tampered(sig_shares[1]), sig_shares[2]]
    with pytest.raises(InvalidSignatureShare) as caught:
        aggregate(package, bad, public)
    assert caught.value.culprits == (sig_shares[1].identifier,)
    with pytest.raises(InvalidSignatureShare) as single:
        verify_signature_share(package, bad[1], public)
    assert single.value.culprits == (sig_shares[1].identifier,)
    verify_signature_share(package, sig_shares[1], public)


def test_every_cheater_is_named(keys) -> None:
    _cs, shares, public = keys
    package, sig_shares = sign_round(shares[:4], b"m", DeterministicRng("t2"))
    bad = [_tampered(sig_shares[0]), sig_shares[1], _tampered(sig_shares[2]), sig_shares[3]]
    with pytest.raises(InvalidSignatureShare) as caught:
        aggregate(package, bad, public)
    assert set(caught.value.culprits) == {sig_shares[0].identifier, sig_shares[2].identifier}


def test_share_swapped_between_signers_fails_its_own_check(keys) -> None:
    _cs, shares, public = keys
    package, sig_shares = sign_round(shares[:3], b"m", DeterministicRng("t3"))
    swapped = [
        dataclasses.replace(sig_shares[0], share=sig_shares[1].share),
        dataclasses.replace(sig_shares[1], share=sig_shares[0].share),
        sig_shares[2],
    ]
    # The sum is unchanged, so the aggregate is still a valid signature; each swapped
    # share on its own fails its check and names its sender.
    for share in swapped[:2]:
        with pytest.raises(InvalidSignatureShare) as caught:
            verify_signature_share(package, share, public)
        assert caught.value.culprits == (share.identifier,)


def test_nonces_are_single_use(keys) -> None:
    cs, shares, _ = keys
    rng = DeterministicRng("t4")
    round1 = [commit(k, rng) for k in shares[:3]]
    package = SigningPackage(cs, [c for _, c in round1], b"first")
    nonces = round1[0][0]
    sign(package, nonces, shares[0])
    assert nonces.consumed
    second = SigningPackage(cs, [c for _, c in round1], b"second")
    with pytest.raises(NonceReuse) as caught:
        sign(second, nonces, shares[0])
    assert caught.value.culprits == (shares[0].identifier,)
    assert "redacted" in repr(nonces)


def test_signing_against_foreign_commitments_is_refused_and_keeps_nonces(keys) -> None:
    cs, shares, _ = keys
    rng = DeterministicRng("t5")
    mine, _ = commit(shares[0], rng)
    _, other = commit(shares[0], rng)  # the coordinator substitutes another commitment
    rest = [commit(k, rng)[1] for k in shares[1:3]]
    with pytest.raises(InvalidParameters):
        sign(SigningPackage(cs, [other, *rest], b"m"), mine, shares[0])
    assert not mine.consumed


def test_too_few_signers_and_outsiders_are_refused(keys) -> None:
    cs, shares, _public = keys
    rng = DeterministicRng("t6")
    round1 = [commit(k, rng) for k in shares[:2]]
    package = SigningPackage(cs, [c for _, c in round1], b"m")
    with pytest.raises(InvalidParameters):
        sign(package, round1[0][0], shares[0])
    assert not round1[0][0].consumed
    third = commit(shares[2], rng)[1]
    outsider_nonces, _ = commit(shares[5], rng)
    with pytest.raises(UnknownIdentifier):
        sign(
            SigningPackage(cs, [round1[0][1], round1[1][1], third], b"m"),
            outsider_nonces,
            shares[5],
        )
    assert not outsider_nonces.consumed


def test_aggregate_checks_the_share_set(keys) -> None:
    _cs, shares, public = keys
    package, sig_shares = sign_round(shares[:3], b"m", DeterministicRng("t7"))
    with pytest.raises(InvalidParameters):
        aggregate(package, sig_shares[:2], public)
    with pytest.raises(DuplicateIdentifier):
        aggregate(package, [*sig_shares, sig_shares[0]], public)
    stranger = dataclasses.replace(sig_shares[0], identifier=shares[4].identifier)
    with pytest.raises(UnknownIdentifier):
        aggregate(package, [*sig_shares, stranger], public)


def test_duplicate_signers_in_package_are_refused(keys) -> None:
    cs, shares, _ = keys
    _, commitment = commit(shares[0], DeterministicRng("t8"))
    with pytest.raises(DuplicateIdentifier):
        SigningPackage(cs, [commitment, commitment], b"m")


def test_identity_commitment_is_refused(keys) -> None:
    cs, shares, _public = keys
    _, honest = commit(shares[2], DeterministicRng("t9"))
    for hiding, binding in (
        (cs.group.identity(), honest.binding),
        (honest.hiding, cs.group.identity()),
    ):
        with pytest.raises(IdentityCommitment) as caught:
            SigningCommitments(cs, shares[2].identifier, hiding, binding)
        assert caught.value.culprits == (shares[2].identifier,)


def test_zero_and_foreign_identifiers_are_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        Identifier(FROST_SECP256K1.group.scalar(0))
    with pytest.raises(InvalidIdentifier):
        Identifier.from_int(FROST_ED25519, FROST_ED25519.group.order)


def test_mixed_ciphersuites_are_refused() -> None:
    a = run_dkg(
        FROST_SECP256K1, identifiers_for(FROST_SECP256K1, PARTIES[:3]), 2, DeterministicRng("a")
    )
    _, commitment = commit(next(iter(a[0].values())), DeterministicRng("c"))
    with pytest.raises(CiphersuiteMismatch):
        SigningPackage(FROST_SECP256K1_TR, [commitment], b"m")


def test_taproot_tweak_refuses_other_suites(keys) -> None:
    cs, shares, _ = keys
    if cs is FROST_SECP256K1_TR:
        assert tweak_key_share(shares[0]).ciphersuite is cs
        with pytest.raises(InvalidParameters):
            tweak_key_share(shares[0], b"a merkle root is 32 bytes, not this")
    else:
        with pytest.raises(CiphersuiteMismatch):
            tweak_key_share(shares[0])


def test_secrets_do_not_print(keys) -> None:
    _cs, shares, _ = keys
    text = repr(shares[0]) + str(shares[0]) + repr(shares[0].signing_share)
    assert shares[0].signing_share.to_bytes().hex() not in text
    assert str(shares[0].signing_share.value) not in text
    assert "redacted" in text


def test_exported_nonces_restore_the_same_commitments(keys) -> None:
    from mpc.frost.errors import MalformedPackage
    from mpc.frost.round1 import unsafe_import_signing_nonces

    _cs, shares, _public = keys
    nonces, commitments = commit(shares[0], DeterministicRng("export"))
    restored, restored_commitments = unsafe_import_signing_nonces(shares[0], nonces.unsafe_export())
    assert restored_commitments == commitments
    assert "redacted" in repr(restored)
    with pytest.raises(MalformedPackage):
        unsafe_import_signing_nonces(shares[0], nonces.unsafe_export()[:-1])
    restored.consume()
    with pytest.raises(NonceReuse):
        restored.unsafe_export()
