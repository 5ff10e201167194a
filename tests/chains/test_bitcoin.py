"""The Bitcoin adapter on the embedded ledger: the chain contract for P2WPKH and P2TR, and
every signed input checked again here by libbitcoinkernel and btclib directly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import ClassVar

import pbk
import pytest
from btclib.exceptions import BTClibException
from btclib.script.engine import verify_input
from btclib.tx.tx import Tx as BtclibTx
from btclib.tx.tx_out import TxOut as BtclibTxOut
from pbk.script import PrecomputedTransactionData

from chains.bitcoin.adapter import BitcoinChain
from chains.bitcoin.address import encode_segwit, wallet_script
from chains.bitcoin.embedded import EmbeddedBitcoin
from chains.bitcoin.factory import bitcoin_adapter
from chains.bitcoin.network import network_params
from chains.bitcoin.transaction import Transaction, TxIn, TxOut
from chains.config import BitcoinOutput, ChainConfig, ChainsConfig
from chains.errors import (
    BroadcastRejected,
    FeeTooHigh,
    InvalidSignature,
    NotLocalNetwork,
    WrongNetwork,
)
from chains.models import Prevout, TransferIntent, UnsignedTransaction
from tests.chains.contract import ChainAdapterContract
from tests.chains.signers import LocalSigner, signer_for

FOREIGN_ADDRESSES = (
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # mainnet (BIP173)
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",  # testnet (BIP173)
    encode_segwit("rltc", 0, bytes(range(20))),  # litecoin regtest
    "0x" + "ab" * 20,  # an EVM address
)


def regtest_config(output: BitcoinOutput, **extra: object) -> ChainConfig:
    return ChainConfig.model_validate(
        {
            "name": f"bitcoin-{output}",
            "family": "bitcoin",
            "network": "regtest",
            "output": output,
            "symbol": "BTC",
            "decimals": 8,
            "confirmations": 2,
            **extra,
        }
    )


def verify_independently(raw: bytes, prevouts: Sequence[Prevout]) -> list[tuple[bool, bool]]:
    """(libbitcoinkernel, btclib) verdict for every input of a signed transaction."""
    spent = [(bytes.fromhex(p.script_pubkey), p.amount) for p in prevouts]
    kernel_tx = pbk.Transaction(raw)
    precomputed = PrecomputedTransactionData(
        kernel_tx, [pbk.TransactionOutput(pbk.ScriptPubkey(s), a) for s, a in spent]
    )
    btclib_tx = BtclibTx.parse(raw)
    btclib_spent = [BtclibTxOut(a, s) for s, a in spent]
    verdicts = []
    for index, (script, amount) in enumerate(spent):
        try:
            kernel = bool(
                pbk.ScriptPubkey(script).verify(
                    amount, kernel_tx, precomputed, index, pbk.ScriptVerificationFlags.ALL
                )
            )
        except pbk.ScriptVerifyException:
            kernel = False
        try:
            verify_input(btclib_spent, btclib_tx, index)
            other = True
        except BTClibException:
            other = False
        verdicts.append((kernel, other))
    return verdicts


def flip_witness_bit(raw: bytes, index: int) -> bytes:
    """Flip one bit inside the signature of input ``index`` (the witness's first item)."""
    tx = Transaction.parse(raw)
    signature = bytearray(tx.inputs[index].witness[0])
    signature[10] ^= 0x01  # inside r, for DER and BIP340 alike
    witnesses = [txin.witness for txin in tx.inputs]
    witnesses[index] = (bytes(signature), *witnesses[index][1:])
    return tx.with_witnesses(witnesses).serialize()


class BitcoinContract(ChainAdapterContract):
    output: ClassVar[BitcoinOutput]
    fund_amount = 1_000_000
    transfer_amount = 100_000
    foreign_addresses = FOREIGN_ADDRESSES

    @pytest.fixture
    async def adapter(self) -> AsyncIterator[BitcoinChain]:
        config = regtest_config(self.output)
        chain = BitcoinChain(config, EmbeddedBitcoin(network_params("regtest")))
        yield chain
        await chain.close()

    async def _send(
        self, adapter: BitcoinChain, sender: LocalSigner, to: str, amount: int
    ) -> tuple[UnsignedTransaction, bytes]:
        tx = await adapter.build(self._intent(adapter, to, amount), sender.public_key)
        signed = self._signed(adapter, sender, tx)
        assert await adapter.broadcast(signed) == signed.tx_hash
        return tx, bytes.fromhex(signed.raw_tx)

    async def test_inputs_verify_independently_and_a_flipped_bit_fails_both(
        self, adapter: BitcoinChain, sender: LocalSigner, recipient: str
    ) -> None:
        await self._funded(adapter, sender)
        tx, raw = await self._send(adapter, sender, recipient, self.transfer_amount)
        assert verify_independently(raw, tx.prevouts) == [(True, True)] * len(tx.prevouts)
        assert verify_independently(flip_witness_bit(raw, 0), tx.prevouts)[0] == (False, False)

    async def test_multi_input_spend_signs_every_input(
        self, adapter: BitcoinChain, sender: LocalSigner, recipient: str
    ) -> None:
        source = adapter.address(sender.public_key)
        for _ in range(2):
            await adapter.fund(source, 70_000)
        await adapter.advance(1)
        tx, raw = await self._send(adapter, sender, recipient, 100_000)
        assert len(tx.prevouts) == len(tx.signing_payloads) == 2
        assert len({p.message for p in tx.signing_payloads}) == 2
        assert verify_independently(raw, tx.prevouts) == [(True, True)] * 2
        for index in range(2):
            verdicts = verify_independently(flip_witness_bit(raw, index), tx.prevouts)
            assert verdicts[index] == (False, False)
        await adapter.advance(1)
        assert await adapter.balance(recipient) == 100_000

    async def test_change_returns_to_the_wallet(
        self, adapter: BitcoinChain, sender: LocalSigner, recipient: str
    ) -> None:
        source = await self._funded(adapter, sender)
        tx, raw = await self._send(adapter, sender, recipient, self.transfer_amount)
        change = self.fund_amount - self.transfer_amount - tx.fee
        assert tx.details["change"] == change > 0
        outputs = Transaction.parse(raw).outputs
        assert [o.amount for o in outputs] == [self.transfer_amount, change]
        assert outputs[1].script_pubkey == wallet_script(self.output, sender.public_key)
        # The fee pays at least the fee rate for the real size.
        assert tx.fee >= int(tx.details["fee_rate"]) * Transaction.parse(raw).vsize
        assert int(tx.details["vsize"]) >= Transaction.parse(raw).vsize
        await adapter.advance(1)
        assert await adapter.balance(source) == change

    async def test_change_below_dust_goes_to_the_fee(
        self, adapter: BitcoinChain, sender: LocalSigner, recipient: str
    ) -> None:
        source = adapter.address(sender.public_key)
        await adapter.fund(source, 100_000 + 500)
        await adapter.advance(1)
        tx, raw = await self._send(adapter, sender, recipient, 100_000)
        assert tx.details["change"] == 0
        assert tx.fee == 500
        assert len(Transaction.parse(raw).outputs) == 1

    async def test_fee_cap(
        self, adapter: BitcoinChain, sender: LocalSigner, recipient: str
    ) -> None:
        await self._funded(adapter, sender)
        intent = TransferIntent.model_validate(
            {"chain": adapter.name, "to": recipient, "amount": 10_000, "fee": {"max_fee": 10}}
        )
        with pytest.raises(FeeTooHigh):
            await adapter.build(intent, sender.public_key)

    async def test_foreign_addresses_are_wrong_network(self, adapter: BitcoinChain) -> None:
        for foreign in FOREIGN_ADDRESSES[:3]:
            with pytest.raises(WrongNetwork):
                adapter.validate_address(foreign)

    async def test_payloads_are_recomputed_not_trusted(
        self, adapter: BitcoinChain, sender: LocalSigner, recipient: str
    ) -> None:
        tx = await self._built(adapter, sender, recipient, amount=10_000)
        forged = tx.signing_payloads[0].model_copy(update={"message": "11" * 32})
        swapped = tx.model_copy(update={"signing_payloads": (forged,)})
        with pytest.raises(InvalidSignature):
            adapter.attach(swapped, [sender.sign(forged)])

    async def test_engine_refuses_a_double_spend(
        self, adapter: BitcoinChain, sender: LocalSigner, recipient: str
    ) -> None:
        await self._funded(adapter, sender)
        first = await adapter.build(self._intent(adapter, recipient, 10_000), sender.public_key)
        second = await adapter.build(self._intent(adapter, recipient, 20_000), sender.public_key)
        for tx in (first, second):
            signed = self._signed(adapter, sender, tx)
            if tx is first:
                await adapter.broadcast(signed)
            else:
                with pytest.raises(BroadcastRejected, match="double spend"):
                    await adapter.broadcast(signed)

    async def test_engine_refuses_outputs_above_inputs(
        self, adapter: BitcoinChain, sender: LocalSigner, recipient: str
    ) -> None:
        tx = await self._built(adapter, sender, recipient, amount=10_000)
        unsigned = Transaction.parse(bytes.fromhex(tx.payload))
        greedy = Transaction(
            unsigned.version,
            tuple(
                TxIn(i.prevout, i.script_sig, i.sequence, (b"\x01" * 64,)) for i in unsigned.inputs
            ),
            (TxOut(10**9, unsigned.outputs[0].script_pubkey),),
        )
        with pytest.raises(BroadcastRejected, match="exceed inputs"):
            await adapter.rpc.send_raw(greedy.serialize())


class TestBitcoinP2wpkh(BitcoinContract):
    output = "p2wpkh"
    dust_amount = 293


class TestBitcoinP2tr(BitcoinContract):
    output = "p2tr"
    dust_amount = 329


def test_factory_builds_the_configured_engine() -> None:
    chains = ChainsConfig.load()
    for name, scheme in (("bitcoin-p2wpkh", "ecdsa-secp256k1"), ("bitcoin-p2tr", "bip340")):
        chain = bitcoin_adapter(chains.get(name))
        assert isinstance(chain.rpc, EmbeddedBitcoin)
        assert chain.scheme == scheme
        key = signer_for(scheme, "factory").public_key
        assert chain.address(key).startswith("bcrt1q" if scheme != "bip340" else "bcrt1p")


async def test_public_networks_neither_fund_nor_mine() -> None:
    chain = BitcoinChain(
        regtest_config("p2wpkh", network="mainnet", local=False),
        EmbeddedBitcoin(network_params("mainnet"), local=False),
    )
    address = chain.address(signer_for("ecdsa-secp256k1", "x").public_key)
    assert address.startswith("bc1q")
    with pytest.raises(NotLocalNetwork):
        await chain.fund(address, 1_000)
    with pytest.raises(NotLocalNetwork):
        await chain.advance(1)
    with pytest.raises(NotLocalNetwork):
        await chain.rpc.mine(1)
