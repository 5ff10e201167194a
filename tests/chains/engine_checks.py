"""Checks, by each chain's own engine, that a raw transaction (from the demo's JSON or a
workflow result) is valid: the same bytes handed to a fresh engine, outside our adapters.

- EVM: eth-account recovers the sender from the raw bytes, and a fresh py-evm chain with
  the transaction's chain id executes it once the sender holds the funds.
- Bitcoin: every input verified by libbitcoinkernel (Bitcoin Core's interpreter) against
  the prevouts the transaction commits to.
- Solana: a fresh LiteSVM executes it (signature verification on; the blockhash check is
  off because the demo's blockhash belonged to another LiteSVM instance).
"""

from __future__ import annotations

from collections.abc import Sequence

import pbk
import rlp
from eth_account import Account
from eth_keys.exceptions import BadSignature
from pbk.script import PrecomputedTransactionData
from solders.litesvm import LiteSVM
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from chains.evm.embedded import EmbeddedEvm
from chains.models import Prevout


class EngineRefusedError(AssertionError):
    """The chain's own engine refused the raw transaction."""


async def evm_accepts(raw: bytes, sender: str, chain_id: int) -> None:
    try:
        recovered = Account.recover_transaction(raw)
    except BadSignature as error:
        raise EngineRefusedError(f"eth-account cannot recover a sender: {error}") from None
    if recovered != sender:
        raise EngineRefusedError("eth-account recovers another sender")
    fields = rlp.decode(raw[1:])
    if raw[0] != 2 or int.from_bytes(fields[0], "big") != chain_id:
        raise EngineRefusedError("not a type-2 transaction for this chain id")
    max_fee, gas, value = (int.from_bytes(fields[i], "big") for i in (3, 4, 6))
    engine = EmbeddedEvm(chain_id)
    await engine.fund(sender, value + gas * max_fee)
    tx_hash = await engine.send_raw(raw)
    receipt = await engine.receipt(tx_hash)
    if receipt is None or not receipt.success:
        raise EngineRefusedError("py-evm did not execute the transaction")


def bitcoin_accepts(raw: bytes, prevouts: Sequence[Prevout]) -> None:
    tx = pbk.Transaction(raw)
    spent = [
        pbk.TransactionOutput(pbk.ScriptPubkey(bytes.fromhex(p.script_pubkey)), p.amount)
        for p in prevouts
    ]
    precomputed = PrecomputedTransactionData(tx, spent)
    for index, prevout in enumerate(prevouts):
        script = pbk.ScriptPubkey(bytes.fromhex(prevout.script_pubkey))
        try:
            ok = script.verify(
                prevout.amount, tx, precomputed, index, pbk.ScriptVerificationFlags.ALL
            )
        except pbk.ScriptVerifyException as error:
            raise EngineRefusedError(f"input {index}: {error}") from None
        if not ok:
            raise EngineRefusedError(f"libbitcoinkernel refused input {index}")


def solana_accepts(raw: bytes, lamports: int) -> None:
    tx = VersionedTransaction.from_bytes(raw)
    svm = LiteSVM()
    payer = tx.message.account_keys[0]
    svm.airdrop(payer, lamports)
    svm.with_blockhash_check(False)
    result = svm.send_transaction(tx)
    if isinstance(result, FailedTransactionMetadata):
        raise EngineRefusedError(f"LiteSVM refused: {result.err()}")


def flip_signature_bit(family: str, raw: bytes, output: str | None = None) -> bytes:
    """``raw`` with one bit flipped inside its (last input's) signature, located by the
    chain's layout: EVM's s is the last RLP item; a Bitcoin witness sits right before the
    4-byte locktime (P2TR: the 64-byte signature; P2WPKH: the DER signature, then the
    33-byte key); a Solana transaction starts with its signature count and signatures."""
    if family == "evm":
        at = len(raw) - 1
    elif family == "solana":
        at = 1
    elif output == "p2tr":
        at = len(raw) - 4 - 64
    else:
        at = len(raw) - 4 - 34 - 8
    return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :]
