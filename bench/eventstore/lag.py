"""2. Projection lag under load: :class:`~storage.projections.ProjectionRunner` with the
default projections follows the store (``run_forever``, woken by LISTEN/NOTIFY in
PostgreSQL, by polling in SQLite) in this process while 16 writers append at a steady,
open-loop rate; lag = time from an append returning to the runner committing the batch
that applied it (observed by wrapping the projection database and the projections, without
extra SQL), plus the runner's own ``lag()`` figure sampled once a second."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bench.eventstore.append import WRITERS, EventFactory
from bench.report import Stats, compact, print_table
from storage.events import EventStore, StoredEvent, open_event_store
from storage.projections import ProjectionRunner, default_projections, open_projection_db
from storage.projections.port import Projection, ProjectionDb, ProjectionTx


class _ProbeDb(ProjectionDb):
    """The projection database, unchanged, noting when each write transaction commits
    and which positions the probed projections applied in it."""

    def __init__(self, inner: ProjectionDb) -> None:
        self.inner = inner
        self.url = inner.url
        self.dialect = inner.dialect
        self.pending: list[tuple[str, int, int]] = []  # name, last position, count
        self.commits: list[tuple[float, str, int, int]] = []  # time, name, last, count

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ProjectionTx]:
        self.pending = []
        try:
            async with self.inner.transaction() as tx:
                yield tx
            committed = time.perf_counter()
            self.commits.extend((committed, name, last, n) for name, last, n in self.pending)
        finally:
            self.pending = []

    def read(self) -> contextlib.AbstractAsyncContextManager[ProjectionTx]:
        return self.inner.read()

    async def close(self) -> None:
        await self.inner.close()


class _Probe(Projection):
    """A projection, unchanged, reporting each batch it applied to :class:`_ProbeDb`."""

    def __init__(self, inner: Projection, db: _ProbeDb) -> None:
        self.inner = inner
        self.db = db
        self.name = inner.name
        self.version = inner.version
        self.tables = inner.tables

    async def setup(self, tx: ProjectionTx) -> None:
        await self.inner.setup(tx)

    async def apply(self, tx: ProjectionTx, event: StoredEvent) -> None:
        await self.inner.apply(tx, event)

    async def apply_batch(self, tx: ProjectionTx, events: Sequence[StoredEvent]) -> None:
        await self.inner.apply_batch(tx, events)
        if events:
            self.db.pending.append((self.name, events[-1].position, len(events)))

    async def reset(self, tx: ProjectionTx) -> None:
        await self.inner.reset(tx)


@dataclass(frozen=True)
class LagResult:
    backend: str
    rate: float
    seconds: float
    events: int
    achieved_rate: float
    lag: Stats
    early: int  # applied before the writer saw its append return (counted as 0 ms)
    runner_lag: Stats | None  # runner.lag() commit_delay_seconds, sampled
    batches: int
    mean_batch: float
    append: Stats

    def as_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "target_events_per_second": self.rate,
            "achieved_events_per_second": round(self.achieved_rate, 1),
            "seconds": self.seconds,
            "events": self.events,
            "lag": self.lag.as_json(),
            "applied_before_append_returned": self.early,
            "runner_lag_commit_delay": self.runner_lag.as_json() if self.runner_lag else None,
            "runner_batches": self.batches,
            "mean_events_per_batch": round(self.mean_batch, 2),
            "append_latency_under_load": self.append.as_json(),
        }


async def measure_lag(
    store_url: str,
    view_url: str,
    backend: str,
    factory: EventFactory,
    *,
    rate: float,
    seconds: float,
) -> LagResult:
    """Writers append at ``rate`` events per second (open loop, 16 writers) for ``seconds``
    while a runner follows the store; each event's lag is the runner's commit of the batch
    that applied it minus the instant its append returned to the writer."""
    store = await open_event_store(store_url)
    inner = await open_projection_db(view_url)
    db = _ProbeDb(inner)
    try:
        probes = [_Probe(projection, db) for projection in default_projections()]
        runner = ProjectionRunner(store, db, probes)
        await runner.setup()
        stop = asyncio.Event()
        runner_task = asyncio.ensure_future(runner.run_forever(stop))

        # Warm-up: a second at the target rate, not counted.
        warm_returned: dict[int, float] = {}
        await _paced(store, factory, rate, 1.0, warm_returned, None)
        await _wait_applied(db, probes, max(warm_returned), runner_task)

        returned: dict[int, float] = {}
        append_samples: list[float] = []
        runner_delays: list[float] = []
        sampling = asyncio.ensure_future(_sample_lag(runner, runner_delays))
        begin = time.perf_counter()
        commits_before = len(db.commits)
        await _paced(store, factory, rate, seconds, returned, append_samples)
        wall = time.perf_counter() - begin
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
        await _wait_applied(db, probes, max(returned), runner_task)
        stop.set()
        await runner_task
    finally:
        await db.close()
        await store.close()

    commits = db.commits[commits_before:]
    applied_at = _applied_times(commits, [p.name for p in probes], sorted(returned))
    lags: list[float] = []
    early = 0
    for position, at in returned.items():
        delta = applied_at[position] - at
        if delta < 0:
            early += 1
            delta = 0.0
        lags.append(delta)
    batches = [n for _, name, _, n in commits if name == probes[0].name]
    return LagResult(
        backend=backend,
        rate=rate,
        seconds=seconds,
        events=len(returned),
        achieved_rate=len(returned) / wall,
        lag=Stats.from_seconds(lags),
        early=early,
        runner_lag=Stats.from_seconds(runner_delays) if runner_delays else None,
        batches=len(batches),
        mean_batch=statistics.fmean(batches) if batches else 0.0,
        append=Stats.from_seconds(append_samples),
    )


async def _paced(
    store: EventStore,
    factory: EventFactory,
    rate: float,
    seconds: float,
    returned: dict[int, float],
    samples: list[float] | None,
) -> None:
    """16 writers, each appending its ceremonies' events on a fixed schedule (open loop: a
    late append does not push the next one back)."""
    total = max(int(rate * seconds), WRITERS)
    per_writer = max(total // WRITERS, 1)
    interval = WRITERS / rate
    begin = time.perf_counter()

    async def writer(index: int) -> None:
        pairs = factory.ceremonies((per_writer + 1) // 2)
        events = [
            (event, expected)
            for pair in pairs
            for event, expected in zip(pair, (0, 1), strict=True)
        ]
        for k, (event, expected) in enumerate(events[:per_writer]):
            due = begin + (index / WRITERS + k) * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            start = time.perf_counter()
            stored = await store.append(event, expected_version=expected)
            end = time.perf_counter()
            returned[stored.position] = end
            if samples is not None:
                samples.append(end - start)

    await asyncio.gather(*(writer(i) for i in range(WRITERS)))


async def _wait_applied(
    db: _ProbeDb, probes: Sequence[_Probe], position: int, runner_task: asyncio.Future[None]
) -> None:
    deadline = time.perf_counter() + 120
    names = {p.name for p in probes}
    while True:
        reached = {name: 0 for name in names}
        for _, name, last, _ in db.commits:
            reached[name] = max(reached[name], last)
        if min(reached.values()) >= position:
            return
        if runner_task.done():
            runner_task.result()  # raises the runner's error
            raise RuntimeError("the projection runner stopped")
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the runner did not reach position {position} in 120 s")
        await asyncio.sleep(0.01)


async def _sample_lag(runner: ProjectionRunner, out: list[float]) -> None:
    while True:
        await asyncio.sleep(1.0)
        lags = await runner.lag()
        delays = [lag.commit_delay_seconds for lag in lags if lag.commit_delay_seconds is not None]
        if delays:
            out.append(max(delays))


def _applied_times(
    commits: Sequence[tuple[float, str, int, int]], names: Sequence[str], positions: list[int]
) -> dict[int, float]:
    """For each position, when the last of the projections committed a batch covering it."""
    result: dict[int, float] = {p: 0.0 for p in positions}
    for name in names:
        mine = sorted((last, at) for at, n, last, _ in commits if n == name)
        cursor = 0
        for position in positions:
            while cursor < len(mine) and mine[cursor][0] < position:
                cursor += 1
            if cursor == len(mine):
                raise RuntimeError(f"projection {name} never applied position {position}")
            result[position] = max(result[position], mine[cursor][1])
    return result


def print_lag(lags: Sequence[LagResult]) -> None:
    if not lags:
        return
    rows = []
    for r in lags:
        runner = r.runner_lag
        rows.append(
            [
                r.backend,
                f"{r.rate:.0f}",
                f"{r.achieved_rate:.0f}",
                str(r.events),
                *(compact(x) for x in (r.lag.p50_ms, r.lag.p95_ms, r.lag.p99_ms, r.lag.max_ms)),
                f"{compact(runner.p50_ms)} / {compact(runner.p95_ms)}" if runner else "n/a",
                f"{r.mean_batch:.1f}",
                f"{compact(r.append.p50_ms)} / {compact(r.append.p99_ms)}",
            ]
        )
    header = ["backend", "target ev/s", "ev/s", "events", "lag p50 ms", "p95 ms"]
    header += ["p99 ms", "max ms", "runner lag() p50/p95", "events/batch"]
    print_table(
        "2. Projection lag under load: ProjectionRunner(default_projections()) following the "
        "store in this process;\n   16 writers at a steady open-loop rate; lag = runner's "
        "commit of the batch applying an event - that append's return",
        [*header, "append p50/p99 ms"],
        rows,
    )
    print(
        "  runner lag(): ProjectionLag.commit_delay_seconds (checkpoint updated_at - "
        "last_recorded_at), sampled once a second."
    )
