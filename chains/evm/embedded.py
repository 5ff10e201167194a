"""An EVM in process: py-evm through eth-tester, one fresh chain per instance.

The engine executes real transactions (signature recovery, nonce, balance and gas checks
are py-evm's own), but two things a real node does are missing and added here:

* py-evm executes a transaction whatever chain id it commits to. A node refuses one
  signed for another chain (EIP-155: the chain id in the signature is what prevents
  replay across chains), so ``send_raw`` decodes the chain id and refuses a mismatch.
* eth-tester has no transaction pool: a transaction it already mined is rejected for its
  nonce. A node answers "already known" instead, so ``send_raw`` looks the hash up first.

eth-tester mines each transaction into its own block as it arrives (auto-mining), like
anvil's default; ``mine`` produces further empty blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from eth.exceptions import UnrecognizedTransactionType
from eth_keys.exceptions import BadSignature
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionNotFound
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError as EvmValidationError
from rlp.exceptions import RLPException

from chains.errors import BroadcastRejected, InvalidAmount
from chains.evm.rpc import EvmRpc, Receipt
from chains.evm.transaction import TransactionDecodeError, transaction_chain_id, transaction_hash

T = TypeVar("T")

# py-evm has no fee market to suggest a tip from; 1 gwei is what geth and anvil suggest
# on an idle chain.
DEFAULT_PRIORITY_FEE = 10**9
TRANSFER_GAS = 21_000


class EmbeddedEvm(EvmRpc):
    """A py-evm chain (eth-tester's PyEVMBackend, latest fork) answering as ``chain_id``."""

    def __init__(self, chain_id: int) -> None:
        backend = PyEVMBackend()
        # The chain class eth-tester builds has a fixed chain id; py-evm reads the
        # instance attribute whenever it builds a VM (ChainContext), so CHAINID agrees.
        backend.chain.chain_id = chain_id
        self._chain_id = chain_id
        self._tester = EthereumTester(backend)
        # A genesis account eth-tester pre-funds (10**6 ether): the faucet.
        self._faucet: str = self._tester.get_accounts()[0]
        # py-evm is not thread-safe: calls run one at a time, off the event loop.
        self._lock = asyncio.Lock()

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        async with self._lock:
            return await asyncio.to_thread(partial(function, *args))

    async def chain_id(self) -> int:
        return self._chain_id

    async def nonce(self, address: str) -> int:
        return int(await self._run(self._tester.get_nonce, _account(address), "pending"))

    async def base_fee(self) -> int:
        block = await self._run(self._tester.get_block_by_number, "latest")
        return int(block["base_fee_per_gas"])

    async def priority_fee(self) -> int:
        return DEFAULT_PRIORITY_FEE

    async def estimate_gas(self, sender: str, to: str, value: int) -> int:
        request = {"from": _account(sender), "to": _account(to), "value": value}
        return int(await self._run(self._tester.estimate_gas, request))

    async def balance(self, address: str) -> int:
        return int(await self._run(self._tester.get_balance, _account(address)))

    async def send_raw(self, raw: bytes) -> str:
        try:
            chain_id = transaction_chain_id(raw)
        except TransactionDecodeError as error:
            raise BroadcastRejected(f"py-evm refused the transaction: {error}") from None
        if chain_id is None:
            # geth's default (--rpc.allow-unprotected-txs off): a legacy transaction
            # without EIP-155 protection is valid on every chain, so it is not relayed.
            raise BroadcastRejected(
                "only replay-protected (EIP-155) transactions are accepted: no chain id"
            )
        if chain_id != self._chain_id:
            # The message geth and anvil give for the same refusal.
            raise BroadcastRejected(
                f"invalid chain id for signer: transaction is for chain {chain_id}, "
                f"this chain is {self._chain_id}"
            )
        tx_hash = transaction_hash(raw)
        return await self._run(self._send_raw, raw, tx_hash)

    def _send_raw(self, raw: bytes, tx_hash: str) -> str:
        if self._known(tx_hash):
            return tx_hash
        try:
            sent = self._tester.send_raw_transaction("0x" + raw.hex())
        except (
            EvmValidationError,
            TesterValidationError,
            BadSignature,
            RLPException,
            UnrecognizedTransactionType,
            ValueError,
        ) as error:
            # How py-evm refuses: ValidationError for nonce, balance, fee below the base
            # fee or an invalid signature field; BadSignature when no key recovers; RLP
            # and type errors for malformed bytes. Each carries the reason.
            raise BroadcastRejected(f"py-evm refused the transaction: {error}") from None
        return str(sent).lower()

    async def receipt(self, tx_hash: str) -> Receipt | None:
        return await self._run(self._receipt, tx_hash)

    def _receipt(self, tx_hash: str) -> Receipt | None:
        try:
            receipt = self._tester.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None
        if receipt.get("block_number") is None:
            return None
        return Receipt(block=int(receipt["block_number"]), success=receipt["status"] == 1)

    async def known(self, tx_hash: str) -> bool:
        return await self._run(self._known, tx_hash)

    def _known(self, tx_hash: str) -> bool:
        try:
            self._tester.get_transaction_by_hash(tx_hash)
        except TransactionNotFound:
            return False
        return True

    async def block_number(self) -> int:
        block = await self._run(self._tester.get_block_by_number, "latest")
        return int(block["number"])

    async def fund(self, address: str, wei: int) -> None:
        # An ordinary transfer from the faucet, so the engine's state stays one that
        # transactions produced (no state edits behind py-evm's back).
        max_fee = 2 * await self.base_fee() + DEFAULT_PRIORITY_FEE
        # py-evm refuses more than the faucet holds with an untyped ValidationError.
        available = await self.balance(self._faucet) - TRANSFER_GAS * max_fee
        if wei > available:
            raise InvalidAmount(f"the faucet holds {max(available, 0)} wei, not {wei}")
        transfer = {
            "from": self._faucet,
            "to": _account(address),
            "value": wei,
            "gas": TRANSFER_GAS,
            "max_fee_per_gas": max_fee,
            "max_priority_fee_per_gas": DEFAULT_PRIORITY_FEE,
        }
        await self._run(self._tester.send_transaction, transfer)

    async def mine(self, blocks: int = 1) -> None:
        if blocks < 0:
            raise ValueError("cannot mine a negative number of blocks")
        if blocks:
            await self._run(self._tester.mine_blocks, blocks)


def _account(address: str) -> str:
    # eth-tester's validator insists on checksummed (or all-lowercase) addresses.
    return str(to_checksum_address(address))
