"""Threshold ECDSA presigning: CGGMP21 Fig. 7 (three rounds), message independent.

Each signer i holds an additive share w_i of the key (its Shamir share times its Lagrange
coefficient over the signer set) and its auxiliary information (Paillier key N_i and
ring-Pedersen parameters). The rounds follow the paper, in GG20's message flow:

1. k_i, γ_i ← F_q; K_i = enc_i(k_i), G_i = enc_i(γ_i); to each j a Π_enc proof that K_i
   encrypts a value in range, under j's ring-Pedersen parameters.
2. Γ_i = γ_i·G; for each j two multiplicative-to-additive conversions on j's K_j:
   D_{j,i} = γ_i ⊙ K_j ⊕ enc_j(β_{i,j}) (for k·γ) and D̂_{j,i} = w_i ⊙ K_j ⊕ enc_j(β̂_{i,j})
   (for k·x), each with a Π_aff-g proof, and a Π_log* proof that G_i and Γ_i hide the
   same γ_i.
3. δ_i = k_i·γ_i + Σ_j (α_{i,j} − β_{i,j}), χ_i = k_i·w_i + Σ_j (α̂_{i,j} − β̂_{i,j}),
   Δ_i = k_i·Γ with a Π_log* proof against K_i (base Γ).

Output: δ = Σ δ_j must satisfy δ·G = Σ Δ_j; then R = δ⁻¹·Γ = k⁻¹·G and the presignature
of i is (R, k_i, χ_i), with Σ k_i = k and Σ χ_i = k·x. Every failed proof names its
prover. If the δ check fails, the presignature is abandoned and GG20's identification is
run: the signers reveal their k_i, γ_i and the openings of the k·γ conversions (none of
which involve the key), and everyone recomputes each δ_i to name whoever lied.

The public transcript. Both identifications (the δ one here, the χ one of
:mod:`mpc.ecdsa.identify` after a failed ΣS_i check in signing) are computed from what a
relay saw: the round-1 ciphertexts K_j, G_j and every round-2 ciphertext D, F, D̂, F̂ of
every ordered pair (:class:`PresignTranscript`, built by :func:`presign_transcript`). Each
signer checks, in :func:`finish`, every part of it that it knows itself (what it
received in rounds 1 and 2 and what it sent in round 2), and its presignature keeps the
transcript's digest, with the witness the χ proofs need (w_i and, per peer, β̂, ŝ, r̂).
Two honest signers must be shown the same transcript: callers compare the digests of all
signers' presignatures, as they compare R.

Every Fiat–Shamir transcript starts from the session id (wallet, ceremony, attempt, signer
set, protocol) and then binds the proof's name, the prover and the verifier.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from mpc.ecdsa.errors import ConsistencyCheckFailed, InvalidParameters, InvalidProof
from mpc.ecdsa.paillier import PaillierPublicKey, PaillierSecretKey, random_signed, random_unit
from mpc.ecdsa.params import SecurityParameters
from mpc.ecdsa.ring_pedersen import RingPedersenParameters
from mpc.ecdsa.transcript import Transcript
from mpc.ecdsa.zk import aff_g, enc, log_star
from mpc.group import SECP256K1, Rng, Scalar, Secp256k1Element
from mpc.group.secp256k1 import ORDER as Q

DOMAIN = b"quorate/cggmp21/presign/v1"
TRANSCRIPT_DOMAIN: Final = b"quorate/cggmp21/presign-transcript/v1"


def _scalar(value: int) -> Scalar:
    return SECP256K1.scalar(value)


def _point(value: int) -> Secp256k1Element:
    return SECP256K1.base_mul(_scalar(value))


@dataclass(frozen=True, slots=True)
class Peer:
    """What a signer knows of another (or itself): verified aux info and its public share."""

    paillier: PaillierPublicKey
    ring_pedersen: RingPedersenParameters
    public_share: Secp256k1Element  # W_j = λ_j·X_j, the additive public share


@dataclass(frozen=True, slots=True)
class PresignContext:
    """The public setting of one presigning session, identical at every signer."""

    session_id: bytes
    signers: tuple[str, ...]
    peers: Mapping[str, Peer] = field(hash=False)
    public_key: Secp256k1Element
    params: SecurityParameters

    def __post_init__(self) -> None:
        if len(set(self.signers)) != len(self.signers) or len(self.signers) < 2:
            raise InvalidParameters("a signer set has at least two distinct parties")
        if set(self.peers) != set(self.signers):
            raise InvalidParameters("every signer needs verified aux info and a public share")
        total = SECP256K1.identity()
        for party in self.signers:
            total = total + self.peers[party].public_share
        if total != self.public_key:
            raise InvalidParameters("the signers' public shares do not add up to the key")

    def others(self, party: str) -> tuple[str, ...]:
        return tuple(p for p in self.signers if p != party)

    def transcript(self, proof: bytes, prover: str, verifier: str) -> Transcript:
        transcript = Transcript(DOMAIN, self.session_id)
        transcript.append_bytes(b"signers", "\x00".join(self.signers).encode())
        transcript.append_bytes(b"proof", proof)
        transcript.append_bytes(b"prover", prover.encode())
        transcript.append_bytes(b"verifier", verifier.encode())
        return transcript


# -- messages (public) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Round1Broadcast:
    sender: str
    K: int
    G: int


@dataclass(frozen=True, slots=True)
class Round1Direct:
    sender: str
    recipient: str
    enc_proof: enc.EncProof


@dataclass(frozen=True, slots=True)
class Round2Ciphertexts:
    """The four ciphertexts of one round-2 message from i to j (public once relayed).

    D = D_{j,i} and D̂ = D̂_{j,i} are under j's key (j decrypts α_{j,i}, α̂_{j,i}); F and
    F̂ = F̂_{i→j} encrypt β_{i,j} and β̂_{i,j} under i's own key.
    """

    D: int
    F: int
    D_hat: int
    F_hat: int


@dataclass(frozen=True, slots=True)
class Round2Direct:
    """To one recipient j: Γ_i and both conversions on K_j, with their proofs."""

    sender: str
    recipient: str
    Gamma: Secp256k1Element
    D: int
    F: int
    D_hat: int
    F_hat: int
    aff_g_gamma: aff_g.AffGProof
    aff_g_key: aff_g.AffGProof
    log_star_gamma: log_star.LogStarProof

    def ciphertexts(self) -> Round2Ciphertexts:
        return Round2Ciphertexts(self.D, self.F, self.D_hat, self.F_hat)


@dataclass(frozen=True, slots=True)
class Round3Broadcast:
    sender: str
    delta: int
    Delta: Secp256k1Element


@dataclass(frozen=True, slots=True)
class Round3Direct:
    sender: str
    recipient: str
    log_star_delta: log_star.LogStarProof


@dataclass(frozen=True, slots=True)
class DeltaOpening:
    """GG20 identification after a failed δ check: everything behind δ_i but the key."""

    sender: str
    k: int
    rho: int
    gamma: int
    nu: int
    # Per peer j: β_{i,j} and the randomness s_{i,j} of enc_j(β_{i,j}) inside D_{j,i}.
    betas: Mapping[str, tuple[int, int]]
    # Per peer j: α_{i,j} = dec_i(D_{i,j}) and the randomness of D_{i,j} under N_i.
    alphas: Mapping[str, tuple[int, int]]


def _put(hasher: hashlib._Hash, value: bytes) -> None:
    hasher.update(len(value).to_bytes(8, "big") + value)


def _put_int(hasher: hashlib._Hash, value: int) -> None:
    magnitude = abs(value)
    _put(
        hasher,
        (b"-" if value < 0 else b"+")
        + magnitude.to_bytes((magnitude.bit_length() + 7) // 8 or 1, "big"),
    )


@dataclass(frozen=True, slots=True)
class PresignTranscript:
    """What a relay saw of one presigning: the public input of both identifications.

    ``K[j]``, ``G[j]`` are signer j's round-1 ciphertexts; ``round2[i][j]`` the ciphertexts
    of the round-2 message from i to j. Built by :func:`presign_transcript`; every signer
    checks its own parts in :func:`finish`.
    """

    signers: tuple[str, ...]
    K: Mapping[str, int] = field(hash=False)
    G: Mapping[str, int] = field(hash=False)
    round2: Mapping[str, Mapping[str, Round2Ciphertexts]] = field(hash=False)
    # Each signer's (N_j, s_j, t_j), the modulus being its Paillier key too (CGGMP21 uses
    # one modulus for both): every signer checks them against the aux info it verified
    # itself, so whoever identifies a culprit later (the coordinator) uses the keys the
    # signers used, without a store of its own.
    aux: Mapping[str, RingPedersenParameters] = field(hash=False)

    def __post_init__(self) -> None:
        signers = set(self.signers)
        if len(signers) != len(self.signers) or len(signers) < 2:
            raise InvalidParameters("a transcript has at least two distinct signers")
        if set(self.K) != signers or set(self.G) != signers or set(self.round2) != signers:
            raise InvalidParameters("a transcript has K_j, G_j and round-2 messages per signer")
        if set(self.aux) != signers:
            raise InvalidParameters("a transcript has every signer's aux parameters")
        for sender, row in self.round2.items():
            if set(row) != signers - {sender}:
                raise InvalidParameters(f"the transcript lacks round-2 messages from {sender}")
        # Copies, so that a caller changing its dictionaries later cannot change the
        # transcript (and its digest) under a presignature that stored it.
        object.__setattr__(self, "K", dict(self.K))
        object.__setattr__(self, "G", dict(self.G))
        object.__setattr__(self, "round2", {i: dict(row) for i, row in self.round2.items()})
        object.__setattr__(self, "aux", dict(self.aux))

    def context(
        self,
        session_id: bytes,
        public_shares: Mapping[str, Secp256k1Element],
        public_key: Secp256k1Element,
        params: SecurityParameters,
    ) -> PresignContext:
        """The public context of the presigning this transcript records, for a party that
        was not a signer (the coordinator identifying a culprit): the signers' keys from
        the transcript, the public shares W_j from the wallet's key package."""
        peers = {
            p: Peer(PaillierPublicKey(self.aux[p].n), self.aux[p], public_shares[p])
            for p in self.signers
        }
        return PresignContext(session_id, self.signers, peers, public_key, params)

    def digest(self) -> bytes:
        """SHA-256 of the transcript: domain-separated, every value length-prefixed, in
        the signers' order (so equal transcripts, and only they, hash alike)."""
        hasher = hashlib.sha256()
        _put(hasher, TRANSCRIPT_DOMAIN)
        _put_int(hasher, len(self.signers))
        for party in self.signers:
            _put(hasher, party.encode())
        for party in self.signers:
            _put_int(hasher, self.K[party])
            _put_int(hasher, self.G[party])
        for party in self.signers:
            for value in (self.aux[party].n, self.aux[party].s, self.aux[party].t):
                _put_int(hasher, value)
        for sender in self.signers:
            for recipient in self.signers:
                if recipient == sender:
                    continue
                c = self.round2[sender][recipient]
                for value in (c.D, c.F, c.D_hat, c.F_hat):
                    _put_int(hasher, value)
        return hasher.digest()


def presign_transcript(
    context: PresignContext,
    broadcasts1: Mapping[str, Round1Broadcast],
    directs2: Mapping[tuple[str, str], Round2Direct],
) -> PresignTranscript:
    """The transcript from the messages a relay forwarded: every round-1 broadcast and
    every round-2 message, ``directs2[(i, j)]`` being the one from i to j, with the
    signers' aux parameters of ``context``."""
    aux = {p: context.peers[p].ring_pedersen for p in context.signers}
    return relayed_transcript(context.signers, aux, broadcasts1, directs2)


def relayed_transcript(
    signers: tuple[str, ...],
    aux: Mapping[str, RingPedersenParameters],
    broadcasts1: Mapping[str, Round1Broadcast],
    directs2: Mapping[tuple[str, str], Round2Direct],
) -> PresignTranscript:
    """:func:`presign_transcript` for a relay that has no context: the signers and the
    aux parameters each signer announced (which every signer checks in ``finish``)."""
    if set(broadcasts1) != set(signers):
        raise InvalidParameters("the transcript needs one round-1 broadcast per signer")
    pairs = {(i, j) for i in signers for j in signers if i != j}
    if set(directs2) != pairs:
        raise InvalidParameters("the transcript needs one round-2 message per ordered pair")
    for party, broadcast in broadcasts1.items():
        if broadcast.sender != party:
            raise InvalidParameters("a round-1 broadcast is filed under another sender")
    for (i, j), message in directs2.items():
        if (message.sender, message.recipient) != (i, j):
            raise InvalidParameters("a round-2 message is filed under another pair")
    return PresignTranscript(
        signers,
        {p: broadcasts1[p].K for p in signers},
        {p: broadcasts1[p].G for p in signers},
        {i: {j: directs2[(i, j)].ciphertexts() for j in signers if j != i} for i in signers},
        dict(aux),
    )


# -- per-signer secret state --------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class KeyConversionSecret:
    """Signer i's side of the k·x conversion on peer j's K_j: β̂_{i,j}, the randomness ŝ
    of enc_j(β̂_{i,j}) inside D̂_{j,i}, and r̂ of F̂_{i→j} = enc_i(β̂_{i,j}; r̂)."""

    beta_hat: int
    s_hat: int
    r_hat: int

    def __repr__(self) -> str:
        return "KeyConversionSecret(<redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class Round1State:
    party: str
    w: int
    paillier: PaillierSecretKey
    k: int
    gamma: int
    rho: int
    nu: int
    K: int
    G: int

    def __repr__(self) -> str:
        return f"Round1State({self.party}, <redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class Round2State:
    round1: Round1State
    received: Mapping[str, Round1Broadcast]
    Gamma: Secp256k1Element
    betas: Mapping[str, tuple[int, int]]  # j -> (β_{i,j}, s_{i,j})
    key_conversions: Mapping[str, KeyConversionSecret]  # j -> (β̂_{i,j}, ŝ, r̂)
    sent: Mapping[str, Round2Ciphertexts]  # j -> what went to j, to check the transcript

    def __repr__(self) -> str:
        return f"Round2State({self.round1.party}, <redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class Round3State:
    round2: Round2State
    Gamma_total: Secp256k1Element
    delta: int
    chi: int
    Delta: Secp256k1Element
    alphas: Mapping[str, int]  # j -> α_{i,j}, kept for a possible identification
    received2: Mapping[str, Round2Ciphertexts]  # j -> what came from j (D_{i,j}, D̂_{i,j}…)

    def __repr__(self) -> str:
        return f"Round3State({self.round2.round1.party}, <redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class Presignature:
    """Signer i's share of a presignature: secret, and usable for exactly one signature
    (:func:`mpc.ecdsa.sign.sign_share` consumes it).

    Besides (R, k_i, χ_i) it keeps what the χ identification (:func:`mpc.ecdsa.identify.
    prove_chi`) proves from after a failed ΣS_i check: ρ_i of K_i = enc_i(k_i; ρ_i), the
    additive key share w_i, the k·x conversion secrets per peer, and the digest of the
    transcript this signer accepted.
    """

    party: str
    signers: tuple[str, ...]
    R: Secp256k1Element
    k: int
    chi: int
    # Public per signer: R_j = k_j·R (from Δ_j, proven by Π_log*), to check σ_j later.
    R_shares: Mapping[str, Secp256k1Element]
    rho: int
    w: int
    key_conversions: Mapping[str, KeyConversionSecret]
    transcript_digest: str  # hex SHA-256 of the PresignTranscript (public)

    def __repr__(self) -> str:
        return f"Presignature({self.party}, R={self.R.x_only().hex()[:16]}…, <redacted>)"


# -- rounds ------------------------------------------------------------------------------


def round1(
    context: PresignContext,
    party: str,
    additive_share: int,
    paillier: PaillierSecretKey,
    rng: Rng = os.urandom,
) -> tuple[Round1State, Round1Broadcast, dict[str, Round1Direct]]:
    """Fig. 7, round 1: K_i = enc(k_i), G_i = enc(γ_i), and a Π_enc proof to each peer."""
    if party not in context.signers:
        raise InvalidParameters("this party is not a signer of the session")
    own = context.peers[party]
    if paillier.public_key != own.paillier:
        raise InvalidParameters("the Paillier key is not this party's published one")
    if _point(additive_share) != own.public_share:
        raise InvalidParameters("the additive share does not match its public share")
    k = SECP256K1.random_nonzero_scalar(rng).value
    gamma = SECP256K1.random_nonzero_scalar(rng).value
    K, rho = own.paillier.encrypt(k, rng)
    G, nu = own.paillier.encrypt(gamma, rng)
    state = Round1State(party, additive_share, paillier, k, gamma, rho, nu, K, G)
    statement = enc.EncStatement(key0=own.paillier, K=K)
    witness = enc.EncWitness(k=k, rho=rho)
    direct = {
        j: Round1Direct(
            party,
            j,
            enc.prove(
                statement,
                witness,
                context.peers[j].ring_pedersen,
                context.transcript(b"enc", party, j),
                rng,
                params=context.params,
            ),
        )
        for j in context.others(party)
    }
    return state, Round1Broadcast(party, K, G), direct


def _check_senders(context: PresignContext, party: str, senders: set[str], what: str) -> None:
    expected = set(context.others(party))
    if senders != expected:
        missing = sorted(expected - senders)
        extra = sorted(senders - expected)
        raise InvalidParameters(f"{what}: missing {missing}, unexpected {extra}", missing)


def round2(
    context: PresignContext,
    state: Round1State,
    broadcasts: Mapping[str, Round1Broadcast],
    direct: Mapping[str, Round1Direct],
    rng: Rng = os.urandom,
) -> tuple[Round2State, dict[str, Round2Direct]]:
    """Fig. 7, round 2: verify Π_enc, then the two conversions and their proofs per peer."""
    i = state.party
    _check_senders(context, i, set(broadcasts), "round-1 broadcasts")
    _check_senders(context, i, set(direct), "round-1 proofs")
    own = context.peers[i]
    for j in context.others(i):
        message, proof = broadcasts[j], direct[j]
        if message.sender != j or proof.sender != j or proof.recipient != i:
            raise InvalidProof("a round-1 message is mislabelled", [j])

        def check(
            j: str = j, message: Round1Broadcast = message, proof: Round1Direct = proof
        ) -> None:
            enc.verify(
                enc.EncStatement(key0=context.peers[j].paillier, K=message.K),
                proof.enc_proof,
                own.ring_pedersen,
                context.transcript(b"enc", j, i),
                params=context.params,
            )

        _verify(j, check)
    Gamma = _point(state.gamma)
    betas: dict[str, tuple[int, int]] = {}
    key_conversions: dict[str, KeyConversionSecret] = {}
    sent: dict[str, Round2Ciphertexts] = {}
    out: dict[str, Round2Direct] = {}
    log_statement = log_star.LogStarStatement(key0=own.paillier, C=state.G, X=Gamma)
    log_witness = log_star.LogStarWitness(x=state.gamma, rho=state.nu)
    for j in context.others(i):
        peer = context.peers[j]
        K_j = broadcasts[j].K
        beta = random_signed(context.params.ell_prime, rng)
        beta_hat = random_signed(context.params.ell_prime, rng)
        s, s_hat = random_unit(peer.paillier.n, rng), random_unit(peer.paillier.n, rng)
        r, r_hat = random_unit(own.paillier.n, rng), random_unit(own.paillier.n, rng)
        # D_{j,i} = γ_i ⊙ K_j ⊕ enc_j(β_{i,j}; s), F_{j,i} = enc_i(β_{i,j}; r): j decrypts
        # α_{j,i} = k_j·γ_i + β_{i,j} and i keeps −β_{i,j}.
        D = peer.paillier.add(
            peer.paillier.multiply_secret(K_j, state.gamma),
            peer.paillier.encrypt_with(beta, s),
        )
        F = own.paillier.encrypt_with(beta, r)
        D_hat = peer.paillier.add(
            peer.paillier.multiply_secret(K_j, state.w),
            peer.paillier.encrypt_with(beta_hat, s_hat),
        )
        F_hat = own.paillier.encrypt_with(beta_hat, r_hat)
        betas[j] = (beta, s)
        key_conversions[j] = KeyConversionSecret(beta_hat, s_hat, r_hat)
        sent[j] = Round2Ciphertexts(D, F, D_hat, F_hat)
        out[j] = Round2Direct(
            sender=i,
            recipient=j,
            Gamma=Gamma,
            D=D,
            F=F,
            D_hat=D_hat,
            F_hat=F_hat,
            aff_g_gamma=aff_g.prove(
                aff_g.AffGStatement(
                    key0=peer.paillier, key1=own.paillier, C=K_j, D=D, Y=F, X=Gamma
                ),
                aff_g.AffGWitness(x=state.gamma, y=beta, rho=s, rho_y=r),
                peer.ring_pedersen,
                context.transcript(b"aff-g/gamma", i, j),
                rng,
                params=context.params,
            ),
            aff_g_key=aff_g.prove(
                aff_g.AffGStatement(
                    key0=peer.paillier,
                    key1=own.paillier,
                    C=K_j,
                    D=D_hat,
                    Y=F_hat,
                    X=own.public_share,
                ),
                aff_g.AffGWitness(x=state.w, y=beta_hat, rho=s_hat, rho_y=r_hat),
                peer.ring_pedersen,
                context.transcript(b"aff-g/key", i, j),
                rng,
                params=context.params,
            ),
            log_star_gamma=log_star.prove(
                log_statement,
                log_witness,
                peer.ring_pedersen,
                context.transcript(b"log*/gamma", i, j),
                rng,
                params=context.params,
            ),
        )
    return Round2State(state, dict(broadcasts), Gamma, betas, key_conversions, sent), out


def round3(
    context: PresignContext,
    state: Round2State,
    direct: Mapping[str, Round2Direct],
    rng: Rng = os.urandom,
) -> tuple[Round3State, Round3Broadcast, dict[str, Round3Direct]]:
    """Fig. 7, round 3: verify the conversions, compute δ_i, χ_i and Δ_i with Π_log*."""
    first = state.round1
    i = first.party
    _check_senders(context, i, set(direct), "round-2 messages")
    own = context.peers[i]
    for j in context.others(i):
        message = direct[j]
        if message.sender != j or message.recipient != i:
            raise InvalidProof("a round-2 message is mislabelled", [j])
        peer = context.peers[j]
        G_j = state.received[j].G

        def check(
            message: Round2Direct = message, peer: Peer = peer, j: str = j, G_j: int = G_j
        ) -> None:
            aff_g.verify(
                aff_g.AffGStatement(
                    key0=own.paillier,
                    key1=peer.paillier,
                    C=first.K,
                    D=message.D,
                    Y=message.F,
                    X=message.Gamma,
                ),
                message.aff_g_gamma,
                own.ring_pedersen,
                context.transcript(b"aff-g/gamma", j, i),
                params=context.params,
            )
            aff_g.verify(
                aff_g.AffGStatement(
                    key0=own.paillier,
                    key1=peer.paillier,
                    C=first.K,
                    D=message.D_hat,
                    Y=message.F_hat,
                    X=peer.public_share,
                ),
                message.aff_g_key,
                own.ring_pedersen,
                context.transcript(b"aff-g/key", j, i),
                params=context.params,
            )
            log_star.verify(
                log_star.LogStarStatement(key0=peer.paillier, C=G_j, X=message.Gamma),
                message.log_star_gamma,
                own.ring_pedersen,
                context.transcript(b"log*/gamma", j, i),
                params=context.params,
            )

        _verify(j, check)

    Gamma_total = state.Gamma
    for j in context.others(i):
        Gamma_total = Gamma_total + direct[j].Gamma
    if Gamma_total.is_identity():
        raise ConsistencyCheckFailed("Γ is the identity")
    Delta = Gamma_total * _scalar(first.k)
    delta = first.k * first.gamma
    chi = first.k * first.w
    alphas: dict[str, int] = {}
    for j in context.others(i):
        alpha = first.paillier.decrypt(direct[j].D)
        alpha_hat = first.paillier.decrypt(direct[j].D_hat)
        alphas[j] = alpha
        delta += alpha - state.betas[j][0]
        chi += alpha_hat - state.key_conversions[j].beta_hat
    delta %= Q
    chi %= Q
    statement = log_star.LogStarStatement(key0=own.paillier, C=first.K, X=Delta, g=Gamma_total)
    witness = log_star.LogStarWitness(x=first.k, rho=first.rho)
    out = {
        j: Round3Direct(
            i,
            j,
            log_star.prove(
                statement,
                witness,
                context.peers[j].ring_pedersen,
                context.transcript(b"log*/delta", i, j),
                rng,
                params=context.params,
            ),
        )
        for j in context.others(i)
    }
    received2 = {j: direct[j].ciphertexts() for j in context.others(i)}
    result = Round3State(state, Gamma_total, delta, chi, Delta, alphas, received2)
    return result, Round3Broadcast(i, delta, Delta), out


def verify_transcript(
    context: PresignContext, state: Round3State, transcript: PresignTranscript
) -> None:
    """Checks every part of ``transcript`` this signer knows: K_j and G_j of every signer
    (its own, and the broadcasts it received), the round-2 ciphertexts it sent and those
    it received. Raises :class:`InvalidParameters`, naming nobody: a relay (or a peer
    that sent others something else) made the difference, and this signer cannot tell
    which."""
    second = state.round2
    first = second.round1
    i = first.party
    refused = InvalidParameters("the presigning transcript differs from what this signer saw")
    if tuple(transcript.signers) != tuple(context.signers):
        raise refused
    for party in context.signers:
        # The aux parameters this signer verified itself (Π_mod, Π_prm, Π_fac) and used.
        # Another signer's that differ are what that signer announced for the transcript
        # (the relay delivers them as given, as for every culprit named here): it is named.
        peer = context.peers[party]
        if transcript.aux[party] != peer.ring_pedersen or peer.paillier.n != peer.ring_pedersen.n:
            if party == i:
                raise refused
            raise InvalidParameters(
                "a signer announced aux parameters other than the ones it proved", [party]
            )
    if (transcript.K[i], transcript.G[i]) != (first.K, first.G):
        raise refused
    for j in context.others(i):
        if (transcript.K[j], transcript.G[j]) != (second.received[j].K, second.received[j].G):
            raise refused
        if transcript.round2[i][j] != second.sent[j]:
            raise refused
        if transcript.round2[j][i] != state.received2[j]:
            raise refused


def finish(
    context: PresignContext,
    state: Round3State,
    broadcasts: Mapping[str, Round3Broadcast],
    direct: Mapping[str, Round3Direct],
    transcript: PresignTranscript,
) -> Presignature:
    """Fig. 7, output: verify Π_log* on Δ_j, check δ·G = ΣΔ_j, set R = δ⁻¹·Γ.

    ``transcript`` is the relay's :class:`PresignTranscript` (:func:`presign_transcript`);
    it is checked against what this signer saw (:func:`verify_transcript`) before any
    proof, and the presignature keeps its digest for a later χ identification.
    """
    first = state.round2.round1
    i = first.party
    _check_senders(context, i, set(broadcasts), "round-3 broadcasts")
    _check_senders(context, i, set(direct), "round-3 proofs")
    verify_transcript(context, state, transcript)
    own = context.peers[i]
    for j in context.others(i):
        message, proof = broadcasts[j], direct[j]
        if message.sender != j or proof.sender != j or proof.recipient != i:
            raise InvalidProof("a round-3 message is mislabelled", [j])
        K_j = state.round2.received[j].K

        def check_delta(
            j: str = j,
            message: Round3Broadcast = message,
            proof: Round3Direct = proof,
            K_j: int = K_j,
        ) -> None:
            log_star.verify(
                log_star.LogStarStatement(
                    key0=context.peers[j].paillier, C=K_j, X=message.Delta, g=state.Gamma_total
                ),
                proof.log_star_delta,
                own.ring_pedersen,
                context.transcript(b"log*/delta", j, i),
                params=context.params,
            )

        _verify(j, check_delta)
        if not 0 <= message.delta < Q:
            raise InvalidProof("δ is not reduced modulo q", [j])
    delta = state.delta
    Deltas = {i: state.Delta, **{j: broadcasts[j].Delta for j in context.others(i)}}
    Delta_total = SECP256K1.identity()
    for j in context.signers:
        if j != i:
            delta += broadcasts[j].delta
        Delta_total = Delta_total + Deltas[j]
    delta %= Q
    if delta == 0 or _point(delta) != Delta_total:
        raise ConsistencyCheckFailed(
            "δ·G ≠ ΣΔ_j: the presignature is abandoned; run identify_delta_culprits"
        )
    delta_inv = _scalar(pow(delta, -1, Q))
    R = state.Gamma_total * delta_inv
    R_shares = {j: Deltas[j] * delta_inv for j in context.signers}
    return Presignature(
        party=i,
        signers=context.signers,
        R=R,
        k=first.k,
        chi=state.chi,
        R_shares=R_shares,
        rho=first.rho,
        w=first.w,
        key_conversions=dict(state.round2.key_conversions),
        transcript_digest=transcript.digest().hex(),
    )


# -- identification after a failed δ check (GG20 §4.2) ------------------------------------


def open_delta(context: PresignContext, state: Round3State) -> DeltaOpening:
    """Everything behind δ_i except the key: safe to reveal once the presignature is dead."""
    second = state.round2
    first = second.round1
    alphas = {
        j: (state.alphas[j], first.paillier.randomness(state.received2[j].D))
        for j in context.others(first.party)
    }
    return DeltaOpening(
        first.party, first.k, first.rho, first.gamma, first.nu, dict(second.betas), alphas
    )


def identify_delta_culprits(
    context: PresignContext,
    transcript: PresignTranscript,
    broadcasts3: Mapping[str, Round3Broadcast],
    openings: Mapping[str, DeltaOpening],
) -> list[str]:
    """Recomputes each δ_i from the openings and the public transcript; returns the liars.

    ``transcript`` is the one the signers accepted (its round-2 ciphertexts are public once
    relayed); ``broadcasts3`` the δ_j they broadcast. A signer that refuses to open is a
    culprit too. Deterministic: anyone with the public messages gets the same answer.
    """
    if tuple(transcript.signers) != tuple(context.signers):
        raise InvalidParameters("the transcript is not of this signer set")
    culprits = []
    for i in context.signers:
        opening = openings.get(i)
        if opening is None or opening.sender != i:
            culprits.append(i)
            continue
        peer = context.peers[i]
        try:
            if peer.paillier.encrypt_with(opening.k, opening.rho) != transcript.K[i]:
                raise ValueError("K_i does not open to k_i")
            if peer.paillier.encrypt_with(opening.gamma, opening.nu) != transcript.G[i]:
                raise ValueError("G_i does not open to γ_i")
            delta = opening.k * opening.gamma
            for j in context.others(i):
                beta, s = opening.betas[j]
                other = context.peers[j]
                # The opened values are public now: plain homomorphic operations.
                expected_D = other.paillier.add(
                    other.paillier.multiply(transcript.K[j], opening.gamma),
                    other.paillier.encrypt_with(beta, s),
                )
                if expected_D != transcript.round2[i][j].D:
                    raise ValueError("D_{j,i} does not open")
                alpha, randomness = opening.alphas[j]
                if peer.paillier.encrypt_with(alpha, randomness) != transcript.round2[j][i].D:
                    raise ValueError("α_{i,j} is not the decryption of D_{i,j}")
                delta += alpha - beta
            if delta % Q != broadcasts3[i].delta:
                raise ValueError("δ_i is not what the openings give")
        except (ValueError, KeyError, InvalidParameters):
            culprits.append(i)
    return culprits


def _verify(culprit: str, check: Callable[[], None]) -> None:
    """Runs a proof check; any failure becomes InvalidProof naming the prover."""
    try:
        check()
    except InvalidProof as error:
        raise InvalidProof(str(error), [culprit]) from None
