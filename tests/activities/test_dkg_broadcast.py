"""DKG round 1 as a reliable broadcast: signed packages, echoes, and who is named.

The attack: the relay (the workflow, which hands every party its inputs) colludes with a
malicious sender, eu-2, which makes two round-1 packages for one ceremony and signs both;
us-1 gets the second one, every other party the first, and eu-2 deals us-1 shares from the
second polynomial. Every message is validly signed and every share verifies against what
its recipient received, so without an echo us-1 would end the DKG with another group key
than the others. With the echo, every party refuses in round 3, before it opens a share,
naming eu-2 (``BroadcastEquivocation``).
"""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities.models import DkgRound2Result, DkgRound3Input, EchoEntry
from activities.party import PartyActivities
from activities.protocol import identifier
from mpc.frost import FROST_ED25519, dkg
from mpc.frost.serialization import decode, encode
from mpc.sealing import seal
from tests.activities.test_party import (
    DKG,
    PARTIES,
    WALLET,
    Deployment,
    _deployment,
    _dkg_round1,
    _dkg_round2_input,
    _sign_package,
)

CS = FROST_ED25519


def _round1(deployment: Deployment) -> tuple[dict[str, str], dict[str, str]]:
    round1 = _dkg_round1(deployment.parties, CS.id)
    return {p: r.package for p, r in round1.items()}, {p: r.signature for p, r in round1.items()}


def _round3_input(
    deployment: Deployment, round2: dict[str, DkgRound2Result], party: str
) -> DkgRound3Input:
    echoes = {s: r.echo for s, r in round2.items() if s != party and r.echo is not None}
    return DkgRound3Input(
        wallet_id=WALLET,
        ceremony_id=DKG,
        ciphersuite=CS.id,
        parties=deployment.refs,
        sealed_shares={s: r.sealed_shares[party] for s, r in round2.items() if s != party},
        echoes=echoes,
    )


def test_an_equivocating_sender_is_named_by_every_party_before_any_share_is_kept() -> None:
    deployment = _deployment()
    packages, signatures = _round1(deployment)
    # eu-2's second package for this very ceremony, signed by eu-2 like the first.
    second_secret, second = dkg.part1(CS, identifier(CS, "eu-2"), len(PARTIES), 3)
    second_package = encode(second).hex()
    to_us1 = (
        {**packages, "eu-2": second_package},
        {
            **signatures,
            "eu-2": _sign_package(deployment.message_keys["eu-2"], "eu-2", second_package, CS.id),
        },
    )
    round2 = {}
    for party, activities in deployment.parties.items():
        seen, signed = to_us1 if party == "us-1" else (packages, signatures)
        # Each party's view verifies on its own: the round-2 checks cannot see the attack.
        round2[party] = activities.dkg_round2(
            _dkg_round2_input(CS.id, seen, deployment.refs, signed)
        )
    # eu-2 deals us-1 a share of the second polynomial, sealed like any other.
    _, second_shares = dkg.part2(
        second_secret,
        [decode(bytes.fromhex(packages[p]), dkg.Round1Package) for p in PARTIES if p != "eu-2"],
    )
    sealed = seal(
        second_shares[identifier(CS, "us-1")].signing_share.to_bytes(),
        session_id=PartyActivities._dkg_session(WALLET, DKG, CS.id, PARTIES),
        sender="eu-2",
        sender_key=deployment.sealing_keys["eu-2"],
        recipient="us-1",
        recipient_public_key=deployment.sealing_keys["us-1"].public_key,
    )
    eu2 = round2["eu-2"]
    round2["eu-2"] = eu2.model_copy(
        update={"sealed_shares": {**eu2.sealed_shares, "us-1": sealed.to_bytes().hex()}}
    )
    for party, activities in deployment.parties.items():
        request = _round3_input(deployment, round2, party)
        with pytest.raises(ApplicationError) as caught:
            activities.dkg_round3(request)
        assert caught.value.type == "BroadcastEquivocation", party
        assert caught.value.details[0] == ["eu-2"]
        assert caught.value.non_retryable
        # Nothing was kept: a retry refuses again rather than answer a stored key.
        with pytest.raises(ApplicationError):
            activities.dkg_round3(request)


def test_a_retried_round2_answers_its_first_echo() -> None:
    deployment = _deployment()
    packages, signatures = _round1(deployment)
    us1 = deployment.parties["us-1"]
    first = us1.dkg_round2(_dkg_round2_input(CS.id, packages, deployment.refs, signatures))
    assert first.echo is not None
    assert set(first.echo.entries) == set(PARTIES)
    # A retry, even one handed another (validly signed) package, echoes what it first did.
    _, second = dkg.part1(CS, identifier(CS, "eu-2"), len(PARTIES), 3)
    other = encode(second).hex()
    again = us1.dkg_round2(
        _dkg_round2_input(
            CS.id,
            {**packages, "eu-2": other},
            deployment.refs,
            {
                **signatures,
                "eu-2": _sign_package(deployment.message_keys["eu-2"], "eu-2", other, CS.id),
            },
        )
    )
    assert again == first


def test_a_package_carrying_another_partys_identifier_is_refused_naming_its_signer() -> None:
    deployment = _deployment()
    packages, signatures = _round1(deployment)
    # eu-2 signs, as its own broadcast, a package made under us-1's identifier.
    _, impostor = dkg.part1(CS, identifier(CS, "us-1"), len(PARTIES), 3)
    packages["eu-2"] = encode(impostor).hex()
    signatures["eu-2"] = _sign_package(
        deployment.message_keys["eu-2"], "eu-2", packages["eu-2"], CS.id
    )
    with pytest.raises(ApplicationError) as caught:
        deployment.parties["us-2"].dkg_round2(
            _dkg_round2_input(CS.id, packages, deployment.refs, signatures)
        )
    assert caught.value.type == "SenderMismatch"
    assert caught.value.details[0] == ["eu-2"]


def test_a_package_relayed_under_another_name_is_refused() -> None:
    """The sender is whoever's key verifies, never the relay's label: us-1's package
    (signed by us-1) handed over as eu-2's does not verify as eu-2's."""
    deployment = _deployment()
    packages, signatures = _round1(deployment)
    packages["eu-2"], signatures["eu-2"] = packages["us-1"], signatures["us-1"]
    with pytest.raises(ApplicationError) as caught:
        deployment.parties["us-2"].dkg_round2(
            _dkg_round2_input(CS.id, packages, deployment.refs, signatures)
        )
    assert caught.value.type == "InvalidBroadcastSignature"
    assert caught.value.details[0] == ["eu-2"]


def test_unsigned_packages_are_refused_without_blame() -> None:
    deployment = _deployment()
    packages, _ = _round1(deployment)
    with pytest.raises(ApplicationError) as caught:
        deployment.parties["us-2"].dkg_round2(_dkg_round2_input(CS.id, packages, deployment.refs))
    assert caught.value.type == "IncompleteBroadcast"
    assert caught.value.details[0] == []


def test_a_false_echo_names_its_echoer() -> None:
    deployment = _deployment()
    packages, signatures = _round1(deployment)
    round2 = {
        p: a.dkg_round2(_dkg_round2_input(CS.id, packages, deployment.refs, signatures))
        for p, a in deployment.parties.items()
    }
    # us-2's echo claims eu-1 sent something else (with eu-1's genuine signature of
    # what it did send, which does not cover the claimed digest).
    echo = round2["us-2"].echo
    assert echo is not None
    entry = echo.entries["eu-1"]
    forged = echo.model_copy(
        update={
            "entries": {
                **echo.entries,
                "eu-1": EchoEntry(payload_digest="00" * 32, signature=entry.signature),
            }
        }
    )
    round2["us-2"] = round2["us-2"].model_copy(update={"echo": forged})
    with pytest.raises(ApplicationError) as caught:
        deployment.parties["us-1"].dkg_round3(_round3_input(deployment, round2, "us-1"))
    assert caught.value.type == "InvalidEcho"
    assert caught.value.details[0] == ["us-2"]
    # Without every echo, round 3 refuses too (and names nobody).
    request = _round3_input(deployment, round2, "eu-1")
    with pytest.raises(ApplicationError) as missing:
        deployment.parties["eu-1"].dkg_round3(request.model_copy(update={"echoes": {}}))
    assert missing.value.type == "IncompleteBroadcast"
    assert missing.value.details[0] == []
    # The honest parties' echoes agree: with them, the DKG completes.
    round2["us-2"] = round2["us-2"].model_copy(update={"echo": echo})
    keys = {
        p: a.dkg_round3(_round3_input(deployment, round2, p)).public_key_package
        for p, a in deployment.parties.items()
    }
    assert len(set(keys.values())) == 1
