"""A party's own checks, without Temporal: it makes or uses a nonce only for an authorized
request, and destroys a failed ceremony's nonces for good (in-memory vault fake)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from temporalio.exceptions import ApplicationError

from activities.models import DiscardNoncesInput, SignRound1Input, SignRound2Input
from activities.party import PartyActivities
from mpc.frost import FROST_ED25519
from runtime.authorization import RequestAuthorization, RequestAuthorizer
from tests.activities.test_party import AUTHORIZER, WALLET, _dkg

CS = FROST_ED25519.id
SIGNERS = ("us-1", "us-2", "eu-1")
MESSAGE = b"pay 5".hex()


def _round1(ceremony: str, authorization: RequestAuthorization | None) -> SignRound1Input:
    return SignRound1Input(
        wallet_id=WALLET,
        ceremony_id=ceremony,
        ciphersuite=CS,
        message=MESSAGE,
        authorization=authorization,
    )


def _round2(
    ceremony: str,
    authorization: RequestAuthorization,
    commitments: dict[str, str],
    message: str = MESSAGE,
) -> SignRound2Input:
    return SignRound2Input(
        wallet_id=WALLET,
        ceremony_id=ceremony,
        ciphersuite=CS,
        message=message,
        commitments=commitments,
        authorization=authorization,
    )


def _commit(
    parties: dict[str, PartyActivities],
    ceremony: str,
    authorization: RequestAuthorization,
    signers: tuple[str, ...] = SIGNERS,
) -> dict[str, str]:
    """Each of ``signers``' round-1 commitments."""
    return {
        p: parties[p].sign_round1(_round1(ceremony, authorization)).commitments for p in signers
    }


def _refusal(call: Callable[[], object]) -> str:
    with pytest.raises(ApplicationError) as caught:
        call()
    assert caught.value.non_retryable
    return f"{caught.value.type}: {caught.value.message}"


@pytest.fixture(scope="module")
def parties() -> dict[str, PartyActivities]:
    activities: dict[str, PartyActivities] = _dkg(CS)[0]
    return activities


def test_no_nonce_without_a_valid_authorization(parties: dict[str, PartyActivities]) -> None:
    forger = RequestAuthorizer.generate()
    message = bytes.fromhex(MESSAGE)
    cases = {
        "c-missing": None,
        "c-forged": forger.authorize_sign("c-forged", WALLET, message),
        "c-expired": AUTHORIZER.authorize_sign("c-expired", WALLET, message, ttl=-1),
        "c-other": AUTHORIZER.authorize_sign("c-other", WALLET, b"pay 5000"),
        "c-not-this": AUTHORIZER.authorize_sign("c-another", WALLET, message),
    }
    for ceremony, authorization in cases.items():
        for party, activities in parties.items():
            round1 = _round1(ceremony, authorization)

            def attempt(a: PartyActivities = activities, r: SignRound1Input = round1) -> object:
                return a.sign_round1(r)

            refusal = _refusal(attempt)
            assert refusal.startswith("Unauthorized: "), refusal
            assert activities._vault.nonce_state(WALLET, ceremony) is None, party


def test_round2_refuses_another_message_and_leaves_the_nonces_unused(
    parties: dict[str, PartyActivities],
) -> None:
    authorization = AUTHORIZER.authorize_sign("c-round2", WALLET, bytes.fromhex(MESSAGE))
    commitments = _commit(parties, "c-round2", authorization)
    request = _round2("c-round2", authorization, commitments, message=b"pay 5000".hex())
    assert _refusal(lambda: parties["us-1"].sign_round2(request)).startswith(
        "Unauthorized: wrong-message"
    )
    assert parties["us-1"]._vault.nonce_state(WALLET, "c-round2") == "fresh"


def test_a_named_signer_set_is_enforced_by_each_party(parties: dict[str, PartyActivities]) -> None:
    authorization = AUTHORIZER.authorize_sign(
        "c-named", WALLET, bytes.fromhex(MESSAGE), signers=("us-1", "us-2", "eu-2")
    )
    # eu-1 is not named: it refuses to commit at all.
    assert _refusal(
        lambda: parties["eu-1"].sign_round1(_round1("c-named", authorization))
    ).startswith("Unauthorized: wrong-signers")
    # us-1 is named but asked to sign with another set: refused in round 2.
    commitments = _commit(parties, "c-named", authorization, ("us-1", "us-2"))
    request = _round2("c-named", authorization, {**commitments, "eu-1": commitments["us-2"]})
    assert _refusal(lambda: parties["us-1"].sign_round2(request)).startswith(
        "Unauthorized: wrong-signers"
    )


def test_discarding_destroys_once_and_leaves_a_tombstone(
    parties: dict[str, PartyActivities],
) -> None:
    us1 = parties["us-1"]
    authorization = AUTHORIZER.authorize_sign("c-discard", WALLET, bytes.fromhex(MESSAGE))
    commitments = _commit(parties, "c-discard", authorization)
    # us-2 signs (its nonce is used); us-1 and eu-1 do not.
    parties["us-2"].sign_round2(_round2("c-discard", authorization, commitments))
    request = DiscardNoncesInput(wallet_id=WALLET, ceremony_id="c-discard")
    assert us1.discard_nonces(request).outcome == "destroyed"
    assert us1.discard_nonces(request).outcome == "already-discarded"  # idempotent
    assert parties["us-2"].discard_nonces(request).outcome == "used"
    assert us1._vault.nonce_state(WALLET, "c-discard") == "consumed"
    # Its round 2 can no longer sign.
    assert _refusal(
        lambda: us1.sign_round2(_round2("c-discard", authorization, commitments))
    ).startswith("NonceAlreadyConsumed")
    # A party that had made no nonce for a ceremony keeps a tombstone: a round 1 arriving
    # late cannot make nonces for it.
    late = DiscardNoncesInput(wallet_id=WALLET, ceremony_id="c-late")
    assert parties["eu-2"].discard_nonces(late).outcome == "none"
    tomb = AUTHORIZER.authorize_sign("c-late", WALLET, bytes.fromhex(MESSAGE))
    assert _refusal(lambda: parties["eu-2"].sign_round1(_round1("c-late", tomb))).startswith(
        "CeremonyDiscarded"
    )
