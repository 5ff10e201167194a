"""Threshold-ECDSA benchmark: auxiliary information, presigning and signing, next to FROST.

Run from the repository root::

    .venv/bin/python bench/ecdsa.py                   # full run (several minutes)
    .venv/bin/python bench/ecdsa.py --quick           # fewer runs (about two minutes)
    .venv/bin/python bench/ecdsa.py --modulus 2048    # the weaker, configurable modulus size
    .venv/bin/python bench/ecdsa.py --temporal        # also end to end through Temporal
    .venv/bin/python bench/ecdsa.py --json            # the tables, then one JSON object last

Everything runs in this process on the mpc.ecdsa code (CGGMP21 proofs in the GG20 message
flow), at the production modulus (3072-bit Paillier moduli, ``PRODUCTION``) unless
``--modulus 2048`` is given:

1. auxiliary information per party: fresh safe primes (OpenSSL's generator), drawn until
   two of them give an N of exactly the configured size; then the Paillier and
   ring-Pedersen keys with Π_mod and Π_prm (``generate_aux_info`` with those primes), every
   other party's ``verify_aux_info``, and Π_fac proved and verified per ordered pair of
   parties. In --quick mode one party's primes are timed; the other signers' primes are
   generated afterwards in worker processes, untimed, to save time.
2. presigning, 3 signers of a 3-of-5 key (one DKG over FROST(secp256k1, SHA-256), the key
   both protocols share): all three rounds and the output step of every signer, computed in
   turn in this process. Each signer's calls are timed, so besides the total there are the
   per-signer average (total / 3), the slowest signer's own work, and the critical path if
   the signers ran in parallel (per round, the slowest signer; no network).
3. online signing: one signer's ``sign_share`` and the coordinator's ``combine`` (which
   checks every share, and verifies the signature with libsecp256k1). A presignature is
   single-use in production; here, on a throwaway key, each of the presignatures made in
   step 2 is first used once for a timed end-to-end signature, then signs many more random
   digests to time the arithmetic (which does not depend on reuse).
4. FROST(secp256k1, SHA-256) 3-of-5 on the same DKG key, timed as bench/frost.py does:
   round1 (commit), round2 (sign), aggregate (which verifies); and the reference figures:
   GG20 p95 300 ms in the system we replace, cggmp21 (Rust, 3072-bit) presigning in about
   2.7 s.
5. with ``--temporal``: the real system on this machine (as bench/ceremony.py starts it,
   with the workers' modulus size set through QUORATE_ECDSA_MODULUS_BITS). After the party
   workers have filled their background safe-prime pools (they would otherwise compete with
   what is timed), the SetupEcdsa workflow (every party's aux info, if this build has that
   step), a 3-of-5 ``ecdsa-secp256k1`` wallet, N sequential ``SignWorkflow`` runs with no
   presignature ready (presigning inline), then, if this build has the Presign workflow,
   the pool filled and N more runs on pooled presignatures; and N runs on a BIP340 (FROST)
   wallet. Client start to result. If this build refuses ECDSA wallets or signing, it
   says so (a workflow whose activity keeps failing is abandoned) and the rest stands.

Every ECDSA signature is verified afterwards, outside the timed region, with libsecp256k1
(coincurve) alone: low s, ``PublicKey.verify`` and public-key recovery from the recovery id.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

_BENCH = Path(__file__).resolve().parent
_ROOT = _BENCH.parent

# The shared helpers come from this directory, which Python puts on the path for a script.
# Then, as this file is named like the PyPI ``ecdsa`` package, the directory leaves the
# import path, so that no library that tries ``import ecdsa`` gets this script instead.
from _common import (  # noqa: E402
    GcPaused,
    environment,
    free_ports,
    note,
    package_version,
    percentile,
    print_logs,
    table,
    wait_until_idle,
)

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import gmpy2  # noqa: E402
from coincurve import PublicKey, PublicKeyXOnly  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import (  # noqa: E402
    decode_dss_signature,
    encode_dss_signature,
)

from mpc.ecdsa import presign  # noqa: E402
from mpc.ecdsa.aux_info import (  # noqa: E402
    AuxInfoPublic,
    AuxInfoSecret,
    FacProof,
    check_distinct,
    generate_aux_info,
    prove_no_small_factors,
    verify_aux_info,
    verify_no_small_factors,
)
from mpc.ecdsa.keys import additive_share, public_shares  # noqa: E402
from mpc.ecdsa.params import PRODUCTION, SecurityParameters  # noqa: E402
from mpc.ecdsa.presign import Peer, Presignature, PresignContext  # noqa: E402
from mpc.ecdsa.primes import generate_safe_prime, is_safe_prime  # noqa: E402
from mpc.ecdsa.sign import SignatureShare, combine, sign_share  # noqa: E402
from mpc.ecdsa.signature import EcdsaSignature  # noqa: E402
from mpc.frost import (  # noqa: E402
    FROST_SECP256K1,
    Identifier,
    KeyShare,
    PublicKeyPackage,
    SigningPackage,
    aggregate,
    commit,
    dkg,
    sign,
)
from mpc.group import SECP256K1, Secp256k1Element  # noqa: E402
from mpc.group.secp256k1 import ORDER as Q  # noqa: E402

if TYPE_CHECKING:
    from temporalio.api.failure.v1 import Failure
    from temporalio.client import Client

    from activities.models import CreateWalletResult, SignResult

# -- configuration -------------------------------------------------------------------------

PARTIES: tuple[str, ...] = ("us-1", "us-2", "eu-1", "eu-2", "apac-1")  # the 3-of-5 key
THRESHOLD = 3
SIGNERS: tuple[str, ...] = PARTIES[:THRESHOLD]
AUX_SESSION = b"bench/ecdsa/aux-info"
PRESIGN_STEPS: tuple[str, ...] = ("round1", "round2", "round3", "finish")
FROST_OPERATIONS: tuple[str, ...] = ("round1", "round2", "aggregate")

# The system we replace (end-to-end signing latency) and the Rust CGGMP21 implementation.
REFERENCE_GG20_P95_MS = 300.0
REFERENCE_CGGMP21_PRESIGN_MS = 2700.0
REFERENCE_TEXT = (
    "GG20 p95 300 ms in the system we replace; cggmp21 (Rust, 3072-bit) presigns in about 2.7 s"
)
MODULUS_BITS_ENV = "QUORATE_ECDSA_MODULUS_BITS"  # what the party workers read
MAX_PRESIGN_BATCH = 100  # presignatures per Presign workflow (PresignInput.count)


@dataclass(frozen=True)
class BenchSettings:
    mode: str
    prime_parties: int  # parties whose two safe primes are generated and timed here
    aux_parties: int  # parties with aux info (every ordered pair verifies and runs Π_fac)
    presign_runs: int
    presign_warmup: int
    sign_runs: int
    sign_warmup: int
    frost_runs: int
    frost_warmup: int
    temporal_runs: int
    temporal_warmup: int


def settings_for(args: argparse.Namespace) -> BenchSettings:
    if args.quick:
        settings = BenchSettings("quick", 1, 3, 2, 1, 200, 20, 200, 20, 5, 1)
    else:
        settings = BenchSettings("full", 5, 5, 10, 1, 2000, 100, 2000, 50, 20, 2)
    overrides = {
        "presign_runs": args.runs,
        "sign_runs": args.sign_runs,
        "temporal_runs": args.temporal_runs,
    }
    values = {k: v for k, v in overrides.items() if v is not None}
    if args.prime_parties is not None:
        values["prime_parties"] = args.prime_parties
        values["aux_parties"] = max(settings.aux_parties, args.prime_parties)
    return BenchSettings(**{**settings.__dict__, **values})


def security_parameters(bits: int) -> SecurityParameters:
    return PRODUCTION if bits == PRODUCTION.modulus_bits else SecurityParameters(modulus_bits=bits)


# -- statistics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    median_ms: float
    p95_ms: float
    min_ms: float
    max_ms: float
    runs: int

    @classmethod
    def from_ns(cls, samples: Sequence[int | float], divisor: int = 1) -> Stats:
        if not samples:
            raise ValueError("no samples")
        ms = sorted(s / divisor / 1e6 for s in samples)
        return cls(statistics.median(ms), percentile(ms, 95), ms[0], ms[-1], len(ms))

    @classmethod
    def from_seconds(cls, samples: Sequence[float]) -> Stats:
        return cls.from_ns([s * 1e9 for s in samples])

    def as_json(self) -> dict[str, float | int]:
        return {
            "median_ms": round(self.median_ms, 4),
            "p95_ms": round(self.p95_ms, 4),
            "min_ms": round(self.min_ms, 4),
            "max_ms": round(self.max_ms, 4),
            "runs": self.runs,
        }


# -- keys: one DKG, two protocols ----------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    ids: dict[str, Identifier]
    shares: dict[str, KeyShare]
    public: PublicKeyPackage
    public_key: Secp256k1Element
    public_key_bytes: bytes  # compressed SEC1


def run_dkg() -> Keys:
    """A dealerless 3-of-5 DKG over FROST(secp256k1, SHA-256), every party in turn."""
    ids = {p: Identifier.derive(FROST_SECP256K1, p.encode()) for p in PARTIES}
    order = [ids[p] for p in PARTIES]
    n = len(order)
    round1 = [dkg.part1(FROST_SECP256K1, i, n, THRESHOLD) for i in order]
    round2 = [
        dkg.part2(secret, [pkg for j, (_, pkg) in enumerate(round1) if j != k])
        for k, (secret, _) in enumerate(round1)
    ]
    outputs = [
        dkg.part3(secret, [shares[order[k]] for j, (_, shares) in enumerate(round2) if j != k])
        for k, (secret, _) in enumerate(round2)
    ]
    public = outputs[0][1]
    for _, other in outputs[1:]:
        if other.verifying_key != public.verifying_key:
            raise RuntimeError("DKG parties disagree on the group key")
    key = public.verifying_key
    if not isinstance(key, Secp256k1Element):
        raise TypeError("ECDSA keys are secp256k1 keys")
    return Keys(
        ids,
        {p: share for p, (share, _) in zip(PARTIES, outputs, strict=True)},
        public,
        key,
        SECP256K1.serialize_element(key),
    )


# -- 1. auxiliary information --------------------------------------------------------------


@dataclass(frozen=True)
class PrimePair:
    p: int
    q: int
    seconds: float  # until two of the draws give an N of exactly the configured size
    draws: tuple[float, ...]  # seconds per generate_safe_prime call

    @property
    def first_two(self) -> float:
        """Two safe primes, whatever their product's size."""
        return sum(self.draws[:2])


def party_primes(params: SecurityParameters) -> PrimePair:
    """Safe primes drawn one at a time (each timed) until two of them multiply to exactly
    ``params.modulus_bits`` bits; module-level so that worker processes can run it too.

    Not generate_aux_info's own procedure without primes, which keeps the first prime p
    and redraws q: for a p just above 2^(bits-1) almost no q gives a full-size N, so that
    can take tens of draws (minutes at 1536 bits). Pairing any two draws needs about 2.6.
    """
    clock = time.perf_counter
    draws: list[float] = []
    found: list[int] = []
    start = clock()
    while True:
        began = clock()
        found.append(generate_safe_prime(params.prime_bits))
        draws.append(clock() - began)
        pairs = pair_up(found, 1, params)
        if pairs:
            p, q = pairs[0]
            return PrimePair(p, q, clock() - start, tuple(draws))


def pair_up(primes: Sequence[int], count: int, params: SecurityParameters) -> list[tuple[int, int]]:
    """Up to ``count`` disjoint pairs of distinct primes whose product has exactly
    ``params.modulus_bits`` bits (two pointers over the sorted primes: the most pairs)."""
    values = sorted(set(primes))
    bound = 1 << (params.modulus_bits - 1)
    pairs: list[tuple[int, int]] = []
    low, high = 0, len(values) - 1
    while low < high and len(pairs) < count:
        if values[low] * values[high] >= bound:
            pairs.append((values[high], values[low]))
            high -= 1
        low += 1
    return pairs


def untimed_prime_pairs(
    params: SecurityParameters, count: int, workers: int
) -> list[tuple[int, int]]:
    """``count`` prime pairs from independent draws in ``workers`` processes, kept busy
    until enough draws pair up; the workers are terminated as soon as they do."""
    found: list[int] = []
    with multiprocessing.Pool(workers) as pool:  # __exit__ terminates the workers
        inflight = [
            pool.apply_async(generate_safe_prime, (params.prime_bits,)) for _ in range(workers)
        ]
        while len(pairs := pair_up(found, count, params)) < count:
            inflight[0].wait(0.1)
            for result in [r for r in inflight if r.ready()]:
                inflight.remove(result)
                found.append(result.get())
                inflight.append(pool.apply_async(generate_safe_prime, (params.prime_bits,)))
        pool.terminate()
        pool.join()
    return pairs


@dataclass
class AuxResults:
    primes: dict[str, PrimePair]  # timed parties only
    untimed_prime_seconds: float  # wall time of the parallel, untimed generation (quick)
    secrets: dict[str, AuxInfoSecret]
    publics: dict[str, AuxInfoPublic]
    generate: list[float] = field(default_factory=list)  # generate_aux_info with primes
    recheck: list[float] = field(default_factory=list)  # its is_safe_prime checks, alone
    verify: list[float] = field(default_factory=list)  # verify_aux_info, per (verifier, peer)
    fac_prove: list[float] = field(default_factory=list)
    fac_verify: list[float] = field(default_factory=list)


def measure_aux_info(params: SecurityParameters, settings: BenchSettings) -> AuxResults:
    parties = PARTIES[: settings.aux_parties]
    timed = parties[: settings.prime_parties]
    primes: dict[str, PrimePair] = {}
    pairs: dict[str, tuple[int, int]] = {}
    for party in timed:
        note(f"{party}: two {params.prime_bits}-bit safe primes (timed)")
        pair = party_primes(params)
        primes[party] = pair
        pairs[party] = (pair.p, pair.q)
        note(f"{party}: {pair.seconds:.1f} s, {len(pair.draws)} draws")

    untimed = [p for p in parties if p not in pairs]
    untimed_seconds = 0.0
    if untimed:
        workers = max(1, min(2 * len(untimed), len(os.sched_getaffinity(0))))
        note(
            f"{', '.join(untimed)}: safe primes in {workers} worker processes (untimed, "
            "only needed to presign)"
        )
        start = time.perf_counter()
        drawn = untimed_prime_pairs(params, len(untimed), workers)
        pairs.update(zip(untimed, drawn, strict=True))
        untimed_seconds = time.perf_counter() - start

    clock = time.perf_counter
    results = AuxResults(primes, untimed_seconds, {}, {})
    note(f"aux info for {len(parties)} parties: Π_mod + Π_prm, verification, Π_fac")
    with GcPaused():
        for party in parties:
            p, q = pairs[party]
            start = clock()
            secret, public = generate_aux_info(party, params, primes=(p, q), session_id=AUX_SESSION)
            results.generate.append(clock() - start)
            start = clock()
            if not (is_safe_prime(p) and is_safe_prime(q)):
                raise RuntimeError("not a safe prime")
            results.recheck.append(clock() - start)
            results.secrets[party], results.publics[party] = secret, public
        for verifier in parties:
            for prover in parties:
                if prover != verifier:
                    start = clock()
                    verify_aux_info(results.publics[prover], prover, params, AUX_SESSION)
                    results.verify.append(clock() - start)
        check_distinct(list(results.publics.values()))
        for prover in parties:
            for verifier in parties:
                if prover == verifier:
                    continue
                start = clock()
                proof: FacProof = prove_no_small_factors(
                    results.secrets[prover],
                    results.publics[verifier],
                    AUX_SESSION,
                    prover,
                    verifier,
                    params=params,
                )
                results.fac_prove.append(clock() - start)
                start = clock()
                verify_no_small_factors(
                    proof,
                    results.publics[prover],
                    results.publics[verifier],
                    AUX_SESSION,
                    prover,
                    verifier,
                    params=params,
                )
                results.fac_verify.append(clock() - start)
    return results


# -- 2. presigning, 3. online signing ------------------------------------------------------


@dataclass(frozen=True)
class EcdsaSetup:
    params: SecurityParameters
    keys: Keys
    signers: tuple[str, ...]
    additive: dict[str, int]  # w_i = λ_i·x_i over the signer set
    peers: dict[str, Peer]
    aux: dict[str, AuxInfoSecret]

    def context(self, session: bytes) -> PresignContext:
        return PresignContext(session, self.signers, self.peers, self.keys.public_key, self.params)


def ecdsa_setup(params: SecurityParameters, keys: Keys, aux: AuxResults) -> EcdsaSetup:
    ids = [keys.ids[p] for p in SIGNERS]
    W = public_shares(keys.public, {p: keys.ids[p] for p in SIGNERS})
    peers = {
        p: Peer(
            paillier=aux.publics[p].paillier_public_key,
            ring_pedersen=aux.publics[p].ring_pedersen,
            public_share=W[p],
        )
        for p in SIGNERS
    }
    additive = {p: additive_share(keys.shares[p], ids) for p in SIGNERS}
    return EcdsaSetup(params, keys, SIGNERS, additive, peers, {p: aux.secrets[p] for p in SIGNERS})


@dataclass(frozen=True)
class PresignRun:
    presignatures: dict[str, Presignature]
    wall_ns: int
    steps_ns: dict[str, dict[str, int]]  # step -> signer -> ns

    def signer_ns(self, party: str) -> int:
        return sum(self.steps_ns[step][party] for step in PRESIGN_STEPS)

    def slowest_signer_ns(self) -> int:
        return max(self.signer_ns(p) for p in self.presignatures)

    def critical_path_ns(self) -> int:
        """If the signers ran in parallel: per step, wait for the slowest (no network)."""
        return sum(max(self.steps_ns[step].values()) for step in PRESIGN_STEPS)


def run_presign(setup: EcdsaSetup, session: bytes) -> PresignRun:
    """CGGMP21 Fig. 7 for every signer in turn, each signer's calls timed separately."""
    context = setup.context(session)
    signers = setup.signers
    clock = time.perf_counter_ns
    steps: dict[str, dict[str, int]] = {step: {} for step in PRESIGN_STEPS}
    wall = clock()

    states1: dict[str, presign.Round1State] = {}
    b1: dict[str, presign.Round1Broadcast] = {}
    d1: dict[tuple[str, str], presign.Round1Direct] = {}
    for p in signers:
        start = clock()
        state1, broadcast1, direct1 = presign.round1(
            context, p, setup.additive[p], setup.aux[p].paillier
        )
        steps["round1"][p] = clock() - start
        states1[p], b1[p] = state1, broadcast1
        for j, message1 in direct1.items():
            d1[(p, j)] = message1

    states2: dict[str, presign.Round2State] = {}
    d2: dict[tuple[str, str], presign.Round2Direct] = {}
    for p in signers:
        others = context.others(p)
        start = clock()
        state2, direct2 = presign.round2(
            context, states1[p], {j: b1[j] for j in others}, {j: d1[(j, p)] for j in others}
        )
        steps["round2"][p] = clock() - start
        states2[p] = state2
        for j, message2 in direct2.items():
            d2[(p, j)] = message2

    states3: dict[str, presign.Round3State] = {}
    b3: dict[str, presign.Round3Broadcast] = {}
    d3: dict[tuple[str, str], presign.Round3Direct] = {}
    for p in signers:
        others = context.others(p)
        start = clock()
        state3, broadcast3, direct3 = presign.round3(
            context, states2[p], {j: d2[(j, p)] for j in others}
        )
        steps["round3"][p] = clock() - start
        states3[p], b3[p] = state3, broadcast3
        for j, message3 in direct3.items():
            d3[(p, j)] = message3

    result: dict[str, Presignature] = {}
    for p in signers:
        others = context.others(p)
        start = clock()
        result[p] = presign.finish(
            context, states3[p], {j: b3[j] for j in others}, {j: d3[(j, p)] for j in others}
        )
        steps["finish"][p] = clock() - start
    wall_ns = clock() - wall

    first = result[signers[0]]
    for p in signers[1:]:
        if result[p].R != first.R or dict(result[p].R_shares) != dict(first.R_shares):
            raise RuntimeError("the signers disagree on the presignature")
    return PresignRun(result, wall_ns, steps)


@dataclass(frozen=True)
class Signed:
    digest: bytes
    signature: EcdsaSignature


def sign_once(
    setup: EcdsaSetup, presignatures: Mapping[str, Presignature], digest: bytes
) -> tuple[EcdsaSignature, dict[str, int], int]:
    """Every signer's share, then the coordinator's combine; (signature, share ns, combine ns)."""
    clock = time.perf_counter_ns
    shares: dict[str, SignatureShare] = {}
    share_ns: dict[str, int] = {}
    for p in setup.signers:
        start = clock()
        shares[p] = sign_share(presignatures[p], digest)
        share_ns[p] = clock() - start
    first = presignatures[setup.signers[0]]
    start = clock()
    signature = combine(first.R, first.R_shares, setup.keys.public_key, digest, shares)
    return signature, share_ns, clock() - start


@dataclass
class EcdsaResults:
    presign_runs: list[PresignRun]
    full_ns: list[int]  # presign wall + its single-use signing (3 shares + combine)
    first_use_online_ns: list[int]  # that signing alone
    sign_share_ns: list[int]
    combine_ns: list[int]
    signed: list[Signed]
    presignatures_made: int = 0


def measure_ecdsa(setup: EcdsaSetup, settings: BenchSettings) -> EcdsaResults:
    results = EcdsaResults([], [], [], [], [], [])
    total = settings.presign_warmup + settings.presign_runs
    run_tag = uuid.uuid4().hex[:8].encode()
    pool: list[dict[str, Presignature]] = []
    for run in range(total):
        measured = run >= settings.presign_warmup
        note(f"presign {run + 1}/{total}" + ("" if measured else " (warm-up)"))
        with GcPaused():
            presigned = run_presign(setup, b"bench/ecdsa/presign/" + run_tag + b"/%d" % run)
            digest = os.urandom(32)
            signature, share_ns, combine_ns = sign_once(setup, presigned.presignatures, digest)
        results.signed.append(Signed(digest, signature))
        pool.append(presigned.presignatures)
        results.presignatures_made += 1
        if measured:
            online = sum(share_ns.values()) + combine_ns
            results.presign_runs.append(presigned)
            results.first_use_online_ns.append(online)
            results.full_ns.append(presigned.wall_ns + online)

    note(f"online signing x {settings.sign_runs} on {len(pool)} presignatures")
    with GcPaused():
        for run in range(settings.sign_warmup + settings.sign_runs):
            measured = run >= settings.sign_warmup
            timed = setup.signers[run % len(setup.signers)]  # rotating, as bench/frost.py
            digest = os.urandom(32)
            signature, share_ns, combine_ns = sign_once(setup, pool[run % len(pool)], digest)
            if measured:
                results.sign_share_ns.append(share_ns[timed])
                results.combine_ns.append(combine_ns)
            results.signed.append(Signed(digest, signature))
    return results


def verify_with_libsecp256k1(
    public_key: bytes, digest: bytes, r: int, s: int, v: int | None
) -> None:
    """ECDSA verification by coincurve alone: low s, verify, and recovery of the key."""
    if not 0 < r < Q or not 0 < s <= Q // 2:
        raise RuntimeError("not a low-s ECDSA signature")
    if not PublicKey(public_key).verify(encode_dss_signature(r, s), digest, hasher=None):
        raise RuntimeError("libsecp256k1 rejected an ECDSA signature")
    if v is not None:
        rs = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        recovered = PublicKey.from_signature_and_message(rs + bytes([v]), digest, hasher=None)
        if recovered.format(compressed=True) != PublicKey(public_key).format(compressed=True):
            raise RuntimeError("the recovery id does not recover the public key")


def verify_all(keys: Keys, signed: Sequence[Signed]) -> int:
    for item in signed:
        sig = item.signature
        verify_with_libsecp256k1(keys.public_key_bytes, item.digest, sig.r, sig.s, sig.recovery_id)
    return len(signed)


# -- 4. FROST on the same key --------------------------------------------------------------


def measure_frost(keys: Keys, settings: BenchSettings) -> dict[str, list[int]]:
    """FROST(secp256k1, SHA-256) signing by the same 3 signers, timed as bench/frost.py."""
    shares = [keys.shares[p] for p in SIGNERS]
    samples: dict[str, list[int]] = {op: [] for op in FROST_OPERATIONS}
    clock = time.perf_counter_ns
    with GcPaused():
        for run in range(settings.frost_warmup + settings.frost_runs):
            measured = run >= settings.frost_warmup
            timed = run % len(shares)
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
            package = SigningPackage(FROST_SECP256K1, commitments, message)
            signature_shares = []
            for k, share in enumerate(shares):
                start = clock()
                signature_share = sign(package, nonces[k], share)
                elapsed = clock() - start
                if k == timed and measured:
                    samples["round2"].append(elapsed)
                signature_shares.append(signature_share)
            start = clock()
            aggregate(package, signature_shares, keys.public)  # verifies the signature
            elapsed = clock() - start
            if measured:
                samples["aggregate"].append(elapsed)
    return samples


# -- 5. end to end through Temporal ----------------------------------------------------------

ResultT = TypeVar("ResultT")


class Unavailable(Exception):  # noqa: N818 - a state, reported, not an error of ours
    """ECDSA through Temporal cannot be measured with this build; the text says why."""


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
    policy: str = f"{THRESHOLD}-of-{len(PARTIES)}"  # as the created wallets report it


def bip86_output_key(group_public_key: bytes) -> bytes:
    """The BIP86 (no script tree) taproot output key, computed with libsecp256k1 alone."""
    x = group_public_key[-32:]
    tag = hashlib.sha256(b"TapTweak").digest()
    tweak = hashlib.sha256(tag + tag + x).digest()
    return PublicKey(b"\x02" + x).add(tweak).format(compressed=True)[1:]


def verify_temporal_ecdsa(wallet: CreateWalletResult, digest: bytes, result: SignResult) -> None:
    """A SignWorkflow ECDSA result: r || s (64 bytes, recovery id alongside), r || s || v,
    or DER; checked against the wallet's key by libsecp256k1 alone."""
    if bytes.fromhex(result.message) != digest:
        raise RuntimeError(f"{result.ceremony_id}: the result is for another message")
    wallet_key = PublicKey(bytes.fromhex(wallet.group_public_key)).format(compressed=True)
    if PublicKey(bytes.fromhex(result.public_key)).format(compressed=True) != wallet_key:
        raise RuntimeError(f"{result.ceremony_id}: signed with another key")
    raw = bytes.fromhex(result.signature)
    v: int | None = getattr(result, "recovery_id", None)
    if len(raw) in (64, 65):
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big")
        if len(raw) == 65:
            v = raw[64]
    else:
        r, s = decode_dss_signature(raw)
    verify_with_libsecp256k1(wallet_key, digest, r, s, v)


def verify_temporal_bip340(wallet: CreateWalletResult, message: bytes, result: SignResult) -> None:
    key = bip86_output_key(bytes.fromhex(wallet.group_public_key))
    if bytes.fromhex(result.message) != message or bytes.fromhex(result.public_key) != key:
        raise RuntimeError(f"{result.ceremony_id}: unexpected message or key")
    if not PublicKeyXOnly(key).verify(bytes.fromhex(result.signature), message):
        raise RuntimeError(f"{result.ceremony_id}: libsecp256k1 rejected the signature")


async def _failure_text(client: Client, failure: Failure) -> str:
    """A failure's message, decoded (Quorate's codec encrypts failure attributes)."""
    copy = type(failure)()
    copy.CopyFrom(failure)
    try:
        text = str(await client.data_converter.decode_failure(copy))
    except Exception:
        text = failure.message
    lines = text.strip().splitlines()
    return lines[-1][:300] if lines else "no message"


async def _stuck(client: Client, workflow_id: str) -> str | None:
    """Why a running workflow cannot progress, if it cannot: its workflow task or one of
    its activities has failed 3 times or more (a build without the ECDSA path, or one
    caught mid-edit, retries such failures until a deadline or forever)."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        described = (await handle.describe()).raw_description
    except Exception:  # not started yet, or a transient error
        return None
    for pending in described.pending_activities:
        if pending.attempt >= 3 and pending.HasField("last_failure"):
            message = await _failure_text(client, pending.last_failure)
            return (
                f"activity {pending.activity_type.name} keeps failing (attempt "
                f"{pending.attempt}): {message}"
            )
    if described.HasField("pending_workflow_task"):
        attempt = described.pending_workflow_task.attempt
        if attempt >= 3:
            message = "no failure recorded"
            with contextlib.suppress(Exception):
                async for event in handle.fetch_history_events():
                    if event.HasField("workflow_task_failed_event_attributes"):
                        failure = event.workflow_task_failed_event_attributes.failure
                        message = await _failure_text(client, failure)
            return (
                f"the workflow task of {workflow_id} keeps failing (attempt {attempt}): {message}"
            )
    return None


async def watched(
    client: Client, workflow_id: str, call: Awaitable[ResultT], timeout: float
) -> ResultT:
    """``call`` (a workflow run through quorate.client), abandoned (and the workflow
    terminated) if it exceeds ``timeout`` or is stuck (see :func:`_stuck`)."""
    task = asyncio.ensure_future(call)
    deadline = time.perf_counter() + timeout
    reason: str | None = None
    try:
        while reason is None:
            done, _ = await asyncio.wait({task}, timeout=2.0)
            if done:
                return task.result()
            if time.perf_counter() > deadline:
                reason = f"{workflow_id} did not complete within {timeout:.0f} s"
            else:
                reason = await _stuck(client, workflow_id)
    finally:
        if not task.done():
            task.cancel()
    with contextlib.suppress(Exception):  # already closed
        await client.get_workflow_handle(workflow_id).terminate(reason="bench: abandoned")
    raise Unavailable(reason)


async def measure_temporal(
    params: SecurityParameters, settings: BenchSettings, data_dir: Path, timeout: float
) -> TemporalResults:
    # Imported here: the in-process figures need none of the system's modules.
    from pydantic import ValidationError

    import activities.models as models
    import quorate.client as quorate_client
    from activities.models import CreateWalletInput, SignInput
    from quorate.client import CeremonyFailed, create_wallet
    from runtime.settings import Settings
    from workers.runner import LocalTopology

    # Optional steps of the ECDSA path, looked up by name: a build without them still runs
    # (and then says what it could not measure).
    setup_ecdsa: Any = getattr(quorate_client, "setup_ecdsa", None)
    setup_input: Any = getattr(models, "EcdsaSetupInput", None)
    presign_fn: Any = getattr(quorate_client, "presign", None)
    presign_input: Any = getattr(models, "PresignInput", None)

    temporal_port, ui_port = free_ports(2)
    system = Settings(data_dir=data_dir, temporal_port=temporal_port, temporal_ui_port=ui_port)
    os.environ[MODULUS_BITS_ENV] = str(params.modulus_bits)  # inherited by the workers
    topology = LocalTopology(system)
    note("starting the Temporal dev server and one worker process per party + coordinator")
    started = time.perf_counter()
    try:
        await topology.start()
        results = TemporalResults(time.perf_counter() - started)
        assert topology.client is not None  # noqa: S101 - start() sets it
        client = topology.client
        pids = [w.process.pid for w in topology.workers.values() if w.process is not None]
        run = uuid.uuid4().hex[:8]
        counter = 0

        def key(kind: str) -> str:
            nonlocal counter
            counter += 1
            return f"bench-ecdsa-{run}-{kind}-{counter}"

        async def idle(why: str) -> None:
            note(f"waiting for the workers to go idle ({why})")
            results.idle_waits.append(await wait_until_idle(pids, timeout))

        # The 3-of-5 policy: the topology's primaries (the reference one has five, and a
        # backup that would make wallets 3-of-6 by default).
        assert topology.topology is not None  # noqa: S101 - start() sets it
        primaries = tuple(p.id for p in topology.topology.primaries)[: len(PARTIES)]

        async def new_wallet(scheme: str) -> tuple[CreateWalletResult, float]:
            wallet_id = f"bench-{scheme}-{run}"
            request = CreateWalletInput.model_validate(
                {
                    "wallet_id": wallet_id,
                    "scheme": scheme,
                    "parties": primaries,
                    "threshold": THRESHOLD,
                }
            )
            workflow_id = f"{wallet_id}-create"
            start = time.perf_counter()
            wallet = await watched(
                client, workflow_id, create_wallet(client, request, workflow_id), timeout
            )
            return wallet, time.perf_counter() - start

        async def sign_one(wallet: CreateWalletResult, message: bytes) -> tuple[SignResult, float]:
            request = SignInput(wallet_id=wallet.wallet_id, message=message.hex())
            workflow_id = key("sign")
            start = time.perf_counter()
            result = await watched(
                client, workflow_id, quorate_client.sign(client, request, workflow_id), timeout
            )
            return result, time.perf_counter() - start

        async def sequential(
            label: str,
            wallet: CreateWalletResult,
            check: Callable[[CreateWalletResult, bytes, SignResult], None],
        ) -> Stats:
            note(f"SignWorkflow {label} x {settings.temporal_runs}, sequential")
            seconds: list[float] = []
            for i in range(settings.temporal_warmup + settings.temporal_runs):
                message = os.urandom(32)
                result, elapsed = await sign_one(wallet, message)
                check(wallet, message, result)  # after the clock stopped
                results.verified += 1
                if i >= settings.temporal_warmup:
                    seconds.append(elapsed)
            results.samples[label] = seconds
            return Stats.from_seconds(seconds)

        # The ECDSA path first: if this build refuses it, nothing else is worth measuring.
        try:
            await idle("safe-prime pools filling after start")
            if setup_ecdsa is not None and setup_input is not None:
                note("SetupEcdsa: every party's auxiliary information, cross-verified")
                workflow_id = key("setup")
                start = time.perf_counter()
                await watched(
                    client,
                    workflow_id,
                    setup_ecdsa(client, setup_input(session=f"bench-{run}"), workflow_id),
                    timeout,
                )
                results.setup_seconds = time.perf_counter() - start
                await idle("safe-prime pools refilling after the setup")
            else:
                results.notes.append("no SetupEcdsa step in this build")
            note("creating the 3-of-5 ecdsa-secp256k1 wallet")
            ecdsa_wallet, results.ecdsa_wallet_seconds = await new_wallet("ecdsa-secp256k1")
            results.policy = f"{ecdsa_wallet.threshold}-of-{len(ecdsa_wallet.parties)}"
            results.ecdsa_inline = await sequential(
                "ecdsa_inline_presign", ecdsa_wallet, verify_temporal_ecdsa
            )
        except (ValidationError, CeremonyFailed, Unavailable) as error:
            results.unavailable = f"{type(error).__name__}: {error}".splitlines()[0]
            return results

        if presign_fn is not None and presign_input is not None:
            count = settings.temporal_warmup + settings.temporal_runs
            note(f"Presign workflow: filling the wallet's pool with {count} presignatures")
            start = time.perf_counter()
            try:
                for offset in range(0, count, MAX_PRESIGN_BATCH):
                    workflow_id = key("presign")
                    batch = min(MAX_PRESIGN_BATCH, count - offset)
                    await watched(
                        client,
                        workflow_id,
                        presign_fn(
                            client,
                            presign_input(wallet_id=ecdsa_wallet.wallet_id, count=batch),
                            workflow_id,
                        ),
                        timeout,
                    )
            except (ValidationError, CeremonyFailed, Unavailable) as error:
                results.notes.append(f"presignature pool: {type(error).__name__}: {error}")
            else:
                results.pool_fill_seconds = time.perf_counter() - start
                results.pool_fill_count = count
                results.ecdsa_pooled = await sequential(
                    "ecdsa_pooled_presignature", ecdsa_wallet, verify_temporal_ecdsa
                )
        else:
            results.notes.append("no Presign workflow in this build: inline presigning only")

        note("creating the bip340 (FROST) wallet")
        frost_wallet, results.frost_wallet_seconds = await new_wallet("bip340")
        results.frost = await sequential("bip340", frost_wallet, verify_temporal_bip340)
        return results
    finally:
        note("stopping the topology")
        topology.stop()


def run_temporal(
    params: SecurityParameters, settings: BenchSettings, timeout: float, keep_data: bool
) -> TemporalResults:
    data_dir = Path(tempfile.mkdtemp(prefix="quorate-bench-ecdsa-"))
    try:
        return asyncio.run(measure_temporal(params, settings, data_dir, timeout))
    except BaseException:
        print_logs(data_dir)
        raise
    finally:
        if keep_data:
            print(f"Data directory kept: {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


# -- report --------------------------------------------------------------------------------


def _openssl() -> str:
    try:
        from cryptography.hazmat.backends.openssl import backend

        return str(backend.openssl_version_text())
    except Exception:  # informational only
        return "unknown"


def _print_table(
    title: str, header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1
) -> None:
    print(f"\n{title}")
    print(table(header, rows, text_columns))
    sys.stdout.flush()


def _fmt(ms: float) -> str:
    """Milliseconds with about four significant figures."""
    if ms >= 1000:
        return f"{ms:.0f}"
    if ms >= 100:
        return f"{ms:.1f}"
    if ms >= 10:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def _ratio(value: float) -> str:
    """Three significant figures, without an exponent."""
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}" if value >= 0.001 else f"{value:.2e}"


def _stats_row(label: str, stats: Stats) -> list[str]:
    return [label, _fmt(stats.median_ms), _fmt(stats.p95_ms), str(stats.runs)]


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

    def compare(label: str, ours: float, theirs: float, key: str) -> dict[str, Any]:
        return {
            "key": key,
            "comparison": label,
            "ecdsa_ms": round(ours, 4),
            "frost_ms": round(theirs, 4),
            "ratio": round(ours / theirs, 4),
        }

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
        return {
            "key": key,
            "comparison": label,
            "ours_ms": round(ours, 3),
            "reference_ms": theirs,
            "ratio": round(ours / theirs, 4),
        }

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
    )


def temporal_references(temporal: TemporalResults) -> list[dict[str, Any]]:
    rows = []
    for label, stats, key in (
        ("Temporal ECDSA, presigning inline", temporal.ecdsa_inline, "inline"),
        ("Temporal ECDSA, pooled presignature", temporal.ecdsa_pooled, "pooled"),
        ("Temporal FROST bip340", temporal.frost, "frost"),
    ):
        if stats is not None:
            rows.append(
                {
                    "key": f"temporal_{key}_vs_gg20",
                    "comparison": f"{label}, p95 / GG20 p95 300 ms",
                    "ours_ms": round(stats.p95_ms, 3),
                    "reference_ms": REFERENCE_GG20_P95_MS,
                    "ratio": round(stats.p95_ms / REFERENCE_GG20_P95_MS, 4),
                }
            )
    return rows


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
    _print_table(
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
    _print_table(
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
    _print_table(
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
    _print_table(
        f"4. FROST(secp256k1, SHA-256) {THRESHOLD}-of-{len(PARTIES)}, same process, same DKG key",
        STATS_HEADER,
        [
            _stats_row("round1 (commit), one signer", f["round1"]),
            _stats_row("round2 (sign), one signer", f["round2"]),
            _stats_row("aggregate (incl. verification)", f["aggregate"]),
        ],
    )
    _print_table(
        "ECDSA vs FROST (medians)",
        ["comparison", "ECDSA ms", "FROST ms", "ECDSA/FROST"],
        [
            [c["comparison"], _fmt(c["ecdsa_ms"]), _fmt(c["frost_ms"]), _ratio(c["ratio"]) + "x"]
            for c in report.comparisons
        ],
    )


def print_references(report: Report, params: SecurityParameters) -> None:
    bits = params.modulus_bits
    size_note = (
        "" if bits == 3072 else f" (ours at {bits} bits; the cggmp21 figure is at 3072 bits)"
    )
    _print_table(
        f"Reference: {REFERENCE_TEXT}{size_note}",
        ["ours", "ours ms", "reference ms", "ratio"],
        [
            [r["comparison"], _fmt(r["ours_ms"]), f"{r['reference_ms']:.0f}", _ratio(r["ratio"])]
            for r in report.references
        ],
    )


def print_temporal(temporal: TemporalResults | None) -> None:
    if temporal is None:
        return
    if temporal.unavailable is not None:
        print("\n5. ECDSA through Temporal: not available in this build")
        print(f"  ({temporal.unavailable})")
        return
    series = (
        ("Sign ecdsa-secp256k1, presigning inline", temporal.ecdsa_inline),
        ("Sign ecdsa-secp256k1, pooled presignature", temporal.ecdsa_pooled),
        ("Sign bip340 (FROST)", temporal.frost),
    )
    frost = temporal.frost
    rows: list[list[str]] = []
    for label, stats in series:
        if stats is None:
            continue
        rows.append(
            [
                label,
                _fmt(stats.median_ms),
                _fmt(stats.p95_ms),
                _fmt(stats.max_ms),
                str(stats.runs),
                f"{stats.p95_ms / REFERENCE_GG20_P95_MS:.2f}",
                _ratio(stats.median_ms / frost.median_ms) + "x" if frost else "-",
            ]
        )
    _print_table(
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


def _json_or_none(stats: Stats | None) -> dict[str, float | int] | None:
    return stats.as_json() if stats is not None else None


def results_json(
    report: Report,
    params: SecurityParameters,
    settings: BenchSettings,
    env: dict[str, Any],
    aux: AuxResults,
    verified: int,
    temporal: TemporalResults | None,
    temporal_requested: bool,
    elapsed: float,
) -> dict[str, Any]:
    temporal_json: dict[str, Any] | None = None
    if temporal_requested:
        temporal_json = {"available": temporal is not None and temporal.unavailable is None}
        if temporal is not None:
            temporal_json.update(
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
                    "ecdsa_inline_presign": _json_or_none(temporal.ecdsa_inline),
                    "ecdsa_pooled_presignature": _json_or_none(temporal.ecdsa_pooled),
                    "frost_bip340": _json_or_none(temporal.frost),
                    "samples_ms": {
                        label: [round(x * 1000, 1) for x in xs]
                        for label, xs in temporal.samples.items()
                    },
                    "signatures_verified": temporal.verified,
                    "notes": temporal.notes,
                }
            )
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
            **{k: s.as_json() for k, s in report.aux.items()},
            "timed_prime_parties": sorted(aux.primes),
            "prime_draws_per_party": {p: len(pair.draws) for p, pair in aux.primes.items()},
            "untimed_prime_seconds": round(aux.untimed_prime_seconds, 2),
            "party_total_ms_3_of_5": round(report.aux_party_total_ms, 1),
        },
        "presign": {
            **{k: s.as_json() for k, s in report.presign.items()},
            "steps_per_signer": {k: s.as_json() for k, s in report.presign_steps.items()},
        },
        "online": {k: s.as_json() for k, s in report.online.items()},
        "frost_secp256k1_3_of_5": {k: s.as_json() for k, s in report.frost.items()},
        "ecdsa_vs_frost": report.comparisons,
        "reference": {
            "text": REFERENCE_TEXT,
            "gg20_p95_ms": REFERENCE_GG20_P95_MS,
            "cggmp21_presign_ms": REFERENCE_CGGMP21_PRESIGN_MS,
            "comparisons": report.references,
        },
        "temporal": temporal_json,
        "signatures_verified": verified,
        "total_seconds": round(elapsed, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs (about two minutes)")
    parser.add_argument(
        "--json", action="store_true", help="also print every figure as one JSON object, last"
    )
    parser.add_argument(
        "--modulus",
        type=int,
        choices=(2048, 3072),
        default=PRODUCTION.modulus_bits,
        help="Paillier modulus size in bits (default 3072, the production size)",
    )
    parser.add_argument("--runs", type=int, help="presignatures measured (3 signers each)")
    parser.add_argument("--sign-runs", type=int, help="online signings measured")
    parser.add_argument(
        "--prime-parties", type=int, help="parties whose safe primes are generated and timed"
    )
    parser.add_argument(
        "--temporal", action="store_true", help="also sign end to end through Temporal"
    )
    parser.add_argument("--temporal-runs", type=int, help="sequential signings per scheme")
    parser.add_argument(
        "--temporal-timeout",
        type=float,
        default=900.0,
        help="seconds before one Temporal workflow is abandoned (default 900)",
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the Temporal run's data directory"
    )
    args = parser.parse_args(argv)
    if any(
        v is not None and v < 1
        for v in (args.runs, args.sign_runs, args.prime_parties, args.temporal_runs)
    ):
        parser.error("--runs, --sign-runs, --prime-parties and --temporal-runs must be >= 1")
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

    print(
        f"ECDSA benchmark | {env['python']} | {env['platform']} | {env['cpu']}, "
        f"{env['cores']} cores ({env['usable_cores']} usable), load "
        f"{'/'.join(str(x) for x in env['load_average'])} | {env['date']} | "
        f"gmpy2 {env['gmpy2']} ({env['gmp']}), coincurve {env['coincurve']}, cryptography "
        f"{env['cryptography']} ({env['openssl']}) | {params.modulus_bits}-bit Paillier moduli"
        f"{' (PRODUCTION)' if params == PRODUCTION else ''} | {settings.mode} mode"
    )
    print(
        "Single process, sequential, time.perf_counter(_ns), cyclic GC off while timing; "
        "median and p95 (nearest rank) in milliseconds.\nKeys from one real 3-of-5 DKG over "
        "FROST(secp256k1, SHA-256), shared by ECDSA and FROST; signers "
        f"{', '.join(SIGNERS)}.\nSafe primes: OpenSSL via `cryptography`, timed for "
        f"{settings.prime_parties} part{'y' if settings.prime_parties == 1 else 'ies'}; aux info "
        f"for {settings.aux_parties} parties, every ordered pair verified and Π_fac'd.\n"
        f"Presigning: {settings.presign_runs} runs after {settings.presign_warmup} warm-up; "
        f"online: {settings.sign_runs} runs after {settings.sign_warmup} warm-up (presignatures "
        "reused for timing only, on this throwaway key);\nFROST: "
        f"{settings.frost_runs} runs after {settings.frost_warmup} warm-up. Every ECDSA signature "
        "is verified afterwards with libsecp256k1 alone."
    )
    sys.stdout.flush()

    note("3-of-5 DKG (FROST secp256k1 shares, used by both protocols)")
    keys = run_dkg()
    aux = measure_aux_info(params, settings)
    setup = ecdsa_setup(params, keys, aux)
    ecdsa = measure_ecdsa(setup, settings)
    verified = verify_all(keys, ecdsa.signed)
    note(f"FROST round1/round2/aggregate x {settings.frost_runs}")
    frost_ns = measure_frost(keys, settings)

    report = build_report(aux, ecdsa, frost_ns)
    print_report(report, params, aux, ecdsa, verified)

    temporal: TemporalResults | None = None
    if args.temporal:
        # A SIGTERM must still stop the topology's processes (finally blocks run on exit).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
        temporal = run_temporal(params, settings, args.temporal_timeout, args.keep_data)
        print_temporal(temporal)
        if temporal.unavailable is None:
            report.references += temporal_references(temporal)
    print_references(report, params)
    elapsed = time.perf_counter() - wall_start
    print(f"\nTotal benchmark time: {elapsed:.1f} s")
    if args.json:
        print(
            json.dumps(
                results_json(
                    report,
                    params,
                    settings,
                    env,
                    aux,
                    verified,
                    temporal,
                    args.temporal,
                    elapsed,
                ),
                separators=(",", ":"),
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
