"""The tank web page: its network, camera, physics, keys and handicap agree with torch's.

One headless Chromium run per network (tests/chromium.py): the page's ``#selftest=`` hook
computes every case and writes the results into the DOM. The reference is the code the editor
runs: the graph's pipeline, the camera and status nodes, and play mode's ``Duel`` and
``Handicap``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from atrap_studio.cli.main import main
from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes.scenes.tanks.arena import TankArena
from atrap_studio.nodes.scenes.tanks.nodes import (
    Camera,
    Controls,
    Hearing,
    Status,
    TankArenaScene,
)
from atrap_studio.nodes.scenes.tanks.play import MAX_DELAY, MAX_LAPSES, Duel, Handicap
from atrap_studio.nodes.scenes.tanks.webpage import write_tank_page
from atrap_studio.runtime.netfile import LoadedNetwork, PortMeaning, save_network
from atrap_studio.runtime.pipeline import Pipeline
from tests.chromium import needs_chromium, selftest

RAYS, FOV_DEG = 24, 100.0
#: The play window's keys (atrap_studio/ui/tank_play.py) by their web names: (drive, turn).
KEYS = {"ArrowUp": (1.0, 0.0), "ArrowDown": (-1.0, 0.0), "ArrowLeft": (0.0, 1.0)}
KEYS |= {"ArrowRight": (0.0, -1.0), "KeyW": (1.0, 0.0), "KeyD": (0.0, -1.0)}
#: The person fires at the network's tank, drives on, turns left and back, and waits.
SCRIPT = [["Space"], [], ["ArrowUp"], ["KeyW"], ["ArrowLeft"], ["KeyD"], [], []]
DIFFICULTIES = (0.0, 0.5, 0.8, 1.0)
EAR = {"memory_steps": 6, "range_m": 9.0}
NEVER = 1 << 30  # the age of a shot never fired


@dataclasses.dataclass
class Played:
    """A page run in Chromium and the torch reference for the same cases."""

    page: Path
    network: LoadedNetwork
    props: dict[str, Any]
    cases: dict[str, Any]
    result: dict[str, Any]
    duel: list[dict[str, Any]]


def _graph(controls: str, *, hearing: bool = False, map_name: str = "pillars") -> GraphDocument:
    doc = load_graph(example_path("tanks_camera_ppo"))
    arena = doc.node("arena")
    arena.props.update(instances=1, controls=controls, map=map_name)  # type: ignore[union-attr]
    doc.node("eye").props.update(rays=RAYS, fov_deg=FOV_DEG)  # type: ignore[union-attr]
    doc.node("drive").props["difficulty"] = 0.7  # type: ignore[union-attr]
    if hearing:
        doc.nodes.append(NodeDoc(id="ear", type="sensor.hearing", props=EAR))
        doc.links += [Link.model_validate(["arena.scene", "ear.scene"])]
        doc.links += [Link.model_validate(["ear.value", "brain.state"])]
    return doc


def _state(
    position: list[list[float]],
    heading: list[float],
    pillars: list[list[float]],
    **more: Any,
) -> dict[str, Any]:
    """An arena as the page takes it (the names and units of arena.py's tensors)."""
    state = {
        "pillars": pillars + [[0.0, 0.0, 0.0]] * (6 - len(pillars)),
        "position": position,
        "heading": heading,
        "health": [3, 3],
        "reload": [0, 0],
        "shell": [[0.0, 0.0], [0.0, 0.0]],
        "shell_heading": [0.0, 0.0],
        "shell_alive": [False, False],
        "shot_at": [[0.0, 0.0], [0.0, 0.0]],
        "shot_age": [NEVER, NEVER],
        "t": 0,
    }
    return state | more


def _arenas() -> list[dict[str, Any]]:
    """A pillar between the tanks, none, a shell in flight, a dead enemy; then random ones."""
    line = [[-4.0, 0.0], [4.0, 0.0]]
    cases = [
        _state(line, [0.0, math.pi], [[0.0, 0.0, 0.9]]),
        _state(
            line,
            [0.0, math.pi],
            [[0.0, 3.0, 0.9]],
            reload=[3, 0],
            shot_at=[[0.0, 0.0], [4.0, 0.0]],
            shot_age=[NEVER, 2],
        ),
        _state(
            line,
            [0.0, math.pi],
            [],
            shell=[[0.0, 0.0], [1.0, 0.0]],
            shell_alive=[True, True],
            shell_heading=[0.0, math.pi],
        ),
        _state(line, [0.0, math.pi], [], health=[2, 0]),
    ]
    generator = torch.Generator().manual_seed(5)

    def uniform(*shape: int, scale: float = 1.0) -> list[Any]:
        values: list[Any] = ((torch.rand(shape, generator=generator) * 2 - 1) * scale).tolist()
        return values

    for _ in range(12):
        (ax, ay), (ex, ey) = uniform(2, 2, scale=7.5)
        towards = math.atan2(ey - ay, ex - ax)  # roughly: the enemy is often in view
        along = 0.2 + 0.6 * float(torch.rand(1, generator=generator))
        pillars = [[*uniform(2, scale=6.0), 0.3 + float(torch.rand(1, generator=generator))]]
        pillars += [[*uniform(2, scale=6.0), 0.0]]  # an empty slot
        cases.append(
            _state(
                [[ax, ay], [ex, ey]],
                [towards + uniform(1, scale=1.0)[0], *uniform(1, scale=math.pi)],
                pillars + [[*uniform(2, scale=6.0), 0.9] for _ in range(3)],
                shell=[uniform(2, scale=7.0), [ax + along * (ex - ax), ay + along * (ey - ay)]],
                shell_heading=uniform(2, scale=math.pi),
                shell_alive=(torch.rand(2, generator=generator) < 0.7).tolist(),
                health=torch.randint(0, 4, (2,), generator=generator).tolist(),
                reload=torch.randint(0, 3, (2,), generator=generator).tolist(),
                shot_at=uniform(2, 2, scale=7.5),
                shot_age=[NEVER, int(torch.randint(0, 8, (1,), generator=generator))],
            )
        )
    return cases


def _load(arena: TankArena, states: list[dict[str, Any]]) -> None:
    """Put ``states`` into the arena's tensors, one arena each."""
    for name in ("pillars", "position", "heading", "shell", "shell_heading", "shot_at"):
        setattr(arena, name, torch.tensor([s[name] for s in states], dtype=torch.float32))
    for name in ("health", "reload", "shot_age", "t"):
        setattr(arena, name, torch.tensor([s[name] for s in states], dtype=torch.int64))
    arena.shell_alive = torch.tensor([s["shell_alive"] for s in states])


def _torch_view(arena: TankArena) -> dict[str, Any]:
    return {
        "position": arena.position[0].tolist(),
        "heading": arena.heading[0].tolist(),
        "health": arena.health[0].tolist(),
        "reload": arena.reload[0].tolist(),
        "shell": arena.shell[0].tolist(),
        "shell_alive": arena.shell_alive[0].tolist(),
        "shot_at": arena.shot_at[0].tolist(),
        "shot_age": arena.shot_age[0].tolist(),
    }


def _play(controls: str, registry: Registry, folder: Path) -> Played:
    """A seeded network of the example graph (its last layer scaled up, so that its outputs
    and choices are not all near zero), its page, and the same fight played in a Duel."""
    # the discrete network also hears; the continuous one fights on random maps
    discrete = controls == "discrete"
    doc = _graph(controls, hearing=discrete, map_name="pillars" if discrete else "random")
    pipeline = Pipeline(doc, registry, seed=3)
    module = pipeline.network
    assert isinstance(module, torch.nn.Sequential)
    with torch.no_grad():
        last = [layer for layer in module if isinstance(layer, torch.nn.Linear)][-1]
        last.weight.mul_(60.0)
    network = LoadedNetwork(module, pipeline.manifest())
    props = pipeline.analysis.props["arena"]
    page = folder / f"{controls}.html"
    write_tank_page(page, network, props)

    generator = torch.Generator().manual_seed(11)
    inputs = network.manifest.architecture.inputs
    seen = torch.rand(16, inputs, generator=generator)
    seen[:, RAYS:] = (seen[:, RAYS:] < 0.2).to(seen.dtype)  # enemy and shell flags are 0 or 1
    wild = torch.randn(8, inputs, generator=generator) * 3
    # six decimals: short enough for the page's address, and exactly what torch gets too
    observations = torch.cat([seen, wild]).double().round(decimals=6).float()
    width = network.manifest.architecture.outputs
    # the network's tank 0 faces away from the person's, 2.5 m ahead on its line of fire: too
    # near to get out of the way of a shell (which hits in its second step) whatever it does
    start = _state([[1.0, 0.0], [-1.5, 0.0]], [0.0, 0.0], [[0.0, 4.0, 0.9], [-5.0, -5.0, 0.6]])
    cases = {
        "observations": observations.double().round(decimals=6).tolist(),
        "arenas": _arenas(),
        "play": {"state": start, "difficulty": 1.0, "keys": SCRIPT},
        "handicap": [
            {"difficulty": d, "seed": i, "steps": 300, "width": width}
            for i, d in enumerate(DIFFICULTIES)
        ],
        "restarts": 30,
    }
    result = selftest(page, folder, cases)

    duel = Duel(doc, module.state_dict(), difficulty=1.0)
    _load(duel.arena, [start])
    frames = []
    for keys in SCRIPT:
        moves = [KEYS[key] for key in keys if key in KEYS]
        drive = max(-1.0, min(1.0, sum(m[0] for m in moves)))
        turn = max(-1.0, min(1.0, sum(m[1] for m in moves)))
        duel.step(drive, turn, "Space" in keys)
        frames.append(_torch_view(duel.arena))
    return Played(page, network, props, cases, result, frames)


@pytest.fixture(scope="module")
def discrete(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Played:
    return _play("discrete", registry, tmp_path_factory.mktemp("discrete"))


@pytest.fixture(scope="module")
def continuous(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Played:
    return _play("continuous", registry, tmp_path_factory.mktemp("continuous"))


def _close(page: Any, expected: Any, what: str, atol: float = 1e-5) -> None:
    torch.testing.assert_close(
        torch.as_tensor(page, dtype=torch.float64),
        torch.as_tensor(expected).detach().to(torch.float64),
        atol=atol,
        rtol=0.0,
        msg=lambda m: f"{what}: {m}",
    )


@needs_chromium
@pytest.mark.parametrize("kind", ["discrete", "continuous"])
def test_the_page_network_chooses_what_torch_chooses(
    kind: str, request: pytest.FixtureRequest
) -> None:
    played: Played = request.getfixturevalue(kind)
    observations = torch.tensor(played.cases["observations"])
    with torch.no_grad():
        values = played.network.module(observations)
        command = Controls(SimpleNamespace(props={})).forward({"values": values})["command"]
        exact = torch.tensor(played.cases["observations"], dtype=torch.float64)
        double = copy.deepcopy(played.network.module).double()(exact)
    _close(played.result["policy"], values, "network outputs")
    _close(played.result["policy"], double, "the same in float64", atol=1e-10)
    _close(played.result["controls"], command.values, "drive, turn, fire")
    assert values.abs().max() > 0.5, "outputs this small would hide mistakes"
    if kind == "discrete":  # several different moves are chosen, not one for all
        assert len({tuple(move) for move in played.result["controls"]}) >= 3


@needs_chromium
def test_the_page_camera_sees_what_the_camera_node_sees(discrete: Played) -> None:
    states = discrete.cases["arenas"]
    arena = TankArena(instances=len(states), generator=torch.Generator().manual_seed(0))
    _load(arena, states)
    eye = Camera(SimpleNamespace(props={"rays": RAYS, "fov_deg": FOV_DEG}))
    with torch.no_grad():
        expected = torch.cat(
            [
                eye.forward({"scene": arena})["value"],
                Status(SimpleNamespace(props={})).forward({"scene": arena})["value"],
                Hearing(SimpleNamespace(props=EAR)).forward({"scene": arena})["value"],
            ],
            dim=-1,
        )
    page = torch.tensor(discrete.result["observe"])
    _close(page, expected, "camera and status values")
    middle = RAYS // 2
    enemy, shell = page[:, RAYS : 2 * RAYS], page[:, 2 * RAYS : 3 * RAYS]
    assert enemy[0].sum() == 0, "the pillar between hides the enemy"
    assert enemy[1, middle] == 1 and enemy[1].sum() >= 2, "in plain sight it is seen"
    assert shell[2, middle - 1 : middle + 1].tolist() == [1, 1], "its shell on the way is seen"
    assert shell[:2].sum() == 0 and shell[3].sum() == 0
    status, ear = page[:, 3 * RAYS : 3 * RAYS + 2], page[:, -3:]
    assert enemy[3].sum() == 0 and status[3].tolist() == pytest.approx([2 / 3, 1.0])
    assert status[1, 1] == 0, "reloading: not loaded"
    assert ear[1].tolist() == pytest.approx([1 - 2 / 6, 1.0, 0.0], abs=1e-6), "a shot ahead"
    assert ear[0].tolist() == [0, 0, 0] and ear[4:, 0].max() > 0
    assert enemy[4:].sum() > 0 and shell[4:].sum() > 0, "the random arenas see both at times"


@needs_chromium
@pytest.mark.parametrize("kind", ["discrete", "continuous"])
def test_keys_drive_the_person_tank_and_its_shell_hits(
    kind: str, request: pytest.FixtureRequest
) -> None:
    played: Played = request.getfixturevalue(kind)
    frames = played.result["play"]
    for step, (page, duel) in enumerate(zip(frames, played.duel, strict=True)):
        for name in ("position", "health", "reload", "shell_alive", "shot_at", "shot_age"):
            _close(page[name], duel[name], f"step {step}: {name}", atol=1e-4)
        turned = torch.tensor(page["heading"], dtype=torch.float64) - torch.tensor(duel["heading"])
        _close(torch.remainder(turned + math.pi, 2 * math.pi) - math.pi, [0, 0], f"{step}: heading")
        for tank in (0, 1):
            if duel["shell_alive"][tank]:
                _close(page["shell"][tank], duel["shell"][tank], f"step {step}: shell", atol=1e-4)
    assert frames[0]["shell_alive"][1] and frames[0]["shot_age"][1] == 0, "Space fired"
    hit = [step for step, frame in enumerate(frames) if frame["hits"][0]]
    assert hit and hit[0] <= 1 and frames[1]["health"][0] == 2, "the shell hit the network"
    # two steps forward at 3 m/s, then a turn left and back: the person's tank moved 0.6 m
    moved = frames[3]["position"][1][0] - frames[1]["position"][1][0]
    assert moved == pytest.approx(0.6, abs=1e-9)
    assert frames[4]["heading"][1] == pytest.approx(math.radians(12.0))
    assert frames[5]["heading"][1] == pytest.approx(0.0, abs=1e-12)


def _weakened(outputs: list[list[float]], values: list[list[float]]) -> tuple[int, float]:
    """(steps before the first move, share of random moves) of a handicap's discrete outputs."""
    waiting = [-1.0] * len(values[0])
    delay = next(i for i, out in enumerate(outputs) if out != waiting)
    lapses = 0
    for step in range(delay, len(outputs)):
        out = outputs[step]
        if out != pytest.approx(values[step - delay], abs=1e-6):
            assert sorted(out) == [-1.0] * (len(out) - 1) + [1.0], f"step {step}: {out}"
            lapses += 1
    return delay, lapses / (len(outputs) - delay)


@needs_chromium
def test_the_difficulty_weakens_the_page_network_as_play_mode_does(discrete: Played) -> None:
    for run, page in zip(discrete.cases["handicap"], discrete.result["handicap"], strict=True):
        weakness = (1.0 - run["difficulty"]) ** 2
        handicap = Handicap(run["difficulty"], torch.Generator().manual_seed(run["seed"]))
        values = page["values"]
        reference = [handicap(torch.tensor([v], dtype=torch.float64))[0].tolist() for v in values]
        for made in (page["outputs"], reference):
            delay, share = _weakened(made, values)
            assert delay == round(MAX_DELAY * weakness), run["difficulty"]
            assert share == pytest.approx(MAX_LAPSES * weakness, abs=0.09), run["difficulty"]
    data = _page_data(discrete.page)
    assert data["action"]["difficulty"] == 0.7, "the slider starts at the action's difficulty"


@needs_chromium
def test_continuous_aim_wobbles_and_waits_as_play_mode_does(continuous: Played) -> None:
    page = continuous.result["handicap"][0]  # at difficulty 0
    outputs, values = page["outputs"], page["values"]
    assert outputs[:MAX_DELAY] == [[0.0, 0.0, -1.0]] * MAX_DELAY
    kept = [
        (out, values[step - MAX_DELAY])
        for step, out in enumerate(outputs)
        if step >= MAX_DELAY and out[0] == values[step - MAX_DELAY][0]
    ]
    assert all(out[2] == value[2] for out, value in kept)
    wobble = torch.tensor([out[1] - value[1] for out, value in kept])
    assert len(kept) / (len(outputs) - MAX_DELAY) == pytest.approx(1 - MAX_LAPSES, abs=0.09)
    assert float(wobble.std()) == pytest.approx(math.sqrt(0.5), rel=0.2)


@needs_chromium
@needs_chromium
@pytest.mark.parametrize("kind", ["discrete", "continuous"])
def test_new_fights_start_as_the_arena_starts_them(
    kind: str, request: pytest.FixtureRequest
) -> None:
    played: Played = request.getfixturevalue(kind)
    data = _page_data(played.page)
    rules = data["rules"]
    scene = TankArenaScene(SimpleNamespace(props=played.props)).create(torch.Generator())
    assert rules == dataclasses.asdict(scene.rules), "the page's rules are the scene's"
    fights = played.result["restarts"]
    limit = rules["half"] - rules["tank_radius"]
    gaps = []
    for fight in fights:
        if played.props["map"] == "pillars":  # the map's own four
            assert fight["pillars"] == data["arena"]["pillars"] == scene.pillars[0].tolist()
        else:  # six of random size and place, new for every fight (arena.py map_pillars)
            pillars = torch.tensor(fight["pillars"])
            assert pillars.shape == (6, 3) and pillars[:, :2].abs().max() <= rules["half"] - 2
            assert pillars[:, 2].min() >= 0.4 and pillars[:, 2].max() <= 1.0
            assert fight["pillars"] != fights[0]["pillars"] or fight is fights[0]
        assert all(abs(v) <= limit for tank in fight["position"] for v in tank)
        assert fight["health"] == [3, 3] and fight["t"] == 0 and not any(fight["shell_alive"])
        (ax, ay), (bx, by) = fight["position"]
        gaps.append(math.hypot(ax - bx, ay - by))
    assert min(gaps) >= 2 * rules["tank_radius"] - 1e-9
    assert sorted(gaps)[len(gaps) // 2] >= 0.66 * rules["half"] - 1e-9
    assert played.result["colours"] > 20, "the arena is drawn"


def _page_data(page: Path) -> dict[str, Any]:
    found = re.search(
        r'<script id="atrap-data" type="application/json">(.*?)</script>', page.read_text()
    )
    assert found
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_what_the_page_cannot_run_is_refused_with_the_reason(
    registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = Pipeline(_graph("discrete"), registry, seed=0)
    network = LoadedNetwork(pipeline.network, pipeline.manifest())
    props = pipeline.analysis.props["arena"]
    page = tmp_path / "page.html"
    manifest = network.manifest
    eye, status = manifest.inputs

    def variant(**update: Any) -> LoadedNetwork:
        return LoadedNetwork(network.module, manifest.model_copy(update=update))

    joints = PortMeaning(node="q", type="sensor.joint_angles", size=eye.size)
    with pytest.raises(ValueError, match=r"input 'q' of type 'sensor\.joint_angles'"):
        write_tank_page(page, variant(inputs=[joints, status]), props)
    narrow = eye.model_copy(update={"props": {"rays": 20, "fov_deg": 90.0}})
    with pytest.raises(ValueError, match=r"input 'eye' .* size 72, but its properties give 60"):
        write_tank_page(page, variant(inputs=[narrow, status]), props)
    deaf = PortMeaning(node="ear", type="sensor.hearing", size=3, props={"memory_steps": 0})
    with pytest.raises(ValueError, match=r"input 'ear': memory_steps must be a whole number"):
        write_tank_page(page, variant(inputs=[eye, deaf]), props)
    arm = manifest.outputs[0].model_copy(update={"type": "action.joint_targets"})
    with pytest.raises(ValueError, match=r"output 'drive' of type 'action\.joint_targets'"):
        write_tank_page(page, variant(outputs=[arm]), props)
    convolution = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 3), torch.nn.Flatten())
    with pytest.raises(ValueError, match=r"layer 0 \(Conv1d\) is not one the web page can run"):
        write_tank_page(page, LoadedNetwork(convolution, manifest), props)
    assert not page.exists()

    # through `atrap export`: a tank network's page is written; a damaged scene is refused
    source = tmp_path / "tank.atrapnet"
    save_network(source, network.module, manifest)
    assert main(["export", str(source), "--html", str(page)]) == 0
    text = page.read_text()
    assert "<canvas" in text and "<title>Tanks learn to fight from one camera — ATRAP tank" in text
    assert _page_data(page)["inputs"][0] == {
        "node": "eye",
        "type": "sensor.camera",
        "rays": RAYS,
        "fov": pytest.approx(math.radians(FOV_DEG)),
    }
    scene = manifest.provenance.scene
    assert scene is not None
    odd = scene.model_copy(update={"props": scene.props | {"map": "maze"}})
    broken = tmp_path / "broken.atrapnet"
    provenance = manifest.provenance.model_copy(update={"scene": odd})
    save_network(broken, network.module, manifest.model_copy(update={"provenance": provenance}))
    never = tmp_path / "never.html"
    capsys.readouterr()
    assert main(["export", str(broken), "--html", str(never)]) == 1
    assert "the scene's property 'map'" in capsys.readouterr().err
    assert not never.exists()
