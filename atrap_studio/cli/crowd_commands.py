"""``atrap crowd``: train one network with a crowd of PCs on Flower.

``serve`` runs the aggregator, ``key`` makes a peer's key pair, ``join`` makes this PC a peer,
``local`` runs a whole crowd on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from atrap_studio.cli import architect_command, help_command
from atrap_studio.cli.arguments import positive
from atrap_studio.core.errors import AtrapError
from atrap_studio.crowd.app_check import RUN_CONFIG

if TYPE_CHECKING:
    from atrap_studio.crowd.status import CrowdStatus


def _settings(args: argparse.Namespace) -> dict[str, str | int | float]:
    return {
        "strategy": args.strategy,
        "local-steps": args.local_steps,
        "round-timeout": float(args.round_timeout),
        "seed": args.seed,
        "distill-steps": args.distill_steps,
        "distill-batch": args.distill_batch,
        "prox-mu": args.prox_mu,
        "scaffold": int(args.scaffold),
    }


def _printer(started: float) -> Callable[[CrowdStatus], None]:
    """Prints each finished round once."""
    shown = 0

    def show(status: CrowdStatus) -> None:
        nonlocal shown
        for record in status.rounds[shown:]:
            score = (
                f"median {status.score} {record.median:.2f} {status.unit}".rstrip()
                + f", {record.success_rate:.1%} succeeded"
                if record.median is not None
                else "no update merged"
            )
            left = {**record.dropped, **record.failed, **dict.fromkeys(record.missing, "no reply")}
            out = "".join(f"\n    left out {node}: {why}" for node, why in left.items())
            print(
                f"  round {record.round}/{status.rounds_planned}: {len(record.peers)} peer(s), "
                f"{score}  [{time.monotonic() - started:.0f} s]{out}",
                flush=True,
            )
        shown = len(status.rounds)

    return show


def local(args: argparse.Namespace) -> int:
    from atrap_studio.crowd.local import run_local_crowd

    folder = Path(args.folder or f"runs/crowd-{Path(args.graph).stem}")
    print(
        f"a crowd of {args.peers} peer(s) on this machine, {args.rounds} round(s); "
        f"TLS and peer keys in {folder}",
        flush=True,
    )
    started = time.monotonic()
    status = run_local_crowd(
        Path(args.graph),
        folder,
        peers=args.peers,
        rounds=args.rounds,
        settings=_settings(args) | {"eval-episodes": args.episodes},
        split=not args.same_world,
        on_status=_printer(started),
    )
    print(f"merged network: {folder / 'rounds' / 'network.atrapnet'} ({status.state})")
    return 0


def serve(args: argparse.Namespace) -> int:
    from atrap_studio.crowd.serve import CrowdServer, ServeRequest

    server = CrowdServer(
        ServeRequest(
            graph=Path(args.graph),
            folder=Path(args.folder),
            host=args.host,
            port=args.port,
            names=tuple(args.name),
            rounds=args.rounds,
            min_peers=args.min_peers,
            settings={"eval-episodes": args.episodes, **_settings(args)},
            timeout=args.timeout,
        )
    )
    try:
        registered = server.start()
        aggregator, folder = server.aggregator, server.folder
        print(
            f"aggregator listening for peers on {args.host}:{args.port} (TLS; only Flower's "
            f"Fleet API answers there)\n"
            f"  its Control API: {aggregator.control_address}, this machine only\n"
            f"  give peers the certificate {folder.certs.ca}\n"
            f"  {len(registered)} peer key(s) registered from {folder.peers}\n"
            f"waiting for {args.min_peers} peer(s), then {args.rounds} round(s)",
            flush=True,
        )
        server.run(on_status=_printer(time.monotonic()))
    finally:
        server.stop()
    print(f"merged network: {server.folder.rounds / 'network.atrapnet'}")
    return 0


def join(args: argparse.Namespace) -> int:
    from atrap_studio.crowd.join import JoinRequest, join, parse_region, why_the_peer_stopped

    region, regions = parse_region(args.region)
    request = JoinRequest(
        address=args.address,
        ca=Path(args.ca),
        key=Path(args.key),
        graph=Path(args.graph),
        region=region,
        regions=regions,
        folder=Path(args.folder),
        port=args.port or 0,
        threads=args.threads,
    )
    peer = join(request)
    print(
        f"joined {args.address} as a peer (log: {peer.log}; the merged networks it is sent: "
        f"{Path(args.folder) / 'rounds'}); Ctrl+C leaves",
        flush=True,
    )
    try:
        code = peer.popen.wait()
    finally:
        peer.stop()
    if code != 0:
        tail = peer.tail()
        raise AtrapError(f"{why_the_peer_stopped(request, code, tail)}:\n{tail}")
    return 0


def key(args: argparse.Namespace) -> int:
    from atrap_studio.crowd.join import new_peer_key

    path = Path(args.out)
    register_in = Path(args.register_in) if args.register_in else None
    public = new_peer_key(path, register_in)  # register_in: e.g. a crowd's peers/ folder
    print(f"private key: {path} (keep it on this PC)\npublic key:  {public} (send it to the "
          "aggregator's owner, who puts it in the crowd's peers/ folder)")  # fmt: skip
    return 0


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The ``crowd`` and ``experiment`` commands."""
    crowd = commands.add_parser("crowd", help="train one network with a crowd of PCs (Flower)")
    sub = crowd.add_subparsers(dest="crowd_command", required=True)

    def run_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--rounds", type=positive, default=10, help="exchange rounds")
        parser.add_argument("--local-steps", type=positive, default=50, help="updates per round")
        parser.add_argument(
            "--strategy",
            choices=("fedavg", "trimmed", "median", "krum"),
            default="fedavg",
            help="how updates are merged (trimmed, median, krum: robust to bad peers)",
        )
        parser.add_argument("--round-timeout", type=float, default=600, help="seconds per round")
        parser.add_argument(
            "--distill-steps",
            type=int,
            default=RUN_CONFIG["distill-steps"],
            help="the aggregator also teaches the merged network to answer like each peer on "
            "its own region, this many steps a round (0: the strategy alone; default: %(default)s, "
            "the best of the vast-world experiment's remedies against client drift)",
        )
        parser.add_argument(
            "--distill-batch",
            type=positive,
            default=RUN_CONFIG["distill-batch"],
            help="states of each peer's region per distillation step (default: %(default)s)",
        )
        parser.add_argument(
            "--prox-mu",
            type=float,
            default=RUN_CONFIG["prox-mu"],
            help="FedProx: every peer's training is pulled towards the merged network it was "
            "sent with this weight (0: none)",
        )
        parser.add_argument(
            "--scaffold",
            action=argparse.BooleanOptionalAction,
            default=bool(RUN_CONFIG["scaffold"]),
            help="SCAFFOLD: control variates steer every peer towards the crowd's direction",
        )
        parser.add_argument(
            "--episodes", type=positive, default=1024, help="test episodes per round"
        )
        parser.add_argument("--seed", type=int, default=0)

    serve_ = sub.add_parser("serve", help="run the aggregator (Flower's SuperLink)")
    serve_.add_argument("graph", help="graph file: its network is the crowd's")
    serve_.add_argument("--folder", default="crowd", help="certificates, peer keys, networks")
    serve_.add_argument(
        "--host",
        default="127.0.0.1",
        help="address peers dial (e.g. 0.0.0.0 for every network): only Flower's Fleet API "
        "answers there; its Control API stays on 127.0.0.1",
    )
    serve_.add_argument("--port", type=positive, default=9092)
    serve_.add_argument(
        "--name", action="append", default=[], help="a host name or IP peers dial (repeatable)"
    )
    serve_.add_argument("--min-peers", type=positive, default=2, help="peers to wait for")
    serve_.add_argument("--timeout", type=float, default=24 * 3600, help="give up after (s)")
    run_options(serve_)

    join_ = sub.add_parser("join", help="make this PC a peer (Flower's SuperNode)")
    join_.add_argument("address", metavar="HOST:PORT")
    join_.add_argument("graph", help="this peer's own graph (its scene)")
    join_.add_argument("--ca", required=True, help="the crowd's ca.crt")
    join_.add_argument("--key", required=True, help="this peer's private key")
    join_.add_argument("--region", metavar="k/K", help="train region k of K of the world")
    join_.add_argument("--folder", default="crowd-peer", help="logs and Flower's state")
    join_.add_argument(
        "--port", type=positive, help="local port for Flower's runtime (default: free)"
    )
    join_.add_argument("--threads", type=positive, default=1)

    key_ = sub.add_parser("key", help="make a peer's key pair")
    key_.add_argument("out", help="private key file (the public one gets .pub)")
    key_.add_argument("--register-in", metavar="PEERS_DIR", help="also copy the public key there")

    local_ = sub.add_parser("local", help="a whole crowd on this machine, for trying it out")
    local_.add_argument("graph")
    local_.add_argument("--peers", type=positive, default=2)
    local_.add_argument("--folder", help="where it keeps everything (default runs/crowd-NAME)")
    local_.add_argument(
        "--same-world", action="store_true", help="every peer trains the whole world"
    )
    run_options(local_)

    experiment_ = commands.add_parser("experiment", help="run a measured experiment")
    kinds = experiment_.add_subparsers(dest="experiment", required=True)
    vast = kinds.add_parser(
        "vast-world", help="networks trained in regions against one trained on the whole world"
    )
    vast.add_argument("graph", nargs="?", help="a robot-arm graph (default: the shipped example)")
    vast.add_argument("--regions", type=positive, default=4)
    vast.add_argument("--steps", type=positive, default=3000, help="the single network's updates")
    vast.add_argument("--instances", type=positive, default=1024, help="the single network's arms")
    vast.add_argument("--distill-steps", type=positive, default=4000)
    vast.add_argument("--rounds", type=positive, default=30, help="crowd rounds")
    vast.add_argument("--no-crowd", action="store_true", help="leave the Flower crowd out")
    vast.add_argument(
        "--no-merges", action="store_true", help="leave the region networks and merges out"
    )
    vast.add_argument(
        "--crowd-distill-steps", type=int, help="the crowd aggregator's distillation steps"
    )
    vast.add_argument("--crowd-distill-batch", type=positive, help="and its states per step")
    vast.add_argument("--crowd-prox-mu", type=float, help="the crowd's FedProx weight")
    vast.add_argument("--crowd-scaffold", type=int, choices=(0, 1), help="the crowd's SCAFFOLD")
    vast.add_argument(
        "--simulate",
        action="store_true",
        help="run the crowd in this process (our apps' functions, peers one after another, "
        "no Flower processes) instead of a Flower crowd on loopback",
    )
    vast.add_argument(
        "--contender",
        action="append",
        metavar="KEY=N[+KEY=N]",
        help="simulate a crowd with these settings changed (repeatable; implies --simulate), "
        "e.g. prox-mu=0.1, scaffold=1, distill-steps=300+distill-batch=512, rounds=60",
    )
    vast.add_argument("--episodes", type=positive, default=4096, help="test episodes")
    vast.add_argument("--out", default="runs/vast-world")
    help_command.add_parser(kinds)
    architect_command.add_parser(kinds)


def experiment(args: argparse.Namespace) -> int:
    if args.experiment == "help-the-network":
        return help_command.run(args)
    if args.experiment == "architect":
        return architect_command.run(args)
    from atrap_studio.core.yaml_io import load_graph
    from atrap_studio.crowd import vast_world
    from atrap_studio.examples import example_path

    doc = load_graph(args.graph or example_path())
    setup = vast_world.setup_from(args)
    folder = Path(args.out)
    result = vast_world.run(doc, setup, folder, say=lambda text: print(text, flush=True))
    print(result.table())
    print(f"results: {folder / 'vast-world.json'}, {folder / 'vast-world.md'}")
    return 0


def dispatch(args: argparse.Namespace) -> int:
    try:
        if args.command == "experiment":
            return experiment(args)
        handlers = {"serve": serve, "join": join, "key": key, "local": local}
        return handlers[args.crowd_command](args)
    finally:
        # However the command ends (a stop signal, an error, or a signal that cut a clean-up
        # short), no Flower process outlives it. Loaded only if it started one (torch, Flower).
        processes = sys.modules.get("atrap_studio.crowd.processes")
        if processes is not None:
            processes.stop_all()
