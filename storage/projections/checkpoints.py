"""Projection checkpoints: how far each projection has applied the event log.

Table ``projection_checkpoints`` (created by every adapter when it opens the database)::

    name             TEXT PRIMARY KEY  -- the projection's name
    version          INTEGER NOT NULL  -- the projection's version the rows were built by
    position         BIGINT  NOT NULL  -- global position of the last applied event (0: none)
    last_hash        TEXT              -- that event's hash (NULL at 0), to check continuity
    last_recorded_at timestamp         -- that event's recorded_at (NULL at 0), for lag
    updated_at       timestamp NOT NULL-- the runner's clock when the batch committed

A checkpoint row is only ever written in the same transaction as the projection rows of
the batch it describes (:mod:`storage.projections.runner`), which is what makes every
projection apply each event exactly once across crashes.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from storage.projections.port import (
    ProjectionDb,
    ProjectionTx,
    Row,
    as_datetime,
    require_datetime,
)

CREATE_CHECKPOINTS = """
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name             TEXT PRIMARY KEY,
    version          INTEGER NOT NULL CHECK (version >= 1),
    position         BIGINT NOT NULL CHECK (position >= 0),
    last_hash        TEXT,
    last_recorded_at {timestamp},
    updated_at       {timestamp} NOT NULL
)
"""
"""DDL template (``{timestamp}`` is filled by :meth:`Dialect.ddl`)."""

_SELECT = (
    "SELECT name, version, position, last_hash, last_recorded_at, updated_at"
    " FROM projection_checkpoints"
)
_SELECT_ALL = _SELECT + " ORDER BY name"
_UPSERT = (
    "INSERT INTO projection_checkpoints"
    " (name, version, position, last_hash, last_recorded_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
    " ON CONFLICT (name) DO UPDATE SET version = excluded.version,"
    " position = excluded.position, last_hash = excluded.last_hash,"
    " last_recorded_at = excluded.last_recorded_at, updated_at = excluded.updated_at"
)


class Checkpoint(BaseModel):
    """One projection's checkpoint row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: int = Field(ge=1)
    position: int = Field(ge=0)
    last_hash: str | None
    last_recorded_at: datetime | None
    updated_at: datetime


def _checkpoint(row: Row) -> Checkpoint:
    return Checkpoint(
        name=str(row["name"]),
        version=int(row["version"]),
        position=int(row["position"]),
        last_hash=row["last_hash"],
        last_recorded_at=as_datetime(row["last_recorded_at"]),
        updated_at=require_datetime(row["updated_at"]),
    )


async def read_checkpoints(tx: ProjectionTx) -> dict[str, Checkpoint]:
    """Every checkpoint, by projection name, as seen by ``tx``."""
    return {str(row["name"]): _checkpoint(row) for row in await tx.fetch(_SELECT_ALL)}


async def write_checkpoint(tx: ProjectionTx, checkpoint: Checkpoint) -> None:
    """Insert or replace one checkpoint, inside the batch's transaction."""
    await tx.execute(
        _UPSERT,
        checkpoint.name,
        checkpoint.version,
        checkpoint.position,
        checkpoint.last_hash,
        checkpoint.last_recorded_at,
        checkpoint.updated_at,
    )


async def get_checkpoints(db: ProjectionDb) -> dict[str, Checkpoint]:
    """Every projection's checkpoint in ``db`` (empty before any runner has set up)."""
    async with db.read() as tx:
        return await read_checkpoints(tx)
