"""Transaction serialization and sighashes: BIP143's native P2WPKH example, BIP341's
key-path vectors, and btclib's sighash functions as a second implementation."""

from __future__ import annotations

from typing import Any

import pytest
from btclib.script import sig_hash as btclib_sig_hash
from btclib.tx.tx import Tx as BtclibTx
from btclib.tx.tx_out import TxOut as BtclibTxOut
from coincurve import PrivateKey, PublicKeyXOnly

from chains.bitcoin.transaction import (
    SIGHASH_ALL,
    Transaction,
    TransactionParseError,
    TxOut,
    bip143_sighash,
    bip341_sighash,
    bip341_sigmsg,
    p2wpkh_script_code,
)
from tests.helpers.vectors import load_json

# BIP143, "Native P2WPKH": the second input spends a P2WPKH output of 6 BTC.
BIP143_UNSIGNED = (
    "0100000002fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f0000000000eeff"
    "ffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100000000ffffffff02"
    "202cb206000000001976a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac9093510d000000001976"
    "a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac11000000"
)
BIP143_KEY_HASH = "1d0f172a0ecb48aee1be1f2687d2963ae33f71a1"
BIP143_AMOUNT = 600_000_000
BIP143_SIGHASH = "c37af31116d1b27caf68aae9e3ac82f1477929014d5b917657d0eb49478cb670"

KEY_PATH = load_json("bip341-wallet-test-vectors.json")["keyPathSpending"][0]


def test_bip143_native_p2wpkh() -> None:
    tx = Transaction.parse(bytes.fromhex(BIP143_UNSIGNED))
    assert tx.serialize().hex() == BIP143_UNSIGNED
    script_code = p2wpkh_script_code(bytes.fromhex(BIP143_KEY_HASH))
    assert script_code.hex() == "76a914" + BIP143_KEY_HASH + "88ac"
    sighash = bip143_sighash(tx, 1, script_code, BIP143_AMOUNT, SIGHASH_ALL)
    assert sighash.hex() == BIP143_SIGHASH
    other = btclib_sig_hash.segwit_v0(
        script_code, BtclibTx.parse(bytes.fromhex(BIP143_UNSIGNED)), 1, SIGHASH_ALL, BIP143_AMOUNT
    )
    assert other == sighash


def _spent() -> list[TxOut]:
    return [
        TxOut(u["amountSats"], bytes.fromhex(u["scriptPubKey"]))
        for u in KEY_PATH["given"]["utxosSpent"]
    ]


def test_bip341_transaction_round_trips() -> None:
    unsigned = bytes.fromhex(KEY_PATH["given"]["rawUnsignedTx"])
    assert Transaction.parse(unsigned).serialize() == unsigned
    signed = bytes.fromhex(KEY_PATH["auxiliary"]["fullySignedTx"])
    tx = Transaction.parse(signed)
    assert tx.serialize() == signed
    assert tx.txid == BtclibTx.parse(signed).id.hex()
    assert tx.wtxid == BtclibTx.parse(signed).hash.hex()
    assert tx.vsize == BtclibTx.parse(signed).vsize


@pytest.mark.parametrize(
    "case", KEY_PATH["inputSpending"], ids=lambda c: f"input{c['given']['txinIndex']}"
)
def test_bip341_key_path_sighash(case: dict[str, Any]) -> None:
    tx = Transaction.parse(bytes.fromhex(KEY_PATH["given"]["rawUnsignedTx"]))
    index = case["given"]["txinIndex"]
    hash_type = case["given"]["hashType"]
    spent = _spent()
    # The vector's sigMsg starts with the epoch byte 0x00 that the tagged hash prepends.
    sigmsg = bip341_sigmsg(tx, index, spent, hash_type)
    assert "00" + sigmsg.hex() == case["intermediary"]["sigMsg"]
    sighash = bip341_sighash(tx, index, spent, hash_type)
    assert sighash.hex() == case["intermediary"]["sigHash"]
    # btclib's BIP341 implementation agrees.
    btclib_spent = [BtclibTxOut(o.amount, o.script_pubkey) for o in spent]
    btclib_tx = BtclibTx.parse(bytes.fromhex(KEY_PATH["given"]["rawUnsignedTx"]))
    assert (
        btclib_sig_hash.taproot(btclib_tx, index, btclib_spent, hash_type, 0, b"", b"") == sighash
    )
    # The vector's witness signature verifies for the tweaked key over our sighash.
    tweaked = PrivateKey(bytes.fromhex(case["intermediary"]["tweakedPrivkey"]))
    x_only = tweaked.public_key.format()[1:]
    assert spent[index].script_pubkey == b"\x51\x20" + x_only
    witness = bytes.fromhex(case["expected"]["witness"][0])
    assert PublicKeyXOnly(x_only).verify(witness[:64], sighash)


def test_default_sighash_refuses_bad_hash_types() -> None:
    tx = Transaction.parse(bytes.fromhex(KEY_PATH["given"]["rawUnsignedTx"]))
    with pytest.raises(ValueError, match="not valid for taproot"):
        bip341_sighash(tx, 0, _spent(), 0x04)
    with pytest.raises(ValueError, match="spent outputs"):
        bip341_sighash(tx, 0, _spent()[:-1])


def test_parse_refuses_garbage() -> None:
    raw = bytes.fromhex(BIP143_UNSIGNED)
    for bad in (raw[:-1], raw + b"\0", b"", bytes.fromhex("0200000000020000")):
        with pytest.raises(TransactionParseError):
            Transaction.parse(bad)
