"""Settings, read once at start-up from the environment; each has a documented default.

| variable                          | default                                   |
|-----------------------------------|-------------------------------------------|
| QUORATE_DATA_DIR                  | ./data                                    |
| QUORATE_TOPOLOGY                  | config/topology.toml (reference layout)   |
| QUORATE_TEMPORAL_ADDRESS          | unset: start the embedded dev server      |
| QUORATE_TEMPORAL_NAMESPACE        | default                                   |
| QUORATE_TEMPORAL_PORT             | 7233 (embedded dev server)                |
| QUORATE_TEMPORAL_UI_PORT          | 8233 (embedded dev server)                |
| QUORATE_TEMPORAL_TLS_CERT         | unset: no TLS (client certificate, PEM)   |
| QUORATE_TEMPORAL_TLS_KEY          | unset (its private key, PEM, unencrypted) |
| QUORATE_TEMPORAL_TLS_CA           | unset: the system's trust store           |
| QUORATE_TEMPORAL_TLS_SERVER_NAME  | unset: the address's host                 |
| QUORATE_TEMPORAL_UNSAFE_PLAINTEXT | false                                     |
| QUORATE_EVENT_STORE_URL           | sqlite:///<data dir>/events.sqlite3       |
| QUORATE_PROJECTIONS_URL           | sqlite:///<data dir>/projections.sqlite3  |
| QUORATE_CHAINS                    | config/chains.toml (embedded engines)     |

Temporal transport. The embedded dev server listens on 127.0.0.1 only and speaks plain
gRPC; so may any Temporal address on loopback. Any other address is production: setting
``QUORATE_TEMPORAL_TLS_CERT`` and ``QUORATE_TEMPORAL_TLS_KEY`` (always together) makes
every client and worker connect with mutual TLS, verifying the server against
``QUORATE_TEMPORAL_TLS_CA`` and the name in ``QUORATE_TEMPORAL_TLS_SERVER_NAME``. A
non-loopback address without them is refused at start-up, unless
``QUORATE_TEMPORAL_UNSAFE_PLAINTEXT=true`` accepts an unencrypted, unauthenticated
connection (an isolated test network; a TLS sidecar on the same host is reached on
loopback and needs neither). TLS settings without an address are refused too: the
embedded dev server has no TLS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from chains.config import DEFAULT_CHAINS
from runtime.tls import (
    CA_VARIABLE,
    CERT_VARIABLE,
    KEY_VARIABLE,
    SERVER_NAME_VARIABLE,
    TemporalTLS,
    is_loopback_target,
)
from runtime.topology import DEFAULT_TOPOLOGY

UNSAFE_PLAINTEXT_VARIABLE = "QUORATE_TEMPORAL_UNSAFE_PLAINTEXT"


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
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_unsafe_plaintext: bool = False

    @model_validator(mode="after")
    def _check_temporal_transport(self) -> Self:
        # Errors name the environment variables: that is where an operator fixes them.
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            given, missing = (
                (CERT_VARIABLE, KEY_VARIABLE)
                if self.temporal_tls_key is None
                else (KEY_VARIABLE, CERT_VARIABLE)
            )
            raise ValueError(f"{given} is set but {missing} is not: mTLS needs both")
        tls = self.temporal_tls is not None
        if not tls and (self.temporal_tls_ca is not None or self.temporal_tls_server_name):
            raise ValueError(
                f"{CA_VARIABLE} or {SERVER_NAME_VARIABLE} is set without {CERT_VARIABLE} "
                f"and {KEY_VARIABLE}: Quorate connects to Temporal with mutual TLS or not at all"
            )
        if tls and self.embedded_temporal:
            raise ValueError(
                f"{CERT_VARIABLE} is set but QUORATE_TEMPORAL_ADDRESS is not: the embedded "
                "dev server has no TLS; set the address of the cluster's frontend"
            )
        if tls and self.temporal_unsafe_plaintext:
            raise ValueError(f"{UNSAFE_PLAINTEXT_VARIABLE} contradicts {CERT_VARIABLE}")
        plaintext_allowed = self.temporal_unsafe_plaintext or is_loopback_target(
            self.temporal_target
        )
        if not tls and not plaintext_allowed:
            raise ValueError(
                f"refusing a plaintext connection to Temporal at {self.temporal_target!r}, "
                f"which is not loopback: set {CERT_VARIABLE} and {KEY_VARIABLE} (and "
                f"{CA_VARIABLE}) for mutual TLS, or {UNSAFE_PLAINTEXT_VARIABLE}=true to "
                "accept an unencrypted, unauthenticated connection"
            )
        return self

    @property
    def temporal_tls(self) -> TemporalTLS | None:
        """The mTLS files, when configured; :func:`runtime.connection.connect` reads them."""
        if self.temporal_tls_cert is None or self.temporal_tls_key is None:
            return None
        return TemporalTLS(
            cert=self.temporal_tls_cert,
            key=self.temporal_tls_key,
            ca=self.temporal_tls_ca,
            server_name=self.temporal_tls_server_name,
        )

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
        optional_paths = {
            CERT_VARIABLE: self.temporal_tls_cert,
            KEY_VARIABLE: self.temporal_tls_key,
            CA_VARIABLE: self.temporal_tls_ca,
        }
        for variable, path in optional_paths.items():
            if path is not None:
                env[variable] = str(path.resolve())
        if self.temporal_tls_server_name:
            env[SERVER_NAME_VARIABLE] = self.temporal_tls_server_name
        if self.temporal_unsafe_plaintext:
            env[UNSAFE_PLAINTEXT_VARIABLE] = "true"
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
            CERT_VARIABLE: "temporal_tls_cert",
            KEY_VARIABLE: "temporal_tls_key",
            CA_VARIABLE: "temporal_tls_ca",
            SERVER_NAME_VARIABLE: "temporal_tls_server_name",
            UNSAFE_PLAINTEXT_VARIABLE: "temporal_unsafe_plaintext",
        }
        for variable, field in optional.items():
            if env.get(variable):
                values[field] = env[variable]
        return cls.model_validate(values)
