"""Each party checks every peer's auxiliary information itself before it presigns.

The ECDSA party activities run against the in-memory vault fake with 2048-bit moduli
(FAST_TESTS) from the committed test safe primes. The coordinator relays the setup; here
it is the test, and it can "forget" a step, as a compromised coordinator would: a party
must then refuse to encrypt to that peer, whatever the coordinator checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import gmpy2
import pytest
from temporalio.exceptions import ApplicationError

from activities.ecdsa_party import EcdsaPartyActivities, _aux_session
from activities.models import (
    AuxGenerateInput,
    AuxVerifyFacInput,
    AuxVerifyPeerInput,
    PresignRoundInput,
)
from activities.prime_pool import SafePrimePool
from activities.protocol import KEY_SHARE, PUBLIC_KEY_PACKAGE, identifier
from mpc.ecdsa import aux_info
from mpc.ecdsa.aux_info import AuxInfoPublic, verify_aux_info
from mpc.ecdsa.paillier import random_below
from mpc.ecdsa.params import FAST_TESTS, PRODUCTION, SecurityParameters
from mpc.ecdsa.ring_pedersen import generate_ring_pedersen
from mpc.ecdsa.zk import fac, mod, prm
from mpc.frost import FROST_SECP256K1
from mpc.frost.serialization import encode
from runtime.authorization import RequestAuthorizer, RequestVerifier
from storage.vault.memory import InMemoryShareVault
from tests.helpers.broadcast import provision_message_keys
from tests.helpers.dealer import trusted_dealer_keygen
from tests.helpers.rng import DeterministicRng
from tests.helpers.vectors import load_json

PARTIES = ("alice", "bob", "carol")
WALLET = "eth-aux"
SESSION = "aux-session"
REQUESTS = RequestVerifier(RequestAuthorizer.generate().public_key)


def _safe_primes() -> list[int]:
    primes = load_json("ecdsa-safe-primes.json")["primes"][str(FAST_TESTS.prime_bits)]
    return [int(p, 16) for p in primes]


def _parties(
    names: tuple[str, ...] = PARTIES, params: SecurityParameters = FAST_TESTS
) -> dict[str, EcdsaPartyActivities]:
    """Parties with a dealt 2-of-n secp256k1 wallet and two pooled test primes each."""
    primes = _safe_primes()
    ids = {p: identifier(FROST_SECP256K1, p) for p in names}
    shares, package = trusted_dealer_keygen(FROST_SECP256K1, list(ids.values()), 2)
    parties = {}
    vaults = {party: InMemoryShareVault(party) for party in names}
    provision_message_keys(vaults)
    for n, party in enumerate(names):
        vault = vaults[party]
        vault.put_secret(WALLET, KEY_SHARE, encode(shares[ids[party]]))
        vault.put_secret(WALLET, PUBLIC_KEY_PACKAGE, encode(package))
        pool = SafePrimePool(vault, FAST_TESTS.prime_bits)
        for slot, prime in enumerate(primes[2 * n : 2 * n + 2]):
            vault.put_secret(
                "_party", f"ecdsa/prime-pool/{pool.bits}/{slot}", f"{prime:x}".encode()
            )
        parties[party] = EcdsaPartyActivities(party, vault, pool, requests=REQUESTS, params=params)
    return parties


def _setup(
    parties: dict[str, EcdsaPartyActivities],
    publics: dict[str, str] | None = None,
    skip_fac: Callable[[str, str], bool] = lambda prover, verifier: False,
) -> None:
    """The SetupEcdsa steps in order; ``skip_fac(prover, verifier)`` drops a Π_fac check."""
    generated = {
        p: a.aux_generate(AuxGenerateInput(session=SESSION)).public for p, a in parties.items()
    }
    generated |= publics or {}
    proofs = {}
    for verifier, activities in parties.items():
        for prover in generated:
            if prover != verifier:
                result = activities.aux_verify_peer(
                    AuxVerifyPeerInput(session=SESSION, peer=prover, peer_public=generated[prover])
                )
                proofs[(verifier, prover)] = result.fac_proof
    for (prover, verifier), proof in proofs.items():
        if verifier in parties and not skip_fac(prover, verifier):
            parties[verifier].aux_verify_fac(
                AuxVerifyFacInput(session=SESSION, prover=prover, fac_proof=proof)
            )
    for activities in parties.values():
        activities.aux_activate(AuxGenerateInput(session=SESSION))


def _round1(party: EcdsaPartyActivities, signers: tuple[str, ...], presign_id: str) -> None:
    party.presign_round1(
        PresignRoundInput(wallet_id=WALLET, presign_id=presign_id, signers=signers)
    )


def test_a_party_refuses_to_presign_with_a_peer_whose_fac_it_did_not_check() -> None:
    parties = _parties()
    # The coordinator never hands alice bob's Π_fac: she verified his Π_mod and Π_prm only.
    _setup(parties, skip_fac=lambda prover, verifier: (prover, verifier) == ("bob", "alice"))
    with pytest.raises(ApplicationError) as refused:
        _round1(parties["alice"], ("alice", "bob"), "p-1")
    assert refused.value.type == "PeerNotVerified"
    assert "bob" in refused.value.message
    assert refused.value.details == ([],)  # nobody is blamed: the setup must run again
    # With the peer she did check in full, she presigns; bob (who checked her) too.
    _round1(parties["alice"], ("alice", "carol"), "p-2")
    _round1(parties["bob"], ("alice", "bob"), "p-3")


def _blum_prime(bits: int, rng: DeterministicRng) -> int:
    while True:
        candidate = int(gmpy2.next_prime(random_below(1 << bits, rng) | (1 << (bits - 1))))
        if candidate % 4 == 3 and candidate.bit_length() == bits:
            return candidate


def _bitforge_modulus(party: str) -> tuple[int, int]:
    """A 2048-bit N = p·q with p a 20-bit prime, both 3 mod 4: a Blum modulus with valid
    Π_mod and Π_prm (CVE-2023-33241's shape: only Π_fac stands between it and a key)."""
    rng = DeterministicRng(f"bitforge/{party}")
    small = _blum_prime(20, rng)
    while True:
        large = _blum_prime(2048 - 20, rng)
        if (small * large).bit_length() == 2048:
            return small, large


def _bitforge_aux(party: str, factors: tuple[int, int]) -> AuxInfoPublic:
    small, large = factors
    n = small * large
    rng = DeterministicRng(f"bitforge-aux/{party}")
    sid = _aux_session(SESSION)  # the session id the parties verify under
    parameters, secret = generate_ring_pedersen(small, large, rng)
    s, t = parameters.s, parameters.t
    mod_proof = mod.prove(
        factors, aux_info._aux_transcript(sid, party, n, s, t, b"pi-mod"), rng, params=FAST_TESTS
    )
    prm_proof = prm.prove(
        secret,
        aux_info._aux_transcript(sid, party, n, s, t, b"pi-prm"),
        rng,
        params=FAST_TESTS,
        factors=factors,
    )
    return AuxInfoPublic(party_id=party, n=n, s=s, t=t, mod_proof=mod_proof, prm_proof=prm_proof)


def test_a_small_factor_modulus_without_fac_is_never_used_and_its_fac_is_refused() -> None:
    factors = _bitforge_modulus("mallory")
    mallory = _bitforge_aux("mallory", factors)
    # Π_mod and Π_prm hold for it: the checks before Π_fac cannot tell.
    verify_aux_info(mallory, "mallory", FAST_TESTS, _aux_session(SESSION))
    alice = {"alice": _parties(("alice", "mallory"))["alice"]}
    # A coordinator that skips every Π_fac: alice still refuses to presign with mallory.
    _setup(alice, {"mallory": mallory.to_json()}, skip_fac=lambda prover, verifier: True)
    with pytest.raises(ApplicationError) as refused:
        _round1(alice["alice"], ("alice", "mallory"), "p-4")
    assert refused.value.type == "PeerNotVerified"
    # The Π_fac mallory can make with her real factors is refused, naming her ...
    own = AuxInfoPublic.from_json(
        alice["alice"].aux_generate(AuxGenerateInput(session=SESSION)).public
    )
    proof = fac.prove(
        factors,
        own.ring_pedersen,
        aux_info._fac_transcript(_aux_session(SESSION), "mallory", "alice"),
        DeterministicRng("bitforge-fac"),
        params=FAST_TESTS,
    )
    with pytest.raises(ApplicationError) as blamed:
        alice["alice"].aux_verify_fac(
            AuxVerifyFacInput(
                session=SESSION,
                prover="mallory",
                fac_proof=json.dumps(aux_info.fac_proof_to_dict(proof)),
            )
        )
    assert blamed.value.type == "InvalidProof"
    assert blamed.value.details == (["mallory"],)
    # ... and presigning with her stays refused.
    with pytest.raises(ApplicationError) as still:
        _round1(alice["alice"], ("alice", "mallory"), "p-5")
    assert still.value.type == "PeerNotVerified"


def test_production_parties_refuse_aux_info_made_at_test_sizes() -> None:
    """Moduli under 3072 bits, as the old QUORATE_ECDSA_MODULUS_BITS=2048 allowed, are
    refused by a production party when it verifies them."""
    weak = _parties(("alice", "bob"))
    strong = _parties(("carol", "dave"), params=PRODUCTION)["carol"]
    public = weak["alice"].aux_generate(AuxGenerateInput(session=SESSION)).public
    with pytest.raises(ApplicationError) as refused:
        strong.aux_verify_peer(
            AuxVerifyPeerInput(session=SESSION, peer="alice", peer_public=public)
        )
    assert refused.value.type == "InvalidModulus"
    assert refused.value.details == (["alice"],)
