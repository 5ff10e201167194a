"""Transfer benchmark: ``SignTransaction`` end to end per chain, against plain ``Sign``.

Run from the repository root::

    .venv/bin/python bench/transactions.py                  # full run (30 transfers per chain)
    .venv/bin/python bench/transactions.py --quick          # 5 transfers per chain
    .venv/bin/python bench/transactions.py --modulus 3072   # production Paillier moduli
    .venv/bin/python bench/transactions.py --json           # the tables, then one JSON object

It starts what bench/ceremony.py starts (the embedded ``temporal server start-dev`` in a
fresh temporary data directory on free ports, one OS process per party worker plus the
coordinator, where the embedded chain engines live: py-evm, the libbitcoinkernel-checked
UTXO ledger, LiteSVM), with the party workers' Paillier modulus size set through
QUORATE_ECDSA_MODULUS_BITS (2048 bits by default here; bench/ecdsa.py measures 3072). After
the workers' background safe-prime pools have filled, it runs SetupEcdsa, creates three
3-of-5 wallets (FROST taproot BIP340, FROST Ed25519, CGGMP21 ECDSA) and fills the ECDSA
wallet's presignature pool with one presignature per ECDSA signing to come, so that every
timed ECDSA signature takes the pooled path. Then, sequentially, with a fresh idempotency
key per request and ``time.perf_counter`` from client start to result:

1. the baseline: ``Sign`` of a fresh random 32-byte digest, per wallet;
2. ``SignTransaction`` per chain (ethereum, polygon, arbitrum, bitcoin-p2wpkh,
   bitcoin-p2tr, solana): build, one child ``Sign`` per signing payload, broadcast, and
   confirmation polls (the embedded engines produce a block when a poll finds the
   transaction short of its depth) until ``status == "confirmed"``.

The ratio transfer / Sign (p50) is the chain's overhead. Outside the timed region every
baseline signature is verified with libsecp256k1 / libsodium, every transfer's result must
be confirmed, and each recipient's balance must have grown by exactly runs x amount; the
timed transfers' workflow histories are read to split each transfer into build, signing,
broadcast and confirmation (event timestamps of the dev server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

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
    wait_until_idle,
)
from temporalio.client import Client  # noqa: E402

from activities.models import (  # noqa: E402
    CreateWalletInput,
    CreateWalletResult,
    EcdsaSetupInput,
    PresignInput,
    Scheme,
    SignInput,
    SignResult,
    SignTransactionInput,
    SignTransactionResult,
)
from chains.models import TransferIntent  # noqa: E402
from quorate.client import (  # noqa: E402
    address_balance,
    create_wallet,
    faucet,
    key_address,
    presign,
    setup_ecdsa,
    sign,
    sign_transaction,
    wallet_address,
)
from quorate.demo import TRANSFERS, demo_recipient_key, verify_externally  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from workers.runner import LocalTopology  # noqa: E402

# -- configuration -------------------------------------------------------------------------

SCHEMES: tuple[Scheme, ...] = ("bip340", "ed25519", "ecdsa-secp256k1")
SCHEME_LABELS: dict[Scheme, str] = {
    "bip340": "FROST taproot (bip340)",
    "ed25519": "FROST ed25519",
    "ecdsa-secp256k1": "CGGMP21 ECDSA, pooled presignature",
}
THRESHOLD = 3
POLICY_PARTIES = 5  # the reference topology's primaries (a backup would make 3-of-6)
MODULUS_BITS_ENV = "QUORATE_ECDSA_MODULUS_BITS"  # what the party workers read
MAX_PRESIGN_BATCH = 100  # PresignInput.count's bound
# bench/ecdsa.py --temporal, full run (README "Threshold ECDSA"): Sign with presigning inline.
INLINE_PRESIGN_3072_MS = 3682.0


@dataclass(frozen=True)
class BenchSettings:
    mode: str
    runs: int  # timed transfers per chain, and timed Sign runs per scheme
    warmup: int  # untimed, before each series
    modulus_bits: int
    timeout: float  # seconds before one setup step or request is abandoned


def settings_for(args: argparse.Namespace) -> BenchSettings:
    mode, runs, warmup = ("quick", 5, 1) if args.quick else ("full", 30, 2)
    return BenchSettings(
        mode=mode,
        runs=args.runs if args.runs is not None else runs,
        warmup=warmup,
        modulus_bits=args.modulus,
        timeout=args.timeout,
    )


def ecdsa_chains() -> list[str]:
    return [chain for chain, scheme, _, _ in TRANSFERS if scheme == "ecdsa-secp256k1"]


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakdown:
    """One transfer split at its workflow history's milestones (dev-server timestamps)."""

    build_ms: float  # workflow start -> chain.build completed (incl. the first task)
    sign_ms: float  # -> the last child Sign completed
    broadcast_ms: float  # -> chain.broadcast completed
    confirm_ms: float  # -> workflow completed: chain.status polls and timers between them
    client_ms: float  # client latency minus the workflow's own duration
    child_ms: float  # first child Sign started -> last completed (the ceremonies proper)
    timer_ms: float  # durable timers, started -> fired, summed (inside confirm_ms)
    polls: int  # chain.status activities
    timers: int  # durable timers (poll_interval each)
    ceremonies: int  # child Sign workflows


@dataclass
class ChainResult:
    chain: str
    scheme: Scheme
    amount: int
    stats: Stats
    breakdowns: list[Breakdown]
    fee_p50: float
    recipient_gain: int
    confirmed: int


@dataclass
class Results:
    startup_seconds: float
    idle_waits: list[float]
    setup_seconds: float
    wallet_seconds: dict[Scheme, float]
    wallets: dict[Scheme, CreateWalletResult]
    presign_count: int
    presign_seconds: float
    sign: dict[Scheme, Stats] = field(default_factory=dict)
    chains: list[ChainResult] = field(default_factory=list)
    signatures_verified: int = 0


T = TypeVar("T")


async def within(call: Awaitable[T], seconds: float, what: str) -> T:
    try:
        return await asyncio.wait_for(call, seconds)
    except TimeoutError:
        raise RuntimeError(f"{what}: no result within {seconds:.0f} s") from None


def _ms(start_ns: int, end_ns: int) -> float:
    return (end_ns - start_ns) / 1e6


async def breakdown(client: Client, workflow_id: str, latency: float) -> Breakdown:
    """Milestones from the SignTransaction history: event times are the dev server's."""
    scheduled: dict[int, str] = {}
    done: dict[str, int] = {}
    timer_started: dict[int, int] = {}
    start = end = sign_done = timer_ns = 0
    child_started: list[int] = []
    polls = timers = ceremonies = 0
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        at = event.event_time.ToNanoseconds()
        if event.HasField("workflow_execution_started_event_attributes"):
            start = at
        elif event.HasField("activity_task_scheduled_event_attributes"):
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = name
            polls += name == "chain.status"
        elif event.HasField("activity_task_completed_event_attributes"):
            attributes = event.activity_task_completed_event_attributes
            done[scheduled[attributes.scheduled_event_id]] = at
        elif event.HasField("start_child_workflow_execution_initiated_event_attributes"):
            ceremonies += 1
        elif event.HasField("child_workflow_execution_started_event_attributes"):
            child_started.append(at)
        elif event.HasField("child_workflow_execution_completed_event_attributes"):
            sign_done = max(sign_done, at)
        elif event.HasField("timer_started_event_attributes"):
            timers += 1
            timer_started[event.event_id] = at
        elif event.HasField("timer_fired_event_attributes"):
            timer_ns += at - timer_started[event.timer_fired_event_attributes.started_event_id]
        elif event.HasField("workflow_execution_completed_event_attributes"):
            end = at
    built, broadcast = done["chain.build"], done["chain.broadcast"]
    return Breakdown(
        build_ms=_ms(start, built),
        sign_ms=_ms(built, sign_done),
        broadcast_ms=_ms(sign_done, broadcast),
        confirm_ms=_ms(broadcast, end),
        client_ms=latency * 1000 - _ms(start, end),
        child_ms=_ms(min(child_started), sign_done),
        timer_ms=timer_ns / 1e6,
        polls=polls,
        timers=timers,
        ceremonies=ceremonies,
    )


# -- the measurement -----------------------------------------------------------------------


class Bench:
    def __init__(self, client: Client, settings: BenchSettings) -> None:
        self.client = client
        self.settings = settings
        self.run = uuid.uuid4().hex[:8]
        self.counter = 0

    def key(self, kind: str) -> str:
        """A fresh idempotency key (the workflow id) per request."""
        self.counter += 1
        return f"bench-tx-{self.run}-{kind}-{self.counter}"

    async def sign_series(self, wallet: CreateWalletResult) -> tuple[Stats, int]:
        """Warm-ups, then the timed runs; every signature verified after the clock stops."""
        seconds: list[float] = []
        signed: list[tuple[bytes, SignResult]] = []
        for i in range(self.settings.warmup + self.settings.runs):
            digest = os.urandom(32)
            request = SignInput(wallet_id=wallet.wallet_id, message=digest.hex())
            key = self.key(f"sign-{wallet.scheme}")
            start = time.perf_counter()
            result = await within(sign(self.client, request, key), self.settings.timeout, key)
            elapsed = time.perf_counter() - start
            signed.append((digest, result))
            if i >= self.settings.warmup:
                seconds.append(elapsed)
        for digest, result in signed:
            if bytes.fromhex(result.message) != digest or result.wallet_id != wallet.wallet_id:
                raise RuntimeError(f"{result.ceremony_id}: a result for another request")
            verify_externally(
                result.scheme,
                bytes.fromhex(result.public_key),
                digest,
                bytes.fromhex(result.signature),
                result.recovery_id,
            )
        return Stats.from_seconds(seconds), len(signed)

    async def transfer(
        self, wallet: CreateWalletResult, chain: str, to: str, amount: int
    ) -> tuple[str, SignTransactionResult, float]:
        request = SignTransactionInput(
            wallet_id=wallet.wallet_id,
            intent=TransferIntent(chain=chain, to=to, amount=amount),
        )
        key = self.key(f"transfer-{chain}")
        start = time.perf_counter()
        result = await within(
            sign_transaction(self.client, request, key), self.settings.timeout, key
        )
        return key, result, time.perf_counter() - start

    async def chain_series(
        self, wallet: CreateWalletResult, chain: str, funding: int, amount: int
    ) -> ChainResult:
        runs, warmup = self.settings.runs, self.settings.warmup
        source = await wallet_address(self.client, wallet.wallet_id, chain)
        # Funded once, for every run and its fee (fees are far below the amounts here).
        await faucet(self.client, chain, source.address, max(funding, 4 * amount * (runs + warmup)))
        recipient = await key_address(self.client, chain, demo_recipient_key(wallet.scheme))
        for _ in range(warmup):
            await self.transfer(wallet, chain, recipient.address, amount)
        before = (await address_balance(self.client, chain, recipient.address)).balance
        timed = [await self.transfer(wallet, chain, recipient.address, amount) for _ in range(runs)]
        # Outside the timed region: confirmed, paid, and where the time went.
        after = (await address_balance(self.client, chain, recipient.address)).balance
        confirmed = sum(r.status == "confirmed" for _, r, _ in timed)
        if confirmed != runs:
            statuses = sorted({r.status for _, r, _ in timed})
            raise RuntimeError(f"{chain}: {runs - confirmed} transfers not confirmed: {statuses}")
        if after - before != runs * amount:
            raise RuntimeError(
                f"{chain}: the recipient gained {after - before}, expected {runs} x {amount}"
            )
        breakdowns = [await breakdown(self.client, key, seconds) for key, _, seconds in timed]
        return ChainResult(
            chain=chain,
            scheme=wallet.scheme,
            amount=amount,
            stats=Stats.from_seconds([seconds for _, _, seconds in timed]),
            breakdowns=breakdowns,
            fee_p50=statistics.median(r.fee for _, r, _ in timed),
            recipient_gain=after - before,
            confirmed=confirmed,
        )


async def measure(settings: BenchSettings, system: Settings) -> Results:
    os.environ[MODULUS_BITS_ENV] = str(settings.modulus_bits)  # inherited by the workers
    topology = LocalTopology(system)
    note("starting the Temporal dev server and one worker process per party + coordinator")
    started = time.perf_counter()
    try:
        await topology.start()
        startup = time.perf_counter() - started
        assert topology.client is not None  # noqa: S101 - start() sets it
        assert topology.topology is not None  # noqa: S101 - start() sets it
        client = topology.client
        bench = Bench(client, settings)
        pids = [w.process.pid for w in topology.workers.values() if w.process is not None]
        idle_waits: list[float] = []

        async def idle(why: str) -> None:
            note(f"waiting for the workers to go idle ({why})")
            idle_waits.append(await wait_until_idle(pids, settings.timeout))

        await idle("safe-prime pools filling after start")
        note(f"SetupEcdsa: every party's {settings.modulus_bits}-bit aux info, cross-verified")
        start = time.perf_counter()
        key = bench.key("setup")
        await within(setup_ecdsa(client, EcdsaSetupInput(session=key), key), settings.timeout, key)
        setup_seconds = time.perf_counter() - start
        await idle("safe-prime pools refilling after the setup")

        primaries = tuple(p.id for p in topology.topology.primaries)[:POLICY_PARTIES]
        wallets: dict[Scheme, CreateWalletResult] = {}
        wallet_seconds: dict[Scheme, float] = {}
        for scheme in SCHEMES:
            note(f"creating the {THRESHOLD}-of-{len(primaries)} {scheme} wallet by DKG")
            wallet_id = f"bench-tx-{scheme}-{bench.run}"
            request = CreateWalletInput(
                wallet_id=wallet_id, scheme=scheme, parties=primaries, threshold=THRESHOLD
            )
            start = time.perf_counter()
            wallets[scheme] = await within(
                create_wallet(client, request, f"{wallet_id}-create"), settings.timeout, wallet_id
            )
            wallet_seconds[scheme] = time.perf_counter() - start

        # One pooled presignature per ECDSA signing to come: the Sign baseline and every
        # ECDSA chain's transfers (one payload each: EVM, and P2WPKH spending one UTXO).
        ecdsa = wallets["ecdsa-secp256k1"]
        count = (settings.warmup + settings.runs) * (1 + len(ecdsa_chains()))
        note(f"Presign: filling the ECDSA wallet's pool with {count} presignatures")
        start = time.perf_counter()
        for offset in range(0, count, MAX_PRESIGN_BATCH):
            batch = min(MAX_PRESIGN_BATCH, count - offset)
            key = bench.key("presign")
            await within(
                presign(client, PresignInput(wallet_id=ecdsa.wallet_id, count=batch), key),
                settings.timeout * batch,
                key,
            )
        results = Results(
            startup_seconds=startup,
            idle_waits=idle_waits,
            setup_seconds=setup_seconds,
            wallet_seconds=wallet_seconds,
            wallets=wallets,
            presign_count=count,
            presign_seconds=time.perf_counter() - start,
        )

        for scheme in SCHEMES:
            note(f"Sign {scheme} x {settings.runs}, sequential (baseline)")
            results.sign[scheme], verified = await bench.sign_series(wallets[scheme])
            results.signatures_verified += verified
        for chain, scheme, funding, amount in TRANSFERS:
            note(f"SignTransaction {chain} x {settings.runs}, sequential")
            results.chains.append(await bench.chain_series(wallets[scheme], chain, funding, amount))
        return results
    finally:
        note("stopping the topology")
        topology.stop()


# -- report --------------------------------------------------------------------------------


def _f(value: float) -> str:
    return f"{value:,.1f}"


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def print_report(results: Results, settings: BenchSettings) -> None:
    sign_rows = [
        [
            SCHEME_LABELS[scheme],
            str(s.runs),
            _f(s.p50_ms),
            _f(s.p95_ms),
            _f(s.p99_ms),
            _f(s.max_ms),
        ]
        for scheme, s in results.sign.items()
    ]
    print("\nBaseline: Sign of a random 32-byte digest, sequential, client start -> result")
    print(table(["wallet", "runs", "p50 ms", "p95 ms", "p99 ms", "max ms"], sign_rows))

    rows: list[list[str]] = []
    for c in results.chains:
        base = results.sign[c.scheme]
        rows.append(
            [
                c.chain,
                c.scheme,
                str(c.stats.runs),
                _f(c.stats.p50_ms),
                _f(c.stats.p95_ms),
                _f(c.stats.p99_ms),
                _f(c.stats.max_ms),
                _f(base.p50_ms),
                f"{c.stats.p50_ms / base.p50_ms:.2f}",
                f"{c.stats.p95_ms / base.p95_ms:.2f}",
            ]
        )
    print(
        "\nSignTransaction per chain, sequential, client start -> confirmed result "
        "(x Sign: ratio to the same wallet's Sign, this run)"
    )
    print(
        table(
            [
                "chain",
                "scheme",
                "runs",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "Sign p50",
                "x Sign p50",
                "x Sign p95",
            ],
            rows,
            text_columns=2,
        )
    )

    split_rows: list[list[str]] = []
    for c in results.chains:
        b = c.breakdowns
        split_rows.append(
            [
                c.chain,
                _f(_median([x.build_ms for x in b])),
                _f(_median([x.sign_ms for x in b])),
                _f(_median([x.child_ms for x in b])),
                _f(_median([x.broadcast_ms for x in b])),
                _f(_median([x.confirm_ms for x in b])),
                _f(_median([x.timer_ms for x in b])),
                _f(_median([x.client_ms for x in b])),
                f"{_median([x.polls for x in b]):g} / {_median([x.timers for x in b]):g}",
                f"{_median([x.ceremonies for x in b]):g}",
            ]
        )
    print(
        "\nWhere a transfer's time goes (medians over the timed runs, from each workflow "
        "history's event times):\n  build = start -> chain.build done; sign = -> last child "
        "Sign done (child run: child started -> completed); broadcast = -> chain.broadcast "
        "done;\n  confirm = -> workflow completed (chain.status polls, a durable timer of "
        "poll_interval between them; timers: started -> fired);\n  client = "
        "client latency - workflow duration (start request, result long-poll)"
    )
    print(
        table(
            [
                "chain",
                "build ms",
                "sign ms",
                "(child run)",
                "broadcast ms",
                "confirm ms",
                "(timers)",
                "client ms",
                "polls / timers",
                "ceremonies",
            ],
            split_rows,
        )
    )

    bits = settings.modulus_bits
    print(
        f"\nECDSA: {bits}-bit Paillier moduli ({MODULUS_BITS_ENV}={bits} in the workers' "
        f"environment). The ECDSA Sign baseline and every ECDSA transfer used a pooled "
        f"presignature:\n  the pool was filled beforehand with {results.presign_count} "
        f"(Presign workflow, {results.presign_seconds:.1f} s, "
        f"{results.presign_seconds / results.presign_count:.2f} s each, untimed). Presigning "
        f"inline would add about {INLINE_PRESIGN_3072_MS / 1000:.1f} s per signature at 3072 "
        "bits\n  (bench/ecdsa.py --temporal)."
    )
    checks = ", ".join(f"{c.chain} +{c.recipient_gain:,}" for c in results.chains)
    print(
        f"Verified after the timed region: {results.signatures_verified} Sign signatures "
        "(libsecp256k1 / libsodium); every timed transfer status == confirmed; recipient "
        f"balances grew by exactly runs x amount\n  ({checks} base units)."
    )
    waits = " + ".join(f"{w:.0f}" for w in results.idle_waits)
    print(
        f"Setup (not part of the figures): topology start {results.startup_seconds:.1f} s; "
        f"waited {waits} s for the workers' safe-prime pools; SetupEcdsa "
        f"{results.setup_seconds:.1f} s; wallets by DKG "
        + ", ".join(f"{s} {t:.1f} s" for s, t in results.wallet_seconds.items())
        + "."
    )


def results_json(
    results: Results, settings: BenchSettings, env: dict[str, Any], elapsed: float
) -> dict[str, Any]:
    def split(b: Sequence[Breakdown]) -> dict[str, float]:
        return {
            name: round(_median([getattr(x, name) for x in b]), 2)
            for name in (
                "build_ms",
                "sign_ms",
                "broadcast_ms",
                "confirm_ms",
                "client_ms",
                "child_ms",
                "timer_ms",
                "polls",
                "timers",
                "ceremonies",
            )
        }

    return {
        "benchmark": "transactions",
        "mode": settings.mode,
        "environment": env,
        "settings": {
            "runs": settings.runs,
            "warmup": settings.warmup,
            "modulus_bits": settings.modulus_bits,
            "policy": f"{THRESHOLD}-of-{POLICY_PARTIES}",
            "timer": "time.perf_counter, client start -> result",
            "percentiles": "nearest rank",
            "persistence": "temporal server start-dev, SQLite file",
            "chains": "embedded engines (config/chains.toml)",
        },
        "ecdsa_presignatures": {
            "pooled": True,
            "count": results.presign_count,
            "fill_seconds": round(results.presign_seconds, 2),
            "inline_presign_3072_ms_reference": INLINE_PRESIGN_3072_MS,
        },
        "sign": {scheme: s.as_json() for scheme, s in results.sign.items()},
        "transfers": {
            c.chain: {
                "scheme": c.scheme,
                "amount": c.amount,
                "fee_p50": c.fee_p50,
                "latency": c.stats.as_json(),
                "over_sign_p50": round(c.stats.p50_ms / results.sign[c.scheme].p50_ms, 3),
                "over_sign_p95": round(c.stats.p95_ms / results.sign[c.scheme].p95_ms, 3),
                "breakdown_median": split(c.breakdowns),
                "confirmed": c.confirmed,
                "recipient_gain": c.recipient_gain,
            }
            for c in results.chains
        },
        "signatures_verified": results.signatures_verified,
        "setup": {
            "startup_seconds": round(results.startup_seconds, 2),
            "idle_wait_seconds": [round(w, 1) for w in results.idle_waits],
            "setup_ecdsa_seconds": round(results.setup_seconds, 2),
            "wallet_seconds": {s: round(t, 2) for s, t in results.wallet_seconds.items()},
        },
        "total_seconds": round(elapsed, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="5 transfers per chain, not 30")
    parser.add_argument(
        "--json", action="store_true", help="also print every figure as one JSON object, last"
    )
    parser.add_argument("--runs", type=int, help="timed transfers per chain and Signs per scheme")
    parser.add_argument(
        "--modulus",
        type=int,
        choices=(2048, 3072),
        default=2048,
        help="the party workers' Paillier modulus size in bits (default 2048)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds before one setup step or request is abandoned (default 900)",
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the temporary data directory"
    )
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    settings = settings_for(args)
    env = environment(temporal_cli=temporal_version())
    wall_start = time.perf_counter()

    data_dir = Path(tempfile.mkdtemp(prefix="quorate-bench-tx-"))
    temporal_port, ui_port = free_ports(2)
    system = Settings(data_dir=data_dir, temporal_port=temporal_port, temporal_ui_port=ui_port)

    print(
        f"Transfer benchmark | {env['python']} | {env['platform']} | {env['cpu']}, "
        f"{env['cores']} cores ({env['usable_cores']} usable), load "
        f"{'/'.join(str(x) for x in env['load_average'])} | {env['date']} | "
        f"{env['temporal_cli']} | {settings.modulus_bits}-bit Paillier moduli | "
        f"{settings.mode} mode"
    )
    print(
        "Real system on one machine over loopback: `temporal server start-dev` (SQLite file "
        f"in a fresh temporary data directory, ports {temporal_port}/{ui_port}),\none OS "
        "process per party worker + the coordinator (embedded chain engines: py-evm, the "
        "libbitcoinkernel-checked UTXO ledger, LiteSVM).\n"
        f"Wallets {THRESHOLD}-of-{POLICY_PARTIES} by DKG. Sequential, a fresh idempotency key "
        f"per request, {settings.warmup} warm-up(s) before each series of {settings.runs}; "
        "latency = client start -> result\n(time.perf_counter), p50 = median, p95/p99 by "
        "nearest rank, in milliseconds. Confirmations as configured: 2 EVM and bitcoin, "
        "1 solana; poll_interval 0.2 s."
    )
    sys.stdout.flush()

    # A SIGTERM must still stop the topology's processes (finally blocks run on exit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    results = run_in(data_dir, args.keep_data, measure(settings, system))

    print_report(results, settings)
    elapsed = time.perf_counter() - wall_start
    print(f"\nTotal benchmark time: {elapsed:.1f} s")
    if args.keep_data:
        print(f"Data directory kept: {data_dir}")
    if args.json:
        print(json.dumps(results_json(results, settings, env, elapsed), separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
