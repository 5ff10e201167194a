"""Ceremony benchmark: Temporal ceremonies end to end on the real, locally running system.

Run from the repository root::

    .venv/bin/python -m bench.ceremony            # full run (a few minutes)
    .venv/bin/python -m bench.ceremony --quick    # fewer runs (well under two minutes)
    .venv/bin/python -m bench.ceremony --json     # the tables, then one JSON object last

It starts what ``quorate up`` starts (:mod:`bench.topology`): the embedded Temporal dev
server (``temporal server start-dev``, persisting to a SQLite file in a fresh temporary
data directory, on free ports), and one operating-system process per party worker plus the
coordinator. It creates one BIP340 (taproot) wallet and one Ed25519 wallet by DKG, then
measures from the client's side (``time.perf_counter``, client start to result):

1. the ``Noop`` workflow, sequentially: the orchestration floor;
2. ``SignWorkflow`` (through ``quorate.client.sign``, a fresh idempotency key each time),
   sequentially, per scheme;
3. throughput with at most C ceremonies in flight (``asyncio.Semaphore``).

Every returned signature is verified afterwards (outside the timed region) with
libsecp256k1 or libsodium, against the wallet's key, so the figures are of real
signatures. Everything is stopped, and the temporary directory removed, on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from activities.models import CreateWalletResult, NoopInput
from bench.report import (
    Stats,
    arguments,
    at_least,
    banner,
    environment,
    note,
    print_table,
    ratio,
    system_arguments,
    temporal_version,
)
from bench.topology import (
    Ids,
    Running,
    Signed,
    described,
    fresh_system,
    new_wallet,
    run_and_report,
    running,
    sign_once,
    sign_series,
    verify_all,
)
from common.types import Scheme
from runtime.names import COORDINATOR_TASK_QUEUE
from runtime.settings import Settings
from runtime.topology import Topology
from workflows.noop import NoopWorkflow

# -- configuration -------------------------------------------------------------------------

SCHEMES: tuple[Scheme, ...] = ("bip340", "ed25519")
WALLET_NAMES: dict[Scheme, str] = {"bip340": "taproot", "ed25519": "ed25519"}
MESSAGE_BYTES: dict[Scheme, int] = {"bip340": 32, "ed25519": 64}

# The system we replace, and the target for this one (sign latency, end to end).
REFERENCE_GG20_P95_MS = 300.0
TARGET_FROST_MS = 120.0
REFERENCE_TEXT = "system we replace: GG20 p95 300 ms; target FROST ≈120 ms"


@dataclass(frozen=True)
class BenchSettings:
    mode: str
    runs: int  # sequential noop and sign runs (per scheme)
    load_runs: int  # signings in the throughput test (per scheme)
    load_schemes: tuple[Scheme, ...]
    concurrency: int
    warmup: int  # warm-up ceremonies before each measurement


def settings_for(args: argparse.Namespace) -> BenchSettings:
    if args.quick:
        mode, runs, load_runs, load_schemes, warmup = "quick", 40, 60, SCHEMES[:1], 5
    else:
        mode, runs, load_runs, load_schemes, warmup = "full", 200, 200, SCHEMES, 10
    return BenchSettings(
        mode=mode,
        runs=args.runs if args.runs is not None else runs,
        load_runs=args.load_runs if args.load_runs is not None else load_runs,
        load_schemes=load_schemes,
        concurrency=args.concurrency,
        warmup=warmup,
    )


# -- the measurement -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    scheme: Scheme
    signings: int
    concurrency: int
    wall_seconds: float
    latency: Stats

    @property
    def per_second(self) -> float:
        return self.signings / self.wall_seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "signings": self.signings,
            "concurrency": self.concurrency,
            "wall_seconds": round(self.wall_seconds, 3),
            "signatures_per_second": round(self.per_second, 2),
            "latency": self.latency.as_json(),
        }


async def sequential_noops(live: Running, ids: Ids, runs: int, warmup: int) -> Stats:
    seconds: list[float] = []
    for _ in range(warmup + runs):
        start = time.perf_counter()
        await live.client.execute_workflow(
            NoopWorkflow.run, NoopInput(), id=ids("noop"), task_queue=COORDINATOR_TASK_QUEUE
        )
        seconds.append(time.perf_counter() - start)
    return Stats.from_seconds(seconds[warmup:])


async def concurrent_signing(
    live: Running,
    ids: Ids,
    wallet: CreateWalletResult,
    signings: int,
    concurrency: int,
    warmup: int,
) -> tuple[LoadResult, int]:
    """``signings`` signatures with at most ``concurrency`` in flight; and how many were
    verified (the warm-ups' included)."""
    gate = asyncio.Semaphore(concurrency)
    message_bytes = MESSAGE_BYTES[wallet.scheme]

    async def one() -> Signed:
        async with gate:  # latency is measured once the request is admitted
            return await sign_once(
                live.client,
                ids(f"sign-{wallet.scheme}"),
                wallet,
                message_bytes,
                authorizer=live.authorizer,
            )

    # Warm-up at the same concurrency, so the workers' pools are already at size.
    verified = verify_all(wallet, await asyncio.gather(*(one() for _ in range(warmup * 2))))
    start = time.perf_counter()
    signed = await asyncio.gather(*(one() for _ in range(signings)))
    wall = time.perf_counter() - start
    verified += verify_all(wallet, signed)
    latency = Stats.from_seconds([s.seconds for s in signed])
    return LoadResult(wallet.scheme, signings, concurrency, wall, latency), verified


@dataclass
class Results:
    wallet_seconds: dict[Scheme, float]
    wallets: dict[Scheme, CreateWalletResult]
    noop: Stats
    sign: dict[Scheme, Stats]
    load: dict[Scheme, LoadResult]
    startup_seconds: float
    verified: int


async def measure(system: Settings, bench_settings: BenchSettings) -> Results:
    async with running(system) as live:
        ids = Ids("bench")
        wallets: dict[Scheme, CreateWalletResult] = {}
        wallet_seconds: dict[Scheme, float] = {}
        for scheme in SCHEMES:
            note(f"creating the {scheme} wallet by DKG")
            wallet_id = f"bench-{WALLET_NAMES[scheme]}-{ids.run}"
            wallets[scheme], wallet_seconds[scheme] = await new_wallet(
                live.client, wallet_id, scheme
            )

        runs, warmup = bench_settings.runs, bench_settings.warmup
        note(f"Noop workflow x {runs}")
        noop = await sequential_noops(live, ids, runs, warmup)
        sign_stats: dict[Scheme, Stats] = {}
        verified = 0
        for scheme in SCHEMES:
            note(f"SignWorkflow {scheme} x {runs}, sequential")
            series = await sign_series(
                live.client,
                ids,
                wallets[scheme],
                runs=runs,
                warmup=warmup,
                message_bytes=MESSAGE_BYTES[scheme],
                authorizer=live.authorizer,
            )
            sign_stats[scheme] = series.stats
            verified += series.verified
        load: dict[Scheme, LoadResult] = {}
        for scheme in bench_settings.load_schemes:
            note(
                f"SignWorkflow {scheme} x {bench_settings.load_runs}, "
                f"{bench_settings.concurrency} in flight"
            )
            load[scheme], count = await concurrent_signing(
                live,
                ids,
                wallets[scheme],
                bench_settings.load_runs,
                bench_settings.concurrency,
                warmup,
            )
            verified += count
        return Results(
            wallet_seconds, wallets, noop, sign_stats, load, live.startup_seconds, verified
        )


# -- report --------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.1f}"


def print_report(results: Results, bench_settings: BenchSettings) -> None:
    noop = results.noop
    sequential = [("Noop workflow", noop)] + [(f"Sign {s}", results.sign[s]) for s in SCHEMES]
    print_table(
        "Sequential (one ceremony at a time), client start -> result",
        ["workflow", "p50 ms", "p95 ms", "p99 ms", "mean ms", "max ms", "runs", "x noop"],
        [
            [
                label,
                *(_ms(x) for x in (s.p50_ms, s.p95_ms, s.p99_ms, s.mean_ms, s.max_ms)),
                str(s.runs),
                f"{s.p50_ms / noop.p50_ms:.1f}",
            ]
            for label, s in sequential
        ],
    )
    print_table(
        f"Throughput: {bench_settings.concurrency} in flight (asyncio.Semaphore)",
        ["workflow", "in flight", "signings", "wall s", "sig/s", "p50 ms", "p95 ms", "p99 ms"],
        [
            [
                f"Sign {scheme}",
                str(r.concurrency),
                str(r.signings),
                f"{r.wall_seconds:.2f}",
                f"{r.per_second:.1f}",
                *(_ms(x) for x in (r.latency.p50_ms, r.latency.p95_ms, r.latency.p99_ms)),
            ]
            for scheme, r in results.load.items()
        ],
    )
    p95s = [(f"Sign {s}, sequential", results.sign[s].p95_ms) for s in SCHEMES] + [
        (f"Sign {s}, {r.concurrency} in flight", r.latency.p95_ms) for s, r in results.load.items()
    ]
    print_table(
        f"Reference: {REFERENCE_TEXT}",
        ["ours", "p95 ms", "/ GG20 p95 300", "/ target 120"],
        [
            [label, _ms(p95), f"{p95 / REFERENCE_GG20_P95_MS:.2f}", f"{p95 / TARGET_FROST_MS:.2f}"]
            for label, p95 in p95s
        ],
    )
    print(
        "\nSetup (not part of the figures): topology start "
        f"{results.startup_seconds:.1f} s; wallet creation by DKG "
        + ", ".join(f"{s} {results.wallet_seconds[s] * 1000:.0f} ms" for s in SCHEMES)
        + f"; {results.verified} signatures verified (libsecp256k1 / libsodium)."
    )


def results_json(
    results: Results, bench_settings: BenchSettings, env: dict[str, Any], elapsed: float
) -> dict[str, Any]:
    return {
        "benchmark": "ceremony",
        "mode": bench_settings.mode,
        "environment": env,
        "settings": {
            "runs": bench_settings.runs,
            "load_runs": bench_settings.load_runs,
            "concurrency": bench_settings.concurrency,
            "warmup": bench_settings.warmup,
            "timer": "time.perf_counter",
            "percentiles": "nearest rank",
            "persistence": "temporal server start-dev, SQLite file",
            "processes": "one per party worker + coordinator, one machine, loopback",
        },
        "wallets": {
            scheme: {
                "wallet_id": w.wallet_id,
                "parties": list(w.parties),
                "threshold": w.threshold,
                "group_public_key": w.group_public_key,
                "create_ms": round(results.wallet_seconds[scheme] * 1000, 1),
            }
            for scheme, w in results.wallets.items()
        },
        "noop": results.noop.as_json(),
        "sign": {scheme: s.as_json() for scheme, s in results.sign.items()},
        "sign_over_noop_p50": {
            scheme: ratio(s.p50_ms, results.noop.p50_ms, 2) for scheme, s in results.sign.items()
        },
        "throughput": {scheme: r.as_json() for scheme, r in results.load.items()},
        "reference": {
            "text": REFERENCE_TEXT,
            "gg20_p95_ms": REFERENCE_GG20_P95_MS,
            "target_frost_ms": TARGET_FROST_MS,
            "ours_sequential_p95_ms": {
                scheme: round(s.p95_ms, 3) for scheme, s in results.sign.items()
            },
            "ours_under_load_p95_ms": {
                scheme: round(r.latency.p95_ms, 3) for scheme, r in results.load.items()
            },
        },
        "signatures_verified": results.verified,
        "startup_seconds": round(results.startup_seconds, 2),
        "total_seconds": round(elapsed, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("bench.ceremony", __doc__, "fewer runs (well under 2 minutes)")
    parser.add_argument(
        "--runs", type=at_least(1), help="sequential Noop and Sign runs (per scheme)"
    )
    parser.add_argument("--load-runs", type=at_least(1), help="signings in the throughput test")
    parser.add_argument(
        "--concurrency", type=at_least(1), default=20, help="ceremonies in flight (default 20)"
    )
    system_arguments(parser)
    args = parser.parse_args(argv)
    bench_settings = settings_for(args)
    env = environment(temporal_cli=temporal_version())
    wall_start = time.perf_counter()

    system = fresh_system("quorate-bench-")
    reference = Topology.load(system.reference_topology)
    print(banner("Ceremony", env, env["temporal_cli"], bench_settings.mode))
    print(
        f"{described(system)},\none OS process per party worker "
        f"({len(reference.parties)}, {reference.threshold} sign) + one coordinator process, "
        "this client in\nanother. Latency = client start -> workflow result, "
        "time.perf_counter; p50 = median, p95/p99 by nearest rank,\nin milliseconds. "
        f"{bench_settings.warmup} warm-up ceremonies before each measurement. Messages: fresh "
        "random 32-byte digests\n(bip340, BIP86 taproot key) / 64-byte messages (ed25519); "
        "every signature is verified with libsecp256k1 / libsodium."
    )
    return run_and_report(
        system,
        args,
        wall_start,
        measure(system, bench_settings),
        lambda results: print_report(results, bench_settings),
        lambda results, elapsed: results_json(results, bench_settings, env, elapsed),
    )


if __name__ == "__main__":
    raise SystemExit(main())
