"""PCs of their own for tests: Linux network namespaces joined by veth links.

Each namespace has its own interfaces, addresses, routes and loopback, as a separate PC has:
a process in a peer's namespace reaches the aggregator's namespace only over its veth link
(an Ethernet cable between two PCs), never over the aggregator's loopback. The addresses are
those of the namespaces only (198.18.0.0/15, set aside for network tests, RFC 2544); nothing
is added to the machine's own network. Made with iproute2's ``ip`` as root; everything made
is removed on ``close``, and namespaces left by a test run that was killed are removed by the
next one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

#: Every namespace these tests make starts so, then the pid of the test process that made it.
PREFIX = "atrap-test-"


def why_not_possible() -> str | None:
    """Why network namespaces cannot be made here, or None."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux's"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    if shutil.which("ip") is None:
        return "iproute2's `ip` command is not installed (apt-get install iproute2)"
    return None


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Link:
    """A veth pair: one end in ``near`` (address ``near_address``), one in ``far``."""

    near: str
    far: str
    near_interface: str
    far_interface: str
    near_address: str
    far_address: str


class Namespaces:
    """Network namespaces and the links between them; ``close`` removes them all."""

    def __init__(self) -> None:
        self.tag = f"{PREFIX}{os.getpid()}-"
        self.made: list[str] = []
        self.links: list[Link] = []
        remove_leftovers()

    def add(self, name: str) -> str:
        """A new namespace (its loopback up, as every PC's); its full name."""
        full = self.tag + name
        _ip("netns", "add", full)
        self.made.append(full)
        _ip("-n", full, "link", "set", "lo", "up")
        return full

    def link(self, near: str, far: str) -> Link:
        """Join two namespaces by a veth pair on a subnet of their own (198.18.K.0/24:
        ``near`` gets .1, ``far`` .2)."""
        number = len(self.links) + 1
        stem = f"v{os.getpid() % 100000}x{number}"  # interface names: 15 characters at most
        link = Link(near, far, f"{stem}a", f"{stem}b", f"198.18.{number}.1", f"198.18.{number}.2")
        _ip("-n", near, "link", "add", link.near_interface, "type", "veth",
            "peer", "name", link.far_interface, "netns", far)  # fmt: skip
        for space, interface, address in (
            (near, link.near_interface, link.near_address),
            (far, link.far_interface, link.far_address),
        ):
            _ip("-n", space, "addr", "add", f"{address}/24", "dev", interface)
            _ip("-n", space, "link", "set", interface, "up")
        self.links.append(link)
        return link

    def cut(self, link: Link) -> None:
        """Pull the cable: the near end goes down, so nothing passes either way (no reset is
        sent: the other side learns nothing, as when a PC loses its network)."""
        _ip("-n", link.near, "link", "set", link.near_interface, "down")

    @staticmethod
    def command(name: str, command: list[str]) -> list[str]:
        """``command`` run inside namespace ``name`` (``ip netns exec`` execs it: the same
        process, the same parent)."""
        return ["ip", "netns", "exec", name, *command]

    def close(self) -> None:
        """Remove every namespace made (their veth ends go with them)."""
        for name in reversed(self.made):
            with contextlib.suppress(OSError):
                _ip("netns", "delete", name)
        self.made.clear()


def remove_leftovers() -> None:
    """Remove the namespaces of test runs whose process is gone (killed before ``close``)."""
    try:
        listed = _ip("netns", "list")
    except OSError:
        return
    for line in listed.splitlines():
        name = line.split()[0] if line.split() else ""
        owner = name.removeprefix(PREFIX).partition("-")[0]
        if name.startswith(PREFIX) and owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            with contextlib.suppress(OSError):
                _ip("netns", "delete", name)
