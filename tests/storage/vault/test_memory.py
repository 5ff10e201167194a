"""The in-memory fake share vault runs the share-vault contract."""

from __future__ import annotations

from pathlib import Path

from storage.vault.memory import InMemoryShareVault
from storage.vault.port import ShareVault
from tests.storage.vault.contract import ShareVaultContract


class TestInMemoryShareVault(ShareVaultContract):
    def open_vault(self, directory: Path, party_id: str) -> ShareVault:
        return InMemoryShareVault(party_id)
