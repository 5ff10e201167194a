"""In-process presigning and signing runs for tests (all signers in one process)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from mpc.ecdsa import presign
from mpc.ecdsa.aux_info import AuxInfoSecret, generate_aux_info
from mpc.ecdsa.keys import additive_share, public_shares
from mpc.ecdsa.params import FAST_TESTS
from mpc.ecdsa.presign import Peer, Presignature, PresignContext
from mpc.frost import FROST_SECP256K1, Identifier, KeyShare, PublicKeyPackage
from mpc.group import Secp256k1Element
from tests.helpers.ceremony import run_dkg
from tests.helpers.rng import DeterministicRng
from tests.helpers.suites import PARTIES
from tests.helpers.vectors import VECTORS


def test_primes(bits: int) -> list[int]:
    data = json.loads((VECTORS / "ecdsa-safe-primes.json").read_text())
    return [int(p, 16) for p in data["primes"][str(bits)]]


@dataclass(frozen=True)
class Setup:
    ids: dict[str, Identifier]
    key_shares: dict[str, KeyShare]
    public: PublicKeyPackage
    aux: dict[str, AuxInfoSecret]
    peers_all: dict[str, tuple[Any, Any]]


@cache
def setup() -> Setup:
    """A 3-of-6 DKG (FROST secp256k1 shares) and 2048-bit aux info for all six parties."""
    ids = {p: Identifier.derive(FROST_SECP256K1, p.encode()) for p in PARTIES}
    shares, public = run_dkg(FROST_SECP256K1, list(ids.values()), 3, DeterministicRng("ecdsa"))
    key_shares = {p: shares[ids[p]] for p in PARTIES}
    primes = test_primes(1024)
    aux = {}
    publics = {}
    for n, party in enumerate(PARTIES):
        secret, pub = generate_aux_info(
            party, FAST_TESTS, primes=(primes[2 * n], primes[2 * n + 1]), session_id=b"aux-test"
        )
        aux[party] = secret
        publics[party] = (pub.paillier_public_key, pub.ring_pedersen)
    return Setup(ids, key_shares, public, aux, publics)


def context_for(signers: Sequence[str], session: bytes = b"presign-session") -> PresignContext:
    s = setup()
    W = public_shares(s.public, {p: s.ids[p] for p in signers})
    key = s.public.verifying_key
    assert isinstance(key, Secp256k1Element)
    peers = {
        p: Peer(paillier=s.peers_all[p][0], ring_pedersen=s.peers_all[p][1], public_share=W[p])
        for p in signers
    }
    return PresignContext(session, tuple(signers), peers, key, FAST_TESTS)


Tamper = Callable[[str, Any], Any]


def run_presign(
    signers: Sequence[str], session: bytes = b"presign-session", tamper: Tamper | None = None
) -> dict[str, Presignature]:
    """All three rounds for every signer; ``tamper(stage, message)`` may alter messages."""
    context, states3, _, _, b3, d3 = run_rounds(signers, session, tamper)
    result = {}
    for p in signers:
        others = [j for j in signers if j != p]
        result[p] = presign.finish(
            context, states3[p], {j: b3[j] for j in others}, {j: d3[(j, p)] for j in others}
        )
    return result


def run_rounds(
    signers: Sequence[str], session: bytes = b"presign-session", tamper: Tamper | None = None
):
    """Rounds 1-3 for every signer: (context, round-3 states, b1, d2, b3, d3)."""
    s = setup()
    context = context_for(signers, session)
    ids = [s.ids[p] for p in signers]
    t = tamper or (lambda stage, message: message)
    states1: dict[str, Any] = {}
    b1: dict[str, Any] = {}
    d1: dict[Any, Any] = {}
    for p in signers:
        state, broadcast, direct = presign.round1(
            context, p, additive_share(s.key_shares[p], ids), s.aux[p].paillier
        )
        states1[p], b1[p] = state, t("b1", broadcast)
        for j, message in direct.items():
            d1[(p, j)] = t("d1", message)
    states2: dict[str, Any] = {}
    d2: dict[Any, Any] = {}
    for p in signers:
        others = [j for j in signers if j != p]
        state2, direct2 = presign.round2(
            context, states1[p], {j: b1[j] for j in others}, {j: d1[(j, p)] for j in others}
        )
        states2[p] = state2
        for j, message2 in direct2.items():
            d2[(p, j)] = t("d2", message2)
    states3: dict[str, Any] = {}
    b3: dict[str, Any] = {}
    d3: dict[Any, Any] = {}
    for p in signers:
        others = [j for j in signers if j != p]
        state3, broadcast3, direct3 = presign.round3(
            context, states2[p], {j: d2[(j, p)] for j in others}
        )
        states3[p], b3[p] = state3, t("b3", broadcast3)
        for j, message3 in direct3.items():
            d3[(p, j)] = t("d3", message3)
    return context, states3, b1, d2, b3, d3
