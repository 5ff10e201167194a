"""The EVM adapter on py-evm (in process), for each configured chain id; then the EVM's
own rules: EIP-55 spellings, EIP-1559 encoding checked by eth-account, chain ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import AsyncMock

import pytest
from eth_account import Account
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from hexbytes import HexBytes

from chains.config import ChainConfig, ChainsConfig
from chains.errors import (
    BroadcastRejected,
    ChainIdMismatch,
    ChecksumMismatch,
    FeeTooHigh,
    InvalidAddress,
    InvalidSignature,
    NotLocalNetwork,
)
from chains.evm import EmbeddedEvm, EvmChain, JsonRpcEvm, evm_adapter
from chains.models import ChainSignature, FeePolicy, SignedTransaction, TransferIntent
from chains.port import ChainAdapter
from chains.taproot import SECP256K1_ORDER
from tests.chains.contract import ChainAdapterContract
from tests.chains.signers import LocalSigner, signer_for

EVM_CHAINS = ("ethereum", "polygon", "arbitrum")  # chain ids 1, 137, 42161
ETHER = 10**18
# Well-formed addresses of other chains: bitcoin bech32 (BIP173's example), a Solana key.
FOREIGN = (
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T",
)


def evm_config(name: str, **changes: Any) -> ChainConfig:
    return ChainsConfig.load().get(name).model_copy(update=changes)


def embedded_chain(name: str) -> EvmChain:
    config = evm_config(name)
    assert config.chain_id is not None
    return EvmChain(config, EmbeddedEvm(config.chain_id))


class TestEvmChainOnPyEvm(ChainAdapterContract):
    fund_amount = ETHER
    transfer_amount = ETHER // 1000
    foreign_addresses = FOREIGN

    @pytest.fixture(params=EVM_CHAINS)
    async def adapter(self, request: pytest.FixtureRequest) -> AsyncIterator[ChainAdapter]:
        chain = embedded_chain(request.param)
        yield chain
        await chain.close()


# -- helpers -----------------------------------------------------------------------------

SENDER = signer_for("ecdsa-secp256k1", "sender")
RECIPIENT = signer_for("ecdsa-secp256k1", "recipient")


async def funded(chain: EvmChain, signer: LocalSigner = SENDER) -> str:
    address = chain.address(signer.public_key)
    await chain.fund(address, ETHER)
    return address


async def signed_transfer(
    chain: EvmChain, signer: LocalSigner = SENDER, amount: int = 12345, **intent: Any
) -> SignedTransaction:
    tx = await chain.build(
        TransferIntent(
            chain=chain.name, to=chain.address(RECIPIENT.public_key), amount=amount, **intent
        ),
        signer.public_key,
    )
    return chain.attach(tx, [signer.sign(p) for p in tx.signing_payloads])


# -- EIP-55 ------------------------------------------------------------------------------

# EIP-55 §Test Cases, verbatim.
EIP55_ALL_CAPS = (
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
)
EIP55_ALL_LOWER = (
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
)
EIP55_NORMAL = (
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
)


@pytest.mark.parametrize("address", EIP55_ALL_CAPS + EIP55_ALL_LOWER + EIP55_NORMAL)
def test_eip55_examples_are_valid(address: str) -> None:
    chain = embedded_chain("ethereum")
    canonical = chain.validate_address(address)
    assert canonical.lower() == address.lower()
    # The canonical spelling is the checksummed one, whatever case came in.
    assert chain.validate_address(canonical) == canonical
    assert chain.validate_address(address.lower()) == canonical
    assert chain.validate_address("0x" + address[2:].upper()) == canonical


@pytest.mark.parametrize("address", EIP55_NORMAL)
def test_one_letter_in_the_wrong_case_is_a_checksum_mismatch(address: str) -> None:
    chain = embedded_chain("ethereum")
    index = next(i for i, char in enumerate(address) if i >= 2 and char.isalpha())
    changed = address[:index] + address[index].swapcase() + address[index + 1 :]
    with pytest.raises(ChecksumMismatch):
        chain.validate_address(changed)


@pytest.mark.parametrize(
    "address",
    [
        *FOREIGN,
        "",
        "0x1234",
        "0x" + "g" * 40,
        "52908400098527886E0F7030069857D2E4169EE7",
        "0x" + "a" * 41,
    ],
)
def test_non_evm_addresses_are_invalid(address: str) -> None:
    with pytest.raises(InvalidAddress):
        embedded_chain("ethereum").validate_address(address)


def test_address_matches_eth_account() -> None:
    chain = embedded_chain("ethereum")
    assert chain.address(SENDER.public_key) == Account.from_key(SENDER.seed).address


# -- EIP-1559 transactions, checked by eth-account -----------------------------------------


@pytest.mark.parametrize("name", EVM_CHAINS)
async def test_signed_transaction_recovers_and_decodes(name: str) -> None:
    chain = embedded_chain(name)
    source = await funded(chain)
    tx = await chain.build(
        TransferIntent(chain=chain.name, to=chain.address(RECIPIENT.public_key), amount=777),
        SENDER.public_key,
    )
    signed = chain.attach(tx, [SENDER.sign(p) for p in tx.signing_payloads])
    raw = bytes.fromhex(signed.raw_tx)
    assert Account.recover_transaction(raw) == source
    decoded = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    assert decoded["type"] == 2
    assert decoded["chainId"] == chain.config.chain_id
    assert decoded["nonce"] == 0
    assert decoded["to"] == bytes.fromhex(chain.address(RECIPIENT.public_key)[2:])
    assert decoded["value"] == 777
    assert decoded["gas"] == 21_000
    # eth-account's signing hash is the digest the ceremony signed.
    assert TypedTransaction.from_bytes(HexBytes(raw)).hash().hex() == tx.signing_payloads[0].message
    # py-evm's transaction hash (returned by the engine) is the one we computed.
    assert await chain.broadcast(signed) == signed.tx_hash


async def test_y_parity_follows_the_recovery_id() -> None:
    chain = embedded_chain("ethereum")
    seen = set()
    for index in range(8):
        signer = signer_for("ecdsa-secp256k1", f"parity-{index}")
        await funded(chain, signer)
        tx = await chain.build(
            TransferIntent(chain=chain.name, to=chain.address(RECIPIENT.public_key), amount=1),
            signer.public_key,
        )
        signature = signer.sign(tx.signing_payloads[0])
        signed = chain.attach(tx, [signature])
        y_parity = TypedTransaction.from_bytes(HexBytes(bytes.fromhex(signed.raw_tx))).vrs()[0]
        assert y_parity == signature.recovery_id
        seen.add(y_parity)
    assert seen == {0, 1}


async def test_high_s_and_unsendable_recovery_ids_are_refused() -> None:
    chain = embedded_chain("ethereum")
    await funded(chain)
    tx = await chain.build(
        TransferIntent(chain=chain.name, to=chain.address(RECIPIENT.public_key), amount=1),
        SENDER.public_key,
    )
    signature = SENDER.sign(tx.signing_payloads[0])
    assert signature.recovery_id is not None
    raw = bytes.fromhex(signature.signature)
    # (r, n - s) with the other parity is the same point: valid ECDSA, refused by EIP-2.
    high_s = (SECP256K1_ORDER - int.from_bytes(raw[32:], "big")).to_bytes(32, "big")
    malleable = ChainSignature(
        signature=(raw[:32] + high_s).hex(), recovery_id=signature.recovery_id ^ 1
    )
    with pytest.raises(InvalidSignature):
        chain.attach(tx, [malleable])
    with pytest.raises(InvalidSignature):
        chain.attach(tx, [signature.model_copy(update={"recovery_id": None})])
    with pytest.raises(InvalidSignature):
        chain.assemble(tx, [signature.model_copy(update={"recovery_id": 2})])


async def test_polygon_tips_never_go_below_its_floor() -> None:
    chain = embedded_chain("polygon")
    await funded(chain)
    to = chain.address(RECIPIENT.public_key)
    for speed in ("slow", "standard", "fast"):
        tx = await chain.build(
            TransferIntent(chain=chain.name, to=to, amount=1, fee=FeePolicy(speed=speed)),
            SENDER.public_key,
        )
        assert int(tx.details["max_priority_fee_per_gas"]) >= 30 * 10**9
        # The engine accepts and mines it: the floor only raises what is offered.
        signed = chain.attach(tx, [SENDER.sign(p) for p in tx.signing_payloads])
        await chain.broadcast(signed)


async def test_fee_speed_scales_the_tip_and_the_cap_is_enforced() -> None:
    chain = embedded_chain("ethereum")
    await funded(chain)
    to = chain.address(RECIPIENT.public_key)
    tips = {}
    for speed in ("slow", "standard", "fast"):
        tx = await chain.build(
            TransferIntent(chain=chain.name, to=to, amount=1, fee=FeePolicy(speed=speed)),
            SENDER.public_key,
        )
        tips[speed] = int(tx.details["max_priority_fee_per_gas"])
        assert tx.fee == 21_000 * int(tx.details["max_fee_per_gas"])
    assert tips["slow"] < tips["standard"] < tips["fast"]
    standard = await chain.build(
        TransferIntent(chain=chain.name, to=to, amount=1), SENDER.public_key
    )
    capped = TransferIntent(chain=chain.name, to=to, amount=1, fee=FeePolicy(max_fee=standard.fee))
    assert (await chain.build(capped, SENDER.public_key)).fee == standard.fee
    too_low = FeePolicy(max_fee=standard.fee - 1)
    with pytest.raises(FeeTooHigh):
        await chain.build(capped.model_copy(update={"fee": too_low}), SENDER.public_key)


# -- chain ids ---------------------------------------------------------------------------


async def test_chain_id_mismatch_is_refused_before_anything_else() -> None:
    engine = EmbeddedEvm(1)
    chain = EvmChain(evm_config("polygon"), engine)  # configured for 137
    source = await funded(chain)
    height = await engine.block_number()
    # Any question to the node other than its chain id is a failure of this test.
    for method in ("nonce", "base_fee", "priority_fee", "balance", "send_raw", "fund", "mine"):
        setattr(engine, method, AsyncMock(side_effect=AssertionError(f"{method} called")))
    with pytest.raises(ChainIdMismatch, match="137"):
        await chain.build(
            TransferIntent(chain=chain.name, to=chain.address(RECIPIENT.public_key), amount=1),
            SENDER.public_key,
        )
    assert await engine.block_number() == height
    assert await EmbeddedEvm.nonce(engine, source) == 0


async def test_engine_refuses_a_transaction_for_another_chain_id() -> None:
    polygon = embedded_chain("polygon")
    ethereum = embedded_chain("ethereum")
    await funded(polygon)
    await funded(ethereum)
    for_ethereum = await signed_transfer(ethereum)
    with pytest.raises(BroadcastRejected, match="chain id"):
        await polygon.broadcast(for_ethereum.model_copy(update={"chain": polygon.name}))
    # The same transfer signed for 137 is accepted: only the chain id was wrong.
    for_polygon = await signed_transfer(polygon)
    assert await polygon.broadcast(for_polygon) == for_polygon.tx_hash
    assert await polygon.balance(polygon.address(RECIPIENT.public_key)) == 12345


async def test_engine_refuses_garbage() -> None:
    engine = EmbeddedEvm(1)
    for raw in (b"", b"\x02", b"\x02\xc0", b"\xc3\x01\x02\x03"):
        with pytest.raises(BroadcastRejected):
            await engine.send_raw(raw)


# -- configuration -----------------------------------------------------------------------


def test_factory_picks_the_engine_from_the_config() -> None:
    embedded = evm_adapter(evm_config("arbitrum"))
    assert isinstance(embedded.rpc, EmbeddedEvm)
    assert embedded.chain_id == 42161
    remote = evm_adapter(evm_config("arbitrum", node="http://127.0.0.1:1", local=False))
    assert isinstance(remote.rpc, JsonRpcEvm)
    assert remote.rpc.url == "http://127.0.0.1:1"
    assert not remote.rpc.local


async def test_fund_and_advance_only_on_local_chains() -> None:
    chain = EvmChain(evm_config("ethereum", local=False), EmbeddedEvm(1))
    with pytest.raises(NotLocalNetwork):
        await chain.fund(chain.address(SENDER.public_key), 1)
    with pytest.raises(NotLocalNetwork):
        await chain.advance(1)
    remote = JsonRpcEvm("http://127.0.0.1:1", local=False)
    with pytest.raises(NotLocalNetwork):
        await remote.mine(1)


async def test_engine_reads_the_chain_id_of_legacy_transactions() -> None:
    # EIP-155 §Specification: a legacy transaction carries its chain id in v; one without
    # (v = 27 or 28) can be replayed on any chain, and is refused as geth refuses it.
    engine = EmbeddedEvm(137)
    chain = EvmChain(evm_config("polygon"), engine)
    await funded(chain)
    legacy = {
        "nonce": 0,
        "to": chain.address(RECIPIENT.public_key),
        "value": 1,
        "gas": 21_000,
        "gasPrice": 10**10,
    }
    for chain_id in (1, 42161):
        other = Account.sign_transaction({**legacy, "chainId": chain_id}, SENDER.seed)
        with pytest.raises(BroadcastRejected, match="chain id"):
            await engine.send_raw(bytes(other.raw_transaction))
    unprotected = Account.sign_transaction(legacy, SENDER.seed)
    with pytest.raises(BroadcastRejected, match="chain id"):
        await engine.send_raw(bytes(unprotected.raw_transaction))
    own = Account.sign_transaction({**legacy, "chainId": 137}, SENDER.seed)
    assert await engine.send_raw(bytes(own.raw_transaction)) == "0x" + bytes(own.hash).hex()
