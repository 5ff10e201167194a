"""SignTransactionWorkflow on every real engine, through the dev server and real party
workers: Ethereum, Polygon and Arbitrum (py-evm) and Bitcoin P2WPKH with threshold ECDSA,
Bitcoin P2TR with FROST-taproot, Solana (LiteSVM) with FROST-Ed25519. Each raw transaction
is then handed to a fresh engine of its chain (tests/chains/engine_checks.py), and a
flipped signature bit is refused there.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.models import (
    CreateWalletInput,
    CreateWalletResult,
    EcdsaSetupInput,
    SignTransactionInput,
)
from chains.config import ChainsConfig
from chains.evm.adapter import EvmChain
from chains.evm.embedded import EmbeddedEvm
from chains.models import TransferIntent
from chains.registry import ChainRegistry
from quorate.client import (
    CeremonyFailed,
    address_balance,
    create_wallet,
    faucet,
    key_address,
    setup_ecdsa,
    sign_transaction,
    wallet_address,
)
from quorate.demo import TRANSFERS, demo_recipient_key
from runtime.settings import Settings
from storage.events.port import verify_chain
from tests.chains.engine_checks import (
    EngineRefusedError,
    bitcoin_accepts,
    evm_accepts,
    flip_signature_bit,
    solana_accepts,
)
from tests.integration.conftest import System, start_system

# The demo's six transfers: (chain, wallet scheme, faucet amount, transfer amount).
CHAINS = TRANSFERS


@pytest.fixture
async def chain_system(settings: Settings, temporal: WorkflowEnvironment) -> AsyncIterator[System]:
    config = ChainsConfig.load()
    # "polygon-on-mainnet-node": configured for chain id 137, its node answers as chain 1.
    mismatch = config.get("polygon").model_copy(update={"name": "polygon-wrong-node"})
    registry = ChainRegistry(
        ChainsConfig(chains={**config.chains, mismatch.name: mismatch}),
        [EvmChain(mismatch, EmbeddedEvm(1))],
    )
    async for running in start_system(settings, temporal.client, chains=registry):
        yield running


async def _wallets(system: System) -> dict[str, CreateWalletResult]:
    await setup_ecdsa(system.client, EcdsaSetupInput(session=f"s-{uuid.uuid4().hex[:6]}"))
    wallets = {}
    for scheme in ("ecdsa-secp256k1", "bip340", "ed25519"):
        wallets[scheme] = await create_wallet(
            system.client,
            CreateWalletInput(wallet_id=f"{scheme[:5]}-{uuid.uuid4().hex[:8]}", scheme=scheme),
        )
    return wallets


async def test_a_transfer_on_every_chain(chain_system: System) -> None:
    client = chain_system.client
    wallets = await _wallets(chain_system)
    for chain, scheme, funding, amount in CHAINS:
        wallet = wallets[scheme]
        source = await wallet_address(client, wallet.wallet_id, chain)
        await faucet(client, chain, source.address, funding)
        recipient = await key_address(client, chain, demo_recipient_key(scheme))
        assert recipient.balance == 0
        result = await sign_transaction(
            client,
            SignTransactionInput(
                wallet_id=wallet.wallet_id,
                intent=TransferIntent(chain=chain, to=recipient.address, amount=amount),
            ),
            authorizer=chain_system.authorizer,
        )
        assert result.status == "confirmed", chain
        assert result.confirmations >= 2 or chain == "solana"
        # Balances moved on the engine: the recipient got the amount, the sender paid it
        # plus at most the fee the transaction allowed.
        assert (await address_balance(client, chain, recipient.address)).balance == amount
        after = (await address_balance(client, chain, source.address)).balance
        assert funding - amount - result.fee <= after < funding - amount
        raw = bytes.fromhex(result.raw_tx)
        # The ceremony's recorded signature is the one in the transaction (its first half,
        # r for ECDSA, minimally encoded by RLP and DER, so without leading zero bytes), and
        # one flipped bit of it makes the engine refuse.
        signature = bytes.fromhex(await _signature(chain_system, result.ceremonies[0]))
        assert signature[:32].lstrip(b"\x00") in raw
        config = ChainsConfig.load().get(chain)
        flipped = flip_signature_bit(config.family, raw, config.output)
        if config.family == "bitcoin":
            assert len(result.prevouts) == len(result.ceremonies) >= 1
            bitcoin_accepts(raw, result.prevouts)
            with pytest.raises(EngineRefusedError):
                bitcoin_accepts(flipped, result.prevouts)
        elif config.family == "solana":
            solana_accepts(raw, funding)
            with pytest.raises(EngineRefusedError):
                solana_accepts(flipped, funding)
        else:
            assert config.chain_id is not None
            await evm_accepts(raw, source.address, config.chain_id)
            with pytest.raises(EngineRefusedError):
                await evm_accepts(flipped, source.address, config.chain_id)
    events = await chain_system.events.read_all()
    verify_chain(events)
    kinds = [e.event_type for e in events]
    for kind in ("TransactionBuilt", "TransactionBroadcast", "TransactionConfirmed"):
        assert kinds.count(kind) == len(CHAINS), kind


async def _signature(system: System, ceremony_id: str) -> str:
    for event in await system.events.read_stream(f"ceremony-{ceremony_id}"):
        if event.event_type == "SignatureProduced":
            return str(event.payload["signature"])
    raise AssertionError(f"no signature recorded for {ceremony_id}")


async def test_bad_input_is_refused_before_any_ceremony(chain_system: System) -> None:
    client = chain_system.client
    wallets = await _wallets(chain_system)
    ecdsa = wallets["ecdsa-secp256k1"]
    source = await wallet_address(client, ecdsa.wallet_id, "polygon")
    await faucet(client, "polygon", source.address, 10**18)
    btc = await wallet_address(client, ecdsa.wallet_id, "bitcoin-p2wpkh")
    await faucet(client, "bitcoin-p2wpkh", btc.address, 10**6)
    good_evm = (await key_address(client, "polygon", demo_recipient_key("ecdsa-secp256k1"))).address
    recipient = demo_recipient_key("ecdsa-secp256k1")
    good_btc = (await key_address(client, "bitcoin-p2wpkh", recipient)).address
    # One letter's case changed: a valid-looking address whose EIP-55 checksum fails.
    flipped = next(i for i, c in enumerate(good_evm) if i > 1 and c.isalpha())
    bad_checksum = good_evm[:flipped] + good_evm[flipped].swapcase() + good_evm[flipped + 1 :]
    cases = [
        ("polygon", "0x1234", 1, "InvalidAddress"),
        ("polygon", bad_checksum, 1, "ChecksumMismatch"),
        ("polygon", good_evm, 10**19, "InsufficientFunds"),
        ("no-such-chain", good_evm, 1, "UnknownChain"),
        ("polygon-wrong-node", good_evm, 1, "ChainIdMismatch"),
        # A mainnet address on the regtest chain.
        ("bitcoin-p2wpkh", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", 10_000, "WrongNetwork"),
        ("bitcoin-p2wpkh", "bcrt1qnotanaddress", 10_000, "InvalidAddress"),
        ("bitcoin-p2wpkh", good_btc, 100, "DustOutput"),
        ("bitcoin-p2wpkh", good_btc, 10**7, "InsufficientFunds"),
        ("bitcoin-p2wpkh", btc.address, 10_000, "SelfTransfer"),
        ("polygon", source.address, 1, "SelfTransfer"),
        ("solana", good_evm, 10**7, "WrongScheme"),
    ]
    before = len(await chain_system.events.read_all())
    for chain, to, amount, kind in cases:
        with pytest.raises(CeremonyFailed) as caught:
            await sign_transaction(
                client,
                SignTransactionInput(
                    wallet_id=ecdsa.wallet_id,
                    intent=TransferIntent(chain=chain, to=to, amount=amount),
                ),
                authorizer=chain_system.authorizer,
            )
        assert caught.value.kind == kind, (chain, to, caught.value)
    events = await chain_system.events.read_all()
    assert len(events) == before, [e.event_type for e in events[before:]]
