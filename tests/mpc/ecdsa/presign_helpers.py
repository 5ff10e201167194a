"""In-process presigning and signing runs for tests (all signers in one process)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from mpc.ecdsa import presign
from mpc.ecdsa.aux_info import AuxInfoSecret, generate_aux_info
from mpc.ecdsa.keys import additive_share, public_shares
from mpc.ecdsa.paillier import PaillierSecretKey
from mpc.ecdsa.params import FAST_TESTS
from mpc.ecdsa.presign import Peer, Presignature, PresignContext, PresignTranscript
from mpc.ecdsa.sign import SignatureShare, sign_share
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
def aux_info() -> tuple[dict[str, AuxInfoSecret], dict[str, tuple[Any, Any]]]:
    """2048-bit aux info for all six parties, from the committed test primes."""
    primes = test_primes(1024)
    aux = {}
    publics = {}
    for n, party in enumerate(PARTIES):
        secret, pub = generate_aux_info(
            party, FAST_TESTS, primes=(primes[2 * n], primes[2 * n + 1]), session_id=b"aux-test"
        )
        aux[party] = secret
        publics[party] = (pub.paillier_public_key, pub.ring_pedersen)
    return aux, publics


@cache
def setup() -> Setup:
    """A 3-of-6 DKG (FROST secp256k1 shares) and 2048-bit aux info for all six parties."""
    return _setup(PARTIES, 3)


# The parties of the 2-of-5 key, over which any 2 to 4 signers can sign.
FIVE = PARTIES[:5]


@cache
def setup_2_of_5() -> Setup:
    """A 2-of-5 DKG over the first five parties, with the same aux info."""
    return _setup(FIVE, 2)


def _setup(parties: Sequence[str], threshold: int) -> Setup:
    ids = {p: Identifier.derive(FROST_SECP256K1, p.encode()) for p in parties}
    seed = "ecdsa" if threshold == 3 else f"ecdsa/{threshold}-of-{len(parties)}"
    shares, public = run_dkg(FROST_SECP256K1, list(ids.values()), threshold, DeterministicRng(seed))
    key_shares = {p: shares[ids[p]] for p in parties}
    aux, publics = aux_info()
    return Setup(
        ids,
        key_shares,
        public,
        {p: aux[p] for p in parties},
        {p: publics[p] for p in parties},
    )


def context_for(
    signers: Sequence[str], session: bytes = b"presign-session", key: Setup | None = None
) -> PresignContext:
    s = key or setup()
    W = public_shares(s.public, {p: s.ids[p] for p in signers})
    public_key = s.public.verifying_key
    assert isinstance(public_key, Secp256k1Element)
    peers = {
        p: Peer(paillier=s.peers_all[p][0], ring_pedersen=s.peers_all[p][1], public_share=W[p])
        for p in signers
    }
    return PresignContext(session, tuple(signers), peers, public_key, FAST_TESTS)


Tamper = Callable[[str, Any], Any]


def run_presign(
    signers: Sequence[str],
    session: bytes = b"presign-session",
    tamper: Tamper | None = None,
    key: Setup | None = None,
) -> dict[str, Presignature]:
    """All three rounds for every signer; ``tamper(stage, message)`` may alter messages."""
    return finish_all(*run_rounds(signers, session, tamper, key))


def finish_all(
    context: PresignContext,
    states3: dict[str, Any],
    b1: dict[str, Any],
    d2: dict[Any, Any],
    b3: dict[str, Any],
    d3: dict[Any, Any],
    transcript: PresignTranscript | None = None,
) -> dict[str, Presignature]:
    """``finish`` for every signer, with the relay's transcript (built from b1 and d2
    unless given)."""
    transcript = transcript or presign.presign_transcript(context, b1, d2)
    result = {}
    for p in context.signers:
        others = context.others(p)
        result[p] = presign.finish(
            context,
            states3[p],
            {j: b3[j] for j in others},
            {j: d3[(j, p)] for j in others},
            transcript,
        )
    return result


def run_rounds(
    signers: Sequence[str],
    session: bytes = b"presign-session",
    tamper: Tamper | None = None,
    key: Setup | None = None,
    round2: Callable[..., Any] | None = None,
    round3: Callable[..., Any] | None = None,
):
    """Rounds 1-3 for every signer: (context, round-3 states, b1, d2, b3, d3).

    ``round2(party, state2, out)`` and ``round3(party, context, state2, direct)`` let a test
    make one signer deviate in its own computation (rather than in transit).
    """
    s = key or setup()
    context = context_for(signers, session, s)
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
        if round2 is not None:
            state2, direct2 = round2(p, state2, direct2)
        states2[p] = state2
        for j, message2 in direct2.items():
            d2[(p, j)] = t("d2", message2)
    states3: dict[str, Any] = {}
    b3: dict[str, Any] = {}
    d3: dict[Any, Any] = {}
    for p in signers:
        others = [j for j in signers if j != p]
        run3 = round3 or (lambda _party, *args: presign.round3(*args))
        state3, broadcast3, direct3 = run3(p, context, states2[p], {j: d2[(j, p)] for j in others})
        states3[p], b3[p] = state3, t("b3", broadcast3)
        for j, message3 in direct3.items():
            d3[(p, j)] = t("d3", message3)
    return context, states3, b1, d2, b3, d3


DIGEST = hashlib.sha256(b"identification tests").digest()


@dataclass(frozen=True)
class Presigned:
    """One honest presigning of the 2-of-5 key, signed once (the shares of ``DIGEST``)."""

    context: PresignContext
    states3: dict[str, Any]
    b1: dict[str, Any]
    d2: dict[Any, Any]
    b3: dict[str, Any]
    d3: dict[Any, Any]
    transcript: PresignTranscript
    presignatures: dict[str, Presignature]
    shares: dict[str, SignatureShare]

    @property
    def R(self) -> Secp256k1Element:
        return self.presignatures[self.context.signers[0]].R

    def paillier(self, party: str) -> PaillierSecretKey:
        return setup_2_of_5().aux[party].paillier


@cache
def presigned(signers: tuple[str, ...]) -> Presigned:
    """An honest presigning by ``signers`` of the 2-of-5 key, cached for the session.

    The presignatures have signed ``DIGEST`` once (they are consumed): tests derive
    cheating shares from these and run the identifications, which work after signing.
    """
    key = setup_2_of_5()
    context, states3, b1, d2, b3, d3 = run_rounds(
        signers, b"presign/" + ",".join(signers).encode(), key=key
    )
    transcript = presign.presign_transcript(context, b1, d2)
    presignatures = finish_all(context, states3, b1, d2, b3, d3, transcript)
    shares = {p: sign_share(presignatures[p], DIGEST) for p in signers}
    return Presigned(context, states3, b1, d2, b3, d3, transcript, presignatures, shares)
