"""A party's message-signing key, and the peers' keys it trusts, in its own vault.

Each party signs its broadcasts (mpc.broadcast) with an Ed25519 key of its own, made at
provisioning beside its sealing key and kept in its vault (``_party/message-signing-key``);
the public half is published in the topology (``message_signing_public_key``).

A verifier must not take a sender's key from the relay that carries the sender's messages
(a relay that picks the keys can forge any broadcast), so each party keeps its own copy of
the topology's message-signing keys, pinned in its vault at provisioning
(``_party/message-signing-directory``: JSON, party id to hex key). Provisioning refreshes
it from the topology on every run; nothing else writes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from mpc.broadcast import MessageSigningKeyPair, MessageSigningPublicKey
from runtime.topology import Topology
from storage.vault.port import ShareVault

# The party's own long-term records live under a reserved wallet id.
PARTY_RECORDS: Final = "_party"
MESSAGE_SIGNING_KEY: Final = "message-signing-key"
MESSAGE_SIGNING_DIRECTORY: Final = "message-signing-directory"


def ensure_message_signing_key(vault: ShareVault) -> MessageSigningKeyPair:
    """The party's message-signing key, made now if its vault holds none yet."""
    if not vault.has_secret(PARTY_RECORDS, MESSAGE_SIGNING_KEY):
        vault.put_secret(
            PARTY_RECORDS,
            MESSAGE_SIGNING_KEY,
            MessageSigningKeyPair.generate().unsafe_private_bytes(),
        )
    return load_message_signing_key(vault)


def load_message_signing_key(vault: ShareVault) -> MessageSigningKeyPair:
    """Raises ``SecretNotFound`` for a party provisioned before it had one."""
    return MessageSigningKeyPair.from_private_bytes(
        vault.get_secret(PARTY_RECORDS, MESSAGE_SIGNING_KEY)
    )


def topology_message_keys(topology: Topology) -> dict[str, MessageSigningPublicKey]:
    """Every party's message-signing key from the topology; each party must have one."""
    missing = sorted(p.id for p in topology.parties if not p.message_signing_public_key)
    if missing:
        raise ValueError(f"no message_signing_public_key for {', '.join(missing)}: provision")
    return {
        p.id: MessageSigningPublicKey(bytes.fromhex(str(p.message_signing_public_key)))
        for p in topology.parties
    }


def pin_message_signing_keys(
    vault: ShareVault, keys: Mapping[str, MessageSigningPublicKey]
) -> None:
    """Keeps ``keys`` (the topology's, :func:`topology_message_keys`) in the party's vault
    as the keys it trusts, replacing an older copy."""
    encoded = json.dumps({p: k.raw.hex() for p, k in keys.items()}, sort_keys=True).encode()
    if vault.has_secret(PARTY_RECORDS, MESSAGE_SIGNING_DIRECTORY):
        if vault.get_secret(PARTY_RECORDS, MESSAGE_SIGNING_DIRECTORY) == encoded:
            return
        vault.delete_secret(PARTY_RECORDS, MESSAGE_SIGNING_DIRECTORY)
    vault.put_secret(PARTY_RECORDS, MESSAGE_SIGNING_DIRECTORY, encoded)


def load_message_signing_directory(vault: ShareVault) -> dict[str, MessageSigningPublicKey]:
    """The pinned keys, by party id; raises ``SecretNotFound`` if none were pinned."""
    directory = json.loads(vault.get_secret(PARTY_RECORDS, MESSAGE_SIGNING_DIRECTORY))
    return {
        str(party): MessageSigningPublicKey(bytes.fromhex(str(key)))
        for party, key in directory.items()
    }
