"""1. Append latency: ``EventStore.append`` of one realistic domain event
(``expected_version`` set, as the coordinator records ceremonies): one writer appending
sequentially, and 16 concurrent writers (16 asyncio tasks, each writing its own ceremony
streams) sharing one store (one connection pool), then with one store instance (pool) each;
appends per second over the wall time."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.eventstore.events import ceremony_events, event_bytes, make_wallets
from bench.report import Stats, compact, print_table
from storage.events import EventStore, NewEvent

WRITERS = 16


@dataclass(frozen=True)
class AppendResult:
    backend: str
    writers: int
    stores: int
    appends: int
    wall_seconds: float
    latency: Stats

    @property
    def per_second(self) -> float:
        return self.appends / self.wall_seconds

    def label(self) -> str:
        if self.writers == 1:
            return "1 writer"
        shared = "1 store (shared pool)" if self.stores == 1 else f"{self.stores} stores"
        return f"{self.writers} writers, {shared}"

    def as_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "writers": self.writers,
            "store_instances": self.stores,
            "appends": self.appends,
            "wall_seconds": round(self.wall_seconds, 3),
            "appends_per_second": round(self.per_second, 1),
            "latency": self.latency.as_json(),
        }


class EventFactory:
    """Pre-built ceremonies (``CeremonyStarted`` + ``SignatureProduced``), so that building
    the pydantic events stays outside the timed region."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.wallets = make_wallets(64, self.rng)
        self.run = uuid.uuid4().hex[:8]
        self.counter = 0
        self.sizes: list[int] = []

    def ceremonies(self, count: int) -> list[tuple[NewEvent, NewEvent]]:
        made: list[tuple[NewEvent, NewEvent]] = []
        for _ in range(count):
            self.counter += 1
            wallet = self.wallets[self.counter % len(self.wallets)]
            ceremony_id = f"sign-{wallet.wallet_id}-{self.run}-{self.counter:07d}"
            pair = ceremony_events(wallet, ceremony_id, self.rng)
            self.sizes.extend(event_bytes(event) for event in pair)
            made.append(pair)
        return made


async def _write(
    store: EventStore,
    ceremonies: Sequence[tuple[NewEvent, NewEvent]],
    samples: list[float] | None,
) -> None:
    """Append each ceremony's two events with the expected stream versions (0, then 1)."""
    clock = time.perf_counter
    for started, produced in ceremonies:
        for event, expected in ((started, 0), (produced, 1)):
            begin = clock()
            await store.append(event, expected_version=expected)
            if samples is not None:
                samples.append(clock() - begin)


async def measure_appends(
    open_store: Callable[[], Awaitable[EventStore]],
    backend: str,
    factory: EventFactory,
    *,
    single: int,
    per_writer: int,
    warmup: int,
) -> list[AppendResult]:
    results: list[AppendResult] = []
    store = await open_store()
    try:
        # One writer, sequential.
        await _write(store, factory.ceremonies(warmup), None)
        samples: list[float] = []
        ceremonies = factory.ceremonies(single // 2)
        begin = time.perf_counter()
        await _write(store, ceremonies, samples)
        wall = time.perf_counter() - begin
        results.append(AppendResult(backend, 1, 1, len(samples), wall, Stats.from_seconds(samples)))
        # 16 writers sharing the store (and its pool).
        results.append(
            await _concurrent(
                [store] * WRITERS, backend, factory, per_writer=per_writer, warmup=warmup
            )
        )
    finally:
        await store.close()
    # 16 writers, one store instance (one pool) each.
    stores = [await open_store() for _ in range(WRITERS)]
    try:
        results.append(
            await _concurrent(stores, backend, factory, per_writer=per_writer, warmup=warmup)
        )
    finally:
        for each in stores:
            await each.close()
    return results


async def _concurrent(
    stores: Sequence[EventStore],
    backend: str,
    factory: EventFactory,
    *,
    per_writer: int,
    warmup: int,
) -> AppendResult:
    writers = len(stores)
    await asyncio.gather(*(_write(s, factory.ceremonies(warmup), None) for s in stores))
    work = [factory.ceremonies(max(per_writer // 2, 1)) for _ in stores]
    samples: list[list[float]] = [[] for _ in stores]
    begin = time.perf_counter()
    await asyncio.gather(
        *(_write(s, w, out) for s, w, out in zip(stores, work, samples, strict=True))
    )
    wall = time.perf_counter() - begin
    flat = [value for per in samples for value in per]
    distinct = len({id(s) for s in stores})
    return AppendResult(backend, writers, distinct, len(flat), wall, Stats.from_seconds(flat))


def print_appends(appends: Sequence[AppendResult], mean_bytes: float) -> None:
    if not appends:
        return
    rows = [
        [
            r.backend,
            r.label(),
            str(r.appends),
            f"{r.wall_seconds:.1f}",
            f"{r.per_second:.0f}",
            *(compact(x) for x in (r.latency.p50_ms, r.latency.p95_ms, r.latency.p99_ms)),
            compact(r.latency.mean_ms),
            compact(r.latency.max_ms),
        ]
        for r in appends
    ]
    header = ["backend", "writers", "appends", "wall s", "appends/s", "p50 ms", "p95 ms"]
    print_table(
        "1. Append latency: EventStore.append of one event (CeremonyStarted or "
        "SignatureProduced, expected_version set),\n   mean payload+metadata "
        f"{mean_bytes:.0f} bytes; each writer appends its own ceremony "
        "streams; appends/s = appends / wall time",
        [*header, "p99 ms", "mean ms", "max ms"],
        rows,
        text_columns=2,
    )
    print(
        "  A store is one connection pool (PostgreSQL: asyncpg, at most 10 connections, the "
        "adapter's default) or one\n  connection (SQLite). Every append holds the store's "
        "write lock (PostgreSQL: a transaction-scoped advisory lock;\n  SQLite: BEGIN "
        "IMMEDIATE) while it plans and hashes: the log is one chain, so concurrent writers "
        "queue."
    )
