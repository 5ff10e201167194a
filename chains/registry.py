"""The configured chains, each with its adapter, created on first use.

Family modules are imported lazily: a worker that never touches Solana never imports
solders, and an embedded engine (a py-evm chain, a LiteSVM instance) exists once per
process, shared by every request for that chain.
"""

from __future__ import annotations

from collections.abc import Sequence

from chains.config import ChainConfig, ChainsConfig
from chains.port import ChainAdapter


def create_adapter(config: ChainConfig) -> ChainAdapter:
    """The adapter of ``config``'s family, on its embedded engine or its JSON-RPC node."""
    if config.family == "evm":
        from chains.evm.factory import evm_adapter

        return evm_adapter(config)
    if config.family == "bitcoin":
        from chains.bitcoin.factory import bitcoin_adapter

        return bitcoin_adapter(config)
    from chains.solana.factory import solana_adapter

    return solana_adapter(config)


class ChainRegistry:
    def __init__(self, config: ChainsConfig, adapters: Sequence[ChainAdapter] = ()) -> None:
        """``adapters``: ready-made adapters (a test's fake, a node shared by several
        processes) that take precedence over the configuration's."""
        self.config = config
        self._adapters: dict[str, ChainAdapter] = {a.name: a for a in adapters}

    def get(self, name: str) -> ChainAdapter:
        """The adapter of a configured chain; UnknownChain otherwise."""
        adapter = self._adapters.get(name)
        if adapter is None:
            # Unknown names raise UnknownChain here, before any adapter is created.
            adapter = create_adapter(self.config.get(name))
            self._adapters[name] = adapter
        return adapter

    async def close(self) -> None:
        for adapter in self._adapters.values():
            await adapter.close()
        self._adapters.clear()
