"""What the EVM adapter needs from a node: the few reads and writes of a native transfer.

Two implementations: ``EmbeddedEvm`` (py-evm in process) and ``JsonRpcEvm`` (a node's
JSON-RPC endpoint, Ethereum JSON-RPC API names in each docstring). The adapter never
sees which one it has, so the contract suite runs unchanged against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple


class Receipt(NamedTuple):
    """The part of a transaction receipt the adapter reads."""

    block: int
    # The receipt's ``status`` (EIP-658): False when execution reverted.
    success: bool


class EvmRpc(ABC):
    """One EVM node. Addresses are 0x-hex (any case); hashes are lowercase 0x-hex."""

    @abstractmethod
    async def chain_id(self) -> int:
        """The node's EIP-155 chain id (``eth_chainId``)."""

    @abstractmethod
    async def nonce(self, address: str) -> int:
        """The next nonce of ``address``, counting transactions still in the node's pool
        (``eth_getTransactionCount`` at ``pending``)."""

    @abstractmethod
    async def base_fee(self) -> int:
        """The latest block's ``baseFeePerGas`` (EIP-1559)."""

    @abstractmethod
    async def priority_fee(self) -> int:
        """The node's suggested tip per gas (``eth_maxPriorityFeePerGas``)."""

    @abstractmethod
    async def estimate_gas(self, sender: str, to: str, value: int) -> int:
        """The gas a plain value transfer needs (``eth_estimateGas``): 21000 to an account
        without code, more to a contract's receive function, and on rollups such as
        Arbitrum also the L1 data cost the chain charges in L2 gas."""

    @abstractmethod
    async def balance(self, address: str) -> int:
        """The balance of ``address`` in wei at the latest block."""

    @abstractmethod
    async def send_raw(self, raw: bytes) -> str:
        """Submit a signed transaction (``eth_sendRawTransaction``); returns its hash.

        A transaction the node already knows (in its pool or mined) returns its hash
        instead of failing, so a retried broadcast is harmless. A refusal raises
        BroadcastRejected with the node's message.
        """

    @abstractmethod
    async def receipt(self, tx_hash: str) -> Receipt | None:
        """The transaction's block and outcome once mined; None while it is not."""

    @abstractmethod
    async def known(self, tx_hash: str) -> bool:
        """Whether the node knows the transaction at all, mined or in its pool
        (``eth_getTransactionByHash``)."""

    @abstractmethod
    async def block_number(self) -> int:
        """The number of the latest block."""

    @abstractmethod
    async def fund(self, address: str, wei: int) -> None:
        """Add ``wei`` to the balance of ``address``; NotLocalNetwork unless a dev node."""

    @abstractmethod
    async def mine(self, blocks: int = 1) -> None:
        """Produce ``blocks`` blocks; NotLocalNetwork unless a dev node."""

    async def close(self) -> None:  # noqa: B027 -- optional hook, the embedded engine holds nothing
        """Release connections the client holds."""
