"""Deterministic wallet keys that make real signatures, for the audit fixtures.

A single-party stand-in for a threshold wallet: the verifier only sees the group key and the
signatures, and checks them as it would check a threshold wallet's. BIP340 wallets sign with
the BIP86-tweaked secret (``d' = d + t`` with ``d`` lifted to even Y, BIP341's
``taproot_tweak_seckey``), computed here on integers, independently of both the verifier
(which tweaks the public key with libsecp256k1) and of mpc.frost.taproot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from coincurve import PrivateKey
from coincurve.ecdsa import der_to_cdata, serialize_compact
from nacl.signing import SigningKey

from common.types import Scheme

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _tagged(tag: str, data: bytes) -> bytes:
    digest = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(digest + digest + data).digest()


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"quorate-audit-test-key/" + label.encode()).digest()


@dataclass(frozen=True)
class WalletKeys:
    scheme: Scheme
    ciphersuite: str
    group_key: bytes
    """As WalletCreated records it (compressed SEC1, or Ed25519's 32 bytes)."""
    public_key: bytes
    """As SignatureProduced records it (the BIP86 output key for BIP340)."""
    sign: Callable[[bytes], bytes]


def bip340_wallet(label: str) -> WalletKeys:
    secret = int.from_bytes(_seed(label), "big") % (N - 1) + 1
    point = PrivateKey(secret.to_bytes(32, "big")).public_key.format(compressed=True)
    even = secret if point[0] == 2 else N - secret
    tweak = int.from_bytes(_tagged("TapTweak", point[1:]), "big")
    tweaked = PrivateKey(((even + tweak) % N).to_bytes(32, "big"))
    output = tweaked.public_key.format(compressed=True)[1:]
    return WalletKeys(
        "bip340",
        "FROST-secp256k1-SHA256-TR-v1",
        point,
        output,
        lambda message: tweaked.sign_schnorr(message, bytes(32)),  # Deterministic.
    )


def ed25519_wallet(label: str) -> WalletKeys:
    key = SigningKey(_seed(label))
    public = bytes(key.verify_key)
    return WalletKeys(
        "ed25519",
        "FROST-ED25519-SHA512-v1",
        public,
        public,
        lambda message: key.sign(message).signature,
    )


def ecdsa_wallet(label: str) -> WalletKeys:
    secret = int.from_bytes(_seed(label), "big") % (N - 1) + 1
    key = PrivateKey(secret.to_bytes(32, "big"))
    public = key.public_key.format(compressed=True)

    def sign(digest: bytes) -> bytes:
        # libsecp256k1 signs low-s; r || s as SignatureProduced records it.
        compact: bytes = serialize_compact(der_to_cdata(key.sign(digest, hasher=None)))
        return compact

    return WalletKeys("ecdsa-secp256k1", "FROST-secp256k1-SHA256-v1", public, public, sign)


WALLETS: dict[Scheme, Callable[[str], WalletKeys]] = {
    "bip340": bip340_wallet,
    "ed25519": ed25519_wallet,
    "ecdsa-secp256k1": ecdsa_wallet,
}
