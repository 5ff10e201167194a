"""The Bitcoin adapter for a configured chain, on the engine its ``node`` names."""

from __future__ import annotations

from chains.bitcoin.adapter import BitcoinChain
from chains.bitcoin.core_rpc import CoreRpc
from chains.bitcoin.embedded import EmbeddedBitcoin
from chains.bitcoin.network import network_params
from chains.config import ChainConfig


def bitcoin_adapter(config: ChainConfig) -> BitcoinChain:
    """``node = "embedded"``: the in-process ledger; otherwise a JSON-RPC URL of Bitcoin
    Core or litecoind (credentials in the URL: ``http://user:password@host:port``)."""
    if config.family != "bitcoin" or config.network is None:
        raise ValueError(f"{config.name} is not a bitcoin chain")
    params = network_params(config.network)
    if config.node == "embedded":
        return BitcoinChain(config, EmbeddedBitcoin(params, local=config.local))
    return BitcoinChain(config, CoreRpc(config.node, params, local=config.local))
