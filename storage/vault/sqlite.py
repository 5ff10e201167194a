"""The share vault on SQLite: one file per party, encrypted at rest, safe across processes.

Envelope encryption (ARCHITECTURE.md, invariant 5; :mod:`storage.vault.envelope`): each wallet
has a random 32-byte data key, stored only wrapped by the party's KEK in ``data_keys``; every
secret, nonce set and stored nonce output is AES-256-GCM encrypted under its wallet's data key,
with associated data binding (party, wallet, record kind, record name). The file therefore holds
no plaintext secret, and a ciphertext copied to another row, wallet or party fails with
:class:`VaultCorrupted` instead of decrypting.

``vault_meta`` records the party and the KEK id the file was created for, with a value wrapped
by that KEK: opening the file as another party raises :class:`VaultPartyMismatch`, and with
another KEK :class:`KeyUnwrapFailed`, before anything else is read.

Concurrency and durability (ARCHITECTURE.md, invariant 3):

* WAL journal, so readers never block the writer and vice versa;
* every write runs in ``BEGIN IMMEDIATE``, which takes the database's single write lock up front
  (waiting up to the busy timeout). :meth:`SqliteShareVault.consume_nonces` holds it from the
  read of the nonce record to the commit, so two workers, threads or processes, racing on the
  same ceremony run ``compute`` exactly once; the second one waits and then sees "consumed";
* ``synchronous = FULL``: in WAL mode ``NORMAL`` may lose the last commits on power loss, which
  for a consumed nonce would allow a second use after a restart;
* ``secure_delete = ON``: erased nonce ciphertexts and deleted secrets are overwritten in the
  database file rather than left in free pages. Older page images may still sit in the ``-wal``
  file until a checkpoint reuses it; they are ciphertext under the wallet's data key.
"""

from __future__ import annotations

import hmac
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Final

from storage.vault.envelope import (
    DATA_KEY_SIZE,
    VAULT_LABEL,
    Rng,
    encode_fields,
    new_data_key,
    open_record,
    random_bytes,
    seal_record,
)
from storage.vault.errors import (
    INSIDE_COMPUTE,
    InvalidVaultInput,
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
from storage.vault.kms import KeyEncryptionKey
from storage.vault.port import (
    NonceState,
    ShareVault,
    check_bytes,
    check_consume,
    check_identifier,
    check_nonce_key,
    check_secret_key,
)

__all__ = ["DEFAULT_BUSY_TIMEOUT_MS", "VAULT_FORMAT_VERSION", "SqliteShareVault"]

VAULT_FORMAT_VERSION: Final = 1
DEFAULT_BUSY_TIMEOUT_MS: Final = 30_000
"""How long a call waits for another connection's write lock before :class:`VaultUnavailable`."""

_KEK_CHECK_SIZE: Final = 32

# Record kinds, bound into every record's associated data so that a secret's ciphertext can
# never be opened as a nonce set or a stored output, even under the same name.
_KIND_DATA_KEY: Final = b"data-key"
_KIND_KEK_CHECK: Final = b"kek-check"
_KIND_SECRET: Final = b"secret"
_KIND_NONCES: Final = b"nonces"
_KIND_NONCE_OUTPUT: Final = b"nonce-output"

_SCHEMA: Final = (
    """
    CREATE TABLE IF NOT EXISTS vault_meta (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        format_version INTEGER NOT NULL,
        party_id TEXT NOT NULL,
        kek_id TEXT NOT NULL,
        kek_check BLOB NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS data_keys (
        wallet_id TEXT PRIMARY KEY,
        kek_id TEXT NOT NULL,
        wrapped_key BLOB NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS secrets (
        wallet_id TEXT NOT NULL REFERENCES data_keys (wallet_id),
        name TEXT NOT NULL,
        ciphertext BLOB NOT NULL,
        PRIMARY KEY (wallet_id, name)
    )
    """,
    # The CHECK makes the two states exclusive at the database level: a consumed record has
    # no nonce ciphertext left, and a fresh one has no stored output.
    """
    CREATE TABLE IF NOT EXISTS nonces (
        wallet_id TEXT NOT NULL REFERENCES data_keys (wallet_id),
        ceremony_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('fresh', 'consumed')),
        commitments BLOB NOT NULL,
        nonces_ciphertext BLOB,
        request_digest BLOB,
        output_ciphertext BLOB,
        PRIMARY KEY (wallet_id, ceremony_id),
        CHECK (
            (state = 'fresh' AND nonces_ciphertext IS NOT NULL
                AND request_digest IS NULL AND output_ciphertext IS NULL)
            OR (state = 'consumed' AND nonces_ciphertext IS NULL
                AND request_digest IS NOT NULL AND output_ciphertext IS NOT NULL)
        )
    )
    """,
)

_BEGIN: Final = {True: "BEGIN IMMEDIATE", False: "BEGIN DEFERRED"}


class SqliteShareVault(ShareVault):
    """A party's share vault in one SQLite file, encrypted under the party's KEK.

    Several instances (threads, processes) may open the same file; SQLite's locks serialize
    their writes. One instance may also be shared between threads: it serializes its own calls.
    The file is created with mode 0600 (SQLite gives its ``-wal`` and ``-shm`` files the same).
    """

    def __init__(
        self,
        path: Path,
        party_id: str,
        kek: KeyEncryptionKey,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        rng: Rng = os.urandom,
    ) -> None:
        self.party_id = check_identifier("party_id", party_id)
        if not isinstance(kek, KeyEncryptionKey):
            raise InvalidVaultInput("kek must be a KeyEncryptionKey")
        check_identifier("kek.key_id", kek.key_id)
        if not isinstance(busy_timeout_ms, int) or busy_timeout_ms < 0:
            raise InvalidVaultInput("busy_timeout_ms must be a non-negative int")
        self.path = Path(path)
        self._kek = kek
        self._rng = rng
        # Reentrant so that a vault call from inside ``compute`` fails with a clear error (see
        # ``_transaction``) instead of deadlocking the thread on its own lock.
        self._lock = threading.RLock()
        # Unwrapped data keys, keyed by (wallet, wrapped bytes as read from the database): a
        # key cached by a transaction that later rolled back is never looked up again, because
        # its wrapped bytes never reach the database.
        self._data_keys: dict[tuple[str, bytes], bytes] = {}

        _create_private_file(self.path)
        try:
            # ``timeout`` installs SQLite's busy handler (sqlite3_busy_timeout): a locked
            # database is retried for that long before "database is locked".
            connection = sqlite3.connect(
                self.path,
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock
            )
        except sqlite3.Error as exc:
            raise VaultUnavailable(f"cannot open share vault {self.path}: {exc}") from exc
        self._connection: sqlite3.Connection | None = connection
        try:
            self._configure(connection)
            self._initialize()
        except BaseException:
            self._connection = None
            connection.close()
            raise

    # -- secrets ---------------------------------------------------------------------------

    def put_secret(self, wallet_id: str, name: str, secret: bytes) -> None:
        check_secret_key(wallet_id, name)
        check_bytes("secret", secret)
        aad = self._record_aad(_KIND_SECRET, wallet_id, name)
        with self._transaction(immediate=True) as connection:
            row = _execute(
                connection,
                "SELECT ciphertext FROM secrets WHERE wallet_id = ? AND name = ?",
                (wallet_id, name),
            ).fetchone()
            if row is not None:
                # Write-once, but idempotent: compare with what is stored, in constant time.
                data_key = self._existing_data_key(connection, wallet_id)
                stored = open_record(data_key, row[0], aad, _what(wallet_id, name))
                if hmac.compare_digest(stored, secret):
                    return
                raise SecretAlreadyStored(wallet_id, name)
            data_key = self._data_key(connection, wallet_id, create=True)
            _execute(
                connection,
                "INSERT INTO secrets (wallet_id, name, ciphertext) VALUES (?, ?, ?)",
                (wallet_id, name, seal_record(data_key, secret, aad, self._rng)),
            )

    def get_secret(self, wallet_id: str, name: str) -> bytes:
        check_secret_key(wallet_id, name)
        with self._transaction(immediate=False) as connection:
            row = _execute(
                connection,
                "SELECT ciphertext FROM secrets WHERE wallet_id = ? AND name = ?",
                (wallet_id, name),
            ).fetchone()
            if row is None:
                raise SecretNotFound(wallet_id, name)
            data_key = self._existing_data_key(connection, wallet_id)
        aad = self._record_aad(_KIND_SECRET, wallet_id, name)
        return open_record(data_key, row[0], aad, _what(wallet_id, name))

    def has_secret(self, wallet_id: str, name: str) -> bool:
        check_secret_key(wallet_id, name)
        with self._transaction(immediate=False) as connection:
            row = _execute(
                connection,
                "SELECT 1 FROM secrets WHERE wallet_id = ? AND name = ?",
                (wallet_id, name),
            ).fetchone()
        return row is not None

    def delete_secret(self, wallet_id: str, name: str) -> None:
        check_secret_key(wallet_id, name)
        with self._transaction(immediate=True) as connection:
            _execute(
                connection,
                "DELETE FROM secrets WHERE wallet_id = ? AND name = ?",
                (wallet_id, name),
            )

    # -- single-use nonces -----------------------------------------------------------------

    def store_nonces(
        self, wallet_id: str, ceremony_id: str, nonces: bytes, commitments: bytes
    ) -> bytes:
        check_nonce_key(wallet_id, ceremony_id)
        check_bytes("nonces", nonces)
        check_bytes("commitments", commitments)
        with self._transaction(immediate=True) as connection:
            record = self._nonce_record(connection, wallet_id, ceremony_id)
            if record is not None:
                # Authenticate the stored commitments before handing them out again: they are
                # bound into the associated data of whichever ciphertext the record holds.
                data_key = self._existing_data_key(connection, wallet_id)
                if record.state == "fresh":
                    self._open_nonces(data_key, wallet_id, ceremony_id, record)
                else:
                    self._open_output(data_key, wallet_id, ceremony_id, record)
                return record.commitments
            data_key = self._data_key(connection, wallet_id, create=True)
            aad = self._nonces_aad(wallet_id, ceremony_id, commitments)
            _execute(
                connection,
                "INSERT INTO nonces (wallet_id, ceremony_id, state, commitments, "
                "nonces_ciphertext) VALUES (?, ?, 'fresh', ?, ?)",
                (
                    wallet_id,
                    ceremony_id,
                    commitments,
                    seal_record(data_key, nonces, aad, self._rng),
                ),
            )
        return commitments

    def consume_nonces(
        self,
        wallet_id: str,
        ceremony_id: str,
        request_digest: bytes,
        compute: Callable[[bytes], bytes],
    ) -> bytes:
        check_nonce_key(wallet_id, ceremony_id)
        check_consume(request_digest, compute)
        # BEGIN IMMEDIATE: the write lock is held from this read to the commit, so no other
        # connection can consume the same nonces in between.
        with self._transaction(immediate=True) as connection:
            record = self._nonce_record(connection, wallet_id, ceremony_id)
            if record is None:
                raise NoncesNotFound(wallet_id, ceremony_id)
            if record.state == "consumed":
                if record.request_digest is not None and hmac.compare_digest(
                    record.request_digest, request_digest
                ):
                    data_key = self._existing_data_key(connection, wallet_id)
                    return self._open_output(data_key, wallet_id, ceremony_id, record)
                raise NonceAlreadyConsumed(wallet_id, ceremony_id)
            data_key = self._existing_data_key(connection, wallet_id)
            nonces = self._open_nonces(data_key, wallet_id, ceremony_id, record)
            # If compute raises, the transaction rolls back with nothing written: still fresh.
            output = check_bytes("compute's output", compute(nonces))
            aad = self._output_aad(wallet_id, ceremony_id, record.commitments, request_digest)
            cursor = _execute(
                connection,
                "UPDATE nonces SET state = 'consumed', nonces_ciphertext = NULL, "
                "request_digest = ?, output_ciphertext = ? "
                "WHERE wallet_id = ? AND ceremony_id = ? AND state = 'fresh'",
                (
                    request_digest,
                    seal_record(data_key, output, aad, self._rng),
                    wallet_id,
                    ceremony_id,
                ),
            )
            if cursor.rowcount != 1:
                raise VaultCorrupted(
                    f"nonce record of ceremony {ceremony_id!r} of {wallet_id!r} changed under "
                    "the write lock"
                )
            # Returning from inside the ``with`` block runs COMMIT first: if the commit fails
            # the exception replaces the return, so the output never leaves unconsumed nonces.
            return output

    def nonce_state(self, wallet_id: str, ceremony_id: str) -> NonceState | None:
        check_nonce_key(wallet_id, ceremony_id)
        with self._transaction(immediate=False) as connection:
            row = _execute(
                connection,
                "SELECT state FROM nonces WHERE wallet_id = ? AND ceremony_id = ?",
                (wallet_id, ceremony_id),
            ).fetchone()
        if row is None:
            return None
        state = row[0]
        if state == "fresh":
            return "fresh"
        if state == "consumed":
            return "consumed"
        raise VaultCorrupted(f"nonce record of ceremony {ceremony_id!r} has an unknown state")

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._connection.in_transaction:
                # Only possible from inside ``compute``; closing would abandon its transaction.
                raise VaultError(INSIDE_COMPUTE)
            connection, self._connection = self._connection, None
            self._data_keys.clear()
            if connection is not None:
                connection.close()

    def __repr__(self) -> str:
        return (
            f"SqliteShareVault(path={str(self.path)!r}, party_id={self.party_id!r}, "
            f"kek_id={self._kek.key_id!r})"
        )

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _configure(connection: sqlite3.Connection) -> None:
        row = _execute(connection, "PRAGMA journal_mode = WAL").fetchone()
        if row is None or str(row[0]).lower() != "wal":
            # WAL is refused on some network file systems; without it the durability and
            # locking assumptions above do not hold, so refuse to run.
            raise VaultUnavailable("the share vault requires SQLite's WAL journal mode")
        _execute(connection, "PRAGMA synchronous = FULL")
        _execute(connection, "PRAGMA secure_delete = ON")
        _execute(connection, "PRAGMA foreign_keys = ON")

    def _initialize(self) -> None:
        """Create the schema on first use, then check the file belongs to this party and KEK."""
        kek_id = self._kek.key_id
        check_aad = encode_fields(
            VAULT_LABEL, _KIND_KEK_CHECK, self.party_id.encode(), kek_id.encode()
        )
        with self._transaction(immediate=True) as connection:
            tables = {
                str(name)
                for (name,) in _execute(
                    connection, "SELECT name FROM sqlite_master WHERE type = 'table'"
                ).fetchall()
            }
            if tables and "vault_meta" not in tables:
                # Never add vault tables to another application's database (a mistyped path
                # pointing at the event store, say): secrets would end up in its backups.
                raise VaultCorrupted(f"{self.path} is an SQLite database but not a share vault")
            for statement in _SCHEMA:
                _execute(connection, statement)
            row = _execute(
                connection,
                "SELECT format_version, party_id, kek_id, kek_check FROM vault_meta",
            ).fetchone()
            if row is None:
                check = self._kek.wrap(random_bytes(self._rng, _KEK_CHECK_SIZE), check_aad)
                _execute(
                    connection,
                    "INSERT INTO vault_meta (singleton, format_version, party_id, kek_id, "
                    "kek_check) VALUES (1, ?, ?, ?, ?)",
                    (VAULT_FORMAT_VERSION, self.party_id, kek_id, check),
                )
                return
            format_version, stored_party, stored_kek_id, check = row
        if format_version != VAULT_FORMAT_VERSION:
            raise VaultCorrupted(
                f"share vault {self.path} has format version {format_version!r}; "
                f"this code reads version {VAULT_FORMAT_VERSION}"
            )
        if stored_party != self.party_id:
            raise VaultPartyMismatch(
                f"share vault {self.path} belongs to party {stored_party!r}, not {self.party_id!r}"
            )
        if stored_kek_id != kek_id:
            raise KeyUnwrapFailed(
                f"share vault {self.path} is encrypted under key-encryption key "
                f"{stored_kek_id!r}, not {kek_id!r}"
            )
        if not isinstance(check, bytes):
            raise VaultCorrupted(f"share vault {self.path} has a malformed KEK check value")
        # Proves this KEK is the one the vault was created with, even if a KMS reports the same
        # key id for other key material; raises KeyUnwrapFailed otherwise.
        self._kek.unwrap(check, check_aad)

    @contextmanager
    def _transaction(self, *, immediate: bool) -> Iterator[sqlite3.Connection]:
        """Run the block in one transaction under the instance lock; roll back on any error."""
        with self._lock:
            connection = self._connection
            if connection is None:
                raise VaultClosed(self.party_id)
            if connection.in_transaction:
                # Only possible when ``compute`` calls back into this vault on the same thread.
                raise VaultError(INSIDE_COMPUTE)
            _execute(connection, _BEGIN[immediate])
            try:
                yield connection
            except BaseException:
                _rollback(connection)
                raise
            try:
                _execute(connection, "COMMIT")
            except BaseException:
                _rollback(connection)
                raise

    def _nonce_record(
        self, connection: sqlite3.Connection, wallet_id: str, ceremony_id: str
    ) -> _NonceRow | None:
        row = _execute(
            connection,
            "SELECT state, commitments, nonces_ciphertext, request_digest, output_ciphertext "
            "FROM nonces WHERE wallet_id = ? AND ceremony_id = ?",
            (wallet_id, ceremony_id),
        ).fetchone()
        if row is None:
            return None
        state, commitments, nonces_ciphertext, request_digest, output_ciphertext = row
        if state not in ("fresh", "consumed") or not isinstance(commitments, bytes):
            raise VaultCorrupted(f"nonce record of ceremony {ceremony_id!r} is malformed")
        if request_digest is not None and not isinstance(request_digest, bytes):
            raise VaultCorrupted(f"nonce record of ceremony {ceremony_id!r} is malformed")
        return _NonceRow(state, commitments, nonces_ciphertext, request_digest, output_ciphertext)

    def _open_nonces(
        self, data_key: bytes, wallet_id: str, ceremony_id: str, record: _NonceRow
    ) -> bytes:
        aad = self._nonces_aad(wallet_id, ceremony_id, record.commitments)
        what = f"nonces of ceremony {ceremony_id!r} of wallet {wallet_id!r}"
        return open_record(data_key, record.nonces_ciphertext, aad, what)

    def _open_output(
        self, data_key: bytes, wallet_id: str, ceremony_id: str, record: _NonceRow
    ) -> bytes:
        if record.request_digest is None:
            raise VaultCorrupted(f"consumed nonce record of ceremony {ceremony_id!r} is malformed")
        aad = self._output_aad(wallet_id, ceremony_id, record.commitments, record.request_digest)
        what = f"stored output of ceremony {ceremony_id!r} of wallet {wallet_id!r}"
        return open_record(data_key, record.output_ciphertext, aad, what)

    def _data_key(self, connection: sqlite3.Connection, wallet_id: str, *, create: bool) -> bytes:
        """The wallet's data key, unwrapped; created and stored wrapped if ``create``."""
        row = _execute(
            connection,
            "SELECT kek_id, wrapped_key FROM data_keys WHERE wallet_id = ?",
            (wallet_id,),
        ).fetchone()
        aad = encode_fields(
            VAULT_LABEL,
            _KIND_DATA_KEY,
            self.party_id.encode(),
            wallet_id.encode(),
            self._kek.key_id.encode(),
        )
        if row is None:
            if not create:
                raise VaultCorrupted(f"wallet {wallet_id!r} has records but no data key")
            data_key = new_data_key(self._rng)
            wrapped = self._kek.wrap(data_key, aad)
            _execute(
                connection,
                "INSERT INTO data_keys (wallet_id, kek_id, wrapped_key) VALUES (?, ?, ?)",
                (wallet_id, self._kek.key_id, wrapped),
            )
            self._data_keys[(wallet_id, wrapped)] = data_key
            return data_key
        kek_id, wrapped = row
        if not isinstance(wrapped, bytes):
            raise VaultCorrupted(f"data key of wallet {wallet_id!r} is malformed")
        if kek_id != self._kek.key_id:
            raise KeyUnwrapFailed(
                f"data key of wallet {wallet_id!r} is wrapped by key-encryption key "
                f"{kek_id!r}, not {self._kek.key_id!r}"
            )
        cached = self._data_keys.get((wallet_id, wrapped))
        if cached is not None:
            return cached
        try:
            data_key = self._kek.unwrap(wrapped, aad)
        except KeyUnwrapFailed as exc:
            # The KEK itself was verified when the vault was opened, so a failure here means
            # the row was altered or copied from another wallet or party.
            raise VaultCorrupted(f"data key of wallet {wallet_id!r} failed to unwrap") from exc
        if len(data_key) != DATA_KEY_SIZE:
            raise VaultCorrupted(f"data key of wallet {wallet_id!r} has the wrong size")
        self._data_keys[(wallet_id, wrapped)] = data_key
        return data_key

    def _existing_data_key(self, connection: sqlite3.Connection, wallet_id: str) -> bytes:
        return self._data_key(connection, wallet_id, create=False)

    def _record_aad(self, kind: bytes, wallet_id: str, name: str, *extra: bytes) -> bytes:
        return encode_fields(
            VAULT_LABEL, kind, self.party_id.encode(), wallet_id.encode(), name.encode(), *extra
        )

    def _nonces_aad(self, wallet_id: str, ceremony_id: str, commitments: bytes) -> bytes:
        # The public commitments are bound too, so a retried round 1 can trust what it reads.
        return self._record_aad(_KIND_NONCES, wallet_id, ceremony_id, commitments)

    def _output_aad(
        self, wallet_id: str, ceremony_id: str, commitments: bytes, request_digest: bytes
    ) -> bytes:
        return self._record_aad(
            _KIND_NONCE_OUTPUT, wallet_id, ceremony_id, commitments, request_digest
        )


class _NonceRow:
    """One row of ``nonces`` as read, before decryption; holds ciphertexts only."""

    __slots__ = ("commitments", "nonces_ciphertext", "output_ciphertext", "request_digest", "state")

    def __init__(
        self,
        state: str,
        commitments: bytes,
        nonces_ciphertext: object,
        request_digest: bytes | None,
        output_ciphertext: object,
    ) -> None:
        self.state = state
        self.commitments = commitments
        self.nonces_ciphertext = nonces_ciphertext
        self.request_digest = request_digest
        self.output_ciphertext = output_ciphertext


def _what(wallet_id: str, name: str) -> str:
    return f"secret {name!r} of wallet {wallet_id!r}"


def _execute(
    connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...] = ()
) -> sqlite3.Cursor:
    """Run one statement, turning SQLite's errors into the vault's typed errors.

    SQLite's messages name tables and constraints, never bound parameter values, so they are
    safe to carry into the vault's error messages.
    """
    try:
        return connection.execute(sql, parameters)
    except sqlite3.ProgrammingError:
        raise  # a bug in this module, not a state of the database
    except sqlite3.OperationalError as exc:
        raise VaultUnavailable(f"share vault database error: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise VaultCorrupted(f"share vault database error: {exc}") from exc


def _rollback(connection: sqlite3.Connection) -> None:
    # SQLite rolls some failed transactions back by itself; a second ROLLBACK would then fail
    # and hide the original error.
    if connection.in_transaction:
        with suppress(sqlite3.Error):
            connection.execute("ROLLBACK")


def _create_private_file(path: Path) -> None:
    """Create an empty vault file of mode 0600 unless it exists; SQLite keeps existing modes."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise VaultUnavailable(f"cannot open share vault {path}: {exc.strerror}") from exc
    os.close(fd)
