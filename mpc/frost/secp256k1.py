"""FROST(secp256k1, SHA-256), RFC 9591 §6.5."""

from __future__ import annotations

import hashlib
from typing import Final

from mpc.frost.ciphersuite import Ciphersuite
from mpc.frost.hashing import hash_to_field_secp256k1
from mpc.group import SECP256K1, Scalar


class Secp256k1Sha256(Ciphersuite):
    """RFC 9591 §6.5: hash_to_field with expand_message_xmd(SHA-256) for H1, H2 and H3."""

    group = SECP256K1

    def __init__(self, context_string: bytes = b"FROST-secp256k1-SHA256-v1") -> None:
        self.context_string = context_string

    def _hash_to_scalar(self, label: bytes, m: bytes) -> Scalar:
        return SECP256K1.scalar(
            hash_to_field_secp256k1(m, self.context_string + label, SECP256K1.order)
        )

    def H1(self, m: bytes) -> Scalar:
        return self._hash_to_scalar(b"rho", m)

    def H2(self, m: bytes) -> Scalar:
        return self._hash_to_scalar(b"chal", m)

    def H3(self, m: bytes) -> Scalar:
        return self._hash_to_scalar(b"nonce", m)

    def H4(self, m: bytes) -> bytes:
        return hashlib.sha256(self.context_string + b"msg" + m).digest()

    def H5(self, m: bytes) -> bytes:
        return hashlib.sha256(self.context_string + b"com" + m).digest()

    def HDKG(self, m: bytes) -> Scalar:
        return self._hash_to_scalar(b"dkg", m)

    def HID(self, m: bytes) -> Scalar:
        return self._hash_to_scalar(b"id", m)


FROST_SECP256K1: Final = Secp256k1Sha256()
