"""Joining a crowd as a peer, for ``atrap crowd join`` and the editor's Crowd dock alike.

Both check a peer's files before anything starts, start the same SuperNode and explain its
end in the same words: a wrong ``ca.crt`` and an unregistered key are a person's mistakes,
not tracebacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import (
    load_ssh_private_key,
    load_ssh_public_key,
)

from atrap_studio.core.errors import AtrapError
from atrap_studio.core.yaml_io import write_bytes_atomic
from atrap_studio.crowd.processes import CrowdError, CrowdFolder, Process, free_port, start_peer
from atrap_studio.crowd.security import make_peer_key

#: Largest key or certificate file read (ours are under 2 kB).
MAX_KEY_FILE = 64 * 1024


@dataclass(frozen=True)
class JoinRequest:
    """What a peer needs to join: where the aggregator is, how to trust it, who it is."""

    address: str
    ca: Path
    key: Path
    graph: Path
    region: int = 0  # 0-based
    regions: int = 1
    folder: Path = Path("crowd-peer")
    port: int = 0  # this peer's local runtime port; 0: a free one
    threads: int = 1


def parse_region(text: str | None) -> tuple[int, int]:
    """``k/K`` (1-based, as people count) → (k - 1, K); nothing → the whole world."""
    if not text:
        return 0, 1
    try:
        number, _, count = text.partition("/")
        region, regions = int(number), int(count)
    except ValueError:
        raise AtrapError(f"region {text!r}: write it as k/K, e.g. 2/4") from None
    if not 1 <= region <= regions <= 64:
        raise AtrapError(f"region {text!r}: k must be between 1 and K (at most 64)")
    return region - 1, regions


def check_join(request: JoinRequest) -> None:
    """Refuse what cannot work before any process starts, naming the field and the file.

    Raises:
        AtrapError: the address, the certificate, the key or the graph is unusable.
    """
    host, colon, port = request.address.rpartition(":")
    if not colon or not host.strip("[]") or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise AtrapError(
            f"address {request.address!r}: write the aggregator's HOST:PORT, "
            "e.g. crowd.example.org:9092"
        )
    if not 0 <= request.region < request.regions <= 64:
        raise AtrapError(f"region {request.region + 1} of {request.regions} does not exist")
    ca = _read(request.ca, "the crowd's certificate (ca.crt)")
    try:
        x509.load_pem_x509_certificates(ca)
    except ValueError:
        raise AtrapError(
            f"{request.ca} is not a certificate: ask the aggregator's owner for the crowd's "
            "ca.crt (from its certs folder)"
        ) from None
    key = _read(request.key, "this peer's private key")
    try:
        load_ssh_private_key(key, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        hint = " (that is the public half: choose the file without .pub)"
        raise AtrapError(
            f"{request.key} is not a peer's private key{hint if key.startswith(b'ecdsa') else ''}"
            ": make one with `atrap crowd key` or the Crowd dock's Make a Key"
        ) from None
    if not request.graph.is_file():
        raise AtrapError(f"{request.graph}: no such graph file (this peer trains it)")


def join(request: JoinRequest) -> Process:
    """Check the request and start this PC's SuperNode; it runs until stopped or refused."""
    check_join(request)
    return start_peer(
        CrowdFolder(request.folder),
        "peer",
        address=request.address,
        ca=request.ca,
        key=request.key,
        graph=request.graph,
        region=request.region,
        regions=request.regions,
        port=request.port or free_port(),
        threads=request.threads,
        received=CrowdFolder(request.folder).rounds,
    )


def why_the_peer_stopped(request: JoinRequest, code: int, tail: str) -> str:
    """A stopped peer's end in words, from its exit code and the end of its log (``tail``,
    Flower's own lines, which the caller may show after these)."""
    if "CERTIFICATE_VERIFY_FAILED" in tail:
        return (
            f"{request.address} is not the aggregator whose certificate {request.ca} vouches "
            "for (certificate verify failed): ask its owner for the crowd's ca.crt, or check "
            "the address"
        )
    if "Failed to activate SuperNode" in tail or "No SuperNode found" in tail:
        return (
            f"the aggregator at {request.address} does not know this peer's key: send "
            f"{request.key}.pub to its owner, who puts it in the crowd's peers folder and "
            "serves again"
        )
    return f"Flower's SuperNode ended with exit code {code}"


def new_peer_key(path: Path, register_in: Path | None = None) -> Path:
    """A new key pair at ``path`` (never over an existing file); the public key, also copied
    into ``register_in`` (a crowd's peers folder) if given."""
    if path.exists():
        raise CrowdError(f"{path} exists; choose another name (a key is never overwritten)")
    public = make_peer_key(path)
    if register_in is not None:
        allow_key(public, register_in)
    return public


def allow_key(public: Path, peers: Path) -> Path:
    """Copy a peer's public key into a crowd's ``peers`` folder (checked: an OpenSSH public
    key, not a private one); where it went."""
    data = _read(public, "a peer's public key")
    try:
        load_ssh_public_key(data.strip())
    except (ValueError, TypeError, IndexError, UnsupportedAlgorithm):
        raise AtrapError(
            f"{public} is not a peer's public key: ask the peer for the .pub file that "
            "`atrap crowd key` or the Crowd dock's Make a Key wrote"
        ) from None
    name = public.name if public.name.endswith(".pub") else public.name + ".pub"
    peers.mkdir(parents=True, exist_ok=True)
    target = peers / name
    if target.resolve() != public.resolve():
        write_bytes_atomic(data, target)
    return target


def _read(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > MAX_KEY_FILE:
            raise AtrapError(f"{path} is too large to be {what}")
        return path.read_bytes()
    except FileNotFoundError:
        raise AtrapError(f"{path}: no such file ({what})") from None
    except IsADirectoryError:
        raise AtrapError(f"{path} is a folder, not {what}") from None
    except OSError as exc:
        raise AtrapError(f"{path} cannot be read ({what}): {exc.strerror}") from None
