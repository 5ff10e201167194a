"""2. Presigning (CGGMP21 Fig. 7, every signer in turn, each signer's calls timed, with the
relay's transcript and each signer's check of it timed apart: the cost of keeping what the
identifications need) and 3. online signing (``sign_share``, ``combine``) on the 3-of-5
key; and 4. FROST on the same key, timed by bench.frost's own signing loop. The abort paths
(δ and χ identification) are timed by :mod:`.abort` on the same presignatures."""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bench.frost import time_signing
from bench.report import GcPaused, note
from bench.signatures import verify_ecdsa
from bench.threshold_ecdsa.abort import AbortResults, measure_abort
from bench.threshold_ecdsa.aux_info import AuxResults
from bench.threshold_ecdsa.config import (
    FROST_OPERATIONS,
    PRESIGN_STEPS,
    SIGNERS,
    BenchSettings,
    Keys,
)
from mpc.ecdsa import codec, presign
from mpc.ecdsa.aux_info import AuxInfoSecret
from mpc.ecdsa.keys import additive_share, public_shares
from mpc.ecdsa.params import SecurityParameters
from mpc.ecdsa.presign import Peer, Presignature, PresignContext
from mpc.ecdsa.sign import SignatureShare, combine, sign_share
from mpc.ecdsa.signature import EcdsaSignature
from mpc.frost import FROST_SECP256K1
from mpc.group import SECP256K1
from mpc.group.secp256k1 import ORDER as Q


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
    relay_ns: int  # the relay building the PresignTranscript (presign_transcript)
    # Per signer, what finish spends on the transcript: verify_transcript + digest(),
    # timed again apart, on the same inputs, right after that signer's finish.
    transcript_ns: dict[str, int]
    # The public and per-signer data the abort paths run on.
    context: PresignContext = field(repr=False)
    transcript: presign.PresignTranscript = field(repr=False)
    states3: dict[str, presign.Round3State] = field(repr=False)
    broadcasts3: dict[str, presign.Round3Broadcast] = field(repr=False)

    def signer_ns(self, party: str) -> int:
        return sum(self.steps_ns[step][party] for step in PRESIGN_STEPS)

    def slowest_signer_ns(self) -> int:
        return max(self.signer_ns(p) for p in self.presignatures)

    def critical_path_ns(self) -> int:
        """If the signers ran in parallel: per step, wait for the slowest (no network)."""
        return sum(max(self.steps_ns[step].values()) for step in PRESIGN_STEPS)

    def retention_ns(self) -> int:
        """What keeping the transcript costs in all: the relay's build and every check."""
        return self.relay_ns + sum(self.transcript_ns.values())

    def before_wall_ns(self) -> int:
        """The same presigning without the transcript (the protocol before it was kept)."""
        return self.wall_ns - self.retention_ns()

    def before_signer_ns(self, party: str) -> int:
        return self.signer_ns(party) - self.transcript_ns[party]


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

    # The relay (the coordinator) builds the transcript from what it forwarded.
    start = clock()
    transcript = presign.presign_transcript(context, b1, d2)
    relay_ns = clock() - start

    result: dict[str, Presignature] = {}
    transcript_ns: dict[str, int] = {}
    for p in signers:
        others = context.others(p)
        start = clock()
        result[p] = presign.finish(
            context,
            states3[p],
            {j: b3[j] for j in others},
            {j: d3[(j, p)] for j in others},
            transcript,
        )
        steps["finish"][p] = clock() - start
        # Outside the wall clock: what of that finish was the transcript's (its check and
        # its digest), for the "before" figures.
        paused = clock()
        presign.verify_transcript(context, states3[p], transcript)
        transcript.digest()
        transcript_ns[p] = clock() - paused
        wall += clock() - paused
    wall_ns = clock() - wall

    first = result[signers[0]]
    for p in signers[1:]:
        if (result[p].R, dict(result[p].R_shares), result[p].transcript_digest) != (
            first.R,
            dict(first.R_shares),
            first.transcript_digest,
        ):
            raise RuntimeError("the signers disagree on the presignature")
    return PresignRun(
        result, wall_ns, steps, relay_ns, transcript_ns, context, transcript, states3, b3
    )


@dataclass(frozen=True)
class Signed:
    digest: bytes
    signature: EcdsaSignature


def sign_once(
    setup: EcdsaSetup, presignatures: Mapping[str, Presignature], digest: bytes
) -> tuple[EcdsaSignature, dict[str, int], int, dict[str, SignatureShare]]:
    """Every signer's share, then the coordinator's combine; (signature, share ns, combine
    ns, the shares)."""
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
    return signature, share_ns, clock() - start, shares


def rerandomized(
    presignatures: Mapping[str, Presignature], rng: Callable[[int], bytes] = os.urandom
) -> dict[str, Presignature]:
    """FOR THIS BENCHMARK'S THROWAWAY KEY ONLY: fresh (k_i, χ_i) with the same sums.

    Adds to the k_i, and to the χ_i, random offsets that sum to zero, and moves
    R_i = k_i·R with them: the shares still make a valid signature under R, and
    ``sign_share`` sees a presignature it has not consumed. On a real key this would be
    reuse of R (two signatures under one R reveal the key); here it only lets the online
    loop time sign_share and combine many times on few presignatures.
    """
    signers = list(presignatures)
    first = presignatures[signers[0]]

    def offsets() -> list[int]:
        head = [SECP256K1.random_nonzero_scalar(rng).value for _ in signers[1:]]
        return [-sum(head) % Q, *head]

    dk, dchi = offsets(), offsets()
    R_shares = {
        p: first.R_shares[p] + first.R * SECP256K1.scalar(d)
        for p, d in zip(signers, dk, strict=True)
    }
    return {
        p: dataclasses.replace(
            presignatures[p],
            k=(presignatures[p].k + a) % Q,
            chi=(presignatures[p].chi + b) % Q,
            R_shares=R_shares,
        )
        for p, a, b in zip(signers, dk, dchi, strict=True)
    }


@dataclass
class EcdsaResults:
    presign_runs: list[PresignRun]
    full_ns: list[int]  # presign wall + its single-use signing (3 shares + combine)
    first_use_online_ns: list[int]  # that signing alone
    sign_share_ns: list[int]
    combine_ns: list[int]
    signed: list[Signed]
    presignatures_made: int = 0
    abort: AbortResults = field(default_factory=AbortResults)
    presignature_bytes: int = 0  # one encoded Presignature (what the vault keeps)
    presignature_witness_bytes: int = 0  # of which the χ witness and the digest


def _encoded_sizes(presignature: Presignature) -> tuple[int, int]:
    """The codec size of a presignature, and how much of it the χ identification adds
    (key_conversions, ρ_i, w_i, the transcript digest)."""
    full = len(codec.encode(presignature))
    bare = dataclasses.replace(presignature, rho=0, w=0, key_conversions={}, transcript_digest="")
    return full, full - len(codec.encode(bare))


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
            signature, share_ns, combine_ns, shares = sign_once(
                setup, presigned.presignatures, digest
            )
        results.signed.append(Signed(digest, signature))
        pool.append(presigned.presignatures)
        results.presignatures_made += 1
        if measured:
            online = sum(share_ns.values()) + combine_ns
            results.presign_runs.append(presigned)
            results.first_use_online_ns.append(online)
            results.full_ns.append(presigned.wall_ns + online)
            cheater = setup.signers[run % len(setup.signers)]
            note(
                f"abort paths on presignature {run + 1}: δ and χ identification ({cheater} cheats)"
            )
            measure_abort(results.abort, setup.aux, presigned, digest, shares, cheater)
    first = pool[0][setup.signers[0]]
    results.presignature_bytes, results.presignature_witness_bytes = _encoded_sizes(first)

    note(f"online signing x {settings.sign_runs} on {len(pool)} presignatures")
    with GcPaused():
        for run in range(settings.sign_warmup + settings.sign_runs):
            measured = run >= settings.sign_warmup
            timed = setup.signers[run % len(setup.signers)]  # rotating, as bench.frost does
            digest = os.urandom(32)
            fresh = rerandomized(pool[run % len(pool)])
            signature, share_ns, combine_ns, _ = sign_once(setup, fresh, digest)
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
