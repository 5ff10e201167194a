"""Throwaway X.509 certificate authorities for TLS tests (pyca/cryptography, ECDSA P-256).

Each :class:`TestCA` is made fresh in the test that uses it and never leaves the test's
temporary directory. The certificates carry what rustls (the Temporal client's TLS) and
OpenSSL (Python's ``ssl``) insist on: v3 extensions, a subject alternative name for a
server, the CA flag only on the CA, and the matching extended key usage.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class Issued:
    """A certificate and its key, as PEM, and where they were written."""

    cert_pem: bytes
    key_pem: bytes
    cert_path: Path
    key_path: Path


class TestCA:
    """A self-signed root that issues server and client certificates into ``directory``."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test root")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.cert_path = directory / f"{name}-ca.pem"
        self.cert_path.write_bytes(self.cert_pem)

    def _issue(
        self,
        common_name: str,
        usage: x509.ObjectIdentifier,
        alt_names: list[x509.GeneralName],
    ) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        stem = f"{self.name}-{common_name}"
        issued = Issued(
            cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            key_pem=_pem_key(key),
            cert_path=self.directory / f"{stem}.pem",
            key_path=self.directory / f"{stem}.key",
        )
        issued.cert_path.write_bytes(issued.cert_pem)
        issued.key_path.write_bytes(issued.key_pem)
        issued.key_path.chmod(0o600)
        return issued

    def issue_server(self, dns_name: str, ip: str = "127.0.0.1") -> Issued:
        names: list[x509.GeneralName] = [
            x509.DNSName(dns_name),
            x509.IPAddress(ipaddress.ip_address(ip)),
        ]
        return self._issue(dns_name, ExtendedKeyUsageOID.SERVER_AUTH, names)

    def issue_client(self, name: str) -> Issued:
        # A DNS SAN on a client certificate is what Temporal's own mTLS samples issue.
        return self._issue(name, ExtendedKeyUsageOID.CLIENT_AUTH, [x509.DNSName(name)])
