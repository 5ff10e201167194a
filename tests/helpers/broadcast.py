"""Message-signing keys for parties whose vaults a test builds itself (mpc.broadcast).

Provisioning (runtime.provision) gives every party a message-signing key and pins every
party's public key in each vault; tests that run activities on in-memory vaults do the
same here.
"""

from __future__ import annotations

from collections.abc import Mapping

from mpc.broadcast import MessageSigningKeyPair
from runtime.party_keys import ensure_message_signing_key, pin_message_signing_keys
from storage.vault.port import ShareVault


def provision_message_keys(vaults: Mapping[str, ShareVault]) -> dict[str, MessageSigningKeyPair]:
    """A key in each party's vault, and every party's public key pinned in each."""
    keys = {party: ensure_message_signing_key(vault) for party, vault in vaults.items()}
    directory = {party: key.public_key for party, key in keys.items()}
    for vault in vaults.values():
        pin_message_signing_keys(vault, directory)
    return keys
