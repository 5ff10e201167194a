"""Identifiable abort after presigning and signing: the χ and δ identifications.

Attacks on a 2-of-5 key (any 2 to 4 signers sign), each of which passes every per-share
check, must end with the cheater named and no honest signer named:

* a signer sending S_i' = χ'·R with the matching σ_i (signing);
* a signer computing χ_i wrongly in round 3 (presigning);
* a signer j sending an inconsistent D̂_{i,j} to a colluding i that skips its check;
* a signer lying in its Ĥ_i, or refusing to identify;
* and on the δ side, a signer lying about δ_i, with or without a matching lie in its
  opening.

Presigning runs are cached per signer set (``presigned``), signed once; cheats on the
signature shares are derived from the honest ones, and ``prove_chi`` runs on the consumed
presignatures, as it must after a failed ΣS_i check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.ecdsa import codec, presign
from mpc.ecdsa.errors import ChiCheckFailed, ConsistencyCheckFailed, InvalidParameters
from mpc.ecdsa.identify import (
    LABEL_LOG_STAR,
    ChiIdentification,
    chi_ciphertext,
    chi_witness_bits,
    identify_chi_culprits,
    identify_delta_culprits,
    open_delta,
    prove_chi,
)
from mpc.ecdsa.presign import Presignature, PresignTranscript, Round2Ciphertexts
from mpc.ecdsa.sign import SignatureShare, combine, sign_share
from mpc.ecdsa.zk import aff_g, log_star
from mpc.group import SECP256K1, Secp256k1Element
from mpc.group.secp256k1 import ORDER as Q
from tests.helpers.rng import DeterministicRng
from tests.mpc.ecdsa.presign_helpers import (
    DIGEST,
    FIVE,
    Presigned,
    finish_all,
    presigned,
    run_rounds,
    setup_2_of_5,
)

THREE = ("us-1", "us-2", "eu-1")
TWO = ("us-1", "us-2")
# The property tests draw from signer sets of every size (2, 3 and 4 of the five parties,
# every party in at least one): a presigning at 2048 bits takes seconds, so the sets are
# few enough for runs to be shared between examples and tests.
SIGNER_SETS = [
    TWO,
    ("eu-2", "apac-1"),
    THREE,
    ("us-2", "eu-2", "apac-1"),
    ("us-1", "us-2", "eu-1", "apac-1"),
]
assert all(set(s) <= set(FIVE) for s in SIGNER_SETS)
assert {p for s in SIGNER_SETS for p in s} == set(FIVE)


def _r(R: Secp256k1Element) -> int:
    return int.from_bytes(R.x_only(), "big") % Q


def _public_key() -> Secp256k1Element:
    key = setup_2_of_5().public.verifying_key
    assert isinstance(key, Secp256k1Element)
    return key


def _combine(run: Presigned, shares: dict[str, SignatureShare]) -> None:
    first = run.presignatures[run.context.signers[0]]
    combine(first.R, first.R_shares, _public_key(), DIGEST, shares)


def _shifted(share: SignatureShare, R: Secp256k1Element, d: int) -> SignatureShare:
    """The share of χ_i + d: S' = S + d·R and the σ' = σ + r·d that matches it."""
    return dataclasses.replace(
        share,
        sigma=(share.sigma + _r(R) * d) % Q,
        S=share.S + R * SECP256K1.scalar(d),
    )


@cache
def honest_identifications(signers: tuple[str, ...]) -> dict[str, ChiIdentification]:
    run = presigned(signers)
    return {
        p: prove_chi(
            run.context,
            run.presignatures[p],
            run.paillier(p),
            run.transcript,
            run.shares[p].S,
            DeterministicRng(f"chi/{signers}/{p}"),
        )
        for p in signers
    }


def _culprits(
    run: Presigned,
    shares: dict[str, SignatureShare],
    identifications: dict[str, ChiIdentification],
    transcript: PresignTranscript | None = None,
) -> list[str]:
    return identify_chi_culprits(
        run.context, transcript or run.transcript, run.R, shares, identifications
    )


# --- χ: the attacks, one by one --------------------------------------------------------------


def test_honest_run_signs_and_names_nobody() -> None:
    run = presigned(THREE)
    _combine(run, run.shares)
    assert _culprits(run, run.shares, honest_identifications(THREE)) == []


def test_forged_S_with_matching_sigma_names_its_signer() -> None:
    run = presigned(THREE)
    shares = {**run.shares, "us-2": _shifted(run.shares["us-2"], run.R, 1)}
    # Every share passes its own check; only ΣS_i fails, and names nobody.
    with pytest.raises(ChiCheckFailed) as caught:
        _combine(run, shares)
    assert caught.value.culprits == ()
    assert isinstance(caught.value, ConsistencyCheckFailed)
    identifications = honest_identifications(THREE)
    assert _culprits(run, shares, identifications) == ["us-2"]
    # The cheater cannot prove for the S it sent: prove_chi refuses it, and silence names it.
    with pytest.raises(InvalidParameters):
        prove_chi(
            run.context,
            run.presignatures["us-2"],
            run.paillier("us-2"),
            run.transcript,
            shares["us-2"].S,
        )
    silent = {p: i for p, i in identifications.items() if p != "us-2"}
    assert _culprits(run, shares, silent) == ["us-2"]


def test_chi_offset_in_presigning_names_its_signer() -> None:
    """eu-1 adds 1 to its χ_i in round 3 and then behaves: its shares are consistent."""

    def round3(party: str, *args: Any) -> Any:
        state3, broadcast, direct = presign.round3(*args)
        if party == "eu-1":
            state3 = dataclasses.replace(state3, chi=(state3.chi + 1) % Q)
        return state3, broadcast, direct

    key = setup_2_of_5()
    signers = ("us-1", "eu-1")
    context, states3, b1, d2, b3, d3 = run_rounds(signers, b"chi-offset", key=key, round3=round3)
    transcript = presign.presign_transcript(context, b1, d2)
    presignatures = finish_all(context, states3, b1, d2, b3, d3, transcript)
    shares = {p: sign_share(presignatures[p], DIGEST) for p in signers}
    R = presignatures["us-1"].R
    with pytest.raises(ChiCheckFailed):
        combine(R, presignatures["us-1"].R_shares, _public_key(), DIGEST, shares)
    identifications = {
        p: prove_chi(context, presignatures[p], key.aux[p].paillier, transcript, shares[p].S)
        for p in signers
    }
    assert identify_chi_culprits(context, transcript, R, shares, identifications) == ["eu-1"]


@pytest.mark.parametrize(
    ("wild", "signers"),
    [(False, THREE), (True, ("us-1", "eu-1"))],
    ids=["small-shift", "wild-ciphertext"],
)
def test_inconsistent_key_conversion_to_a_colluder(
    monkeypatch: pytest.MonkeyPatch, wild: bool, signers: tuple[str, ...]
) -> None:
    """us-1 sends eu-1 a D̂_{eu-1,us-1} that does not match its F̂ (or anything), and eu-1
    skips that Π_aff-g check; both carry on and sign with what they hold.

    us-1 is always named: its re-proof of Π_aff-g to the other signers fails. eu-1 only
    decrypted what it got, so with a small shift its own statements are true and it is
    not named; with a wild ciphertext its y_i is far beyond anything an honest signer
    (who checks Π_aff-g) can hold, its Π_log* fails, and it is named too.
    """
    cheater, colluder = "us-1", "eu-1"
    key = setup_2_of_5()
    target = key.peers_all[colluder][0]
    tampered: dict[str, int] = {}

    def round2(party: str, state2: Any, out: Any) -> Any:
        if party != cheater:
            return state2, out
        message = out[colluder]
        if wild:
            D_hat = target.encrypt(int.from_bytes(DeterministicRng("wild")(255), "big"))[0]
        else:
            D_hat = target.add(message.D_hat, target.encrypt(12345)[0])
        tampered["D_hat"] = D_hat
        sent = {**state2.sent, colluder: dataclasses.replace(message.ciphertexts(), D_hat=D_hat)}
        out = {**out, colluder: dataclasses.replace(message, D_hat=D_hat)}
        return dataclasses.replace(state2, sent=sent), out

    real_verify = aff_g.verify

    def round3(party: str, *args: Any) -> Any:
        if party != colluder:
            return presign.round3(*args)

        def skipping(statement: Any, *rest: Any, **kwargs: Any) -> None:
            if tampered["D_hat"] != statement.D:
                real_verify(statement, *rest, **kwargs)

        with monkeypatch.context() as patch:
            patch.setattr(aff_g, "verify", skipping)
            return presign.round3(*args)

    context, states3, b1, d2, b3, d3 = run_rounds(
        signers, b"colluding/" + str(wild).encode(), key=key, round2=round2, round3=round3
    )
    transcript = presign.presign_transcript(context, b1, d2)
    assert transcript.round2[cheater][colluder].D_hat == tampered["D_hat"]
    presignatures = finish_all(context, states3, b1, d2, b3, d3, transcript)  # nobody refuses
    shares = {p: sign_share(presignatures[p], DIGEST) for p in signers}
    R = presignatures["us-1"].R
    with pytest.raises(ChiCheckFailed):
        combine(R, presignatures["us-1"].R_shares, _public_key(), DIGEST, shares)
    identifications = {
        p: prove_chi(context, presignatures[p], key.aux[p].paillier, transcript, shares[p].S)
        for p in signers
    }
    culprits = identify_chi_culprits(context, transcript, R, shares, identifications)
    assert culprits == ([cheater, colluder] if wild else [cheater])


@pytest.mark.parametrize("signers", [TWO, THREE], ids=["two", "three"])
def test_malformed_identifications_name_their_sender(signers: tuple[str, ...]) -> None:
    run = presigned(signers)
    honest = honest_identifications(signers)
    liar, other_party = signers[-1], signers[0]
    other = honest[liar]
    first_verifier = next(iter(other.proofs))
    proofs = other.proofs[first_verifier]
    n2 = run.context.peers[liar].paillier.n2
    z1 = proofs.log_star.z1
    variants: dict[str, Any] = {
        "missing": None,
        "mislabelled": honest[other_party],
        "H_hat changed": dataclasses.replace(other, H_hat=other.H_hat * other.H_hat % n2),
        "H_hat not a ciphertext": dataclasses.replace(other, H_hat=0),
        "no proofs to one verifier": dataclasses.replace(
            other, proofs={v: p for v, p in other.proofs.items() if v != first_verifier}
        ),
        "one aff-g missing": dataclasses.replace(
            other,
            proofs={
                **other.proofs,
                first_verifier: dataclasses.replace(
                    proofs, aff_g=dict(list(proofs.aff_g.items())[1:])
                ),
            },
        ),
        "one aff-g for another pair": dataclasses.replace(
            other,
            proofs={
                **other.proofs,
                first_verifier: dataclasses.replace(
                    proofs,
                    aff_g={
                        j: honest[other_party].proofs[liar].aff_g[liar]
                        if j == first_verifier
                        else p
                        for j, p in proofs.aff_g.items()
                    },
                ),
            },
        ),
        "one proof to one verifier changed": dataclasses.replace(
            other,
            proofs={
                **other.proofs,
                first_verifier: dataclasses.replace(
                    proofs, log_star=dataclasses.replace(proofs.log_star, z1=z1 + 1)
                ),
            },
        ),
    }
    if len(signers) == 3:
        # Two verifiers: each one's proofs are under its own ring-Pedersen parameters.
        variants = {
            "proofs swapped between verifiers": dataclasses.replace(
                other,
                proofs=dict(zip(other.proofs, reversed(list(other.proofs.values())), strict=True)),
            )
        }
    for label, changed in variants.items():
        identifications = {p: i for p, i in honest.items() if p != liar}
        if changed is not None:
            identifications[liar] = changed
        assert _culprits(run, run.shares, identifications) == [liar], label


def test_identification_inputs_are_checked() -> None:
    run = presigned(THREE)
    honest = honest_identifications(THREE)
    with pytest.raises(InvalidParameters):
        _culprits(run, {p: s for p, s in run.shares.items() if p != "us-1"}, honest)
    other_set = presigned(("us-1", "us-2"))
    with pytest.raises(InvalidParameters):
        _culprits(run, run.shares, honest, transcript=other_set.transcript)
    with pytest.raises(InvalidParameters):
        identify_chi_culprits(run.context, run.transcript, SECP256K1.identity(), run.shares, honest)


# --- The transcript ----------------------------------------------------------------------


def _with_pair(
    transcript: PresignTranscript, sender: str, recipient: str, change: Callable[[Any], Any]
) -> PresignTranscript:
    round2 = {i: dict(row) for i, row in transcript.round2.items()}
    round2[sender][recipient] = change(round2[sender][recipient])
    return dataclasses.replace(transcript, round2=round2)


def _finish(run: Presigned, party: str, transcript: PresignTranscript) -> Presignature:
    others = run.context.others(party)
    return presign.finish(
        run.context,
        run.states3[party],
        {j: run.b3[j] for j in others},
        {j: run.d3[(j, party)] for j in others},
        transcript,
    )


def test_finish_refuses_a_transcript_that_differs_from_what_it_saw() -> None:
    run = presigned(THREE)
    t = run.transcript
    bump = lambda c: dataclasses.replace(c, D_hat=c.D_hat + 1)  # noqa: E731
    changed_K = dataclasses.replace(t, K={**t.K, "eu-1": t.K["eu-1"] + 1})
    changed_G = dataclasses.replace(t, G={**t.G, "us-1": t.G["us-1"] + 1})
    changed_pair = _with_pair(t, "us-1", "us-2", bump)
    for party in THREE:
        assert _finish(run, party, t).transcript_digest == t.digest().hex()
        for changed in (changed_K, changed_G):
            with pytest.raises(InvalidParameters) as caught:
                _finish(run, party, changed)
            assert caught.value.culprits == ()
    # us-1 sent it and us-2 received it: both refuse; eu-1 cannot know and accepts.
    for party in ("us-1", "us-2"):
        with pytest.raises(InvalidParameters):
            _finish(run, party, changed_pair)
    accepted = _finish(run, "eu-1", changed_pair)
    assert accepted.transcript_digest == changed_pair.digest().hex() != t.digest().hex()
    reordered = PresignTranscript(("us-2", "us-1", "eu-1"), t.K, t.G, t.round2, t.aux)
    with pytest.raises(InvalidParameters):
        _finish(run, "eu-1", reordered)
    # Aux parameters other than the ones a signer verified: another signer's name it (it
    # announced them), its own refuses naming nobody.
    lied = dataclasses.replace(t, aux={**t.aux, "eu-1": t.aux["us-1"]})
    for party in ("us-1", "us-2"):
        with pytest.raises(InvalidParameters) as named:
            _finish(run, party, lied)
        assert named.value.culprits == ("eu-1",)
    with pytest.raises(InvalidParameters) as own:
        _finish(run, "eu-1", lied)
    assert own.value.culprits == ()


def test_prove_chi_refuses_another_transcript_and_wrong_inputs() -> None:
    run = presigned(THREE)
    p = run.presignatures["eu-1"]
    secret = run.paillier("eu-1")
    other = _with_pair(run.transcript, "us-1", "us-2", lambda c: dataclasses.replace(c, F=c.F + 1))
    for args in (
        (p, secret, other, run.shares["eu-1"].S),  # a pair eu-1 never saw, but another digest
        (p, run.paillier("us-1"), run.transcript, run.shares["eu-1"].S),
        (p, secret, run.transcript, run.shares["us-1"].S),
        (dataclasses.replace(p, w=(p.w + 1) % Q), secret, run.transcript, run.shares["eu-1"].S),
    ):
        with pytest.raises(InvalidParameters):
            prove_chi(run.context, *args)


def test_honest_proofs_verify_against_any_transcript_agreeing_with_the_prover() -> None:
    """The identifier's transcript must be the accepted one; an honest prover's proofs only
    read the parts it checked itself, so a change elsewhere does not make them fail."""
    run = presigned(THREE)
    honest = honest_identifications(THREE)
    elsewhere = _with_pair(
        run.transcript, "us-1", "us-2", lambda c: dataclasses.replace(c, D=c.D + 1)
    )
    assert _culprits(run, run.shares, honest, transcript=elsewhere) == []
    # A change in a message from us-1 to eu-1 changes statements of both (us-1's Π_aff-g,
    # eu-1's Ĉ_i), so both would be named: which is why the identifier must use the
    # transcript the signers accepted (callers compare the digests across signers).
    received = _with_pair(
        run.transcript, "us-1", "eu-1", lambda c: dataclasses.replace(c, D_hat=c.D_hat * 4)
    )
    assert _culprits(run, run.shares, honest, transcript=received) == ["us-1", "eu-1"]


def _bumped(name: str) -> Callable[[Round2Ciphertexts], Round2Ciphertexts]:
    return lambda c: dataclasses.replace(c, **{name: getattr(c, name) + 1})


def test_transcript_digest_and_builder() -> None:
    run = presigned(THREE)
    t = run.transcript
    digest = t.digest()
    assert len(digest) == 32
    assert codec.decode(codec.encode(t), PresignTranscript).digest() == digest
    changed = [
        dataclasses.replace(t, K={**t.K, "us-2": t.K["us-2"] + 1}),
        dataclasses.replace(t, G={**t.G, "us-2": t.G["us-2"] - 1}),
        PresignTranscript(("eu-1", "us-1", "us-2"), t.K, t.G, t.round2, t.aux),
    ] + [
        _with_pair(t, i, j, _bumped(f))
        for i, j in (("us-1", "eu-1"), ("eu-1", "us-2"))
        for f in ("D", "F", "D_hat", "F_hat")
    ]
    digests = {c.digest() for c in changed}
    assert digest not in digests
    assert len(digests) == len(changed)
    # The builder needs every broadcast and every ordered pair, filed under its sender.
    b1, d2 = run.b1, run.d2
    with pytest.raises(InvalidParameters):
        presign.presign_transcript(run.context, {k: v for k, v in b1.items() if k != "us-1"}, d2)
    with pytest.raises(InvalidParameters):
        presign.presign_transcript(
            run.context, b1, {k: v for k, v in d2.items() if k != ("us-1", "eu-1")}
        )
    with pytest.raises(InvalidParameters):
        presign.presign_transcript(run.context, b1, {**d2, ("us-1", "eu-1"): d2[("us-1", "us-2")]})
    with pytest.raises(InvalidParameters):
        presign.presign_transcript(run.context, {**b1, "us-1": b1["us-2"]}, d2)
    with pytest.raises(InvalidParameters):
        PresignTranscript(t.signers, t.K, t.G, {**t.round2, "us-1": {}}, t.aux)


def test_round_trips_and_redaction() -> None:
    run = presigned(THREE)
    identification = honest_identifications(THREE)["us-2"]
    assert codec.decode(codec.encode(identification), ChiIdentification) == identification
    presignature = run.presignatures["us-2"]
    again = codec.decode(codec.encode(presignature), Presignature)
    assert again == presignature
    text = repr(presignature)
    assert "redacted" in text
    for secret in (presignature.w, presignature.k, presignature.chi, presignature.rho):
        assert str(secret) not in text
    conversion = next(iter(presignature.key_conversions.values()))
    assert str(conversion.beta_hat) not in repr(conversion)
    state3 = run.states3["us-2"]
    assert codec.decode(codec.encode(state3), presign.Round3State) == state3
    ciphertexts = state3.received2["us-1"]
    assert codec.decode(codec.encode(ciphertexts), Round2Ciphertexts) == ciphertexts


# --- χ: property over signer sets, cheaters and cheats --------------------------------------


def _lying_H(run: Presigned, party: str, d: int) -> tuple[ChiIdentification, SignatureShare]:
    """party shifts Ĥ_i by enc(d) and sends S_i + d·R: its Π_log* on the shifted Ĉ_i is
    true, so only Π_mul* (Ĥ_i is no longer K_i^{w_i}·ρ^N) can catch it."""
    context = run.context
    key = context.peers[party].paillier
    secret = run.paillier(party)
    honest = honest_identifications(context.signers)[party]
    H_hat = honest.H_hat * (1 + d * key.n) % key.n2
    C_hat = chi_ciphertext(context, run.transcript, party, H_hat)
    y = secret.decrypt(C_hat)
    share = _shifted(run.shares[party], run.R, d)
    assert run.R * SECP256K1.scalar(y) == share.S
    bits = chi_witness_bits(context.params, len(context.signers))
    statement = log_star.LogStarStatement(key0=key, C=C_hat, X=share.S, g=run.R)
    witness = log_star.LogStarWitness(x=y, rho=secret.randomness(C_hat))
    proofs = {
        v: dataclasses.replace(
            p,
            log_star=log_star.prove(
                statement,
                witness,
                context.peers[v].ring_pedersen,
                context.transcript(LABEL_LOG_STAR, party, v),
                params=context.params,
                witness_bits=bits,
            ),
        )
        for v, p in honest.proofs.items()
    }
    return ChiIdentification(party, H_hat, proofs), share


CHI_CHEATS = ["forged S", "chi offset", "silent", "lying H", "colluding recipient"]


@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_chi_identification_names_the_cheater_and_no_honest_signer(data: st.DataObject) -> None:
    signers = data.draw(st.sampled_from(SIGNER_SETS), label="signers")
    cheater = data.draw(st.sampled_from(signers), label="cheater")
    cheat = data.draw(st.sampled_from(CHI_CHEATS), label="cheat")
    d = data.draw(st.integers(1, 2**64), label="offset")
    run = presigned(signers)
    context = run.context
    identifications = dict(honest_identifications(signers))
    shares = dict(run.shares)
    transcript = run.transcript
    colluder = None
    if cheat in ("forged S", "silent"):
        shares[cheater] = _shifted(shares[cheater], run.R, d)
        if cheat == "silent":
            del identifications[cheater]
    elif cheat == "chi offset":
        wrong = dataclasses.replace(
            run.presignatures[cheater], chi=(run.presignatures[cheater].chi + d) % Q
        )
        shares[cheater] = _shifted(shares[cheater], run.R, d)
        identifications[cheater] = prove_chi(
            context, wrong, run.paillier(cheater), transcript, shares[cheater].S
        )
    elif cheat == "lying H":
        identifications[cheater], shares[cheater] = _lying_H(run, cheater, d)
    else:
        # The cheater sent D̂_{i,j} + enc(d) to a colluder i, who accepted it unchecked;
        # both then hold presignatures of the relay's transcript, and i's χ_i is off by d.
        colluder = data.draw(st.sampled_from([p for p in signers if p != cheater]), label="i")
        key = context.peers[colluder].paillier
        transcript = _with_pair(
            transcript,
            cheater,
            colluder,
            lambda c: dataclasses.replace(c, D_hat=c.D_hat * (1 + d * key.n) % key.n2),
        )
        digest = transcript.digest().hex()
        for party, offset in ((cheater, 0), (colluder, d)):
            original = run.presignatures[party]
            presignature = dataclasses.replace(
                original, transcript_digest=digest, chi=(original.chi + offset) % Q
            )
            if offset:
                shares[party] = _shifted(shares[party], run.R, offset)
            identifications[party] = prove_chi(
                context, presignature, run.paillier(party), transcript, shares[party].S
            )
    with pytest.raises(ChiCheckFailed):
        _combine(run, shares)
    culprits = _culprits(run, shares, identifications, transcript)
    # The colluder's own statements are true (it decrypted what it got): it is not named.
    assert culprits == [cheater], (cheat, colluder)


# --- δ: property over signer sets, liars and lies ---------------------------------------

DELTA_CHEATS = [
    "lie, honest opening",
    "lie, matching β",
    "lie, matching α",
    "lie, other k",
    "silent",
]


@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_delta_identification_names_the_liar_and_no_honest_signer(data: st.DataObject) -> None:
    signers = data.draw(st.sampled_from(SIGNER_SETS), label="signers")
    liar = data.draw(st.sampled_from(signers), label="liar")
    cheat = data.draw(st.sampled_from(DELTA_CHEATS), label="cheat")
    d = data.draw(st.integers(1, Q - 1), label="offset")
    run = presigned(signers)
    context = run.context
    b3 = {**run.b3, liar: dataclasses.replace(run.b3[liar], delta=(run.b3[liar].delta + d) % Q)}
    honest_party = next(p for p in signers if p != liar)
    others = context.others(honest_party)
    with pytest.raises(ConsistencyCheckFailed):
        presign.finish(
            context,
            run.states3[honest_party],
            {j: b3[j] for j in others},
            {j: run.d3[(j, honest_party)] for j in others},
            run.transcript,
        )
    openings = {p: open_delta(context, run.states3[p]) for p in signers}
    opening = openings[liar]
    peer = context.others(liar)[0]
    if cheat == "lie, matching β":
        beta, s = opening.betas[peer]
        opening = dataclasses.replace(opening, betas={**opening.betas, peer: (beta - d, s)})
    elif cheat == "lie, matching α":
        alpha, randomness = opening.alphas[peer]
        opening = dataclasses.replace(
            opening, alphas={**opening.alphas, peer: (alpha + d, randomness)}
        )
    elif cheat == "lie, other k":
        # k' with k'·γ = k·γ + d: the δ it opens to is the one it broadcast.
        k = (opening.k + d * pow(opening.gamma, -1, Q)) % Q
        opening = dataclasses.replace(opening, k=k)
    openings[liar] = opening
    if cheat == "silent":
        del openings[liar]
    assert identify_delta_culprits(context, run.transcript, b3, openings) == [liar]
    honest = {p: open_delta(context, run.states3[p]) for p in signers}
    assert identify_delta_culprits(context, run.transcript, run.b3, honest) == []
