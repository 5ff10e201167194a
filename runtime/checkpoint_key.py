"""The checkpoint key: the coordinator's Ed25519 key that signs the event log's head.

:class:`CheckpointSigner` is the port, KMS-like: it signs and shows its public key, and the
private key never leaves it. :class:`LocalCheckpointKey` is the development adapter: a
32-byte Ed25519 seed (RFC 8032) in ``<data dir>/checkpoint-key``, mode 0600, signed with
libsodium; its public key is published beside it in ``checkpoint-key.pub`` (one line,
``ed25519:<64 hex>``; 0600 too, like everything in the data directory), which is where
``quorate audit verify`` looks for it by default. An HSM or a cloud KMS (PKCS#11
``CKM_EDDSA``, or a KMS's Ed25519 signing call) replaces it in production without any
change to the writer (``workers.checkpoints``) or the verifier.

Provisioning creates the key once (:func:`ensure_checkpoint_key`); the writer only loads it
(:meth:`LocalCheckpointKey.load`), so a lost key fails with its path instead of being
silently replaced by a new one that no auditor trusts.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Final

from nacl.signing import SigningKey

from storage.audit.checkpoints import (
    PUBLIC_KEY_FILE,
    describe_key,
    format_public_key,
    parse_public_key,
)
from storage.key_files import link_key_file, read_key_file

PRIVATE_KEY_FILE: Final = "checkpoint-key"
"""The development signing key's file name in the data directory."""
SEED_SIZE: Final = 32


class CheckpointKeyError(Exception):
    """The checkpoint key is missing, unreadable, too widely readable, or not a key."""


class CheckpointSigner(ABC):
    """A key that signs chain checkpoints and never reveals itself (a KMS or HSM key)."""

    @property
    @abstractmethod
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key auditors verify checkpoints with."""

    @abstractmethod
    async def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message`` (RFC 8032)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(public_key={describe_key(self.public_key)})"


def private_key_path(data_dir: Path) -> Path:
    return Path(data_dir) / PRIVATE_KEY_FILE


def public_key_path(data_dir: Path) -> Path:
    return Path(data_dir) / PUBLIC_KEY_FILE


class LocalCheckpointKey(CheckpointSigner):
    """Development KMS: an Ed25519 seed in a file of mode 0600, signed with by libsodium."""

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
            raise CheckpointKeyError(f"a checkpoint key seed is {SEED_SIZE} bytes")
        self._key = SigningKey(seed)
        self._public = bytes(self._key.verify_key)

    @property
    def public_key(self) -> bytes:
        return self._public

    async def sign(self, message: bytes) -> bytes:
        return self._key.sign(message).signature

    @classmethod
    def load(cls, path: Path) -> LocalCheckpointKey:
        """Read the key at ``path``; a missing file, or one that group or others may read,
        is refused (as ssh refuses such a private key)."""
        path = Path(path)
        try:
            seed = read_key_file(path, SEED_SIZE, what="checkpoint key", error=CheckpointKeyError)
        except FileNotFoundError:
            raise CheckpointKeyError(
                f"no checkpoint key at {path}; provisioning creates it "
                "(runtime.checkpoint_key.ensure_checkpoint_key)"
            ) from None
        return cls(seed)

    @classmethod
    def create(cls, path: Path, *, seed: bytes | None = None) -> LocalCheckpointKey:
        """Write a new key to ``path`` (mode 0600, atomically); refuses to replace one.

        ``seed`` for tests; random (``os.urandom``) otherwise.
        """
        path = Path(path)
        material = os.urandom(SEED_SIZE) if seed is None else seed
        key = cls(material)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            # link fails if the key exists: two provisioners agree on one key.
            link_key_file(path, material)
        except FileExistsError:
            raise CheckpointKeyError(f"a checkpoint key already exists at {path}") from None
        return key


def write_public_key(path: Path, public_key: bytes) -> None:
    """Publish ``public_key`` at ``path``, replacing the file atomically.

    Mode 0600 like everything under the data directory (it is not secret, but the data
    directory is the operator's alone); it is handed to auditors by copying it.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(8).hex()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, format_public_key(public_key).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def ensure_checkpoint_key(data_dir: Path) -> bytes:
    """Create the data directory's checkpoint key if it has none; its public key either way.

    For provisioning (``runtime.provision.provision_local``): idempotent, and the public key
    file is (re)written from the private key, so it always matches it.
    """
    private = private_key_path(data_dir)
    if private.exists():
        key = LocalCheckpointKey.load(private)
    else:
        try:
            key = LocalCheckpointKey.create(private)
        except CheckpointKeyError:
            key = LocalCheckpointKey.load(private)  # Another provisioner won the race.
    public = public_key_path(data_dir)
    current = None
    with contextlib.suppress(OSError, ValueError):
        current = parse_public_key(public.read_text(encoding="utf-8"))
    if current != key.public_key:
        write_public_key(public, key.public_key)
    return key.public_key
