"""The event-store contract against the embedded SQLite adapter, plus SQLite specifics."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from storage.events.port import format_recorded_at, open_event_store, verify_chain
from storage.events.sqlite import SCHEMA_VERSION, SQLiteEventStore, migrate
from tests.storage.events.contract import NOW, EventStoreContract, ManualClock, event, years_ago
from tests.storage.events.legacy import legacy_events, row_of, same_as


def _execute(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    # A plain sqlite3 connection: what anyone with access to the file could do.
    connection = sqlite3.connect(path)
    try:
        for sql, parameters in statements:
            connection.execute(sql, parameters)
        connection.commit()
    finally:
        connection.close()


class TestSQLiteEventStore(EventStoreContract):
    refusal_errors = (sqlite3.IntegrityError,)

    @pytest.fixture(autouse=True)
    def _location(self, tmp_path: Path) -> None:
        self.path = tmp_path / "events.sqlite3"
        self.store_url = f"sqlite:///{self.path}"

    async def raw_update_payload(self, position: int, payload_json: str) -> None:
        _execute(
            self.path,
            ("UPDATE events SET payload = ? WHERE position = ?", (payload_json, position)),
        )

    async def raw_delete(self, position: int) -> None:
        _execute(self.path, ("DELETE FROM events WHERE position = ?", (position,)))

    async def tamper_payload(self, position: int, payload_json: str) -> None:
        _execute(
            self.path,
            ("DROP TRIGGER events_refuse_update", ()),
            ("UPDATE events SET payload = ? WHERE position = ?", (payload_json, position)),
        )

    async def test_the_file_is_in_wal_mode(self) -> None:
        await (await open_event_store(self.store_url)).close()
        connection = sqlite3.connect(self.path)
        try:
            (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        finally:
            connection.close()
        assert mode == "wal"


async def test_in_memory_store() -> None:
    async with await open_event_store("sqlite:///:memory:") as store:
        assert isinstance(store, SQLiteEventStore)
        assert store.url == "sqlite:///:memory:"
        await store.append_many([event("a"), event("b")])
        verify_chain(await store.read_all())
        assert await store.count() == 2


async def test_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with await open_event_store("sqlite:///data/events.sqlite3") as store:
        await store.append(event("a"))
    assert (tmp_path / "data" / "events.sqlite3").exists()


class TestSQLiteLayout:
    """Migrations and the archive-aware delete trigger, through plain sqlite3."""

    @pytest.fixture(autouse=True)
    def _location(self, tmp_path: Path) -> None:
        self.path = tmp_path / "events.sqlite3"
        self.url = f"sqlite:///{self.path}"

    def _fetch(self, sql: str) -> list[tuple[object, ...]]:
        connection = sqlite3.connect(self.path)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    async def test_migrating_a_version_1_file(self) -> None:
        legacy = legacy_events(6)
        connection = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await migrate(connection, target_version=1)
        finally:
            await connection.close()
        _execute(
            self.path,
            *(
                (
                    "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row_of(e, recorded_at=format_recorded_at(e.recorded_at)),
                )
                for e in legacy
            ),
        )
        assert self._fetch("PRAGMA user_version") == [(1,)]
        async with await open_event_store(self.url) as store:
            assert await store.read_all() == legacy
            assert await store.head_position() == 6
            assert await store.append(same_as(legacy[3])) == legacy[3]
            new = await store.append(event("new", stream="wallet-legacy1"), expected_version=3)
            assert (new.position, new.stream_version, new.prev_hash) == (7, 4, legacy[-1].hash)
            verify_chain(await store.read_all())
        assert self._fetch("PRAGMA user_version") == [(SCHEMA_VERSION,)]
        versions = self._fetch("SELECT version FROM event_store_migrations ORDER BY version")
        assert versions == [(1,), (2,)]
        assert self._fetch("SELECT count(*) FROM event_index") == [(7,)]

    async def test_only_archived_events_may_be_deleted(self, tmp_path: Path) -> None:
        clock = ManualClock(years_ago(9))
        async with await open_event_store(self.url, clock=clock) as store:
            await store.append_many([event("a"), event("b")])
            clock.now = NOW
            live = await store.append(event("c"))
            await store.archive_partitions(NOW, tmp_path / "archive")
            for sql, parameters in (
                ("DELETE FROM events WHERE position = ?", (live.position,)),
                ("DELETE FROM event_index WHERE position = ?", (1,)),
                ("UPDATE event_index SET hash = hash WHERE position = ?", (1,)),
                ("DELETE FROM event_archives WHERE first_position = ?", (1,)),
                ("UPDATE event_archives SET sha256 = sha256 WHERE first_position = ?", (1,)),
            ):
                with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                    _execute(self.path, (sql, parameters))
            assert await store.read_all() == [live]
        assert self._fetch("SELECT first_position, last_position, month FROM event_archives") == [
            (1, 2, "2016-06")
        ]
