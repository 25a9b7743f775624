"""TLS certificates for the aggregator and authentication keys for peers, as Flower uses them.

The aggregator's certificate is signed by a certificate authority made for this crowd; peers
trust that authority (``ca.crt``) and nothing else. Each peer holds a private key; only the
public keys the aggregator registered may join.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from atrap_studio.core.yaml_io import write_bytes_atomic

VALID_DAYS = 365


@dataclass(frozen=True)
class Certificates:
    """The files of a crowd's TLS set-up: give ``ca`` to peers, keep the key private."""

    ca: Path
    certificate: Path
    key: Path

    @classmethod
    def in_folder(cls, folder: Path) -> Certificates:
        return cls(folder / "ca.crt", folder / "server.pem", folder / "server.key")

    def exist(self) -> bool:
        return self.ca.is_file() and self.certificate.is_file() and self.key.is_file()


def make_certificates(
    folder: Path, hosts: Sequence[str] = ("localhost", "127.0.0.1")
) -> Certificates:
    """A new authority and a server certificate valid for ``hosts`` (names or IP addresses:
    peers must dial one of them exactly)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = _name("ATRAP Studio crowd authority")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP384R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = Certificates.in_folder(folder)
    pem = serialization.Encoding.PEM
    write_bytes_atomic(ca.public_bytes(pem), files.ca)
    write_bytes_atomic(server.public_bytes(pem), files.certificate)
    _write_private(
        files.key,
        server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    return files


def make_peer_key(path: Path) -> Path:
    """A peer's key pair: the private key at ``path`` (kept on the peer), the public key at
    ``path.pub`` (sent to the aggregator's owner, who registers it). Returns the public key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP384R1())
    _write_private(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ),
    )
    public = path.with_name(path.name + ".pub")
    try:
        write_bytes_atomic(
            key.public_key().public_bytes(
                serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
            )
            + b"\n",
            public,
        )
    except BaseException:  # half a pair is no key: a new try must not find it in the way
        path.unlink(missing_ok=True)
        raise
    return public


def _write_private(path: Path, data: bytes) -> None:
    """Whole or not at all (a full disk once left an empty key that refused to be replaced),
    and readable by its owner only from the first byte."""
    write_bytes_atomic(data, path, mode=0o600)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)
