"""Threshold ECDSA end to end: DKG shares, CGGMP21 presigning, one-round signing.

Every signature is verified by libsecp256k1, is low-s, and recovers (eth-account) to the
wallet's Ethereum address.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from coincurve import PublicKey
from eth_account import Account
from eth_keys.datatypes import PublicKey as EthPublicKey

from mpc.ecdsa import presign
from mpc.ecdsa.errors import ConsistencyCheckFailed, InvalidProof, InvalidSignature
from mpc.ecdsa.sign import combine, sign_share
from mpc.group import Secp256k1Element
from mpc.group.secp256k1 import ORDER as Q
from tests.helpers.suites import PARTIES
from tests.mpc.ecdsa.presign_helpers import Tamper, run_presign, run_rounds, setup

SIGNERS = ["us-1", "us-2", "eu-1"]


def _eth_address(compressed: bytes) -> str:
    return EthPublicKey(PublicKey(compressed).format(compressed=False)[1:]).to_checksum_address()


def _sign(signers, digest, tamper_share=None):
    s = setup()
    presignatures = run_presign(signers)
    first = presignatures[signers[0]]
    assert all(p.R == first.R for p in presignatures.values())
    shares = {p: sign_share(presignatures[p], digest) for p in signers}
    if tamper_share:
        shares = tamper_share(shares)
    key = s.public.verifying_key
    assert isinstance(key, Secp256k1Element)
    return combine(first.R, first.R_shares, key, digest, shares)


@pytest.mark.parametrize("signers", list(itertools.combinations(PARTIES, 3)))
def test_every_three_party_subset_of_a_3_of_6_key_signs(signers) -> None:
    s = setup()
    digest = hashlib.sha256(f"pay {signers}".encode()).digest()
    signature = _sign(list(signers), digest)
    key = s.public.verifying_key.to_bytes()
    assert PublicKey(key).verify(signature.to_der(), digest, hasher=None)
    assert signature.s <= Q // 2
    recovered = Account._recover_hash(
        digest, vrs=(27 + signature.recovery_id, signature.r, signature.s)
    )
    assert recovered == _eth_address(key)


def test_two_signers_below_threshold_cannot_sign() -> None:
    digest = hashlib.sha256(b"x").digest()
    with pytest.raises(Exception):  # noqa: B017,PT011 - the context refuses: shares do not add up
        _sign(["us-1", "us-2"], digest)


def _changed_share(party: str, change: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A ``tamper_share`` for :func:`_sign`: ``party``'s signature share changed in transit."""
    return lambda shares: {**shares, party: change(shares[party])}


def test_tampered_signature_share_names_its_sender() -> None:
    digest = hashlib.sha256(b"tamper").digest()
    tamper = _changed_share("eu-1", lambda bad: dataclasses.replace(bad, sigma=(bad.sigma + 1) % Q))
    with pytest.raises(InvalidSignature) as caught:
        _sign(SIGNERS, digest, tamper)
    assert caught.value.culprits == ("eu-1",)


def test_tampered_S_is_caught() -> None:
    digest = hashlib.sha256(b"S").digest()
    tamper = _changed_share("us-2", lambda bad: dataclasses.replace(bad, S=bad.S + bad.S))
    # An S_i changed in transit breaks that signer's share equation: it is named.
    with pytest.raises(InvalidSignature) as caught:
        _sign(SIGNERS, digest, tamper)
    assert caught.value.culprits == ("us-2",)


def _changed_message(stage: str, sender: str, change: Callable[[Any], Any]) -> Tamper:
    """A presigning ``tamper``: ``sender``'s messages at ``stage`` changed in transit."""

    def tamper(at: str, message: Any) -> Any:
        return change(message) if at == stage and message.sender == sender else message

    return tamper


def _presign_culprits(tamper: Tamper, **run: Any) -> tuple[str, ...]:
    """The culprits of the InvalidProof that presigning by SIGNERS must raise under ``tamper``."""
    with pytest.raises(InvalidProof) as caught:
        run_presign(SIGNERS, tamper=tamper, **run)
    return caught.value.culprits


@pytest.mark.parametrize(
    ("stage", "field"),
    [
        ("d1", "enc_proof"),
        ("d2", "aff_g_gamma"),
        ("d2", "aff_g_key"),
        ("d2", "log_star_gamma"),
        ("d3", "log_star_delta"),
    ],
)
def test_tampered_proof_names_its_prover(stage: str, field: str) -> None:
    def change(message: Any) -> Any:
        proof = getattr(message, field)
        return dataclasses.replace(message, **{field: dataclasses.replace(proof, z1=proof.z1 + 1)})

    assert _presign_culprits(_changed_message(stage, "us-2", change)) == ("us-2",)


@pytest.mark.parametrize("field", ["K", "G"])
def test_tampered_round1_ciphertext_names_its_sender(field: str) -> None:
    def change(message: Any) -> Any:
        value = getattr(message, field)
        return dataclasses.replace(message, **{field: value * 4 % (value + 7)})

    assert _presign_culprits(_changed_message("b1", "eu-1", change)) == ("eu-1",)


def test_tampered_mta_ciphertext_names_its_sender() -> None:
    tamper = _changed_message("d2", "us-1", lambda m: dataclasses.replace(m, D=m.D * 2))
    assert _presign_culprits(tamper) == ("us-1",)


def test_lying_about_delta_fails_the_check_and_identification_names_the_liar() -> None:
    tamper = _changed_message(
        "b3", "us-2", lambda m: dataclasses.replace(m, delta=(m.delta + 1) % Q)
    )
    with pytest.raises(ConsistencyCheckFailed):
        run_presign(SIGNERS, tamper=tamper)
    context, states3, b1, d2, b3, _ = run_rounds(SIGNERS, tamper=tamper)
    transcript = presign.presign_transcript(context, b1, d2)
    openings = {p: presign.open_delta(context, states3[p]) for p in SIGNERS}
    assert presign.identify_delta_culprits(context, transcript, b3, openings) == ["us-2"]
    # An honest run identifies nobody, and a signer that refuses to open is named.
    context, states3, b1, d2, b3, _ = run_rounds(SIGNERS)
    transcript = presign.presign_transcript(context, b1, d2)
    openings = {p: presign.open_delta(context, states3[p]) for p in SIGNERS}
    assert presign.identify_delta_culprits(context, transcript, b3, openings) == []
    del openings["eu-1"]
    assert presign.identify_delta_culprits(context, transcript, b3, openings) == ["eu-1"]


def test_message_replayed_from_another_session_is_rejected() -> None:
    captured = {}

    def capture(at, message):
        if at == "d1" and message.sender == "us-1" and message.recipient == "us-2":
            captured["proof"] = message
        return message

    run_presign(SIGNERS, session=b"session-A", tamper=capture)

    def replay(at, message):
        if at == "d1" and message.sender == "us-1" and message.recipient == "us-2":
            return dataclasses.replace(message, enc_proof=captured["proof"].enc_proof)
        return message

    assert _presign_culprits(replay, session=b"session-B") == ("us-1",)
