"""Chain adapters: everything chain-specific, behind one port (chains.port.ChainAdapter)."""
