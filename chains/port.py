"""The chain port: one abstract class every chain family implements.

The MPC core never sees a chain: an adapter turns a transfer intent into signing payloads
(messages plus the signature scheme each needs), and turns the ceremony's signatures back
into a transaction the chain accepts. A new chain is an adapter plus its run of the
contract suite (tests/chains/contract.py), never a change to signing code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from chains.config import ChainConfig
from chains.errors import (
    InvalidAmount,
    InvalidSignature,
    SelfTransfer,
    UnsupportedAsset,
    WrongChain,
)
from chains.models import (
    ChainSignature,
    SignedTransaction,
    SigningPayload,
    TransferIntent,
    TxState,
    TxStatus,
    UnsignedTransaction,
)
from common.types import Scheme


class ChainAdapter(ABC):
    """Build, attach, broadcast and follow transfers on one configured chain."""

    # The largest amount the chain's transactions can carry (None: no limit to check).
    max_amount: int | None = None

    def __init__(self, config: ChainConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def scheme(self) -> Scheme:
        """The signature scheme every payload of this chain needs."""
        return self.config.scheme

    # -- pure: no I/O ----------------------------------------------------------------

    @abstractmethod
    def address(self, public_key: bytes) -> str:
        """The address of a wallet's group public key (compressed secp256k1 point, or a
        32-byte Ed25519 key), in the chain's canonical spelling."""

    @abstractmethod
    def validate_address(self, address: str) -> str:
        """The canonical spelling of ``address``; InvalidAddress (or WrongNetwork,
        ChecksumMismatch) when it is not an address of this chain's network."""

    def attach(
        self, tx: UnsignedTransaction, signatures: Sequence[ChainSignature]
    ) -> SignedTransaction:
        """Put one signature per signing payload (same order) into the transaction.

        Each signature is verified against its payload and the transaction's key first
        (InvalidSignature), so a bad signature never reaches a node.
        """
        self.check_chain(tx.chain)
        if len(signatures) != len(tx.signing_payloads):
            raise InvalidSignature(
                f"{len(tx.signing_payloads)} signatures needed, {len(signatures)} given"
            )
        for index, (payload, signature) in enumerate(
            zip(tx.signing_payloads, signatures, strict=True)
        ):
            if not self.verify_signature(tx, payload, signature):
                raise InvalidSignature(f"signature {index} does not verify for {tx.chain}")
        return self.assemble(tx, signatures)

    @abstractmethod
    def verify_signature(
        self, tx: UnsignedTransaction, payload: SigningPayload, signature: ChainSignature
    ) -> bool:
        """Whether ``signature`` is valid for ``payload`` under the transaction's key, by
        libsecp256k1 or libsodium (never by our own MPC code)."""

    @abstractmethod
    def assemble(
        self, tx: UnsignedTransaction, signatures: Sequence[ChainSignature]
    ) -> SignedTransaction:
        """Serialize the transaction with its signatures, unchecked: attach() checks first.
        Tests call it directly to hand engines a tampered signature."""

    # -- talks to the chain ------------------------------------------------------------

    @abstractmethod
    async def build(self, intent: TransferIntent, public_key: bytes) -> UnsignedTransaction:
        """An unsigned transfer from the wallet's address, with nonce/UTXOs/blockhash and
        fee from the node. Refuses bad input with a typed error before anything is signed:
        InvalidAddress, InvalidAmount, SelfTransfer, InsufficientFunds, DustOutput,
        ChainIdMismatch."""

    @abstractmethod
    async def broadcast(self, tx: SignedTransaction) -> str:
        """Send the signed transaction; returns its hash. Sending the same signed
        transaction again is harmless and returns the same hash."""

    @abstractmethod
    async def status(self, tx_hash: str) -> TxStatus:
        """Whether the transaction is known, mined, and how deep."""

    @abstractmethod
    async def balance(self, address: str) -> int:
        """The address's native balance in base units."""

    # -- local development engines only ------------------------------------------------

    @abstractmethod
    async def fund(self, address: str, amount: int) -> None:
        """Give ``address`` ``amount`` base units (a faucet); NotLocalNetwork elsewhere,
        InvalidAmount for an amount the chain cannot carry (:meth:`check_amount`)."""

    @abstractmethod
    async def advance(self, blocks: int = 1) -> None:
        """Produce ``blocks`` blocks (a dev engine's miner); NotLocalNetwork elsewhere."""

    async def close(self) -> None:  # noqa: B027 -- optional hook, most adapters hold nothing
        """Release connections or processes the adapter holds."""

    # -- shared checks -----------------------------------------------------------------

    def check_chain(self, chain: str) -> None:
        """WrongChain unless a transaction was built for this adapter's chain."""
        if chain != self.name:
            raise WrongChain(f"transaction for {chain} handed to the {self.name} adapter")

    def mined_status(
        self, tx_hash: str, depth: int, block: int | None, *, failed: bool = False
    ) -> TxStatus:
        """The status of a mined transaction ``depth`` blocks (or slots) deep: confirmed
        once it reaches the chain's configured depth, failed if execution failed."""
        depth = max(depth, 0)
        if failed:
            state: TxState = "failed"
        elif depth >= self.config.confirmations:
            state = "confirmed"
        else:
            state = "pending"
        return TxStatus(tx_hash=tx_hash, status=state, confirmations=depth, block=block)

    def check_amount(self, amount: int) -> None:
        """InvalidAmount unless ``amount`` is positive and fits the chain's amount field,
        checked before any engine or node sees it (an engine's own overflow is untyped)."""
        if amount <= 0:
            raise InvalidAmount("an amount is positive")
        if self.max_amount is not None and amount > self.max_amount:
            raise InvalidAmount(f"{amount} exceeds what {self.name} can move ({self.max_amount})")

    def check_intent(self, intent: TransferIntent, public_key: bytes) -> str:
        """The checks every family makes first; returns the canonical recipient.

        A transfer to the wallet's own address is refused (SelfTransfer): it would only
        spend a fee, and is far more often a pasted wrong address than a wish.
        """
        if intent.asset != "native":
            raise UnsupportedAsset(f"{self.name} moves the native asset only, not {intent.asset}")
        self.check_amount(intent.amount)
        to = self.validate_address(intent.to)
        if to == self.address(public_key):
            raise SelfTransfer(f"{to} is the sending wallet's own address on {self.name}")
        return to
