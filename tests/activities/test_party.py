"""Party activities without Temporal: idempotent retries, single-use nonces, culprits.

The activities are plain methods; here they run against the in-memory vault fake (the
SQLite vault passes the same contract suite, and the integration tests use it for real).
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import pytest
from temporalio.exceptions import ApplicationError

from activities.models import (
    DkgRound1Input,
    DkgRound1Result,
    DkgRound2Input,
    DkgRound3Input,
    PartyRef,
    SignRound1Input,
    SignRound2Input,
)
from activities.party import DKG_ROUND1, PartyActivities
from mpc.broadcast import MessageSigningKeyPair, sign_broadcast
from mpc.frost import FROST_ED25519, FROST_SECP256K1_TR
from mpc.sealing import SealedPayload, SealingKeyPair
from runtime.authorization import RequestAuthorization, RequestAuthorizer, RequestVerifier
from storage.vault.memory import InMemoryShareVault
from tests.helpers.broadcast import provision_message_keys

PARTIES = ("us-1", "us-2", "eu-1", "eu-2")
WALLET = "wallet-1"
DKG = "dkg-ceremony"
AUTHORIZER = RequestAuthorizer.generate()
REQUESTS = RequestVerifier(AUTHORIZER.public_key)


def _authorized(ceremony_id: str, message: str, wallet_id: str = WALLET) -> RequestAuthorization:
    return AUTHORIZER.authorize_sign(ceremony_id, wallet_id, bytes.fromhex(message))


class Deployment(NamedTuple):
    """Parties with their refs, and their keys, for a test to act as a malicious party."""

    parties: dict[str, PartyActivities]
    refs: tuple[PartyRef, ...]
    message_keys: dict[str, MessageSigningKeyPair]
    sealing_keys: dict[str, SealingKeyPair]


def _parties() -> tuple[dict[str, PartyActivities], tuple[PartyRef, ...]]:
    deployment = _deployment()
    return deployment.parties, deployment.refs


def _deployment() -> Deployment:
    keys = {p: SealingKeyPair.generate() for p in PARTIES}
    vaults = {p: InMemoryShareVault(p) for p in PARTIES}
    message_keys = provision_message_keys(vaults)
    activities = {p: PartyActivities(p, vaults[p], keys[p], requests=REQUESTS) for p in PARTIES}
    refs = tuple(PartyRef(id=p, sealing_public_key=keys[p].public_key.raw.hex()) for p in PARTIES)
    return Deployment(activities, refs, message_keys, keys)


def _sign_package(key: MessageSigningKeyPair, sender: str, package: str, cs_id: str) -> str:
    """``sender``'s signature of ``package`` as its round-1 broadcast of :data:`DKG`."""
    return sign_broadcast(
        key,
        session_id=PartyActivities._dkg_session(WALLET, DKG, cs_id, PARTIES),
        round_label=DKG_ROUND1,
        sender=sender,
        payload=bytes.fromhex(package),
    ).hex()


def _dkg_round1(parties: dict[str, PartyActivities], cs_id: str) -> dict[str, DkgRound1Result]:
    """Every party's DKG round 1 of :data:`DKG`, threshold 3."""
    request = DkgRound1Input(
        wallet_id=WALLET, ceremony_id=DKG, ciphersuite=cs_id, threshold=3, parties=PARTIES
    )
    return {p: a.dkg_round1(request) for p, a in parties.items()}


def _dkg_round2_input(
    cs_id: str,
    packages: dict[str, str],
    refs: tuple[PartyRef, ...],
    signatures: dict[str, str] | None = None,
) -> DkgRound2Input:
    return DkgRound2Input(
        wallet_id=WALLET,
        ceremony_id=DKG,
        ciphersuite=cs_id,
        round1_packages=packages,
        parties=refs,
        round1_signatures=signatures or {},
    )


def _dkg(cs_id: str, tamper: str | None = None):
    parties, refs = _parties()
    round1 = _dkg_round1(parties, cs_id)
    packages = {p: r.package for p, r in round1.items()}
    signatures = {p: r.signature for p, r in round1.items()}
    round2 = {
        p: a.dkg_round2(_dkg_round2_input(cs_id, packages, refs, signatures))
        for p, a in parties.items()
    }
    results = {}
    for p, a in parties.items():
        sealed = {s: r.sealed_shares[p] for s, r in round2.items() if s != p}
        echoes = {s: r.echo for s, r in round2.items() if s != p and r.echo is not None}
        if tamper and p != tamper:
            envelope = SealedPayload.from_bytes(bytes.fromhex(sealed[tamper]))
            flipped = bytes([envelope.ciphertext[0] ^ 1]) + envelope.ciphertext[1:]
            sealed[tamper] = (
                SealedPayload(
                    envelope.version,
                    envelope.session_id,
                    envelope.sender,
                    envelope.recipient,
                    envelope.ephemeral_public_key,
                    envelope.nonce,
                    flipped,
                )
                .to_bytes()
                .hex()
            )
        results[p] = a.dkg_round3(
            DkgRound3Input(
                wallet_id=WALLET,
                ceremony_id=DKG,
                ciphersuite=cs_id,
                parties=refs,
                sealed_shares=sealed,
                echoes=echoes,
            )
        )
    return parties, refs, round1, results


@pytest.mark.parametrize("cs", [FROST_SECP256K1_TR, FROST_ED25519], ids=lambda c: c.id)
def test_dkg_rounds_are_idempotent_and_agree(cs) -> None:
    parties, refs, round1, results = _dkg(cs.id)
    assert len({r.public_key_package for r in results.values()}) == 1
    # A retried round 1 returns the package it stored, not a new polynomial.
    again = parties["us-1"].dkg_round1(
        DkgRound1Input(
            wallet_id=WALLET, ceremony_id=DKG, ciphersuite=cs.id, threshold=3, parties=PARTIES
        )
    )
    assert again == round1["us-1"]
    # A retried round 3 returns the stored public key package.
    repeated = parties["eu-1"].dkg_round3(
        DkgRound3Input(
            wallet_id=WALLET, ceremony_id=DKG, ciphersuite=cs.id, parties=refs, sealed_shares={}
        )
    )
    assert repeated == results["eu-1"]


def test_tampered_sealed_share_names_its_sender() -> None:
    with pytest.raises(ApplicationError) as caught:
        _dkg(FROST_ED25519.id, tamper="eu-2")
    assert caught.value.non_retryable
    assert caught.value.details[0] == ["eu-2"]


def test_relay_altering_a_partys_own_package_is_refused() -> None:
    parties, refs = _parties()
    round1 = _dkg_round1(parties, FROST_ED25519.id)
    packages = {p: r.package for p, r in round1.items()}
    packages["us-1"] = packages["us-2"]
    with pytest.raises(ApplicationError):
        parties["us-1"].dkg_round2(_dkg_round2_input(FROST_ED25519.id, packages, refs))


def test_bad_round1_package_names_the_culprit() -> None:
    parties, refs, keys, _ = _deployment()
    cs_id = FROST_ED25519.id
    round1 = _dkg_round1(parties, cs_id)
    packages = {p: r.package for p, r in round1.items()}
    signatures = {p: r.signature for p, r in round1.items()}
    # eu-2 broadcasts, and signs, a package whose proof of knowledge does not verify.
    forged = bytearray(bytes.fromhex(packages["eu-2"]))
    forged[-1] ^= 1
    packages["eu-2"] = forged.hex()
    signatures["eu-2"] = _sign_package(keys["eu-2"], "eu-2", packages["eu-2"], cs_id)
    with pytest.raises(ApplicationError) as caught:
        parties["us-1"].dkg_round2(_dkg_round2_input(cs_id, packages, refs, signatures))
    assert caught.value.type == "InvalidProofOfKnowledge"
    assert caught.value.details[0] == ["eu-2"]


def test_nonce_is_used_once_and_retries_get_the_stored_share() -> None:
    parties, _, _, _ = _dkg(FROST_SECP256K1_TR.id)
    signers = ("us-1", "eu-1", "eu-2")
    cs_id = FROST_SECP256K1_TR.id
    message = hashlib.sha256(b"m").hexdigest()
    authorization = _authorized("sig-1", message)
    round1 = SignRound1Input(
        wallet_id=WALLET,
        ceremony_id="sig-1",
        ciphersuite=cs_id,
        message=message,
        authorization=authorization,
    )
    commitments = {p: parties[p].sign_round1(round1).commitments for p in signers}
    # A retried round 1 gets the same commitments: the nonces never change in a ceremony.
    retry = parties["us-1"].sign_round1(round1)
    assert retry.commitments == commitments["us-1"]
    request = SignRound2Input(
        wallet_id=WALLET,
        ceremony_id="sig-1",
        ciphersuite=cs_id,
        message=message,
        commitments=commitments,
        authorization=authorization,
    )
    first = parties["us-1"].sign_round2(request)
    assert parties["us-1"].sign_round2(request) == first
    # Another message, even authorized for this ceremony, finds the nonce consumed.
    other_message = hashlib.sha256(b"other").hexdigest()
    other = request.model_copy(
        update={"message": other_message, "authorization": _authorized("sig-1", other_message)}
    )
    with pytest.raises(ApplicationError) as caught:
        parties["us-1"].sign_round2(other)
    assert caught.value.type == "NonceAlreadyConsumed"
    assert caught.value.non_retryable


def test_round2_without_round1_and_unknown_wallets_are_refused() -> None:
    parties, _, _, _ = _dkg(FROST_ED25519.id)
    commitments = {
        p: parties[p]
        .sign_round1(
            SignRound1Input(
                wallet_id=WALLET,
                ceremony_id="c1",
                ciphersuite=FROST_ED25519.id,
                message="00",
                authorization=_authorized("c1", "00"),
            )
        )
        .commitments
        for p in ("us-1", "us-2", "eu-1")
    }
    with pytest.raises(ApplicationError) as caught:
        parties["us-1"].sign_round2(
            SignRound2Input(
                wallet_id=WALLET,
                ceremony_id="never-committed",
                ciphersuite=FROST_ED25519.id,
                message="00",
                commitments=commitments,
                authorization=_authorized("never-committed", "00"),
            )
        )
    assert caught.value.type == "NoncesNotFound"
    with pytest.raises(ApplicationError) as empty:
        parties["us-1"].sign_round2(
            SignRound2Input(
                wallet_id=WALLET,
                ceremony_id="c1",
                ciphersuite=FROST_ED25519.id,
                message="00",
                commitments={},
                authorization=_authorized("c1", "00"),
            )
        )
    assert empty.value.type == "InvalidParameters"
    with pytest.raises(ApplicationError):
        parties["us-1"].sign_round1(
            SignRound1Input(
                wallet_id="nope",
                ceremony_id="c",
                ciphersuite=FROST_ED25519.id,
                message="00",
                authorization=_authorized("c", "00", "nope"),
            )
        )
    with pytest.raises(ApplicationError):
        parties["us-1"].sign_round1(
            SignRound1Input(
                wallet_id=WALLET,
                ceremony_id="c",
                ciphersuite=FROST_SECP256K1_TR.id,
                message="00",
                authorization=_authorized("c", "00"),
            )
        )


def test_a_party_uses_only_its_own_vault() -> None:
    with pytest.raises(ValueError, match="own vault"):
        PartyActivities(
            "us-1", InMemoryShareVault("us-2"), SealingKeyPair.generate(), requests=REQUESTS
        )
