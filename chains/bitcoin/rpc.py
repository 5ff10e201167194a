"""What the Bitcoin adapter needs from a node: the port its engines implement.

Two engines: EmbeddedBitcoin (an in-process ledger whose scripts libbitcoinkernel and
btclib verify) and CoreRpc (Bitcoin Core or litecoind over JSON-RPC).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from chains.models import Prevout


class BitcoinRpc(ABC):
    @abstractmethod
    async def utxos(self, script_pubkey: bytes) -> list[Prevout]:
        """Confirmed unspent outputs paying ``script_pubkey`` (none spent in the mempool,
        where the engine can tell), in a stable order."""

    @abstractmethod
    async def fee_rate(self, target_blocks: int = 6) -> int:
        """The fee rate (sat per virtual byte, at least 1) to confirm within
        ``target_blocks`` blocks."""

    @abstractmethod
    async def send_raw(self, raw: bytes) -> str:
        """Submit a signed transaction; returns its txid. Re-sending a transaction the
        engine already knows (mempool or chain) returns its txid. BroadcastRejected when
        the engine refuses it."""

    @abstractmethod
    async def confirmations(self, txid: str) -> tuple[int, int | None] | None:
        """(confirmations, block height) of a known transaction, (0, None) while in the
        mempool; None when the engine does not know it."""

    @abstractmethod
    async def height(self) -> int:
        """The height of the chain's tip."""

    # -- development engines only ------------------------------------------------------

    @abstractmethod
    async def fund(self, address: str, amount: int) -> str:
        """Pay ``amount`` sat to ``address``; returns the funding txid. NotLocalNetwork
        when the engine is not a local development chain."""

    @abstractmethod
    async def mine(self, blocks: int = 1) -> None:
        """Produce ``blocks`` blocks; NotLocalNetwork on a public network."""

    async def close(self) -> None:  # noqa: B027 -- optional hook
        """Release connections."""
