"""The KMS port: a party's key-encryption key (KEK), which wraps and unwraps data keys.

ARCHITECTURE.md, invariant 5: shares at rest are encrypted under per-wallet data keys, and the
data keys are wrapped by the party's KEK. The KEK never leaves the KMS: callers hand it a data
key and associated data and get back an opaque wrapped blob. :class:`LocalFileKek` is the
development KMS (a 32-byte key in a file); an HSM reached through PKCS#11 (``CKM_AES_GCM`` with
``C_WrapKey``/``C_UnwrapKey``, or ``C_Encrypt`` of the data key) replaces it in production
without any change to the vault.

:class:`LocalFileKek` wraps with AES-256-GCM (NIST SP 800-38D)::

    wrapped = version (1 byte) || nonce (12 random bytes) || AES-256-GCM(kek, nonce, data_key,
              aad = len-prefixed("quorate/kek/local/v1", key_id, associated_data))
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.key_files import link_key_file, read_key_file
from storage.vault.envelope import NONCE_SIZE, TAG_SIZE, Rng, encode_fields, random_bytes
from storage.vault.errors import KekInvalid, KekMissing, KeyUnwrapFailed

__all__ = ["KEK_SIZE", "KeyEncryptionKey", "LocalFileKek"]

KEK_SIZE: Final = 32
"""AES-256: the size of a local key file, in bytes."""

_WRAP_VERSION: Final = 1
_WRAP_LABEL: Final = b"quorate/kek/local/v1"
_KEY_ID_LABEL: Final = b"quorate/kek/local/key-id/v1"


class KeyEncryptionKey(ABC):
    """A key-encryption key held by a KMS; it wraps data keys and never reveals itself.

    ``key_id`` names the key (not secret); the vault records it beside every wrapped data key so
    that a vault opened with another KEK fails with a clear error instead of a decryption error.
    """

    key_id: str

    @abstractmethod
    def wrap(self, data_key: bytes, associated_data: bytes) -> bytes:
        """Encrypt and authenticate ``data_key``, bound to ``associated_data``."""

    @abstractmethod
    def unwrap(self, wrapped: bytes, associated_data: bytes) -> bytes:
        """Recover a data key from :meth:`wrap`'s output; raises :class:`KeyUnwrapFailed`.

        It fails when ``wrapped`` was made by another key, under other associated data, or was
        modified.
        """


class LocalFileKek(KeyEncryptionKey):
    """Development KMS: a 32-byte AES-256 key in a file of mode 0600.

    Build it with :meth:`load_or_create` or :meth:`load`. The key id is derived from the key
    (an HMAC of a fixed label, not the key itself), so the same file copied elsewhere keeps its
    id and two different files never share one.
    """

    def __init__(self, key: bytes, *, rng: Rng = os.urandom) -> None:
        if not isinstance(key, bytes) or len(key) != KEK_SIZE:
            raise KekInvalid(f"a local key-encryption key is {KEK_SIZE} bytes")
        digest = hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()
        self.key_id = f"local:{digest[:32]}"
        self._aead = AESGCM(key)
        self._rng = rng

    @classmethod
    def load(cls, path: Path, *, rng: Rng = os.urandom) -> LocalFileKek:
        """Read the key at ``path``; raises :class:`KekMissing` if there is no such file.

        A file that group or others may access is refused, as ssh refuses such a private key:
        a world-readable KEK protects nothing.
        """
        path = Path(path)
        try:
            key = read_key_file(path, KEK_SIZE, what="key-encryption key", error=KekInvalid)
        except FileNotFoundError:
            raise KekMissing(path) from None
        return cls(key, rng=rng)

    @classmethod
    def load_or_create(cls, path: Path, *, rng: Rng = os.urandom) -> LocalFileKek:
        """Read the key at ``path``, first creating it (mode 0600, random bytes) if missing.

        Creation is atomic: the key is written and synced to a private temporary file, which is
        then hard-linked to ``path``. ``link`` fails if ``path`` exists, so two processes
        racing to create the key agree on one, and no reader ever sees a half-written file.
        """
        path = Path(path)
        if not path.exists():
            key = random_bytes(rng, KEK_SIZE)
            with contextlib.suppress(FileExistsError):
                link_key_file(path, key)
            _fsync_directory(path.parent)
        return cls.load(path, rng=rng)

    def wrap(self, data_key: bytes, associated_data: bytes) -> bytes:
        nonce = random_bytes(self._rng, NONCE_SIZE)
        ciphertext = self._aead.encrypt(nonce, data_key, self._aad(associated_data))
        return bytes([_WRAP_VERSION]) + nonce + ciphertext

    def unwrap(self, wrapped: bytes, associated_data: bytes) -> bytes:
        if (
            not isinstance(wrapped, bytes)
            or len(wrapped) < 1 + NONCE_SIZE + TAG_SIZE
            or wrapped[0] != _WRAP_VERSION
        ):
            raise KeyUnwrapFailed(f"wrapped key is malformed (key-encryption key {self.key_id})")
        nonce = wrapped[1 : 1 + NONCE_SIZE]
        try:
            return self._aead.decrypt(nonce, wrapped[1 + NONCE_SIZE :], self._aad(associated_data))
        except InvalidTag:
            raise KeyUnwrapFailed(
                f"key-encryption key {self.key_id} cannot unwrap this key: another key, "
                "another context, or tampering"
            ) from None

    def _aad(self, associated_data: bytes) -> bytes:
        return encode_fields(_WRAP_LABEL, self.key_id.encode(), associated_data)

    def __repr__(self) -> str:
        return f"LocalFileKek(key_id={self.key_id!r}, key=<redacted>)"


def _fsync_directory(directory: Path) -> None:
    # Syncing the directory makes the new file's name durable, not only its contents.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
