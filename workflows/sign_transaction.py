"""SignTransactionWorkflow: one transfer, from intent to confirmations.

The wallet's lock on the chain (WalletLock) → build (chain activity) → one signing
ceremony per signing payload, by the scheme the chain needs (child SignWorkflows: FROST
for BIP340 and Ed25519, CGGMP21 ECDSA for EVM and P2WPKH) → attach and broadcast →
release the lock → poll confirmations with durable timers.

The workflow id is the request's idempotency key. The unsigned transaction is recorded
before anything is signed, and the signing ceremonies' ids derive from the request id,
so a retried request signs the recorded transaction or nothing at all. Those ids live
under the reserved prefix (runtime.authorization.transfer_ceremony_id), which no
idempotency key may take, so no request can occupy a transfer's ceremony first. Each
child carries the transfer's authorization and the unsigned transaction: every party
recomputes its payload from the transaction and checks it against the authorized intent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.chain import ChainActivities
    from activities.models import (
        AddressBalance,
        AddressBalanceInput,
        BroadcastInput,
        BuildTransactionInput,
        BuiltTransaction,
        FaucetInput,
        KeyAddressInput,
        LockRequestInput,
        SignInput,
        SignTransactionInput,
        SignTransactionResult,
        TransactionStatusInput,
        WalletAddressInput,
    )
    from chains.models import ChainSignature, SignedTransaction, TxStatus
    from runtime.authorization import TransferPayload, transfer_ceremony_id
    from runtime.names import COORDINATOR_TASK_QUEUE
    from workflows.common import failure_of, raise_typed
    from workflows.sign import SignWorkflow
    from workflows.wallet_lock import (
        GRANTED_SIGNAL,
        RELEASE_SIGNAL,
        LockActivities,
        lock_id,
        requester_id,
    )

# Chain calls talk to a node: seconds at most, retried while the node is unreachable.
CHAIN_TIMEOUT = timedelta(seconds=30)
CHAIN_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=20,
)
# After broadcast, status polls retry until the confirmation deadline, however long a node
# is away: giving up would report a sent transaction as lost.
STATUS_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=30),
)
# A signing ceremony's own limit, well inside the wallet lock's lease (30 min).
SIGNING_TIMEOUT = timedelta(minutes=20)
# How long a transfer waits for its turn on a wallet before failing with WalletBusy.
LOCK_WAIT = timedelta(minutes=45)
# Child ceremony ids under the reserved prefix (executions recorded before it keep
# ``{request_id}.sign-{index}``, which a request's own key could occupy).
RESERVED_CHILD_IDS_PATCH = "reserved-transfer-ceremony-ids"


ParamT = TypeVar("ParamT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=BaseModel)


async def chain_step(activity: Callable[[Any, ParamT], Awaitable[ResultT]], arg: ParamT) -> ResultT:
    """A chain activity on the coordinator's queue; a refusal fails the workflow, typed."""
    try:
        return await workflow.execute_activity_method(
            activity,
            arg,
            task_queue=COORDINATOR_TASK_QUEUE,
            start_to_close_timeout=CHAIN_TIMEOUT,
            retry_policy=CHAIN_RETRY,
            summary=activity.__name__,
        )
    except ActivityError as error:
        raise_typed(error)


@workflow.defn(name="SignTransaction")
class SignTransactionWorkflow:
    def __init__(self) -> None:
        self._lock_granted = False

    @workflow.signal(name=GRANTED_SIGNAL)
    def lock_granted(self) -> None:
        self._lock_granted = True

    @workflow.run
    async def run(self, request: SignTransactionInput) -> SignTransactionResult:
        info = workflow.info()
        request_id = info.workflow_id
        # From build to broadcast the wallet's nonce or unspent outputs on this chain are
        # read and then consumed: one transfer at a time per (chain, wallet). The lock
        # knows this run by workflow id and run id, so a later run of the same request
        # (a reset) is a new requester.
        lock = lock_id(request.intent.chain, request.wallet_id)
        requester = requester_id(request_id, info.run_id)
        await chain_step(
            LockActivities.request_lock, LockRequestInput(lock_id=lock, requester=requester)
        )
        try:
            await workflow.wait_condition(lambda: self._lock_granted, timeout=LOCK_WAIT)
        except TimeoutError:
            await self._release(lock, requester)
            raise ApplicationError(
                f"another transfer of {request.wallet_id} on {request.intent.chain} has held "
                f"the wallet for over {LOCK_WAIT}",
                type="WalletBusy",
                non_retryable=True,
            ) from None
        try:
            built, signed, ceremonies = await self._build_sign_broadcast(request, request_id)
        finally:
            await self._release(lock, requester)
        status = await self._wait(request, request_id, built, signed)
        tx = built.transaction
        return SignTransactionResult(
            request_id=request_id,
            chain=tx.chain,
            wallet_id=request.wallet_id,
            from_address=tx.from_address,
            to=tx.to,
            amount=tx.amount,
            fee=tx.fee,
            raw_tx=signed.raw_tx,
            tx_hash=signed.tx_hash,
            status=status.status,
            confirmations=status.confirmations,
            block=status.block,
            prevouts=tx.prevouts,
            ceremonies=ceremonies,
            intent=request.intent,
        )

    async def _build_sign_broadcast(
        self, request: SignTransactionInput, request_id: str
    ) -> tuple[BuiltTransaction, SignedTransaction, tuple[str, ...]]:
        built = await chain_step(
            ChainActivities.build,
            BuildTransactionInput(
                request_id=request_id,
                wallet_id=request.wallet_id,
                intent=request.intent,
                authorization=request.authorization,
            ),
        )
        if built.broadcast is not None:
            # An earlier run of this request already sent its transaction.
            return built, built.broadcast, ()
        signatures, ceremonies = await self._sign(request, request_id, built)
        signed = await chain_step(
            ChainActivities.broadcast,
            BroadcastInput(
                request_id=request_id,
                wallet_id=request.wallet_id,
                transaction=built.transaction,
                signatures=signatures,
            ),
        )
        return built, signed, ceremonies

    async def _release(self, lock: str, requester: str) -> None:
        try:
            await workflow.get_external_workflow_handle(lock).signal(RELEASE_SIGNAL, requester)
        except FailureError as error:
            # The lock workflow is gone (its lease ended, or it went idle): nothing is held.
            workflow.logger.warning("could not release %s (%s); its lease will", lock, error)

    async def _sign(
        self, request: SignTransactionInput, request_id: str, built: BuiltTransaction
    ) -> tuple[tuple[ChainSignature, ...], tuple[str, ...]]:
        """One ceremony per payload, concurrently. Each child's id derives from the request
        and is never reused, so a payload is signed at most once per request."""
        payloads = built.transaction.signing_payloads
        if workflow.patched(RESERVED_CHILD_IDS_PATCH):
            ids = tuple(transfer_ceremony_id(request_id, i) for i in range(len(payloads)))
        else:
            ids = tuple(f"{request_id}.sign-{i}" for i in range(len(payloads)))
        try:
            results = await asyncio.gather(
                *(
                    workflow.execute_child_workflow(
                        SignWorkflow.run,
                        SignInput(
                            wallet_id=request.wallet_id,
                            message=payload.message,
                            signers=request.signers,
                            taproot_merkle_root=payload.taproot_merkle_root,
                            authorization=request.authorization,
                            transfer=TransferPayload(transaction=built.transaction, index=index),
                        ),
                        id=ids[index],
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        # Well inside the lock's lease, so a lease never ends mid-signing.
                        execution_timeout=SIGNING_TIMEOUT,
                    )
                    for index, payload in enumerate(payloads)
                )
            )
        except ChildWorkflowError as error:
            raise_typed(error)
        for payload, result in zip(payloads, results, strict=True):
            if result.scheme != payload.scheme:
                raise ApplicationError(
                    f"the wallet signs {result.scheme}, the chain needs {payload.scheme}",
                    type="WrongScheme",
                    non_retryable=True,
                )
        signatures = tuple(
            ChainSignature(signature=r.signature, recovery_id=r.recovery_id) for r in results
        )
        return signatures, ids

    async def _wait(
        self,
        request: SignTransactionInput,
        request_id: str,
        built: BuiltTransaction,
        signed: SignedTransaction,
    ) -> TxStatus:
        """Polls until the configured depth, sleeping on durable timers between polls.

        The transaction is out: from here nothing fails the request. A node that does not
        answer is asked again for as long as the wait lasts, a transaction that failed on
        chain comes back as ``failed``, and one still short of its depth at the deadline
        comes back as ``pending`` with its hash, so nobody pays twice believing it lost.
        """
        deadline = workflow.now() + timedelta(seconds=built.confirmation_timeout)
        poll = TransactionStatusInput(
            request_id=request_id, wallet_id=request.wallet_id, signed=signed
        )
        last = TxStatus(tx_hash=signed.tx_hash, status="pending", confirmations=0)
        while workflow.now() < deadline:
            try:
                polled = await workflow.execute_activity_method(
                    ChainActivities.status,
                    poll,
                    task_queue=COORDINATOR_TASK_QUEUE,
                    start_to_close_timeout=CHAIN_TIMEOUT,
                    schedule_to_close_timeout=max(deadline - workflow.now(), timedelta(seconds=1)),
                    retry_policy=STATUS_RETRY,
                    summary=ChainActivities.status.__name__,
                )
            except ActivityError as error:
                kind, message, _ = failure_of(error)
                workflow.logger.warning("status of %s: %s: %s", signed.tx_hash, kind, message)
                break
            last = polled
            if last.status in ("confirmed", "failed"):
                return last
            await workflow.sleep(timedelta(seconds=built.poll_interval))
        if last.status == "unknown":
            last = last.model_copy(update={"status": "pending"})
        return last


@workflow.defn(name="WalletAddress")
class WalletAddressWorkflow:
    """A wallet's address on a chain, and its balance there."""

    @workflow.run
    async def run(self, request: WalletAddressInput) -> AddressBalance:
        return await chain_step(ChainActivities.wallet_address, request)


@workflow.defn(name="KeyAddress")
class KeyAddressWorkflow:
    """Any public key's address on a chain, and its balance there."""

    @workflow.run
    async def run(self, request: KeyAddressInput) -> AddressBalance:
        return await chain_step(ChainActivities.key_address, request)


@workflow.defn(name="AddressBalance")
class AddressBalanceWorkflow:
    @workflow.run
    async def run(self, request: AddressBalanceInput) -> AddressBalance:
        return await chain_step(ChainActivities.balance, request)


@workflow.defn(name="Faucet")
class FaucetWorkflow:
    """Development engines only: fund an address (NotLocalNetwork elsewhere)."""

    @workflow.run
    async def run(self, request: FaucetInput) -> AddressBalance:
        return await chain_step(ChainActivities.faucet, request)
