"""Bitcoin transactions: serialization (BIP144), txid/wtxid, and the two sighashes we sign.

- BIP143 (segwit v0) for P2WPKH inputs: the script code is ``OP_DUP OP_HASH160
  <hash160(key)> OP_EQUALVERIFY OP_CHECKSIG``.
- BIP341 ``SigMsg`` for taproot key-path inputs, without annex (``spend_type`` 0), hashed
  with the ``TapSighash`` tag; our wallets sign SIGHASH_DEFAULT.

Txids are shown and passed around in display order (byte-reversed double SHA-256), as
Bitcoin Core's RPC does; serialization reverses them back.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from chains.bitcoin.network import compact_size_len
from chains.taproot import tagged_hash

SIGHASH_DEFAULT = 0x00
SIGHASH_ALL = 0x01
SIGHASH_NONE = 0x02
SIGHASH_SINGLE = 0x03
SIGHASH_ANYONECANPAY = 0x80
TAPROOT_HASH_TYPES = (0x00, 0x01, 0x02, 0x03, 0x81, 0x82, 0x83)

# The coinbase-style input a faucet transaction spends (BIP34-like: null outpoint).
NULL_TXID = bytes(32)
NULL_INDEX = 0xFFFF_FFFF


class TransactionParseError(ValueError):
    """Bytes that are not one well-formed transaction."""


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sha256d(data: bytes) -> bytes:
    return sha256(sha256(data))


def compact_size(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    if n <= 0xFFFF_FFFF:
        return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)


def var_bytes(data: bytes) -> bytes:
    return compact_size(len(data)) + data


@dataclass(frozen=True, slots=True)
class OutPoint:
    txid: bytes  # 32 bytes, display order
    vout: int

    def serialize(self) -> bytes:
        return self.txid[::-1] + struct.pack("<I", self.vout)

    @property
    def is_null(self) -> bool:
        return self.txid == NULL_TXID and self.vout == NULL_INDEX


@dataclass(frozen=True, slots=True)
class TxIn:
    prevout: OutPoint
    script_sig: bytes = b""
    # 0xfffffffd: final for locktime, and opts in to replacement (BIP125).
    sequence: int = 0xFFFF_FFFD
    witness: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class TxOut:
    amount: int
    script_pubkey: bytes

    def serialize(self) -> bytes:
        return struct.pack("<q", self.amount) + var_bytes(self.script_pubkey)


@dataclass(frozen=True, slots=True)
class Transaction:
    version: int
    inputs: tuple[TxIn, ...]
    outputs: tuple[TxOut, ...]
    locktime: int = 0

    @property
    def has_witness(self) -> bool:
        return any(txin.witness for txin in self.inputs)

    def serialize(self, with_witness: bool = True) -> bytes:
        """BIP144 serialization; the legacy form when there is no witness (or asked)."""
        segwit = with_witness and self.has_witness
        out = [struct.pack("<i", self.version)]
        if segwit:
            out.append(b"\x00\x01")
        out.append(compact_size(len(self.inputs)))
        for txin in self.inputs:
            out.append(txin.prevout.serialize())
            out.append(var_bytes(txin.script_sig))
            out.append(struct.pack("<I", txin.sequence))
        out.append(compact_size(len(self.outputs)))
        out.extend(txout.serialize() for txout in self.outputs)
        if segwit:
            for txin in self.inputs:
                out.append(compact_size(len(txin.witness)))
                out.extend(var_bytes(item) for item in txin.witness)
        out.append(struct.pack("<I", self.locktime))
        return b"".join(out)

    @property
    def txid(self) -> str:
        return sha256d(self.serialize(with_witness=False))[::-1].hex()

    @property
    def wtxid(self) -> str:
        return sha256d(self.serialize())[::-1].hex()

    @property
    def weight(self) -> int:
        """BIP141: base size × 3 + total size."""
        return len(self.serialize(with_witness=False)) * 3 + len(self.serialize())

    @property
    def vsize(self) -> int:
        return (self.weight + 3) // 4

    def with_witnesses(self, witnesses: Sequence[tuple[bytes, ...]]) -> Transaction:
        if len(witnesses) != len(self.inputs):
            raise ValueError(f"{len(witnesses)} witnesses for {len(self.inputs)} inputs")
        inputs = tuple(
            TxIn(txin.prevout, txin.script_sig, txin.sequence, witness)
            for txin, witness in zip(self.inputs, witnesses, strict=True)
        )
        return Transaction(self.version, inputs, self.outputs, self.locktime)

    @classmethod
    def parse(cls, raw: bytes) -> Transaction:
        reader = _Reader(raw)
        try:
            tx = cls._read(reader)
        except (struct.error, IndexError) as error:
            raise TransactionParseError(f"truncated transaction: {error}") from None
        if reader.offset != len(raw):
            raise TransactionParseError(f"{len(raw) - reader.offset} bytes after the transaction")
        return tx

    @classmethod
    def _read(cls, reader: _Reader) -> Transaction:
        (version,) = struct.unpack("<i", reader.take(4))
        count = reader.compact_size()
        segwit = False
        if count == 0:
            if reader.take(1) != b"\x01":
                raise TransactionParseError("unknown segwit flag")
            segwit = True
            count = reader.compact_size()
        inputs = []
        for _ in range(count):
            txid = reader.take(32)[::-1]
            (vout,) = struct.unpack("<I", reader.take(4))
            script_sig = reader.take(reader.compact_size())
            (sequence,) = struct.unpack("<I", reader.take(4))
            inputs.append(TxIn(OutPoint(txid, vout), script_sig, sequence))
        outputs = []
        for _ in range(reader.compact_size()):
            (amount,) = struct.unpack("<q", reader.take(8))
            outputs.append(TxOut(amount, reader.take(reader.compact_size())))
        if segwit:
            witnessed = []
            for txin in inputs:
                items = tuple(
                    reader.take(reader.compact_size()) for _ in range(reader.compact_size())
                )
                witnessed.append(TxIn(txin.prevout, txin.script_sig, txin.sequence, items))
            inputs = witnessed
            if not any(txin.witness for txin in inputs):
                raise TransactionParseError("superfluous witness record")
        (locktime,) = struct.unpack("<I", reader.take(4))
        return cls(version, tuple(inputs), tuple(outputs), locktime)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, n: int) -> bytes:
        if self.offset + n > len(self.data):
            raise TransactionParseError("truncated transaction")
        chunk = self.data[self.offset : self.offset + n]
        self.offset += n
        return chunk

    def compact_size(self) -> int:
        first = self.take(1)[0]
        if first < 0xFD:
            return first
        size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
        return int.from_bytes(self.take(size), "little")


# -- BIP143 ----------------------------------------------------------------------------


def p2wpkh_script_code(key_hash: bytes) -> bytes:
    """BIP143: the script code of a P2WPKH input is the P2PKH script of its key hash."""
    return b"\x76\xa9\x14" + key_hash + b"\x88\xac"


def bip143_sighash(
    tx: Transaction, index: int, script_code: bytes, amount: int, hash_type: int = SIGHASH_ALL
) -> bytes:
    """BIP143's double-SHA256 of the segwit v0 signature message of input ``index``."""
    base = hash_type & 0x1F
    anyone = bool(hash_type & SIGHASH_ANYONECANPAY)
    zero = bytes(32)
    hash_prevouts = zero if anyone else sha256d(b"".join(i.prevout.serialize() for i in tx.inputs))
    hash_sequence = (
        zero
        if anyone or base in (SIGHASH_SINGLE, SIGHASH_NONE)
        else sha256d(b"".join(struct.pack("<I", i.sequence) for i in tx.inputs))
    )
    if base not in (SIGHASH_SINGLE, SIGHASH_NONE):
        hash_outputs = sha256d(b"".join(o.serialize() for o in tx.outputs))
    elif base == SIGHASH_SINGLE and index < len(tx.outputs):
        hash_outputs = sha256d(tx.outputs[index].serialize())
    else:
        hash_outputs = zero
    txin = tx.inputs[index]
    preimage = b"".join(
        (
            struct.pack("<i", tx.version),
            hash_prevouts,
            hash_sequence,
            txin.prevout.serialize(),
            var_bytes(script_code),
            struct.pack("<q", amount),
            struct.pack("<I", txin.sequence),
            hash_outputs,
            struct.pack("<I", tx.locktime),
            struct.pack("<I", hash_type),
        )
    )
    return sha256d(preimage)


# -- BIP341 ----------------------------------------------------------------------------


def bip341_sigmsg(
    tx: Transaction, index: int, spent: Sequence[TxOut], hash_type: int = SIGHASH_DEFAULT
) -> bytes:
    """BIP341 ``SigMsg(hash_type, ext_flag=0)`` for a key-path spend without annex."""
    if hash_type not in TAPROOT_HASH_TYPES:
        raise ValueError(f"hash type {hash_type:#x} is not valid for taproot")
    if len(spent) != len(tx.inputs):
        raise ValueError(f"{len(spent)} spent outputs for {len(tx.inputs)} inputs")
    output_type = SIGHASH_ALL if hash_type == SIGHASH_DEFAULT else hash_type & 0x03
    anyone = bool(hash_type & SIGHASH_ANYONECANPAY)
    parts = [bytes([hash_type]), struct.pack("<i", tx.version), struct.pack("<I", tx.locktime)]
    if not anyone:
        parts += [
            sha256(b"".join(i.prevout.serialize() for i in tx.inputs)),
            sha256(b"".join(struct.pack("<q", o.amount) for o in spent)),
            sha256(b"".join(var_bytes(o.script_pubkey) for o in spent)),
            sha256(b"".join(struct.pack("<I", i.sequence) for i in tx.inputs)),
        ]
    if output_type not in (SIGHASH_NONE, SIGHASH_SINGLE):
        parts.append(sha256(b"".join(o.serialize() for o in tx.outputs)))
    parts.append(b"\x00")  # spend_type: ext_flag 0 (key path), no annex
    txin = tx.inputs[index]
    if anyone:
        parts += [
            txin.prevout.serialize(),
            spent[index].serialize(),
            struct.pack("<I", txin.sequence),
        ]
    else:
        parts.append(struct.pack("<I", index))
    if output_type == SIGHASH_SINGLE:
        if index >= len(tx.outputs):
            raise ValueError("SIGHASH_SINGLE without a matching output")
        parts.append(sha256(tx.outputs[index].serialize()))
    return b"".join(parts)


def bip341_sighash(
    tx: Transaction, index: int, spent: Sequence[TxOut], hash_type: int = SIGHASH_DEFAULT
) -> bytes:
    """``hash_TapSighash(0x00 || SigMsg)`` (BIP341, epoch 0)."""
    return tagged_hash("TapSighash", b"\x00" + bip341_sigmsg(tx, index, spent, hash_type))


def input_weight(script_sig_len: int, witness: Sequence[int]) -> int:
    """Weight of one input: non-witness bytes × 4 plus its witness stack (sizes given)."""
    base = 32 + 4 + compact_size_len(script_sig_len) + script_sig_len + 4
    stack = compact_size_len(len(witness)) + sum(compact_size_len(n) + n for n in witness)
    return base * 4 + stack
