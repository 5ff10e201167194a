"""1. Auxiliary information per party: safe primes, Paillier and ring-Pedersen keys with
Π_mod and Π_prm, every other party's verification, and Π_fac per ordered pair."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.report import GcPaused, note
from bench.threshold_ecdsa.config import AUX_SESSION, PARTIES, BenchSettings
from mpc.ecdsa.aux_info import (
    AuxInfoPublic,
    AuxInfoSecret,
    FacProof,
    check_distinct,
    generate_aux_info,
    prove_no_small_factors,
    verify_aux_info,
    verify_no_small_factors,
)
from mpc.ecdsa.params import SecurityParameters
from mpc.ecdsa.primes import generate_safe_prime, is_safe_prime


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
                names = (AUX_SESSION, prover, verifier)
                prover_public, verifier_public = results.publics[prover], results.publics[verifier]
                start = clock()
                proof: FacProof = prove_no_small_factors(
                    results.secrets[prover], verifier_public, *names, params=params
                )
                results.fac_prove.append(clock() - start)
                start = clock()
                verify_no_small_factors(
                    proof, prover_public, verifier_public, *names, params=params
                )
                results.fac_verify.append(clock() - start)
    return results
