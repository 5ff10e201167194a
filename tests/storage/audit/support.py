"""Real event stores for the audit tests, and the tampering an intruder with database access
could do to them (bypassing the append-only triggers as a superuser would).

The stores are filled with domain events through ``to_new_event`` + ``store.append``, with a
clock that ticks one minute per append, so every event's ``recorded_at`` is known and time
ranges are exact. Tampering locates the events table (and, after the partitioning upgrade,
its partitions) through the database catalog, so it keeps working as the schema evolves.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from common.types import Scheme
from storage.events.models import (
    CeremonyFailed,
    CeremonyStarted,
    DomainEvent,
    PartyMisbehaved,
    SignatureProduced,
    WalletCreated,
    ceremony_stream,
    to_new_event,
    wallet_stream,
)
from storage.events.port import (
    GENESIS_HASH,
    EventStore,
    StoredEvent,
    canonical_json,
    event_hash,
    open_event_store,
)
from tests.storage.audit.keys import WALLETS, WalletKeys

POSTGRES_URL = os.environ.get(
    "QUORATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
"""A real PostgreSQL server (ARCHITECTURE.md: tests use 127.0.0.1:5432); never a mock."""

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
"""``recorded_at`` of position 1; position ``p`` is recorded at ``T0 + (p - 1)`` minutes."""

PARTIES = ["us-1", "us-2", "eu-1", "eu-2", "apac-1"]


def recorded_at(position: int) -> datetime:
    """When the fixture's event at ``position`` was recorded."""
    return T0 + timedelta(minutes=position - 1)


def ticking_clock(
    start: datetime = T0, step: timedelta = timedelta(minutes=1)
) -> Callable[[], datetime]:
    """A clock that returns ``start``, then ``step`` later on each call."""
    ticks = iter(range(1_000_000))

    def now() -> datetime:
        return start + step * next(ticks)

    return now


def _hex(byte: int, size: int = 32) -> str:
    return bytes([byte]).hex() * size


SCHEMES: dict[str, Scheme] = {"w1": "bip340", "w2": "ed25519"}
"""The fixture's wallets: w1 a FROST taproot wallet, w2 a FROST Ed25519 one."""


def wallet_keys(wallet_id: str) -> WalletKeys:
    """The keys of a fixture wallet (``w1``, ``w2``, or a renamed copy of one)."""
    base = wallet_id.split("-r", 1)[0]
    return WALLETS[SCHEMES.get(base, "bip340")](wallet_id)


def wallet_created(wallet_id: str, keys: WalletKeys | None = None) -> WalletCreated:
    keys = keys or wallet_keys(wallet_id)
    return WalletCreated(
        wallet_id=wallet_id,
        scheme=keys.scheme,
        ciphersuite=keys.ciphersuite,
        group_public_key=keys.group_key.hex(),
        threshold=3,
        parties=PARTIES,
        public_key_package=_hex(0x22, 40),
        ceremony_id=f"dkg-{wallet_id}",
    )


def signature_produced(
    ceremony_id: str,
    wallet_id: str,
    message: bytes,
    signers: list[str],
    keys: WalletKeys | None = None,
) -> SignatureProduced:
    """A real signature of ``message`` by the wallet's key, as a ceremony records it."""
    keys = keys or wallet_keys(wallet_id)
    return SignatureProduced(
        ceremony_id=ceremony_id,
        wallet_id=wallet_id,
        scheme=keys.scheme,
        public_key=keys.public_key.hex(),
        message=message.hex(),
        signature=keys.sign(message).hex(),
        signers=signers,
    )


def _signing(ceremony_id: str, wallet_id: str, index: int) -> list[DomainEvent]:
    signers = PARTIES[index % 3 : index % 3 + 3]
    return [
        CeremonyStarted(
            ceremony_id=ceremony_id,
            wallet_id=wallet_id,
            kind="sign",
            protocol="frost",
            parties=signers,
        ),
        signature_produced(ceremony_id, wallet_id, bytes([index]) * 32, signers),
    ]


def domain_events() -> list[tuple[str, DomainEvent]]:
    """The fixture log: ``(stream id, event)`` in append order (position = index + 1).

    ====  ======================================
    pos   event
    ====  ======================================
    1     WalletCreated w1
    2     WalletCreated w2
    3-4   c1 on w1: started, signature
    5-6   c2 on w2: started, signature
    7-8   c3 on w1: started, signature
    9-11  c4 on w1: started, party misbehaved, failed
    12-13 c5 on w1: started, signature
    14-15 c6 on w2: started, signature
    ====  ======================================
    """
    log: list[tuple[str, DomainEvent]] = [
        (wallet_stream("w1"), wallet_created("w1")),
        (wallet_stream("w2"), wallet_created("w2")),
    ]
    for index, (ceremony, wallet) in enumerate(
        [("c1", "w1"), ("c2", "w2"), ("c3", "w1"), ("c4", "w1"), ("c5", "w1"), ("c6", "w2")],
        start=1,
    ):
        if ceremony == "c4":
            events: list[DomainEvent] = [
                _signing(ceremony, wallet, index)[0],
                PartyMisbehaved(
                    ceremony_id=ceremony, wallet_id=wallet, party="eu-1", reason="InvalidShare"
                ),
                CeremonyFailed(
                    ceremony_id=ceremony, wallet_id=wallet, reason="bad share", culprits=["eu-1"]
                ),
            ]
        else:
            events = _signing(ceremony, wallet, index)
        log.extend((ceremony_stream(ceremony), event) for event in events)
    return log


W1_SIGNATURE_POSITIONS = [4, 8, 13]
W2_SIGNATURE_POSITIONS = [6, 15]
EVENT_COUNT = 15


async def populate(store: EventStore, *, repeat: int = 1) -> list[StoredEvent]:
    """Append the fixture log (``repeat`` times, with fresh ids after the first) to ``store``."""
    stored: list[StoredEvent] = []
    for round_ in range(repeat):
        for stream_id, event in domain_events():
            suffix = "" if round_ == 0 else f"-r{round_}"
            if suffix:
                event = _renamed(event, suffix)
                stream_id += suffix
            key = f"{stream_id}/{type(event).__name__}/{len(stored)}"
            stored.append(
                await store.append(to_new_event(event, stream_id=stream_id, idempotency_key=key))
            )
    return stored


def _renamed(event: DomainEvent, suffix: str) -> DomainEvent:
    """``event`` moved to other wallet and ceremony ids, for bigger logs (a renamed wallet
    has keys of its own, so its events are made again, signatures included)."""
    wallet_id = event.wallet_id + suffix
    if isinstance(event, WalletCreated):
        return wallet_created(wallet_id)
    update: dict[str, Any] = {"wallet_id": wallet_id}
    if hasattr(event, "ceremony_id"):
        update["ceremony_id"] = event.ceremony_id + suffix
    if isinstance(event, SignatureProduced):
        return signature_produced(
            update["ceremony_id"], wallet_id, bytes.fromhex(event.message), event.signers
        )
    return event.model_copy(update=update)


class Backend(ABC):
    """One real database holding an event store, and raw (trigger-bypassing) access to it."""

    name: str
    url: str

    async def build(
        self, *, repeat: int = 1, step: timedelta = timedelta(minutes=1)
    ) -> list[StoredEvent]:
        """Create and fill the store, then close it (tampering happens with it closed)."""
        async with await open_event_store(self.url, clock=ticking_clock(T0, step)) as store:
            return await populate(store, repeat=repeat)

    @abstractmethod
    async def raw_payload(self, position: int) -> str:
        """The stored payload text of ``position``."""

    @abstractmethod
    async def tamper(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        """Run ``statements`` with the append-only triggers disabled; rows changed by each.

        ``$1``-style parameters; the SQLite backend converts them.
        """

    async def edit_payload(self, position: int, **changes: Any) -> None:
        payload = json.loads(await self.raw_payload(position))
        payload.update(changes)
        counts = await self.tamper(
            [
                (
                    "UPDATE events SET payload = $1 WHERE position = $2",
                    (canonical_json(payload), position),
                )
            ]
        )
        assert counts == [1], "the UPDATE was not applied: is the bypass still right?"

    async def delete(self, position: int) -> None:
        counts = await self.tamper([("DELETE FROM events WHERE position = $1", (position,))])
        assert counts == [1], "the DELETE was not applied: is the bypass still right?"

    async def delete_with_index(self, position: int) -> None:
        """Delete the event and its index entry: an intruder who knows about the index."""
        counts = await self.tamper(
            [
                ("DELETE FROM events WHERE position = $1", (position,)),
                ("DELETE FROM event_index WHERE position = $1", (position,)),
            ]
        )
        assert counts == [1, 1], "the DELETE was not applied: is the bypass still right?"

    async def rehash(self, position: int, **changes: Any) -> None:
        """Edit ``position``'s payload, then re-hash every event from there to the head and
        rewrite the index to match: a tampering the chain and the index both pass."""
        async with await open_event_store(self.url) as store:
            events = await store.read_all()
        prev_hash = events[position - 2].hash if position > 1 else GENESIS_HASH
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for event in events[position - 1 :]:
            payload = {**event.payload, **(changes if event.position == position else {})}
            relinked = event.model_copy(update={"payload": payload, "prev_hash": prev_hash})
            new_hash = event_hash(relinked)
            statements += [
                (
                    "UPDATE events SET payload = $1, prev_hash = $2, hash = $3 WHERE position = $4",
                    (canonical_json(payload), prev_hash, new_hash, event.position),
                ),
                (
                    "UPDATE event_index SET hash = $1 WHERE position = $2",
                    (new_hash, event.position),
                ),
            ]
            prev_hash = new_hash
        counts = await self.tamper(statements)
        assert counts == [1] * len(statements), "the re-hash was not applied"

    async def swap(self, first: int, second: int) -> None:
        """Exchange two rows' positions (their contents trade places in position order).

        Through a parking position, since ``position`` is unique at every step.
        """
        parking = 2**40
        counts = await self.tamper(
            [
                ("UPDATE events SET position = $1 WHERE position = $2", (parking, first)),
                ("UPDATE events SET position = $1 WHERE position = $2", (first, second)),
                ("UPDATE events SET position = $1 WHERE position = $2", (second, parking)),
            ]
        )
        assert counts == [1, 1, 1], "the swap was not applied: is the bypass still right?"

    def cleanup(self) -> None:  # noqa: B027 - optional hook
        """Remove the database (PostgreSQL: drop the schema)."""


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "events.sqlite3"
        self.url = f"sqlite:///{self.path}"

    async def raw_payload(self, position: int) -> str:
        with sqlite3.connect(self.path) as connection:
            row = connection.execute(
                "SELECT payload FROM events WHERE position = ?", (position,)
            ).fetchone()
        connection.close()
        return str(row[0])

    async def tamper(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        connection = sqlite3.connect(self.path)
        try:
            triggers = connection.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                " AND tbl_name IN ('events', 'event_index')"
            ).fetchall()
            assert triggers, "expected append-only triggers on the events table"
            counts = []
            with connection:
                for name, _ in triggers:
                    # Trigger names come from the catalog, quoted as identifiers.
                    connection.execute('DROP TRIGGER "' + name.replace('"', '""') + '"')
                for sql, parameters in statements:
                    counts.append(connection.execute(_qmark(sql), parameters).rowcount)
                for _, sql in triggers:
                    connection.execute(sql)
        finally:
            connection.close()
        return counts


def _qmark(sql: str) -> str:
    """``$1``-style placeholders as SQLite's numbered ``?1`` ones."""
    return sql.replace("$", "?")


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.url = f"{POSTGRES_URL}?schema={schema}"

    async def _connect(self) -> Any:
        # A superuser connection, what an operator or an intruder could use; the search path
        # points at this test's schema so statements name no schema.
        return await asyncpg.connect(POSTGRES_URL, server_settings={"search_path": self.schema})

    async def raw_payload(self, position: int) -> str:
        connection = await self._connect()
        try:
            return str(
                await connection.fetchval(
                    "SELECT payload FROM events WHERE position = $1", position
                )
            )
        finally:
            await connection.close()

    async def event_tables(self, connection: Any) -> list[str]:
        """The events table and every partition under it, as quoted qualified names.

        Found in the catalog (pg_inherits, recursively), so a partitioned layout is covered.
        """
        rows = await connection.fetch(
            """
            WITH RECURSIVE tree(oid) AS (
                SELECT c.oid FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = $1 AND c.relname = 'events'
                UNION ALL
                SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid
            )
            SELECT n.nspname AS schema, c.relname AS name
            FROM tree JOIN pg_class c ON c.oid = tree.oid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            """,
            self.schema,
        )
        assert rows, f"no events table in schema {self.schema}"
        tables = [f"{_quote(row['schema'])}.{_quote(row['name'])}" for row in rows]
        return [*tables, f"{_quote(self.schema)}.event_index"]

    async def tamper(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        connection = await self._connect()
        try:
            counts = []
            async with connection.transaction():
                tables = await self.event_tables(connection)
                for table in tables:
                    await connection.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
                for sql, parameters in statements:
                    status = await connection.execute(sql, *parameters)
                    counts.append(int(status.rsplit(" ", 1)[1]))
                for table in tables:
                    await connection.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
        finally:
            await connection.close()
        return counts

    def cleanup(self) -> None:
        async def drop() -> None:
            connection = await asyncpg.connect(POSTGRES_URL)
            try:
                await connection.execute(f"DROP SCHEMA IF EXISTS {_quote(self.schema)} CASCADE")
            finally:
                await connection.close()

        asyncio.run(drop())


def _quote(identifier: str) -> str:
    """A catalog name as a quoted SQL identifier (identifiers cannot be parameters)."""
    return '"' + identifier.replace('"', '""') + '"'
