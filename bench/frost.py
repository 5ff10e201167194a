"""FROST benchmark: per-operation timings of signing and DKG for every ciphersuite.

Run from the repository root::

    .venv/bin/python bench/frost.py            # full run (a few minutes at most)
    .venv/bin/python bench/frost.py --quick    # fewer runs (well under a minute)
    .venv/bin/python bench/frost.py --json     # the table, then one JSON object as the last line

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
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from _common import GcPaused, environment, package_version, percentile, table  # noqa: E402
from coincurve import PrivateKey  # noqa: E402
from nacl import bindings as sodium  # noqa: E402

from mpc.frost import (  # noqa: E402
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
from mpc.frost.taproot import tweak_key_share, tweak_public_key_package  # noqa: E402

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
        settings = Settings(
            settings.mode,
            args.runs,
            settings.signing_warmup,
            settings.dkg_runs,
            settings.dkg_warmup,
            settings.baseline_runs,
            settings.baseline_warmup,
        )
    if args.dkg_runs is not None:
        settings = Settings(
            settings.mode,
            settings.signing_runs,
            settings.signing_warmup,
            args.dkg_runs,
            settings.dkg_warmup,
            settings.baseline_runs,
            settings.baseline_warmup,
        )
    return settings


# -- statistics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    median_ms: float
    p95_ms: float
    runs: int

    @classmethod
    def from_ns(cls, samples: Sequence[int], divisor: int = 1) -> Stats:
        if not samples:
            raise ValueError("no samples")
        ms = sorted(s / divisor / 1e6 for s in samples)
        return cls(statistics.median(ms), percentile(ms, 95), len(ms))

    def as_json(self, baseline_ms: float | None = None) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            "median_ms": round(self.median_ms, 5),
            "p95_ms": round(self.p95_ms, 5),
            "runs": self.runs,
        }
        if baseline_ms is not None:
            out["median_x_baseline"] = round(self.median_ms / baseline_ms, 2)
        return out


# -- baseline ------------------------------------------------------------------------------


def _time_calls(call: Callable[[int], object], runs: int, warmup: int) -> list[int]:
    for i in range(warmup):
        call(i)
    samples: list[int] = []
    clock = time.perf_counter_ns
    with GcPaused():
        for i in range(runs):
            start = clock()
            call(i)
            samples.append(clock() - start)
    return samples


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
        "secp256k1": Stats.from_ns(_time_calls(secp_mul, runs, warmup)),
        "ed25519": Stats.from_ns(_time_calls(ed_mul, runs, warmup)),
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
    samples: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(settings.dkg_warmup):
        check_dkg(run_dkg(suite.ciphersuite, ids, t))
    with GcPaused():
        for _ in range(settings.dkg_runs):
            start = clock()
            outputs = run_dkg(suite.ciphersuite, ids, t)
            samples.append(clock() - start)
            check_dkg(outputs)
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


def measure_signing(suite: Suite, t: int, n: int, settings: Settings) -> dict[str, list[int]]:
    cs = suite.ciphersuite
    shares, public = signing_keys(suite, t, n)
    samples: dict[str, list[int]] = {op: [] for op in OPERATIONS}
    clock = time.perf_counter_ns
    total = settings.signing_warmup + settings.signing_runs
    with GcPaused():
        for run in range(total):
            measured = run >= settings.signing_warmup
            timed = run % t  # the signer whose rounds are timed, rotating over the set
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

            package = SigningPackage(cs, commitments, message)
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

            start = clock()
            cs.verify(message, signature, public.verifying_key)
            elapsed = clock() - start
            if measured:
                samples["verify"].append(elapsed)
    return samples


# -- report --------------------------------------------------------------------------------


def _policy(t: int, n: int) -> str:
    return f"{t}-of-{n}"


def _key(t: int, n: int) -> str:
    return f"{t}_of_{n}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs (under a minute)")
    parser.add_argument(
        "--json", action="store_true", help="also print every figure as one JSON object, last"
    )
    parser.add_argument("--runs", type=int, help="signing sessions measured per suite and policy")
    parser.add_argument("--dkg-runs", type=int, help="whole DKGs measured per suite")
    args = parser.parse_args(argv)
    if any(value is not None and value < 1 for value in (args.runs, args.dkg_runs)):
        parser.error("--runs and --dkg-runs must be at least 1")
    settings = settings_for(args)
    env = environment(coincurve=package_version("coincurve"), pynacl=package_version("PyNaCl"))
    wall_start = time.perf_counter()

    print(
        f"FROST benchmark | {env['python']} | {env['platform']} | {env['cpu']}, "
        f"{env['cores']} cores ({env['usable_cores']} usable) | {env['date']} | "
        f"coincurve {env['coincurve']}, PyNaCl {env['pynacl']} | {settings.mode} mode"
    )
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
    print("\nBaseline: one variable-base point multiplication, same process")
    print(
        table(
            ["curve", "operation", "median ms", "p95 ms", "runs"],
            [
                [
                    curve,
                    BASELINE_LABELS[curve],
                    f"{stats.median_ms:.4f}",
                    f"{stats.p95_ms:.4f}",
                    str(stats.runs),
                ]
                for curve, stats in baseline.items()
            ],
            text_columns=2,
        )
    )
    sys.stdout.flush()

    signing: dict[str, dict[str, dict[str, Stats]]] = {}
    rows: list[list[str]] = []
    for suite in SUITES:
        signing[suite.key] = {}
        for t, n in SIGNING_POLICIES:
            raw = measure_signing(suite, t, n, settings)
            stats = {op: Stats.from_ns(raw[op]) for op in OPERATIONS}
            signing[suite.key][_key(t, n)] = stats
            for op in OPERATIONS:
                s = stats[op]
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
    print("\nSigning: time per operation")
    signing_table = table(
        ["ciphersuite", "policy", "operation", "median ms", "p95 ms", "runs", "x base"],
        rows,
        text_columns=3,
    ).split("\n")
    # A blank line between suite/policy groups keeps the table readable.
    lines = signing_table[:2]
    for i, line in enumerate(signing_table[2:]):
        if i and i % len(OPERATIONS) == 0:
            lines.append("")
        lines.append(line)
    print("\n".join(lines))
    sys.stdout.flush()

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
    print(
        f"\nDKG {_policy(t, n)}: all {n} parties' part1+part2+part3 in turn; per party = total/{n}"
    )
    print(
        table(
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
    )

    ours = signing["secp256k1"]
    comparisons = [
        ("round2", "3_of_5", "2_of_3", True),
        ("aggregate", "3_of_5", "2_of_3", True),
        ("round1", "3_of_5", "2_of_3", False),
        ("round2", "7_of_10", "7_of_10", False),
        ("aggregate", "7_of_10", "7_of_10", False),
    ]
    ref_rows: list[list[str]] = []
    reference_json: list[dict[str, Any]] = []
    for op, our_policy, ref_policy, targeted in comparisons:
        ref = REFERENCE_MS[ref_policy][op]
        mine = ours[our_policy][op].median_ms
        ratio = mine / ref
        verdict = (
            ("within target" if ratio <= REFERENCE_TARGET_RATIO else "OVER TARGET")
            if targeted
            else "(informational)"
        )
        ref_rows.append(
            [
                op,
                f"ours {our_policy.replace('_', '-')} vs ZF {ref_policy.replace('_', '-')}",
                f"{mine:.3f}",
                f"{ref:.2f}",
                f"{ratio:.1f}x",
                verdict,
            ]
        )
        reference_json.append(
            {
                "operation": op,
                "ours_policy": our_policy,
                "reference_policy": ref_policy,
                "ours_median_ms": round(mine, 5),
                "reference_ms": ref,
                "ratio": round(ratio, 2),
                "targeted": targeted,
                "within_target": ratio <= REFERENCE_TARGET_RATIO if targeted else None,
            }
        )
    print(
        f"\nReference: {REFERENCE_SOURCE}, FROST(secp256k1, SHA-256);\n"
        f"  target: our 3-of-5 within {REFERENCE_TARGET_RATIO:.0f}x of its 2-of-3 "
        "(different machine and language: compare 'x base' for hardware-independent figures)"
    )
    print(
        table(
            ["operation", "comparison", "ours ms", "ZF ms", "ratio", "verdict"],
            ref_rows,
            text_columns=2,
        )
    )

    elapsed = time.perf_counter() - wall_start
    print(f"\nTotal benchmark time: {elapsed:.1f} s")

    if args.json:
        result: dict[str, Any] = {
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
                curve: {"operation": BASELINE_LABELS[curve], **stats.as_json()}
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
                suite_key: {
                    policy: {
                        op: s.as_json(base_ms[_suite_curve(suite_key)]) for op, s in ops.items()
                    }
                    for policy, ops in policies.items()
                }
                for suite_key, policies in signing.items()
            },
            "dkg": {
                suite_key: {
                    _key(t, n): {
                        "total": whole.as_json(),
                        "per_party": per_party.as_json(base_ms[_suite_curve(suite_key)]),
                    }
                }
                for suite_key, (whole, per_party) in dkg_stats.items()
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
        print(json.dumps(result, separators=(",", ":")))
    return 0


def _suite_curve(key: str) -> str:
    return next(suite.curve for suite in SUITES if suite.key == key)


if __name__ == "__main__":
    raise SystemExit(main())
