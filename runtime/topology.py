"""The deployment's parties, regions, roles and threshold: configuration, never code."""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runtime.names import party_task_queue

DEFAULT_TOPOLOGY = Path(__file__).resolve().parent.parent / "config" / "topology.toml"


class Role(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


class Party(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    region: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    role: Role
    # The party's long-term X25519 key that DKG shares are sealed to (hex); the private
    # half never leaves the party's vault.
    sealing_public_key: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    # The party's long-term Ed25519 key that signs its broadcasts and echoes
    # (mpc.broadcast; hex). Each party verifies its peers against its own pinned copy of
    # these (runtime.party_keys), never against keys a relay hands it.
    message_signing_public_key: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @property
    def task_queue(self) -> str:
        return party_task_queue(self.id)


class Topology(BaseModel):
    """A t-of-n policy over named parties; validated when loaded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: int = Field(ge=2)
    parties: tuple[Party, ...]
    # The Ed25519 key that signs request authorizations (hex; runtime.authorization):
    # every party refuses to sign a request it did not authorize. The private half is
    # with whoever accepts requests (the client's data directory here, the API later).
    request_signing_public_key: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _check(self) -> Self:
        ids = [p.id for p in self.parties]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate party ids: {', '.join(duplicates)}")
        if self.threshold > len(self.primaries):
            raise ValueError(
                f"threshold {self.threshold} exceeds the {len(self.primaries)} primary parties"
            )
        return self

    @property
    def primaries(self) -> tuple[Party, ...]:
        return tuple(p for p in self.parties if p.role is Role.PRIMARY)

    def party(self, party_id: str) -> Party:
        for party in self.parties:
            if party.id == party_id:
                return party
        raise KeyError(f"party {party_id!r} is not in the topology")

    @classmethod
    def load(cls, path: Path = DEFAULT_TOPOLOGY) -> Topology:
        with path.open("rb") as handle:
            return cls.model_validate(tomllib.load(handle))

    def to_toml(self) -> str:
        """TOML for this topology (tomllib reads it back to an equal Topology)."""
        lines = [f"threshold = {self.threshold}"]
        if self.request_signing_public_key:
            lines.append(f'request_signing_public_key = "{self.request_signing_public_key}"')
        for party in self.parties:
            lines += ["", "[[parties]]", f'id = "{party.id}"', f'region = "{party.region}"']
            lines.append(f'role = "{party.role.value}"')
            if party.sealing_public_key:
                lines.append(f'sealing_public_key = "{party.sealing_public_key}"')
            if party.message_signing_public_key:
                key = party.message_signing_public_key
                lines.append(f'message_signing_public_key = "{key}"')
        return "\n".join(lines) + "\n"
