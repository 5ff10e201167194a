"""``audit verify`` only reads, whatever it is pointed at (issue 11).

Pointed at a party's vault it used to create the event store's tables inside it (and report
"OK: 0 events intact"), and it switched SQLite files to WAL mode. Now: the bytes of the
target and of its ``-wal``/``-shm``/``-journal`` side files (their presence included) are
the same before and after, for an intact store, a tampered one and files that are no store;
those are refused with one line on stderr and the error exit status.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import asyncpg  # type: ignore[import-untyped]
import pytest
from typer.testing import CliRunner, Result

from quorate.audit_cli import EXIT_ERROR, EXIT_TAMPERED, audit_app
from storage.audit.verify import AuditError, verify_url
from storage.events.errors import EventStoreReadOnly, NotAnEventStore
from storage.events.models import to_new_event, wallet_stream
from storage.events.port import (
    open_event_store,
    open_event_store_read_only,
)
from storage.vault.kms import LocalFileKek
from storage.vault.sqlite import SqliteShareVault
from tests.storage.audit.support import (
    EVENT_COUNT,
    POSTGRES_URL,
    PostgresBackend,
    SQLiteBackend,
    wallet_created,
)

SIDE_FILES = ("", "-wal", "-shm", "-journal")


def fingerprint(path: Path) -> dict[str, str | None]:
    """SHA-256 of the file and of each SQLite side file, ``None`` for one that is absent."""
    prints: dict[str, str | None] = {}
    for suffix in SIDE_FILES:
        side = Path(f"{path}{suffix}")
        prints[suffix or "main"] = (
            hashlib.sha256(side.read_bytes()).hexdigest() if side.exists() else None
        )
    return prints


def _verify(target: str, *args: str) -> Result:
    return CliRunner().invoke(audit_app, ["verify", "--url", target, *args])


def _assert_refused(result: Result, *words: str) -> None:
    assert result.exit_code == EXIT_ERROR, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # One line, no traceback.
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]
    assert result.stdout == ""  # Never an "OK".


def _journal_mode(path: Path) -> str:
    # Read from the file header, not through a connection that could itself change it:
    # bytes 18-19 are 2 for WAL, 1 for a rollback journal (SQLite file format, 1.3).
    header = path.read_bytes()[:20]
    return "wal" if header[18:20] == b"\x02\x02" else "rollback"


def test_an_intact_store_is_verified_without_a_byte_changing(
    sqlite_backend: SQLiteBackend,
) -> None:
    asyncio.run(sqlite_backend.build())
    before = fingerprint(sqlite_backend.path)
    assert before["-wal"] is None  # Closed cleanly: no side files.
    result = _verify(sqlite_backend.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: ")
    assert fingerprint(sqlite_backend.path) == before


def test_a_tampered_store_is_named_without_a_byte_changing(
    sqlite_backend: SQLiteBackend,
) -> None:
    asyncio.run(sqlite_backend.build())
    asyncio.run(sqlite_backend.edit_payload(8, signers=["us-1", "us-2", "apac-1"]))
    before = fingerprint(sqlite_backend.path)
    result = _verify(sqlite_backend.url)
    assert result.exit_code == EXIT_TAMPERED
    assert "position 8" in result.stdout
    assert fingerprint(sqlite_backend.path) == before


def test_a_party_vault_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    """The issue's case: a copy of a party's vault got the event store's schema."""
    vault_path = tmp_path / "vault.sqlite3"
    vault = SqliteShareVault(vault_path, "us-1", LocalFileKek.load_or_create(tmp_path / "kek"))
    vault.put_secret("w1", "share", b"\x01" * 32)
    vault.close()
    before = fingerprint(vault_path)
    tables = _tables(vault_path)
    _assert_refused(_verify(f"sqlite:///{vault_path}"), "not a Quorate event store", "events")
    assert fingerprint(vault_path) == before
    assert _tables(vault_path) == tables
    assert "events" not in tables


@pytest.mark.parametrize(
    "command",
    [
        ("query", "--wallet", "w1", "--source", "events"),
        ("state", "--wallet", "w1", "--as-of", "2024-05-01", "--source", "events"),
        ("transactions", "--wallet", "w1", "--source", "events"),
        ("export", "--out", "OUT"),
    ],
    ids=["query", "state", "transactions", "export"],
)
def test_the_other_audit_commands_read_only_too(tmp_path: Path, command: tuple[str, ...]) -> None:
    vault_path = tmp_path / "vault.sqlite3"
    SqliteShareVault(vault_path, "us-1", LocalFileKek.load_or_create(tmp_path / "kek")).close()
    before = fingerprint(vault_path)
    args = [str(tmp_path / "out.jsonl") if arg == "OUT" else arg for arg in command]
    result = CliRunner().invoke(audit_app, [*args, "--url", f"sqlite:///{vault_path}"])
    _assert_refused(result, "not a Quorate event store")
    assert fingerprint(vault_path) == before
    assert not (tmp_path / "out.jsonl").exists()


def _tables(path: Path) -> set[str]:
    # immutable=1: looking must not change the file either.
    uri = f"file:{path}?mode=ro&immutable=1"
    with sqlite3.connect(uri, uri=True) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        found = {str(row[0]) for row in rows}
    connection.close()
    return found


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "an empty file"),
        (os.urandom(4096), "not a SQLite database"),
        (b"SQLite format 3\x00" + b"\x00" * 84 + os.urandom(3996), "not a Quorate event store"),
    ],
    ids=["empty", "random", "corrupt-sqlite"],
)
def test_a_file_that_is_no_store_is_refused_unchanged(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / "events.sqlite3"
    path.write_bytes(content)
    before = fingerprint(path)
    _assert_refused(_verify(f"sqlite:///{path}"), why)
    assert fingerprint(path) == before


def test_a_missing_file_is_refused_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "events.sqlite3"
    _assert_refused(_verify(f"sqlite:///{path}"), "no event store", "no such file")
    assert not path.parent.exists()  # Not even its directory.


def test_a_rollback_journal_file_is_not_switched_to_wal(tmp_path: Path) -> None:
    """An event store in rollback-journal mode (a copy made by a tool that checkpointed and
    switched it back) stays in that mode: verify never sets a journal mode."""
    backend = SQLiteBackend(tmp_path)
    asyncio.run(backend.build())
    connection = sqlite3.connect(backend.path)
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    assert _journal_mode(backend.path) == "rollback"
    before = fingerprint(backend.path)
    result = _verify(backend.url)
    assert result.exit_code == 0, result.output
    assert _journal_mode(backend.path) == "rollback"
    assert fingerprint(backend.path) == before


def test_a_live_store_is_read_through_its_log_without_writing_the_file_or_the_log(
    sqlite_backend: SQLiteBackend,
) -> None:
    """With a writer's connection open (``-wal`` and ``-shm`` present), verify reads the
    events still in the log; the database file and the ``-wal`` keep their bytes (``-shm``
    is SQLite's shared memory, which every reader uses)."""
    asyncio.run(sqlite_backend.build())
    writer = sqlite3.connect(sqlite_backend.path)
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("BEGIN")
        writer.execute("SELECT count(*) FROM events").fetchone()
        writer.execute("COMMIT")
        before = fingerprint(sqlite_backend.path)
        assert before["-wal"] is not None
        assert before["-shm"] is not None
        result = _verify(sqlite_backend.url)
        assert result.exit_code == 0, result.output
        assert f"{EVENT_COUNT} events intact" in result.stdout
        after = fingerprint(sqlite_backend.path)
        assert {name: after[name] for name in ("main", "-wal", "-journal")} == {
            name: before[name] for name in ("main", "-wal", "-journal")
        }
        assert after["-shm"] is not None
    finally:
        writer.close()


def test_a_log_without_its_shared_memory_file_is_read_from_a_private_copy(
    tmp_path: Path,
) -> None:
    """A ``-wal`` without ``-shm`` (files copied by hand): reading in place would create
    ``-shm``, so a private copy is read; the events only in the log are verified too."""
    source = SQLiteBackend(tmp_path / "live")
    (tmp_path / "live").mkdir()
    asyncio.run(source.build())
    writer = sqlite3.connect(source.path)
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("SELECT count(*) FROM events").fetchone()  # Holds the log open.
        # A committed event that only the -wal holds: appended through the store's own
        # code, which the writer's open connection keeps from being checkpointed.
        asyncio.run(_append_one(source.url))
        copy_dir = tmp_path / "copy"
        copy_dir.mkdir()
        copy = copy_dir / "events.sqlite3"
        copy.write_bytes(source.path.read_bytes())
        Path(f"{copy}-wal").write_bytes(Path(f"{source.path}-wal").read_bytes())
    finally:
        writer.close()
    before = fingerprint(copy)
    assert before["-wal"] is not None
    assert before["-shm"] is None
    result = _verify(f"sqlite:///{copy}")
    assert result.exit_code == 0, result.output
    assert f"{EVENT_COUNT + 1} events intact" in result.stdout
    assert fingerprint(copy) == before
    assert sorted(p.name for p in copy_dir.iterdir()) == ["events.sqlite3", "events.sqlite3-wal"]


async def _append_one(url: str) -> None:
    async with await open_event_store(url) as store:
        await store.append(
            to_new_event(
                wallet_created("w9"), stream_id=wallet_stream("w9"), idempotency_key="w9/created"
            )
        )


async def test_a_read_only_store_refuses_writes(
    sqlite_backend: SQLiteBackend, tmp_path: Path
) -> None:
    await sqlite_backend.build()
    event = to_new_event(wallet_created("w9"), stream_id=wallet_stream("w9"), idempotency_key="k")
    async with await open_event_store_read_only(sqlite_backend.url) as store:
        assert await store.count() == EVENT_COUNT
        with pytest.raises(EventStoreReadOnly):
            await store.append(event)
        with pytest.raises(EventStoreReadOnly):
            await store.archive_partitions(datetime(2000, 1, 1, tzinfo=UTC), tmp_path)


async def test_verify_url_refuses_an_in_memory_store() -> None:
    with pytest.raises(AuditError, match="in-memory"):
        await verify_url("sqlite:///:memory:")


# -- PostgreSQL -------------------------------------------------------------------------------


async def _schema_state(schema: str) -> tuple[bool, list[str]]:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        exists = bool(
            await connection.fetchval(
                "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema
            )
        )
        tables = await connection.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1",
            schema,
        )
    finally:
        await connection.close()
    return exists, [str(row["relname"]) for row in tables]


def test_postgres_a_missing_schema_is_refused_and_not_created(
    postgres_backend: PostgresBackend,
) -> None:
    schema = f"qaudit_absent_{uuid4().hex}"
    _assert_refused(_verify(f"{POSTGRES_URL}?schema={schema}"), "no Quorate event store")
    assert asyncio.run(_schema_state(schema)) == (False, [])


def test_postgres_a_schema_of_something_else_is_refused_unchanged(
    postgres_backend: PostgresBackend,
) -> None:
    async def create() -> None:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            # The name comes from a UUID: a safe identifier.
            await connection.execute(f'CREATE SCHEMA "{postgres_backend.schema}"')
            await connection.execute(
                f'CREATE TABLE "{postgres_backend.schema}".shares (id int PRIMARY KEY)'
            )
        finally:
            await connection.close()

    asyncio.run(create())
    before = asyncio.run(_schema_state(postgres_backend.schema))
    _assert_refused(_verify(postgres_backend.url), "no Quorate event store")
    assert asyncio.run(_schema_state(postgres_backend.schema)) == before == (True, ["shares"])


def test_postgres_verify_creates_no_partition_and_runs_read_only(
    postgres_backend: PostgresBackend,
) -> None:
    """Opening a store read-write creates this and next month's partitions; verify does not
    (and every statement it runs is in a read-only transaction)."""
    asyncio.run(postgres_backend.build())

    async def drop_empty_partitions() -> None:
        connection = await asyncpg.connect(
            POSTGRES_URL, server_settings={"search_path": postgres_backend.schema}
        )
        try:
            partitions = [
                table
                for table in await postgres_backend.event_tables(connection)
                if '."events_y' in table
            ]
            for table in partitions:
                # Names from the catalog, quoted as identifiers.
                if not await connection.fetchval(f"SELECT count(*) FROM {table}"):  # noqa: S608
                    await connection.execute(f"ALTER TABLE events DETACH PARTITION {table}")
                    await connection.execute(f"DROP TABLE {table}")
        finally:
            await connection.close()

    asyncio.run(drop_empty_partitions())
    before = asyncio.run(_schema_state(postgres_backend.schema))
    result = _verify(postgres_backend.url)
    assert result.exit_code == 0, result.output
    assert asyncio.run(_schema_state(postgres_backend.schema)) == before


async def test_postgres_a_read_only_store_refuses_writes_and_reads_one_snapshot(
    postgres_backend: PostgresBackend,
) -> None:
    await postgres_backend.build()
    event = to_new_event(wallet_created("w9"), stream_id=wallet_stream("w9"), idempotency_key="k")
    async with await open_event_store_read_only(postgres_backend.url) as store:
        assert await store.count() == EVENT_COUNT
        with pytest.raises(EventStoreReadOnly):
            await store.append(event)
        # A write elsewhere meanwhile is not seen: one snapshot for the whole audit.
        async with await open_event_store(postgres_backend.url) as writer:
            await writer.append(event)
        assert await store.count() == EVENT_COUNT
        assert len(await store.read_index(list(range(1, EVENT_COUNT + 5)))) == EVENT_COUNT


async def test_postgres_not_an_event_store_is_typed(postgres_backend: PostgresBackend) -> None:
    with pytest.raises(NotAnEventStore):
        await open_event_store_read_only(postgres_backend.url)
