"""Threshold-ECDSA benchmark: auxiliary information, presigning and signing, next to FROST.

Run from the repository root::

    .venv/bin/python -m bench.threshold_ecdsa                   # full run (several minutes)
    .venv/bin/python -m bench.threshold_ecdsa --quick           # fewer runs (about two minutes)
    .venv/bin/python -m bench.threshold_ecdsa --modulus 2048    # the weaker, configurable size
    .venv/bin/python -m bench.threshold_ecdsa --temporal        # also end to end through Temporal
    .venv/bin/python -m bench.threshold_ecdsa --json            # the tables, then one JSON object

Everything runs in this process on the mpc.ecdsa code (CGGMP21 proofs in the GG20 message
flow), at the production modulus (3072-bit Paillier moduli, ``PRODUCTION``) unless
``--modulus 2048`` is given:

1. auxiliary information per party (:mod:`.aux_info`): fresh safe primes (OpenSSL's
   generator), drawn until two of them give an N of exactly the configured size; then the
   Paillier and ring-Pedersen keys with Π_mod and Π_prm (``generate_aux_info`` with those
   primes), every other party's ``verify_aux_info``, and Π_fac proved and verified per
   ordered pair of parties. In --quick mode one party's primes are timed; the other signers'
   primes are generated afterwards in worker processes, untimed, to save time.
2. presigning (:mod:`.signing`), 3 signers of a 3-of-5 key (one DKG over FROST(secp256k1,
   SHA-256), the key both protocols share): all three rounds and the output step of every
   signer, computed in turn in this process. Each signer's calls are timed, so besides the
   total there are the per-signer average (total / 3), the slowest signer's own work, and
   the critical path if the signers ran in parallel (per round, the slowest signer; no
   network).
   The relay's ``presign_transcript`` and each signer's transcript check in ``finish``
   (``verify_transcript`` and the digest, timed again apart right after that signer's
   ``finish``) are what keeping the public transcript costs; "before" is the same run
   without them, the baseline every ratio below is taken against (2b). The χ witness the
   presignature keeps costs no time, only bytes: its share of the encoded presignature.
3. online signing: one signer's ``sign_share`` and the coordinator's ``combine`` (which
   checks every share, and verifies the signature with libsecp256k1). A presignature is
   single-use, and ``sign_share`` refuses a second use; each presignature made in step 2
   signs once, timed end to end, and the online loop then times the arithmetic on
   re-randomized copies (same R, fresh k_i and χ_i with the same sums: a key-revealing
   reuse of R on a real key, harmless on this throwaway one).
   3b. the abort paths on every measured presignature (:mod:`.abort`): δ identification
   (a signer lies about δ_i: every ``open_delta``, then ``identify_delta_culprits``) and χ
   identification (a signer sends S_i + R with a matching σ_i: every ``prove_chi``, then
   ``identify_chi_culprits``), each checked to name exactly the cheater.
4. FROST(secp256k1, SHA-256) 3-of-5 on the same DKG key, timed by bench.frost's own signing
   loop: round1 (commit), round2 (sign), aggregate (which verifies); and the reference
   figures: GG20 p95 300 ms in the system we replace, cggmp21 (Rust, 3072-bit) presigning in
   about 2.7 s.
5. with ``--temporal`` (:mod:`.temporal`): the real system on this machine, ECDSA ``Sign``
   with presigning inline and with pooled presignatures, and a FROST ``Sign`` of the same run.

Every ECDSA signature is verified afterwards, outside the timed region, with libsecp256k1
(coincurve) alone: low s, ``PublicKey.verify`` and public-key recovery from the recovery id.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gmpy2

from bench.report import (
    MEDIAN_RANGE,
    Stats,
    arguments,
    at_least,
    banner,
    comparison,
    environment,
    finish,
    note,
    package_version,
    print_table,
    ratio_text,
    significant,
    system_arguments,
)
from bench.threshold_ecdsa.aux_info import AuxResults, measure_aux_info
from bench.threshold_ecdsa.config import (
    PARTIES,
    PRESIGN_STEPS,
    REFERENCE_CGGMP21_PRESIGN_MS,
    REFERENCE_GG20_P95_MS,
    REFERENCE_TEXT,
    SIGNERS,
    THRESHOLD,
    BenchSettings,
    dealerless_keys,
    security_parameters,
    settings_for,
)
from bench.threshold_ecdsa.signing import (
    EcdsaResults,
    ecdsa_setup,
    measure_ecdsa,
    measure_frost,
    verify_all,
)
from bench.threshold_ecdsa.temporal import (
    TemporalResults,
    print_temporal,
    run_temporal,
    temporal_json,
    temporal_references,
)
from mpc.ecdsa.params import PRODUCTION, SecurityParameters

# -- report --------------------------------------------------------------------------------


def _openssl() -> str:
    try:
        from cryptography.hazmat.backends.openssl import backend

        return str(backend.openssl_version_text())
    except Exception:  # informational only
        return "unknown"


def _stats_row(label: str, stats: Stats) -> list[str]:
    return [label, significant(stats.median_ms), significant(stats.p95_ms), str(stats.runs)]


def _json(stats: Stats) -> dict[str, float | int]:
    return stats.as_json(MEDIAN_RANGE, 4)


def _versus(stats: Stats, baseline_ms: float) -> dict[str, float | int]:
    """The figures, and the median over the baseline's with six decimals (the retention
    costs are far below the two that ``median_x_baseline`` keeps)."""
    return {**_json(stats), "x_baseline": round(stats.median_ms / baseline_ms, 6)}


STATS_HEADER = ["figure", "median ms", "p95 ms", "runs"]


@dataclass
class Report:
    aux: dict[str, Stats]
    aux_party_total_ms: float
    presign: dict[str, Stats]
    presign_steps: dict[str, Stats]
    online: dict[str, Stats]
    frost: dict[str, Stats]
    comparisons: list[dict[str, Any]]
    references: list[dict[str, Any]]
    retention: dict[str, Stats]  # presigning before and after keeping the transcript
    abort: dict[str, Stats]  # δ and χ identification
    baseline_ms: float  # the median presigning before the transcript: every ratio's base
    presignature_bytes: int
    presignature_witness_bytes: int


BASELINE = "presign_before_total"
RETENTION_LABELS = {
    "before_total": f"before: all {len(SIGNERS)} signers, no transcript (baseline)",
    "after_total": f"after: all {len(SIGNERS)} signers, transcript kept and checked",
    "before_slowest_signer": "before: slowest signer's own work",
    "after_slowest_signer": "after: slowest signer's own work",
    "retention": "difference: relay build + every signer's check and digest",
    "relay_transcript": "  relay: presign_transcript (coordinator)",
    "transcript_check": "  one signer: verify_transcript + digest in finish",
}
ABORT_LABELS = {
    "sign_and_combine": f"happy path: {len(SIGNERS)} x sign_share + combine",
    "delta_total": f"δ identification: {len(SIGNERS)} x open_delta + identify",
    "delta_open": "  open_delta, one signer",
    "delta_identify": "  identify_delta_culprits (anyone)",
    "chi_total": f"χ identification: {len(SIGNERS)} x prove_chi + identify",
    "chi_prove": "  prove_chi, one signer",
    "chi_identify": "  identify_chi_culprits (anyone)",
}


def build_report(
    aux: AuxResults,
    ecdsa: EcdsaResults,
    frost_ns: dict[str, list[int]],
) -> Report:
    n_signers = len(SIGNERS)
    aux_stats: dict[str, Stats] = {
        "prime_two": Stats.from_seconds([pair.first_two for pair in aux.primes.values()]),
        "prime_pair": Stats.from_seconds([pair.seconds for pair in aux.primes.values()]),
        "prime_draw": Stats.from_seconds(
            [draw for pair in aux.primes.values() for draw in pair.draws]
        ),
        "generate": Stats.from_seconds(aux.generate),
        "recheck": Stats.from_seconds(aux.recheck),
        "verify": Stats.from_seconds(aux.verify),
        "fac_prove": Stats.from_seconds(aux.fac_prove),
        "fac_verify": Stats.from_seconds(aux.fac_verify),
    }
    peers = len(PARTIES) - 1
    aux_party_total_ms = (
        aux_stats["prime_pair"].median_ms
        + aux_stats["generate"].median_ms
        + peers
        * (
            aux_stats["verify"].median_ms
            + aux_stats["fac_prove"].median_ms
            + aux_stats["fac_verify"].median_ms
        )
    )

    runs = ecdsa.presign_runs
    presign_stats = {
        "total": Stats.from_ns([r.wall_ns for r in runs]),
        "per_signer": Stats.from_ns([r.wall_ns for r in runs], divisor=n_signers),
        "slowest_signer": Stats.from_ns([r.slowest_signer_ns() for r in runs]),
        "critical_path": Stats.from_ns([r.critical_path_ns() for r in runs]),
        "full_signature": Stats.from_ns(ecdsa.full_ns),
    }
    step_stats = {
        step: Stats.from_ns([r.steps_ns[step][p] for r in runs for p in SIGNERS])
        for step in PRESIGN_STEPS
    }
    online = {
        "sign_share": Stats.from_ns(ecdsa.sign_share_ns),
        "combine": Stats.from_ns(ecdsa.combine_ns),
        "first_use": Stats.from_ns(ecdsa.first_use_online_ns),
    }
    frost = {op: Stats.from_ns(samples) for op, samples in frost_ns.items()}
    retention = {
        "before_total": Stats.from_ns([r.before_wall_ns() for r in runs]),
        "after_total": presign_stats["total"],
        "before_slowest_signer": Stats.from_ns(
            [max(r.before_signer_ns(p) for p in SIGNERS) for r in runs]
        ),
        "after_slowest_signer": presign_stats["slowest_signer"],
        "retention": Stats.from_ns([r.retention_ns() for r in runs]),
        "relay_transcript": Stats.from_ns([r.relay_ns for r in runs]),
        "transcript_check": Stats.from_ns([r.transcript_ns[p] for r in runs for p in SIGNERS]),
    }
    a = ecdsa.abort
    abort = {
        "sign_and_combine": online["first_use"],
        "delta_total": Stats.from_ns(a.delta_total_ns),
        "delta_open": Stats.from_ns(a.delta_open_ns),
        "delta_identify": Stats.from_ns(a.delta_identify_ns),
        "chi_total": Stats.from_ns(a.chi_total_ns),
        "chi_prove": Stats.from_ns(a.chi_prove_ns),
        "chi_identify": Stats.from_ns(a.chi_identify_ns),
    }

    def compare(label: str, ours: float, theirs: float, key: str) -> dict[str, Any]:
        labels = {"key": key, "comparison": label}
        names = ("ecdsa_ms", "frost_ms")
        return comparison(labels, ours, theirs, names=names, digits=4, reference_digits=4)

    frost_whole = (
        n_signers * (frost["round1"].median_ms + frost["round2"].median_ms)
        + frost["aggregate"].median_ms
    )
    ecdsa_whole = presign_stats["full_signature"].median_ms
    comparisons = [
        compare(
            "offline, per signer: presign (slowest signer) / round1",
            presign_stats["slowest_signer"].median_ms,
            frost["round1"].median_ms,
            "offline_per_signer",
        ),
        compare(
            "online, per signer: sign_share / round2",
            online["sign_share"].median_ms,
            frost["round2"].median_ms,
            "online_per_signer",
        ),
        compare(
            "coordinator: combine / aggregate (both verify)",
            online["combine"].median_ms,
            frost["aggregate"].median_ms,
            "coordinator",
        ),
        compare(
            "whole signature, 3 signers in one process",
            ecdsa_whole,
            frost_whole,
            "whole_signature",
        ),
    ]

    def reference(label: str, ours: float, theirs: float, key: str) -> dict[str, Any]:
        return comparison({"key": key, "comparison": label}, ours, theirs)

    online_p95 = online["sign_share"].p95_ms + online["combine"].p95_ms
    references = [
        reference(
            "presign, slowest signer's work, median / cggmp21 2.7 s",
            presign_stats["slowest_signer"].median_ms,
            REFERENCE_CGGMP21_PRESIGN_MS,
            "presign_slowest_signer_vs_cggmp21",
        ),
        reference(
            "presign, all 3 signers in one process, median / cggmp21 2.7 s",
            presign_stats["total"].median_ms,
            REFERENCE_CGGMP21_PRESIGN_MS,
            "presign_total_vs_cggmp21",
        ),
        reference(
            "online: sign_share p95 + combine p95 / GG20 p95 300 ms",
            online_p95,
            REFERENCE_GG20_P95_MS,
            "online_vs_gg20",
        ),
        reference(
            "presign + sign in one process (no network), p95 / GG20 p95 300 ms",
            presign_stats["full_signature"].p95_ms,
            REFERENCE_GG20_P95_MS,
            "full_protocol_vs_gg20",
        ),
    ]
    return Report(
        aux_stats,
        aux_party_total_ms,
        presign_stats,
        step_stats,
        online,
        frost,
        comparisons,
        references,
        retention,
        abort,
        retention["before_total"].median_ms,
        ecdsa.presignature_bytes,
        ecdsa.presignature_witness_bytes,
    )


BASELINE_HEADER = ["figure", "median ms", "p95 ms", "runs", "x baseline"]


def _baseline_row(label: str, stats: Stats, baseline_ms: float) -> list[str]:
    return [*_stats_row(label, stats), ratio_text(stats.median_ms / baseline_ms)]


def print_identification(report: Report) -> None:
    """2b (presigning before and after the transcript) and 3b (the abort paths)."""
    base = report.baseline_ms
    print_table(
        "2b. Presigning before / after keeping the transcript and the χ witness "
        "(x baseline: median over the median before)",
        BASELINE_HEADER,
        [_baseline_row(RETENTION_LABELS[k], s, base) for k, s in report.retention.items()],
    )
    witness = report.presignature_witness_bytes
    print(
        f"  Encoded presignature (vault record): {report.presignature_bytes} bytes, of which "
        f"{witness} for the χ witness and the transcript digest "
        f"({100 * witness / report.presignature_bytes:.0f} %)"
    )
    print_table(
        "3b. Abort paths: naming a cheater (x baseline: over the median presigning before)",
        BASELINE_HEADER,
        [_baseline_row(ABORT_LABELS[k], s, base) for k, s in report.abort.items()],
    )


def print_report(
    report: Report,
    params: SecurityParameters,
    aux: AuxResults,
    ecdsa: EcdsaResults,
    verified: int,
) -> None:
    """Sections 1 to 4 and ECDSA vs FROST: printed before the Temporal part starts."""
    bits, half = params.modulus_bits, params.prime_bits
    a = report.aux
    draws = sum(len(pair.draws) for pair in aux.primes.values())
    print_table(
        f"1. Auxiliary information per party ({bits}-bit N; Π_mod and Π_prm with "
        f"{params.iterations} iterations)",
        STATS_HEADER,
        [
            _stats_row(f"safe primes: 2 x {half} bits (first two draws)", a["prime_two"]),
            _stats_row(f"  one {half}-bit safe prime (per draw)", a["prime_draw"]),
            _stats_row(
                f"  until two give an exact {bits}-bit N ({draws} draws in all)", a["prime_pair"]
            ),
            _stats_row("Paillier + ring-Pedersen keys, Π_mod + Π_prm prove", a["generate"]),
            _stats_row("  of which: safe-prime re-check of p and q", a["recheck"]),
            _stats_row("verify_aux_info (Π_mod + Π_prm + checks), per peer", a["verify"]),
            _stats_row("Π_fac prove, per (prover, verifier) pair", a["fac_prove"]),
            _stats_row("Π_fac verify, per pair", a["fac_verify"]),
        ],
    )
    peers = len(PARTIES) - 1
    print(
        f"  One party's share of a {THRESHOLD}-of-{len(PARTIES)} setup (sum of medians: primes "
        f"+ prove + {peers} x (verify + Π_fac prove + Π_fac verify)): "
        f"{report.aux_party_total_ms / 1000:.1f} s"
    )
    if aux.untimed_prime_seconds:
        untimed = [p for p in aux.publics if p not in aux.primes]
        print(
            f"  (untimed: safe primes for {', '.join(untimed)} generated in parallel worker "
            f"processes, {aux.untimed_prime_seconds:.1f} s wall)"
        )

    p = report.presign
    print_table(
        f"2. Presignature, {len(SIGNERS)} signers of {THRESHOLD}-of-{len(PARTIES)} "
        "(CGGMP21 Fig. 7, all signers in this process, in turn)",
        STATS_HEADER,
        [
            _stats_row(f"total, all {len(SIGNERS)} signers", p["total"]),
            _stats_row(f"per signer (total / {len(SIGNERS)})", p["per_signer"]),
            _stats_row("slowest signer's own work", p["slowest_signer"]),
            _stats_row("critical path if in parallel (Σ rounds of max)", p["critical_path"]),
            *[_stats_row(f"  {step}, one signer", s) for step, s in report.presign_steps.items()],
        ],
    )

    o = report.online
    print_table(
        "3. Online signing (one round on a presignature)",
        STATS_HEADER,
        [
            _stats_row("sign_share, one signer (rotating)", o["sign_share"]),
            _stats_row("combine: share checks + libsecp256k1 verify", o["combine"]),
            _stats_row(
                f"first use of each presignature ({len(SIGNERS)} shares + combine)",
                o["first_use"],
            ),
            _stats_row("presign + first use: a whole signature", p["full_signature"]),
        ],
    )
    print(
        f"  {verified} ECDSA signatures verified by libsecp256k1 (coincurve): low s, verify, "
        f"key recovery; {ecdsa.presignatures_made} presignatures made (incl. warm-up)"
    )

    f = report.frost
    print_table(
        f"4. FROST(secp256k1, SHA-256) {THRESHOLD}-of-{len(PARTIES)}, same process, same DKG key",
        STATS_HEADER,
        [
            _stats_row("round1 (commit), one signer", f["round1"]),
            _stats_row("round2 (sign), one signer", f["round2"]),
            _stats_row("aggregate (incl. verification)", f["aggregate"]),
        ],
    )
    print_table(
        "ECDSA vs FROST (medians)",
        ["comparison", "ECDSA ms", "FROST ms", "ECDSA/FROST"],
        [
            [
                c["comparison"],
                significant(c["ecdsa_ms"]),
                significant(c["frost_ms"]),
                ratio_text(c["ratio"]) + "x",
            ]
            for c in report.comparisons
        ],
    )


def print_references(report: Report, params: SecurityParameters) -> None:
    bits = params.modulus_bits
    size_note = (
        "" if bits == 3072 else f" (ours at {bits} bits; the cggmp21 figure is at 3072 bits)"
    )
    print_table(
        f"Reference: {REFERENCE_TEXT}{size_note}",
        ["ours", "ours ms", "reference ms", "ratio"],
        [
            [
                r["comparison"],
                significant(r["ours_ms"]),
                f"{r['reference_ms']:.0f}",
                ratio_text(r["ratio"]),
            ]
            for r in report.references
        ],
    )


def results_json(
    report: Report,
    params: SecurityParameters,
    settings: BenchSettings,
    env: dict[str, Any],
    aux: AuxResults,
    verified: int,
    temporal: dict[str, Any] | None,
    elapsed: float,
) -> dict[str, Any]:
    return {
        "benchmark": "ecdsa",
        "mode": settings.mode,
        "environment": env,
        "parameters": {
            "modulus_bits": params.modulus_bits,
            "prime_bits": params.prime_bits,
            "iterations": params.iterations,
            "ell": params.ell,
            "ell_prime": params.ell_prime,
            "epsilon": params.epsilon,
        },
        "settings": {
            **settings.__dict__,
            "policy": f"{THRESHOLD}_of_{len(PARTIES)}",
            "signers": list(SIGNERS),
            "timer": "time.perf_counter(_ns)",
            "p95": "nearest rank",
        },
        "aux_info": {
            **{k: _json(s) for k, s in report.aux.items()},
            "timed_prime_parties": sorted(aux.primes),
            "prime_draws_per_party": {p: len(pair.draws) for p, pair in aux.primes.items()},
            "untimed_prime_seconds": round(aux.untimed_prime_seconds, 2),
            "party_total_ms_3_of_5": round(report.aux_party_total_ms, 1),
        },
        "presign": {
            **{k: _json(s) for k, s in report.presign.items()},
            "steps_per_signer": {k: _json(s) for k, s in report.presign_steps.items()},
        },
        "online": {k: _json(s) for k, s in report.online.items()},
        "identification": {
            "baseline": BASELINE,
            "baseline_median_ms": round(report.baseline_ms, 4),
            "presign_retention": {
                k: _versus(s, report.baseline_ms) for k, s in report.retention.items()
            },
            "abort": {k: _versus(s, report.baseline_ms) for k, s in report.abort.items()},
            "presignature_bytes": report.presignature_bytes,
            "presignature_witness_bytes": report.presignature_witness_bytes,
        },
        "frost_secp256k1_3_of_5": {k: _json(s) for k, s in report.frost.items()},
        "ecdsa_vs_frost": report.comparisons,
        "reference": {
            "text": REFERENCE_TEXT,
            "gg20_p95_ms": REFERENCE_GG20_P95_MS,
            "cggmp21_presign_ms": REFERENCE_CGGMP21_PRESIGN_MS,
            "comparisons": report.references,
        },
        "temporal": temporal,
        "signatures_verified": verified,
        "total_seconds": round(elapsed, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("bench.threshold_ecdsa", __doc__, "fewer runs (about two minutes)")
    parser.add_argument(
        "--modulus",
        type=int,
        choices=(2048, 3072),
        default=PRODUCTION.modulus_bits,
        help="Paillier modulus size in bits (default 3072, the production size)",
    )
    parser.add_argument("--runs", type=at_least(1), help="presignatures measured (3 signers each)")
    parser.add_argument("--sign-runs", type=at_least(1), help="online signings measured")
    parser.add_argument(
        "--prime-parties",
        type=at_least(1),
        help=f"parties whose safe primes are generated and timed (at most {len(PARTIES)})",
    )
    parser.add_argument(
        "--temporal", action="store_true", help="also sign end to end through Temporal"
    )
    parser.add_argument("--temporal-runs", type=at_least(1), help="sequential signings per scheme")
    system_arguments(parser, "--temporal-timeout")
    args = parser.parse_args(argv)
    if args.prime_parties is not None and args.prime_parties > len(PARTIES):
        parser.error(f"--prime-parties is at most {len(PARTIES)}")
    settings = settings_for(args)
    params = security_parameters(args.modulus)
    env = environment(
        gmpy2=package_version("gmpy2"),
        gmp=str(gmpy2.mp_version()),
        coincurve=package_version("coincurve"),
        cryptography=package_version("cryptography"),
        openssl=_openssl(),
    )
    wall_start = time.perf_counter()

    versions = (
        f"gmpy2 {env['gmpy2']} ({env['gmp']}), coincurve {env['coincurve']}, cryptography "
        f"{env['cryptography']} ({env['openssl']}) | {params.modulus_bits}-bit Paillier moduli"
        f"{' (PRODUCTION)' if params == PRODUCTION else ''}"
    )
    print(banner("ECDSA", env, versions, settings.mode))
    print(
        "Single process, sequential, time.perf_counter(_ns), cyclic GC off while timing; "
        "median and p95 (nearest rank) in milliseconds.\nKeys from one real 3-of-5 DKG over "
        "FROST(secp256k1, SHA-256), shared by ECDSA and FROST; signers "
        f"{', '.join(SIGNERS)}.\nSafe primes: OpenSSL via `cryptography`, timed for "
        f"{settings.prime_parties} part{'y' if settings.prime_parties == 1 else 'ies'}; aux info "
        f"for {settings.aux_parties} parties, every ordered pair verified and Π_fac'd.\n"
        f"Presigning: {settings.presign_runs} runs after {settings.presign_warmup} warm-up; "
        f"online: {settings.sign_runs} runs after {settings.sign_warmup} warm-up (on "
        "re-randomized copies of the presignatures, on this throwaway key);\nabort paths: "
        "δ and χ identification once per measured presignature;\nFROST: "
        f"{settings.frost_runs} runs after {settings.frost_warmup} warm-up. Every ECDSA signature "
        "is verified afterwards with libsecp256k1 alone.",
        flush=True,
    )

    note("3-of-5 DKG (FROST secp256k1 shares, used by both protocols)")
    keys = dealerless_keys()
    aux = measure_aux_info(params, settings)
    ecdsa = measure_ecdsa(ecdsa_setup(params, keys, aux), settings)
    verified = verify_all(keys, ecdsa.signed)
    note(f"FROST round1/round2/aggregate x {settings.frost_runs}")
    frost_ns = measure_frost(keys, settings)

    report = build_report(aux, ecdsa, frost_ns)
    print_report(report, params, aux, ecdsa, verified)
    print_identification(report)

    temporal: TemporalResults | None = None
    if args.temporal:
        temporal = run_temporal(params, settings, args.temporal_timeout, args.keep_data)
        print_temporal(temporal)
        if temporal.unavailable is None:
            report.references += temporal_references(temporal)
    print_references(report, params)
    temporal_figures = temporal_json(temporal, args.temporal)
    return finish(
        wall_start,
        args.json,
        lambda elapsed: results_json(
            report, params, settings, env, aux, verified, temporal_figures, elapsed
        ),
    )


if __name__ == "__main__":
    raise SystemExit(main())
