"""How services talk to Quorate: the Temporal client with Quorate's encrypted converter."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowFailureError
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

ParamT = TypeVar("ParamT")
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
    client: Client, request: SignInput, idempotency_key: str | None = None
) -> SignResult:
    """Signs; the idempotency key is the workflow id, so a retried request never signs twice."""
    return await _run(client, SignWorkflow.run, request, idempotency_key)


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
    client: Client, request: SignTransactionInput, idempotency_key: str | None = None
) -> SignTransactionResult:
    """Builds, signs, broadcasts and confirms one transfer. The idempotency key is the
    workflow id: the same key returns the first request's transaction, and a key already
    used for a different transfer is refused (RequestConflict), never signed again."""
    result = await _run(client, SignTransactionWorkflow.run, request, idempotency_key)
    # The whole request, recipient and fee policy included: a key reused for another
    # transfer must not get the first transfer back as if it were its own.
    if result.wallet_id != request.wallet_id or result.intent != request.intent:
        raise CeremonyFailed(
            "RequestConflict",
            f"request {result.request_id} was already used for another transfer",
            (),
        )
    return result


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
    if key.startswith(RESERVED_KEY_PREFIX):
        raise CeremonyFailed(
            "InvalidIdempotencyKey", f"keys starting with {RESERVED_KEY_PREFIX!r} are reserved", ()
        )


async def _run(
    client: Client,
    run: Callable[[Any, ParamT], Awaitable[ResultT]],
    request: ParamT,
    key: str | None,
) -> ResultT:
    if key is not None:
        _check_key(key)
    workflow_id = key or f"{_id_prefix(run)}-{uuid.uuid4()}"
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
    try:
        return await handle.result()
    except WorkflowFailureError as error:
        raise _failure(error) from None


def _id_prefix(run: Callable[..., object]) -> str:
    """``sign`` for ``SignWorkflow.run``: the prefix of a workflow id made up for a request
    that came without an idempotency key."""
    return run.__qualname__.split(".")[0].removesuffix("Workflow").lower()
