"""Ceremony benchmark: Temporal ceremonies end to end on the real, locally running system.

Run from the repository root::

    .venv/bin/python bench/ceremony.py            # full run (a few minutes)
    .venv/bin/python bench/ceremony.py --quick    # fewer runs (well under two minutes)
    .venv/bin/python bench/ceremony.py --json     # the tables, then one JSON object last

It starts what ``quorate up`` starts, in a fresh temporary data directory and on free
ports (so it never collides with a running ``quorate up`` on 7233/8233): the embedded
Temporal dev server (``temporal server start-dev``, persisting to a SQLite file), and one
operating-system process per party worker plus the coordinator. It creates one BIP340
(taproot) wallet and one Ed25519 wallet by DKG, then measures from the client's side
(``time.perf_counter``, client start to result):

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
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from _common import (  # noqa: E402
    Stats,
    environment,
    free_ports,
    note,
    run_in,
    table,
    temporal_version,
)
from coincurve import PublicKey, PublicKeyXOnly  # noqa: E402
from nacl.signing import VerifyKey  # noqa: E402
from temporalio.client import Client  # noqa: E402

from activities.models import (  # noqa: E402
    CreateWalletInput,
    CreateWalletResult,
    NoopInput,
    Scheme,
    SignInput,
    SignResult,
)
from quorate.client import create_wallet, sign  # noqa: E402
from runtime.names import COORDINATOR_TASK_QUEUE  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.topology import Topology  # noqa: E402
from workers.runner import LocalTopology  # noqa: E402

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


# -- statistics ----------------------------------------------------------------------------


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


# -- the system under test -----------------------------------------------------------------


def bip86_output_key(group_public_key: bytes) -> bytes:
    """The BIP86 (no script tree) taproot output key, computed with libsecp256k1 alone."""
    x = group_public_key[-32:]  # compressed (33 bytes) or x-only (32 bytes)
    tag = hashlib.sha256(b"TapTweak").digest()
    tweak = hashlib.sha256(tag + tag + x).digest()
    internal = PublicKey(b"\x02" + x)  # the even-y lift, as BIP340 keys are
    return internal.add(tweak).format(compressed=True)[1:]


def expected_public_key(wallet: CreateWalletResult) -> bytes:
    group = bytes.fromhex(wallet.group_public_key)
    return bip86_output_key(group) if wallet.scheme == "bip340" else group


def verify_signature(wallet: CreateWalletResult, message: bytes, result: SignResult) -> None:
    """Verification by libraries we did not write: libsecp256k1 and libsodium."""
    public_key = expected_public_key(wallet)
    signature = bytes.fromhex(result.signature)
    if bytes.fromhex(result.message) != message:
        raise RuntimeError(f"{result.ceremony_id}: the result is for another message")
    if bytes.fromhex(result.public_key) != public_key:
        raise RuntimeError(
            f"{result.ceremony_id}: signed with {result.public_key}, expected {public_key.hex()}"
        )
    if wallet.scheme == "bip340":
        if not PublicKeyXOnly(public_key).verify(signature, message):
            raise RuntimeError(f"{result.ceremony_id}: libsecp256k1 rejected the signature")
    else:
        VerifyKey(public_key).verify(message, signature)  # raises BadSignatureError


@dataclass
class Signed:
    message: bytes
    result: SignResult
    seconds: float


class Bench:
    """Drives ceremonies on a running LocalTopology and keeps every result for verification."""

    def __init__(self, client: Client, run: str) -> None:
        self.client = client
        self.run = run
        self.counter = 0
        self.verified = 0

    def _key(self, kind: str) -> str:
        self.counter += 1
        return f"bench-{self.run}-{kind}-{self.counter}"

    async def noop(self) -> float:
        workflow_id = self._key("noop")
        start = time.perf_counter()
        await self.client.execute_workflow(
            "Noop", NoopInput(), id=workflow_id, task_queue=COORDINATOR_TASK_QUEUE
        )
        return time.perf_counter() - start

    async def sign(self, wallet: CreateWalletResult) -> Signed:
        message = os.urandom(MESSAGE_BYTES[wallet.scheme])
        request = SignInput(wallet_id=wallet.wallet_id, message=message.hex())
        key = self._key(f"sign-{wallet.scheme}")
        start = time.perf_counter()
        result = await sign(self.client, request, key)
        return Signed(message, result, time.perf_counter() - start)

    def verify(self, wallet: CreateWalletResult, signed: Sequence[Signed]) -> None:
        for s in signed:
            verify_signature(wallet, s.message, s.result)
        self.verified += len(signed)


async def sequential(call: Callable[[], Awaitable[float]], runs: int, warmup: int) -> Stats:
    for _ in range(warmup):
        await call()
    return Stats.from_seconds([await call() for _ in range(runs)])


async def sequential_signing(
    bench: Bench, wallet: CreateWalletResult, runs: int, warmup: int
) -> Stats:
    bench.verify(wallet, [await bench.sign(wallet) for _ in range(warmup)])
    signed = [await bench.sign(wallet) for _ in range(runs)]
    bench.verify(wallet, signed)
    return Stats.from_seconds([s.seconds for s in signed])


async def concurrent_signing(
    bench: Bench, wallet: CreateWalletResult, signings: int, concurrency: int, warmup: int
) -> LoadResult:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> Signed:
        async with gate:  # latency is measured once the request is admitted
            return await bench.sign(wallet)

    # Warm-up at the same concurrency, so the workers' pools are already at size.
    bench.verify(wallet, await asyncio.gather(*(one() for _ in range(warmup * 2))))
    start = time.perf_counter()
    signed = await asyncio.gather(*(one() for _ in range(signings)))
    wall = time.perf_counter() - start
    bench.verify(wallet, signed)
    return LoadResult(
        wallet.scheme,
        signings,
        concurrency,
        wall,
        Stats.from_seconds([s.seconds for s in signed]),
    )


@dataclass
class Results:
    wallet_seconds: dict[Scheme, float]
    wallets: dict[Scheme, CreateWalletResult]
    noop: Stats
    sign: dict[Scheme, Stats]
    load: dict[Scheme, LoadResult]
    startup_seconds: float
    verified: int


async def measure(settings: Settings, bench_settings: BenchSettings) -> Results:
    topology = LocalTopology(settings)
    note("starting the Temporal dev server and one worker process per party + coordinator")
    started = time.perf_counter()
    try:
        await topology.start()
        startup = time.perf_counter() - started
        assert topology.client is not None  # noqa: S101 - start() sets it
        client = topology.client
        run = uuid.uuid4().hex[:8]
        bench = Bench(client, run)

        wallets: dict[Scheme, CreateWalletResult] = {}
        wallet_seconds: dict[Scheme, float] = {}
        for scheme in SCHEMES:
            note(f"creating the {scheme} wallet by DKG")
            wallet_id = f"bench-{WALLET_NAMES[scheme]}-{run}"
            start = time.perf_counter()
            wallets[scheme] = await create_wallet(
                client,
                CreateWalletInput(wallet_id=wallet_id, scheme=scheme),
                idempotency_key=f"{wallet_id}-create",
            )
            wallet_seconds[scheme] = time.perf_counter() - start

        runs, warmup = bench_settings.runs, bench_settings.warmup
        note(f"Noop workflow x {runs}")
        noop = await sequential(bench.noop, runs, warmup)
        sign_stats: dict[Scheme, Stats] = {}
        for scheme in SCHEMES:
            note(f"SignWorkflow {scheme} x {runs}, sequential")
            sign_stats[scheme] = await sequential_signing(bench, wallets[scheme], runs, warmup)
        load: dict[Scheme, LoadResult] = {}
        for scheme in bench_settings.load_schemes:
            note(
                f"SignWorkflow {scheme} x {bench_settings.load_runs}, "
                f"{bench_settings.concurrency} in flight"
            )
            load[scheme] = await concurrent_signing(
                bench,
                wallets[scheme],
                bench_settings.load_runs,
                bench_settings.concurrency,
                warmup,
            )
        return Results(wallet_seconds, wallets, noop, sign_stats, load, startup, bench.verified)
    finally:
        note("stopping the topology")
        topology.stop()


# -- report --------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.1f}"


def print_report(results: Results, bench_settings: BenchSettings) -> None:
    sequential_rows = [
        [
            "Noop workflow",
            _ms(results.noop.p50_ms),
            _ms(results.noop.p95_ms),
            _ms(results.noop.p99_ms),
            _ms(results.noop.mean_ms),
            _ms(results.noop.max_ms),
            str(results.noop.runs),
            "1.0",
        ]
    ]
    for scheme in SCHEMES:
        s = results.sign[scheme]
        sequential_rows.append(
            [
                f"Sign {scheme}",
                _ms(s.p50_ms),
                _ms(s.p95_ms),
                _ms(s.p99_ms),
                _ms(s.mean_ms),
                _ms(s.max_ms),
                str(s.runs),
                f"{s.p50_ms / results.noop.p50_ms:.1f}",
            ]
        )
    print("\nSequential (one ceremony at a time), client start -> result")
    print(
        table(
            ["workflow", "p50 ms", "p95 ms", "p99 ms", "mean ms", "max ms", "runs", "x noop"],
            sequential_rows,
        )
    )

    load_rows = [
        [
            f"Sign {scheme}",
            str(r.concurrency),
            str(r.signings),
            f"{r.wall_seconds:.2f}",
            f"{r.per_second:.1f}",
            _ms(r.latency.p50_ms),
            _ms(r.latency.p95_ms),
            _ms(r.latency.p99_ms),
        ]
        for scheme, r in results.load.items()
    ]
    print(f"\nThroughput: {bench_settings.concurrency} in flight (asyncio.Semaphore)")
    print(
        table(
            [
                "workflow",
                "in flight",
                "signings",
                "wall s",
                "sig/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
            ],
            load_rows,
        )
    )

    ref_rows: list[list[str]] = []
    for scheme in SCHEMES:
        p95 = results.sign[scheme].p95_ms
        ref_rows.append(
            [
                f"Sign {scheme}, sequential",
                _ms(p95),
                f"{p95 / REFERENCE_GG20_P95_MS:.2f}",
                f"{p95 / TARGET_FROST_MS:.2f}",
            ]
        )
    for scheme, r in results.load.items():
        p95 = r.latency.p95_ms
        ref_rows.append(
            [
                f"Sign {scheme}, {r.concurrency} in flight",
                _ms(p95),
                f"{p95 / REFERENCE_GG20_P95_MS:.2f}",
                f"{p95 / TARGET_FROST_MS:.2f}",
            ]
        )
    print(f"\nReference: {REFERENCE_TEXT}")
    print(table(["ours", "p95 ms", "/ GG20 p95 300", "/ target 120"], ref_rows))

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
            scheme: round(s.p50_ms / results.noop.p50_ms, 2) for scheme, s in results.sign.items()
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs (well under 2 minutes)")
    parser.add_argument(
        "--json", action="store_true", help="also print every figure as one JSON object, last"
    )
    parser.add_argument("--runs", type=int, help="sequential Noop and Sign runs (per scheme)")
    parser.add_argument("--load-runs", type=int, help="signings in the throughput test")
    parser.add_argument(
        "--concurrency", type=int, default=20, help="ceremonies in flight (default 20)"
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the temporary data directory"
    )
    args = parser.parse_args(argv)
    if any(v is not None and v < 1 for v in (args.runs, args.load_runs, args.concurrency)):
        parser.error("--runs, --load-runs and --concurrency must be at least 1")
    bench_settings = settings_for(args)
    env = environment(temporal_cli=temporal_version())
    wall_start = time.perf_counter()

    data_dir = Path(tempfile.mkdtemp(prefix="quorate-bench-"))
    temporal_port, ui_port = free_ports(2)
    settings = Settings(data_dir=data_dir, temporal_port=temporal_port, temporal_ui_port=ui_port)
    reference = Topology.load(settings.reference_topology)

    print(
        f"Ceremony benchmark | {env['python']} | {env['platform']} | {env['cores']} cores "
        f"({env['usable_cores']} usable) | {env['date']} | {env['temporal_cli']} | "
        f"{bench_settings.mode} mode"
    )
    print(
        "Real system on one machine over loopback: `temporal server start-dev` (persistence: "
        "SQLite file in a fresh temporary\ndata directory, ports "
        f"{temporal_port}/{ui_port}), one OS process per party worker "
        f"({len(reference.parties)}, {reference.threshold} sign) + one coordinator process, "
        "this client in\nanother. Latency = client start -> workflow result, "
        "time.perf_counter; p50 = median, p95/p99 by nearest rank,\nin milliseconds. "
        f"{bench_settings.warmup} warm-up ceremonies before each measurement. Messages: fresh "
        "random 32-byte digests\n(bip340, BIP86 taproot key) / 64-byte messages (ed25519); "
        "every signature is verified with libsecp256k1 / libsodium."
    )
    sys.stdout.flush()

    results = run_in(data_dir, args.keep_data, measure(settings, bench_settings))

    print_report(results, bench_settings)
    elapsed = time.perf_counter() - wall_start
    print(f"\nTotal benchmark time: {elapsed:.1f} s")
    if args.keep_data:
        print(f"Data directory kept: {data_dir}")
    if args.json:
        print(
            json.dumps(results_json(results, bench_settings, env, elapsed), separators=(",", ":"))
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
