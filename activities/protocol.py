"""Glue between Quorate's names and the FROST core: schemes, identifiers, session ids.

Parties are named (``"us-1"``); FROST identifiers are scalars derived from those names
with the ciphersuite's HID, so no party is ever assumed to be number 1..n.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from mpc.frost import (
    CIPHERSUITES,
    FROST_ED25519,
    FROST_SECP256K1,
    FROST_SECP256K1_TR,
    Ciphersuite,
    Identifier,
)

# The DKG's ciphersuite per signature scheme. ECDSA wallets take their secp256k1 shares
# from the same dealerless DKG (RFC 9591's FROST(secp256k1, SHA-256) key generation).
SCHEME_CIPHERSUITES: dict[str, Ciphersuite] = {
    "bip340": FROST_SECP256K1_TR,
    "ed25519": FROST_ED25519,
    "ecdsa-secp256k1": FROST_SECP256K1,
}

# Vault record names.
KEY_SHARE = "frost/key-share"
PUBLIC_KEY_PACKAGE = "frost/public-key-package"


def ciphersuite(ciphersuite_id: str) -> Ciphersuite:
    try:
        return CIPHERSUITES[ciphersuite_id]
    except KeyError:
        raise ValueError(f"unknown ciphersuite {ciphersuite_id!r}") from None


def identifier(cs: Ciphersuite, party: str) -> Identifier:
    return Identifier.derive(cs, party.encode())


def names_by_identifier(cs: Ciphersuite, parties: Iterable[str]) -> dict[Identifier, str]:
    return {identifier(cs, party): party for party in parties}


def session_id(*parts: str) -> bytes:
    """A session id binding every part given (wallet, ceremony, step, protocol, parties).

    Each part is length-prefixed before hashing, so distinct tuples never collide.
    """
    digest = hashlib.sha256(b"quorate/session/v1")
    for part in parts:
        encoded = part.encode()
        digest.update(len(encoded).to_bytes(4, "big") + encoded)
    return digest.digest()


def dkg_record(ceremony_id: str, name: str) -> str:
    return f"dkg/{ceremony_id}/{name}"
