"""Each MPC party's share vault: its secrets and single-use nonces, encrypted at rest.

* :mod:`storage.vault.port` — the :class:`ShareVault` port and its contract;
* :mod:`storage.vault.sqlite` — :class:`SqliteShareVault`, one SQLite file per party;
* :mod:`storage.vault.memory` — :class:`InMemoryShareVault`, a fake for unit tests;
* :mod:`storage.vault.kms` — the :class:`KeyEncryptionKey` port and :class:`LocalFileKek`;
* :mod:`storage.vault.envelope` — record encryption under per-wallet data keys;
* :mod:`storage.vault.errors` — :class:`VaultError` and its subclasses.
"""

from storage.vault.errors import (
    InvalidVaultInput,
    KekInvalid,
    KekMissing,
    KeyUnwrapFailed,
    NonceAlreadyConsumed,
    NoncesNotFound,
    SecretAlreadyStored,
    SecretNotFound,
    VaultClosed,
    VaultCorrupted,
    VaultError,
    VaultPartyMismatch,
    VaultUnavailable,
)
from storage.vault.kms import KeyEncryptionKey, LocalFileKek
from storage.vault.memory import InMemoryShareVault
from storage.vault.port import NonceState, ShareVault
from storage.vault.sqlite import SqliteShareVault

__all__ = [
    "InMemoryShareVault",
    "InvalidVaultInput",
    "KekInvalid",
    "KekMissing",
    "KeyEncryptionKey",
    "KeyUnwrapFailed",
    "LocalFileKek",
    "NonceAlreadyConsumed",
    "NonceState",
    "NoncesNotFound",
    "SecretAlreadyStored",
    "SecretNotFound",
    "ShareVault",
    "SqliteShareVault",
    "VaultClosed",
    "VaultCorrupted",
    "VaultError",
    "VaultPartyMismatch",
    "VaultUnavailable",
]
