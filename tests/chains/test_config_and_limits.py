"""Chain configuration rules, credential-free node URLs, and amounts a chain cannot carry."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chains.bitcoin.address import encode_segwit
from chains.bitcoin.factory import bitcoin_adapter
from chains.config import ChainConfig, ChainsConfig
from chains.errors import InvalidAddress, InvalidAmount, RpcError
from chains.evm.jsonrpc import JsonRpcEvm
from chains.models import TransferIntent
from chains.solana.factory import solana_adapter
from chains.urls import shown_url
from tests.chains.signers import signer_for
from tests.integration.conftest import free_port


def evm(**changes: object) -> ChainConfig:
    return ChainConfig.model_validate(
        {"name": "x", "family": "evm", "chain_id": 1, "symbol": "E", "decimals": 18, **changes}
    )


def test_embedded_engines_are_local_and_node_urls_are_not_unless_said() -> None:
    assert all(c.local for c in ChainsConfig.load().chains.values())
    assert evm().local
    assert not evm(node="https://mainnet.example.com/v3/KEY").local
    assert evm(node="http://127.0.0.1:8545", local=True).local


def test_only_loopback_nodes_may_be_local() -> None:
    with pytest.raises(ValidationError, match="loopback"):
        evm(node="https://mainnet.example.com", local=True)


def test_node_urls_are_shown_without_credentials() -> None:
    assert shown_url("https://user:secret@rpc.example.com:8443/v3/APIKEY?token=T") == (
        "https://rpc.example.com:8443"
    )
    assert shown_url("http://[::1]:8545/") == "http://[::1]:8545"


async def test_an_unreachable_node_error_carries_no_credential() -> None:
    url = f"http://user:secret@127.0.0.1:{free_port()}/v3/APIKEY"
    node = JsonRpcEvm(url)
    try:
        with pytest.raises(RpcError) as caught:
            await node.chain_id()
    finally:
        await node.close()
    for secret in ("secret", "APIKEY", "user"):
        assert secret not in str(caught.value)


async def test_amounts_beyond_what_a_chain_carries_are_refused() -> None:
    chains = ChainsConfig.load()
    solana = solana_adapter(chains.get("solana"))
    key = signer_for("ed25519", "limits").public_key
    to = solana.address(signer_for("ed25519", "to").public_key)
    with pytest.raises(InvalidAmount):
        await solana.build(TransferIntent(chain="solana", to=to, amount=2**64), key)
    bitcoin = bitcoin_adapter(chains.get("bitcoin-p2tr"))
    key = signer_for("bip340", "limits").public_key
    to = bitcoin.address(signer_for("bip340", "to").public_key)
    with pytest.raises(InvalidAmount):
        await bitcoin.build(
            TransferIntent(chain="bitcoin-p2tr", to=to, amount=21_000_000 * 10**8 + 1), key
        )


def test_outputs_anyone_can_spend_today_are_refused_as_recipients() -> None:
    bitcoin = bitcoin_adapter(ChainsConfig.load().get("bitcoin-p2wpkh"))
    # Valid BIP350 addresses, but no soft fork gives these programs meaning yet.
    for version, size in ((1, 20), (2, 32), (16, 2)):
        address = encode_segwit("bcrt", version, bytes(range(size)))
        with pytest.raises(InvalidAddress, match="anyone could spend"):
            bitcoin.validate_address(address)
    # A real P2TR (v1, 32 bytes) and a P2WSH (v0, 32 bytes) are fine.
    assert bitcoin.validate_address(encode_segwit("bcrt", 1, bytes(32)))
    assert bitcoin.validate_address(encode_segwit("bcrt", 0, bytes(32)))
