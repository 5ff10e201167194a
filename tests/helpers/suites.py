"""What the FROST tests run over: every ciphersuite, and the reference policy's parties."""

from __future__ import annotations

from mpc.frost import FROST_ED25519, FROST_SECP256K1, FROST_SECP256K1_TR, Ciphersuite

SUITES: tuple[Ciphersuite, ...] = (FROST_SECP256K1, FROST_ED25519, FROST_SECP256K1_TR)
"""Every ciphersuite of RFC 9591 that Quorate signs with, plus the taproot variant."""

SUITE_IDS = tuple(cs.id for cs in SUITES)

PARTIES = ("us-1", "us-2", "eu-1", "eu-2", "apac-1", "apac-2")
"""The parties of the reference 3-of-6 policy."""
