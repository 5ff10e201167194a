"""Record encryption of the share vault: AES-256-GCM (NIST SP 800-38D) under a wallet's data key.

Envelope encryption, as in every KMS design: each wallet gets a random 32-byte *data key*;
the party's key-encryption key (KEK, :mod:`storage.vault.kms`) only ever wraps data keys, and
each record is encrypted under its wallet's data key with a fresh 96-bit nonce.

A sealed record is ``version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)``.
Its associated data binds the party, the wallet, the record kind and the record's name (and,
for nonce records, the public values stored beside it), so a ciphertext moved to another row,
wallet or party fails authentication instead of decrypting as the wrong secret.

Associated data is built from length-prefixed fields (:func:`encode_fields`): without the
prefixes ``("ab", "c")`` and ``("a", "bc")`` would give the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final, TypeAlias

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.vault.errors import VaultCorrupted

__all__ = [
    "DATA_KEY_SIZE",
    "NONCE_SIZE",
    "RECORD_VERSION",
    "TAG_SIZE",
    "VAULT_LABEL",
    "Rng",
    "encode_fields",
    "new_data_key",
    "open_record",
    "random_bytes",
    "seal_record",
]

Rng: TypeAlias = Callable[[int], bytes]
"""A source of randomness: called with ``n``, returns exactly ``n`` random bytes."""

VAULT_LABEL: Final = b"quorate/share-vault/v1"
"""Domain separation: the first field of every associated data this package builds."""

RECORD_VERSION: Final = 1
DATA_KEY_SIZE: Final = 32
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16

_LENGTH = struct.Struct(">I")


def encode_fields(*fields: bytes) -> bytes:
    """Concatenate ``fields``, each preceded by its length as a 4-byte big-endian integer."""
    return b"".join(_LENGTH.pack(len(field)) + field for field in fields)


def random_bytes(rng: Rng, size: int) -> bytes:
    """Exactly ``size`` bytes from ``rng``, or ``ValueError``."""
    value = rng(size)
    # A short read from a broken rng would silently weaken keys or repeat nonces.
    if not isinstance(value, bytes) or len(value) != size:
        raise ValueError(f"rng must return exactly {size} bytes")
    return value


def new_data_key(rng: Rng) -> bytes:
    """A fresh random data key for one wallet."""
    return random_bytes(rng, DATA_KEY_SIZE)


def seal_record(data_key: bytes, plaintext: bytes, associated_data: bytes, rng: Rng) -> bytes:
    """Encrypt one record under ``data_key`` with a fresh random nonce."""
    nonce = random_bytes(rng, NONCE_SIZE)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, associated_data)
    return bytes([RECORD_VERSION]) + nonce + ciphertext


def open_record(data_key: bytes, sealed: object, associated_data: bytes, what: str) -> bytes:
    """Decrypt a record from :func:`seal_record`; ``what`` names it in the error message.

    ``sealed`` is typed ``object`` because it comes straight from a database column that
    anyone with write access to the file could have changed to another type.
    """
    if not isinstance(sealed, bytes) or len(sealed) < 1 + NONCE_SIZE + TAG_SIZE:
        raise VaultCorrupted(f"{what}: stored ciphertext is malformed")
    if sealed[0] != RECORD_VERSION:
        raise VaultCorrupted(f"{what}: unsupported record version {sealed[0]}")
    nonce = sealed[1 : 1 + NONCE_SIZE]
    try:
        return AESGCM(data_key).decrypt(nonce, sealed[1 + NONCE_SIZE :], associated_data)
    except InvalidTag:
        raise VaultCorrupted(f"{what}: ciphertext failed authentication") from None
