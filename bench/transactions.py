"""Transfer benchmark: ``SignTransaction`` end to end per chain, against plain ``Sign``.

Run from the repository root::

    .venv/bin/python -m bench.transactions                  # full run (30 transfers per chain)
    .venv/bin/python -m bench.transactions --quick          # 5 transfers per chain
    .venv/bin/python -m bench.transactions --modulus 3072   # production Paillier moduli
    .venv/bin/python -m bench.transactions --json           # the tables, then one JSON object

It starts what bench.ceremony starts (:mod:`bench.topology`: the embedded ``temporal
server start-dev`` in a fresh temporary data directory on free ports, one OS process per
party worker plus the coordinator, where the embedded chain engines live: py-evm, the
libbitcoinkernel-checked UTXO ledger, LiteSVM), with the party workers' Paillier modulus
size chosen by ``--modulus`` (2048 bits by default here, which runs each party as
bench.weak_party, the production worker with the test-only sizes; 3072 runs
workers.party itself; bench.threshold_ecdsa measures 3072). After the workers'
background safe-prime pools have filled, it runs SetupEcdsa, creates three 3-of-5 wallets
(FROST taproot BIP340, FROST Ed25519, CGGMP21 ECDSA) and fills the ECDSA wallet's
presignature pool with one presignature per ECDSA signing to come, so that every timed
ECDSA signature takes the pooled path. Then, sequentially, with a fresh idempotency
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
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client

from activities.models import (
    CreateWalletResult,
    SignTransactionInput,
    SignTransactionResult,
)
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
    described,
    fill_presignature_pool,
    fresh_system,
    new_wallet,
    run_and_report,
    running,
    setup_all_parties,
    sign_series,
    watched,
)
from chains.models import TransferIntent
from common.types import Scheme
from quorate.client import address_balance, faucet, key_address, sign_transaction, wallet_address
from quorate.demo import TRANSFERS, demo_recipient_key
from runtime.authorization import RequestAuthorizer
from runtime.settings import Settings

# -- configuration -------------------------------------------------------------------------

SCHEMES: tuple[Scheme, ...] = ("bip340", "ed25519", "ecdsa-secp256k1")
SCHEME_LABELS: dict[Scheme, str] = {
    "bip340": "FROST taproot (bip340)",
    "ed25519": "FROST ed25519",
    "ecdsa-secp256k1": "CGGMP21 ECDSA, pooled presignature",
}
THRESHOLD = 3
POLICY_PARTIES = 5  # the reference topology's primaries (a backup would make 3-of-6)
# bench.threshold_ecdsa --temporal, full run (README "Threshold ECDSA"): Sign, presigning inline.
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
    def __init__(
        self, client: Client, settings: BenchSettings, authorizer: RequestAuthorizer
    ) -> None:
        self.client = client
        self.authorizer = authorizer
        self.settings = settings
        self.ids = Ids("bench-tx")

    async def transfer(
        self, wallet: CreateWalletResult, chain: str, to: str, amount: int
    ) -> tuple[str, SignTransactionResult, float]:
        request = SignTransactionInput(
            wallet_id=wallet.wallet_id,
            intent=TransferIntent(chain=chain, to=to, amount=amount),
        )
        key = self.ids(f"transfer-{chain}")
        start = time.perf_counter()
        call = sign_transaction(self.client, request, key, authorizer=self.authorizer)
        result = await watched(self.client, key, call, self.settings.timeout)
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
    async with running(system, settings.modulus_bits) as live:
        client, timeout = live.client, settings.timeout
        bench = Bench(client, settings, live.authorizer)
        ids = bench.ids
        await live.idle("safe-prime pools filling after start", timeout)
        note(f"SetupEcdsa: every party's {settings.modulus_bits}-bit aux info, cross-verified")
        setup_seconds = await setup_all_parties(client, ids, timeout)
        await live.idle("safe-prime pools refilling after the setup", timeout)

        primaries = live.primaries(POLICY_PARTIES)
        wallets: dict[Scheme, CreateWalletResult] = {}
        wallet_seconds: dict[Scheme, float] = {}
        for scheme in SCHEMES:
            note(f"creating the {THRESHOLD}-of-{len(primaries)} {scheme} wallet by DKG")
            wallet_id = f"bench-tx-{scheme}-{ids.run}"
            wallets[scheme], wallet_seconds[scheme] = await new_wallet(
                client, wallet_id, scheme, primaries, THRESHOLD, timeout
            )

        # One pooled presignature per ECDSA signing to come: the Sign baseline and every
        # ECDSA chain's transfers (one payload each: EVM, and P2WPKH spending one UTXO).
        ecdsa = wallets["ecdsa-secp256k1"]
        count = (settings.warmup + settings.runs) * (1 + len(ecdsa_chains()))
        note(f"Presign: filling the ECDSA wallet's pool with {count} presignatures")
        presign_seconds = await fill_presignature_pool(client, ids, ecdsa.wallet_id, count, timeout)
        results = Results(
            startup_seconds=live.startup_seconds,
            idle_waits=live.idle_waits,
            setup_seconds=setup_seconds,
            wallet_seconds=wallet_seconds,
            wallets=wallets,
            presign_count=count,
            presign_seconds=presign_seconds,
        )

        for scheme in SCHEMES:
            note(f"Sign {scheme} x {settings.runs}, sequential (baseline)")
            series = await sign_series(
                client,
                ids,
                wallets[scheme],
                runs=settings.runs,
                warmup=settings.warmup,
                timeout=timeout,
                authorizer=live.authorizer,
            )
            results.sign[scheme] = series.stats
            results.signatures_verified += series.verified
        for chain, scheme, funding, amount in TRANSFERS:
            note(f"SignTransaction {chain} x {settings.runs}, sequential")
            results.chains.append(await bench.chain_series(wallets[scheme], chain, funding, amount))
        return results


# -- report --------------------------------------------------------------------------------

BREAKDOWN_FIELDS: tuple[str, ...] = (
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


def medians(breakdowns: Sequence[Breakdown]) -> dict[str, float]:
    """The median of every field over a chain's timed transfers."""
    return {
        name: statistics.median(getattr(b, name) for b in breakdowns) for name in BREAKDOWN_FIELDS
    }


def _f(value: float) -> str:
    return f"{value:,.1f}"


def print_report(results: Results, settings: BenchSettings) -> None:
    print_table(
        "Baseline: Sign of a random 32-byte digest, sequential, client start -> result",
        ["wallet", "runs", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        [
            [SCHEME_LABELS[scheme], str(s.runs), *map(_f, (s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms))]
            for scheme, s in results.sign.items()
        ],
    )

    rows: list[list[str]] = []
    for c in results.chains:
        base, s = results.sign[c.scheme], c.stats
        rows.append(
            [
                c.chain,
                c.scheme,
                str(s.runs),
                *map(_f, (s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms, base.p50_ms)),
                f"{s.p50_ms / base.p50_ms:.2f}",
                f"{s.p95_ms / base.p95_ms:.2f}",
            ]
        )
    header = ["chain", "scheme", "runs", "p50 ms", "p95 ms", "p99 ms", "max ms", "Sign p50"]
    print_table(
        "SignTransaction per chain, sequential, client start -> confirmed result "
        "(x Sign: ratio to the same wallet's Sign, this run)",
        [*header, "x Sign p50", "x Sign p95"],
        rows,
        text_columns=2,
    )

    split_rows: list[list[str]] = []
    for c in results.chains:
        m = medians(c.breakdowns)
        times = ("build_ms", "sign_ms", "child_ms", "broadcast_ms", "confirm_ms", "timer_ms")
        split_rows.append(
            [
                c.chain,
                *(_f(m[name]) for name in (*times, "client_ms")),
                f"{m['polls']:g} / {m['timers']:g}",
                f"{m['ceremonies']:g}",
            ]
        )
    header = ["chain", "build ms", "sign ms", "(child run)", "broadcast ms", "confirm ms"]
    print_table(
        "Where a transfer's time goes (medians over the timed runs, from each workflow "
        "history's event times):\n  build = start -> chain.build done; sign = -> last child "
        "Sign done (child run: child started -> completed); broadcast = -> chain.broadcast "
        "done;\n  confirm = -> workflow completed (chain.status polls, a durable timer of "
        "poll_interval between them; timers: started -> fired);\n  client = "
        "client latency - workflow duration (start request, result long-poll)",
        [*header, "(timers)", "client ms", "polls / timers", "ceremonies"],
        split_rows,
    )

    bits = settings.modulus_bits
    print(
        f"\nECDSA: {bits}-bit Paillier moduli (the party processes ran "
        f"{'bench.weak_party' if bits != 3072 else 'workers.party'}). The ECDSA Sign "
        "baseline and every ECDSA transfer used a pooled "
        f"presignature:\n  the pool was filled beforehand with {results.presign_count} "
        f"(Presign workflow, {results.presign_seconds:.1f} s, "
        f"{results.presign_seconds / results.presign_count:.2f} s each, untimed). Presigning "
        f"inline would add about {INLINE_PRESIGN_3072_MS / 1000:.1f} s per signature at 3072 "
        "bits\n  (bench.threshold_ecdsa --temporal)."
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
                "over_sign_p50": ratio(c.stats.p50_ms, results.sign[c.scheme].p50_ms, 3),
                "over_sign_p95": ratio(c.stats.p95_ms, results.sign[c.scheme].p95_ms, 3),
                "breakdown_median": {
                    name: round(value, 2) for name, value in medians(c.breakdowns).items()
                },
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
    parser = arguments("bench.transactions", __doc__, "5 transfers per chain, not 30")
    parser.add_argument(
        "--runs", type=at_least(1), help="timed transfers per chain and Signs per scheme"
    )
    parser.add_argument(
        "--modulus",
        type=int,
        choices=(2048, 3072),
        default=2048,
        help="the party workers' Paillier modulus size in bits (default 2048)",
    )
    system_arguments(parser, "--timeout")
    args = parser.parse_args(argv)
    settings = settings_for(args)
    env = environment(temporal_cli=temporal_version())
    wall_start = time.perf_counter()

    system = fresh_system("quorate-bench-tx-")
    versions = f"{env['temporal_cli']} | {settings.modulus_bits}-bit Paillier moduli"
    print(banner("Transfer", env, versions, settings.mode))
    print(
        f"{described(system)},\none OS process per party worker + the coordinator "
        "(embedded chain engines: py-evm, the libbitcoinkernel-checked UTXO ledger, LiteSVM).\n"
        f"Wallets {THRESHOLD}-of-{POLICY_PARTIES} by DKG. Sequential, a fresh idempotency key "
        f"per request, {settings.warmup} warm-up(s) before each series of {settings.runs}; "
        "latency = client start -> result\n(time.perf_counter), p50 = median, p95/p99 by "
        "nearest rank, in milliseconds. Confirmations as configured: 2 EVM and bitcoin, "
        "1 solana; poll_interval 0.2 s."
    )
    return run_and_report(
        system,
        args,
        wall_start,
        measure(settings, system),
        lambda results: print_report(results, settings),
        lambda results, elapsed: results_json(results, settings, env, elapsed),
    )


if __name__ == "__main__":
    raise SystemExit(main())
