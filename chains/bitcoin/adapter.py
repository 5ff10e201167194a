"""The Bitcoin-family chain adapter: P2WPKH (ECDSA, BIP143) or P2TR key path (BIP340,
BIP341/BIP86) wallets, over any BitcoinRpc engine (embedded ledger or a Core-style node).

One signing payload per input: the BIP143 sighash of a P2WPKH input (signed with ECDSA,
low-s, SIGHASH_ALL), or the BIP341 SIGHASH_DEFAULT sighash of a P2TR input (signed with
BIP340 under the BIP86-tweaked output key; the ceremony applies the TapTweak, hence
``taproot_merkle_root`` None).
"""

from __future__ import annotations

from collections.abc import Sequence

from coincurve import PublicKey, PublicKeyXOnly

from chains.bitcoin.address import hash160, parse_address, wallet_address, wallet_script
from chains.bitcoin.network import compact_size_len, network_params, output_size
from chains.bitcoin.rpc import BitcoinRpc
from chains.bitcoin.transaction import (
    SIGHASH_ALL,
    SIGHASH_DEFAULT,
    OutPoint,
    Transaction,
    TxIn,
    TxOut,
    bip143_sighash,
    bip341_sighash,
    input_weight,
    p2wpkh_script_code,
)
from chains.config import BitcoinOutput, ChainConfig
from chains.errors import (
    DustOutput,
    FeeTooHigh,
    InsufficientFunds,
    InvalidAddress,
    NotLocalNetwork,
)
from chains.models import (
    ChainSignature,
    Prevout,
    SignedTransaction,
    SigningPayload,
    TransferIntent,
    TxStatus,
    UnsignedTransaction,
)
from chains.port import ChainAdapter
from chains.taproot import SECP256K1_ORDER, taproot_output_key

TX_VERSION = 2
# Estimatesmartfee confirmation targets for each speed of the fee policy.
CONFIRMATION_TARGETS = {"fast": 2, "standard": 6, "slow": 24}
# The largest witness an input of each type carries: a P2WPKH witness is a DER signature
# of at most 72 bytes with its hash type (71 with low s, 72 when r needs a pad byte) and
# a 33-byte key; a P2TR key-path witness is one 64-byte SIGHASH_DEFAULT signature.
WITNESS_SIZES: dict[BitcoinOutput, tuple[int, ...]] = {"p2wpkh": (72, 33), "p2tr": (64,)}


def estimate_vsize(output: BitcoinOutput, inputs: int, outputs: Sequence[bytes]) -> int:
    """Virtual size of a transaction spending ``inputs`` wallet inputs, from above."""
    base = 4 + compact_size_len(inputs) + compact_size_len(len(outputs)) + 4
    base += sum(output_size(script) for script in outputs)
    weight = base * 4 + 2  # the segwit marker and flag count one weight unit each
    weight += inputs * input_weight(0, WITNESS_SIZES[output])
    return (weight + 3) // 4


def der_signature(compact: bytes) -> bytes:
    """Strict DER (BIP66) encoding of a 64-byte r || s."""

    def integer(value: bytes) -> bytes:
        value = value.lstrip(b"\0") or b"\0"
        if value[0] & 0x80:
            value = b"\0" + value
        return b"\x02" + bytes([len(value)]) + value

    body = integer(compact[:32]) + integer(compact[32:])
    return b"\x30" + bytes([len(body)]) + body


class BitcoinChain(ChainAdapter):
    """P2WPKH or P2TR transfers on one Bitcoin-family network through ``rpc``."""

    # Consensus: no output, and no sum of outputs, above 21 million coins.
    max_amount = 21_000_000 * 100_000_000

    def __init__(self, config: ChainConfig, rpc: BitcoinRpc) -> None:
        super().__init__(config)
        if config.family != "bitcoin" or config.network is None or config.output is None:
            raise ValueError(f"{config.name} is not a bitcoin chain")
        self.rpc = rpc
        self.params = network_params(config.network)
        self.output: BitcoinOutput = config.output

    # -- addresses ---------------------------------------------------------------------

    def address(self, public_key: bytes) -> str:
        return wallet_address(self.params, self.output, public_key)

    def validate_address(self, address: str) -> str:
        parsed = parse_address(self.params, address)
        script = parsed.script_pubkey
        # Witness v1 programs other than 32 bytes (P2TR) and versions 2 to 16 are valid
        # addresses (BIP350) but not yet given meaning by any soft fork: anyone can spend
        # such an output today, so a custody wallet refuses to pay one.
        if 0x51 <= script[0] <= 0x60 and not (script[0] == 0x51 and len(script) == 34):
            raise InvalidAddress(
                f"{address!r} is a witness v{script[0] - 0x50} output nobody owns yet: "
                "anyone could spend it"
            )
        return parsed.address

    # -- building ----------------------------------------------------------------------

    async def build(self, intent: TransferIntent, public_key: bytes) -> UnsignedTransaction:
        to = self.check_intent(intent, public_key)
        recipient_script = parse_address(self.params, to).script_pubkey
        own_script = wallet_script(self.output, public_key)
        recipient_dust = self.params.dust_limit(recipient_script)
        if intent.amount < recipient_dust:
            raise DustOutput(f"{intent.amount} sat is below the dust limit {recipient_dust}")
        rate = await self.rpc.fee_rate(CONFIRMATION_TARGETS[intent.fee.speed])
        utxos = await self.rpc.utxos(own_script)
        selected, fee, change = self._select(
            utxos, intent.amount, rate, recipient_script, own_script
        )
        if intent.fee.max_fee is not None and fee > intent.fee.max_fee:
            raise FeeTooHigh(f"fee {fee} sat exceeds the cap {intent.fee.max_fee}")
        outputs = [TxOut(intent.amount, recipient_script)]
        if change:
            outputs.append(TxOut(change, own_script))
        tx = Transaction(
            TX_VERSION,
            tuple(TxIn(OutPoint(bytes.fromhex(u.txid), u.vout)) for u in selected),
            tuple(outputs),
        )
        unsigned = UnsignedTransaction(
            chain=self.name,
            public_key=public_key.hex(),
            from_address=self.address(public_key),
            to=to,
            amount=intent.amount,
            fee=fee,
            payload=tx.serialize(with_witness=False).hex(),
            signing_payloads=tuple(
                SigningPayload(message=message.hex(), scheme=self.scheme)
                for message in self._sighashes(tx, selected, public_key)
            ),
            prevouts=tuple(selected),
            details={
                "fee_rate": rate,
                "vsize": estimate_vsize(
                    self.output, len(selected), [o.script_pubkey for o in outputs]
                ),
                "change": change,
                "inputs": len(selected),
            },
        )
        return unsigned

    def _select(
        self,
        utxos: Sequence[Prevout],
        amount: int,
        rate: int,
        recipient_script: bytes,
        change_script: bytes,
    ) -> tuple[list[Prevout], int, int]:
        """(inputs, fee, change) paying ``amount`` at ``rate`` sat/vB.

        Largest first: take the biggest coins until they cover amount plus fee. Every input
        costs one threshold-signing ceremony (a signature per input), so the fewest inputs
        matter more here than the UTXO-set tidiness Core's branch-and-bound aims for; it
        is also deterministic (ties broken by outpoint), which keeps builds reproducible.
        Change below its dust limit is left to the fee rather than made into an output.
        """
        ordered = sorted(utxos, key=lambda u: (-u.amount, u.txid, u.vout))
        selected: list[Prevout] = []
        total = 0
        for utxo in ordered:
            selected.append(utxo)
            total += utxo.amount
            bare_fee = rate * estimate_vsize(self.output, len(selected), [recipient_script])
            if total < amount + bare_fee:
                continue
            fee = rate * estimate_vsize(
                self.output, len(selected), [recipient_script, change_script]
            )
            change = total - amount - fee
            if change >= self.params.dust_limit(change_script):
                return selected, fee, change
            return selected, total - amount, 0
        balance = sum(u.amount for u in utxos)
        raise InsufficientFunds(
            f"{amount} sat plus fee at {rate} sat/vB exceeds the balance {balance} sat"
        )

    def _sighashes(
        self, tx: Transaction, prevouts: Sequence[Prevout], public_key: bytes
    ) -> list[bytes]:
        if self.output == "p2wpkh":
            script_code = p2wpkh_script_code(hash160(public_key))
            return [
                bip143_sighash(tx, index, script_code, prevout.amount, SIGHASH_ALL)
                for index, prevout in enumerate(prevouts)
            ]
        spent = [TxOut(p.amount, bytes.fromhex(p.script_pubkey)) for p in prevouts]
        return [bip341_sighash(tx, index, spent, SIGHASH_DEFAULT) for index in range(len(spent))]

    # -- signatures --------------------------------------------------------------------

    def verify_signature(
        self, tx: UnsignedTransaction, payload: SigningPayload, signature: ChainSignature
    ) -> bool:
        if payload.scheme != self.scheme or payload.taproot_merkle_root is not None:
            return False
        if payload not in tx.signing_payloads or not self._payloads_match(tx):
            return False
        raw = bytes.fromhex(signature.signature)
        message = bytes.fromhex(payload.message)
        public_key = bytes.fromhex(tx.public_key)
        if len(raw) != 64:
            return False
        if self.scheme == "bip340":
            key = PublicKeyXOnly(taproot_output_key(public_key))
            return bool(key.verify(raw, message))
        r = int.from_bytes(raw[:32], "big")
        s = int.from_bytes(raw[32:], "big")
        # BIP62/BIP146 low s: Core relays no transaction with a high-s signature.
        if not (0 < r < SECP256K1_ORDER and 0 < s <= SECP256K1_ORDER // 2):
            return False
        try:
            return bool(PublicKey(public_key).verify(der_signature(raw), message, hasher=None))
        except ValueError:
            return False

    def _payloads_match(self, tx: UnsignedTransaction) -> bool:
        """Whether the signing payloads are this transaction's sighashes: a payload that
        came back from elsewhere is recomputed, never trusted."""
        unsigned = Transaction.parse(bytes.fromhex(tx.payload))
        if len(unsigned.inputs) != len(tx.prevouts) or any(
            txin.prevout != OutPoint(bytes.fromhex(p.txid), p.vout)
            for txin, p in zip(unsigned.inputs, tx.prevouts, strict=True)
        ):
            return False
        expected = self._sighashes(unsigned, tx.prevouts, bytes.fromhex(tx.public_key))
        return [bytes.fromhex(p.message) for p in tx.signing_payloads] == expected

    def assemble(
        self, tx: UnsignedTransaction, signatures: Sequence[ChainSignature]
    ) -> SignedTransaction:
        unsigned = Transaction.parse(bytes.fromhex(tx.payload))
        public_key = bytes.fromhex(tx.public_key)
        witnesses: list[tuple[bytes, ...]] = []
        for signature in signatures:
            raw = bytes.fromhex(signature.signature)
            if self.output == "p2wpkh":
                witnesses.append((der_signature(raw) + bytes([SIGHASH_ALL]), public_key))
            else:
                witnesses.append((raw,))  # SIGHASH_DEFAULT: no hash-type byte (BIP341)
        signed = unsigned.with_witnesses(witnesses)
        return SignedTransaction(
            chain=self.name, raw_tx=signed.serialize().hex(), tx_hash=signed.txid
        )

    # -- the chain ---------------------------------------------------------------------

    async def broadcast(self, tx: SignedTransaction) -> str:
        self.check_chain(tx.chain)
        return await self.rpc.send_raw(bytes.fromhex(tx.raw_tx))

    async def status(self, tx_hash: str) -> TxStatus:
        found = await self.rpc.confirmations(tx_hash)
        if found is None:
            return TxStatus(tx_hash=tx_hash, status="unknown", confirmations=0)
        depth, block = found
        return self.mined_status(tx_hash, depth, block)

    async def balance(self, address: str) -> int:
        script = parse_address(self.params, address).script_pubkey
        return sum(u.amount for u in await self.rpc.utxos(script))

    async def fund(self, address: str, amount: int) -> None:
        self._require_local()
        self.check_amount(amount)
        await self.rpc.fund(self.validate_address(address), amount)

    async def advance(self, blocks: int = 1) -> None:
        self._require_local()
        await self.rpc.mine(blocks)

    async def close(self) -> None:
        await self.rpc.close()

    def _require_local(self) -> None:
        if not (self.config.local and self.params.local):
            raise NotLocalNetwork(f"{self.name} is not a local development chain")
