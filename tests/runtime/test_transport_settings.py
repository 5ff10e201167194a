"""Temporal transport settings: mTLS files, the loopback rule, and what they refuse.

The handshake itself, against a real TLS endpoint in front of the real dev server, is
tests/integration/test_wire.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from runtime.settings import Settings
from runtime.tls import TemporalTLS, TemporalTLSError, is_loopback_target
from tests.helpers.pki import Issued, TestCA


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA("quorate", tmp_path / "pki")


@pytest.fixture
def client_cert(ca: TestCA) -> Issued:
    return ca.issue_client("worker")


def _env(tmp_path: Path, **variables: str) -> dict[str, str]:
    return {"QUORATE_DATA_DIR": str(tmp_path / "data"), **variables}


@pytest.mark.parametrize(
    ("target", "loopback"),
    [
        ("127.0.0.1:7233", True),
        ("127.8.9.10:7233", True),
        ("localhost:7233", True),
        ("LOCALHOST:7233", True),
        ("[::1]:7233", True),
        ("10.0.0.5:7233", False),
        ("192.0.2.2:7233", False),
        ("0.0.0.0:7233", False),
        ("[::]:7233", False),
        ("temporal.internal:7233", False),
        # Names are never resolved, so none can pass for loopback.
        ("127.0.0.1.nip.io:7233", False),
        ("localhost.example.com:7233", False),
        ("quorate-namespace.a1b2c.tmprl.cloud:7233", False),
    ],
)
def test_loopback_targets(target: str, loopback: bool) -> None:
    assert is_loopback_target(target) is loopback


def test_embedded_and_loopback_addresses_need_no_tls(tmp_path: Path) -> None:
    assert Settings.from_env(_env(tmp_path)).temporal_tls is None
    settings = Settings.from_env(_env(tmp_path, QUORATE_TEMPORAL_ADDRESS="localhost:7233"))
    assert settings.temporal_tls is None


def test_a_remote_address_without_tls_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.from_env(_env(tmp_path, QUORATE_TEMPORAL_ADDRESS="temporal.internal:7233"))
    message = str(refused.value)
    assert "refusing a plaintext connection" in message
    assert "QUORATE_TEMPORAL_TLS_CERT" in message
    assert "QUORATE_TEMPORAL_UNSAFE_PLAINTEXT" in message


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_a_remote_plaintext_address_needs_the_unsafe_setting(tmp_path: Path, value: str) -> None:
    settings = Settings.from_env(
        _env(
            tmp_path,
            QUORATE_TEMPORAL_ADDRESS="10.0.0.5:7233",
            QUORATE_TEMPORAL_UNSAFE_PLAINTEXT=value,
        )
    )
    assert settings.temporal_unsafe_plaintext
    assert settings.temporal_tls is None
    # ...and a child process inherits the decision.
    assert settings.to_env()["QUORATE_TEMPORAL_UNSAFE_PLAINTEXT"] == "true"


def test_unsafe_false_still_refuses(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="refusing a plaintext connection"):
        Settings.from_env(
            _env(
                tmp_path,
                QUORATE_TEMPORAL_ADDRESS="10.0.0.5:7233",
                QUORATE_TEMPORAL_UNSAFE_PLAINTEXT="false",
            )
        )


def test_mtls_settings_round_trip_to_child_processes(
    tmp_path: Path, ca: TestCA, client_cert: Issued
) -> None:
    settings = Settings.from_env(
        _env(
            tmp_path,
            QUORATE_TEMPORAL_ADDRESS="temporal.internal:7233",
            QUORATE_TEMPORAL_TLS_CERT=str(client_cert.cert_path),
            QUORATE_TEMPORAL_TLS_KEY=str(client_cert.key_path),
            QUORATE_TEMPORAL_TLS_CA=str(ca.cert_path),
            QUORATE_TEMPORAL_TLS_SERVER_NAME="frontend.temporal.internal",
        )
    )
    assert settings.temporal_tls == TemporalTLS(
        cert=client_cert.cert_path,
        key=client_cert.key_path,
        ca=ca.cert_path,
        server_name="frontend.temporal.internal",
    )
    child = Settings.from_env(settings.to_env())
    assert child.temporal_tls == settings.temporal_tls
    assert child.temporal_target == "temporal.internal:7233"


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ("QUORATE_TEMPORAL_TLS_CERT", "QUORATE_TEMPORAL_TLS_KEY"),
        ("QUORATE_TEMPORAL_TLS_KEY", "QUORATE_TEMPORAL_TLS_CERT"),
    ],
)
def test_certificate_and_key_come_together(tmp_path: Path, given: str, missing: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.from_env(
            _env(tmp_path, QUORATE_TEMPORAL_ADDRESS="temporal.internal:7233", **{given: "x.pem"})
        )
    assert f"{given} is set but {missing} is not" in str(refused.value)


@pytest.mark.parametrize(
    "variable", ["QUORATE_TEMPORAL_TLS_CA", "QUORATE_TEMPORAL_TLS_SERVER_NAME"]
)
def test_server_side_settings_alone_are_not_mtls(tmp_path: Path, variable: str) -> None:
    with pytest.raises(ValidationError, match="mutual TLS or not at all"):
        Settings.from_env(
            _env(tmp_path, QUORATE_TEMPORAL_ADDRESS="temporal.internal:7233", **{variable: "x"})
        )


def test_tls_needs_an_address(tmp_path: Path, client_cert: Issued) -> None:
    with pytest.raises(ValidationError, match="the embedded dev server has no TLS"):
        Settings.from_env(
            _env(
                tmp_path,
                QUORATE_TEMPORAL_TLS_CERT=str(client_cert.cert_path),
                QUORATE_TEMPORAL_TLS_KEY=str(client_cert.key_path),
            )
        )


def test_tls_and_unsafe_plaintext_contradict(tmp_path: Path, client_cert: Issued) -> None:
    with pytest.raises(ValidationError, match="contradicts"):
        Settings.from_env(
            _env(
                tmp_path,
                QUORATE_TEMPORAL_ADDRESS="temporal.internal:7233",
                QUORATE_TEMPORAL_TLS_CERT=str(client_cert.cert_path),
                QUORATE_TEMPORAL_TLS_KEY=str(client_cert.key_path),
                QUORATE_TEMPORAL_UNSAFE_PLAINTEXT="true",
            )
        )


def test_client_config_carries_the_files(ca: TestCA, client_cert: Issued) -> None:
    config = TemporalTLS(
        cert=client_cert.cert_path,
        key=client_cert.key_path,
        ca=ca.cert_path,
        server_name="frontend.test",
    ).client_config()
    assert config.client_cert == client_cert.cert_pem
    assert config.client_private_key == client_cert.key_pem
    assert config.server_root_ca_cert == ca.cert_pem
    assert config.domain == "frontend.test"
    # Without a CA file, the system's trust store verifies the server.
    system = TemporalTLS(cert=client_cert.cert_path, key=client_cert.key_path).client_config()
    assert system.server_root_ca_cert is None


def test_a_missing_file_names_its_setting(tmp_path: Path, client_cert: Issued) -> None:
    tls = TemporalTLS(cert=client_cert.cert_path, key=tmp_path / "missing.key")
    with pytest.raises(TemporalTLSError, match="QUORATE_TEMPORAL_TLS_KEY: cannot read"):
        tls.client_config()


def test_a_key_of_another_certificate_is_refused(ca: TestCA, client_cert: Issued) -> None:
    other = ca.issue_client("other")
    tls = TemporalTLS(cert=client_cert.cert_path, key=other.key_path)
    with pytest.raises(TemporalTLSError, match="does not belong"):
        tls.client_config()


def test_garbage_and_encrypted_files_are_refused(
    tmp_path: Path, ca: TestCA, client_cert: Issued
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(TemporalTLSError, match=r"QUORATE_TEMPORAL_TLS_CERT: .* no PEM"):
        TemporalTLS(cert=garbage, key=client_cert.key_path).client_config()
    with pytest.raises(TemporalTLSError, match=r"QUORATE_TEMPORAL_TLS_CA: .* no PEM"):
        TemporalTLS(
            cert=client_cert.cert_path, key=client_cert.key_path, ca=garbage
        ).client_config()

    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    with pytest.raises(TemporalTLSError, match="no unencrypted PEM private key"):
        TemporalTLS(cert=client_cert.cert_path, key=encrypted).client_config()
