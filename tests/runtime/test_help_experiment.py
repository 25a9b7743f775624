"""Help the network: the scripted helper places targets through the scene's own path, near the
starting tip, moves them further only when the network succeeds and lets go at the arm's reach;
the experiment refuses graphs it cannot answer for, and its verdict says what the numbers say."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from atrap_studio.core.errors import AtrapError
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.dragging_helper import DraggingHelper
from atrap_studio.runtime.help_experiment import Result, Setup, Trial, run
from atrap_studio.runtime.pipeline import Pipeline
from tests.conftest import shrink


def arm_pipeline(instances: int = 16) -> Pipeline:
    doc = shrink(load_graph(example_path("robot_arm_reach")))
    arm = doc.node("arm")
    assert arm is not None
    arm.props["instances"] = instances
    return Pipeline(doc, builtin_registry(), seed=3)


def arm_of(pipeline: Pipeline) -> ArmScene:
    scene = pipeline.scene
    assert isinstance(scene, ArmScene)
    return scene


def test_targets_go_near_the_starting_tip_and_stay_for_the_update() -> None:
    pipeline = arm_pipeline()
    scene = arm_of(pipeline)
    helper = DraggingHelper(pipeline, let_go_m=scene.geometry.reach, start_m=0.05, seed=1)
    before_moves = scene.user_moves
    starts = []
    for step in range(3):
        helper.before_update()
        tips = scene.effector.detach().clone()
        placed = scene.target.clone()
        starts.append(scene.q.clone())
        assert bool((torch.linalg.vector_norm(placed - tips, dim=1) <= 0.05 + 1e-6).all())
        pipeline.trainer.step(step)
        assert torch.equal(scene.target, placed)  # the trainer's update used the helper's
    assert scene.user_moves - before_moves == 3 * scene.instances  # the editor's command path
    assert not torch.equal(starts[0], starts[1])  # each update begins new episodes
    assert not scene.user_targets  # moved, never held: the next episode draws afresh


def test_moves_further_only_after_success_and_lets_go_at_the_reach() -> None:
    pipeline = arm_pipeline()
    scene = arm_of(pipeline)
    helper = DraggingHelper(
        pipeline, let_go_m=0.1, start_m=0.02, grow=2.0, goal=0.9, window=3, seed=1
    )
    for step in range(6):
        helper.after_update(step, 0.5)  # failing: the person keeps targets close
    assert helper.radius_m == pytest.approx(0.02) and helper.widened_at == []
    for step in range(6, 9):
        helper.after_update(step, 0.95)
    assert helper.radius_m == pytest.approx(0.04) and helper.widened_at == [8]
    for step in range(9, 15):
        helper.after_update(step, 1.0)
    assert helper.let_go_at == 14 and not helper.helping  # 0.16 m is past 0.1 m
    moves = scene.user_moves
    helper.before_update()
    assert scene.user_moves == moves  # let go: the scene's own targets


def test_a_scene_without_targets_is_refused() -> None:
    doc = shrink(load_graph(example_path("cartpole_ppo")))
    with pytest.raises(AtrapError, match="no targets a person could move"):
        DraggingHelper(Pipeline(doc, builtin_registry()), let_go_m=1.0)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (Setup(goal=1.5), "the goal is a share"),
        (Setup(updates=10, test_every=50), r"test-every \(50\) is more than the updates \(10\)"),
        (Setup(success_mm=0.0), "success radius"),
        (Setup(hidden=(8, 0)), "at least one neuron"),
        (Setup(seeds=0), "at least 1"),
    ],
)
def test_budgets_that_cannot_answer_are_refused(setup: Setup, message: str) -> None:
    with pytest.raises(AtrapError, match=message):
        setup.check()


@pytest.mark.parametrize(
    ("example", "change", "message"),
    [
        ("robot_arm_reach_ppo", {}, "the direct trainer"),
        ("robot_arm_reach", {"regions": 2}, "needs the whole world"),
    ],
)
def test_graphs_it_cannot_answer_for_are_refused(
    example: str, change: dict[str, int], message: str, tmp_path: Path
) -> None:
    doc = load_graph(example_path(example))
    arm = doc.node("arm")
    assert arm is not None
    arm.props.update(change)
    with pytest.raises(AtrapError, match=message):
        run(doc, Setup(updates=10, test_every=5), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def trials(name: str, updates: list[int | None], median: float) -> list[Trial]:
    return [
        Trial(name, seed, updates_to_goal=u, seconds_to_goal=u and u / 10, final_median_mm=median)
        for seed, u in enumerate(updates)
    ]


@pytest.mark.parametrize(
    ("curriculum", "helper", "verdict"),
    [
        ([500, 600], [400, 500], "Yes, helping helped"),
        ([1500, 1600], [None, 2000], "No, helping did not help"),
        ([500, 600], [2000, 2100], "It depends on the help"),
        ([1000, 1050], [990, 1100], "Helping made no clear difference"),
    ],
)
def test_the_verdict_says_what_the_numbers_say(
    curriculum: list[int | None], helper: list[int | None], verdict: str
) -> None:
    result = Result(Setup(seeds=2))
    result.trials = (
        trials("random targets", [1000, 1000], 3.0)
        + trials("near-effector curriculum", curriculum, 3.0)
        + trials("scripted helper", helper, 3.0)
    )
    sentence = result.verdict()
    assert sentence.startswith(verdict + ":")
    assert sentence.endswith("(2 seeds each, equal updates).")
    assert "against 1,000 for random targets" in sentence
    partial = "| 2,000 (1 of 2 seeds) |" if None in helper else "(1 of 2 seeds)"
    assert (partial in result.table()) == (None in helper)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["0,1,0.1,0.2,0.3,5", "10,1,0.1,0.2,0.3,5"], r"line 3: the target was put at update 10,"),
        (["0,1,1e6,0.2,0.3,5"], r"line 2: the target \(1e\+06, 0.2, 0.3\) m is 1e\+06 m from"),
        (["0,1,0.1,inf,0.3,5"], "line 2: y_m must be a finite number"),
        ([], "holds no drags: there is nothing to replay"),
    ],
)
def test_drags_it_cannot_replay_are_refused_by_line(
    rows: list[str], message: str, tmp_path: Path
) -> None:
    drags = tmp_path / "drags.csv"
    drags.write_text("\n".join(["update,instance,x_m,y_m,z_m,updates_held", *rows]) + "\n")
    setup = Setup(updates=10, test_every=5, drags=str(drags))
    with pytest.raises(AtrapError, match=message) as refused:
        run(load_graph(example_path("robot_arm_reach")), setup, tmp_path / "out")
    assert str(refused.value).startswith(str(drags))
    assert not (tmp_path / "out").exists()
