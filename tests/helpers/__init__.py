"""Test-only helpers: vector loading, deterministic randomness, a trusted dealer."""
