"""Errors of the share vault and of its key-encryption-key (KMS) port.

Messages name the party, wallet, record or file concerned; they never contain a secret, a
nonce, a data key or a key-encryption key, because error messages end up in logs and in
Temporal histories (ARCHITECTURE.md, invariant 1).
"""

from __future__ import annotations

from pathlib import Path


class VaultError(Exception):
    """Base class of every error raised by :mod:`storage.vault`."""


class InvalidVaultInput(VaultError, ValueError):
    """An argument is unusable (wrong type, empty, too long); nothing was read or written."""


class SecretNotFound(VaultError, LookupError):
    """No secret is stored under the requested ``(wallet_id, name)``."""

    def __init__(self, wallet_id: str, name: str) -> None:
        super().__init__(f"no secret {name!r} in wallet {wallet_id!r}")


class SecretAlreadyStored(VaultError):
    """Other bytes are already stored under this ``(wallet_id, name)``; secrets are write-once."""

    def __init__(self, wallet_id: str, name: str) -> None:
        super().__init__(f"another secret is already stored as {name!r} in wallet {wallet_id!r}")


class NoncesNotFound(VaultError, LookupError):
    """No signing nonces were stored for this ``(wallet_id, ceremony_id)``."""

    def __init__(self, wallet_id: str, ceremony_id: str) -> None:
        super().__init__(f"no nonces for ceremony {ceremony_id!r} of {wallet_id!r}")


class NonceAlreadyConsumed(VaultError):
    """The nonces of this ceremony were already used for a different request; never reuse."""

    def __init__(self, wallet_id: str, ceremony_id: str) -> None:
        super().__init__(
            f"nonces of ceremony {ceremony_id!r} of wallet {wallet_id!r} were already "
            "used for another request"
        )


class KeyUnwrapFailed(VaultError):
    """A key-encryption key could not unwrap a data key: wrong KEK, wrong context or tampering."""


class VaultCorrupted(VaultError):
    """A stored record failed decryption or authentication, or the file is not a vault.

    Every record is bound to its party, wallet, kind and name, so this is also what a ciphertext
    copied to another row, wallet or party produces.
    """


class VaultPartyMismatch(VaultError):
    """The vault file belongs to another party than the one opening it."""


class VaultUnavailable(VaultError):
    """The database could not be used now (locked past the busy timeout, I/O error); retryable."""


class VaultClosed(VaultError):
    """The vault was used after :meth:`ShareVault.close`."""

    def __init__(self, party_id: str) -> None:
        super().__init__(f"the share vault of party {party_id!r} is closed")


INSIDE_COMPUTE = "the share vault must not be used from inside compute"
"""The :class:`VaultError` message of a vault call made from inside ``consume_nonces``'
``compute`` (which runs under the vault's write lock)."""


class KekMissing(VaultError):
    """The key-encryption key does not exist where it was expected."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"key-encryption key file not found: {path}")


class KekInvalid(VaultError):
    """A key-encryption key exists but is unusable (wrong size, permissions too open)."""
