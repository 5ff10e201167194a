"""The projection contract with the embedded defaults: SQLite events, SQLite projections."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.projections import open_projection_db
from storage.projections.sqlite import SQLiteProjectionDb
from tests.storage.projections.adapters import SQLiteProjections, SQLiteStore
from tests.storage.projections.contract import ProjectionContract


class TestSQLiteProjections(SQLiteStore, SQLiteProjections, ProjectionContract):
    async def test_the_file_is_in_wal_mode(self) -> None:
        async with await self.open_db() as db:
            assert isinstance(db, SQLiteProjectionDb)
            assert db.url == self.projection_url
        path = self.projection_url.removeprefix("sqlite:///")
        connection = sqlite3.connect(path)
        try:
            (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        finally:
            connection.close()
        assert mode == "wal"


async def test_in_memory_and_relative_paths(tmp_path: Path, monkeypatch) -> None:
    async with await open_projection_db("sqlite:///:memory:") as db, db.read() as tx:
        assert await tx.fetch("SELECT name FROM projection_checkpoints") == []
    monkeypatch.chdir(tmp_path)
    async with await open_projection_db("sqlite:///data/projections.sqlite3"):
        pass
    assert (tmp_path / "data" / "projections.sqlite3").exists()
