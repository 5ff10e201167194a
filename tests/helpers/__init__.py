"""Test-only helpers: vector loading, deterministic randomness, a trusted dealer, in-process
ceremonies and the ciphersuites they run over."""
