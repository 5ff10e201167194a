"""Errors of the share vault and of its key-encryption-key (KMS) port.

Messages name the party, wallet, record or file concerned; they never contain a secret, a
nonce, a data key or a key-encryption key, because error messages end up in logs and in
Temporal histories (ARCHITECTURE.md, invariant 1).
"""

from __future__ import annotations

from pathlib import Path


class VaultError(Exception):
    """Base class of every error raised by :mod:`storage.vault`."""


class InvalidVaultInput(VaultError, ValueError):  # noqa: N818 - reads as the condition
    """An argument is unusable (wrong type, empty, too long); nothing was read or written."""


class SecretNotFound(VaultError, LookupError):  # noqa: N818
    """No secret is stored under the requested ``(wallet_id, name)``."""


class SecretAlreadyStored(VaultError):  # noqa: N818
    """Other bytes are already stored under this ``(wallet_id, name)``; secrets are write-once."""


class NoncesNotFound(VaultError, LookupError):  # noqa: N818
    """No signing nonces were stored for this ``(wallet_id, ceremony_id)``."""


class NonceAlreadyConsumed(VaultError):  # noqa: N818
    """The nonces of this ceremony were already used for a different request; never reuse."""


class KeyUnwrapFailed(VaultError):  # noqa: N818
    """A key-encryption key could not unwrap a data key: wrong KEK, wrong context or tampering."""


class VaultCorrupted(VaultError):  # noqa: N818
    """A stored record failed decryption or authentication, or the file is not a vault.

    Every record is bound to its party, wallet, kind and name, so this is also what a ciphertext
    copied to another row, wallet or party produces.
    """


class VaultPartyMismatch(VaultError):  # noqa: N818
    """The vault file belongs to another party than the one opening it."""


class VaultUnavailable(VaultError):  # noqa: N818
    """The database could not be used now (locked past the busy timeout, I/O error); retryable."""


class VaultClosed(VaultError):  # noqa: N818
    """The vault was used after :meth:`ShareVault.close`."""


class KekMissing(VaultError):  # noqa: N818
    """The key-encryption key does not exist where it was expected."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"key-encryption key file not found: {path}")


class KekInvalid(VaultError):  # noqa: N818
    """A key-encryption key exists but is unusable (wrong size, permissions too open)."""
