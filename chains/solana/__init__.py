"""The Solana chain family: SolanaChain over a SolanaRpc (LiteSVM in process, or JSON-RPC)."""
