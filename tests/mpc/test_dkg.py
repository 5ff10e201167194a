"""The dealerless DKG: every check runs before arithmetic and names the culprit."""

from __future__ import annotations

import dataclasses

import pytest

from mpc.frost import FROST_SECP256K1, Ciphersuite, Identifier, dkg
from mpc.frost.errors import (
    DuplicateIdentifier,
    FrostError,
    IncorrectNumberOfCommitments,
    IncorrectNumberOfPackages,
    InvalidParameters,
    InvalidProofOfKnowledge,
    InvalidSecretShare,
    UnknownIdentifier,
)
from mpc.frost.signature import Signature
from tests.helpers.ceremony import identifiers_for, run_dkg
from tests.helpers.rng import DeterministicRng
from tests.helpers.suites import PARTIES, SUITE_IDS, SUITES


@pytest.fixture(params=SUITES, ids=SUITE_IDS)
def setup(request: pytest.FixtureRequest):
    """Round 1 of a 3-of-6 DKG; returns the suite, the identifiers and every party's output."""
    cs: Ciphersuite = request.param
    ids = identifiers_for(cs, PARTIES)
    rng = DeterministicRng(f"dkg/{cs.id}")
    round1 = {i: dkg.part1(cs, i, len(ids), 3, rng) for i in ids}
    return cs, ids, round1


Round1 = dict[Identifier, tuple[dkg.Round1SecretPackage, dkg.Round1Package]]


def _others(ids: list[Identifier], round1: Round1, me: Identifier) -> list[dkg.Round1Package]:
    return [round1[j][1] for j in ids if j != me]


def _part2_culprits(
    ids: list[Identifier],
    round1: Round1,
    me: Identifier,
    forged: dkg.Round1Package,
    error: type[FrostError],
) -> tuple[Identifier, ...]:
    """The culprits of the ``error`` that ``me``'s part 2 must raise when ``forged`` arrives
    in place of its sender's round-1 package."""
    packages = [forged if p.sender == forged.sender else p for p in _others(ids, round1, me)]
    with pytest.raises(error) as caught:
        dkg.part2(round1[me][0], packages)
    return caught.value.culprits


def test_honest_run_agrees(setup) -> None:
    cs, ids, _ = setup
    shares, public = run_dkg(cs, ids, 3, DeterministicRng("honest"))
    assert set(shares) == set(ids)
    for identifier, share in shares.items():
        assert public.verifying_shares[identifier] == share.verifying_share
        assert cs.group.base_mul(share.signing_share) == share.verifying_share


def test_bad_proof_of_knowledge_names_the_culprit(setup) -> None:
    cs, ids, round1 = setup
    me, cheater = ids[0], ids[3]
    package = round1[cheater][1]
    proof = package.proof_of_knowledge
    forged = dataclasses.replace(
        package, proof_of_knowledge=Signature(cs, proof.R, proof.z + cs.group.scalar(1))
    )
    assert _part2_culprits(ids, round1, me, forged, InvalidProofOfKnowledge) == (cheater,)


def test_proof_replayed_under_another_identifier_fails(setup) -> None:
    # The proof binds the sender's identifier: copying a peer's commitment and proof
    # (a rogue-key attempt) does not pass for another party.
    _cs, ids, round1 = setup
    me, victim, copier = ids[0], ids[1], ids[2]
    copied = dataclasses.replace(round1[victim][1], sender=copier)
    assert _part2_culprits(ids, round1, me, copied, InvalidProofOfKnowledge) == (copier,)


@pytest.mark.parametrize("length", [2, 4, 1])
def test_wrong_commitment_count_names_the_culprit(setup, length: int) -> None:
    _cs, ids, round1 = setup
    me, cheater = ids[0], ids[5]
    package = round1[cheater][1]
    commitment = (package.commitment * 2)[:length]
    bad = dataclasses.replace(package, commitment=commitment)
    assert _part2_culprits(ids, round1, me, bad, IncorrectNumberOfCommitments) == (cheater,)


def test_duplicate_identifier_is_named(setup) -> None:
    _cs, ids, round1 = setup
    me = ids[0]
    packages = _others(ids, round1, me)
    packages[-1] = packages[0]
    with pytest.raises(DuplicateIdentifier) as caught:
        dkg.part2(round1[me][0], packages)
    assert caught.value.culprits == (packages[0].sender,)


def test_package_count_and_self_packages_are_checked(setup) -> None:
    _cs, ids, round1 = setup
    me = ids[0]
    with pytest.raises(IncorrectNumberOfPackages):
        dkg.part2(round1[me][0], _others(ids, round1, me)[:-1])
    with pytest.raises(UnknownIdentifier) as caught:
        dkg.part2(round1[me][0], [round1[me][1], *_others(ids, round1, me)[1:]])
    assert caught.value.culprits == (me,)


def test_share_failing_vss_names_the_culprit(setup) -> None:
    cs, ids, round1 = setup
    round2 = {i: dkg.part2(round1[i][0], _others(ids, round1, i)) for i in ids}
    me, cheater = ids[2], ids[4]
    incoming = [round2[j][1][me] for j in ids if j != me]
    incoming = [
        dataclasses.replace(s, signing_share=s.signing_share + cs.group.scalar(7))
        if s.sender == cheater
        else s
        for s in incoming
    ]
    with pytest.raises(InvalidSecretShare) as caught:
        dkg.part3(round2[me][0], incoming)
    assert caught.value.culprits == (cheater,)


def test_part3_checks_senders_and_recipients(setup) -> None:
    _cs, ids, round1 = setup
    round2 = {i: dkg.part2(round1[i][0], _others(ids, round1, i)) for i in ids}
    me = ids[1]
    incoming = [round2[j][1][me] for j in ids if j != me]
    with pytest.raises(IncorrectNumberOfPackages):
        dkg.part3(round2[me][0], incoming[:-1])
    misdirected = [round2[ids[0]][1][ids[2]], *incoming[1:]]  # a share meant for another party
    with pytest.raises(UnknownIdentifier):
        dkg.part3(round2[me][0], misdirected)


def test_threshold_and_party_count_are_validated() -> None:
    cs = FROST_SECP256K1
    me = Identifier.derive(cs, b"us-1")
    with pytest.raises(InvalidParameters):
        dkg.part1(cs, me, 3, 4)  # threshold above the number of parties
    with pytest.raises(InvalidParameters):
        dkg.part1(cs, me, 5, 1)
    with pytest.raises(InvalidParameters):
        dkg.part1(cs, me, 1, 1)


def test_secret_packages_do_not_print_secrets(setup) -> None:
    _cs, ids, round1 = setup
    secret = round1[ids[0]][0]
    assert secret.coefficients[0].to_bytes().hex() not in repr(secret)
    round2_secret, shares = dkg.part2(secret, _others(ids, round1, ids[0]))
    share = next(iter(shares.values()))
    assert share.signing_share.to_bytes().hex() not in repr(share)
    assert "redacted" in repr(round2_secret)
