"""Coordinator-side chain activities: build, broadcast and follow transactions.

They run on the coordinator's task queue, in the process that holds the chain adapters
(and the embedded engines), and they need no party secret: an unsigned transaction, its
signing payloads and the signed result are all public.

One request never signs two different transactions: the first build is recorded as
``TransactionBuilt`` under the request id, and every later build for that request (an
activity retry, or the same request sent again) returns the recorded transaction, or is
refused if it asks for a different transfer.

The steps before anything is signed (build, addresses, balances, the faucet) fail at once,
typed and non-retryable, on an error retrying cannot change (``refuse_untyped``: an
engine's OverflowError for an amount its field cannot hold, a ValueError from bad input).
Broadcast and status keep retrying whatever they meet: by then a transaction may be out,
and the request must not give up on it.
"""

from __future__ import annotations

import logging

from temporalio import activity

from activities.errors import (
    InvalidKey,
    RequestConflict,
    UnknownWallet,
    WrongScheme,
    business_error,
    refuse_untyped,
)
from activities.models import (
    AddressBalance,
    AddressBalanceInput,
    BroadcastInput,
    BuildTransactionInput,
    BuiltTransaction,
    FaucetInput,
    KeyAddressInput,
    TransactionStatusInput,
    WalletAddressInput,
)
from activities.recording import find_wallet
from chains.errors import ChainError, NotLocalNetwork, RpcError
from chains.models import SignedTransaction, TxStatus, UnsignedTransaction
from chains.port import ChainAdapter
from chains.registry import ChainRegistry
from storage.events.errors import IdempotencyConflict
from storage.events.models import (
    TransactionBroadcast,
    TransactionBuilt,
    TransactionConfirmed,
    WalletCreated,
    idempotency_key,
    parse_event,
    to_new_event,
    transaction_stream,
)
from storage.events.port import EventStore

log = logging.getLogger(__name__)


def _typed(error: Exception) -> Exception:
    """Bad input and refusals are final; a node that did not answer is retried."""
    if isinstance(error, RpcError):
        return error
    return business_error(error)


class ChainActivities:
    def __init__(self, chains: ChainRegistry, events: EventStore) -> None:
        self._chains = chains
        self._events = events

    def _adapter(self, chain: str) -> ChainAdapter:
        try:
            return self._chains.get(chain)
        except ChainError as error:
            raise business_error(error) from None

    async def _wallet(self, wallet_id: str) -> WalletCreated:
        wallet = await find_wallet(self._events, wallet_id)
        if wallet is None:
            raise business_error(UnknownWallet(f"no wallet {wallet_id}"))
        return wallet

    async def _wallet_key(self, wallet_id: str, adapter: ChainAdapter) -> bytes:
        wallet = await self._wallet(wallet_id)
        if wallet.scheme != adapter.scheme:
            raise business_error(
                WrongScheme(
                    f"wallet {wallet_id} signs {wallet.scheme}; "
                    f"{adapter.name} needs {adapter.scheme}"
                )
            )
        return bytes.fromhex(wallet.group_public_key)

    async def _recorded(
        self, request_id: str
    ) -> tuple[TransactionBuilt | None, SignedTransaction | None]:
        built: TransactionBuilt | None = None
        sent: SignedTransaction | None = None
        for stored in await self._events.read_stream(transaction_stream(request_id)):
            event = parse_event(stored)
            if isinstance(event, TransactionBuilt):
                built = event
            elif isinstance(event, TransactionBroadcast):
                sent = SignedTransaction(
                    chain=event.chain, raw_tx=event.raw_tx, tx_hash=event.tx_hash
                )
        return built, sent

    async def _record(
        self, event: TransactionBuilt | TransactionBroadcast | TransactionConfirmed
    ) -> None:
        """Appends to the request's stream, once per kind: a retried step that records the
        same event again is a no-op (the idempotency key is request id and event type)."""
        await self._events.append(
            to_new_event(
                event,
                stream_id=transaction_stream(event.request_id),
                idempotency_key=idempotency_key(event.request_id, type(event)),
                metadata={"ceremony": event.request_id},
            )
        )

    async def _record_confirmation(self, event: TransactionConfirmed) -> None:
        """The first confirmation recorded stays: a later poll that sees the transaction
        in another block (a reorganisation) must not fail the activity forever."""
        try:
            await self._record(event)
        except IdempotencyConflict:
            log.warning("%s: confirmation already recorded differently", event.request_id)

    def _built(
        self, adapter: ChainAdapter, tx: UnsignedTransaction, sent: SignedTransaction | None
    ) -> BuiltTransaction:
        return BuiltTransaction(
            transaction=tx,
            broadcast=sent,
            confirmations=adapter.config.confirmations,
            poll_interval=adapter.config.poll_interval,
            confirmation_timeout=adapter.config.confirmation_timeout,
        )

    @activity.defn(name="chain.build")
    @refuse_untyped
    async def build(self, request: BuildTransactionInput) -> BuiltTransaction:
        """The request's unsigned transaction: built once, then read back."""
        adapter = self._adapter(request.intent.chain)
        intent = request.intent.model_dump(mode="json")
        built, sent = await self._recorded(request.request_id)
        if built is None:
            public_key = await self._wallet_key(request.wallet_id, adapter)
            try:
                tx = await adapter.build(request.intent, public_key)
            except ChainError as error:
                raise _typed(error) from None
            event = TransactionBuilt(
                request_id=request.request_id,
                wallet_id=request.wallet_id,
                chain=adapter.name,
                intent=intent,
                transaction=tx.model_dump(mode="json"),
            )
            try:
                await self._record(event)
            except IdempotencyConflict:
                # Another attempt recorded its build first (a retry racing a slow
                # attempt); that one is the request's transaction, not ours.
                built, sent = await self._recorded(request.request_id)
            else:
                return self._built(adapter, tx, None)
        assert built is not None  # noqa: S101 - set above or by the racing attempt
        if built.intent != intent or built.wallet_id != request.wallet_id:
            raise business_error(
                RequestConflict(
                    f"request {request.request_id} was already used for another transfer"
                )
            )
        return self._built(adapter, UnsignedTransaction.model_validate(built.transaction), sent)

    @activity.defn(name="chain.broadcast")
    async def broadcast(self, request: BroadcastInput) -> SignedTransaction:
        """Attach the ceremony signatures (each verified first) and send; a retry resends
        the same bytes, which every engine treats as already known."""
        adapter = self._adapter(request.transaction.chain)
        try:
            signed = adapter.attach(request.transaction, request.signatures)
            tx_hash = await adapter.broadcast(signed)
        except ChainError as error:
            raise _typed(error) from None
        await self._record(
            TransactionBroadcast(
                request_id=request.request_id,
                wallet_id=request.wallet_id,
                chain=adapter.name,
                tx_hash=tx_hash,
                raw_tx=signed.raw_tx,
            )
        )
        return signed

    @activity.defn(name="chain.status")
    async def status(self, request: TransactionStatusInput) -> TxStatus:
        """How deep the transaction is; records TransactionConfirmed once it is deep enough.

        A transaction the node no longer knows (evicted from a mempool) is sent again:
        the same signed bytes, so nothing new is signed. On a local development engine a
        poll that finds the transaction short of its depth produces a block, as a miner
        would, so the wait ends.
        """
        signed = request.signed
        adapter = self._adapter(signed.chain)
        try:
            status = await adapter.status(signed.tx_hash)
            if status.status == "unknown":
                await adapter.broadcast(signed)
                status = await adapter.status(signed.tx_hash)
            if status.status == "pending" and adapter.config.local:
                await adapter.advance(1)
                status = await adapter.status(signed.tx_hash)
        except ChainError as error:
            raise _typed(error) from None
        if status.status == "confirmed":
            await self._record_confirmation(
                TransactionConfirmed(
                    request_id=request.request_id,
                    wallet_id=request.wallet_id,
                    chain=adapter.name,
                    tx_hash=signed.tx_hash,
                    confirmations=adapter.config.confirmations,
                    block=status.block,
                )
            )
        return status

    @activity.defn(name="chain.wallet_address")
    @refuse_untyped
    async def wallet_address(self, request: WalletAddressInput) -> AddressBalance:
        adapter = self._adapter(request.chain)
        address = adapter.address(await self._wallet_key(request.wallet_id, adapter))
        return await self._balance(adapter, address)

    @activity.defn(name="chain.key_address")
    @refuse_untyped
    async def key_address(self, request: KeyAddressInput) -> AddressBalance:
        adapter = self._adapter(request.chain)
        try:
            address = adapter.address(bytes.fromhex(request.public_key))
        except (ChainError, ValueError) as error:
            raise business_error(
                InvalidKey(f"not a {adapter.scheme} public key: {error}")
            ) from None
        return await self._balance(adapter, address)

    @activity.defn(name="chain.balance")
    @refuse_untyped
    async def balance(self, request: AddressBalanceInput) -> AddressBalance:
        adapter = self._adapter(request.chain)
        return await self._balance(adapter, request.address)

    @activity.defn(name="chain.faucet")
    @refuse_untyped
    async def faucet(self, request: FaucetInput) -> AddressBalance:
        """Development engines only (NotLocalNetwork elsewhere): fund an address."""
        adapter = self._adapter(request.chain)
        if not adapter.config.local:
            raise business_error(NotLocalNetwork(f"{adapter.name} is not a local network"))
        try:
            address = adapter.validate_address(request.address)
            await adapter.fund(address, request.amount)
            await adapter.advance(1)
        except ChainError as error:
            raise _typed(error) from None
        return await self._balance(adapter, address)

    async def _balance(self, adapter: ChainAdapter, address: str) -> AddressBalance:
        try:
            canonical = adapter.validate_address(address)
            balance = await adapter.balance(canonical)
        except ChainError as error:
            raise _typed(error) from None
        return AddressBalance(chain=adapter.name, address=canonical, balance=balance)
