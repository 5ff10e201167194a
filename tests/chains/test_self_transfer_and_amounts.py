"""Refusals every family makes before anything is signed, on the embedded engines and the
fake: a transfer to the wallet's own address (SelfTransfer), and amounts the chain's
field cannot carry, for transfers and for the development faucet (InvalidAmount, typed,
at once, where the engines themselves would raise an untyped OverflowError or
ValidationError)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chains.config import ChainConfig, ChainsConfig
from chains.errors import InvalidAmount, SelfTransfer
from chains.fake import FakeChain
from chains.models import TransferIntent
from chains.port import ChainAdapter
from chains.registry import ChainRegistry
from tests.chains.signers import signer_for

# One chain per family and output type, as configured for the embedded engines.
EMBEDDED = ("ethereum", "bitcoin-p2wpkh", "bitcoin-p2tr", "solana")
FUNDING = {"evm": 10**18, "bitcoin": 10**8, "solana": 10**9}
# The first amount each family's field cannot carry.
TOO_LARGE = {"evm": 2**256, "bitcoin": 21_000_000 * 100_000_000 + 1, "solana": 2**64}
FAKE = ChainConfig(
    name="fake-sol", family="solana", symbol="F", decimals=0, confirmations=1, local=True
)


@pytest.fixture(params=(*EMBEDDED, "fake"))
async def adapter(request: pytest.FixtureRequest) -> AsyncIterator[ChainAdapter]:
    if request.param == "fake":
        registry = ChainRegistry(ChainsConfig(chains={FAKE.name: FAKE}), [FakeChain(FAKE)])
        name = FAKE.name
    else:
        registry = ChainRegistry(ChainsConfig.load())
        name = request.param
    yield registry.get(name)
    await registry.close()


async def _funded_wallet(adapter: ChainAdapter) -> tuple[bytes, str]:
    key = signer_for(adapter.scheme, f"self-{adapter.name}").public_key
    own = adapter.address(key)
    await adapter.fund(own, FUNDING[adapter.config.family])
    await adapter.advance(1)
    return key, own


async def test_a_transfer_to_the_wallets_own_address_is_refused(adapter: ChainAdapter) -> None:
    key, own = await _funded_wallet(adapter)
    balance = await adapter.balance(own)
    intent = TransferIntent(chain=adapter.name, to=own, amount=10**6)
    with pytest.raises(SelfTransfer, match="own address"):
        await adapter.build(intent, key)
    # Another spelling of the same address is the same address.
    if adapter.config.family == "evm":
        lowered = TransferIntent(chain=adapter.name, to=own.lower(), amount=10**6)
        with pytest.raises(SelfTransfer):
            await adapter.build(lowered, key)
    assert await adapter.balance(own) == balance
    # Anyone else is still paid.
    other = adapter.address(signer_for(adapter.scheme, "someone else").public_key)
    built = await adapter.build(TransferIntent(chain=adapter.name, to=other, amount=10**6), key)
    assert built.to == other


async def test_amounts_the_chain_cannot_carry_are_refused_typed(adapter: ChainAdapter) -> None:
    key, own = await _funded_wallet(adapter)
    other = adapter.address(signer_for(adapter.scheme, "someone else").public_key)
    if adapter.max_amount is None:  # the fake has no amount field
        return
    too_large = TOO_LARGE[adapter.config.family]
    assert too_large == adapter.max_amount + 1
    with pytest.raises(InvalidAmount):
        await adapter.build(TransferIntent(chain=adapter.name, to=other, amount=too_large), key)
    with pytest.raises(InvalidAmount):
        await adapter.fund(own, too_large)
    with pytest.raises(InvalidAmount):
        await adapter.fund(own, 0)


async def test_the_evm_faucet_refuses_more_than_it_holds_typed() -> None:
    registry = ChainRegistry(ChainsConfig.load())
    try:
        chain = registry.get("ethereum")
        address = chain.address(signer_for("ecdsa-secp256k1", "greedy").public_key)
        with pytest.raises(InvalidAmount, match="faucet holds"):
            await chain.fund(address, 2**200)
        assert await chain.balance(address) == 0
    finally:
        await registry.close()
