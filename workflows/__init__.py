"""Temporal workflows: wallet creation (DKG), signing, ECDSA setup and presigning, transfers
and the wallet locks they hold.

Workflows only relay public messages and sealed envelopes; cryptography runs in
activities, which workflows call by their definitions.
"""
