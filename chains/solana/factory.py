"""The Solana adapter for a configured chain: LiteSVM in process, or a JSON-RPC node."""

from __future__ import annotations

from chains.config import ChainConfig
from chains.errors import UnknownChain
from chains.solana.adapter import SolanaChain
from chains.solana.embedded import EmbeddedSolana
from chains.solana.jsonrpc import JsonRpcSolana
from chains.solana.rpc import SolanaRpc


def solana_adapter(config: ChainConfig) -> SolanaChain:
    if config.family != "solana":
        raise UnknownChain(f"{config.name} is a {config.family} chain, not a solana one")
    rpc: SolanaRpc
    if config.node == "embedded":
        if not config.local:
            raise UnknownChain(f"{config.name}: the embedded engine is a local network only")
        rpc = EmbeddedSolana()
    else:
        rpc = JsonRpcSolana(config.node, local=config.local)
    return SolanaChain(config, rpc)
