"""The SQLite share vault: the contract suite, plus encryption at rest, tampering and locking."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.vault.errors import (
    KeyUnwrapFailed,
    NonceAlreadyConsumed,
    SecretNotFound,
    VaultCorrupted,
    VaultError,
    VaultPartyMismatch,
    VaultUnavailable,
)
from storage.vault.kms import KeyEncryptionKey, LocalFileKek
from storage.vault.port import ShareVault
from storage.vault.sqlite import SqliteShareVault
from tests.storage.vault.concurrency import AppendingCompute, consume_in_process
from tests.storage.vault.contract import (
    CEREMONY,
    DIGEST,
    OTHER_DIGEST,
    OTHER_WALLET,
    WALLET,
    CountingCompute,
    ShareVaultContract,
    unexpected_compute,
)


def vault_path(directory: Path, party_id: str) -> Path:
    return directory / f"{party_id}.vault"


def kek_for(directory: Path, party_id: str) -> LocalFileKek:
    return LocalFileKek.load_or_create(directory / f"{party_id}.kek")


def open_sqlite_vault(directory: Path, party_id: str) -> SqliteShareVault:
    return SqliteShareVault(vault_path(directory, party_id), party_id, kek_for(directory, party_id))


class TestSqliteShareVault(ShareVaultContract):
    def open_vault(self, directory: Path, party_id: str) -> ShareVault:
        return open_sqlite_vault(directory, party_id)


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[SqliteShareVault]:
    vault = open_sqlite_vault(tmp_path, "us-1")
    yield vault
    vault.close()


def execute(path: Path, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Run SQL on the vault file directly, as an attacker with write access to it would."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def blobs_by_wallet(path: Path, table: str, column: str) -> dict[str, bytes]:
    blobs: dict[str, bytes] = {}
    for wallet_id, value in execute(path, f"SELECT wallet_id, {column} FROM {table}"):  # noqa: S608
        assert isinstance(wallet_id, str)
        assert isinstance(value, bytes)
        blobs[wallet_id] = value
    return blobs


def swap_between_wallets(path: Path, table: str, column: str) -> None:
    """Exchange the ``table.column`` values of WALLET and OTHER_WALLET (names from this file)."""
    rows = blobs_by_wallet(path, table, column)
    update = f"UPDATE {table} SET {column} = ? WHERE wallet_id = ?"  # noqa: S608
    execute(path, update, (rows[OTHER_WALLET], WALLET))
    execute(path, update, (rows[WALLET], OTHER_WALLET))


def flip_last_byte(value: object) -> bytes:
    assert isinstance(value, bytes)
    return value[:-1] + bytes([value[-1] ^ 0x01])


def flip_stored_byte(path: Path, table: str, column: str) -> None:
    """Flip the last byte of the one value stored in ``table.column`` (names from this file)."""
    ((value,),) = execute(path, f"SELECT {column} FROM {table}")  # noqa: S608
    execute(path, f"UPDATE {table} SET {column} = ?", (flip_last_byte(value),))  # noqa: S608


# -- persistence -----------------------------------------------------------------------------


def test_everything_survives_a_reopen(tmp_path: Path) -> None:
    secret, nonces, commitments = os.urandom(32), os.urandom(64), os.urandom(66)
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        vault.put_secret(WALLET, "key-share", secret)
        vault.store_nonces(WALLET, CEREMONY, b"consumed nonces", b"C1")
        output = vault.consume_nonces(WALLET, CEREMONY, DIGEST, CountingCompute())
        vault.store_nonces(WALLET, "sign-0002", nonces, commitments)

    with open_sqlite_vault(tmp_path, "us-1") as vault:
        assert vault.get_secret(WALLET, "key-share") == secret
        assert vault.nonce_state(WALLET, CEREMONY) == "consumed"
        assert vault.consume_nonces(WALLET, CEREMONY, DIGEST, unexpected_compute) == output
        with pytest.raises(NonceAlreadyConsumed):
            vault.consume_nonces(WALLET, CEREMONY, OTHER_DIGEST, unexpected_compute)
        assert vault.store_nonces(WALLET, "sign-0002", b"new", b"new") == commitments
        compute = CountingCompute()
        vault.consume_nonces(WALLET, "sign-0002", DIGEST, compute)
        assert compute.calls == [nonces]


def test_consumption_is_committed_before_the_output_is_returned(tmp_path: Path) -> None:
    vault = open_sqlite_vault(tmp_path, "us-1")
    observer = open_sqlite_vault(tmp_path, "us-1")
    vault.store_nonces(WALLET, CEREMONY, os.urandom(64), b"C")
    seen_during_compute: list[str | None] = []

    def compute(nonces: bytes) -> bytes:
        # Another connection still sees the committed state: the transaction is not yet done.
        seen_during_compute.append(observer.nonce_state(WALLET, CEREMONY))
        return b"share"

    try:
        assert vault.consume_nonces(WALLET, CEREMONY, DIGEST, compute) == b"share"
        assert seen_during_compute == ["fresh"]
        assert observer.nonce_state(WALLET, CEREMONY) == "consumed"
    finally:
        vault.close()
        observer.close()


# -- encryption at rest ----------------------------------------------------------------------


def test_the_files_hold_no_plaintext_secret(tmp_path: Path) -> None:
    path = vault_path(tmp_path, "us-1")
    secret, nonces, spent_nonces = os.urandom(48), os.urandom(64), os.urandom(64)
    vault = open_sqlite_vault(tmp_path, "us-1")
    kek_bytes = (tmp_path / "us-1.kek").read_bytes()
    vault.put_secret(WALLET, "key-share", secret)
    vault.store_nonces(WALLET, CEREMONY, nonces, b"public commitments")
    vault.store_nonces(WALLET, "sign-0002", spent_nonces, b"public commitments 2")
    output = vault.consume_nonces(WALLET, "sign-0002", DIGEST, CountingCompute())

    def assert_absent(files: list[Path]) -> None:
        assert files
        for file in files:
            raw = file.read_bytes()
            for value in (secret, nonces, spent_nonces, output, kek_bytes):
                assert value not in raw, f"plaintext found in {file.name}"
                assert value.hex().encode() not in raw

    # While open, most of what was written is still in the write-ahead log.
    wal = path.with_name(path.name + "-wal")
    assert b"public commitments" in wal.read_bytes()
    assert_absent([path, wal])
    vault.close()
    assert_absent([file for file in (path, wal) if file.exists()])
    # The public commitments are stored as they are, which shows the scans read the records.
    assert b"public commitments" in path.read_bytes()


def test_the_vault_file_is_private(vault: SqliteShareVault) -> None:
    vault.put_secret(WALLET, "key-share", b"share")
    for file in (vault.path, vault.path.with_name(vault.path.name + "-wal")):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name


# -- wrong party, wrong key ------------------------------------------------------------------


def test_opening_with_another_partys_kek_fails(tmp_path: Path) -> None:
    open_sqlite_vault(tmp_path, "us-1").close()
    with pytest.raises(KeyUnwrapFailed):
        SqliteShareVault(vault_path(tmp_path, "us-1"), "us-1", kek_for(tmp_path, "us-2"))


def test_opening_as_another_party_fails(tmp_path: Path) -> None:
    open_sqlite_vault(tmp_path, "us-1").close()
    with pytest.raises(VaultPartyMismatch, match="us-1") as raised:
        SqliteShareVault(vault_path(tmp_path, "us-1"), "us-2", kek_for(tmp_path, "us-1"))
    assert isinstance(raised.value, VaultError)


class ImpostorKek(KeyEncryptionKey):
    """Other key material that claims the key id of the vault's real KEK."""

    def __init__(self, key_id: str, key_file: Path) -> None:
        self.key_id = key_id
        self._inner = LocalFileKek.load_or_create(key_file)

    def wrap(self, data_key: bytes, associated_data: bytes) -> bytes:
        return self._inner.wrap(data_key, associated_data)

    def unwrap(self, wrapped: bytes, associated_data: bytes) -> bytes:
        return self._inner.unwrap(wrapped, associated_data)


def test_a_kek_reusing_the_key_id_is_detected(tmp_path: Path) -> None:
    open_sqlite_vault(tmp_path, "us-1").close()
    impostor = ImpostorKek(kek_for(tmp_path, "us-1").key_id, tmp_path / "impostor.kek")
    with pytest.raises(KeyUnwrapFailed):
        SqliteShareVault(vault_path(tmp_path, "us-1"), "us-1", impostor)


def test_a_file_that_is_not_a_vault_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not-a-vault"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(VaultCorrupted):
        SqliteShareVault(path, "us-1", kek_for(tmp_path, "us-1"))


def test_another_applications_database_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    execute(path, "CREATE TABLE events (id INTEGER PRIMARY KEY)")
    with pytest.raises(VaultCorrupted, match="not a share vault"):
        SqliteShareVault(path, "us-1", kek_for(tmp_path, "us-1"))
    assert execute(path, "SELECT name FROM sqlite_master WHERE type = 'table'") == [("events",)]


# -- tampering -------------------------------------------------------------------------------


def test_a_tampered_secret_fails_to_decrypt(tmp_path: Path) -> None:
    secret = os.urandom(32)
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        vault.put_secret(WALLET, "key-share", secret)
    path = vault_path(tmp_path, "us-1")
    flip_stored_byte(path, "secrets", "ciphertext")
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        with pytest.raises(VaultCorrupted) as raised:
            vault.get_secret(WALLET, "key-share")
        assert secret.hex() not in str(raised.value)
        # Write-once compares against the stored secret, so it cannot be bypassed either.
        with pytest.raises(VaultCorrupted):
            vault.put_secret(WALLET, "key-share", secret)


def test_a_tampered_data_key_fails_to_unwrap(tmp_path: Path) -> None:
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        vault.put_secret(WALLET, "key-share", b"share")
    path = vault_path(tmp_path, "us-1")
    flip_stored_byte(path, "data_keys", "wrapped_key")
    with open_sqlite_vault(tmp_path, "us-1") as vault, pytest.raises(VaultCorrupted):
        vault.get_secret(WALLET, "key-share")


@pytest.mark.parametrize(
    ("consumed", "column"),
    [(False, "nonces_ciphertext"), (True, "output_ciphertext")],
    ids=["nonces-never-used", "stored-output-detected"],
)
def test_tampered_nonces_or_stored_output_are_detected(
    tmp_path: Path, consumed: bool, column: str
) -> None:
    """Tampered nonces are never used; a tampered stored output (of nonces already used)
    is detected. Either way the nonces' state is unchanged."""
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        vault.store_nonces(WALLET, CEREMONY, os.urandom(64), b"C")
        if consumed:
            vault.consume_nonces(WALLET, CEREMONY, DIGEST, CountingCompute())
    path = vault_path(tmp_path, "us-1")
    flip_stored_byte(path, "nonces", column)
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        with pytest.raises(VaultCorrupted):
            vault.consume_nonces(WALLET, CEREMONY, DIGEST, unexpected_compute)
        assert vault.nonce_state(WALLET, CEREMONY) == ("consumed" if consumed else "fresh")


def test_tampered_commitments_are_detected(tmp_path: Path) -> None:
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        vault.store_nonces(WALLET, CEREMONY, os.urandom(64), b"commitments")
        vault.store_nonces(WALLET, "sign-0002", os.urandom(64), b"commitments 2")
        vault.consume_nonces(WALLET, "sign-0002", DIGEST, CountingCompute())
    execute(vault_path(tmp_path, "us-1"), "UPDATE nonces SET commitments = ?", (b"forged",))
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        with pytest.raises(VaultCorrupted):
            vault.store_nonces(WALLET, CEREMONY, os.urandom(64), b"new")
        with pytest.raises(VaultCorrupted):
            vault.store_nonces(WALLET, "sign-0002", os.urandom(64), b"new")
        with pytest.raises(VaultCorrupted):
            vault.consume_nonces(WALLET, CEREMONY, DIGEST, unexpected_compute)
        with pytest.raises(VaultCorrupted):
            vault.consume_nonces(WALLET, "sign-0002", DIGEST, unexpected_compute)


def test_secret_rows_swapped_between_wallets_fail(tmp_path: Path) -> None:
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        vault.put_secret(WALLET, "key-share", b"share of wallet 1")
        vault.put_secret(OTHER_WALLET, "key-share", b"share of wallet 2")
    swap_between_wallets(vault_path(tmp_path, "us-1"), "secrets", "ciphertext")
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        for wallet_id in (WALLET, OTHER_WALLET):
            with pytest.raises(VaultCorrupted):
                vault.get_secret(wallet_id, "key-share")


def test_data_keys_swapped_between_wallets_fail(tmp_path: Path) -> None:
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        vault.put_secret(WALLET, "key-share", b"share of wallet 1")
        vault.put_secret(OTHER_WALLET, "key-share", b"share of wallet 2")
    path = vault_path(tmp_path, "us-1")
    # Swap both the data keys and the records: every ciphertext stays with its own data key,
    # but the associated data still names the wallet each was written for.
    for table, column in (("data_keys", "wrapped_key"), ("secrets", "ciphertext")):
        swap_between_wallets(path, table, column)
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        for wallet_id in (WALLET, OTHER_WALLET):
            with pytest.raises(VaultCorrupted):
                vault.get_secret(wallet_id, "key-share")


def test_a_secret_moved_to_another_name_fails(tmp_path: Path) -> None:
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        vault.put_secret(WALLET, "key-share", b"the key share")
    execute(
        vault_path(tmp_path, "us-1"),
        "INSERT INTO secrets (wallet_id, name, ciphertext) "
        "SELECT wallet_id, 'dkg-round1', ciphertext FROM secrets",
    )
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        with pytest.raises(VaultCorrupted):
            vault.get_secret(WALLET, "dkg-round1")
        assert vault.get_secret(WALLET, "key-share") == b"the key share"


def test_a_secret_moved_into_a_nonce_record_fails(tmp_path: Path) -> None:
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        vault.put_secret(WALLET, CEREMONY, b"a secret named like the ceremony")
        vault.store_nonces(WALLET, CEREMONY, os.urandom(64), b"C")
    path = vault_path(tmp_path, "us-1")
    ((ciphertext,),) = execute(path, "SELECT ciphertext FROM secrets")
    execute(path, "UPDATE nonces SET nonces_ciphertext = ?", (ciphertext,))
    with open_sqlite_vault(tmp_path, "us-1") as vault, pytest.raises(VaultCorrupted):
        vault.consume_nonces(WALLET, CEREMONY, DIGEST, unexpected_compute)


def test_rows_copied_to_another_partys_vault_fail(tmp_path: Path) -> None:
    # The worst case: both parties' vaults under the same KEK (they never should be). The
    # party id in the associated data still keeps one party's records out of the other's.
    shared_kek = kek_for(tmp_path, "shared")
    a_path, b_path = vault_path(tmp_path, "us-1"), vault_path(tmp_path, "us-2")
    with SqliteShareVault(a_path, "us-1", shared_kek) as a:
        a.put_secret(WALLET, "key-share", b"share of party us-1")
    SqliteShareVault(b_path, "us-2", shared_kek).close()
    for table in ("data_keys", "secrets"):
        columns = "wallet_id, kek_id, wrapped_key" if table == "data_keys" else "*"
        rows = execute(a_path, f"SELECT {columns} FROM {table}")  # noqa: S608
        placeholders = ", ".join("?" * len(rows[0]))
        execute(b_path, f"INSERT INTO {table} VALUES ({placeholders})", rows[0])  # noqa: S608
    with SqliteShareVault(b_path, "us-2", shared_kek) as b, pytest.raises(VaultCorrupted):
        b.get_secret(WALLET, "key-share")


def test_the_vault_file_of_another_party_opens_for_nobody_else(tmp_path: Path) -> None:
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        vault.put_secret(WALLET, "key-share", b"share")
    for party_id in ("us-2", "eu-1"):
        with pytest.raises((VaultPartyMismatch, KeyUnwrapFailed)):
            SqliteShareVault(vault_path(tmp_path, "us-1"), party_id, kek_for(tmp_path, party_id))


# -- concurrency -----------------------------------------------------------------------------


def test_concurrent_consume_from_threads_computes_once(tmp_path: Path) -> None:
    with open_sqlite_vault(tmp_path, "us-1") as setup:
        setup.store_nonces(WALLET, CEREMONY, os.urandom(64), b"C")
    log = tmp_path / "compute.log"
    vaults = [open_sqlite_vault(tmp_path, "us-1") for _ in range(4)]
    barrier = threading.Barrier(len(vaults))
    outputs: list[bytes] = []
    errors: list[BaseException] = []

    def worker(vault: SqliteShareVault) -> None:
        barrier.wait(timeout=30)
        try:
            outputs.append(
                vault.consume_nonces(WALLET, CEREMONY, DIGEST, AppendingCompute(log, 0.2))
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(vault,)) for vault in vaults]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for vault in vaults:
        vault.close()
    assert errors == []
    assert len(log.read_text().splitlines()) == 1
    assert len(outputs) == len(vaults)
    assert len(set(outputs)) == 1


def test_one_vault_object_shared_by_threads_computes_once(vault: SqliteShareVault) -> None:
    vault.store_nonces(WALLET, CEREMONY, os.urandom(64), b"C")
    compute = CountingCompute()
    barrier = threading.Barrier(4)
    outputs: list[bytes] = []

    def worker() -> None:
        barrier.wait(timeout=30)
        outputs.append(vault.consume_nonces(WALLET, CEREMONY, DIGEST, compute))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(compute.calls) == 1
    assert len(outputs) == 4
    assert len(set(outputs)) == 1


@pytest.mark.parametrize("digests", [(DIGEST, DIGEST), (DIGEST, OTHER_DIGEST)])
def test_concurrent_consume_from_processes_computes_once(
    tmp_path: Path, digests: tuple[bytes, bytes]
) -> None:
    with open_sqlite_vault(tmp_path, "us-1") as setup:
        setup.store_nonces(WALLET, CEREMONY, os.urandom(64), b"C")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(digests))
    results = context.Queue()
    log = tmp_path / "compute.log"
    processes = [
        context.Process(
            target=consume_in_process,
            args=(
                str(vault_path(tmp_path, "us-1")),
                str(tmp_path / "us-1.kek"),
                "us-1",
                WALLET,
                CEREMONY,
                digest,
                str(log),
                barrier,
                results,
            ),
        )
        for digest in digests
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert len(log.read_text().splitlines()) == 1
    if digests[0] == digests[1]:
        # A retried activity racing its original: both get the one share.
        assert [kind for kind, _ in outcomes] == ["ok", "ok"]
        assert outcomes[0][1] == outcomes[1][1]
    else:
        # Two different requests: exactly one signs, the other is refused.
        assert sorted(kind for kind, _ in outcomes) == ["error", "ok"]
        assert (b"NonceAlreadyConsumed") in [value for kind, value in outcomes if kind == "error"]
    with open_sqlite_vault(tmp_path, "us-1") as vault:
        assert vault.nonce_state(WALLET, CEREMONY) == "consumed"


def test_a_write_lock_held_past_the_busy_timeout_is_a_typed_error(tmp_path: Path) -> None:
    path = vault_path(tmp_path, "us-1")
    open_sqlite_vault(tmp_path, "us-1").close()
    vault = SqliteShareVault(path, "us-1", kek_for(tmp_path, "us-1"), busy_timeout_ms=100)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(VaultUnavailable):
            vault.put_secret(WALLET, "key-share", b"share")
        # Reads are not blocked by a writer in WAL mode.
        assert not vault.has_secret(WALLET, "key-share")
        holder.execute("ROLLBACK")
        vault.put_secret(WALLET, "key-share", b"share")
    finally:
        holder.close()
        vault.close()


def test_missing_secret_after_reopen_is_still_typed(tmp_path: Path) -> None:
    open_sqlite_vault(tmp_path, "us-1").close()
    with open_sqlite_vault(tmp_path, "us-1") as vault, pytest.raises(SecretNotFound):
        vault.get_secret(WALLET, "key-share")
