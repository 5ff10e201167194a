"""Local provisioning: each party's KEK, vault and sealing key, and the codec keys.

In production each party provisions itself on its own host and publishes only its
sealing public key; for development and the demo, one command prepares every party's
directory under the data directory (``parties/<id>/kek.key`` and ``vault.sqlite3``).
"""

from __future__ import annotations

from pathlib import Path

from mpc.sealing import SealingKeyPair
from runtime.codec import CodecKeyTable
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
        directory.mkdir(parents=True, exist_ok=True)
        kek = LocalFileKek.load_or_create(directory / "kek.key")
    else:
        kek = LocalFileKek.load(directory / "kek.key")
    return SqliteShareVault(directory / "vault.sqlite3", party, kek)


def load_sealing_key(vault: ShareVault) -> SealingKeyPair:
    return SealingKeyPair.from_private_bytes(vault.get_secret(PARTY_RECORDS, SEALING_KEY))


def provision_local(settings: Settings) -> Topology:
    """Creates what is missing and returns the topology with every sealing public key."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
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
        finally:
            vault.close()
        parties.append(party.model_copy(update={"sealing_public_key": public}))
    topology = Topology(threshold=reference.threshold, parties=tuple(parties))
    _write_atomically(settings.topology_path, topology.to_toml())
    CodecKeyTable.load_or_create(settings.codec_keys_path)
    return topology


def load_topology(settings: Settings) -> Topology:
    """The provisioned topology (with sealing keys); provision first if it is missing."""
    if not settings.topology_path.exists():
        return provision_local(settings)
    return Topology.load(settings.topology_path)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)
