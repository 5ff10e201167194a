"""2. Presigning (CGGMP21 Fig. 7, every signer in turn, each signer's calls timed) and
3. online signing (``sign_share``, ``combine``) on the 3-of-5 key; and 4. FROST on the same
key, timed by bench.frost's own signing loop."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.frost import time_signing
from bench.report import GcPaused, note
from bench.signatures import verify_ecdsa
from bench.threshold_ecdsa.aux_info import AuxResults
from bench.threshold_ecdsa.config import (
    FROST_OPERATIONS,
    PRESIGN_STEPS,
    SIGNERS,
    BenchSettings,
    Keys,
)
from mpc.ecdsa import presign
from mpc.ecdsa.aux_info import AuxInfoSecret
from mpc.ecdsa.keys import additive_share, public_shares
from mpc.ecdsa.params import SecurityParameters
from mpc.ecdsa.presign import Peer, Presignature, PresignContext
from mpc.ecdsa.sign import SignatureShare, combine, sign_share
from mpc.ecdsa.signature import EcdsaSignature
from mpc.frost import FROST_SECP256K1


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
            timed = setup.signers[run % len(setup.signers)]  # rotating, as bench.frost does
            digest = os.urandom(32)
            signature, share_ns, combine_ns = sign_once(setup, pool[run % len(pool)], digest)
            if measured:
                results.sign_share_ns.append(share_ns[timed])
                results.combine_ns.append(combine_ns)
            results.signed.append(Signed(digest, signature))
    return results


def verify_all(keys: Keys, signed: Sequence[Signed]) -> int:
    """Every ECDSA signature made, checked by libsecp256k1 alone; how many."""
    for item in signed:
        sig = item.signature
        verify_ecdsa(keys.public_key_bytes, item.digest, sig.r, sig.s, sig.recovery_id)
    return len(signed)


def measure_frost(keys: Keys, settings: BenchSettings) -> dict[str, list[int]]:
    """FROST(secp256k1, SHA-256) signing by the same 3 signers, timed as bench.frost does."""
    return time_signing(
        FROST_SECP256K1,
        [keys.shares[p] for p in SIGNERS],
        keys.public,
        runs=settings.frost_runs,
        warmup=settings.frost_warmup,
        operations=FROST_OPERATIONS,
    )
