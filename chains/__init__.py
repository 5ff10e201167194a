"""Chain adapters behind one port (ethereum, polygon, arbitrum, bitcoin, solana).

Empty until the chain-adapter issue lands; see ARCHITECTURE.md for what belongs here.
"""
