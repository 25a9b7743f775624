"""Tiny arm networks trained for real and saved to disk, for the learned-IK tests."""

from __future__ import annotations

from pathlib import Path

from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from tests.conftest import shrink

#: Updates of the tiny runs: enough to move the network off its initial answer.
STEPS = 40


def arm_doc() -> GraphDocument:
    """The direct-trainer arm example at test size (3 joints, a 32 x 32 network)."""
    return shrink(load_graph(example_path("robot_arm_reach")), steps=STEPS)


def every_sensor_doc() -> GraphDocument:
    """The example reading every sensor a solver can give, in other encodings than its own:
    joint angles as quaternions, the tip's position and the direction to the target."""
    doc = arm_doc()
    q = doc.node("q")
    assert q is not None
    q.props["encoding"] = "quaternion"
    doc.nodes += [
        NodeDoc(id="tip", type="sensor.effector_position"),
        NodeDoc(id="towards", type="sensor.distance_to_target", props={"mode": "direction"}),
    ]
    doc.links += [
        Link.model_validate(pair)
        for pair in (
            ["arm.scene", "tip.scene"],
            ["arm.scene", "towards.scene"],
            ["tip.value", "brain.state"],
            ["towards.value", "brain.state"],
        )
    ]
    return doc


def train(doc: GraphDocument, out: Path) -> Path:
    """Train ``doc`` for its (tiny) budget; the saved network file's path."""
    pipeline = Pipeline(doc, builtin_registry(), source=str(out / "graph.yaml"))
    result = Runner(pipeline, out_dir=out).run()
    assert result.network_path is not None, result.error
    return result.network_path


def pose_doc() -> GraphDocument:
    """The position-and-orientation example at test size, keeping its 6 joints (3 cannot turn
    the tip to every orientation), with a 32 x 32 network."""
    doc = shrink(load_graph(example_path("robot_arm_pose")), steps=STEPS)
    arm = doc.node("arm")
    assert arm is not None
    arm.props["joints"] = 6
    return doc
