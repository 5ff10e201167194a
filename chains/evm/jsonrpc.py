"""An EVM node over HTTP JSON-RPC (the Ethereum execution API), with aiohttp.

Method names are the execution-apis specification's (``eth_*``); the dev methods
(``anvil_setBalance``, ``anvil_mine``, falling back to hardhat's and ``evm_mine``) are
called only when the chain's configuration says ``local = true``.
"""

from __future__ import annotations

import itertools
from typing import Any

import aiohttp

from chains.errors import BroadcastRejected, NotLocalNetwork, RpcError
from chains.evm.rpc import EvmRpc, Receipt
from chains.evm.transaction import transaction_hash
from common.urls import redact_url

# JSON-RPC 2.0 §5.1: the method does not exist on this node.
METHOD_NOT_FOUND = -32601
# EIP-1474: the node limits requests; an infrastructure failure, not a refusal.
LIMIT_EXCEEDED = -32005
# Node messages meaning "this transaction is already in my pool" (geth, erigon/nethermind,
# besu, anvil): sending it again changed nothing.
ALREADY_KNOWN = ("already known", "already imported", "alreadyknown", "known transaction")
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30)


class JsonRpcCallError(RpcError):
    """A JSON-RPC error object from the node: ``code`` and ``message`` as it sent them."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.method = method
        self.code = code
        self.message = message


class JsonRpcEvm(EvmRpc):
    """A node at ``url``. ``local`` allows the dev-only methods (fund, mine)."""

    def __init__(
        self,
        url: str,
        *,
        local: bool = False,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = url
        # What errors show: never the credential a provider URL may carry.
        self.shown = redact_url(url)
        self.local = local
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    async def call(self, method: str, *params: Any) -> Any:
        """One JSON-RPC request; the ``result``, or JsonRpcCallError / RpcError."""
        if self._session is None or self._session.closed:
            # Created on first use, inside the running event loop, as aiohttp requires.
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            async with self._session.post(self.url, json=request) as response:
                if response.status != 200:
                    text = await response.text()
                    raise RpcError(f"{method}: HTTP {response.status} from {self.shown}: {text}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RpcError(f"{method}: cannot reach {self.shown}: {error!r}") from error
        if not isinstance(body, dict):
            raise RpcError(f"{method}: not a JSON-RPC response: {body!r}")
        failure = body.get("error")
        if failure is not None:
            if not isinstance(failure, dict):
                raise RpcError(f"{method}: malformed error {failure!r}")
            raise JsonRpcCallError(method, int(failure.get("code", 0)), str(failure.get("message")))
        if "result" not in body:
            raise RpcError(f"{method}: response without a result: {body!r}")
        return body["result"]

    async def _quantity(self, method: str, *params: Any) -> int:
        # Quantities are 0x-prefixed hex without leading zeros (execution-apis "uint").
        result = await self.call(method, *params)
        if not isinstance(result, str) or not result.startswith("0x"):
            raise RpcError(f"{method}: expected a hex quantity, got {result!r}")
        return int(result, 16)

    async def chain_id(self) -> int:
        return await self._quantity("eth_chainId")

    async def nonce(self, address: str) -> int:
        return await self._quantity("eth_getTransactionCount", address, "pending")

    async def base_fee(self) -> int:
        block = await self.call("eth_getBlockByNumber", "latest", False)
        if not isinstance(block, dict) or "baseFeePerGas" not in block:
            raise RpcError("eth_getBlockByNumber: the latest block has no baseFeePerGas")
        return int(block["baseFeePerGas"], 16)

    async def priority_fee(self) -> int:
        return await self._quantity("eth_maxPriorityFeePerGas")

    async def estimate_gas(self, sender: str, to: str, value: int) -> int:
        request = {"from": sender, "to": to, "value": hex(value)}
        return await self._quantity("eth_estimateGas", request)

    async def balance(self, address: str) -> int:
        return await self._quantity("eth_getBalance", address, "latest")

    async def send_raw(self, raw: bytes) -> str:
        tx_hash = transaction_hash(raw)
        try:
            sent = await self.call("eth_sendRawTransaction", "0x" + raw.hex())
        except JsonRpcCallError as error:
            if error.code in (METHOD_NOT_FOUND, LIMIT_EXCEEDED):
                raise
            if any(phrase in error.message.lower() for phrase in ALREADY_KNOWN):
                return tx_hash
            # A node that already mined the transaction refuses it for its nonce ("nonce
            # too low"); it is the same transaction, so the broadcast succeeded earlier.
            if await self.known(tx_hash):
                return tx_hash
            raise BroadcastRejected(f"node refused the transaction: {error.message}") from None
        if not isinstance(sent, str):
            raise RpcError(f"eth_sendRawTransaction: expected a hash, got {sent!r}")
        return sent.lower()

    async def receipt(self, tx_hash: str) -> Receipt | None:
        receipt = await self.call("eth_getTransactionReceipt", tx_hash)
        if receipt is None or receipt.get("blockNumber") is None:
            return None
        return Receipt(block=int(receipt["blockNumber"], 16), success=receipt["status"] == "0x1")

    async def known(self, tx_hash: str) -> bool:
        return await self.call("eth_getTransactionByHash", tx_hash) is not None

    async def block_number(self) -> int:
        return await self._quantity("eth_blockNumber")

    async def fund(self, address: str, wei: int) -> None:
        self._require_local("fund")
        # anvil_setBalance sets (not adds) the balance; add to what is there.
        balance = await self.balance(address) + wei
        await self._dev_call(("anvil_setBalance", "hardhat_setBalance"), address, hex(balance))

    async def mine(self, blocks: int = 1) -> None:
        self._require_local("mine")
        if blocks < 0:
            raise ValueError("cannot mine a negative number of blocks")
        if blocks == 0:
            return
        try:
            await self._dev_call(("anvil_mine", "hardhat_mine"), hex(blocks))
        except JsonRpcCallError as error:
            if error.code != METHOD_NOT_FOUND:
                raise
            for _ in range(blocks):
                await self.call("evm_mine")

    async def _dev_call(self, methods: tuple[str, ...], *params: Any) -> Any:
        """The first of ``methods`` (the same dev call in anvil's and hardhat's spelling)
        that the node has."""
        for method in methods[:-1]:
            try:
                return await self.call(method, *params)
            except JsonRpcCallError as error:
                if error.code != METHOD_NOT_FOUND:
                    raise
        return await self.call(methods[-1], *params)

    def _require_local(self, what: str) -> None:
        if not self.local:
            raise NotLocalNetwork(f"{what} needs a local development node, not {self.shown}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
