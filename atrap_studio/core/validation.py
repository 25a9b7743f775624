"""Validation: every problem of a graph at once, as structured issues keyed by node.

One function feeds the CLI's exit code, the editor's badges and the tests. The same analysis
infers every port's shape along the links (several links into one Vector input concatenate), so
the runtime compiles from it instead of working sizes out a second time.
"""

from __future__ import annotations

import difflib
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from atrap_studio.core.document import GraphDocument, Link
from atrap_studio.core.errors import quoted, shortened
from atrap_studio.core.outcome import GENERIC, Outcome
from atrap_studio.core.registry import Registry
from atrap_studio.core.specs import NodeSpec, PortSpec

Severity = Literal["error", "warning"]
PortKey = tuple[str, str]  # (node id, port name)


@dataclass(frozen=True)
class Issue:
    """One problem found in a graph.

    Attributes:
        code: stable machine-readable kind, e.g. ``size.mismatch`` (tests assert on it).
        message: what is wrong, in words a non-programmer understands.
        hint: how to fix it.
        severity: errors block a run; warnings do not.
        node, port, prop: where, when the problem belongs to a node.
    """

    code: str
    message: str
    hint: str = ""
    severity: Severity = "error"
    node: str | None = None
    port: str | None = None
    prop: str | None = None

    def format(self, source: str = "<graph>") -> str:
        """``file.yaml: node 'brain': message (hint)`` as the CLI prints it."""
        where = f"{source}: "
        if self.node is not None:
            where += f"node '{self.node}': "
        text = f"{where}{'warning: ' if self.severity == 'warning' else ''}{self.message}"
        return f"{text} ({self.hint})" if self.hint else text


@dataclass(frozen=True)
class AgentParts:
    """One learning agent of a graph: a trainer, the network it trains and the nodes around it.

    Attributes:
        trainer: the trainer's id.
        network: the id of the node whose network the trainer trains (an NN Factory...).
        sensors: nodes the network reads from, back to the scene (in the file's order).
        actions: nodes the network's answer flows through into the scene's 'actuators'.
        rewards: nodes the trainer's rewards come from, back to the scene.
        seats: the scene's bodies its actions drive (the tank arena's ``blue``/``red``; ``""``
            for a scene that declares none: it has one).
    """

    trainer: str
    network: str
    sensors: tuple[str, ...]
    actions: tuple[str, ...]
    rewards: tuple[str, ...]
    seats: tuple[str, ...]


@dataclass
class Analysis:
    """What validation learned about a graph; the runtime compiles from it.

    Attributes:
        issues: every problem found, errors and warnings.
        specs: the spec of each node whose type is known, by node id.
        props: each known node's properties with defaults filled in.
        scene: id of the graph's scene node, when there is exactly one.
        trainer: id of the graph's trainer node, when there is exactly one; where the scene has
            room for several learning agents, the first agent's trainer.
        agents: each learning agent (trainer, network, sensors, actions, rewards), in the
            file's order of their trainers; the first is the one ``trainer`` names.
        facts: what the scene declares about itself (``joints``...).
        outcome: how the scene's episodes are judged, when the scene is valid.
        inputs: the shape arriving at each linked or sized input port.
        outputs: the shape of each output port that is known.
        order: node ids in an order where every node comes after its inputs (feedback links
            into scene actuators excluded); empty when the graph has a cycle.
    """

    issues: list[Issue] = field(default_factory=list)
    specs: dict[str, NodeSpec] = field(default_factory=dict)
    props: dict[str, dict[str, Any]] = field(default_factory=dict)
    scene: str | None = None
    trainer: str | None = None
    agents: list[AgentParts] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None
    inputs: dict[PortKey, tuple[int, ...]] = field(default_factory=dict)
    outputs: dict[PortKey, tuple[int, ...]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def validate(doc: GraphDocument, registry: Registry) -> list[Issue]:
    """Every problem of ``doc`` at once (an empty list means it can run)."""
    return analyse(doc, registry).issues


def analyse(doc: GraphDocument, registry: Registry) -> Analysis:
    """Check a document against the registry and infer its port shapes."""
    result = Analysis()
    _check_nodes(doc, registry, result)
    _check_names(doc, result)
    _check_blocks(doc, result)
    links = _check_links(doc, result)
    _check_roles(doc, result)
    _check_required_inputs(doc, links, result)
    result.order = _topological_order(doc, links, result)
    if result.scene is not None and not _has_errors(result, result.scene):
        _scene_facts(result)
    _infer_shapes(doc, links, result)
    _check_agents(doc, links, result)  # after sizes: its errors must not hide them
    return result


def _check_names(doc: GraphDocument, result: Analysis) -> None:
    """Names are how people tell nodes apart on the canvas: warn when they cannot."""
    owners: dict[str, list[str]] = defaultdict(list)
    for node in doc.nodes:
        if node.name is None:
            continue
        if not node.name.strip():
            result.issues.append(
                Issue(
                    "name.empty",
                    "this node has an empty name",
                    "give it a name that says what it is for",
                    severity="warning",
                    node=node.id,
                )
            )
        else:
            owners[node.name.strip()].append(node.id)
    for name, ids in owners.items():
        for node_id in ids if len(ids) > 1 else ():
            others = ", ".join(f"'{other}'" for other in ids if other != node_id)
            result.issues.append(
                Issue(
                    "name.duplicate",
                    f"the name '{name}' is also used by node {others}",
                    "rename one of them so each node's name says which is which",
                    severity="warning",
                    node=node_id,
                )
            )


def _check_blocks(doc: GraphDocument, result: Analysis) -> None:
    """Blocks are an overlay: their members must exist, belong to one block, expose own ports."""
    node_ids = {n.id for n in doc.nodes}
    owner: dict[str, str] = {}
    seen: set[str] = set()
    for block in doc.blocks:
        where = f"block '{block.name}' ({block.id})"
        if block.id in seen or block.id in node_ids:
            result.issues.append(
                Issue(
                    "block.id.duplicate",
                    f"{where}: its id is already used by another node or block",
                    "give each block its own id",
                )
            )
        seen.add(block.id)
        if not block.nodes:
            result.issues.append(
                Issue("block.empty", f"{where} holds no nodes", "ungroup it", severity="warning")
            )
        for member in block.nodes:
            if member not in node_ids:
                result.issues.append(
                    Issue(
                        "block.member.unknown",
                        f"{where} lists node '{member}', which is not in the graph",
                        "remove it from the block's 'nodes'",
                    )
                )
            elif member in owner and owner[member] != block.id:
                result.issues.append(
                    Issue(
                        "block.member.shared",
                        f"this node is in two blocks, '{owner[member]}' and '{block.id}'",
                        "a node belongs to one block at most; remove it from one of them",
                        node=member,
                    )
                )
            owner.setdefault(member, block.id)
        for direction, ports in (("input", block.inputs), ("output", block.outputs)):
            for exposed in ports:
                end = exposed.port
                spec = result.specs.get(end.node)
                if end.node not in block.nodes:
                    problem = f"node '{end.node}' is not in the block"
                elif spec is not None and (
                    (spec.input if direction == "input" else spec.output)(end.port) is None
                ):
                    problem = f"'{spec.title}' has no {direction} '{end.port}'"
                else:
                    continue
                result.issues.append(
                    Issue(
                        "block.port.unknown",
                        f"{where}: its {direction} '{exposed.name}' points at {end}, but {problem}",
                        "remove that port from the block or point it at a member's port",
                    )
                )


def _has_errors(result: Analysis, node_id: str) -> bool:
    return any(i.node == node_id and i.severity == "error" for i in result.issues)


def _check_nodes(doc: GraphDocument, registry: Registry, result: Analysis) -> None:
    seen: set[str] = set()
    for node in doc.nodes:
        if node.id in seen:
            result.issues.append(
                Issue(
                    "id.duplicate",
                    f"the id '{node.id}' is used by more than one node",
                    "give each node its own id",
                    node=node.id,
                )
            )
            continue
        seen.add(node.id)
        spec = registry.get(node.type)
        if spec is None:
            close = registry.suggest(node.type)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            result.issues.append(
                Issue(
                    "type.unknown",
                    f"unknown node type '{node.type}'",
                    hint or "run 'atrap nodes' to list the node types this version knows",
                    node=node.id,
                )
            )
            continue
        result.specs[node.id] = spec
        result.props[node.id] = spec.resolved_props(node.props)
        for name, value in node.props.items():
            prop = spec.prop(name)
            if prop is None:
                close = [p.name for p in spec.props if _close(name, p.name)]
                known = ", ".join(p.name for p in spec.props) or "none"
                hint = f"did you mean '{close[0]}'?" if close else f"its properties: {known}"
                result.issues.append(
                    Issue(
                        "prop.unknown",
                        f"{spec.type} has no property {quoted(name)}",
                        hint,
                        node=node.id,
                        prop=name,
                    )
                )
                continue
            problem = prop.check(value)
            if problem:
                code, message, hint = problem
                result.issues.append(
                    Issue(code, f"property '{name}': {message}", hint, node=node.id, prop=name)
                )
        for prop in spec.props:
            if prop.required and prop.name not in node.props:
                result.issues.append(
                    Issue(
                        "prop.missing",
                        f"property '{prop.name}' must be set",
                        prop.help,
                        node=node.id,
                        prop=prop.name,
                    )
                )


def _close(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.75


def _check_links(doc: GraphDocument, result: Analysis) -> list[Link]:
    """Report bad links; return the ones whose both ends exist and whose types fit."""
    good: list[Link] = []
    seen: set[tuple[str, str]] = set()
    ids = {n.id for n in doc.nodes}
    for link in doc.links:
        pair = (str(link.src), str(link.dst))
        said = (shortened(pair[0]), shortened(pair[1]))  # as messages show it: cut short
        if pair in seen:
            result.issues.append(
                Issue(
                    "link.duplicate",
                    f"the link {said[0]} → {said[1]} appears twice",
                    "remove one of them",
                    severity="warning",
                    node=link.dst.node,
                    port=link.dst.port,
                )
            )
            continue
        seen.add(pair)
        ends_ok = True
        for end, direction in ((link.src, "output"), (link.dst, "input")):
            if end.node not in ids:
                result.issues.append(
                    Issue(
                        "link.node_unknown",
                        f"the link {said[0]} → {said[1]} names a node {quoted(end.node)} that is "
                        "not in the graph",
                        "fix the node id in the link or remove the link",
                        node=link.dst.node if end is link.src else link.src.node,
                    )
                )
                ends_ok = False
                continue
            spec = result.specs.get(end.node)
            if spec is None:
                ends_ok = False  # unknown type: already reported on the node
                continue
            ports = spec.outputs if direction == "output" else spec.inputs
            if not any(p.name == end.port for p in ports):
                other = spec.inputs if direction == "output" else spec.outputs
                names = ", ".join(p.name for p in ports) or "none"
                hint = f"its {direction}s: {names}"
                if any(p.name == end.port for p in other):
                    kind = "input" if direction == "output" else "output"
                    hint = (
                        f"{quoted(end.port)} is an {kind}; "
                        f"links go from an output to an input ({hint})"
                    )
                result.issues.append(
                    Issue(
                        "link.port_unknown",
                        f"{spec.type} has no {direction} {quoted(end.port)} "
                        f"(link {said[0]} → {said[1]})",
                        hint,
                        node=end.node,
                        port=end.port,
                    )
                )
                ends_ok = False
        if not ends_ok:
            continue
        src_port = _port(result, link.src.node, link.src.port, "out")
        dst_port = _port(result, link.dst.node, link.dst.port, "in")
        src_type, dst_type = src_port.port_type, dst_port.port_type
        if not dst_type.accepts(src_type):
            result.issues.append(
                Issue(
                    "link.type_mismatch",
                    f"cannot link {pair[0]} ({src_type}) into {pair[1]} ({dst_type})",
                    f"'{link.dst.port}' takes a {dst_type.kind}; link an output of that type",
                    node=link.dst.node,
                    port=link.dst.port,
                )
            )
            continue
        good.append(link)
    by_input: dict[PortKey, list[Link]] = defaultdict(list)
    for link in good:
        by_input[(link.dst.node, link.dst.port)].append(link)
    for (node_id, port_name), arriving in by_input.items():
        port = _port(result, node_id, port_name, "in")
        if len(arriving) > 1 and not port.multiple:
            sources = ", ".join(str(lk.src) for lk in arriving)
            result.issues.append(
                Issue(
                    "link.multiple",
                    f"input '{port_name}' takes one link but has {len(arriving)}: {sources}",
                    "remove all but one of them",
                    node=node_id,
                    port=port_name,
                )
            )
    return good


def _port(result: Analysis, node_id: str, name: str, direction: str) -> PortSpec:
    spec = result.specs[node_id]
    port = spec.input(name) if direction == "in" else spec.output(name)
    assert port is not None
    return port


def _check_roles(doc: GraphDocument, result: Analysis) -> None:
    scenes = [
        n.id for n in doc.nodes if n.id in result.specs and result.specs[n.id].category == "scene"
    ]
    trainers = [
        n.id for n in doc.nodes if n.id in result.specs and result.specs[n.id].category == "trainer"
    ]
    if not scenes:
        result.issues.append(
            Issue(
                "graph.no_scene",
                "the graph has no scene: the agent needs a world to act in",
                "add a scene node, for example scene.robot_arm",
            )
        )
    elif len(scenes) > 1:
        for extra in scenes[1:]:
            result.issues.append(
                Issue(
                    "graph.scenes",
                    f"the graph has {len(scenes)} scenes ({', '.join(scenes)}); a pipeline "
                    "trains in exactly one",
                    "remove the extra scene, or make a second graph for it",
                    node=extra,
                )
            )
    else:
        result.scene = scenes[0]
    if not trainers:
        result.issues.append(
            Issue(
                "graph.no_trainer",
                "the graph has no trainer: nothing would learn",
                "add a trainer node, for example trainer.direct or trainer.ppo",
            )
        )
    elif len(trainers) == 1:
        result.trainer = trainers[0]
    # several trainers: whether the scene has room for them is known from its facts


def _check_required_inputs(doc: GraphDocument, links: list[Link], result: Analysis) -> None:
    linked = {(lk.dst.node, lk.dst.port) for lk in links}
    broken = {(lk.dst.node, lk.dst.port) for lk in doc.links}
    checked: set[str] = set()
    for node in doc.nodes:
        spec = result.specs.get(node.id)
        if spec is None or node.id in checked:
            continue  # unknown type, or a duplicate id (both reported already)
        checked.add(node.id)
        for port in spec.inputs:
            key = (node.id, port.name)
            if key in linked or key in broken:
                continue
            if port.required:
                result.issues.append(
                    Issue(
                        "port.unconnected",
                        f"input '{port.name}' ({port.type}) is not linked",
                        f"link an output of type {port.port_type.kind} into it: {port.help}",
                        node=node.id,
                        port=port.name,
                    )
                )
            elif port.needed_when is not None and not _has_errors(result, node.id):
                needed, why = port.needed_when
                if needed(result.props[node.id]):
                    result.issues.append(
                        Issue(
                            "port.unconnected",
                            f"input '{port.name}' ({port.type}) is not linked, and {why}",
                            f"link an output of type {port.port_type.kind} into it: {port.help}",
                            node=node.id,
                            port=port.name,
                        )
                    )


def _topological_order(doc: GraphDocument, links: list[Link], result: Analysis) -> list[str]:
    ids = list(dict.fromkeys(n.id for n in doc.nodes))
    edges: dict[str, list[str]] = {i: [] for i in ids}
    indegree = dict.fromkeys(ids, 0)
    for link in links:
        if _port(result, link.dst.node, link.dst.port, "in").feedback:
            continue
        edges[link.src.node].append(link.dst.node)
        indegree[link.dst.node] += 1
    ready = deque(i for i in ids if indegree[i] == 0)
    order: list[str] = []
    while ready:
        current = ready.popleft()
        order.append(current)
        for nxt in edges[current]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    if len(order) == len(ids):
        return order
    cycle = _find_cycle({i for i in ids if i not in order}, edges)
    path = " → ".join([*cycle, cycle[0]])
    result.issues.append(
        Issue(
            "graph.cycle",
            f"links form a cycle: {path}",
            "a pipeline flows one way; only an action's command may loop back into a scene's "
            "'actuators' input",
            node=cycle[0],
        )
    )
    return []


def _find_cycle(remaining: set[str], edges: dict[str, list[str]]) -> list[str]:
    """One cycle among the nodes Kahn's algorithm could not order.

    Those are the cycles' nodes and the nodes downstream of them; the latter are pruned first
    (a node that leads nowhere among the rest), so the walk always closes a loop.
    """
    core = set(remaining)
    pruned = True
    while pruned:
        dead_ends = {node for node in core if not any(n in core for n in edges[node])}
        core -= dead_ends
        pruned = bool(dead_ends)
    path: list[str] = []
    seen: dict[str, int] = {}
    current = sorted(core)[0]
    while current not in seen:
        seen[current] = len(path)
        path.append(current)
        current = next(n for n in edges[current] if n in core)
    return path[seen[current] :]


def _scene_facts(result: Analysis) -> None:
    assert result.scene is not None
    spec = result.specs[result.scene]
    props = result.props[result.scene]
    try:
        result.facts = spec.facts(props) if spec.facts is not None else {}
        result.outcome = spec.outcome(props) if spec.outcome is not None else GENERIC
    except ValueError as exc:  # e.g. a gymnasium environment that is not installed
        result.issues.append(
            Issue(
                "scene.setup",
                f"the scene cannot be set up: {exc}",
                "fix the scene's properties (see 'atrap nodes " + spec.type + "')",
                node=result.scene,
            )
        )
        return
    for node_id, node_spec in result.specs.items():
        missing = [f for f in node_spec.requires_facts if not result.facts.get(f)]
        if missing:
            scene_type = spec.type
            result.issues.append(
                Issue(
                    "scene.unsupported",
                    f"{node_spec.type} needs a scene with {', '.join(missing)}, and "
                    f"{scene_type} has none",
                    "use a node made for this scene (see 'atrap nodes')",
                    node=node_id,
                )
            )
        if _has_errors(result, node_id):
            continue  # cross-property checks assume each property is of the right kind
        for check in node_spec.checks:
            for prop, message, hint in check(result.props[node_id], result.facts):
                result.issues.append(Issue("prop.check", message, hint, node=node_id, prop=prop))


def _check_agents(doc: GraphDocument, links: list[Link], result: Analysis) -> None:
    """Find each learning agent (a trainer, its network, the sensors, actions and rewards
    around them) and check that the scene has a body for each and that no two share one.

    A scene with room for several agents declares its bodies as the fact ``seats`` (the tank
    arena: ``("blue", "red")`` when a second agent drives the red tank); nodes name theirs in
    the property their spec calls ``seat``. A graph of one agent is checked as it always was.
    """
    trainers = [
        n.id for n in doc.nodes if n.id in result.specs and result.specs[n.id].category == "trainer"
    ]
    trainers = list(dict.fromkeys(trainers))
    if not trainers:
        return
    seats = tuple(str(s) for s in result.facts.get("seats", ()))
    room = max(1, len(seats))
    if len(trainers) > room:
        hint = "remove the extra trainer"
        if room == 1:
            hint = str(result.facts.get("seats_hint", "")) or hint
        where = (
            "a pipeline has one"
            if room == 1
            else f"the scene '{result.scene}' has room for {room} learning agents"
        )
        for extra in trainers[room:]:
            result.issues.append(
                Issue(
                    "graph.trainers",
                    f"the graph has {len(trainers)} trainers ({', '.join(trainers)}); {where}",
                    hint,
                    node=extra,
                )
            )
        return
    if len(trainers) > 1:
        result.trainer = trainers[0]
    forward: dict[str, list[Link]] = defaultdict(list)
    backward: dict[str, list[Link]] = defaultdict(list)
    for link in links:
        forward[link.src.node].append(link)
        backward[link.dst.node].append(link)
    order = {n.id: i for i, n in enumerate(doc.nodes)}

    def walk(start: list[Link], ahead: bool) -> tuple[str, ...]:
        """Nodes reached along ``start`` and on, never through the scene or a trainer, nor
        along a network's own link (a network is a trainer's to train, not a value)."""
        found: set[str] = set()
        pending = list(start)
        while pending:
            link = pending.pop()
            node = link.dst.node if ahead else link.src.node
            spec = result.specs.get(node)
            if node in found or spec is None or spec.category in ("scene", "trainer"):
                continue
            found.add(node)
            onward = forward[node] if ahead else backward[node]
            pending.extend(lk for lk in onward if not _carries_network(result, lk))
        return tuple(sorted(found, key=order.__getitem__))

    def seat_of(node: str) -> str:
        spec = result.specs[node]
        if spec.seat is not None:
            return str(result.props[node].get(spec.seat, ""))
        return seats[0] if seats else ""

    owners: dict[str, list[str]] = defaultdict(list)  # network -> the trainers training it
    for trainer in trainers:
        sources = [lk for lk in backward[trainer] if lk.dst.port == "network"]
        if not sources:
            continue  # reported as an unlinked input already
        network = sources[0].src.node
        owners[network].append(trainer)
        if len(owners[network]) > 1:
            continue  # one agent per network: the second trainer is reported below
        outgoing = [lk for lk in forward[network] if not _carries_network(result, lk)]
        actions = walk(outgoing, ahead=True)
        incoming = [lk for lk in backward[network] if not _carries_network(result, lk)]
        result.agents.append(
            AgentParts(
                trainer=trainer,
                network=network,
                sensors=walk(incoming, ahead=False),
                actions=actions,
                rewards=walk([lk for lk in backward[trainer] if lk.dst.port == "reward"], False),
                seats=tuple(
                    dict.fromkeys(
                        seat_of(a) for a in actions if result.specs[a].category == "action"
                    )
                ),
            )
        )
    if seats:
        _check_seats(result, seats, seat_of)
    if len(trainers) > 1:
        _check_shared(result, owners, forward)


def _body(result: Analysis) -> str:
    """What the scene calls the bodies its agents drive (the tank arena: 'tank')."""
    return str(result.facts.get("seat_word", "body"))


def _carries_network(result: Analysis, link: Link) -> bool:
    return _port(result, link.src.node, link.src.port, "out").port_type.kind == "Network"


def _check_seats(result: Analysis, seats: tuple[str, ...], seat_of: Callable[[str], str]) -> None:
    """Each agent drives bodies the scene offers the graph, no two the same one, none idle."""
    claimed: dict[str, str] = {}
    for agent in result.agents:
        for action in agent.actions:
            if result.specs[action].category != "action":
                continue
            seat, spec = seat_of(action), result.specs[action]
            if seat not in seats:
                result.issues.append(
                    Issue(
                        "agent.seat_unavailable",
                        f"it drives the {seat} {_body(result)} of the scene "
                        f"'{result.scene}', which offers the graph's agents only "
                        f"{', '.join(seats)}",
                        str(result.facts.get("seats_hint", ""))
                        or f"set its '{spec.seat}' to one of {', '.join(seats)}",
                        node=action,
                        prop=spec.seat,
                    )
                )
            elif claimed.setdefault(seat, agent.trainer) != agent.trainer:
                result.issues.append(
                    Issue(
                        "agent.seat_taken",
                        f"it drives the {seat} {_body(result)} for the agent trained by "
                        f"'{agent.trainer}', which the agent trained by '{claimed[seat]}' "
                        "drives already",
                        f"give each agent's actions a {_body(result)} of its own (its "
                        f"'{spec.seat}')",
                        node=action,
                        prop=spec.seat,
                    )
                )
    idle = [seat for seat in seats if seat not in claimed]
    if idle and result.agents and not any(i.code == "agent.seat_taken" for i in result.issues):
        result.issues.append(
            Issue(
                "agent.seat_idle",
                f"the scene's {', '.join(idle)} {_body(result)} is left to the graph's "
                "agents, and no agent's actions drive it",
                "add an agent (an NN Factory, its actions, rewards and a trainer) for it, or "
                "let the scene drive it (for the tank arena: a scripted opponent)",
                node=result.scene,
            )
        )


def _check_shared(
    result: Analysis, owners: dict[str, list[str]], forward: dict[str, list[Link]]
) -> None:
    """With several agents: no network, action or value node serves two of them, every agent
    drives the scene, and what drives the scene belongs to an agent; sensors and rewards of
    another agent's body are worth a warning."""
    for network, trainers in owners.items():
        if len(trainers) > 1:
            result.issues.append(
                Issue(
                    "agent.shared_network",
                    f"its network is trained by {len(trainers)} trainers "
                    f"({', '.join(trainers)}); each agent trains a network of its own",
                    "give each trainer its own NN Factory",
                    node=network,
                )
            )
    driven_by: dict[str, list[str]] = defaultdict(list)
    for agent in result.agents:
        for node in agent.actions:
            driven_by[node].append(agent.network)
        if not any(lk.dst.node == result.scene for node in agent.actions for lk in forward[node]):
            result.issues.append(
                Issue(
                    "agent.no_action",
                    f"the answer of the network '{agent.network}' (trained by "
                    f"'{agent.trainer}') reaches no action that drives the scene",
                    "link its 'action' into an action node whose command goes into the "
                    "scene's 'actuators'",
                    node=agent.network,
                )
            )
    for node, networks in driven_by.items():
        if len(networks) > 1:
            result.issues.append(
                Issue(
                    "agent.shared_action",
                    f"it carries the answers of {len(networks)} networks "
                    f"({', '.join(networks)}); each agent drives through actions of its own",
                    "give each network its own action nodes",
                    node=node,
                )
            )
    if result.scene is not None:
        for agent_less in sorted(
            {
                lk.src.node
                for links in forward.values()
                for lk in links
                if lk.dst.node == result.scene and lk.src.node not in driven_by
            }
        ):
            result.issues.append(
                Issue(
                    "agent.no_trainer",
                    "it drives the scene, but no trainer trains the network it follows",
                    "link that network's 'network' into a trainer, or remove this node",
                    node=agent_less,
                )
            )
    for agent in result.agents:
        if len(agent.seats) != 1:
            continue
        for node in (*agent.sensors, *agent.rewards):
            spec = result.specs[node]
            if spec.seat is None:
                continue
            seat = str(result.props[node].get(spec.seat, ""))
            if seat != agent.seats[0]:
                result.issues.append(
                    Issue(
                        "agent.other_seat",
                        f"it reads the {seat} {_body(result)} for the agent trained by "
                        f"'{agent.trainer}', which drives the {agent.seats[0]} {_body(result)}",
                        f"set its '{spec.seat}' to {agent.seats[0]} unless that is meant",
                        severity="warning",
                        node=node,
                        prop=spec.seat,
                    )
                )


def _fixed_shape(result: Analysis, node_id: str, port: PortSpec) -> tuple[int, ...] | None:
    """The shape a port's spec fixes, from its rule or its declared type, if any."""
    if port.shape is not None:
        spec = result.specs[node_id]
        if _has_errors(result, node_id) or any(
            not result.facts.get(f) for f in spec.requires_facts
        ):
            return None
        if result.scene is None:
            return None
        try:
            shape = tuple(int(d) for d in port.shape(result.props[node_id], result.facts))
        except (KeyError, TypeError, ValueError, IndexError):
            return None
        return shape if shape and all(d > 0 for d in shape) else None
    declared = port.port_type.shape
    if declared and all(d is not None for d in declared):
        return tuple(d for d in declared if d is not None)
    return None


def _infer_shapes(doc: GraphDocument, links: list[Link], result: Analysis) -> None:
    """Propagate Vector sizes along links until nothing changes; report mismatches."""
    outputs: dict[PortKey, tuple[int, ...]] = {}
    fixed_inputs: dict[PortKey, tuple[int, ...]] = {}
    for node_id, spec in result.specs.items():
        for port in spec.outputs:
            shape = _fixed_shape(result, node_id, port)
            if shape is not None:
                outputs[(node_id, port.name)] = shape
        for port in spec.inputs:
            shape = _fixed_shape(result, node_id, port)
            if shape is not None:
                fixed_inputs[(node_id, port.name)] = shape
    arriving: dict[PortKey, list[Link]] = defaultdict(list)
    for link in links:
        arriving[(link.dst.node, link.dst.port)].append(link)
    vector_inputs = {
        key: group
        for key, group in arriving.items()
        if _port(result, key[0], key[1], "in").port_type.kind == "Vector"
    }
    changed = True
    while changed:
        changed = False
        for key, group in vector_inputs.items():
            fixed = fixed_inputs.get(key)
            unknown = [lk for lk in group if (lk.src.node, lk.src.port) not in outputs]
            if fixed is not None and len(unknown) == 1:
                known = sum(
                    outputs[(lk.src.node, lk.src.port)][0] for lk in group if lk not in unknown
                )
                if fixed[0] - known > 0:
                    outputs[(unknown[0].src.node, unknown[0].src.port)] = (fixed[0] - known,)
                    changed = True
    reported: set[PortKey] = set()
    for key, group in vector_inputs.items():
        sizes = [outputs.get((lk.src.node, lk.src.port)) for lk in group]
        total = sum(s[0] for s in sizes if s is not None)
        fixed = fixed_inputs.get(key)
        overfull = fixed is not None and total >= fixed[0] and None in sizes
        if None in sizes and not overfull:
            continue
        if fixed is not None and (fixed[0] != total or overfull):
            parts = ", ".join(
                f"{lk.src} ({'?' if s is None else s[0]})"
                for lk, s in zip(group, sizes, strict=True)
            )
            for lk, s in zip(group, sizes, strict=True):
                if s is None:
                    reported.add((lk.src.node, lk.src.port))
            result.issues.append(
                Issue(
                    "size.mismatch",
                    f"input '{key[1]}' needs {fixed[0]} values but its links bring "
                    f"{total}{' and more' if overfull else ''}: {parts}",
                    f"link outputs whose sizes add up to {fixed[0]}",
                    node=key[0],
                    port=key[1],
                )
            )
            reported.add(key)
            continue
        result.inputs[key] = (total,)
    for key, shape in fixed_inputs.items():
        if key not in reported:
            result.inputs.setdefault(key, shape)
    for key, group in arriving.items():
        if key in vector_inputs:
            continue
        source = outputs.get((group[0].src.node, group[0].src.port))
        if source is not None:
            result.inputs.setdefault(key, source)
    result.outputs = outputs
    for link in links:
        key = (link.src.node, link.src.port)
        port = _port(result, key[0], key[1], "out")
        if port.port_type.kind == "Vector" and key not in outputs and key not in reported:
            if (
                result.scene is None
                or not result.facts
                or _has_errors(result, key[0])
                or any(_has_errors(result, lk.dst.node) for lk in links if lk.src == link.src)
            ):
                continue  # a knock-on effect of a problem already reported (here or downstream)
            reported.add(key)
            result.issues.append(
                Issue(
                    "size.unresolved",
                    f"the size of output '{key[1]}' cannot be worked out from its links",
                    "link it into an input whose size is known (for example an action's 'values')",
                    node=key[0],
                    port=key[1],
                )
            )
