"""Message-signing keys at provisioning: made once per party, published, and pinned.

A data directory provisioned before parties had message-signing keys gets them on the
next run, keeping every other key; each party's vault then holds every party's public
key as published in the topology (what it verifies broadcasts with).
"""

from __future__ import annotations

from pathlib import Path

from runtime.party_keys import (
    MESSAGE_SIGNING_DIRECTORY,
    MESSAGE_SIGNING_KEY,
    PARTY_RECORDS,
    load_message_signing_directory,
    load_message_signing_key,
    topology_message_keys,
)
from runtime.provision import load_sealing_key, open_party_vault, provision_local
from runtime.settings import Settings
from runtime.topology import Topology


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", temporal_address="127.0.0.1:1")


def test_provisioning_publishes_and_pins_every_partys_message_signing_key(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    topology = provision_local(settings)
    published = topology_message_keys(topology)
    assert len({k.raw for k in published.values()}) == len(topology.parties)
    assert Topology.load(settings.topology_path) == topology
    for party in topology.parties:
        with open_party_vault(settings, party.id) as vault:
            assert load_message_signing_key(vault).public_key == published[party.id]
            assert load_message_signing_directory(vault) == published
    # Provisioning again changes nothing.
    assert provision_local(settings) == topology


def test_a_directory_provisioned_before_message_keys_gets_them_on_the_next_run(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    before = provision_local(settings)
    # The data directory as an older provisioning left it: no message-signing key in any
    # vault, none in the topology.
    for party in before.parties:
        with open_party_vault(settings, party.id) as vault:
            vault.delete_secret(PARTY_RECORDS, MESSAGE_SIGNING_KEY)
            vault.delete_secret(PARTY_RECORDS, MESSAGE_SIGNING_DIRECTORY)
    old = before.model_copy(
        update={
            "parties": tuple(
                p.model_copy(update={"message_signing_public_key": None}) for p in before.parties
            )
        }
    )
    settings.topology_path.write_text(old.to_toml())
    after = provision_local(settings)
    published = topology_message_keys(after)
    for party, earlier in zip(after.parties, before.parties, strict=True):
        # New message-signing keys; the sealing keys are the same as before.
        assert party.sealing_public_key == earlier.sealing_public_key
        assert party.message_signing_public_key != earlier.message_signing_public_key
        with open_party_vault(settings, party.id) as vault:
            assert load_sealing_key(vault).public_key.raw.hex() == party.sealing_public_key
            assert load_message_signing_directory(vault) == published
    assert after.request_signing_public_key == before.request_signing_public_key
