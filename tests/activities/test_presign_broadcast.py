"""CGGMP21 presigning's round-1 broadcast ``(K_i, G_i)`` as a reliable broadcast.

The ECDSA party activities run against the in-memory vault fake with 2048-bit moduli
(FAST_TESTS) from the committed test safe primes, a dealt 2-of-3 secp256k1 wallet and a
real aux-info setup through the activities; the test plays the relay.

The attack: carol runs round 1 twice for one presignature (a copy of her vault, as if she
ignored her own record of the first answer), and the relay gives bob the second
broadcast (with its direct messages), alice the first. Each is validly signed and its
proofs verify, so round 2 passes at both; in round 3, before δ_i and χ_i are computed,
every signer compares the echoes and names carol (``BroadcastEquivocation``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

import pytest
from temporalio.exceptions import ApplicationError

from activities.ecdsa_party import EcdsaPartyActivities
from activities.models import (
    AuxGenerateInput,
    AuxVerifyFacInput,
    AuxVerifyPeerInput,
    PresignRoundInput,
    PresignRoundResult,
)
from activities.prime_pool import SafePrimePool
from activities.protocol import KEY_SHARE, PUBLIC_KEY_PACKAGE, identifier
from mpc.ecdsa.params import FAST_TESTS
from mpc.frost import FROST_SECP256K1
from mpc.frost.serialization import encode
from runtime.authorization import RequestAuthorizer, RequestVerifier
from storage.vault.memory import InMemoryShareVault
from tests.helpers.broadcast import provision_message_keys
from tests.helpers.dealer import trusted_dealer_keygen
from tests.helpers.vectors import load_json

SIGNERS = ("alice", "bob", "carol")
WALLET = "eth-broadcast"
SESSION = "aux-broadcast"
REQUESTS = RequestVerifier(RequestAuthorizer.generate().public_key)

Round = dict[str, PresignRoundResult]


def _parties() -> dict[str, EcdsaPartyActivities]:
    return _setup()[0]


@cache
def _setup() -> tuple[dict[str, EcdsaPartyActivities], dict[str, InMemoryShareVault]]:
    """Three signers of one wallet, with verified aux info, and their vaults: set up once
    for the module (each test uses presignature ids of its own)."""
    primes = [
        int(p, 16)
        for p in load_json("ecdsa-safe-primes.json")["primes"][str(FAST_TESTS.prime_bits)]
    ]
    ids = {p: identifier(FROST_SECP256K1, p) for p in SIGNERS}
    shares, package = trusted_dealer_keygen(FROST_SECP256K1, list(ids.values()), 2)
    vaults = {p: InMemoryShareVault(p) for p in SIGNERS}
    provision_message_keys(vaults)
    parties = {}
    for n, party in enumerate(SIGNERS):
        vault = vaults[party]
        vault.put_secret(WALLET, KEY_SHARE, encode(shares[ids[party]]))
        vault.put_secret(WALLET, PUBLIC_KEY_PACKAGE, encode(package))
        for slot, prime in enumerate(primes[2 * n : 2 * n + 2]):
            vault.put_secret(
                "_party", f"ecdsa/prime-pool/{FAST_TESTS.prime_bits}/{slot}", f"{prime:x}".encode()
            )
        parties[party] = _activities(vault)
    # SetupEcdsa's steps, relayed by the test.
    public = {
        p: a.aux_generate(AuxGenerateInput(session=SESSION)).public for p, a in parties.items()
    }
    # Each party checks every peer's aux info and proves Π_fac to it; then each checks
    # the Π_fac proofs made for it.
    proofs = {
        (prover, verifier): parties[prover]
        .aux_verify_peer(
            AuxVerifyPeerInput(session=SESSION, peer=verifier, peer_public=public[verifier])
        )
        .fac_proof
        for prover in SIGNERS
        for verifier in SIGNERS
        if prover != verifier
    }
    for (prover, verifier), proof in proofs.items():
        parties[verifier].aux_verify_fac(
            AuxVerifyFacInput(session=SESSION, prover=prover, fac_proof=proof)
        )
    for activities in parties.values():
        activities.aux_activate(AuxGenerateInput(session=SESSION))
    return parties, vaults


def _activities(vault: InMemoryShareVault) -> EcdsaPartyActivities:
    pool = SafePrimePool(vault, FAST_TESTS.prime_bits)
    return EcdsaPartyActivities(vault.party_id, vault, pool, requests=REQUESTS, params=FAST_TESTS)


def _request(presign_id: str, **fields: object) -> PresignRoundInput:
    return PresignRoundInput.model_validate(
        {"wallet_id": WALLET, "presign_id": presign_id, "signers": SIGNERS, **fields}
    )


def _others(party: str) -> list[str]:
    return [j for j in SIGNERS if j != party]


def _round2_input(presign_id: str, r1: Mapping[str, Round], party: str) -> PresignRoundInput:
    """Round 2's input at ``party``; ``r1[party]`` is round 1 as the relay shows it to it."""
    view = r1[party]
    return _request(
        presign_id,
        broadcasts={j: view[j].broadcast for j in _others(party)},
        direct={j: view[j].direct[party] for j in _others(party)},
        signatures={j: view[j].signature for j in _others(party)},
    )


def _round3_input(presign_id: str, r2: Round, party: str) -> PresignRoundInput:
    return _request(
        presign_id,
        direct={j: r2[j].direct[party] for j in _others(party)},
        echoes={j: r2[j].echo for j in _others(party)},
    )


def _round1(presign_id: str) -> Round:
    return {p: a.presign_round1(_request(presign_id)) for p, a in _parties().items()}


def _round2(presign_id: str, r1: Round, views: Callable[[str], Round] | None = None) -> Round:
    view = views or (lambda party: r1)
    return {
        p: a.presign_round2(_round2_input(presign_id, {p: view(p)}, p))
        for p, a in _parties().items()
    }


def test_signed_presigning_completes_and_retries_answer_the_same_messages() -> None:
    presign_id = "presign-ok"
    r1 = _round1(presign_id)
    assert all(len(bytes.fromhex(r.signature)) == 64 for r in r1.values())
    # A retried round 1 answers its stored broadcast and signature: never a second one.
    assert _parties()["alice"].presign_round1(_request(presign_id)) == r1["alice"]
    r2 = _round2(presign_id, r1)
    assert all(r.echo is not None and set(r.echo.entries) == set(SIGNERS) for r in r2.values())
    again = _parties()["bob"].presign_round2(_round2_input(presign_id, {"bob": r1}, "bob"))
    assert again == r2["bob"]
    # Every echo agrees: round 3 goes on at every signer (the output step is the same as
    # without signed broadcasts; tests/integration/test_ecdsa.py runs it end to end).
    r3 = {p: a.presign_round3(_round3_input(presign_id, r2, p)) for p, a in _parties().items()}
    assert all(r.broadcast for r in r3.values())


def test_an_equivocated_round1_broadcast_aborts_naming_its_sender() -> None:
    presign_id = "presign-equivocation"
    # carol's vault before round 1, copied: from it she answers round 1 a second time.
    fork = InMemoryShareVault("carol")
    fork._secrets = dict(_setup()[1]["carol"]._secrets)
    r1 = _round1(presign_id)
    second = _activities(fork).presign_round1(_request(presign_id))
    assert second.broadcast != r1["carol"].broadcast
    to_bob = {**r1, "carol": second}
    # Every view verifies on its own (signatures and Π_enc proofs): round 2 passes.
    r2 = _round2(presign_id, r1, lambda party: to_bob if party == "bob" else r1)
    for party, activities in _parties().items():
        with pytest.raises(ApplicationError) as caught:
            activities.presign_round3(_round3_input(presign_id, r2, party))
        assert caught.value.type == "BroadcastEquivocation", party
        assert caught.value.details[0] == ["carol"]
        assert caught.value.non_retryable


def test_a_broadcast_not_signed_by_its_sender_is_refused_naming_the_sender() -> None:
    presign_id = "presign-forged"
    r1 = _round1(presign_id)
    # The relay alters carol's (K, G): her signature no longer covers it.
    forged = {**r1, "carol": r1["carol"].model_copy(update={"broadcast": r1["alice"].broadcast})}
    with pytest.raises(ApplicationError) as caught:
        _parties()["bob"].presign_round2(_round2_input(presign_id, {"bob": forged}, "bob"))
    assert caught.value.type == "InvalidBroadcastSignature"
    assert caught.value.details[0] == ["carol"]
    # Without the signatures (a relay from before they existed), nobody is named.
    unsigned = _round2_input(presign_id, {"alice": r1}, "alice").model_copy(
        update={"signatures": {}}
    )
    with pytest.raises(ApplicationError) as missing:
        _parties()["alice"].presign_round2(unsigned)
    assert missing.value.type == "IncompleteBroadcast"
    assert missing.value.details[0] == []
