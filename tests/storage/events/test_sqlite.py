"""The event-store contract against the embedded SQLite adapter, plus SQLite specifics."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.events.port import open_event_store, verify_chain
from storage.events.sqlite import SQLiteEventStore
from tests.storage.events.contract import EventStoreContract, event


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
