"""An in-memory :class:`~storage.vault.port.ShareVault` for fast unit tests.

It has the semantics of :class:`~storage.vault.sqlite.SqliteShareVault` (write-once secrets,
single-use nonces with stored outputs) and runs the same contract suite, but it keeps
everything in process memory, unencrypted, and forgets it on close. Never use it for real keys.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from storage.vault.errors import (
    INSIDE_COMPUTE,
    NonceAlreadyConsumed,
    NoncesNotFound,
    SecretAlreadyStored,
    SecretNotFound,
    VaultClosed,
    VaultError,
)
from storage.vault.port import (
    NonceState,
    ShareVault,
    check_bytes,
    check_consume,
    check_identifier,
    check_nonce_key,
    check_secret_key,
)

__all__ = ["InMemoryShareVault"]


@dataclass(slots=True)
class _NonceRecord:
    # repr=False everywhere secret: a record printed by a failing test must not show nonces.
    commitments: bytes
    nonces: bytes | None = field(repr=False)
    request_digest: bytes | None = None
    output: bytes | None = field(default=None, repr=False)


class InMemoryShareVault(ShareVault):
    """A thread-safe fake vault for one party; its state dies with the object."""

    def __init__(self, party_id: str) -> None:
        self.party_id = check_identifier("party_id", party_id)
        # One lock for everything, held across ``compute`` exactly as the SQLite adapter holds
        # its write lock, so concurrent tests see the same serialization. It is reentrant so a
        # call from inside ``compute`` fails (``_computing``) instead of deadlocking.
        self._lock = threading.RLock()
        self._computing = False
        self._secrets: dict[tuple[str, str], bytes] = {}
        self._nonces: dict[tuple[str, str], _NonceRecord] = {}
        self._closed = False

    def put_secret(self, wallet_id: str, name: str, secret: bytes) -> None:
        key = check_secret_key(wallet_id, name)
        check_bytes("secret", secret)
        with self._lock:
            self._check_open()
            existing = self._secrets.get(key)
            if existing is None:
                self._secrets[key] = secret
            elif not hmac.compare_digest(existing, secret):
                raise SecretAlreadyStored(wallet_id, name)

    def get_secret(self, wallet_id: str, name: str) -> bytes:
        key = check_secret_key(wallet_id, name)
        with self._lock:
            self._check_open()
            try:
                return self._secrets[key]
            except KeyError:
                raise SecretNotFound(wallet_id, name) from None

    def has_secret(self, wallet_id: str, name: str) -> bool:
        key = check_secret_key(wallet_id, name)
        with self._lock:
            self._check_open()
            return key in self._secrets

    def delete_secret(self, wallet_id: str, name: str) -> None:
        key = check_secret_key(wallet_id, name)
        with self._lock:
            self._check_open()
            self._secrets.pop(key, None)

    def store_nonces(
        self, wallet_id: str, ceremony_id: str, nonces: bytes, commitments: bytes
    ) -> bytes:
        key = check_nonce_key(wallet_id, ceremony_id)
        check_bytes("nonces", nonces)
        check_bytes("commitments", commitments)
        with self._lock:
            self._check_open()
            existing = self._nonces.get(key)
            if existing is not None:
                return existing.commitments
            self._nonces[key] = _NonceRecord(commitments=commitments, nonces=nonces)
            return commitments

    def consume_nonces(
        self,
        wallet_id: str,
        ceremony_id: str,
        request_digest: bytes,
        compute: Callable[[bytes], bytes],
    ) -> bytes:
        key = check_nonce_key(wallet_id, ceremony_id)
        check_consume(request_digest, compute)
        with self._lock:
            self._check_open()
            record = self._nonces.get(key)
            if record is None:
                raise NoncesNotFound(wallet_id, ceremony_id)
            if record.nonces is None:
                if (
                    record.request_digest is not None
                    and record.output is not None
                    and hmac.compare_digest(record.request_digest, request_digest)
                ):
                    return record.output
                raise NonceAlreadyConsumed(wallet_id, ceremony_id)
            # The record is only changed after compute returns, so an exception leaves it fresh.
            self._computing = True
            try:
                output = check_bytes("compute's output", compute(record.nonces))
            finally:
                self._computing = False
            record.nonces = None
            record.request_digest = request_digest
            record.output = output
            return output

    def nonce_state(self, wallet_id: str, ceremony_id: str) -> NonceState | None:
        key = check_nonce_key(wallet_id, ceremony_id)
        with self._lock:
            self._check_open()
            record = self._nonces.get(key)
            if record is None:
                return None
            return "fresh" if record.nonces is not None else "consumed"

    def close(self) -> None:
        with self._lock:
            if self._computing:
                raise VaultError(INSIDE_COMPUTE)
            self._closed = True
            self._secrets.clear()
            self._nonces.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise VaultClosed(self.party_id)
        if self._computing:
            raise VaultError(INSIDE_COMPUTE)

    def __repr__(self) -> str:
        return f"InMemoryShareVault(party_id={self.party_id!r})"
