"""The deployment's parties, regions, roles and threshold: configuration, never code."""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_TOPOLOGY = Path(__file__).resolve().parent.parent / "config" / "topology.toml"


class Role(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


class Party(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    region: str = Field(min_length=1)
    role: Role


class Topology(BaseModel):
    """A t-of-n policy over named parties; validated when loaded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: int = Field(ge=2)
    parties: tuple[Party, ...]

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

    @classmethod
    def load(cls, path: Path = DEFAULT_TOPOLOGY) -> Topology:
        with path.open("rb") as handle:
            return cls.model_validate(tomllib.load(handle))
