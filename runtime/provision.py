"""Local provisioning: each party's KEK, vault, sealing key and message-signing key, the
request-signing key and the codec keys.

In production each party provisions itself on its own host and publishes only its
public keys (sealing and message-signing); for development and the demo, one command
prepares every party's directory under the data directory (``parties/<id>/kek.key`` and
``vault.sqlite3``). Provisioning makes only what is missing, so a data directory made
before a key existed gets it on the next run; it then pins the topology's
message-signing keys in every party's vault (runtime.party_keys), the only keys that
party verifies broadcasts with.

The request-signing key (runtime.authorization) authorizes every signing request. Unless
the reference topology names one (``request_signing_public_key``: the API holds its
private half), provisioning makes one in the data directory (``request-signing.key``,
mode 0600), for the embedded deployment's client, and publishes its public half in the
provisioned topology, which every party reads.
"""

from __future__ import annotations

from pathlib import Path

from mpc.sealing import SealingKeyPair
from runtime.authorization import REQUEST_SIGNING_KEY_FILE, RequestAuthorizer
from runtime.checkpoint_key import ensure_checkpoint_key
from runtime.codec import CodecKeyTable
from runtime.files import private_dir, write_private_text
from runtime.party_keys import (
    ensure_message_signing_key,
    pin_message_signing_keys,
    topology_message_keys,
)
from runtime.settings import Settings
from runtime.topology import Topology
from storage.vault.kms import LocalFileKek
from storage.vault.port import ShareVault
from storage.vault.sqlite import SqliteShareVault

# The party's own long-term records live under a reserved wallet id.
PARTY_RECORDS = "_party"
SEALING_KEY = "sealing-key"


def open_party_vault(settings: Settings, party: str, *, create: bool = False) -> ShareVault:
    """Opens one party's vault with that party's KEK; other parties' files stay closed."""
    directory = settings.party_dir(party)
    if create:
        private_dir(directory)
        kek = LocalFileKek.load_or_create(directory / "kek.key")
    else:
        kek = LocalFileKek.load(directory / "kek.key")
    return SqliteShareVault(directory / "vault.sqlite3", party, kek)


def load_sealing_key(vault: ShareVault) -> SealingKeyPair:
    return SealingKeyPair.from_private_bytes(vault.get_secret(PARTY_RECORDS, SEALING_KEY))


def provision_local(settings: Settings) -> Topology:
    """Creates what is missing and returns the topology with every party's public keys."""
    private_dir(settings.data_dir, tighten_existing=False)
    private_dir(settings.data_dir / "parties")
    reference = Topology.load(settings.reference_topology)
    parties = []
    for party in reference.parties:
        vault = open_party_vault(settings, party.id, create=True)
        try:
            if not vault.has_secret(PARTY_RECORDS, SEALING_KEY):
                vault.put_secret(
                    PARTY_RECORDS,
                    SEALING_KEY,
                    SealingKeyPair.generate().unsafe_private_bytes(),
                )
            public = load_sealing_key(vault).public_key.raw.hex()
            message_key = ensure_message_signing_key(vault).public_key.raw.hex()
        finally:
            vault.close()
        parties.append(
            party.model_copy(
                update={"sealing_public_key": public, "message_signing_public_key": message_key}
            )
        )
    signing_key = reference.request_signing_public_key
    if signing_key is None:
        RequestAuthorizer.create_file(request_signing_key_path(settings))
        signing_key = load_request_authorizer(settings).public_key.hex()
    topology = Topology(
        threshold=reference.threshold,
        parties=tuple(parties),
        request_signing_public_key=signing_key,
    )
    message_keys = topology_message_keys(topology)
    for party in topology.parties:
        vault = open_party_vault(settings, party.id)
        try:
            pin_message_signing_keys(vault, message_keys)
        finally:
            vault.close()
    _write_atomically(settings.topology_path, topology.to_toml())
    CodecKeyTable.load_or_create(settings.codec_keys_path)
    # The key the coordinator signs chain-head checkpoints with (audit verify checks them).
    ensure_checkpoint_key(settings.data_dir)
    return topology


def request_signing_key_path(settings: Settings) -> Path:
    """The embedded deployment's request-signing private key (made by provisioning)."""
    return settings.data_dir / REQUEST_SIGNING_KEY_FILE


def load_request_authorizer(settings: Settings) -> RequestAuthorizer:
    """What the client signs its requests' authorizations with; provision first."""
    path = request_signing_key_path(settings)
    if not path.exists():
        raise FileNotFoundError(f"no request-signing key at {path}: provision the deployment")
    return RequestAuthorizer.load(path)


def load_topology(settings: Settings) -> Topology:
    """The provisioned topology (with sealing keys); provision first if it is missing."""
    if not settings.topology_path.exists():
        return provision_local(settings)
    return Topology.load(settings.topology_path)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    write_private_text(temporary, text)
    temporary.replace(path)
