"""Starting Flower's processes for a crowd: the aggregator (SuperLink), peers (SuperNodes) and
runs, each on real processes talking TLS, with only registered peer keys allowed in.

Everything Flower writes (its CLI configuration, the app bundle it unpacks, its state) stays
in the crowd's folder: ``FLWR_HOME`` points there, never at the user's home.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from atrap_studio.core.errors import AtrapError
from atrap_studio.core.yaml_io import write_bytes_atomic, write_text_atomic
from atrap_studio.crowd.app_check import RUN_CONFIG, own_app, write_launcher
from atrap_studio.crowd.security import Certificates, make_certificates
from atrap_studio.crowd.status import CrowdStatus, read_status
from atrap_studio.crowd.superlink import MAX_UPDATE_BYTES

FEDERATION = "atrap"
LOOPBACK = "127.0.0.1"
#: Telemetry and update checks off (the crowd may run offline); the SuperNode's own executor
#: picks up work every 0.1 s instead of every second.
FLOWER_ENV = {
    "FLWR_TELEMETRY_ENABLED": "0",
    "FLWR_DISABLE_UPDATE_CHECK": "1",
    "FLWR_SUPEREXEC_TASK_POLL_INTERVAL": "0.1",
}
START_TIMEOUT_S = 60.0
#: Which peer key each node id was registered from (in the crowd's folder).
NODE_KEYS = "peer-nodes.json"
#: How often a run's state is asked of Flower while our ServerApp has not said it ended: each
#: ask starts the ``flwr`` CLI, about two seconds of a core.
ASK_FLOWER_EVERY_S = 10.0
#: How Flower's run details begin when a ServerApp raised (the rest is the exception's text).
_FLOWER_FAILED = "ServerApp failed with exception: "


class CrowdError(AtrapError):
    """A crowd process could not start or a run failed; the message says which and why."""


@dataclass(frozen=True)
class CrowdFolder:
    """Where one crowd keeps its certificates, registered peer keys, state, logs and networks."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "flower"

    @property
    def certs(self) -> Certificates:
        return Certificates.in_folder(self.root / "certs")

    @property
    def peers(self) -> Path:
        return self.root / "peers"

    @property
    def rounds(self) -> Path:
        return self.root / "rounds"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def app(self) -> Path:
        return self.root / "app"

    @property
    def bin(self) -> Path:
        """The peer's ``flwr-clientapp`` command, which runs only our own app."""
        return self.root / "bin"

    def prepare(self, hosts: Sequence[str]) -> None:
        """Create the folders, the certificates (once) and the app bundle's folder."""
        for folder in (self.home, self.peers, self.rounds, self.logs, self.app):
            folder.mkdir(parents=True, exist_ok=True)
        if not self.certs.exist():
            make_certificates(self.root / "certs", hosts)
        write_app(self.app)

    def env(self, *first: Path) -> dict[str, str]:
        """Flower's processes start each other by command name: ours (``first``, then this
        Python's) must come first."""
        folders = [*(str(f.resolve()) for f in first), str(Path(sys.executable).parent)]
        path = os.pathsep.join([*folders, os.environ.get("PATH", "")])
        return {**os.environ, **FLOWER_ENV, "FLWR_HOME": str(self.home), "PATH": path}


def write_app(folder: Path) -> None:
    """The Flower app bundle: only a pyproject naming our installed apps and their settings
    (peers run no other bundle, see crowd/app_check.py)."""
    write_bytes_atomic(own_app(), folder / "pyproject.toml")


def tool(name: str) -> str:
    """A Flower command installed beside this Python (the virtual environment's)."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise CrowdError(f"Flower's {name!r} command is not installed (pip install flwr)")
    return found


#: Processes started and not yet stopped: what :func:`stop_all` stops.
_RUNNING: set[Process] = set()


def stop_all() -> None:
    """Stop every Flower process this program started and has not stopped yet (with their
    children): the last clean-up of a command, whichever way it ends."""
    for process in list(_RUNNING):
        process.stop()


def _descendants(pid: int) -> set[int]:
    """The processes ``pid`` started and those they started, from /proc (Linux); elsewhere
    none are known, and only ``pid`` itself is stopped."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return set()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:  # ended meanwhile, or not ours to read
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, ended but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:
        if os.path.isdir("/proc"):
            return False
    try:  # no /proc (not Linux): ask the system
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(pids: set[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


class Process:
    """A Flower process whose output goes to a log file; stopped and reaped on ``stop``."""

    def __init__(self, name: str, command: list[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._handle: IO[bytes] = log.open("ab")
        try:
            self.popen = subprocess.Popen(
                command, env=dict(env), stdout=self._handle, stderr=subprocess.STDOUT
            )
        except OSError as exc:
            self._handle.close()
            raise CrowdError(f"cannot start the {name}: {exc}") from exc
        self._tree: set[int] = set()
        _RUNNING.add(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the process and every process it started, asking first (SIGTERM), then forcing.

        Flower's own children outlive it: a SuperNode's SuperExec starts ClientApps, the
        SuperLink's starts ServerApps in a session of their own, and neither passes SIGTERM on.
        So the whole tree is found (again while it stops: a child started meanwhile) and
        signalled, not the one process.
        """
        tree = self._tree  # what an earlier stop, cut short by a signal, had found
        if self.popen.poll() is None:  # once ended, its number may be another process's
            tree |= {self.popen.pid} | _descendants(self.popen.pid)
        _signal({pid for pid in tree if _running(pid)}, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.popen.poll()  # reap ours, so that it no longer counts as running
            running = {pid for pid in tree if _running(pid)}
            late = set[int]().union(*(_descendants(pid) for pid in running)) - tree
            _signal(late, signal.SIGTERM)
            tree |= late
            if not running and not late:
                break
            time.sleep(0.05)
        else:
            _signal({pid for pid in tree if _running(pid)}, signal.SIGKILL)
        self.popen.wait()
        self._forget()

    def _forget(self) -> None:
        _RUNNING.discard(self)
        self._handle.close()


class Aggregator:
    """The SuperLink with TLS and peer authentication, and the runs submitted to it.

    Peers dial ``host:port``, where only Flower's Fleet API answers; the Control and Runtime
    APIs listen on loopback only, on a port chosen at each start (see crowd/superlink.py).
    """

    def __init__(
        self,
        folder: CrowdFolder,
        *,
        host: str = "127.0.0.1",
        port: int = 9092,
        max_update_bytes: int = MAX_UPDATE_BYTES,
    ) -> None:
        self.folder = folder
        self.host = host
        self.port = port
        self.max_update_bytes = max_update_bytes
        self.control_port = 0
        self.process: Process | None = None

    @property
    def address(self) -> str:
        """Where peers on this machine dial (the public socket)."""
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"{host}:{self.port}"

    @property
    def control_address(self) -> str:
        """Where the aggregator's own processes reach Flower's Control API (loopback only)."""
        return f"{LOOPBACK}:{self.control_port}"

    def start(self) -> None:
        folder = self.folder
        certs = folder.certs
        self.control_port = free_port()
        # The Control API's secret, new at each start: handed to the aggregator in a file
        # only this account can read (removed once it listens) and to Flower's CLI in its
        # credential store in the crowd's folder (see crowd/superlink.py).
        secret = secrets.token_urlsafe(32)
        secret_file = folder.root / "control.secret"
        write_bytes_atomic(secret.encode(), secret_file, mode=0o600)
        command = [
            sys.executable, "-m", "atrap_studio.crowd.superlink",
            "--public-host", self.host,
            "--public-port", str(self.port),
            "--parent-pid", str(os.getpid()),
            "--control-secret-file", str(secret_file),
            "--max-update-bytes", str(self.max_update_bytes),
            "--ssl-ca-certfile", str(certs.ca),
            "--ssl-certfile", str(certs.certificate),
            "--ssl-keyfile", str(certs.key),
            "--enable-supernode-auth",
            "--disable-runtime-dependency-installation",  # never download packages
            "--database", str(folder.root / "state.db"),
            "--host", LOOPBACK,
            "--port", str(self.control_port),
        ]  # fmt: skip
        try:
            self.process = Process(
                "aggregator", command, folder.env(), folder.logs / "aggregator.log"
            )
            _wait_listening(self.process, LOOPBACK, self.control_port)
            public = self.address.rpartition(":")[0].strip("[]")
            _wait_listening(self.process, public, self.port)
        finally:
            secret_file.unlink(missing_ok=True)
        _give_flower_cli(folder.home / "credentials.yaml", self.control_address, secret)
        config = f"""[superlink]
default = "{FEDERATION}"

[superlink.{FEDERATION}]
address = "{self.control_address}"
root-certificates = {_toml(str(certs.ca.resolve()))}
"""
        write_text_atomic(config, folder.home / "config.toml")

    def register(self, public_key: Path) -> str:
        """Allow the peer holding the private half of ``public_key`` to join; its node id."""
        args = ("supernode", "register", str(public_key), FEDERATION, "--format", "json")
        reply = self._flwr(*args, check=False)
        if not reply.get("success"):
            if "already" in json.dumps(reply).lower():  # kept in state.db from an earlier start
                return ""
            raise CrowdError(f"{public_key}: Flower refused to register it: {reply}")
        return str(reply.get("node-id", ""))

    def register_all(self) -> list[Path]:
        """Register every public key in the crowd's ``peers`` folder (again after a restart:
        keys registered before are kept); the keys. Which node id each new key got is kept
        in the folder (Flower lists nodes without their keys), for :meth:`key_names`."""
        keys = sorted(self.folder.peers.glob("*.pub"))
        names = self.key_names()
        for key in keys:
            node = self.register(key)
            if node:
                names[node] = key.name
        if names:
            write_text_atomic(json.dumps(names, indent=1), self.folder.root / NODE_KEYS)
        return keys

    def key_names(self) -> dict[str, str]:
        """Node id → the name of the key file it was registered from (for keys registered
        by this code; others are unknown)."""
        try:
            names = json.loads((self.folder.root / NODE_KEYS).read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(names, dict):
            return {}
        return {str(node): str(name) for node, name in names.items()}

    def submit(self, settings: Mapping[str, str | int | float]) -> str:
        """Start a run with ``settings`` (keys of RUN_CONFIG); its run id."""
        unknown = set(settings) - set(RUN_CONFIG)
        if unknown:
            raise CrowdError(f"unknown crowd settings: {', '.join(sorted(unknown))}")
        overrides = self.folder.root / "run-config.toml"
        write_text_atomic(
            "\n".join(f"{k} = {_toml(v)}" for k, v in settings.items()) + "\n", overrides
        )
        reply = self._flwr(
            "run", str(self.folder.app), FEDERATION, "--run-config", str(overrides),
            "--format", "json",
        )  # fmt: skip
        if not reply.get("success", True) or "run-id" not in reply:
            raise CrowdError(f"Flower did not start the run: {reply}")
        return str(reply["run-id"])

    def nodes(self) -> list[dict[str, str]]:
        """The peers Flower knows: each one's ``node-id``, ``status`` (online, offline,
        registered) and when it came ``online-at``, as ``flwr supernode list`` says, and
        the ``key`` file it was registered from where that is known."""
        reply = self._flwr("supernode", "list", FEDERATION, "--format", "json")
        found = reply.get("nodes")
        names = self.key_names()
        nodes = [
            {key: str(value) for key, value in node.items()}
            for node in (found if isinstance(found, list) else [])
            if isinstance(node, dict)
        ]
        for node in nodes:
            node["key"] = names.get(node.get("node-id", ""), "")
        return nodes

    def run_state(self, run_id: str) -> tuple[str, str]:
        """Flower's status of a run, e.g. ``running`` or ``finished:failed``, and its details
        (for a ServerApp that failed: its exception's message)."""
        reply = self._flwr("ls", "--run-id", run_id, "--format", "json")
        runs = reply.get("runs")
        first = runs[0] if isinstance(runs, list) and runs else {}
        if not isinstance(first, dict):
            return "unknown", ""
        return str(first.get("status", "unknown")), str(first.get("status-details") or "")

    def wait(
        self,
        run_id: str,
        *,
        timeout: float,
        on_status: Callable[[CrowdStatus], None] | None = None,
    ) -> CrowdStatus:
        """Follow a run until our ServerApp or Flower says it ended; the crowd's final status."""
        deadline = time.monotonic() + timeout
        ask_flower = time.monotonic() + ASK_FLOWER_EVERY_S
        seen = -1
        state, details = "running", ""
        while time.monotonic() < deadline:
            status = self._status(run_id)
            if status is not None and on_status is not None and len(status.rounds) != seen:
                seen = len(status.rounds)
                on_status(status)
            if status is not None and status.state in ("finished", "failed"):
                break  # the ServerApp's last word on this run
            if self.process is not None and not self.process.alive():
                raise CrowdError(f"the aggregator stopped:\n{self.process.tail()}")
            if time.monotonic() >= ask_flower:  # ended without a word: did not start, crashed
                state, details = self.run_state(run_id)
                if state.startswith("finished"):
                    break
                ask_flower = time.monotonic() + ASK_FLOWER_EVERY_S
            time.sleep(0.5)
        else:
            self._flwr("stop", run_id, FEDERATION, check=False)
            raise CrowdError(
                f"the crowd run did not finish within {timeout:.0f} s (Flower: {state})"
            )
        status = self._status(run_id) or CrowdStatus(state="failed")
        if on_status is not None and len(status.rounds) != seen:
            on_status(status)
        if status.state != "finished":
            # the status file keeps its last good state when the disk is full: Flower says why
            detail = status.message or details.removeprefix(_FLOWER_FAILED) or state
            raise CrowdError(f"the crowd run failed: {detail}")
        return status

    def _status(self, run_id: str) -> CrowdStatus | None:
        """The status our ServerApp wrote for ``run_id`` (not one left by an earlier run)."""
        status = read_status(self.folder.rounds)
        return status if status is not None and status.run_id == run_id else None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def _flwr(self, *args: str, check: bool = True) -> dict[str, object]:
        try:
            done = subprocess.run(
                [tool("flwr"), *args],
                env=self.folder.env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CrowdError(f"flwr {' '.join(args[:2])} did not answer: {exc}") from exc
        try:
            reply: dict[str, object] = json.loads(done.stdout or "{}")
        except json.JSONDecodeError:
            reply = {}
        if check and (done.returncode != 0 or not isinstance(reply, dict)):
            message = (done.stdout + done.stderr).strip()[-2000:]
            raise CrowdError(f"flwr {' '.join(args[:2])} failed: {message}")
        return reply


def start_peer(
    folder: CrowdFolder,
    name: str,
    *,
    address: str,
    ca: Path,
    key: Path,
    graph: Path,
    region: int = 0,
    regions: int = 1,
    port: int = 9094,
    threads: int = 1,
    received: Path | None = None,
) -> Process:
    """A SuperNode that dials ``address`` and trains ``graph`` (on one region of it).

    With ``received`` the peer keeps there each merged network the aggregator sends it, with
    the aggregator's score of it (a status file as the aggregator's own, see crowd/apps.py).
    """
    settings = [
        f"graph={_toml(str(graph.resolve()))}",
        f"region={region}",
        f"regions={regions}",
        f"threads={threads}",
    ]
    if received is not None:
        received.mkdir(parents=True, exist_ok=True)
        settings.append(f"received={_toml(str(received.resolve()))}")
    node_config = " ".join(settings)
    command = [
        sys.executable, "-m", "atrap_studio.crowd.supernode",  # Flower's, ended with us
        "--parent-pid", str(os.getpid()),
        "--superlink", address,
        "--root-certificates", str(ca.resolve()),
        "--auth-supernode-private-key", str(key.resolve()),
        "--node-config", node_config,
        "--port", str(port),
    ]  # fmt: skip
    folder.logs.mkdir(parents=True, exist_ok=True)
    launcher = write_launcher(folder.bin)
    env = folder.env(folder.bin)
    if shutil.which("flwr-clientapp", path=env["PATH"]) != str(launcher.resolve()):
        raise CrowdError(f"{launcher} is not the flwr-clientapp this peer would start")
    return Process(name, command, env, folder.logs / f"{name}.log")


def _give_flower_cli(store: Path, address: str, secret: str) -> None:
    """Put the Control API's secret where Flower's CLI takes the bearer token it sends to
    ``address`` (its file credential store, written by Flower's own code: owner-only)."""
    from flwr.cli.constant import (
        ACCESS_TOKEN_STORE_KEY,
        AUTHN_TYPE_STORE_KEY,
        REFRESH_TOKEN_STORE_KEY,
    )
    from flwr.common.constant import AuthnType
    from flwr.supercore.credential_store.file_credential_store import FileCredentialStore

    store.unlink(missing_ok=True)  # an earlier start's secret, for a port now closed
    credentials = FileCredentialStore(store)
    credentials.set(AUTHN_TYPE_STORE_KEY % address, AuthnType.OIDC.encode())
    for key in (ACCESS_TOKEN_STORE_KEY, REFRESH_TOKEN_STORE_KEY):
        credentials.set(key % address, secret.encode())
    if credentials.get(ACCESS_TOKEN_STORE_KEY % address) != secret.encode():
        raise CrowdError(f"cannot write Flower's credentials in {store}")


def free_port() -> int:
    """A TCP port nobody listens on now (for the local Runtime API of each peer)."""
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(process: Process, host: str, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not process.alive():
            raise CrowdError(f"the {process.name} did not start:\n{process.tail()}")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    process.stop()
    raise CrowdError(f"the {process.name} did not listen on {host}:{port} within a minute")


def _toml(value: str | int | float) -> str:
    """A TOML value; strings as basic strings (JSON escapes are valid TOML escapes)."""
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)
