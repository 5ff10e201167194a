"""Settings, read once at start-up from the environment; each has a documented default.

| variable                    | default                                   |
|-----------------------------|-------------------------------------------|
| QUORATE_DATA_DIR            | ./data                                    |
| QUORATE_TOPOLOGY            | config/topology.toml (reference layout)   |
| QUORATE_TEMPORAL_ADDRESS    | unset: start the embedded dev server      |
| QUORATE_TEMPORAL_NAMESPACE  | default                                   |
| QUORATE_TEMPORAL_PORT       | 7233 (embedded dev server)                |
| QUORATE_TEMPORAL_UI_PORT    | 8233 (embedded dev server)                |
| QUORATE_EVENT_STORE_URL     | sqlite:///<data dir>/events.sqlite3       |
| QUORATE_PROJECTIONS_URL     | sqlite:///<data dir>/projections.sqlite3  |
| QUORATE_CHAINS              | config/chains.toml (embedded engines)     |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from chains.config import DEFAULT_CHAINS
from runtime.topology import DEFAULT_TOPOLOGY


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path
    reference_topology: Path = DEFAULT_TOPOLOGY
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    event_store_url: str | None = None
    projections_url: str | None = None
    chains: Path = DEFAULT_CHAINS

    @property
    def projections_database_url(self) -> str:
        default = self.data_dir.resolve() / "projections.sqlite3"
        return self.projections_url or f"sqlite:///{default}"

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def events_url(self) -> str:
        return self.event_store_url or f"sqlite:///{self.data_dir.resolve() / 'events.sqlite3'}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.temporal_ui_port}"

    @property
    def topology_path(self) -> Path:
        """The provisioned topology: the reference one plus each party's sealing key."""
        return self.data_dir / "topology.toml"

    @property
    def codec_keys_path(self) -> Path:
        return self.data_dir / "codec-keys.json"

    def party_dir(self, party: str) -> Path:
        return self.data_dir / "parties" / party

    def to_env(self) -> dict[str, str]:
        """The environment that gives a child process these same settings."""
        env = {
            "QUORATE_DATA_DIR": str(self.data_dir.resolve()),
            "QUORATE_TOPOLOGY": str(self.reference_topology),
            "QUORATE_TEMPORAL_ADDRESS": self.temporal_target,
            "QUORATE_TEMPORAL_NAMESPACE": self.temporal_namespace,
            "QUORATE_EVENT_STORE_URL": self.events_url,
            "QUORATE_PROJECTIONS_URL": self.projections_database_url,
            "QUORATE_CHAINS": str(self.chains),
        }
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {"data_dir": Path(env.get("QUORATE_DATA_DIR", "data"))}
        optional = {
            "QUORATE_TOPOLOGY": "reference_topology",
            "QUORATE_TEMPORAL_ADDRESS": "temporal_address",
            "QUORATE_TEMPORAL_NAMESPACE": "temporal_namespace",
            "QUORATE_TEMPORAL_PORT": "temporal_port",
            "QUORATE_TEMPORAL_UI_PORT": "temporal_ui_port",
            "QUORATE_EVENT_STORE_URL": "event_store_url",
            "QUORATE_PROJECTIONS_URL": "projections_url",
            "QUORATE_CHAINS": "chains",
        }
        for variable, field in optional.items():
            if env.get(variable):
                values[field] = env[variable]
        return cls.model_validate(values)
