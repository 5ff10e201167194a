"""BitcoinRpc over HTTP JSON-RPC to Bitcoin Core or litecoind (a Bitcoin Core fork).

The node needs ``-txindex`` (getrawtransaction of any transaction for its confirmations);
on a development chain it also needs a loaded wallet with funds, which ``fund`` pays from
(sendtoaddress) and ``mine`` mines to (generatetoaddress). Amounts on the wire are coins
with 8 decimals; they are parsed as Decimal and converted to satoshi exactly.
"""

from __future__ import annotations

import base64
import itertools
import json
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp

from chains.bitcoin.network import NetworkParams
from chains.bitcoin.rpc import BitcoinRpc
from chains.bitcoin.transaction import Transaction, TransactionParseError
from chains.errors import BroadcastRejected, NotLocalNetwork, RpcError
from chains.models import Prevout

COIN = 100_000_000
# Core's RPC error codes (src/rpc/protocol.h).
RPC_INVALID_ADDRESS_OR_KEY = -5
RPC_VERIFY_ERROR = -25
RPC_VERIFY_REJECTED = -26
RPC_VERIFY_ALREADY_IN_CHAIN = -27
RPC_DESERIALIZATION_ERROR = -22
REJECTION_CODES = (RPC_VERIFY_ERROR, RPC_VERIFY_REJECTED, RPC_DESERIALIZATION_ERROR)


class NodeError(RpcError):
    """The node answered with a JSON-RPC error; ``code`` is Core's error code."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.code = code
        self.message = message


def to_sat(amount: Decimal) -> int:
    sat = amount * COIN
    if sat != sat.to_integral_value():
        raise RpcError(f"amount {amount} is not a whole number of satoshi")
    return int(sat)


def to_coins(sat: int) -> str:
    return f"{Decimal(sat) / COIN:.8f}"


class CoreRpc(BitcoinRpc):
    def __init__(
        self, url: str, network: NetworkParams, local: bool = True, timeout: float = 30.0
    ) -> None:
        parts = urlsplit(url)
        self._headers: dict[str, str] = {}
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self._headers["Authorization"] = (
                "Basic " + base64.b64encode(credentials.encode()).decode()
            )
        host = parts.hostname or "127.0.0.1"
        netloc = f"{host}:{parts.port}" if parts.port else host
        self._url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        self.network = network
        self._local = local
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self._mining_address: str | None = None
        self._relay_fee_rate: int | None = None

    async def call(self, method: str, *params: Any) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        body = {"jsonrpc": "1.0", "id": next(self._ids), "method": method, "params": params}
        try:
            async with self._session.post(self._url, json=body) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RpcError(f"{method}: cannot reach the node: {error!r}") from None
        try:
            answer = json.loads(text, parse_float=Decimal)
        except ValueError:
            raise RpcError(f"{method}: HTTP {status}: {text[:200]!r}") from None
        failure = answer.get("error")
        if failure:
            raise NodeError(method, int(failure.get("code", 0)), str(failure.get("message", "")))
        if status != 200:
            raise RpcError(f"{method}: HTTP {status}")
        return answer.get("result")

    # -- reads -------------------------------------------------------------------------

    async def utxos(self, script_pubkey: bytes) -> list[Prevout]:
        scan = await self.call("scantxoutset", "start", [{"desc": f"raw({script_pubkey.hex()})"}])
        found = []
        for unspent in scan["unspents"]:
            # scantxoutset reads the chainstate only; gettxout with the mempool drops
            # outputs a pending transaction already spends.
            if await self.call("gettxout", unspent["txid"], unspent["vout"], True) is None:
                continue
            found.append(
                Prevout(
                    txid=unspent["txid"],
                    vout=unspent["vout"],
                    script_pubkey=unspent["scriptPubKey"],
                    amount=to_sat(unspent["amount"]),
                )
            )
        return sorted(found, key=lambda p: (p.txid, p.vout))

    async def fee_rate(self, target_blocks: int = 6) -> int:
        if self._relay_fee_rate is None:
            info = await self.call("getnetworkinfo")
            self._relay_fee_rate = max(1, -(-to_sat(info["relayfee"]) // 1000))
        estimate = await self.call("estimatesmartfee", target_blocks)
        if "feerate" in estimate:
            rate = -(-to_sat(estimate["feerate"]) // 1000)  # coins/kvB -> sat/vB, rounded up
        else:
            rate = self.network.fallback_fee_rate  # no estimate yet (a young chain)
        return max(rate, self._relay_fee_rate)

    async def confirmations(self, txid: str) -> tuple[int, int | None] | None:
        try:
            found = await self.call("getrawtransaction", txid, True)
        except NodeError as error:
            if error.code == RPC_INVALID_ADDRESS_OR_KEY:
                return None
            raise
        depth = int(found.get("confirmations", 0))
        if depth == 0 or "blockhash" not in found:
            return 0, None
        header = await self.call("getblockheader", found["blockhash"])
        return depth, int(header["height"])

    async def height(self) -> int:
        return int(await self.call("getblockcount"))

    # -- writes ------------------------------------------------------------------------

    async def send_raw(self, raw: bytes) -> str:
        try:
            txid = Transaction.parse(raw).txid
        except TransactionParseError as error:
            raise BroadcastRejected(f"malformed transaction: {error}") from None
        try:
            return str(await self.call("sendrawtransaction", raw.hex()))
        except NodeError as error:
            if error.code == RPC_VERIFY_ALREADY_IN_CHAIN or "already" in error.message:
                return txid
            if error.code in REJECTION_CODES:
                # A mined transaction whose outputs are all spent again looks like one
                # with missing inputs; the transaction index still knows it.
                if await self.confirmations(txid) is not None:
                    return txid
                raise BroadcastRejected(f"the node refused {txid}: {error.message}") from None
            raise

    async def fund(self, address: str, amount: int) -> str:
        self._require_local()
        return str(await self.call("sendtoaddress", address, to_coins(amount)))

    async def mine(self, blocks: int = 1) -> None:
        self._require_local()
        if self._mining_address is None:
            self._mining_address = str(await self.call("getnewaddress"))
        await self.call("generatetoaddress", blocks, self._mining_address)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _require_local(self) -> None:
        if not (self._local and self.network.local):
            raise NotLocalNetwork(f"{self.network.name} is not a local development network")
