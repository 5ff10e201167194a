"""The contract every ChainAdapter passes: the fake, and each real engine's adapter.

A subclass provides an ``adapter`` fixture (a fresh chain for each test) and the amounts
that make sense on its chain; everything else is shared, so an adapter that passes here
can be used by SignTransactionWorkflow unchanged.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from chains.errors import (
    BroadcastRejected,
    DustOutput,
    InsufficientFunds,
    InvalidAddress,
    InvalidAmount,
    InvalidSignature,
    WrongChain,
)
from chains.models import SignedTransaction, TransferIntent, UnsignedTransaction
from chains.port import ChainAdapter
from tests.chains.signers import LocalSigner, flip_bit, signer_for


class ChainAdapterContract:
    fund_amount: ClassVar[int]
    transfer_amount: ClassVar[int]
    # An amount the chain refuses as dust; None where the chain has no dust rule.
    dust_amount: ClassVar[int | None] = None
    # Well-formed addresses of other networks or chains, and malformed ones.
    foreign_addresses: ClassVar[tuple[str, ...]] = ()
    malformed_addresses: ClassVar[tuple[str, ...]] = ("", "not-an-address", "0x1234")

    @pytest.fixture
    def sender(self, adapter: ChainAdapter) -> LocalSigner:
        return signer_for(adapter.scheme, "sender")

    @pytest.fixture
    def recipient(self, adapter: ChainAdapter) -> str:
        return adapter.address(signer_for(adapter.scheme, "recipient").public_key)

    async def _funded(self, adapter: ChainAdapter, sender: LocalSigner) -> str:
        address = adapter.address(sender.public_key)
        await adapter.fund(address, self.fund_amount)
        await adapter.advance(1)
        return address

    def _intent(
        self, adapter: ChainAdapter, to: str, amount: int | None = None, **fields: Any
    ) -> TransferIntent:
        return TransferIntent(
            chain=adapter.name, to=to, amount=amount or self.transfer_amount, **fields
        )

    async def _built(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str, **intent: Any
    ) -> UnsignedTransaction:
        """Funds ``sender``, then builds a transfer to ``recipient`` (``intent`` overrides
        the amount or adds fields such as the fee policy)."""
        await self._funded(adapter, sender)
        return await adapter.build(self._intent(adapter, recipient, **intent), sender.public_key)

    @staticmethod
    def _signed(
        adapter: ChainAdapter, sender: LocalSigner, tx: UnsignedTransaction
    ) -> SignedTransaction:
        """``tx`` with ``sender``'s signature on each of its payloads, checked by attach()."""
        return adapter.attach(tx, [sender.sign(p) for p in tx.signing_payloads])

    # -- addresses -----------------------------------------------------------------------

    async def test_address_is_canonical_and_validates(
        self, adapter: ChainAdapter, sender: LocalSigner
    ) -> None:
        address = adapter.address(sender.public_key)
        assert adapter.validate_address(address) == address
        other = adapter.address(signer_for(adapter.scheme, "other").public_key)
        assert other != address

    async def test_malformed_addresses_are_refused(self, adapter: ChainAdapter) -> None:
        for bad in self.malformed_addresses:
            with pytest.raises(InvalidAddress):
                adapter.validate_address(bad)

    async def test_foreign_addresses_are_refused_before_building(
        self, adapter: ChainAdapter, sender: LocalSigner
    ) -> None:
        await self._funded(adapter, sender)
        for foreign in self.foreign_addresses:
            with pytest.raises(InvalidAddress):
                await adapter.build(self._intent(adapter, foreign), sender.public_key)

    # -- a transfer end to end -----------------------------------------------------------

    async def test_transfer_moves_balances_and_confirms(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        source = await self._funded(adapter, sender)
        before_sender = await adapter.balance(source)
        before_recipient = await adapter.balance(recipient)
        tx = await adapter.build(self._intent(adapter, recipient), sender.public_key)
        assert tx.from_address == source
        assert tx.to == recipient
        assert {p.scheme for p in tx.signing_payloads} == {adapter.scheme}
        signed = self._signed(adapter, sender, tx)
        tx_hash = await adapter.broadcast(signed)
        assert tx_hash == signed.tx_hash
        await adapter.advance(adapter.config.confirmations)
        status = await adapter.status(tx_hash)
        assert status.status == "confirmed"
        assert status.confirmations >= adapter.config.confirmations
        assert await adapter.balance(recipient) == before_recipient + self.transfer_amount
        after_sender = await adapter.balance(source)
        # The fee paid is at most the fee the transaction allowed (EVM refunds unused gas).
        assert before_sender - self.transfer_amount - tx.fee <= after_sender
        assert after_sender < before_sender - self.transfer_amount

    async def test_rebroadcast_is_harmless(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        signed = self._signed(adapter, sender, await self._built(adapter, sender, recipient))
        first = await adapter.broadcast(signed)
        await adapter.advance(1)
        second = await adapter.broadcast(signed)
        assert first == second == signed.tx_hash
        assert await adapter.balance(recipient) == self.transfer_amount

    async def test_second_transfer_builds_on_the_first(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        await self._funded(adapter, sender)
        hashes = []
        for _ in range(2):
            tx = await adapter.build(self._intent(adapter, recipient), sender.public_key)
            hashes.append(await adapter.broadcast(self._signed(adapter, sender, tx)))
            await adapter.advance(1)
        assert hashes[0] != hashes[1]
        assert await adapter.balance(recipient) == 2 * self.transfer_amount

    async def test_unknown_transaction_has_unknown_status(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        signed = self._signed(adapter, sender, await self._built(adapter, sender, recipient))
        status = await adapter.status(signed.tx_hash)
        assert status.status == "unknown"
        assert status.confirmations == 0

    # -- signatures ----------------------------------------------------------------------

    async def test_attach_refuses_a_flipped_signature_bit(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        tx = await self._built(adapter, sender, recipient)
        signatures = [sender.sign(p) for p in tx.signing_payloads]
        for bit in (0, 255, 511):
            with pytest.raises(InvalidSignature):
                adapter.attach(tx, [flip_bit(signatures[0], bit), *signatures[1:]])

    async def test_attach_refuses_another_keys_signature(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        tx = await self._built(adapter, sender, recipient)
        stranger = signer_for(adapter.scheme, "stranger")
        with pytest.raises(InvalidSignature):
            adapter.attach(tx, [stranger.sign(p) for p in tx.signing_payloads])
        with pytest.raises(InvalidSignature):
            adapter.attach(tx, [])
        with pytest.raises(WrongChain):
            self._signed(adapter, sender, tx.model_copy(update={"chain": "another-chain"}))

    async def test_engine_refuses_a_flipped_signature_bit(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        source = await self._funded(adapter, sender)
        before = await adapter.balance(source)
        tx = await adapter.build(self._intent(adapter, recipient), sender.public_key)
        signatures = [sender.sign(p) for p in tx.signing_payloads]
        tampered = adapter.assemble(tx, [flip_bit(signatures[0], 3), *signatures[1:]])
        with pytest.raises(BroadcastRejected):
            await adapter.broadcast(tampered)
        await adapter.advance(1)
        assert await adapter.balance(source) == before
        assert await adapter.balance(recipient) == 0
        # The untampered transaction still goes through: nothing was consumed.
        signed = adapter.attach(tx, signatures)
        await adapter.broadcast(signed)
        await adapter.advance(1)
        assert await adapter.balance(recipient) == self.transfer_amount

    # -- bad input -----------------------------------------------------------------------

    async def test_amount_above_balance_is_refused(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        source = await self._funded(adapter, sender)
        before = await adapter.balance(source)
        with pytest.raises(InsufficientFunds):
            await adapter.build(self._intent(adapter, recipient, before + 1), sender.public_key)
        assert await adapter.balance(source) == before

    async def test_empty_wallet_is_refused(self, adapter: ChainAdapter, recipient: str) -> None:
        empty = signer_for(adapter.scheme, "empty")
        with pytest.raises(InsufficientFunds):
            await adapter.build(self._intent(adapter, recipient), empty.public_key)

    async def test_dust_is_refused(
        self, adapter: ChainAdapter, sender: LocalSigner, recipient: str
    ) -> None:
        if self.dust_amount is None:
            # No dust rule on this chain: the smallest unit is a valid transfer.
            tx = await self._built(adapter, sender, recipient, amount=1)
            assert tx.amount == 1
            return
        with pytest.raises(DustOutput):
            await self._built(adapter, sender, recipient, amount=self.dust_amount)

    async def test_non_positive_amount_is_refused(self, adapter: ChainAdapter) -> None:
        with pytest.raises((InvalidAmount, ValueError)):
            TransferIntent(chain=adapter.name, to="x", amount=0)
