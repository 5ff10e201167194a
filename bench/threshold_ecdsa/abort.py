"""5. The abort paths, on each measured presignature: what it costs to name a cheater.

δ identification (GG20 §4.2, after a failed δ check in presigning): one signer broadcasts
δ_i + 1; every signer's ``open_delta``, then ``identify_delta_culprits`` on the public
transcript, which must name exactly that signer.

χ identification (after a failed ΣS_i check in signing, :mod:`mpc.ecdsa.identify`): one
signer sends S_i + R with the matching σ_i + r, ``combine`` raises ChiCheckFailed; every
signer's ``prove_chi`` (Π_mul*, Π_aff-g per D̂ it sent and Π_log*, to every other signer),
then ``identify_chi_culprits``, which must name exactly that signer. The presignatures have
already signed once (``prove_chi`` runs on consumed ones, as it must).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mpc.ecdsa.aux_info import AuxInfoSecret
from mpc.ecdsa.errors import ChiCheckFailed
from mpc.ecdsa.identify import (
    identify_chi_culprits,
    identify_delta_culprits,
    open_delta,
    prove_chi,
)
from mpc.ecdsa.sign import SignatureShare, combine
from mpc.group.secp256k1 import ORDER as Q

if TYPE_CHECKING:
    from bench.threshold_ecdsa.signing import PresignRun


@dataclass
class AbortResults:
    delta_open_ns: list[int] = field(default_factory=list)  # one signer's open_delta
    delta_identify_ns: list[int] = field(default_factory=list)
    delta_total_ns: list[int] = field(default_factory=list)  # every open + identify
    chi_prove_ns: list[int] = field(default_factory=list)  # one signer's prove_chi
    chi_identify_ns: list[int] = field(default_factory=list)
    chi_total_ns: list[int] = field(default_factory=list)  # every prove_chi + identify


def measure_abort(
    results: AbortResults,
    aux: Mapping[str, AuxInfoSecret],
    run: PresignRun,
    digest: bytes,
    signed: Mapping[str, SignatureShare],
    cheater: str,
) -> None:
    """Both identifications once on ``run``, whose presignatures made the shares
    ``signed`` of ``digest``."""
    clock = time.perf_counter_ns
    context, transcript = run.context, run.transcript
    signers = context.signers

    # δ: the cheater's broadcast δ_i is off by one.
    broadcasts3 = dict(run.broadcasts3)
    lie = broadcasts3[cheater]
    broadcasts3[cheater] = dataclasses.replace(lie, delta=(lie.delta + 1) % Q)
    openings = {}
    total = 0
    for party in signers:
        start = clock()
        openings[party] = open_delta(context, run.states3[party])
        elapsed = clock() - start
        results.delta_open_ns.append(elapsed)
        total += elapsed
    start = clock()
    named = identify_delta_culprits(context, transcript, broadcasts3, openings)
    elapsed = clock() - start
    results.delta_identify_ns.append(elapsed)
    results.delta_total_ns.append(total + elapsed)
    if named != [cheater]:
        raise RuntimeError(f"the δ identification named {named}, not {cheater}")

    # χ: the cheater's S_i is off by R, with the σ_i that matches it.
    presignatures = run.presignatures
    first = presignatures[signers[0]]
    shares = dict(signed)
    r = int.from_bytes(first.R.x_only(), "big") % Q
    forged = shares[cheater]
    shares[cheater] = dataclasses.replace(
        forged, sigma=(forged.sigma + r) % Q, S=forged.S + first.R
    )
    key = context.public_key
    try:
        combine(first.R, first.R_shares, key, digest, shares)
    except ChiCheckFailed:
        pass
    else:
        raise RuntimeError("a forged S_i went through combine")
    identifications = {}
    total = 0
    for party in signers:
        # Every signer proves for the S_i it computed (the cheater for its true one: the
        # identifier checks against the S_i it sent, so that proof fails).
        start = clock()
        identifications[party] = prove_chi(
            context, presignatures[party], aux[party].paillier, transcript, signed[party].S
        )
        elapsed = clock() - start
        results.chi_prove_ns.append(elapsed)
        total += elapsed
    start = clock()
    named = identify_chi_culprits(context, transcript, first.R, shares, identifications)
    elapsed = clock() - start
    results.chi_identify_ns.append(elapsed)
    results.chi_total_ns.append(total + elapsed)
    if named != [cheater]:
        raise RuntimeError(f"the χ identification named {named}, not {cheater}")
