"""3. The one-wallet audit range query over the generated store: ``signatures_between``
(the audit view; one wallet, one calendar month), the raw store's ``read_range`` restricted
to that wallet's ceremony streams, and the projection-free fallback
``fold_signatures_between``; all three must agree on the wallet's signatures."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bench.eventstore.generator import LogGenerator
from bench.report import Stats, compact, table
from storage.audit.queries import fold_signatures_between
from storage.events import open_event_store
from storage.projections import open_projection_db, signatures_between
from storage.projections.port import ProjectionDb


@dataclass(frozen=True)
class QueryResult:
    backend: str
    query: str
    wallet: str
    role: str  # "hot" or "typical"
    rows: int
    first_ms: float
    stats: Stats | None  # None when only the first run was made

    def as_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "query": self.query,
            "wallet": self.wallet,
            "wallet_role": self.role,
            "rows": self.rows,
            "first_run_ms": round(self.first_ms, 3),
            "repeated": self.stats.as_json() if self.stats else None,
        }


async def _timed(
    call: Callable[[], Awaitable[Sequence[Any]]], runs: int
) -> tuple[int, float, Stats | None]:
    """Rows of the first call, its time, and the statistics of ``runs`` further calls."""
    begin = time.perf_counter()
    rows = await call()
    first = time.perf_counter() - begin
    samples: list[float] = []
    for _ in range(runs):
        begin = time.perf_counter()
        again = await call()
        samples.append(time.perf_counter() - begin)
        if len(again) != len(rows):
            raise AssertionError("a repeated query returned a different number of rows")
    return len(rows), first * 1000, Stats.from_seconds(samples) if samples else None


QUERY_VIEW = "signatures_between (audit view)"
QUERY_RANGE = "store read_range, wallet's stream prefix"
QUERY_FOLD = "fold_signatures_between (no projection)"


async def measure_queries(
    store_url: str,
    view_url: str | None,
    generator: LogGenerator,
    backend: str,
    *,
    runs: int,
    fold_runs: int,
) -> tuple[list[QueryResult], tuple[datetime, datetime]]:
    start, end = generator.month_window(generator.months // 2)
    log = generator.log
    results: list[QueryResult] = []
    async with await open_event_store(store_url) as store:
        for role, wallet in (("hot", log.hot_wallet), ("typical", log.typical_wallet)):
            counts: dict[str, int] = {}
            if view_url is not None:
                async with await open_projection_db(view_url) as db:

                    async def view(db: ProjectionDb = db, wallet: str = wallet) -> Sequence[Any]:
                        return await signatures_between(db, wallet, start, end)

                    rows, first, stats = await _timed(view, runs)
                results.append(QueryResult(backend, QUERY_VIEW, wallet, role, rows, first, stats))
                counts[QUERY_VIEW] = rows
            prefix = f"ceremony-sign-{wallet}-"

            async def raw(prefix: str = prefix) -> Sequence[Any]:
                return await store.read_range(start, end, stream_prefix=prefix)

            rows, first, stats = await _timed(raw, runs)
            results.append(QueryResult(backend, QUERY_RANGE, wallet, role, rows, first, stats))
            signed = [
                e
                for e in await store.read_range(start, end, stream_prefix=prefix)
                if e.event_type == "SignatureProduced"
            ]
            counts["read_range SignatureProduced"] = len(signed)
            if fold_runs > 0 and role == "hot":

                async def fold(wallet: str = wallet) -> Sequence[Any]:
                    return await fold_signatures_between(store, wallet, start, end)

                rows, first, stats = await _timed(fold, fold_runs - 1)
                results.append(QueryResult(backend, QUERY_FOLD, wallet, role, rows, first, stats))
                counts[QUERY_FOLD] = rows
            if len(set(counts.values())) > 1:
                raise AssertionError(f"the queries disagree on {wallet}'s signatures: {counts}")
    return results, (start, end)


def print_queries(queries: Sequence[QueryResult], window: tuple[datetime, datetime]) -> None:
    print(
        f"   Query window: one calendar month, {window[0]:%Y-%m-%d} to "
        f"{window[1]:%Y-%m-%d} (half-open); hot wallet = 1% of all signatures."
    )
    rows = []
    for q in queries:
        stats = q.stats
        rows.append(
            [
                q.query,
                f"{q.wallet} ({q.role})",
                str(q.rows),
                compact(q.first_ms),
                compact(stats.p50_ms) if stats else "-",
                compact(stats.p95_ms) if stats else "-",
                str(stats.runs) if stats else "1",
            ]
        )
    header = ["query", "wallet", "rows", "first ms", "median ms", "p95 ms", "runs"]
    print(table(header, rows, text_columns=2))


QUERY_NOTE = (
    "   (read_range's prefix is 'ceremony-sign-<wallet>-': the bench's ceremony ids start "
    "with the wallet id.\n   Production ids are 'sign-<uuid4>', which no store index ties "
    "to a wallet: without the audit view\n   the answer is the fold, which reads the "
    "whole month.)"
)
