"""A peer's files and a crowd's allowed keys are checked before any process starts; the CLI
and the Crowd dock share these checks (crowd/join.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from atrap_studio.core.errors import AtrapError
from atrap_studio.crowd.join import (
    JoinRequest,
    allow_key,
    check_join,
    new_peer_key,
    parse_region,
    why_the_peer_stopped,
)
from atrap_studio.crowd.security import make_certificates


@pytest.fixture
def request_files(tmp_path: Path) -> JoinRequest:
    certs = make_certificates(tmp_path / "certs")
    new_peer_key(tmp_path / "ada.key")
    graph = tmp_path / "g.yaml"
    graph.write_text("name: g\n")
    return JoinRequest("crowd.example.org:9092", certs.ca, tmp_path / "ada.key", graph)


def test_a_well_formed_request_passes(request_files: JoinRequest) -> None:
    check_join(request_files)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"address": "crowd.example.org"}, "write the aggregator's HOST:PORT"),
        ({"address": ":9092"}, "write the aggregator's HOST:PORT"),
        ({"address": "host:99999"}, "write the aggregator's HOST:PORT"),
        ({"region": 4, "regions": 4}, "region 5 of 4 does not exist"),
        ({"ca": "missing.crt"}, "missing.crt: no such file (the crowd's certificate (ca.crt))"),
        ({"ca": "ada.key.pub"}, "ada.key.pub is not a certificate: ask the aggregator's owner"),
        ({"key": "ada.key.pub"}, "that is the public half: choose the file without .pub"),
        ({"key": "certs/ca.crt"}, "ca.crt is not a peer's private key: make one"),
        ({"key": "certs"}, "certs is a folder, not this peer's private key"),
        ({"graph": "nothing.yaml"}, "nothing.yaml: no such graph file"),
    ],
)
def test_bad_requests_are_refused_by_name(
    request_files: JoinRequest, tmp_path: Path, change: dict[str, object], said: str
) -> None:
    values = {**request_files.__dict__}
    for name, value in change.items():
        values[name] = tmp_path / value if name in ("ca", "key", "graph") else value
    with pytest.raises(AtrapError) as caught:
        check_join(JoinRequest(**values))  # type: ignore[arg-type]
    assert said in str(caught.value)


def test_regions_are_counted_as_people_count() -> None:
    assert parse_region(None) == (0, 1)
    assert parse_region("2/4") == (1, 4)
    for bad in ("0/4", "5/4", "two/4", "1/65"):
        with pytest.raises(AtrapError, match="region"):
            parse_region(bad)


def test_only_a_public_key_is_allowed_into_a_crowd(tmp_path: Path) -> None:
    public = new_peer_key(tmp_path / "ada.key")
    peers = tmp_path / "crowd" / "peers"
    assert allow_key(public, peers) == peers / "ada.key.pub"
    assert (peers / "ada.key.pub").read_bytes() == public.read_bytes()
    for wrong in (tmp_path / "ada.key", tmp_path / "missing.pub"):
        with pytest.raises(AtrapError, match=wrong.name):
            allow_key(wrong, peers)
    assert sorted(p.name for p in peers.iterdir()) == ["ada.key.pub"]


def test_a_key_is_never_made_over_another(tmp_path: Path) -> None:
    new_peer_key(tmp_path / "ada.key")
    before = (tmp_path / "ada.key").read_bytes()
    with pytest.raises(AtrapError, match="exists; choose another name"):
        new_peer_key(tmp_path / "ada.key")
    assert (tmp_path / "ada.key").read_bytes() == before


def test_a_stopped_peer_is_explained(request_files: JoinRequest) -> None:
    verify = "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate"
    assert "ask its owner for the crowd's ca.crt" in why_the_peer_stopped(request_files, 1, verify)
    refused = "ERROR : Failed to activate SuperNode"
    assert "does not know this peer's key: send" in why_the_peer_stopped(request_files, 1, refused)
    assert why_the_peer_stopped(request_files, 3, "") == "Flower's SuperNode ended with exit code 3"
