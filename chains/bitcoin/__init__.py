"""The Bitcoin family: P2WPKH (BIP141/BIP143) and P2TR key-path (BIP341/BIP86) wallets on
Bitcoin networks and Litecoin regtest, over an embedded ledger or a Core-style node."""
