"""What the Solana adapter needs from a node: the port between SolanaChain and a cluster.

Two implementations: EmbeddedSolana runs LiteSVM in process, JsonRpcSolana talks to a node
over the Solana JSON-RPC API (https://solana.com/docs/rpc/http). The methods are named for
the RPC calls they stand for (getLatestBlockhash, getBalance, ...).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

from solders.hash import Hash
from solders.pubkey import Pubkey

# A blockhash is accepted for this many slots after it was produced (agave's
# MAX_PROCESSING_AGE); getLatestBlockhash reports lastValidBlockHeight accordingly.
MAX_PROCESSING_AGE = 150


class RecentBlockhash(NamedTuple):
    blockhash: Hash
    # The last slot (block height on a real cluster) at which a transaction using this
    # blockhash can land; None when the node does not say.
    last_valid: int | None


class SignatureStatus(NamedTuple):
    slot: int
    confirmations: int
    # The engine's error when the transaction landed but failed (its fee is still paid).
    err: str | None


class SolanaRpc(ABC):
    """The calls SolanaChain makes; every amount is in lamports."""

    @abstractmethod
    async def latest_blockhash(self) -> RecentBlockhash:
        """getLatestBlockhash."""

    @abstractmethod
    async def balance(self, pubkey: Pubkey) -> int:
        """getBalance; 0 for an account that does not exist."""

    @abstractmethod
    async def minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        """getMinimumBalanceForRentExemption."""

    @abstractmethod
    async def fee_for_message(self, message: bytes) -> int:
        """getFeeForMessage over the versioned message bytes."""

    @abstractmethod
    async def send_raw(self, raw_tx: bytes) -> str:
        """sendTransaction; returns the base58 signature. Sending a transaction that was
        already processed returns its signature, not an error; a refusal raises
        BroadcastRejected."""

    @abstractmethod
    async def signature_status(self, signature: str) -> SignatureStatus | None:
        """getSignatureStatuses for one signature; None when the node never saw it."""

    @abstractmethod
    async def slot(self) -> int:
        """getSlot."""

    # -- local development clusters only -----------------------------------------------

    @abstractmethod
    async def airdrop(self, pubkey: Pubkey, lamports: int) -> None:
        """requestAirdrop; NotLocalNetwork on a public cluster."""

    @abstractmethod
    async def advance(self, slots: int = 1) -> None:
        """Let ``slots`` slots pass; NotLocalNetwork on a public cluster."""

    async def close(self) -> None:  # noqa: B027 -- optional hook
        """Release the connection the client holds."""
