"""The policy web page: its JavaScript network, kinematics, sensors and action agree with torch.

The page is run in headless Chromium (tests/chromium.py): its ``#selftest=`` hook writes what it
computes for given joint angles and targets into the DOM.
"""

from __future__ import annotations

import copy
import html
import json
import re
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from PySide6 import QtGui

from atrap_studio.ik.chain import ArmChain, ArmGeometry
from atrap_studio.ik.rotations import from_quaternion
from atrap_studio.nodes.impl.actions import JointDeltas, JointTargets
from atrap_studio.nodes.impl.sensors import (
    DistanceToTarget,
    EffectorOrientation,
    EffectorPosition,
    JointAngles,
    JointPull,
    OrientationToTarget,
    TargetOrientation,
    TargetPosition,
)
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.netfile import LoadedNetwork, NetManifest, PortMeaning
from atrap_studio.runtime.netjson import network_to_json
from atrap_studio.runtime.networks import (
    Architecture,
    Layer,
    LayerKind,
    Normalize,
    build_module,
    mlp,
)
from atrap_studio.runtime.webpage import write_policy_page
from tests.chromium import needs_chromium, run_chromium, selftest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

SENSORS: dict[str, Any] = {
    "sensor.joint_angles": JointAngles,
    "sensor.target_position": TargetPosition,
    "sensor.effector_position": EffectorPosition,
    "sensor.distance_to_target": DistanceToTarget,
    "sensor.effector_orientation": EffectorOrientation,
    "sensor.target_orientation": TargetOrientation,
    "sensor.orientation_to_target": OrientationToTarget,
    "sensor.joint_pull": JointPull,
}
ACTIONS: dict[str, Any] = {"action.joint_targets": JointTargets, "action.joint_deltas": JointDeltas}


@dataclass(frozen=True)
class Case:
    geometry: ArmGeometry
    architecture: Architecture
    inputs: list[PortMeaning]
    action: PortMeaning


def _port(node: str, kind: str, size: int, **props: Any) -> PortMeaning:
    return PortMeaning(node=node, type=kind, size=size, props=props)


def _layers(*spec: tuple[LayerKind, int | None, int | None]) -> list[Layer]:
    return [Layer(kind=k, in_features=i, out_features=o) for k, i, o in spec]


CASES = {
    # gelu's tails need an accurate erf; radians in, absolute joint targets out
    "gelu-radians-targets": Case(
        ArmGeometry.from_props(4, ("z", "y", "x", "y"), (0.3, 0.4, 0.3, 0.2), (170, 120, 100, 90)),
        mlp(10, [24, 24], 4, activation="gelu", output_activation="tanh"),
        [
            _port("q", "sensor.joint_angles", 4, encoding="radians"),
            _port("goal", "sensor.target_position", 3),
            _port("gap", "sensor.distance_to_target", 3, mode="vector"),
        ],
        _port("move", "action.joint_targets", 4, range=0.8),
    ),
    # layer norm, silu and elu; quaternions in, joint steps out, no output squashing
    "layernorm-silu-quaternion-deltas": Case(
        ArmGeometry.industrial(6),
        Architecture(
            inputs=31,
            outputs=6,
            layers=_layers(
                ("linear", 31, 32),
                ("layernorm", 32, None),
                ("silu", None, None),
                ("linear", 32, 32),
                ("elu", None, None),
                ("linear", 32, 6),
            ),
        ),
        [
            _port("q", "sensor.joint_angles", 24, encoding="quaternion"),
            _port("tip", "sensor.effector_position", 3),
            _port("goal", "sensor.target_position", 3),
            _port("far", "sensor.distance_to_target", 1, mode="length"),
        ],
        _port("turn", "action.joint_deltas", 6, max_step_deg=15.0, fine_within_mm=0.0),
    ),
    # learned input statistics; the tip-to-target direction and log length, each joint's pull;
    # joint turns that shrink near the target (the targets below lie 0.5-2.6 m from the tip:
    # both sides of 1.5 m)
    "normalize-direction-loglength-pull-fine": Case(
        ArmGeometry.industrial(6),
        mlp(16, [32, 32], 6, activation="tanh", output_activation="tanh", normalize_inputs=True),
        [
            _port("q", "sensor.joint_angles", 6, encoding="radians"),
            _port("way", "sensor.distance_to_target", 3, mode="direction"),
            _port("far", "sensor.distance_to_target", 1, mode="log_length"),
            _port("pull", "sensor.joint_pull", 6),
        ],
        _port("turn", "action.joint_deltas", 6, max_step_deg=20.0, fine_within_mm=1500.0),
    ),
    # asymmetric limits; relu, leaky relu and sigmoid
    "relu-leaky-sigmoid": Case(
        ArmGeometry(
            axes=("z", "x", "y"),
            link_lengths=(0.2, 0.35, 0.25),
            limits=((-2.0, 1.0), (-0.5, 1.5), (-1.2, 0.3)),
        ),
        Architecture(
            inputs=6,
            outputs=3,
            layers=_layers(
                ("linear", 6, 16),
                ("relu", None, None),
                ("linear", 16, 16),
                ("leaky_relu", None, None),
                ("linear", 16, 16),
                ("sigmoid", None, None),
                ("linear", 16, 3),
                ("tanh", None, None),
            ),
        ),
        [
            _port("q", "sensor.joint_angles", 3, encoding="radians"),
            _port("gap", "sensor.distance_to_target", 3, mode="vector"),
        ],
        _port("move", "action.joint_targets", 3, range=1.0),
    ),
    # position and orientation: both encodings of an orientation, the turn left both ways
    "pose-6d-quaternion-turn": Case(
        ArmGeometry.industrial(6),
        mlp(23, [32, 32], 6, activation="silu", output_activation="tanh"),
        [
            _port("goal", "sensor.target_position", 3),
            _port("aim", "sensor.target_orientation", 6, encoding="rotation_6d"),
            _port("tip", "sensor.effector_orientation", 4, encoding="quaternion"),
            _port("left", "sensor.orientation_to_target", 3, mode="rotation_vector"),
            _port("angle", "sensor.orientation_to_target", 1, mode="angle"),
            _port("q", "sensor.joint_angles", 6, encoding="radians"),
        ],
        _port("move", "action.joint_targets", 6, range=1.0),
    ),
}


def _network(case: Case, graph_name: str = "reach test") -> LoadedNetwork:
    """Seeded random weights, the last layer scaled up and layer norms made non-trivial."""
    generator = torch.Generator().manual_seed(7)
    module = build_module(case.architecture, init="default", generator=generator)
    with torch.no_grad():
        for layer in module:
            if isinstance(layer, torch.nn.LayerNorm):
                layer.weight.copy_(1 + 0.3 * torch.randn(layer.weight.shape, generator=generator))
                layer.bias.copy_(0.2 * torch.randn(layer.bias.shape, generator=generator))
            if isinstance(layer, Normalize):  # statistics of some observations
                layer.observe(torch.randn(500, layer.mean.shape[0], generator=generator) * 3 + 1)
        last = [layer for layer in module if isinstance(layer, torch.nn.Linear)][-1]
        last.weight.mul_(4.0)
        last.bias.mul_(4.0)
    manifest = NetManifest(
        architecture=case.architecture,
        inputs=case.inputs,
        outputs=[case.action],
        training={"trainer": "trainer.direct", "steps": 100},
        provenance={"graph_name": graph_name},
    )
    return LoadedNetwork(module=module, manifest=manifest)


def _close(page: list[list[float]], expected: torch.Tensor, what: str, atol: float = 1e-5) -> None:
    torch.testing.assert_close(
        torch.tensor(page, dtype=torch.float64),
        expected.detach().to(torch.float64),
        atol=atol,
        rtol=atol / 10,
        msg=lambda m: f"{what}: {m}",
    )


@needs_chromium
@pytest.mark.parametrize("name", CASES)
def test_page_computes_what_torch_computes(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    network = _network(case)
    page = tmp_path / "page.html"
    write_policy_page(page, network, case.geometry)

    generator = torch.Generator().manual_seed(1)
    chain = ArmChain(case.geometry)
    q = torch.cat([chain.sample_q(14, generator), chain.lower[None] * 1.2, chain.upper[None] * 1.2])
    reach = case.geometry.reach
    target = (torch.rand(len(q), 3, generator=generator) * 2 - 1) * reach
    turn = from_quaternion(torch.randn(len(q), 4, generator=generator))
    turn[0] = chain.pose(q[:1])[1][0]  # one target turned as the tip is: no turn left
    raw = (torch.rand(32, case.architecture.inputs, generator=generator) * 2 - 1) * 8
    cases = {"q": q, "target": target, "turn": turn, "observations": raw}
    result = selftest(page, tmp_path, {key: value.tolist() for key, value in cases.items()})

    scene = ArmScene(case.geometry, instances=len(q), generator=torch.Generator().manual_seed(0))
    scene.q, scene.target, scene.target_rotation = q.clone(), target.clone(), turn.clone()
    scene.begin_step()  # no episode has ended: only forgets the cached effector
    with torch.no_grad():
        observation = torch.cat(
            [
                SENSORS[port.type](SimpleNamespace(props=port.props)).forward({"scene": scene})[
                    "value"
                ]
                for port in case.inputs
            ],
            dim=-1,
        )
        action = network.module(observation)
        command = ACTIONS[case.action.type](SimpleNamespace(props=case.action.props))
        scene.apply([command.forward({"values": action, "scene": scene})["command"]])
        _close(result["observations"], observation, "observations")
        _close(result["actions"], action, "actions")
        _close(result["effectors"], chain.effector(q), "effectors")
        _close(result["tips"], chain.pose(q)[1], "tip orientations")
        _close(result["next_q"], scene.q, "joint angles after one step")
        _close(result["policy"], network.module(raw), "network outputs for raw observations")
        # The page computes in float64: against torch in float64 it agrees to rounding, which a
        # rough erf (such as Abramowitz-Stegun 7.1.26, 1.5e-7) would not.
        double = copy.deepcopy(network.module).double()
        _close(result["policy"], double(raw.double()), "the same in float64", atol=1e-10)
    assert action.abs().max() > 0.1, "outputs this small would hide mistakes"


@needs_chromium
def test_page_draws_the_arm(tmp_path: Path) -> None:
    case = CASES["gelu-radians-targets"]
    page = tmp_path / "page.html"
    write_policy_page(page, _network(case), case.geometry)
    picture = tmp_path / "page.png"
    run_chromium(page.as_uri(), tmp_path, f"--screenshot={picture}", "--window-size=800,500")
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(picture, ARTIFACTS / "policy-page.png")
    assert _png_colours(picture.read_bytes()) > 20, "the page looks blank"


def test_unknown_sensor_or_action_is_refused(tmp_path: Path) -> None:
    geometry = ArmGeometry.industrial(3)
    page = tmp_path / "page.html"
    camera = Case(
        geometry,
        mlp(7, [8], 3),
        [_port("q", "sensor.joint_angles", 3), _port("eye", "sensor.camera", 4)],
        _port("move", "action.joint_targets", 3),
    )
    with pytest.raises(ValueError, match=r"'eye'.*'sensor\.camera'"):
        write_policy_page(page, _network(camera), geometry)
    gripper = Case(
        geometry,
        mlp(3, [8], 3),
        [_port("q", "sensor.joint_angles", 3)],
        _port("g", "action.grip", 3),
    )
    with pytest.raises(ValueError, match=r"'action\.grip'"):
        write_policy_page(page, _network(gripper), geometry)
    wrong_arm = ArmGeometry.industrial(4)  # the network was made for three joints
    with pytest.raises(ValueError, match="size 3"):
        write_policy_page(page, _network(CASES["relu-leaky-sigmoid"]), wrong_arm)
    assert not page.exists()


def test_page_is_self_contained_and_keeps_text_inert(tmp_path: Path) -> None:
    case = CASES["layernorm-silu-quaternion-deltas"]
    hostile = "</script><script>alert(1)</script> & <b>"
    network = _network(case, graph_name=hostile)
    page = tmp_path / "page.html"
    write_policy_page(page, network, case.geometry)
    text = page.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", text)
    assert hostile not in text
    assert f"<title>{html.escape(hostile)} — ATRAP policy</title>" in text
    found = re.search(r'<script id="atrap-data" type="application/json">(.*?)</script>', text)
    assert found
    assert json.loads(found.group(1))["network"] == network_to_json(network)
    about = json.loads(found.group(1))["about"]  # the subtitle speaks words, not ids
    assert about.startswith("sees joint angles, ") and "trained by the direct trainer" in about
    assert "sensor." not in about and "trainer.direct" not in about


def _png_colours(data: bytes) -> int:
    """Distinct colours of an 8-bit RGB(A) PNG, decoded here so the test needs no image library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and colour_type in (2, 6) and interlace == 0
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    previous, colours = bytearray(stride), set[bytes]()
    for row in range(height):
        start = row * (stride + 1)
        method, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride) if method else ():
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if method == 1:
                line[i] = (line[i] + left) & 255
            elif method == 2:
                line[i] = (line[i] + up) & 255
            elif method == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            else:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 255
        colours.update(bytes(line[i : i + bpp]) for i in range(0, stride, bpp))
        previous = line
    return len(colours)


@needs_chromium
def test_a_pose_page_draws_both_frames_and_offers_the_turn(tmp_path: Path) -> None:
    case = CASES["pose-6d-quaternion-turn"]
    page = tmp_path / "pose.html"
    write_policy_page(page, _network(case), case.geometry)
    assert '"turns_target":true' in page.read_text(encoding="utf-8")
    picture = tmp_path / "pose.png"
    run_chromium(page.as_uri(), tmp_path, f"--screenshot={picture}", "--window-size=800,560")
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(picture, ARTIFACTS / "policy-page-pose.png")
    image = QtGui.QImage(str(picture)).convertToFormat(QtGui.QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1, 4)
    b, g, r = (pixels[..., i].astype(int) for i in range(3))
    z_axes = (abs(r - 77) < 30) & (abs(g - 140) < 30) & (b > 220)
    assert z_axes.sum() > 20, "no z axis of the target's or the tip's frame is drawn"
