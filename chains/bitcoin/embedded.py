"""An in-process Bitcoin ledger for tests and local development, with real script checks.

Every input of every transaction it accepts is verified twice: by libbitcoinkernel
(Bitcoin Core's own interpreter, through py-bitcoinkernel, all consensus flags including
WITNESS and TAPROOT) and by btclib's independent ``verify_input``. Around that it keeps a
UTXO set with the checks a node makes before relaying: no missing or double-spent input,
inputs cover outputs, no dust output. Accepted transactions wait in a mempool until
``mine`` puts them in a block; a funding (faucet) transaction spends a null outpoint, like
a coinbase, and is the only transaction whose input is not a script to verify.

What it does not model: proof of work, reorgs, coinbase maturity, locktimes, replacement
(a conflicting transaction is refused outright) and fee policy beyond dust.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pbk
from btclib.exceptions import BTClibException
from btclib.script.engine import verify_input
from btclib.tx.tx import Tx as BtclibTx
from btclib.tx.tx_out import TxOut as BtclibTxOut
from pbk.script import PrecomputedTransactionData

from chains.bitcoin.address import parse_address
from chains.bitcoin.network import NetworkParams
from chains.bitcoin.rpc import BitcoinRpc
from chains.bitcoin.transaction import (
    NULL_INDEX,
    NULL_TXID,
    OutPoint,
    Transaction,
    TransactionParseError,
    TxIn,
    TxOut,
)
from chains.errors import BroadcastRejected, NotLocalNetwork
from chains.models import Prevout

MAX_MONEY = 21_000_000 * 100_000_000


@dataclass
class _Coin:
    output: TxOut
    height: int | None  # None while its transaction is in the mempool


@dataclass
class _Ledger:
    coins: dict[OutPoint, _Coin] = field(default_factory=dict)
    spent: dict[OutPoint, str] = field(default_factory=dict)  # outpoint -> spending txid
    mempool: dict[str, Transaction] = field(default_factory=dict)
    mined: dict[str, int] = field(default_factory=dict)  # txid -> block height
    height: int = 0
    faucet_count: int = 0


def verify_scripts(tx: Transaction, spent: list[TxOut]) -> None:
    """Verify every input with libbitcoinkernel and with btclib; BroadcastRejected names
    the input and the verifier that refused it."""
    raw = tx.serialize()
    kernel_tx = pbk.Transaction(raw)
    kernel_spent = [
        pbk.TransactionOutput(pbk.ScriptPubkey(o.script_pubkey), o.amount) for o in spent
    ]
    precomputed = PrecomputedTransactionData(kernel_tx, kernel_spent)
    btclib_tx = BtclibTx.parse(raw)
    btclib_spent = [BtclibTxOut(o.amount, o.script_pubkey) for o in spent]
    for index, output in enumerate(spent):
        try:
            ok = pbk.ScriptPubkey(output.script_pubkey).verify(
                output.amount, kernel_tx, precomputed, index, pbk.ScriptVerificationFlags.ALL
            )
        except pbk.ScriptVerifyException as error:
            raise BroadcastRejected(f"input {index}: libbitcoinkernel: {error}") from None
        if not ok:
            raise BroadcastRejected(f"input {index}: libbitcoinkernel refused the script")
        try:
            verify_input(btclib_spent, btclib_tx, index)
        except BTClibException as error:
            raise BroadcastRejected(f"input {index}: btclib refused the script: {error}") from None


class EmbeddedBitcoin(BitcoinRpc):
    """A UTXO ledger in process; ``local`` False makes fund and mine refuse."""

    def __init__(self, network: NetworkParams, fee_rate: int = 2, local: bool = True) -> None:
        self.network = network
        self._fee_rate = fee_rate
        self._local = local
        self._ledger = _Ledger()

    # -- reads -------------------------------------------------------------------------

    async def utxos(self, script_pubkey: bytes) -> list[Prevout]:
        ledger = self._ledger
        return [
            Prevout(
                txid=outpoint.txid.hex(),
                vout=outpoint.vout,
                script_pubkey=coin.output.script_pubkey.hex(),
                amount=coin.output.amount,
            )
            for outpoint, coin in ledger.coins.items()
            if coin.output.script_pubkey == script_pubkey
            and coin.height is not None
            and outpoint not in ledger.spent
        ]

    async def fee_rate(self, target_blocks: int = 6) -> int:
        return self._fee_rate

    async def confirmations(self, txid: str) -> tuple[int, int | None] | None:
        if txid in self._ledger.mempool:
            return 0, None
        block = self._ledger.mined.get(txid)
        if block is None:
            return None
        return self._ledger.height - block + 1, block

    async def height(self) -> int:
        return self._ledger.height

    # -- writes ------------------------------------------------------------------------

    async def send_raw(self, raw: bytes) -> str:
        try:
            tx = Transaction.parse(raw)
        except TransactionParseError as error:
            raise BroadcastRejected(f"malformed transaction: {error}") from None
        txid = tx.txid
        if txid in self._ledger.mempool or txid in self._ledger.mined:
            return txid
        self._accept(tx)
        return txid

    def _accept(self, tx: Transaction) -> None:
        ledger = self._ledger
        if not tx.inputs or not tx.outputs:
            raise BroadcastRejected("a transaction needs inputs and outputs")
        outpoints = [txin.prevout for txin in tx.inputs]
        if len(set(outpoints)) != len(outpoints):
            raise BroadcastRejected("duplicate input (bad-txns-inputs-duplicate)")
        spent: list[TxOut] = []
        for outpoint in outpoints:
            if outpoint.is_null:
                raise BroadcastRejected("a null outpoint is only for funding transactions")
            coin = ledger.coins.get(outpoint)
            if coin is None:
                raise BroadcastRejected(f"missing input {outpoint.txid.hex()}:{outpoint.vout}")
            if outpoint in ledger.spent:
                raise BroadcastRejected(
                    f"double spend of {outpoint.txid.hex()}:{outpoint.vout} "
                    f"(already spent by {ledger.spent[outpoint]})"
                )
            spent.append(coin.output)
        for output in tx.outputs:
            if not 0 <= output.amount <= MAX_MONEY:
                raise BroadcastRejected(f"output amount {output.amount} out of range")
            if output.amount < self.network.dust_limit(output.script_pubkey):
                raise BroadcastRejected(f"dust output of {output.amount} sat")
        paid_in = sum(o.amount for o in spent)
        paid_out = sum(o.amount for o in tx.outputs)
        if paid_out > paid_in:
            raise BroadcastRejected(f"outputs {paid_out} exceed inputs {paid_in}")
        verify_scripts(tx, spent)
        self._add(tx)

    def _add(self, tx: Transaction) -> None:
        txid = tx.txid
        ledger = self._ledger
        for txin in tx.inputs:
            if not txin.prevout.is_null:
                ledger.spent[txin.prevout] = txid
        for vout, output in enumerate(tx.outputs):
            ledger.coins[OutPoint(bytes.fromhex(txid), vout)] = _Coin(output, None)
        ledger.mempool[txid] = tx

    async def fund(self, address: str, amount: int) -> str:
        self._require_local()
        if not 0 < amount <= MAX_MONEY:
            raise ValueError(f"cannot fund {amount} sat")
        script = parse_address(self.network, address).script_pubkey
        self._ledger.faucet_count += 1
        # BIP34-style: the input script carries a counter so every faucet txid differs.
        faucet_input = TxIn(
            OutPoint(NULL_TXID, NULL_INDEX),
            script_sig=b"\x04" + struct.pack("<I", self._ledger.faucet_count),
            sequence=0xFFFF_FFFF,
        )
        tx = Transaction(2, (faucet_input,), (TxOut(amount, script),))
        self._add(tx)
        return tx.txid

    async def mine(self, blocks: int = 1) -> None:
        self._require_local()
        if blocks < 1:
            raise ValueError("mine at least one block")
        ledger = self._ledger
        ledger.height += 1
        for txid, tx in ledger.mempool.items():
            ledger.mined[txid] = ledger.height
            for vout in range(len(tx.outputs)):
                ledger.coins[OutPoint(bytes.fromhex(txid), vout)].height = ledger.height
        ledger.mempool.clear()
        ledger.height += blocks - 1

    def _require_local(self) -> None:
        if not self._local:
            raise NotLocalNetwork(f"{self.network.name} is not a local development network")
