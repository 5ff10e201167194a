"""Identification after an abort: who made the δ check or the ΣS_i check fail.

Both run on public data only: the :class:`mpc.ecdsa.presign.PresignTranscript` that every
signer accepted in ``presign.finish`` (round-1 ciphertexts K_j, G_j and every round-2
ciphertext), the messages broadcast afterwards, and what each signer sends for the
identification. Any party or the coordinator can run them and gets the same answer.

δ side (presigning, GG20 §4.2): :func:`open_delta` and :func:`identify_delta_culprits`
(kept in :mod:`mpc.ecdsa.presign`, re-exported here). Once the δ check fails the
presignature is dead, so each signer opens k_i, γ_i and the k·γ conversions (nothing of the
key) and everyone recomputes δ_i.

χ side (signing, CGGMP21 ePrint 2021/060 §4, the signing identification, adapted to our
S_i check). When every share passes σ_i·R = m·R_i + r·S_i but ΣS_i ≠ X, some S_i is not
χ_i·R for the χ_i the protocol defines, and χ_i involves the key, so nothing can be
opened. Instead each signer i proves, to every other signer v (each proof under v's
ring-Pedersen parameters, its Fiat–Shamir transcript bound to the session, a label, i and
v):

1. Ĥ_i = K_i^{w_i}·ρ^{N_i} mod N_i², an encryption of k_i·w_i under i's key, with Π_mul*
   (Fig. 31) against its public share W_i = w_i·G;
2. for every D̂_{j,i} it sent to j in round 2, Π_aff-g again (statement N_j, N_i, K_j,
   D̂_{j,i}, F̂_{i→j}, W_i): only j checked it during presigning, and a colluding j would
   not have complained;
3. with Ĉ_i = Ĥ_i · Π_j D̂_{i,j} · Π_j F̂_{i→j}⁻¹ mod N_i² (computable by anyone from the
   transcript), Π_log* that Ĉ_i encrypts an integer y_i with S_i = y_i·R. The honest y_i is
   k_i·w_i + Σ_j α̂_{i,j} − Σ_j β̂_{i,j}, whose residue mod q is χ_i, and it is far larger
   than 2^ℓ: the proof uses the witness bound of :func:`chi_witness_bits`.

:func:`identify_chi_culprits` recomputes every Ĉ_i and names each signer any of whose proofs,
to any verifier, fails (or who sent none).

Soundness. Let h be an honest signer (if there is none, nobody is owed an answer). During
presigning h verified every K_j's Π_enc (so each k_j = dec(K_j) ∈ ±2^(ℓ+ε+1)) and every
Δ_j's Π_log*, so the δ check gives R = k⁻¹·G with k = Σ_j k_j mod q. Suppose that every
other signer's proofs to h pass. The Fiat–Shamir soundness of each proof under h's
ring-Pedersen parameters (whose factorization the others do not know) then gives, for
every signer i ≠ h (and for h itself, by its honesty, with the smaller honest ranges):

* Π_mul*: x_i ∈ ±2^(ℓ+ε+1) with x_i·G = W_i and dec(Ĥ_i) ≡ k_i·x_i (mod N_i);
* Π_aff-g, for each j ≠ i: x_{i→j} ∈ ±2^(ℓ+ε+1) with x_{i→j}·G = W_i, and
  ŷ_{i→j} ∈ ±2^(ℓ'+ε+1) with dec(D̂_{j,i}) ≡ k_j·x_{i→j} + ŷ_{i→j} (mod N_j) and
  dec(F̂_{i→j}) ≡ ŷ_{i→j} (mod N_i);
* Π_log*: y_i ∈ ±2^(b+ε+1) with dec(Ĉ_i) ≡ y_i (mod N_i) and S_i = y_i·R.

Every one of these integers, and every sum below, is far smaller than N/2 (the room
condition of :func:`_require_room`: 2^(b+ε+2) < N), so no plaintext wraps and, as
integers,

    y_i = k_i·x_i + Σ_{j≠i} (k_i·x_{j→i} + ŷ_{j→i}) − Σ_{j≠i} ŷ_{i→j},

where every x_{·} is ≡ the discrete logarithm w of its W (mod q). Summed over i, each ŷ_{j→i}
appears once with each sign (in y_i through D̂_{i,j}, in y_j through F̂_{j→i}), so
Σ_i y_i ≡ Σ_i k_i · Σ_j w_j = k·x (mod q) and ΣS_i = (Σ y_i)·R = k·x·k⁻¹·G = X, contrary
to the failed check. Hence some signer's proof to h fails, and that signer is named.

Conversely an honest signer's statements are true with witnesses in range, its y_i
included: :func:`chi_witness_bits` bounds it even when its peers cheated within what
their Π_aff-g proofs to it allowed. So its proofs pass (completeness, up to the range
proofs' abort probability of about 2^-100) and it is never named. A signer that let a
colluder's inconsistent D̂ through unchecked is named only if its own statements are
false (for instance a y_i out of bound); the colluder that sent it always is, by its
re-proof of Π_aff-g.

Transcript. An honest prover's statements use only parts of the transcript it checked in
``finish`` (its K_i, all K_j, what it sent and received in round 2), so its proofs verify
against any transcript that agrees with what it saw. The identifier must use the
transcript the signers accepted: callers compare the presignatures' digests across
signers (as they compare R), so that a relay cannot show two honest signers different
transcripts.

Zero knowledge: the proofs are those of the paper's identification (statistically
hiding under the verifier's ring-Pedersen parameters); Ĥ_i and Ĉ_i are ciphertexts under
i's own key. Nothing beyond them is revealed, so :func:`prove_chi` may run on a
presignature that already signed (that is when it is needed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from mpc.ecdsa.errors import InvalidParameters, InvalidProof
from mpc.ecdsa.paillier import PaillierPublicKey, PaillierSecretKey, random_unit
from mpc.ecdsa.params import SecurityParameters
from mpc.ecdsa.presign import (
    DeltaOpening,
    Presignature,
    PresignContext,
    PresignTranscript,
    identify_delta_culprits,
    open_delta,
)
from mpc.ecdsa.sign import SignatureShare
from mpc.ecdsa.zk import aff_g, log_star, mul_star
from mpc.ecdsa.zk.enc import is_ciphertext, plaintext_room
from mpc.group import SECP256K1, Rng, Secp256k1Element
from mpc.group.secp256k1 import ORDER as Q

__all__ = [
    "LABEL_AFF_G",
    "LABEL_LOG_STAR",
    "LABEL_MUL_STAR",
    "ChiIdentification",
    "ChiProofs",
    "DeltaOpening",
    "chi_ciphertext",
    "chi_witness_bits",
    "identify_chi_culprits",
    "identify_delta_culprits",
    "open_delta",
    "prove_chi",
]

# The proof labels of the Fiat–Shamir transcripts (after the session, before the parties).
LABEL_MUL_STAR = b"chi/mul*"
LABEL_AFF_G = b"chi/aff-g/"  # followed by the recipient j of the re-proven D̂_{j,i}
LABEL_LOG_STAR = b"chi/log*"


def chi_witness_bits(params: SecurityParameters, signers: int) -> int:
    """b, the bound in bits of y_i for the Π_log* of the χ identification.

    An honest signer i whose peers' Π_aff-g proofs to it passed has
    y_i = k_i·w_i + Σ_{j≠i} α̂_{i,j} − Σ_{j≠i} β̂_{i,j} with k_i, w_i ∈ [0, q),
    |β̂_{i,j}| ≤ 2^ℓ' (it drew them) and α̂_{i,j} = k_i·x + y where Π_aff-g's soundness only
    bounds x by ±2^(ℓ+ε+1) and y by ±2^(ℓ'+ε+1) (special soundness: a difference of two
    responses divided by a nonzero challenge difference). So, with n signers,

        |y_i| < q² + (n−1)·(q·2^(ℓ+ε+1) + 2^(ℓ'+ε+1) + 2^ℓ') ≤ 2^b,

    b being that bound's bit length: about ℓ' + ε + 2 + log2(n−1) (1081 bits for 3 signers
    at the production sizes, 1082 for 5 to 8). The bound must hold for a cheating peer
    too, or an honest signer could be named; a tighter one (the honest ranges alone,
    about ℓ' + 1 + log2 n) would let a peer push an honest y_i out of range with a
    β̂ ∈ ±2^(ℓ'+ε) that passes Π_aff-g. Soundness of Π_log* then bounds y_i by
    ±2^(b+ε+1), which the caller's moduli must hold without wrapping (see
    :func:`_require_room`): b + ε + 2 < log2 N, about 1314 < 2047 bits.
    """
    if signers < 2:
        raise InvalidParameters("the χ identification needs at least two signers")
    ell, ell_prime, eps = params.ell, params.ell_prime, params.epsilon
    own = (Q - 1) * (Q - 1)
    received = (Q - 1) * (1 << (ell + eps + 1)) + (1 << (ell_prime + eps + 1))
    sent = 1 << ell_prime
    return (own + (signers - 1) * (received + sent)).bit_length()


def _require_room(context: PresignContext, bits: int) -> None:
    """Π_log*'s extracted y ∈ ±2^(b+ε+1) must fit (−N/2, N/2] for every signer's N."""
    for party in context.signers:
        if not plaintext_room(context.peers[party].paillier, bits + context.params.epsilon + 1):
            raise InvalidParameters(f"the Paillier modulus of {party} is too small for y_i")


# -- messages (public) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChiProofs:
    """Signer i's proofs to one verifier v: Π_mul* on Ĥ_i, Π_aff-g per D̂_{j,i} it sent
    (keyed by the recipient j), and Π_log* on Ĉ_i against S_i."""

    mul_star: mul_star.MulStarProof
    aff_g: Mapping[str, aff_g.AffGProof]
    log_star: log_star.LogStarProof


@dataclass(frozen=True, slots=True)
class ChiIdentification:
    """Signer i's answer to a failed ΣS_i check: Ĥ_i and its proofs to every other signer."""

    sender: str
    H_hat: int
    proofs: Mapping[str, ChiProofs]


# -- the statements, from public data -----------------------------------------------------


def chi_ciphertext(
    context: PresignContext, transcript: PresignTranscript, party: str, H_hat: int
) -> int:
    """Ĉ_i = Ĥ_i · Π_j D̂_{i,j} · Π_j F̂_{i→j}⁻¹ mod N_i², from the public transcript.

    Raises :class:`InvalidProof` if a factor is not a ciphertext under N_i (a transcript
    that signer i could not have accepted, or a malformed Ĥ_i).
    """
    key = context.peers[party].paillier
    received = [transcript.round2[j][party].D_hat for j in context.others(party)]
    sent = [transcript.round2[party][j].F_hat for j in context.others(party)]
    if not all(is_ciphertext(key, value) for value in (H_hat, *received, *sent)):
        raise InvalidProof("Ĉ_i has a factor that is not a ciphertext under N_i")
    n2 = key.n2
    product = H_hat
    for value in received:
        product = product * value % n2
    for value in sent:
        product = product * pow(value, -1, n2) % n2
    return product


def _aff_g_statement(
    context: PresignContext, transcript: PresignTranscript, i: str, j: str
) -> aff_g.AffGStatement:
    """Π_aff-g on D̂_{j,i} (from i to j): key0 = N_j, key1 = N_i, C = K_j, X = W_i."""
    sent = transcript.round2[i][j]
    return aff_g.AffGStatement(
        key0=context.peers[j].paillier,
        key1=context.peers[i].paillier,
        C=transcript.K[j],
        D=sent.D_hat,
        Y=sent.F_hat,
        X=context.peers[i].public_share,
    )


# -- prover ------------------------------------------------------------------------------


def prove_chi(
    context: PresignContext,
    presignature: Presignature,
    paillier_secret: PaillierSecretKey,
    transcript: PresignTranscript,
    S_i: Secp256k1Element,
    rng: Rng = os.urandom,
) -> ChiIdentification:
    """Signer i's χ identification after :class:`mpc.ecdsa.errors.ChiCheckFailed`.

    ``transcript`` must be the one whose digest the presignature stored, and ``S_i`` the
    S_i this signer sent (χ_i·R); anything else is refused with
    :class:`InvalidParameters`. Works on a presignature that already signed: it reveals
    nothing beyond the zero-knowledge proofs.
    """
    i = presignature.party
    if i not in context.signers or tuple(presignature.signers) != tuple(context.signers):
        raise InvalidParameters("the presignature is not of this signer set")
    if transcript.digest().hex() != presignature.transcript_digest:
        raise InvalidParameters("the transcript is not the one this presignature accepted")
    own = context.peers[i]
    key: PaillierPublicKey = own.paillier
    if paillier_secret.public_key != key:
        raise InvalidParameters("the Paillier key is not this party's published one")
    if set(presignature.key_conversions) != set(context.others(i)):
        raise InvalidParameters("the presignature lacks conversion secrets for its peers")
    if SECP256K1.base_mul(SECP256K1.scalar(presignature.w)) != own.public_share:
        raise InvalidParameters("the presignature's key share does not match W_i")
    if key.encrypt_with(presignature.k, presignature.rho) != transcript.K[i]:
        raise InvalidParameters("the presignature's k_i and ρ_i do not open K_i")
    if S_i != presignature.R * SECP256K1.scalar(presignature.chi):
        raise InvalidParameters("S_i is not this presignature's χ_i·R")
    params = context.params
    bits = chi_witness_bits(params, len(context.signers))
    _require_room(context, bits)

    # 1. Ĥ_i = K_i^{w_i} · ρ^{N_i} mod N_i² (w_i secret: constant-time exponentiation).
    K_i = transcript.K[i]
    rho_H = random_unit(key.n, rng)
    H_hat = key.multiply_secret(K_i, presignature.w) * key.pow(rho_H, key.n) % key.n2
    # 3. Ĉ_i and its opening (y_i, ρ_C): y_i as an integer, as round 3 summed it.
    try:
        C_hat = chi_ciphertext(context, transcript, i, H_hat)
    except InvalidProof as error:
        raise InvalidParameters(str(error)) from None
    y = paillier_secret.decrypt(C_hat)
    rho_C = paillier_secret.randomness(C_hat)

    mul_statement = mul_star.MulStarStatement(key0=key, C=K_i, D=H_hat, X=own.public_share)
    mul_witness = mul_star.MulStarWitness(x=presignature.w, rho=rho_H)
    log_statement = log_star.LogStarStatement(key0=key, C=C_hat, X=S_i, g=presignature.R)
    log_witness = log_star.LogStarWitness(x=y, rho=rho_C)
    statements = {j: _aff_g_statement(context, transcript, i, j) for j in context.others(i)}
    proofs: dict[str, ChiProofs] = {}
    for v in context.others(i):
        setup = context.peers[v].ring_pedersen
        affs = {}
        for j in context.others(i):
            conversion = presignature.key_conversions[j]
            affs[j] = aff_g.prove(
                statements[j],
                aff_g.AffGWitness(
                    x=presignature.w,
                    y=conversion.beta_hat,
                    rho=conversion.s_hat,
                    rho_y=conversion.r_hat,
                ),
                setup,
                context.transcript(LABEL_AFF_G + j.encode(), i, v),
                rng,
                params=params,
            )
        proofs[v] = ChiProofs(
            mul_star=mul_star.prove(
                mul_statement,
                mul_witness,
                setup,
                context.transcript(LABEL_MUL_STAR, i, v),
                rng,
                params=params,
            ),
            aff_g=affs,
            log_star=log_star.prove(
                log_statement,
                log_witness,
                setup,
                context.transcript(LABEL_LOG_STAR, i, v),
                rng,
                params=params,
                witness_bits=bits,
            ),
        )
    return ChiIdentification(sender=i, H_hat=H_hat, proofs=proofs)


# -- identifier --------------------------------------------------------------------------


def _verify_chi(
    context: PresignContext,
    transcript: PresignTranscript,
    R: Secp256k1Element,
    S_i: Secp256k1Element,
    identification: ChiIdentification,
    bits: int,
) -> None:
    """Every proof of signer i to every verifier; raises :class:`InvalidProof`."""
    i = identification.sender
    others = context.others(i)
    if set(identification.proofs) != set(others):
        raise InvalidProof("a χ identification needs proofs to every other signer")
    for proofs in identification.proofs.values():
        if set(proofs.aff_g) != set(others):
            raise InvalidProof("a χ identification re-proves every D̂_{j,i} it sent")
    key = context.peers[i].paillier
    if not is_ciphertext(key, identification.H_hat):
        raise InvalidProof("Ĥ_i is not a ciphertext under N_i")
    C_hat = chi_ciphertext(context, transcript, i, identification.H_hat)
    mul_statement = mul_star.MulStarStatement(
        key0=key, C=transcript.K[i], D=identification.H_hat, X=context.peers[i].public_share
    )
    log_statement = log_star.LogStarStatement(key0=key, C=C_hat, X=S_i, g=R)
    statements = {j: _aff_g_statement(context, transcript, i, j) for j in others}
    params = context.params
    for v in others:
        setup = context.peers[v].ring_pedersen
        proofs = identification.proofs[v]
        mul_star.verify(
            mul_statement,
            proofs.mul_star,
            setup,
            context.transcript(LABEL_MUL_STAR, i, v),
            params=params,
        )
        for j in others:
            aff_g.verify(
                statements[j],
                proofs.aff_g[j],
                setup,
                context.transcript(LABEL_AFF_G + j.encode(), i, v),
                params=params,
            )
        log_star.verify(
            log_statement,
            proofs.log_star,
            setup,
            context.transcript(LABEL_LOG_STAR, i, v),
            params=params,
            witness_bits=bits,
        )


def identify_chi_culprits(
    context: PresignContext,
    transcript: PresignTranscript,
    R: Secp256k1Element,
    shares: Mapping[str, SignatureShare],
    identifications: Mapping[str, ChiIdentification],
) -> list[str]:
    """The signers whose χ identification fails, in the signers' order (see the module
    docstring for why this names a cheater after a failed ΣS_i check, and never an
    honest signer).

    ``transcript`` is the one the signers accepted, ``R`` the presignature's, ``shares``
    the signature shares ``combine`` refused with :class:`ChiCheckFailed`, and
    ``identifications`` what each signer sent (a missing or mislabelled one names its
    signer). Public and deterministic: any party or the coordinator gets the same list.
    """
    if tuple(transcript.signers) != tuple(context.signers):
        raise InvalidParameters("the transcript is not of this signer set")
    if set(shares) != set(context.signers) or any(s.party != p for p, s in shares.items()):
        raise InvalidParameters("one signature share per signer is needed")
    if R.is_identity():
        raise InvalidParameters("R is the identity")
    bits = chi_witness_bits(context.params, len(context.signers))
    _require_room(context, bits)
    culprits = []
    for i in context.signers:
        identification = identifications.get(i)
        if identification is None or identification.sender != i:
            culprits.append(i)
            continue
        try:
            _verify_chi(context, transcript, R, shares[i].S, identification, bits)
        except InvalidProof:
            culprits.append(i)
    return culprits
