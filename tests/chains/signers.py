"""Single-key signers for the chain contract tests: what a ceremony's output looks like,
made by libsecp256k1 / libsodium with one ordinary key, so adapter tests need no MPC."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from coincurve import PrivateKey
from nacl.signing import SigningKey

from chains.models import ChainSignature, SigningPayload
from chains.taproot import SECP256K1_ORDER, tagged_hash
from common.types import Scheme


@dataclass(frozen=True)
class LocalSigner:
    """One key for one scheme; ``public_key`` is the wallet-style group public key."""

    scheme: Scheme
    seed: bytes

    @property
    def public_key(self) -> bytes:
        if self.scheme == "ed25519":
            return bytes(SigningKey(self.seed).verify_key)
        return bytes(PrivateKey(self.seed).public_key.format(compressed=True))

    def sign(self, payload: SigningPayload) -> ChainSignature:
        if payload.scheme != self.scheme:
            raise ValueError(f"payload wants {payload.scheme}, signer is {self.scheme}")
        message = bytes.fromhex(payload.message)
        if self.scheme == "ed25519":
            return ChainSignature(signature=SigningKey(self.seed).sign(message).signature.hex())
        if self.scheme == "ecdsa-secp256k1":
            raw = PrivateKey(self.seed).sign_recoverable(message, hasher=None)
            return ChainSignature(signature=raw[:64].hex(), recovery_id=raw[64])
        # BIP341 key-path: sign with the tweaked secret (BIP341 ``taproot_tweak_seckey``).
        key = PrivateKey(self.seed)
        d = int.from_bytes(self.seed, "big")
        compressed = key.public_key.format(compressed=True)
        if compressed[0] == 3:
            d = SECP256K1_ORDER - d
        root = bytes.fromhex(payload.taproot_merkle_root or "")
        tweak = int.from_bytes(tagged_hash("TapTweak", compressed[1:] + root), "big")
        tweaked = PrivateKey(((d + tweak) % SECP256K1_ORDER).to_bytes(32, "big"))
        aux = hashlib.sha256(b"aux" + message).digest()
        return ChainSignature(signature=tweaked.sign_schnorr(message, aux).hex())


def signer_for(scheme: Scheme, label: str) -> LocalSigner:
    return LocalSigner(scheme, hashlib.sha256(f"{scheme}/{label}".encode()).digest())


def flip_bit(signature: ChainSignature, bit: int = 0) -> ChainSignature:
    raw = bytearray.fromhex(signature.signature)
    raw[bit // 8] ^= 1 << (bit % 8)
    return signature.model_copy(update={"signature": raw.hex()})
