"""bench.signatures: the checks every benchmark runs on what the system signed."""

from __future__ import annotations

import hashlib
import os

import pytest
from coincurve import PrivateKey
from nacl.signing import SigningKey

from activities.models import CreateWalletResult, SignResult
from bench.signatures import bip86_output_key, verify_ecdsa, verify_sign_result
from mpc.group.secp256k1 import ORDER


def _wallet(scheme: str, group: bytes) -> CreateWalletResult:
    return CreateWalletResult.model_validate(
        {
            "wallet_id": "w1",
            "scheme": scheme,
            "ciphersuite": "test",
            "group_public_key": group.hex(),
            "threshold": 2,
            "parties": ["a", "b", "c"],
            "ceremony_id": "c1",
        }
    )


def _result(
    wallet: CreateWalletResult, key: bytes, message: bytes, signature: bytes, v: int | None = None
) -> SignResult:
    return SignResult.model_validate(
        {
            "wallet_id": wallet.wallet_id,
            "scheme": wallet.scheme,
            "public_key": key.hex(),
            "message": message.hex(),
            "signature": signature.hex(),
            "signers": ["a", "b"],
            "ceremony_id": "c2",
            "recovery_id": v,
        }
    )


def test_ed25519() -> None:
    key = SigningKey.generate()
    public = bytes(key.verify_key)
    wallet = _wallet("ed25519", public)
    message = os.urandom(64)
    signature = key.sign(message).signature
    verify_sign_result(wallet, message, _result(wallet, public, message, signature))
    with pytest.raises(RuntimeError, match="another request"):
        verify_sign_result(wallet, b"other", _result(wallet, public, message, signature))


def test_ecdsa_low_s_and_recovery() -> None:
    key = PrivateKey()
    public = key.public_key.format(compressed=True)
    wallet = _wallet("ecdsa-secp256k1", public)
    digest = hashlib.sha256(b"pay").digest()
    recoverable = key.sign_recoverable(digest, hasher=None)
    r, s, v = (
        int.from_bytes(recoverable[:32], "big"),
        int.from_bytes(recoverable[32:64], "big"),
        recoverable[64],
    )
    assert s <= ORDER // 2  # libsecp256k1 signs low s
    verify_ecdsa(public, digest, r, s, v)
    with pytest.raises(RuntimeError, match="low-s"):
        verify_ecdsa(public, digest, r, ORDER - s, v)
    verify_sign_result(wallet, digest, _result(wallet, public, digest, recoverable[:64], v))
    with pytest.raises(RuntimeError, match="recover"):
        verify_ecdsa(public, digest, r, s, v ^ 1)


def test_bip340_checks_the_tweaked_key() -> None:
    internal = PrivateKey()
    wallet = _wallet("bip340", internal.public_key.format(compressed=True))
    output = bip86_output_key(bytes.fromhex(wallet.group_public_key))
    assert len(output) == 32
    message = os.urandom(32)
    untweaked = internal.public_key.format(compressed=True)[1:]
    with pytest.raises(RuntimeError, match="signed with"):
        verify_sign_result(wallet, message, _result(wallet, untweaked, message, bytes(64)))
