"""5. ECDSA end to end through Temporal (``--temporal``), with a FROST ``Sign`` of the same
run as the baseline.

The real system on this machine, as bench.ceremony starts it (:mod:`bench.topology`), with
the workers' modulus size chosen by ``--modulus`` (2048 runs bench.weak_party). After the
party workers have filled their background safe-prime pools (they would otherwise compete
with what is timed): SetupEcdsa (every party's aux info), a 3-of-5 ``ecdsa-secp256k1`` wallet, N
sequential ``Sign`` runs with no presignature ready (presigning inline), then the pool filled
and N more runs on pooled presignatures; and N runs on a BIP340 (FROST) wallet. Client start
to result, every signature verified afterwards. If this build refuses ECDSA wallets or
signing, it says so (a workflow whose activity keeps failing is abandoned) and the rest
stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.report import (
    MEDIAN_RANGE,
    Stats,
    comparison,
    note,
    print_table,
    ratio_text,
    significant,
)
from bench.threshold_ecdsa.config import (
    PARTIES,
    POLICY,
    REFERENCE_GG20_P95_MS,
    THRESHOLD,
    BenchSettings,
)
from mpc.ecdsa.params import SecurityParameters

if TYPE_CHECKING:
    from activities.models import CreateWalletResult
    from common.types import Scheme
    from runtime.settings import Settings


@dataclass
class TemporalResults:
    startup_seconds: float
    idle_waits: list[float] = field(default_factory=list)  # seconds, before each measurement
    setup_seconds: float | None = None  # SetupEcdsa: every party's aux info, cross-verified
    ecdsa_wallet_seconds: float | None = None
    frost_wallet_seconds: float | None = None
    pool_fill_seconds: float | None = None  # Presign workflow filling the pool
    pool_fill_count: int = 0
    ecdsa_inline: Stats | None = None  # no presignature ready: presigning inside SignWorkflow
    ecdsa_pooled: Stats | None = None  # a pooled presignature: the online round only
    frost: Stats | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    verified: int = 0
    unavailable: str | None = None
    notes: list[str] = field(default_factory=list)
    policy: str = POLICY  # as the created wallets report it


def stats_json(stats: Stats | None) -> dict[str, float | int] | None:
    """The figures this benchmark has always printed for a series."""
    return stats.as_json(MEDIAN_RANGE, 4) if stats is not None else None


async def measure_temporal(
    params: SecurityParameters, settings: BenchSettings, system: Settings, timeout: float
) -> TemporalResults:
    # Imported here: the in-process figures need none of the system's modules.
    from pydantic import ValidationError

    from bench.topology import (
        Abandoned,
        Ids,
        fill_presignature_pool,
        new_wallet,
        running,
        setup_all_parties,
        sign_series,
    )
    from quorate.client import CeremonyFailed

    async with running(system, params.modulus_bits) as live:
        client = live.client
        results = TemporalResults(live.startup_seconds, live.idle_waits)
        ids = Ids("bench-ecdsa")
        primaries = live.primaries(len(PARTIES))

        async def wallet(scheme: Scheme) -> tuple[CreateWalletResult, float]:
            note(f"creating the {POLICY} {scheme} wallet")
            wallet_id = f"bench-{scheme}-{ids.run}"
            return await new_wallet(client, wallet_id, scheme, primaries, THRESHOLD, timeout)

        async def sequential(label: str, wallet: CreateWalletResult) -> Stats:
            note(f"SignWorkflow {label} x {settings.temporal_runs}, sequential")
            series = await sign_series(
                client,
                ids,
                wallet,
                runs=settings.temporal_runs,
                warmup=settings.temporal_warmup,
                timeout=timeout,
                authorizer=live.authorizer,
            )
            results.samples[label] = series.seconds
            results.verified += series.verified
            return series.stats

        # The ECDSA path first: if this build refuses it, nothing else is worth measuring.
        try:
            await live.idle("safe-prime pools filling after start", timeout)
            note("SetupEcdsa: every party's auxiliary information, cross-verified")
            results.setup_seconds = await setup_all_parties(client, ids, timeout)
            await live.idle("safe-prime pools refilling after the setup", timeout)
            ecdsa_wallet, results.ecdsa_wallet_seconds = await wallet("ecdsa-secp256k1")
            results.policy = f"{ecdsa_wallet.threshold}-of-{len(ecdsa_wallet.parties)}"
            results.ecdsa_inline = await sequential("ecdsa_inline_presign", ecdsa_wallet)
        except (ValidationError, CeremonyFailed, Abandoned) as error:
            results.unavailable = f"{type(error).__name__}: {error}".splitlines()[0]
            return results

        count = settings.temporal_warmup + settings.temporal_runs
        note(f"Presign workflow: filling the wallet's pool with {count} presignatures")
        try:
            results.pool_fill_seconds = await fill_presignature_pool(
                client, ids, ecdsa_wallet.wallet_id, count, timeout
            )
        except (ValidationError, CeremonyFailed, Abandoned) as error:
            results.notes.append(f"presignature pool: {type(error).__name__}: {error}")
        else:
            results.pool_fill_count = count
            results.ecdsa_pooled = await sequential("ecdsa_pooled_presignature", ecdsa_wallet)

        frost_wallet, results.frost_wallet_seconds = await wallet("bip340")
        results.frost = await sequential("bip340", frost_wallet)
        return results


def run_temporal(
    params: SecurityParameters, settings: BenchSettings, timeout: float, keep_data: bool
) -> TemporalResults:
    from bench.topology import fresh_system, run_in

    system = fresh_system("quorate-bench-ecdsa-")
    return run_in(system, keep_data, measure_temporal(params, settings, system, timeout))


SERIES: tuple[tuple[str, str, str, str], ...] = (
    # attribute of TemporalResults, its row in the table, in the references, and its key
    (
        "ecdsa_inline",
        "Sign ecdsa-secp256k1, presigning inline",
        "ECDSA, presigning inline",
        "inline",
    ),
    (
        "ecdsa_pooled",
        "Sign ecdsa-secp256k1, pooled presignature",
        "ECDSA, pooled presignature",
        "pooled",
    ),
    ("frost", "Sign bip340 (FROST)", "FROST bip340", "frost"),
)


def temporal_references(temporal: TemporalResults) -> list[dict[str, Any]]:
    """Each series' p95 against the GG20 p95 of the system we replace."""
    rows = []
    for attribute, _, label, key in SERIES:
        stats: Stats | None = getattr(temporal, attribute)
        if stats is not None:
            labels = {
                "key": f"temporal_{key}_vs_gg20",
                "comparison": f"Temporal {label}, p95 / GG20 p95 300 ms",
            }
            rows.append(comparison(labels, stats.p95_ms, REFERENCE_GG20_P95_MS))
    return rows


def print_temporal(temporal: TemporalResults | None) -> None:
    if temporal is None:
        return
    if temporal.unavailable is not None:
        print("\n5. ECDSA through Temporal: not available in this build")
        print(f"  ({temporal.unavailable})")
        return
    frost = temporal.frost
    rows: list[list[str]] = []
    for attribute, label, _, _ in SERIES:
        stats: Stats | None = getattr(temporal, attribute)
        if stats is None:
            continue
        rows.append(
            [
                label,
                significant(stats.median_ms),
                significant(stats.p95_ms),
                significant(stats.max_ms),
                str(stats.runs),
                f"{stats.p95_ms / REFERENCE_GG20_P95_MS:.2f}",
                ratio_text(stats.median_ms / frost.median_ms) + "x" if frost else "-",
            ]
        )
    print_table(
        f"5. End to end through Temporal, {temporal.policy} wallets, sequential "
        "(client start -> result; verified afterwards)",
        ["workflow", "p50 ms", "p95 ms", "max ms", "runs", "p95 / GG20 300", "p50 / FROST"],
        rows,
    )
    setup = [f"topology start {temporal.startup_seconds:.1f} s"]
    if temporal.idle_waits:
        waits = " + ".join(f"{w:.0f}" for w in temporal.idle_waits)
        setup.append(f"waited {waits} s for the workers' background safe-prime pools")
    if temporal.setup_seconds is not None:
        setup.append(f"SetupEcdsa (aux info, all parties) {temporal.setup_seconds:.1f} s")
    if temporal.ecdsa_wallet_seconds is not None:
        setup.append(f"ecdsa wallet {temporal.ecdsa_wallet_seconds:.1f} s")
    if temporal.pool_fill_seconds is not None and temporal.pool_fill_count:
        setup.append(
            f"Presign x {temporal.pool_fill_count} {temporal.pool_fill_seconds:.1f} s "
            f"({temporal.pool_fill_seconds / temporal.pool_fill_count:.1f} s each)"
        )
    if temporal.frost_wallet_seconds is not None:
        setup.append(f"bip340 wallet {temporal.frost_wallet_seconds:.1f} s")
    setup.append(f"{temporal.verified} signatures verified (libsecp256k1)")
    print("  Setup: " + "; ".join(setup))
    for text in temporal.notes:
        print(f"  Note: {text}")


def temporal_json(temporal: TemporalResults | None, requested: bool) -> dict[str, Any] | None:
    if not requested:
        return None
    out: dict[str, Any] = {"available": temporal is not None and temporal.unavailable is None}
    if temporal is not None:
        out.update(
            {
                "reason": temporal.unavailable,
                "policy": temporal.policy,
                "startup_seconds": round(temporal.startup_seconds, 2),
                "idle_wait_seconds": [round(w, 1) for w in temporal.idle_waits],
                "setup_ecdsa_seconds": temporal.setup_seconds,
                "ecdsa_wallet_seconds": temporal.ecdsa_wallet_seconds,
                "frost_wallet_seconds": temporal.frost_wallet_seconds,
                "presign_pool_fill_seconds": temporal.pool_fill_seconds,
                "presign_pool_fill_count": temporal.pool_fill_count,
                "ecdsa_inline_presign": stats_json(temporal.ecdsa_inline),
                "ecdsa_pooled_presignature": stats_json(temporal.ecdsa_pooled),
                "frost_bip340": stats_json(temporal.frost),
                "samples_ms": {
                    label: [round(x * 1000, 1) for x in xs]
                    for label, xs in temporal.samples.items()
                },
                "signatures_verified": temporal.verified,
                "notes": temporal.notes,
            }
        )
    return out
