"""How services talk to Quorate: the Temporal client with Quorate's encrypted converter.

Every signing request (``sign``, ``sign_transaction``) carries an authorization signed
with the request-signing key (``RequestAuthorizer``, passed explicitly; in the embedded
deployment ``runtime.provision.load_request_authorizer(settings)``): the parties sign
nothing else. An idempotency key is the workflow id: the same key with the same request
returns the first outcome, and the same key with any other request (another wallet,
message, signer set, merkle root, scheme, threshold, session, count, transfer...) is
refused with ``RequestConflict``, also while the first is still running.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities.models import (
    AddressBalance,
    AddressBalanceInput,
    CreateWalletInput,
    CreateWalletResult,
    EcdsaSetupInput,
    EcdsaSetupResult,
    FaucetInput,
    KeyAddressInput,
    PresignInput,
    PresignResult,
    SignInput,
    SignResult,
    SignTransactionInput,
    SignTransactionResult,
    WalletAddressInput,
)
from runtime.authorization import RequestAuthorizer
from runtime.names import COORDINATOR_TASK_QUEUE, RESERVED_ID_PREFIX
from workflows.create_wallet import CreateWalletWorkflow
from workflows.ecdsa_presign import PresignWorkflow
from workflows.ecdsa_setup import SetupEcdsaWorkflow
from workflows.sign import SignWorkflow
from workflows.sign_transaction import (
    AddressBalanceWorkflow,
    FaucetWorkflow,
    KeyAddressWorkflow,
    SignTransactionWorkflow,
    WalletAddressWorkflow,
)

ParamT = TypeVar("ParamT", bound=BaseModel)
ResultT = TypeVar("ResultT")


class CeremonyFailed(Exception):
    """A ceremony ended in a typed business failure; ``culprits`` names cheating parties."""

    def __init__(self, kind: str, message: str, culprits: tuple[str, ...]) -> None:
        super().__init__(
            f"{kind}: {message}" + (f" (culprits: {', '.join(culprits)})" if culprits else "")
        )
        self.kind = kind
        self.culprits = culprits


def _failure(error: WorkflowFailureError) -> CeremonyFailed:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        culprits = tuple(cause.details[0]) if cause.details else ()
        return CeremonyFailed(cause.type or "ApplicationError", cause.message, culprits)
    return CeremonyFailed(type(cause).__name__, str(cause), ())


async def create_wallet(
    client: Client, request: CreateWalletInput, idempotency_key: str | None = None
) -> CreateWalletResult:
    return await _run(client, CreateWalletWorkflow.run, request, idempotency_key)


async def sign(
    client: Client,
    request: SignInput,
    idempotency_key: str | None = None,
    *,
    authorizer: RequestAuthorizer,
) -> SignResult:
    """Signs; the idempotency key is the workflow id, so a retried request never signs twice.

    The request is authorized for that id, its wallet, message, merkle root and signers."""
    request_id = _request_id(SignWorkflow.run, idempotency_key)
    authorization = authorizer.authorize_sign(
        request_id,
        request.wallet_id,
        bytes.fromhex(request.message),
        taproot_merkle_root=request.taproot_merkle_root,
        signers=request.signers,
    )
    authorized = request.model_copy(update={"authorization": authorization})
    return await _run(client, SignWorkflow.run, authorized, idempotency_key, request_id=request_id)


async def setup_ecdsa(
    client: Client, request: EcdsaSetupInput, idempotency_key: str | None = None
) -> EcdsaSetupResult:
    """Every party's ECDSA auxiliary information, generated and cross-verified (once)."""
    return await _run(
        client,
        SetupEcdsaWorkflow.run,
        request,
        idempotency_key or f"ecdsa-setup-{request.session}",
    )


async def presign(
    client: Client, request: PresignInput, idempotency_key: str | None = None
) -> PresignResult:
    """Fills an ECDSA wallet's presignature pool (the offline phase)."""
    return await _run(client, PresignWorkflow.run, request, idempotency_key)


async def sign_transaction(
    client: Client,
    request: SignTransactionInput,
    idempotency_key: str | None = None,
    *,
    authorizer: RequestAuthorizer,
) -> SignTransactionResult:
    """Builds, signs, broadcasts and confirms one transfer. The idempotency key is the
    workflow id: the same key returns the first request's transaction, and a key already
    used for a different transfer is refused (RequestConflict), never signed again.

    The transfer intent (chain, recipient, amount, fee policy) is authorized for the
    request id; each party checks the transaction it signs against it."""
    request_id = _request_id(SignTransactionWorkflow.run, idempotency_key)
    authorization = authorizer.authorize_transfer(
        request_id, request.wallet_id, request.intent, signers=request.signers
    )
    authorized = request.model_copy(update={"authorization": authorization})
    return await _run(
        client, SignTransactionWorkflow.run, authorized, idempotency_key, request_id=request_id
    )


async def wallet_address(client: Client, wallet_id: str, chain: str) -> AddressBalance:
    """The wallet's address on ``chain`` and its balance there."""
    request = WalletAddressInput(wallet_id=wallet_id, chain=chain)
    return await _run(client, WalletAddressWorkflow.run, request, None)


async def key_address(client: Client, chain: str, public_key: bytes) -> AddressBalance:
    """Any public key's address on ``chain`` (a recipient's, say) and its balance."""
    request = KeyAddressInput(chain=chain, public_key=public_key.hex())
    return await _run(client, KeyAddressWorkflow.run, request, None)


async def address_balance(client: Client, chain: str, address: str) -> AddressBalance:
    request = AddressBalanceInput(chain=chain, address=address)
    return await _run(client, AddressBalanceWorkflow.run, request, None)


async def faucet(client: Client, chain: str, address: str, amount: int) -> AddressBalance:
    """Development engines only: fund ``address``."""
    request = FaucetInput(chain=chain, address=address, amount=amount)
    return await _run(client, FaucetWorkflow.run, request, None)


# Quorate's own workflows (wallet locks) live under RESERVED_ID_PREFIX; the limit keeps a
# key within what events and projections store as an id.
RESERVED_KEY_PREFIX = RESERVED_ID_PREFIX
MAX_KEY_LENGTH = 120


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise CeremonyFailed(
            "InvalidIdempotencyKey", f"an idempotency key is 1 to {MAX_KEY_LENGTH} characters", ()
        )
    if not key.isprintable():
        raise CeremonyFailed(
            "InvalidIdempotencyKey", "an idempotency key has no control or format characters", ()
        )
    if key.startswith(RESERVED_KEY_PREFIX):
        raise CeremonyFailed(
            "InvalidIdempotencyKey", f"keys starting with {RESERVED_KEY_PREFIX!r} are reserved", ()
        )


def _request_id(run: Callable[..., object], key: str | None) -> str:
    """The workflow id: the idempotency key (checked), or a fresh id for a request that
    came without one."""
    if key is not None:
        _check_key(key)
        return key
    return f"{_id_prefix(run)}-{uuid.uuid4()}"


async def _run(
    client: Client,
    run: Callable[[Any, ParamT], Awaitable[ResultT]],
    request: ParamT,
    key: str | None,
    *,
    request_id: str | None = None,
) -> ResultT:
    """Starts (or joins) the run under the key; ``request_id``: the id already made for a
    request that had to be authorized for it."""
    workflow_id = request_id or _request_id(run, key)
    try:
        handle = await client.start_workflow(
            run,
            request,
            id=workflow_id,
            task_queue=COORDINATOR_TASK_QUEUE,
            # The same key while the first run is open attaches to it; once it has closed,
            # the reuse policy refuses a second run and the first run's outcome is returned.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle_for(run, workflow_id)
    if key is not None:
        # A made-up id is new; a caller's key may have been used before.
        await _refuse_other_request(client, handle, request)
    try:
        return await handle.result()
    except WorkflowFailureError as error:
        raise _failure(error) from None


# Not part of what a request asks: each call authorizes anew (another expiry, signature).
NOT_COMPARED = {"authorization"}


async def _refuse_other_request(
    client: Client, handle: WorkflowHandle[Any, Any], request: BaseModel
) -> None:
    """RequestConflict unless the run under this id (just started, still running, or
    closed) was started with this very request: its input is read from the history's
    first event, so two callers racing with one key and different requests cannot both
    be answered with one outcome."""
    async for event in handle.fetch_history_events(page_size=1):
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        break
    else:  # pragma: no cover - a started workflow's history has its first event
        raise CeremonyFailed("RequestConflict", f"no history for {handle.id}", ())
    (raw,) = await client.data_converter.decode(payloads) if payloads else ({},)
    try:
        existing = type(request).model_validate(raw)
    except ValidationError:
        existing = None
    if existing is None or existing.model_dump(exclude=NOT_COMPARED) != request.model_dump(
        exclude=NOT_COMPARED
    ):
        raise CeremonyFailed(
            "RequestConflict",
            f"idempotency key {handle.id!r} was already used for another request",
            (),
        )


def _id_prefix(run: Callable[..., object]) -> str:
    """``sign`` for ``SignWorkflow.run``: the prefix of a workflow id made up for a request
    that came without an idempotency key."""
    return run.__qualname__.split(".")[0].removesuffix("Workflow").lower()
