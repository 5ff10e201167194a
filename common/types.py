"""The value types that cross every boundary: activities, events, chains and the CLI.

Byte strings travel as lowercase hex, one spelling per value, so the hash of an event or
a history never depends on how a byte string was written.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

Hex = Annotated[str, StringConstraints(pattern=r"^(?:[0-9a-f]{2})+$")]
"""Non-empty lowercase hex: a key, signature, commitment, share or transaction."""

HexOrEmpty = Annotated[str, StringConstraints(pattern=r"^(?:[0-9a-f]{2})*$")]
"""Lowercase hex, possibly empty: a message (Ed25519 and BIP340 can sign the empty string,
and a request's own checks refuse what its scheme cannot sign, with a typed error)."""

PartyId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
"""A party of the topology (``us-1``): lowercase letters, digits and hyphens."""

WalletId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]

Scheme = Literal["bip340", "ed25519", "ecdsa-secp256k1"]
"""The signature a wallet makes: BIP340 Schnorr (FROST taproot), Ed25519 (FROST), or
ECDSA over secp256k1 (CGGMP21)."""
