"""FROST benchmark: per-operation timings of signing and DKG for every ciphersuite.

Run from the repository root::

    .venv/bin/python -m bench.frost            # full run (a few minutes at most)
    .venv/bin/python -m bench.frost --quick    # fewer runs (well under a minute)
    .venv/bin/python -m bench.frost --json     # the table, then one JSON object as the last line

For each ciphersuite and each t-of-n policy the keys come from a real DKG among the n
parties, and every run is a complete signing session by t signers over a fresh random
message. One signer (rotating over the signer set) is timed in round 1 (``commit``) and
round 2 (``sign``); the coordinator's ``aggregate`` (which always verifies the aggregate
signature) and a final ``Ciphersuite.verify`` are timed once per run. The taproot suite
signs as production does, with the TapTweak'd key share and public key package (BIP86:
no script tree), tweaked once after the DKG.

A baseline measured in the same process, one point multiplication on each curve through
the library our group code calls (libsecp256k1 via coincurve, libsodium via PyNaCl), lets
figures be compared across machines: every operation is also reported as a multiple of
the baseline of its curve.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from coincurve import PrivateKey
from nacl import bindings as sodium

from bench.report import (
    MEDIAN_P95,
    GcPaused,
    Stats,
    arguments,
    at_least,
    banner,
    comparison,
    environment,
    finish,
    package_version,
    print_table,
    time_calls,
)
from mpc.frost import (
    FROST_ED25519,
    FROST_SECP256K1,
    FROST_SECP256K1_TR,
    Ciphersuite,
    Identifier,
    KeyShare,
    PublicKeyPackage,
    SigningPackage,
    aggregate,
    commit,
    dkg,
    sign,
)
from mpc.frost.taproot import tweak_key_share, tweak_public_key_package

# -- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Suite:
    key: str  # machine-friendly name used in the JSON output
    name: str  # the ciphersuite's name as the RFC writes it
    ciphersuite: Ciphersuite
    curve: str  # which baseline the ratios use
    tweaked: bool  # sign with TapTweak'd keys, as production does for taproot


SUITES: tuple[Suite, ...] = (
    Suite("secp256k1", "FROST(secp256k1, SHA-256)", FROST_SECP256K1, "secp256k1", False),
    Suite("ed25519", "FROST(Ed25519, SHA-512)", FROST_ED25519, "ed25519", False),
    Suite("secp256k1_tr", "FROST(secp256k1, SHA-256)-TR", FROST_SECP256K1_TR, "secp256k1", True),
)
SIGNING_POLICIES: tuple[tuple[int, int], ...] = ((3, 5), (7, 10))
DKG_POLICY: tuple[int, int] = (3, 6)
OPERATIONS: tuple[str, ...] = ("round1", "round2", "aggregate", "verify")

# ZcashFoundation/frost performance.md (criterion means; Rust 1.66, AMD Ryzen 9 5900X),
# FROST(secp256k1, SHA-256), in milliseconds.
REFERENCE_SOURCE = "ZcashFoundation/frost performance.md (Rust, criterion, AMD Ryzen 9 5900X)"
REFERENCE_MS: dict[str, dict[str, float]] = {
    "2_of_3": {"round1": 0.09, "round2": 0.15, "aggregate": 0.25},
    "7_of_10": {"round1": 0.09, "round2": 0.48, "aggregate": 0.52},
}
REFERENCE_TARGET_RATIO = 10.0


@dataclass(frozen=True)
class Settings:
    mode: str
    signing_runs: int
    signing_warmup: int
    dkg_runs: int
    dkg_warmup: int
    baseline_runs: int
    baseline_warmup: int


def settings_for(args: argparse.Namespace) -> Settings:
    if args.quick:
        settings = Settings("quick", 100, 10, 10, 2, 2000, 200)
    else:
        settings = Settings("full", 2000, 50, 100, 5, 20000, 1000)
    if args.runs is not None:
        settings = dataclasses.replace(settings, signing_runs=args.runs)
    if args.dkg_runs is not None:
        settings = dataclasses.replace(settings, dkg_runs=args.dkg_runs)
    return settings


# -- baseline ------------------------------------------------------------------------------


def measure_baseline(settings: Settings) -> dict[str, Stats]:
    """One variable-base point multiplication per curve, as our group code performs it."""
    secp_points = [PrivateKey().public_key for _ in range(16)]
    secp_scalars: list[bytes] = [PrivateKey().secret for _ in range(64)]

    def secp_mul(i: int) -> object:
        return secp_points[i % 16].multiply(secp_scalars[i % 64])

    ed_scalars: list[bytes] = [
        sodium.crypto_core_ed25519_scalar_reduce(os.urandom(64)) for _ in range(64)
    ]
    ed_points: list[bytes] = [
        sodium.crypto_scalarmult_ed25519_base_noclamp(ed_scalars[i]) for i in range(16)
    ]

    def ed_mul(i: int) -> object:
        return sodium.crypto_scalarmult_ed25519_noclamp(ed_scalars[i % 64], ed_points[i % 16])

    runs, warmup = settings.baseline_runs, settings.baseline_warmup
    return {
        "secp256k1": Stats.from_ns(time_calls(secp_mul, runs, warmup)),
        "ed25519": Stats.from_ns(time_calls(ed_mul, runs, warmup)),
    }


BASELINE_LABELS = {
    "secp256k1": "libsecp256k1 via coincurve PublicKey.multiply",
    "ed25519": "libsodium crypto_scalarmult_ed25519_noclamp",
}

# -- DKG -----------------------------------------------------------------------------------


def identifiers(ciphersuite: Ciphersuite, n: int) -> list[Identifier]:
    return [Identifier.derive(ciphersuite, f"party-{i}".encode()) for i in range(1, n + 1)]


def run_dkg(
    ciphersuite: Ciphersuite, ids: Sequence[Identifier], min_signers: int
) -> list[tuple[KeyShare, PublicKeyPackage]]:
    """The whole DKG, every party's part1, part2 and part3, sequentially."""
    n = len(ids)
    round1 = [dkg.part1(ciphersuite, i, n, min_signers) for i in ids]
    round2 = [
        dkg.part2(secret, [pkg for j, (_, pkg) in enumerate(round1) if j != k])
        for k, (secret, _) in enumerate(round1)
    ]
    return [
        dkg.part3(secret, [shares[ids[k]] for j, (_, shares) in enumerate(round2) if j != k])
        for k, (secret, _) in enumerate(round2)
    ]


def check_dkg(outputs: Sequence[tuple[KeyShare, PublicKeyPackage]]) -> PublicKeyPackage:
    """Every party must hold the same public key package (outside the timed region)."""
    _, first = outputs[0]
    for _, public in outputs[1:]:
        if public.verifying_key != first.verifying_key or dict(public.verifying_shares) != dict(
            first.verifying_shares
        ):
            raise RuntimeError("DKG parties disagree on the public key package")
    return first


def measure_dkg(suite: Suite, settings: Settings) -> list[int]:
    t, n = DKG_POLICY
    ids = identifiers(suite.ciphersuite, n)
    for _ in range(settings.dkg_warmup):
        check_dkg(run_dkg(suite.ciphersuite, ids, t))
    outputs: list[list[tuple[KeyShare, PublicKeyPackage]]] = []

    def one(_: int) -> None:
        outputs.append(run_dkg(suite.ciphersuite, ids, t))

    samples = time_calls(one, settings.dkg_runs, 0)
    for output in outputs:  # outside the timed region
        check_dkg(output)
    return samples


# -- signing -------------------------------------------------------------------------------


def signing_keys(suite: Suite, t: int, n: int) -> tuple[list[KeyShare], PublicKeyPackage]:
    """Keys from a real n-party DKG; the first t parties sign."""
    outputs = run_dkg(suite.ciphersuite, identifiers(suite.ciphersuite, n), t)
    public = check_dkg(outputs)
    shares = [share for share, _ in outputs[:t]]
    if suite.tweaked:
        shares = [tweak_key_share(share, None) for share in shares]
        public = tweak_public_key_package(public, None)
    return shares, public


def time_signing(
    ciphersuite: Ciphersuite,
    shares: Sequence[KeyShare],
    public: PublicKeyPackage,
    *,
    runs: int,
    warmup: int,
    operations: Sequence[str] = OPERATIONS,
) -> dict[str, list[int]]:
    """``warmup`` + ``runs`` complete signing sessions by ``shares`` over fresh random
    messages, nanoseconds per operation of the last ``runs``: ``round1`` (commit) and
    ``round2`` (sign) of one signer (rotating over the set), the coordinator's
    ``aggregate`` (which verifies), and ``verify`` if it is in ``operations``."""
    samples: dict[str, list[int]] = {op: [] for op in operations}
    clock = time.perf_counter_ns
    with GcPaused():
        for run in range(warmup + runs):
            measured = run >= warmup
            timed = run % len(shares)  # the signer whose rounds are timed
            message = os.urandom(32)

            nonces = []
            commitments = []
            for k, share in enumerate(shares):
                start = clock()
                signer_nonces, signer_commitments = commit(share)
                elapsed = clock() - start
                if k == timed and measured:
                    samples["round1"].append(elapsed)
                nonces.append(signer_nonces)
                commitments.append(signer_commitments)

            package = SigningPackage(ciphersuite, commitments, message)
            signature_shares = []
            for k, share in enumerate(shares):
                start = clock()
                signature_share = sign(package, nonces[k], share)
                elapsed = clock() - start
                if k == timed and measured:
                    samples["round2"].append(elapsed)
                signature_shares.append(signature_share)

            start = clock()
            signature = aggregate(package, signature_shares, public)
            elapsed = clock() - start
            if measured:
                samples["aggregate"].append(elapsed)

            if "verify" in samples:
                start = clock()
                ciphersuite.verify(message, signature, public.verifying_key)
                elapsed = clock() - start
                if measured:
                    samples["verify"].append(elapsed)
    return samples


def measure_signing(suite: Suite, t: int, n: int, settings: Settings) -> dict[str, list[int]]:
    shares, public = signing_keys(suite, t, n)
    return time_signing(
        suite.ciphersuite,
        shares,
        public,
        runs=settings.signing_runs,
        warmup=settings.signing_warmup,
    )


# -- report --------------------------------------------------------------------------------


def _policy(t: int, n: int) -> str:
    return f"{t}-of-{n}"


def _key(t: int, n: int) -> str:
    return f"{t}_of_{n}"


def _json(stats: Stats, baseline_ms: float | None = None) -> dict[str, float | int]:
    return stats.as_json(MEDIAN_P95, 5, baseline_ms)


COMPARISONS: tuple[tuple[str, str, str, bool], ...] = (
    # operation, our policy, the reference's, whether the target applies
    ("round2", "3_of_5", "2_of_3", True),
    ("aggregate", "3_of_5", "2_of_3", True),
    ("round1", "3_of_5", "2_of_3", False),
    ("round2", "7_of_10", "7_of_10", False),
    ("aggregate", "7_of_10", "7_of_10", False),
)


def print_references(ours: dict[str, dict[str, Stats]]) -> list[dict[str, Any]]:
    """Our secp256k1 figures against the reference's; the comparisons, for the JSON."""
    rows: list[list[str]] = []
    out: list[dict[str, Any]] = []
    for op, our_policy, ref_policy, targeted in COMPARISONS:
        ref = REFERENCE_MS[ref_policy][op]
        mine = ours[our_policy][op].median_ms
        within = mine / ref <= REFERENCE_TARGET_RATIO
        verdict = ("within target" if within else "OVER TARGET") if targeted else "(informational)"
        labels = {"operation": op, "ours_policy": our_policy, "reference_policy": ref_policy}
        row = comparison(
            labels, mine, ref, names=("ours_median_ms", "reference_ms"), digits=5, ratio_digits=2
        )
        out.append({**row, "targeted": targeted, "within_target": within if targeted else None})
        versus = f"ours {our_policy.replace('_', '-')} vs ZF {ref_policy.replace('_', '-')}"
        rows.append([op, versus, f"{mine:.3f}", f"{ref:.2f}", f"{mine / ref:.1f}x", verdict])
    print_table(
        f"Reference: {REFERENCE_SOURCE}, FROST(secp256k1, SHA-256);\n"
        f"  target: our 3-of-5 within {REFERENCE_TARGET_RATIO:.0f}x of its 2-of-3 "
        "(different machine and language: compare 'x base' for hardware-independent figures)",
        ["operation", "comparison", "ours ms", "ZF ms", "ratio", "verdict"],
        rows,
        text_columns=2,
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("bench.frost", __doc__, "fewer runs (under a minute)")
    parser.add_argument(
        "--runs", type=at_least(1), help="signing sessions measured per suite and policy"
    )
    parser.add_argument("--dkg-runs", type=at_least(1), help="whole DKGs measured per suite")
    args = parser.parse_args(argv)
    settings = settings_for(args)
    env = environment(coincurve=package_version("coincurve"), pynacl=package_version("PyNaCl"))
    wall_start = time.perf_counter()

    versions = f"coincurve {env['coincurve']}, PyNaCl {env['pynacl']}"
    print(banner("FROST", env, versions, settings.mode))
    print(
        "Single process, sequential, time.perf_counter_ns per operation, cyclic GC off while "
        "timing; median and p95 (nearest rank)\nin milliseconds. Keys from a real DKG among "
        f"the n parties; each run signs a fresh 32-byte message; {settings.signing_warmup} "
        "warm-up sessions first.\nround1/round2: one signer (rotating); aggregate: the "
        "coordinator, including its verification of the signature;\nverify: Ciphersuite.verify "
        "of the final signature. The -TR suite signs with TapTweak'd keys (BIP86, no script "
        "tree).\n'x base' = median / one point multiplication on the same curve (baseline below)."
    )
    sys.stdout.flush()

    baseline = measure_baseline(settings)
    base_ms = {curve: stats.median_ms for curve, stats in baseline.items()}
    print_table(
        "Baseline: one variable-base point multiplication, same process",
        ["curve", "operation", "median ms", "p95 ms", "runs"],
        [
            [curve, BASELINE_LABELS[curve], f"{s.median_ms:.4f}", f"{s.p95_ms:.4f}", str(s.runs)]
            for curve, s in baseline.items()
        ],
        text_columns=2,
    )

    signing: dict[str, dict[str, dict[str, Stats]]] = {}
    rows: list[list[str]] = []
    for suite in SUITES:
        signing[suite.key] = {}
        for t, n in SIGNING_POLICIES:
            raw = measure_signing(suite, t, n, settings)
            stats = {op: Stats.from_ns(raw[op]) for op in OPERATIONS}
            signing[suite.key][_key(t, n)] = stats
            for op, s in stats.items():
                rows.append(
                    [
                        suite.name,
                        _policy(t, n),
                        op,
                        f"{s.median_ms:.3f}",
                        f"{s.p95_ms:.3f}",
                        str(s.runs),
                        f"{s.median_ms / base_ms[suite.curve]:.1f}",
                    ]
                )
    # A blank line between suite/policy groups keeps the table readable.
    print_table(
        "Signing: time per operation",
        ["ciphersuite", "policy", "operation", "median ms", "p95 ms", "runs", "x base"],
        rows,
        text_columns=3,
        group=len(OPERATIONS),
    )

    dkg_stats: dict[str, tuple[Stats, Stats]] = {}
    t, n = DKG_POLICY
    dkg_rows: list[list[str]] = []
    for suite in SUITES:
        raw_dkg = measure_dkg(suite, settings)
        whole = Stats.from_ns(raw_dkg)
        per_party = Stats.from_ns(raw_dkg, divisor=n)
        dkg_stats[suite.key] = (whole, per_party)
        dkg_rows.append(
            [
                suite.name,
                _policy(t, n),
                f"{whole.median_ms:.2f}",
                f"{whole.p95_ms:.2f}",
                f"{per_party.median_ms:.2f}",
                f"{per_party.p95_ms:.2f}",
                str(whole.runs),
                f"{per_party.median_ms / base_ms[suite.curve]:.0f}",
            ]
        )
    print_table(
        f"DKG {_policy(t, n)}: all {n} parties' part1+part2+part3 in turn; per party = total/{n}",
        [
            "ciphersuite",
            "policy",
            "total median ms",
            "total p95 ms",
            "party median ms",
            "party p95 ms",
            "runs",
            "party x base",
        ],
        dkg_rows,
        text_columns=2,
    )
    reference_json = print_references(signing["secp256k1"])
    curve_of = {suite.key: suite.curve for suite in SUITES}

    def results(elapsed: float) -> dict[str, Any]:
        return {
            "benchmark": "frost",
            "mode": settings.mode,
            "environment": env,
            "settings": {
                "signing_runs": settings.signing_runs,
                "signing_warmup": settings.signing_warmup,
                "dkg_runs": settings.dkg_runs,
                "dkg_warmup": settings.dkg_warmup,
                "baseline_runs": settings.baseline_runs,
                "timer": "time.perf_counter_ns",
                "p95": "nearest rank",
            },
            "baseline": {
                curve: {"operation": BASELINE_LABELS[curve], **_json(stats)}
                for curve, stats in baseline.items()
            },
            "ciphersuites": {
                suite.key: {
                    "id": suite.ciphersuite.id,
                    "name": suite.name,
                    "baseline_curve": suite.curve,
                    "taptweaked_keys": suite.tweaked,
                }
                for suite in SUITES
            },
            "signing": {
                key: {
                    policy: {op: _json(s, base_ms[curve_of[key]]) for op, s in ops.items()}
                    for policy, ops in policies.items()
                }
                for key, policies in signing.items()
            },
            "dkg": {
                key: {
                    _key(t, n): {
                        "total": _json(whole),
                        "per_party": _json(per_party, base_ms[curve_of[key]]),
                    }
                }
                for key, (whole, per_party) in dkg_stats.items()
            },
            "reference": {
                "source": REFERENCE_SOURCE,
                "ciphersuite": "secp256k1",
                "figures_ms": REFERENCE_MS,
                "target_ratio": REFERENCE_TARGET_RATIO,
                "comparisons": reference_json,
            },
            "total_seconds": round(elapsed, 2),
        }

    return finish(wall_start, args.json, results)


if __name__ == "__main__":
    raise SystemExit(main())
