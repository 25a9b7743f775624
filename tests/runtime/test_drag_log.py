"""A person's drags in a run's drags.csv: written as each hold ends, dated by the exact update
the scene trained with them, kept when the run is stopped, absent when nobody dragged; and
read back refusing anything but plain numbers, naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.events import Event
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.drag_log import DRAGS_FILE, HEADER, Drag, DragRecorder, read_drags
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from tests.conftest import shrink

Plan = dict[int, list[tuple[str, int, list[float]]]]


def recorded_run(
    doc: GraphDocument, registry: Registry, folder: Path, plan: Plan, *, stop_at: int = 0
) -> tuple[DragRecorder, ArmScene, dict[int, dict[int, torch.Tensor]]]:
    """Train with a recorder, submitting the plan's holds and releases once an update is done
    (as the editor does, from another moment than the update's), and note the targets of
    every instance each update trained with."""
    runner = Runner(Pipeline(doc, registry), out_dir=folder)
    recorder = DragRecorder(folder / DRAGS_FILE)
    runner.pipeline.hooks.append(recorder)
    scene = runner.pipeline.scene
    assert isinstance(scene, ArmScene)
    trained: dict[int, dict[int, torch.Tensor]] = {}

    def watch(event: Event) -> None:
        if event.kind != "step":
            return
        trained[event.step] = {i: scene.target[i].clone() for i in range(scene.instances)}
        for kind, instance, point in plan.get(event.step, []):
            command = (
                recorder.hold(instance, point) if kind == "hold" else recorder.release(instance)
            )
            runner.submit(command)
        if event.step == stop_at:
            runner.request_stop()

    runner.events.subscribe(watch)
    runner.run()
    recorder.finish()
    return recorder, scene, trained


@pytest.fixture
def doc(small_doc: GraphDocument) -> GraphDocument:
    doc = shrink(small_doc, steps=12, log_every=1, eval_every=12, checkpoint_every=100)
    doc.node("arm").props.update(target="random_in_reach", episode_steps=1)  # type: ignore[union-attr]
    return doc


def test_each_hold_is_a_row_dated_by_the_updates_that_trained_with_it(
    doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    plan: Plan = {
        3: [("hold", 2, [0.1, 0.2, 0.3])],
        5: [("hold", 2, [0.2, 0.1, 0.3]), ("hold", 2, [0.3, 0.1, 0.1])],  # the first: no update
        8: [("release", 2, [])],
        10: [("hold", 7, [5.0, 0.0, 0.0])],  # out of reach: pulled in; held when the run ends
    }
    recorder, scene, trained = recorded_run(doc, registry, tmp_path, plan)
    drags = read_drags(tmp_path / DRAGS_FILE)
    far = 0.98 * scene.geometry.reach
    assert [(d.update, d.instance, d.updates_held) for d in drags] == [
        (3, 2, 2),
        (5, 2, 3),
        (10, 7, 2),
    ]
    assert recorder.written == 3
    for drag, point in zip(drags, ([0.1, 0.2, 0.3], [0.3, 0.1, 0.1], [far, 0.0, 0.0]), strict=True):
        assert drag.position == pytest.approx(point, abs=1e-6)
        held = torch.tensor(drag.position)
        for step, targets in trained.items():  # update `step` trained with these targets
            during = drag.update < step <= drag.update + drag.updates_held
            same = torch.allclose(targets[drag.instance], held, atol=1e-5)
            assert same == during, f"arm {drag.instance} at update {step}"
    assert (tmp_path / DRAGS_FILE).read_text().splitlines()[0] == HEADER


def test_a_stopped_run_keeps_the_hold_it_ended_with(
    doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    recorded_run(doc, registry, tmp_path, {3: [("hold", 1, [0.2, 0.2, 0.2])]}, stop_at=6)
    drags = read_drags(tmp_path / DRAGS_FILE)
    assert [(d.update, d.instance, d.updates_held) for d in drags] == [(3, 1, 3)]


def test_a_user_driven_target_let_go_stays_in_its_row_until_moved(
    doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    doc.node("arm").props["target"] = "user_driven"  # type: ignore[union-attr]
    plan: Plan = {2: [("hold", 0, [0.1, 0.1, 0.4])], 4: [("release", 0, [])]}
    recorded_run(doc, registry, tmp_path, plan)
    drags = read_drags(tmp_path / DRAGS_FILE)
    assert [(d.update, d.instance, d.updates_held) for d in drags] == [(2, 0, 10)]


def test_a_run_without_drags_writes_no_file(
    doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    recorder, _, _ = recorded_run(doc, registry, tmp_path, {})
    assert recorder.written == 0 and not (tmp_path / DRAGS_FILE).exists()
    assert (tmp_path / "network.atrapnet").is_file()  # the run itself wrote its files


def test_rows_are_read_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / DRAGS_FILE
    path.write_text(f"{HEADER}\n0,3,0.1,-0.2,0.3,5\n\n7,0,0,0,0.5,1\n")
    assert read_drags(path) == [
        Drag(0, 3, (0.1, -0.2, 0.3), 5, line=2),
        Drag(7, 0, (0.0, 0.0, 0.5), 1, line=4),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "line 1: expected the header"),
        ("step,arm,x,y,z\n1,2,3,4,5\n", "line 1: expected the header"),
        (f"{HEADER}\n1,2,0.1,0.2,0.3\n", "line 2: expected 6 values"),
        (f"{HEADER}\n1,2,0.1,0.2,0.3,4\n1,2,nan,0.2,0.3,4\n", "line 3: x_m must be a finite"),
        (f"{HEADER}\n1,2,0.1,1e999,0.3,4\n", "line 2: y_m must be a finite"),
        (f"{HEADER}\n1,2,0.1,0.2,__import__('os'),4\n", "line 2: z_m must be a number"),
        (f"{HEADER}\n-1,2,0.1,0.2,0.3,4\n", "line 2: update must be a whole number"),
        (f"{HEADER}\n1.5,2,0.1,0.2,0.3,4\n", "line 2: update must be a whole number"),
        (f"{HEADER}\n1,99999999999,0.1,0.2,0.3,4\n", "line 2: instance must be a whole number"),
        (f"{HEADER}\n1,2,0.1,0.2,0.3,0\n", "line 2: updates_held must be at least 1"),
    ],
)
def test_a_bad_file_is_refused_naming_its_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / DRAGS_FILE
    path.write_text(content)
    with pytest.raises(AtrapError, match=message) as refused:
        read_drags(path)
    assert str(refused.value).startswith(f"{path}")


def test_a_missing_or_binary_file_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(AtrapError, match="no such drags file"):
        read_drags(tmp_path / "absent.csv")
    binary = tmp_path / "picture.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(AtrapError, match="not UTF-8 text"):
        read_drags(binary)
    with pytest.raises(AtrapError, match="cannot be read"):
        read_drags(tmp_path)


def test_a_drags_file_that_cannot_be_written_ends_the_run_saying_where(
    doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    runner = Runner(Pipeline(doc, registry))
    recorder = DragRecorder(blocked / DRAGS_FILE)
    runner.pipeline.hooks.append(recorder)
    errors: list[Event] = []

    def watch(event: Event) -> None:
        if event.kind == "error":
            errors.append(event)
        elif event.kind == "step" and event.step in (2, 4):
            runner.submit(recorder.hold(0, [0.1, 0.1, 0.1 * event.step]))

    runner.events.subscribe(watch)
    result = runner.run()
    assert result.reason == "error" and result.step == 4
    assert f"the drags could not be written to {blocked / DRAGS_FILE}" in errors[0].data["message"]


def test_a_resumed_run_keeps_the_rows_up_to_its_checkpoint(tmp_path: Path) -> None:
    """A run that died after its last checkpoint trains those updates again when resumed: the
    rows of the lost updates go, and a hold that crossed the checkpoint ends there."""
    path = tmp_path / DRAGS_FILE
    path.write_text(f"{HEADER}\n2,0,0.1,0.2,0.3,2\n4,0,0.2,0.2,0.3,5\n9,1,0.3,0.2,0.1,3\n")
    DragRecorder(path, updates=6).keep_to_start()
    assert [(d.update, d.instance, d.updates_held) for d in read_drags(path)] == [
        (2, 0, 2),
        (4, 0, 2),
    ]
