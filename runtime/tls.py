"""Mutual TLS to the Temporal frontend: which addresses need it, and the client's TLS config.

A Temporal frontend accepts any client that reaches it: whoever connects can start, signal
and terminate workflows, read histories and poll task queues. Payload encryption
(:mod:`runtime.codec`) keeps histories unreadable and refuses forged inputs, but only the
transport can say who may connect at all. In production the cluster's frontend verifies
client certificates (mTLS) and the client verifies the server's; this module builds the
client half, ``temporalio.service.TLSConfig``, from PEM files named by the settings
(``QUORATE_TEMPORAL_TLS_CA``, ``_CERT``, ``_KEY``, ``_SERVER_NAME``).

The files are read and checked once, when a process connects: the certificate and key
must parse and belong together, so that a mistake is reported with the setting's name at
start-up rather than as an opaque handshake failure.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, ConfigDict
from temporalio.service import TLSConfig

__all__ = [
    "CA_VARIABLE",
    "CERT_VARIABLE",
    "KEY_VARIABLE",
    "SERVER_NAME_VARIABLE",
    "TemporalTLS",
    "TemporalTLSError",
    "is_loopback_host",
    "is_loopback_target",
]

CA_VARIABLE: Final = "QUORATE_TEMPORAL_TLS_CA"
CERT_VARIABLE: Final = "QUORATE_TEMPORAL_TLS_CERT"
KEY_VARIABLE: Final = "QUORATE_TEMPORAL_TLS_KEY"
SERVER_NAME_VARIABLE: Final = "QUORATE_TEMPORAL_TLS_SERVER_NAME"


class TemporalTLSError(ValueError):
    """A TLS file is missing, unreadable or inconsistent; the message names the setting."""


def target_host(target: str) -> str:
    """The host of a ``host:port`` target (``[v6]:port`` for IPv6 literals)."""
    if target.startswith("["):
        host, bracket, _ = target[1:].partition("]")
        if not bracket:
            raise ValueError(f"Temporal address {target!r} has an unclosed '['")
        return host
    host, _, _ = target.rpartition(":")
    return host or target


def is_loopback_target(target: str) -> bool:
    """Whether ``host:port`` names this machine's loopback interface, without resolving it.

    ``localhost`` and loopback IP literals (127.0.0.0/8, ::1) only: any other name is
    treated as remote, since what it resolves to is not ours to trust.
    """
    return is_loopback_host(target_host(target).lower())


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback IP literal (no name is resolved)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read(variable: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TemporalTLSError(f"{variable}: cannot read {path}: {exc.strerror}") from None


class TemporalTLS(BaseModel):
    """The client's side of mTLS to Temporal: its certificate and key, and whom to trust.

    ``ca`` is the PEM bundle that signs the server's certificate (the system's trust store
    when unset); ``server_name`` overrides the name checked against that certificate (and
    sent as SNI), for a frontend reached by an address its certificate does not name.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cert: Path
    key: Path
    ca: Path | None = None
    server_name: str | None = None

    def client_config(self) -> TLSConfig:
        """Read and check the files; the ``TLSConfig`` for ``Client.connect(tls=...)``."""
        cert_pem = _read(CERT_VARIABLE, self.cert)
        key_pem = _read(KEY_VARIABLE, self.key)
        ca_pem = None if self.ca is None else _read(CA_VARIABLE, self.ca)
        try:
            chain = x509.load_pem_x509_certificates(cert_pem)
        except ValueError:
            raise TemporalTLSError(
                f"{CERT_VARIABLE}: {self.cert} holds no PEM certificate"
            ) from None
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            # TypeError: the key is encrypted. The SDK takes no passphrase.
            raise TemporalTLSError(
                f"{KEY_VARIABLE}: {self.key} holds no unencrypted PEM private key"
            ) from None
        if key.public_key() != chain[0].public_key():
            raise TemporalTLSError(
                f"{KEY_VARIABLE}: the key in {self.key} does not belong to the first "
                f"certificate in {self.cert} ({CERT_VARIABLE})"
            )
        if ca_pem is not None:
            try:
                x509.load_pem_x509_certificates(ca_pem)
            except ValueError:
                raise TemporalTLSError(
                    f"{CA_VARIABLE}: {self.ca} holds no PEM certificate"
                ) from None
        return TLSConfig(
            server_root_ca_cert=ca_pem,
            domain=self.server_name,
            client_cert=cert_pem,
            client_private_key=key_pem,
        )
