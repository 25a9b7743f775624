"""Shared fixtures: the built-in registry and the shipped example documents."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tests run torch on one thread (small networks are fastest so, and results repeat), also
    after a test ran the CLI, which sets the thread count for its own run."""
    import torch

    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def registry() -> Registry:
    return builtin_registry()


@pytest.fixture
def arm_doc() -> GraphDocument:
    """A fresh copy of the direct-trainer arm example (tests may mutate it)."""
    return load_graph(example_path("robot_arm_reach"))


#: Properties only the PPO trainer has (a shared shrink() call may name them for any graph).
PPO_ONLY = frozenset({"horizon", "minibatches", "epochs"})


def shrink(doc: GraphDocument, **trainer: object) -> GraphDocument:
    """A copy of an example sized for tests: few instances, a small network, short budget.

    Keyword arguments set trainer properties (those the trainer has).
    """
    small = doc.model_copy(deep=True)
    for node in small.nodes:
        if node.type == "scene.robot_arm":
            node.props.update(joints=3, instances=128)
        elif node.type.startswith("scene."):
            node.props["instances"] = 4
        elif node.type == "nn.factory":
            node.props["hidden"] = [32, 32]
        elif node.type.startswith("trainer."):
            node.props.update(
                steps=40,
                eval_every=20,
                eval_episodes=256,
                checkpoint_every=10,
                log_every=5,
                goal_success_rate=0.0,
                explore_steps=20,
            )
            if node.type in ("trainer.sac", "trainer.dqn"):  # learn from 4 instances' first steps
                node.props["batch_size"] = 4
            ppo = node.type == "trainer.ppo"
            node.props.update({k: v for k, v in trainer.items() if ppo or k not in PPO_ONLY})
    return small


@pytest.fixture
def small_doc(arm_doc: GraphDocument) -> GraphDocument:
    """The direct-trainer example, shrunk so that a run takes well under a second."""
    return shrink(arm_doc)
