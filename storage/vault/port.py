"""The share-vault port: the only place an MPC party's secrets live.

One vault per party (ARCHITECTURE.md: each party "is the only process that can read its
shares"). It holds two kinds of state:

* **secrets**, write-once, under ``(wallet_id, name)``: key shares, DKG round state, Paillier
  keys. Write-once makes a retried activity harmless: storing the same bytes again is a no-op,
  storing other bytes is refused, so a retry can never silently replace a key share;
* **signing nonces**, one set per ``(wallet_id, ceremony_id)``, used at most once
  (invariant 3): :meth:`ShareVault.consume_nonces` marks them consumed, durably, in the same
  transaction that stores the signature share computed from them, and only then returns it.
  A retried round 2 with the same request gets the stored share; any other request is refused.
  Reusing a FROST nonce with two different messages reveals the signing share (RFC 9591 §4.1,
  §10.3), which is why this lives in the vault and not in the caller.

Adapters: :class:`storage.vault.sqlite.SqliteShareVault` (encrypted at rest, safe across
processes) and :class:`storage.vault.memory.InMemoryShareVault` (a fake for unit tests). Both
run the contract suite in ``tests/storage/vault/contract.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Final, Literal, TypeAlias

from storage.vault.errors import InvalidVaultInput

__all__ = [
    "MAX_IDENTIFIER_SIZE",
    "MAX_RECORD_SIZE",
    "MAX_REQUEST_DIGEST_SIZE",
    "NonceState",
    "ShareVault",
    "check_bytes",
    "check_consume",
    "check_identifier",
    "check_nonce_key",
    "check_secret_key",
]

NonceState: TypeAlias = Literal["fresh", "consumed"]

MAX_IDENTIFIER_SIZE: Final = 256
"""Party, wallet, record and ceremony ids are limited in their UTF-8 encoding."""
MAX_RECORD_SIZE: Final = 16 << 20
"""16 MiB: a FROST share is 32 bytes, CGGMP auxiliary data (Paillier, ring-Pedersen) kilobytes."""
MAX_REQUEST_DIGEST_SIZE: Final = 1024


class ShareVault(ABC):
    """One party's encrypted store of secrets and single-use signing nonces.

    Every method validates its arguments first and raises :class:`InvalidVaultInput` on bad
    input without touching storage. A vault is a context manager that closes itself.
    """

    party_id: str

    @abstractmethod
    def put_secret(self, wallet_id: str, name: str, secret: bytes) -> None:
        """Store ``secret`` under ``(wallet_id, name)``, once.

        Storing identical bytes again is a no-op (a retried activity); storing different bytes
        raises :class:`SecretAlreadyStored` and leaves the stored secret unchanged.
        """

    @abstractmethod
    def get_secret(self, wallet_id: str, name: str) -> bytes:
        """Return the secret stored under ``(wallet_id, name)``; raises :class:`SecretNotFound`."""

    @abstractmethod
    def has_secret(self, wallet_id: str, name: str) -> bool:
        """Whether a secret is stored under ``(wallet_id, name)`` (nothing is decrypted)."""

    @abstractmethod
    def delete_secret(self, wallet_id: str, name: str) -> None:
        """Remove the secret under ``(wallet_id, name)``; deleting a missing one is a no-op.

        Meant for transient DKG round state; the application never deletes a key share. It is
        idempotent because the activity that calls it may be retried after it succeeded.
        """

    @abstractmethod
    def store_nonces(
        self, wallet_id: str, ceremony_id: str, nonces: bytes, commitments: bytes
    ) -> bytes:
        """Store one ceremony's secret ``nonces`` and public ``commitments``; return commitments.

        If nonces already exist for ``(wallet_id, ceremony_id)`` (fresh or consumed), nothing is
        stored and the *existing* commitments are returned: a retried round 1 must publish the
        commitments it published the first time, and the caller must discard its new nonces.
        """

    @abstractmethod
    def consume_nonces(
        self,
        wallet_id: str,
        ceremony_id: str,
        request_digest: bytes,
        compute: Callable[[bytes], bytes],
    ) -> bytes:
        """Use a ceremony's nonces at most once, atomically.

        * no record: :class:`NoncesNotFound`;
        * consumed with the same ``request_digest``: the stored output, without calling
          ``compute`` (a retried round 2 gets the identical share);
        * consumed with another ``request_digest``: :class:`NonceAlreadyConsumed`, nothing
          changes;
        * fresh: ``output = compute(nonces)``; the record is marked consumed with the digest and
          the output, the nonces are erased, and that is committed durably before ``output`` is
          returned. If ``compute`` raises, nothing changes and the exception propagates.

        ``compute`` runs while the vault holds its write lock, so it must be quick and must not
        call the vault.
        """

    @abstractmethod
    def nonce_state(self, wallet_id: str, ceremony_id: str) -> NonceState | None:
        """``"fresh"``, ``"consumed"``, or ``None`` when no nonces were stored."""

    @abstractmethod
    def close(self) -> None:
        """Release the vault's resources; closing twice is harmless, any other use raises."""

    def __enter__(self) -> ShareVault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def check_identifier(field: str, value: object) -> str:
    """Validate a party, wallet, record or ceremony id; ``field`` names it in the error."""
    if not isinstance(value, str):
        raise InvalidVaultInput(f"{field} must be a str, got {type(value).__name__}")
    if not value:
        raise InvalidVaultInput(f"{field} must not be empty")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidVaultInput(f"{field} is not valid Unicode text") from None
    if size > MAX_IDENTIFIER_SIZE:
        raise InvalidVaultInput(f"{field} is longer than {MAX_IDENTIFIER_SIZE} bytes")
    return value


def check_bytes(field: str, value: object, max_size: int = MAX_RECORD_SIZE) -> bytes:
    """Validate a non-empty ``bytes`` argument; the message gives its size, never its content."""
    if not isinstance(value, bytes):
        raise InvalidVaultInput(f"{field} must be bytes, got {type(value).__name__}")
    if not value:
        raise InvalidVaultInput(f"{field} must not be empty")
    if len(value) > max_size:
        raise InvalidVaultInput(f"{field} is {len(value)} bytes; the limit is {max_size}")
    return value


def check_secret_key(wallet_id: object, name: object) -> tuple[str, str]:
    """Validate the ``(wallet_id, name)`` a secret is stored under."""
    return check_identifier("wallet_id", wallet_id), check_identifier("name", name)


def check_nonce_key(wallet_id: object, ceremony_id: object) -> tuple[str, str]:
    """Validate the ``(wallet_id, ceremony_id)`` a ceremony's nonces are stored under."""
    return check_identifier("wallet_id", wallet_id), check_identifier("ceremony_id", ceremony_id)


def check_consume(request_digest: object, compute: object) -> None:
    """Validate the arguments of :meth:`ShareVault.consume_nonces` after its key."""
    check_bytes("request_digest", request_digest, MAX_REQUEST_DIGEST_SIZE)
    if not callable(compute):
        raise InvalidVaultInput("compute must be callable")
