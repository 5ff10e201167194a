"""SolanaRpc over a node's JSON-RPC 2.0 HTTP API (https://solana.com/docs/rpc/http).

Reads use the ``confirmed`` commitment by default (``finalized``, the node's default, lags
by about 32 slots). Transactions are sent base64-encoded with preflight simulation, so a
transaction that would fail is refused by the node before it lands and costs no fee.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from typing import Any

import aiohttp
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from chains.errors import BroadcastRejected, NotLocalNetwork, RpcError
from chains.solana.rpc import RecentBlockhash, SignatureStatus, SolanaRpc
from common.urls import redact_url

# sendTransaction's preflight failure and signature failure codes (agave rpc_custom_error).
SEND_TRANSACTION_PREFLIGHT_FAILURE = -32002
TRANSACTION_SIGNATURE_VERIFICATION_FAILURE = -32003
REFUSED_SEND_CODES = frozenset(
    {SEND_TRANSACTION_PREFLIGHT_FAILURE, TRANSACTION_SIGNATURE_VERIFICATION_FAILURE}
)
# The JSON-RPC code of an invalid request (a malformed transaction is refused with it).
INVALID_PARAMS = -32602


class JsonRpcSolana(SolanaRpc):
    def __init__(
        self,
        url: str,
        *,
        local: bool = False,
        commitment: str = "confirmed",
        timeout: float = 30.0,
        poll_interval: float = 0.2,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = url
        # What errors show: never the credential a provider URL may carry.
        self.shown = redact_url(url)
        self.local = local
        self.commitment = commitment
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._session = session
        self._owns_session = session is None
        self._ids = itertools.count(1)

    async def _call(self, method: str, params: list[Any] | None = None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout)
            )
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or []}
        try:
            async with self._session.post(self.url, json=body) as response:
                if response.status >= 400 and response.content_type != "application/json":
                    raise RpcError(f"{method}: HTTP {response.status} from {self.shown}")
                answer = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise RpcError(f"{method}: {type(error).__name__}: {error}") from error
        if not isinstance(answer, dict):
            raise RpcError(f"{method}: not a JSON-RPC answer: {answer!r}")
        if "error" in answer:
            raise JsonRpcCallError(method, answer["error"])
        return answer.get("result")

    def _config(self, **extra: Any) -> dict[str, Any]:
        return {"commitment": self.commitment, **extra}

    async def latest_blockhash(self) -> RecentBlockhash:
        value = (await self._call("getLatestBlockhash", [self._config()]))["value"]
        return RecentBlockhash(Hash.from_string(value["blockhash"]), value["lastValidBlockHeight"])

    async def balance(self, pubkey: Pubkey) -> int:
        result = await self._call("getBalance", [str(pubkey), self._config()])
        return int(result["value"])

    async def minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        result = await self._call("getMinimumBalanceForRentExemption", [data_len])
        return int(result)

    async def fee_for_message(self, message: bytes) -> int:
        encoded = base64.b64encode(message).decode()
        value = (await self._call("getFeeForMessage", [encoded, self._config()]))["value"]
        if value is None:
            # The node answers null when it no longer knows the message's blockhash.
            raise RpcError("getFeeForMessage: the node does not know the message's blockhash")
        return int(value)

    async def send_raw(self, raw_tx: bytes) -> str:
        try:
            signature = str(VersionedTransaction.from_bytes(raw_tx).signatures[0])
        except (ValueError, IndexError) as error:
            raise BroadcastRejected(f"not a signed Solana transaction: {error}") from None
        encoded = base64.b64encode(raw_tx).decode()
        options = {"encoding": "base64", "preflightCommitment": self.commitment}
        try:
            result = await self._call("sendTransaction", [encoded, options])
        except JsonRpcCallError as fault:
            if fault.already_processed:
                return signature
            if fault.code in REFUSED_SEND_CODES or fault.code == INVALID_PARAMS:
                raise BroadcastRejected(str(fault)) from None
            raise
        if result != signature:
            raise RpcError(f"sendTransaction answered {result!r} for {signature}")
        return signature

    async def signature_status(self, signature: str) -> SignatureStatus | None:
        result = await self._call(
            "getSignatureStatuses", [[signature], {"searchTransactionHistory": True}]
        )
        value = result["value"][0]
        if value is None:
            return None
        slot = int(value["slot"])
        confirmations = value.get("confirmations")
        if confirmations is None:
            # Null means rooted (finalized): count the slots since it landed instead.
            confirmations = max(await self.slot() - slot + 1, 1)
        err = value.get("err")
        return SignatureStatus(slot, int(confirmations), None if err is None else str(err))

    async def slot(self) -> int:
        return int(await self._call("getSlot", [self._config()]))

    async def airdrop(self, pubkey: Pubkey, lamports: int) -> None:
        if not self.local:
            raise NotLocalNetwork(f"{self.shown} is not a local cluster; it has no faucet")
        signature = await self._call("requestAirdrop", [str(pubkey), lamports])
        await self._wait(lambda: self._landed(str(signature)), f"airdrop {signature}")

    async def _landed(self, signature: str) -> bool:
        status = await self.signature_status(signature)
        if status is not None and status.err is not None:
            raise BroadcastRejected(f"airdrop {signature} failed: {status.err}")
        return status is not None

    async def advance(self, slots: int = 1) -> None:
        if not self.local:
            raise NotLocalNetwork(f"{self.shown} is not a local cluster; slots pass on their own")
        target = await self.slot() + slots

        async def reached() -> bool:
            return await self.slot() >= target

        await self._wait(reached, f"slot {target}")

    async def _wait(self, done: Any, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        while not await done():
            if loop.time() > deadline:
                raise RpcError(f"timed out waiting for {what} on {self.shown}")
            await asyncio.sleep(self._poll_interval)

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None


class JsonRpcCallError(RpcError):
    """A JSON-RPC error object: its code, message and data (preflight error and logs)."""

    def __init__(self, method: str, error: Any) -> None:
        error = error if isinstance(error, dict) else {"message": str(error)}
        self.code = error.get("code")
        self.data = error.get("data")
        message = f"{method}: {error.get('message', 'error')} (code {self.code})"
        if isinstance(self.data, dict):
            if self.data.get("err") is not None:
                message += f"; err: {self.data['err']}"
            if self.data.get("logs"):
                message += "; logs: " + " | ".join(map(str, self.data["logs"]))
        super().__init__(message)

    @property
    def already_processed(self) -> bool:
        err = self.data.get("err") if isinstance(self.data, dict) else None
        return err == "AlreadyProcessed" or "already been processed" in str(self)
