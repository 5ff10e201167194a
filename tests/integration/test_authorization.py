"""Issue 11 on the real dev server and real party workers: authorized requests only,
idempotency keys that cannot be reused for another request, reserved child ids, and the
nonces of failed ceremonies destroyed and recorded.

Each test plays the attack or the mistake: an orchestration that starts a Sign workflow
straight through Temporal (as anyone who can reach Temporal could) with no, a forged, an
expired or another request's authorization; a caller reusing an idempotency key; a key
that squats a transfer's ceremony id; a party whose clock is off so a ceremony fails
halfway. The refusal is checked where it happens: the parties' activities in the
history, the vaults (no nonce made, or the made ones destroyed), the event store.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.models import CreateWalletInput, PresignInput, SignInput, SignTransactionInput
from activities.party import DISCARD_DIGEST, DISCARDED
from chains.config import ChainConfig, ChainsConfig
from chains.fake import FakeChain
from chains.models import SigningPayload, TransferIntent, UnsignedTransaction
from chains.registry import ChainRegistry
from quorate.client import (
    CeremonyFailed,
    create_wallet,
    faucet,
    presign,
    sign,
    sign_transaction,
    wallet_address,
)
from runtime.authorization import (
    RequestAuthorization,
    RequestAuthorizer,
    RequestVerifier,
    TransferPayload,
    transfer_ceremony_id,
)
from runtime.names import COORDINATOR_TASK_QUEUE
from runtime.provision import provision_local, request_signing_key_path
from runtime.settings import Settings
from storage.vault.errors import NonceAlreadyConsumed
from tests.helpers.fake_cosigner import fake_transfer_payloads
from tests.integration.conftest import System, start_system
from workflows.sign import SignWorkflow

SIGNERS = ("apac-1", "eu-1", "us-1")
RECIPIENT = "fake:" + "ab" * 20
ATTACKER = "fake:" + "66" * 20


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _wallet(system: System, scheme: str = "bip340") -> str:
    created = await create_wallet(
        system.client, CreateWalletInput(wallet_id=_id("w"), scheme=scheme)
    )
    return created.wallet_id


async def _run_sign(client: Client, ceremony_id: str, request: SignInput, **options: Any) -> str:
    """Starts a Sign workflow directly, as an orchestration could; its failure's type and
    message (``Unauthorized``, ``expired: ...``)."""
    with pytest.raises(WorkflowFailureError) as caught:
        await client.execute_workflow(
            SignWorkflow.run,
            request,
            id=ceremony_id,
            task_queue=COORDINATOR_TASK_QUEUE,
            **options,
        )
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return f"{cause.type}: {cause.message}"


async def _round_outcomes(client: Client, ceremony_id: str) -> dict[str, list[str]]:
    """For each party activity type, how each of its scheduled activities ended."""
    history = await client.get_workflow_handle(ceremony_id).fetch_history()
    scheduled = {}
    outcomes: dict[str, list[str]] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            name = scheduled[event.activity_task_completed_event_attributes.scheduled_event_id]
            outcomes.setdefault(name, []).append("completed")
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failed = event.activity_task_failed_event_attributes
            kind = failed.failure.application_failure_info.type
            outcomes.setdefault(scheduled[failed.scheduled_event_id], []).append(kind)
    return outcomes


async def _failed_reason(system: System, ceremony_id: str) -> str:
    (failed,) = [
        e
        for e in await system.events.read_all()
        if e.event_type == "CeremonyFailed" and e.payload["ceremony_id"] == ceremony_id
    ]
    return str(failed.payload["reason"])


def _commitments_of(system: System, party: str, wallet_id: str, ceremony_id: str) -> bytes:
    """What the party's vault holds for the ceremony (storing over a record never changes
    it, so this reads): DISCARDED for the tombstone of a ceremony it never made nonces in."""
    return system.vaults[party].store_nonces(wallet_id, ceremony_id, b"probe", b"probe")


def _destroyed(system: System, party: str, wallet_id: str, key: str) -> bool:
    """Whether the record was consumed by a discard (and by nothing else)."""

    def compute(_: bytes) -> bytes:
        raise AssertionError("the record is still fresh")

    try:
        stored = system.vaults[party].consume_nonces(wallet_id, key, DISCARD_DIGEST, compute)
    except NonceAlreadyConsumed:
        return False  # consumed by a round that released a share
    return stored == DISCARDED


# -- no share without an authorized request --------------------------------------------


async def test_a_request_without_a_valid_authorization_is_refused_by_every_party(
    system: System,
) -> None:
    wallet_id = await _wallet(system)
    other_wallet = await _wallet(system)
    message = hashlib.sha256(b"send everything to the attacker").digest()
    authorizer = system.authorizer
    forger = RequestAuthorizer.generate()
    stale = RequestAuthorizer.load(
        request_signing_key_path(system.settings), clock=lambda: time.time() - 3600
    )

    def authorized(
        signer: RequestAuthorizer,
        request_id: str,
        wallet: str = wallet_id,
        signed: bytes = message,
        ttl: int = 600,
    ) -> RequestAuthorization:
        return signer.authorize_sign(request_id, wallet, signed, signers=SIGNERS, ttl=ttl)

    cases: list[tuple[str, Callable[[str], RequestAuthorization | None]]] = [
        ("missing", lambda cid: None),
        ("bad-signature", lambda cid: authorized(forger, cid)),
        ("expired", lambda cid: authorized(stale, cid, ttl=60)),
        ("wrong-message", lambda cid: authorized(authorizer, cid, signed=b"\x00" * 32)),
        ("wrong-wallet", lambda cid: authorized(authorizer, cid, wallet=other_wallet)),
        ("wrong-request", lambda cid: authorized(authorizer, _id("another-request"))),
    ]
    for reason, make in cases:
        ceremony_id = _id(f"attack-{reason}")
        request = SignInput(
            wallet_id=wallet_id,
            message=message.hex(),
            signers=SIGNERS,
            authorization=make(ceremony_id),
        )
        failure = await _run_sign(system.client, ceremony_id, request)
        assert failure.startswith(f"Unauthorized: {reason}:"), failure
        # Every signer refused in round 1 (all of them answered: the workflow waited), and
        # round 2 never ran: no share left any party.
        outcomes = await _round_outcomes(system.client, ceremony_id)
        assert outcomes["party.sign_round1"] == ["Unauthorized"] * 3, (reason, outcomes)
        assert "party.sign_round2" not in outcomes
        # No party made a nonce: each holds only the discard's tombstone.
        for party in SIGNERS:
            assert _commitments_of(system, party, wallet_id, ceremony_id) == DISCARDED
        # The refusal is the ceremony's CeremonyFailed, with what the cleanup found.
        recorded = await _failed_reason(system, ceremony_id)
        assert recorded.startswith(f"Unauthorized: {reason}:"), recorded
        assert recorded.endswith("[cleanup: nonces: none stored 3 (apac-1, eu-1, us-1)]")
    kinds = [e.event_type for e in await system.events.read_all()]
    assert kinds.count("SignatureProduced") == 0
    assert kinds.count("CeremonyFailed") == len(cases)

    # The same request, authorized, signs.
    signed = await sign(
        system.client,
        SignInput(wallet_id=wallet_id, message=message.hex(), signers=SIGNERS),
        authorizer=authorizer,
    )
    assert signed.signers == SIGNERS


# -- idempotency: one key, one request -------------------------------------------------


async def test_a_reused_sign_key_is_refused_for_any_other_request(system: System) -> None:
    wallet_id = await _wallet(system)
    other_wallet = await _wallet(system)
    digest = hashlib.sha256(b"first").hexdigest()
    request = SignInput(wallet_id=wallet_id, message=digest)
    key = _id("sign-key")
    first = await sign(system.client, request, key, authorizer=system.authorizer)
    assert await sign(system.client, request, key, authorizer=system.authorizer) == first
    for other in (
        request.model_copy(update={"message": hashlib.sha256(b"second").hexdigest()}),
        request.model_copy(update={"wallet_id": other_wallet}),
        request.model_copy(update={"signers": ("us-2", "eu-2", "apac-2")}),
        request.model_copy(update={"taproot_merkle_root": "11" * 32}),
    ):
        with pytest.raises(CeremonyFailed) as caught:
            await sign(system.client, other, key, authorizer=system.authorizer)
        assert caught.value.kind == "RequestConflict"
    # A key used by another kind of request is refused too (not answered with its result).
    with pytest.raises(CeremonyFailed) as caught:
        await create_wallet(
            system.client, CreateWalletInput(wallet_id=_id("w"), scheme="bip340"), key
        )
    assert caught.value.kind == "RequestConflict"
    produced = [e for e in await system.events.read_all() if e.event_type == "SignatureProduced"]
    assert len(produced) == 1

    # Two calls in flight with one key and different messages: one signs, one is refused.
    racing = _id("race")
    outcomes = await asyncio.gather(
        *(
            sign(
                system.client,
                SignInput(wallet_id=wallet_id, message=hashlib.sha256(m).hexdigest()),
                racing,
                authorizer=system.authorizer,
            )
            for m in (b"race a", b"race b")
        ),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, CeremonyFailed)]
    assert len(refused) == 1
    assert refused[0].kind == "RequestConflict"
    assert len([o for o in outcomes if not isinstance(o, BaseException)]) == 1


async def test_a_reused_wallet_key_is_refused_for_another_wallet_request(system: System) -> None:
    key = _id("create-key")
    request = CreateWalletInput(wallet_id=_id("w"), scheme="bip340")
    first = await create_wallet(system.client, request, key)
    assert await create_wallet(system.client, request, key) == first
    for other in (
        request.model_copy(update={"scheme": "ed25519"}),
        request.model_copy(update={"parties": ("us-1", "us-2", "eu-1", "eu-2")}),
        request.model_copy(update={"threshold": 4}),
    ):
        with pytest.raises(CeremonyFailed) as caught:
            await create_wallet(system.client, other, key)
        assert caught.value.kind == "RequestConflict"
    racing = _id("create-race")
    wallet_id = _id("w")
    outcomes = await asyncio.gather(
        create_wallet(
            system.client, CreateWalletInput(wallet_id=wallet_id, scheme="bip340"), racing
        ),
        create_wallet(
            system.client, CreateWalletInput(wallet_id=wallet_id, scheme="ed25519"), racing
        ),
        return_exceptions=True,
    )
    kinds = sorted(o.kind if isinstance(o, CeremonyFailed) else type(o).__name__ for o in outcomes)
    assert kinds == ["CreateWalletResult", "RequestConflict"]


async def test_a_reused_presign_key_is_refused_for_another_presign_request(
    system: System,
) -> None:
    # Presigning is refused for a FROST wallet (InvalidMessage): that first outcome is what
    # the key returns again, and another request under it is a conflict, not that outcome.
    wallet_id = await _wallet(system)
    key = _id("presign-key")
    for _ in range(2):
        with pytest.raises(CeremonyFailed) as first:
            await presign(system.client, PresignInput(wallet_id=wallet_id, count=1), key)
        assert first.value.kind == "InvalidMessage"
    with pytest.raises(CeremonyFailed) as caught:
        await presign(system.client, PresignInput(wallet_id=wallet_id, count=2), key)
    assert caught.value.kind == "RequestConflict"
    racing = _id("presign-race")
    outcomes = await asyncio.gather(
        *(
            presign(system.client, PresignInput(wallet_id=wallet_id, count=n), racing)
            for n in (1, 2)
        ),
        return_exceptions=True,
    )
    assert sorted(o.kind for o in outcomes if isinstance(o, CeremonyFailed)) == [
        "InvalidMessage",
        "RequestConflict",
    ]


# -- nonces of failed ceremonies -------------------------------------------------------


class LateClock:
    """A party's clock that is right for its first ``on_time`` readings, then a day ahead:
    the authorization is current at round 1 and expired at round 2."""

    def __init__(self, on_time: int) -> None:
        self.readings = 0
        self.on_time = on_time

    def __call__(self) -> float:
        self.readings += 1
        return time.time() + (0 if self.readings <= self.on_time else 86_400)


@pytest.fixture
async def skewed_system(settings: Settings, temporal: WorkflowEnvironment) -> AsyncIterator[System]:
    """eu-1's clock jumps a day ahead after round 1; eu-2's is a day ahead throughout."""
    topology = provision_local(settings)
    key = bytes.fromhex(str(topology.request_signing_public_key))
    chains = ChainsConfig.load(settings.chains)
    party_requests = {
        "eu-1": RequestVerifier(key, chains, clock=LateClock(on_time=1)),
        "eu-2": RequestVerifier(key, chains, clock=lambda: time.time() + 86_400),
    }
    async for running in start_system(settings, temporal.client, party_requests=party_requests):
        yield running


async def test_nonces_are_destroyed_after_a_round2_failure_and_recorded(
    skewed_system: System,
) -> None:
    system = skewed_system
    wallet_id = await _wallet(system, "ed25519")
    key = _id("round2-fails")
    signers = ("us-1", "eu-1", "apac-1")
    with pytest.raises(CeremonyFailed) as caught:
        await sign(
            system.client,
            SignInput(wallet_id=wallet_id, message=b"m".hex(), signers=signers),
            key,
            authorizer=system.authorizer,
        )
    assert caught.value.kind == "Unauthorized"
    outcomes = await _round_outcomes(system.client, key)
    assert outcomes["party.sign_round1"] == ["completed"] * 3
    assert sorted(outcomes["party.sign_round2"]) == ["Unauthorized", "completed", "completed"]
    assert outcomes["party.discard_nonces"] == ["completed"] * 3
    # eu-1 made nonces in round 1 and refused round 2: they are destroyed, not left fresh;
    # the two that signed had already consumed theirs.
    assert _commitments_of(system, "eu-1", wallet_id, key) != DISCARDED
    assert _destroyed(system, "eu-1", wallet_id, key)
    assert system.vaults["eu-1"].nonce_state(wallet_id, key) == "consumed"
    for party in ("us-1", "apac-1"):
        assert not _destroyed(system, party, wallet_id, key)
    reason = await _failed_reason(system, key)
    assert reason.startswith("Unauthorized: expired:")
    assert reason.endswith("[cleanup: nonces: destroyed 1 (eu-1), already used 2 (apac-1, us-1)]")


async def test_nonces_are_destroyed_when_a_signer_refuses_round1(skewed_system: System) -> None:
    system = skewed_system
    wallet_id = await _wallet(system, "ed25519")
    key = _id("round1-fails")
    with pytest.raises(CeremonyFailed) as caught:
        await sign(
            system.client,
            SignInput(wallet_id=wallet_id, message=b"m".hex(), signers=("us-1", "us-2", "eu-2")),
            key,
            authorizer=system.authorizer,
        )
    assert caught.value.kind == "Unauthorized"
    for party in ("us-1", "us-2"):
        assert _commitments_of(system, party, wallet_id, key) != DISCARDED  # it made nonces
        assert _destroyed(system, party, wallet_id, key)  # and they are gone
    assert _commitments_of(system, "eu-2", wallet_id, key) == DISCARDED  # it made none
    reason = await _failed_reason(system, key)
    assert reason.endswith("[cleanup: nonces: destroyed 2 (us-1, us-2), none stored 1 (eu-2)]")
    # A retry of the ceremony's round 1 at a party cannot make new nonces for it.
    assert system.vaults["us-1"].nonce_state(wallet_id, key) == "consumed"


# -- transfers: reserved child ids, the intent, the transaction ------------------------

FAKE_CHAIN = "fake-solana"
FAKE_CONFIG = ChainConfig(
    name=FAKE_CHAIN, family="solana", symbol="F", decimals=0, confirmations=1, poll_interval=0.05
)


@pytest.fixture
async def fake_system(settings: Settings, temporal: WorkflowEnvironment) -> AsyncIterator[System]:
    registry = ChainRegistry(
        ChainsConfig(chains={FAKE_CHAIN: FAKE_CONFIG}), [FakeChain(FAKE_CONFIG)]
    )
    async for running in start_system(
        settings,
        temporal.client,
        chains=registry,
        decoders={FAKE_CHAIN: fake_transfer_payloads},
    ):
        yield running


async def _funded(system: System) -> str:
    wallet_id = await _wallet(system, "ed25519")
    address = (await wallet_address(system.client, wallet_id, FAKE_CHAIN)).address
    await faucet(system.client, FAKE_CHAIN, address, 100_000)
    return wallet_id


def _transfer(
    wallet_id: str, amount: int = 5_000, signers: tuple[str, ...] = ()
) -> SignTransactionInput:
    intent = TransferIntent(chain=FAKE_CHAIN, to=RECIPIENT, amount=amount)
    return SignTransactionInput(wallet_id=wallet_id, intent=intent, signers=signers)


async def _wallet_key(system: System, wallet_id: str) -> bytes:
    """The wallet's group key, as its creation recorded it."""
    for event in await system.events.read_all():
        if event.event_type == "WalletCreated" and event.payload["wallet_id"] == wallet_id:
            return bytes.fromhex(event.payload["group_public_key"])
    raise AssertionError(f"no wallet {wallet_id}")


async def test_a_squatted_child_id_no_longer_blocks_a_transfer(fake_system: System) -> None:
    system = fake_system
    wallet_id = await _funded(system)
    key = _id("tr-b")
    # The old child id, taken first by a plain signing request under a user's key.
    await sign(
        system.client,
        SignInput(wallet_id=wallet_id, message=b"squat".hex()),
        f"{key}.sign-0",
        authorizer=system.authorizer,
    )
    result = await sign_transaction(
        system.client, _transfer(wallet_id), key, authorizer=system.authorizer
    )
    assert result.status == "confirmed"
    assert result.ceremonies == (transfer_ceremony_id(key, 0),)
    # The new one cannot be taken: the client refuses keys under the reserved prefix.
    with pytest.raises(CeremonyFailed) as caught:
        await sign(
            system.client,
            SignInput(wallet_id=wallet_id, message=b"squat".hex()),
            transfer_ceremony_id(_id("tr-c"), 0),
            authorizer=system.authorizer,
        )
    assert caught.value.kind == "InvalidIdempotencyKey"


async def test_a_reused_transfer_key_in_flight_gets_one_transfer(fake_system: System) -> None:
    system = fake_system
    wallet_id = await _funded(system)
    key = _id("tr-race")
    outcomes = await asyncio.gather(
        *(
            sign_transaction(
                system.client, _transfer(wallet_id, amount), key, authorizer=system.authorizer
            )
            for amount in (5_000, 6_000)
        ),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, CeremonyFailed)]
    assert [r.kind for r in refused] == ["RequestConflict"]
    (done,) = [o for o in outcomes if not isinstance(o, BaseException)]
    assert done.status == "confirmed"
    kinds = [e.event_type for e in await system.events.read_all()]
    assert kinds.count("TransactionBuilt") == 1
    assert kinds.count("SignatureProduced") == 1


async def test_parties_refuse_a_transaction_that_is_not_the_authorized_intent(
    fake_system: System,
) -> None:
    """A compromised orchestration keeps a genuine transfer's authorization and asks the
    parties to sign a transaction paying someone else, or another transaction for the same
    intent (a second payment): every signer refuses both, before making a nonce."""
    system = fake_system
    wallet_id = await _funded(system)
    request = _transfer(wallet_id, signers=SIGNERS)
    public_key = await _wallet_key(system, wallet_id)
    sender = FakeChain(FAKE_CONFIG).address(public_key)

    def transaction(to: str, nonce: int) -> UnsignedTransaction:
        body = {"from": sender, "to": to, "amount": 5_000, "fee": 1_000, "nonce": nonce}
        payload = json.dumps(body, sort_keys=True).encode()
        return UnsignedTransaction(
            chain=FAKE_CHAIN,
            public_key=public_key.hex(),
            from_address=sender,
            to=RECIPIENT,  # what a screen would show; the payload pays someone else
            amount=5_000,
            fee=1_000,
            payload=payload.hex(),
            signing_payloads=(
                SigningPayload(message=hashlib.sha256(payload).hexdigest(), scheme="ed25519"),
            ),
        )

    async def attempt(key: str, tx: UnsignedTransaction, *, signed_before: bool) -> str:
        # The authorization a genuine request for ``key`` carries (the orchestration has it).
        authorization = system.authorizer.authorize_transfer(
            key, wallet_id, request.intent, signers=SIGNERS
        )
        ceremony_id = transfer_ceremony_id(key, 0)
        failure = await _run_sign(
            system.client,
            ceremony_id,
            SignInput(
                wallet_id=wallet_id,
                message=tx.signing_payloads[0].message,
                signers=SIGNERS,
                authorization=authorization,
                transfer=TransferPayload(transaction=tx, index=0),
            ),
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
        outcomes = await _round_outcomes(system.client, ceremony_id)
        assert outcomes["party.sign_round1"] == ["Unauthorized"] * 3
        for party in SIGNERS:
            if signed_before:
                # The genuine ceremony's nonces, consumed by its round 2; nothing new.
                assert not _destroyed(system, party, wallet_id, ceremony_id)
            else:
                assert _commitments_of(system, party, wallet_id, ceremony_id) == DISCARDED
        return failure

    paid_elsewhere = await attempt(_id("tr-a"), transaction(ATTACKER, 0), signed_before=False)
    assert paid_elsewhere.startswith("Unauthorized: wrong-transaction:"), paid_elsewhere
    # A genuine transfer signs its own transaction (built by the coordinator); another
    # transaction for the same intent under the same request would pay a second time.
    key = _id("tr-b")
    result = await sign_transaction(system.client, request, key, authorizer=system.authorizer)
    assert result.status == "confirmed"
    second_payment = await attempt(key, transaction(RECIPIENT, 1), signed_before=True)
    assert second_payment.startswith(
        f"Unauthorized: wrong-transaction: request {key} already signed another transaction"
    ), second_payment
    kinds = [e.event_type for e in await system.events.read_all()]
    assert kinds.count("SignatureProduced") == 1
