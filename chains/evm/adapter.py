"""The EVM chain adapter: EIP-1559 native transfers signed by a threshold ECDSA key.

* Addresses: the last 20 bytes of keccak256 of the uncompressed public key (Yellow Paper
  §7, "the rightmost 160 bits"), spelled with the EIP-55 mixed-case checksum.
* Transactions: EIP-1559 type 2 in an EIP-2718 envelope (chains.evm.transaction); the
  chain id inside the signed fields (EIP-155's replay protection, carried over by
  EIP-2930/EIP-1559) is checked against the node before anything is built.
* Signatures: one ECDSA signature over keccak256 of the unsigned envelope, verified with
  libsecp256k1 (coincurve) before it is attached; ``signature_y_parity`` is the recovery
  id, and ``s`` must be in the lower half of the curve order (EIP-2, Homestead).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from coincurve import PublicKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from chains.config import ChainConfig
from chains.errors import (
    ChainIdMismatch,
    ChecksumMismatch,
    FeeTooHigh,
    InsufficientFunds,
    InvalidAddress,
    InvalidSignature,
    NotLocalNetwork,
)
from chains.evm.rpc import EvmRpc
from chains.evm.transaction import (
    UINT256_LIMIT,
    DynamicFeeTransaction,
    TransactionDecodeError,
    signed_envelope,
    signing_hash,
    transaction_hash,
)
from chains.models import (
    ChainSignature,
    SignedTransaction,
    SigningPayload,
    TransferIntent,
    TxStatus,
    UnsignedTransaction,
)
from chains.port import ChainAdapter
from chains.taproot import SECP256K1_ORDER

# Yellow Paper appendix G: a transfer to an account without code costs G_transaction.
TRANSFER_GAS: Final = 21_000
# EIP-2: signatures with s > secp256k1n / 2 are invalid (one of the two malleable forms).
SECP256K1_HALF_ORDER: Final = SECP256K1_ORDER // 2
ADDRESS_PATTERN: Final = re.compile(r"0x[0-9a-fA-F]{40}")
# The node's suggested tip, scaled by the intent's speed (numerator, denominator). The
# fee cap keeps 2 x base fee of headroom for every speed: the base fee rises at most
# 12.5 % a block (EIP-1559 BASE_FEE_MAX_CHANGE_DENOMINATOR = 8), so the transaction stays
# includable through about six full blocks; what is paid is base fee + tip, not the cap.
SPEED_TIP: Final = {"slow": (1, 2), "standard": (1, 1), "fast": (2, 1)}


class EvmChain(ChainAdapter):
    """One EVM chain (config.chain_id) reached through ``rpc``."""

    # A transaction's value is a 256-bit word.
    max_amount = UINT256_LIMIT - 1

    def __init__(self, config: ChainConfig, rpc: EvmRpc) -> None:
        if config.family != "evm" or config.chain_id is None:
            raise ValueError(f"{config.name} is not an EVM chain configuration")
        super().__init__(config)
        self.rpc = rpc
        self.chain_id: int = config.chain_id

    # -- addresses -----------------------------------------------------------------------

    def address(self, public_key: bytes) -> str:
        # keccak256 over the 64-byte X || Y, without the 0x04 SEC1 prefix.
        uncompressed = PublicKey(public_key).format(compressed=False)[1:]
        return str(to_checksum_address(keccak(uncompressed)[-20:]))

    def validate_address(self, address: str) -> str:
        if not ADDRESS_PATTERN.fullmatch(address):
            raise InvalidAddress(f"not an EVM address (0x and 40 hex digits): {address!r}")
        checksummed = str(to_checksum_address(address))
        body = address[2:]
        # EIP-55 §Specification: a checksum is carried only by mixed case; an all-lowercase
        # or all-uppercase address carries none and is accepted as it is.
        if body in (body.lower(), body.upper()):
            return checksummed
        if address != checksummed:
            raise ChecksumMismatch(f"EIP-55 checksum does not match: {address}")
        return checksummed

    # -- building ------------------------------------------------------------------------

    @staticmethod
    def _check_balance(sender: str, balance: int, amount: int, fee: int) -> None:
        if balance < amount + fee:
            raise InsufficientFunds(
                f"{amount} + fee up to {fee} exceeds the balance {balance} of {sender}"
            )

    async def _gas(self, sender: str, to: str, value: int) -> int:
        """The node's estimate: exactly 21000 to an account without code (Yellow Paper
        G_transaction), kept as it is; anything more (a contract recipient, a rollup's L1
        data cost) gets a 20 % margin, since unused gas is not paid, only reserved."""
        estimate = await self.rpc.estimate_gas(sender, to, value)
        if estimate <= TRANSFER_GAS:
            return TRANSFER_GAS
        return estimate + estimate // 5

    async def build(self, intent: TransferIntent, public_key: bytes) -> UnsignedTransaction:
        to = self.check_intent(intent, public_key)
        # The first question to the node: a transaction for the wrong chain id would be
        # valid on the chain the id names (EIP-155), so nothing is read before this.
        node_chain_id = await self.rpc.chain_id()
        if node_chain_id != self.chain_id:
            raise ChainIdMismatch(
                f"{self.name} is configured for chain id {self.chain_id}, "
                f"but its node reports {node_chain_id}"
            )
        sender = self.address(public_key)
        nonce = await self.rpc.nonce(sender)
        base_fee = await self.rpc.base_fee()
        numerator, denominator = SPEED_TIP[intent.fee.speed]
        priority_fee = await self.rpc.priority_fee() * numerator // denominator
        # Some chains refuse tips below a floor (Polygon's validators): configuration.
        priority_fee = max(priority_fee, self.config.min_priority_fee)
        max_fee_per_gas = 2 * base_fee + priority_fee
        # The balance is checked against the cheapest transfer first: a node estimates gas
        # only for a sender that can pay for it, and an empty wallet is InsufficientFunds.
        balance = await self.rpc.balance(sender)
        self._check_balance(sender, balance, intent.amount, TRANSFER_GAS * max_fee_per_gas)
        gas = await self._gas(sender, to, intent.amount)
        fee = gas * max_fee_per_gas
        if intent.fee.max_fee is not None and fee > intent.fee.max_fee:
            raise FeeTooHigh(f"fee up to {fee} wei exceeds the cap {intent.fee.max_fee}")
        self._check_balance(sender, balance, intent.amount, fee)
        transaction = DynamicFeeTransaction(
            chain_id=self.chain_id,
            nonce=nonce,
            max_priority_fee_per_gas=priority_fee,
            max_fee_per_gas=max_fee_per_gas,
            gas=gas,
            to=bytes.fromhex(to[2:]),
            value=intent.amount,
        )
        payload = transaction.payload()
        return UnsignedTransaction(
            chain=self.name,
            public_key=public_key.hex(),
            from_address=sender,
            to=to,
            amount=intent.amount,
            fee=fee,
            payload=payload.hex(),
            signing_payloads=(
                SigningPayload(message=signing_hash(payload).hex(), scheme="ecdsa-secp256k1"),
            ),
            details={
                "nonce": nonce,
                "gas": gas,
                "max_fee_per_gas": max_fee_per_gas,
                "max_priority_fee_per_gas": priority_fee,
                "chain_id": self.chain_id,
            },
        )

    # -- signatures ----------------------------------------------------------------------

    def verify_signature(
        self, tx: UnsignedTransaction, payload: SigningPayload, signature: ChainSignature
    ) -> bool:
        # The payload must be the signing hash of this very transaction, so a signature
        # for something else cannot be attached to it.
        if payload.message != signing_hash(bytes.fromhex(tx.payload)).hex():
            return False
        raw = bytes.fromhex(signature.signature)
        # y-parity is one bit (EIP-1559); recovery ids 2 and 3 (r >= n) cannot be sent.
        if len(raw) != 64 or signature.recovery_id not in (0, 1):
            return False
        s = int.from_bytes(raw[32:], "big")
        if not 0 < s <= SECP256K1_HALF_ORDER:
            return False
        try:
            recovered = PublicKey.from_signature_and_message(
                raw + bytes([signature.recovery_id]), bytes.fromhex(payload.message), hasher=None
            )
            expected = PublicKey(bytes.fromhex(tx.public_key))
        except ValueError:
            return False
        return bool(recovered.format() == expected.format())

    def assemble(
        self, tx: UnsignedTransaction, signatures: Sequence[ChainSignature]
    ) -> SignedTransaction:
        if len(signatures) != 1:
            raise InvalidSignature(f"an EVM transaction takes 1 signature, {len(signatures)} given")
        signature = signatures[0]
        raw_signature = bytes.fromhex(signature.signature)
        if len(raw_signature) != 64:
            raise InvalidSignature("an ECDSA signature is 64 bytes (r || s)")
        if signature.recovery_id not in (0, 1):
            raise InvalidSignature(
                f"recovery id {signature.recovery_id} has no EIP-1559 y-parity (0 or 1)"
            )
        r = int.from_bytes(raw_signature[:32], "big")
        s = int.from_bytes(raw_signature[32:], "big")
        try:
            raw = signed_envelope(bytes.fromhex(tx.payload), signature.recovery_id, r, s)
        except TransactionDecodeError as error:
            raise InvalidSignature(f"cannot attach to this payload: {error}") from None
        return SignedTransaction(chain=self.name, raw_tx=raw.hex(), tx_hash=transaction_hash(raw))

    # -- the node ------------------------------------------------------------------------

    async def broadcast(self, tx: SignedTransaction) -> str:
        self.check_chain(tx.chain)
        return await self.rpc.send_raw(bytes.fromhex(tx.raw_tx))

    async def status(self, tx_hash: str) -> TxStatus:
        receipt = await self.rpc.receipt(tx_hash)
        if receipt is None:
            state = "pending" if await self.rpc.known(tx_hash) else "unknown"
            return TxStatus(tx_hash=tx_hash, status=state, confirmations=0)
        head = await self.rpc.block_number()
        return self.mined_status(
            tx_hash, head - receipt.block + 1, receipt.block, failed=not receipt.success
        )

    async def balance(self, address: str) -> int:
        return await self.rpc.balance(self.validate_address(address))

    async def fund(self, address: str, amount: int) -> None:
        self._require_local("fund")
        self.check_amount(amount)
        await self.rpc.fund(self.validate_address(address), amount)

    async def advance(self, blocks: int = 1) -> None:
        self._require_local("advance")
        await self.rpc.mine(blocks)

    async def close(self) -> None:
        await self.rpc.close()

    def _require_local(self, what: str) -> None:
        if not self.config.local:
            raise NotLocalNetwork(f"{what} exists only on a local development chain")
