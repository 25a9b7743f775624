"""The Curves dock: the metric store, grouping, coalesced redraws, markers, views and exports."""

from __future__ import annotations

import csv
import math
import time
import warnings
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtGui
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.events import Event, EventBus
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from atrap_studio.ui.views.curves import GROUPS, QtCurves, group_of
from atrap_studio.ui.views.metric_names import describe
from atrap_studio.ui.views.metric_store import INITIAL_CAPACITY, MetricStore

#: One key per plot group, an unknown one for "Other", and a few that could be ambiguous.
KEYS = [
    "loss/total",
    "loss/policy",
    "reward/total",
    "reward/reach_reward",
    "scene/success_rate",
    "eval/success_rate",
    "scene/error_mm",
    "eval/median_error_mm",
    "eval/p95_error_mm",
    "scene/return",
    "explore/random_share",
    "perf/updates_per_s",
    "perf/env_steps_per_s",
    "policy/std",
    "opt/lr",
    "eval/episodes",
    "curriculum/spread",
    "custom/thing",
]


def step_event(step: int, **overrides: float) -> Event:
    metrics = {key: math.sin(step / 50 + i) + i for i, key in enumerate(KEYS)}
    metrics.update(overrides)
    return Event("step", step, {"metrics": metrics, "env_steps": step * 128})


@pytest.fixture
def curves(qtbot: QtBot) -> QtCurves:
    widget = QtCurves()
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    return widget


def settle(qtbot: QtBot, widget: QtCurves) -> None:
    """Wait for the coalesced redraw to catch up with the store."""
    qtbot.waitUntil(lambda: widget.store.revision == widget._drawn_revision, timeout=5000)


def feed(widget: QtCurves, events: list[Event]) -> None:
    for event in events:
        widget.on_event(event)


def marker_lines(plot: pg.PlotWidget) -> list[pg.InfiniteLine]:
    return [i for i in plot.getPlotItem().items if isinstance(i, pg.InfiniteLine)]


def legend_names(plot: pg.PlotWidget) -> list[str]:
    return [label.text for _, label in plot.getPlotItem().legend.items]


def x_range(widget: QtCurves) -> tuple[float, float]:
    low, high = next(iter(widget.plots().values())).getViewBox().viewRange()[0]
    return float(low), float(high)


# -- the store ---------------------------------------------------------------------------------


def test_store_appends_series_in_first_seen_key_order() -> None:
    store = MetricStore()
    store.add(5, {"b": 1.0, "a": 2.0})
    store.add(10, {"a": 3.0, "c": 4.0})
    assert store.keys() == ["b", "a", "c"]
    assert len(store) == 2
    steps, values = store.series("a")
    assert steps.dtype == np.float64 and values.dtype == np.float64
    assert steps.tolist() == [5.0, 10.0] and values.tolist() == [2.0, 3.0]
    assert store.series("b")[0].tolist() == [5.0]
    assert store.series("missing")[0].size == 0
    with pytest.raises(ValueError):
        store.series("a")[1][0] = 99.0  # views into the store are read-only


def test_store_grows_past_its_initial_capacity() -> None:
    store = MetricStore()
    count = INITIAL_CAPACITY * 4 + 3
    for step in range(count):
        store.add(step, {"x": step * 0.5})
    steps, values = store.series("x")
    assert len(store) == count and len(steps) == count
    np.testing.assert_array_equal(steps, np.arange(count))
    np.testing.assert_array_equal(values, np.arange(count) * 0.5)


def test_store_keeps_non_finite_values_as_nan() -> None:
    store = MetricStore()
    store.add(1, {"x": float("nan")})
    store.add(2, {"x": float("inf")})
    store.add(3, {"x": -float("inf")})
    store.add(4, {"x": 1.0})
    values = store.series("x")[1]
    assert np.isnan(values[:3]).all() and values[3] == 1.0


def test_a_lower_step_truncates_the_later_points_and_markers() -> None:
    store = MetricStore()
    for step in (5, 10, 15, 20):
        store.add(step, {"x": float(step), "y": -float(step)})
    store.add_marker(10, "checkpoint")
    store.add_marker(20, "checkpoint")
    store.add(15, {"x": 150.0})  # a resumed run back at step 15
    assert store.series("x")[0].tolist() == [5.0, 10.0, 15.0]
    assert store.series("x")[1].tolist() == [5.0, 10.0, 150.0]
    assert store.series("y")[0].tolist() == [5.0, 10.0]
    assert len(store) == 3
    assert store.markers == [(10, "checkpoint")]
    store.add(15, {"y": 7.0})  # the same step again adds to that row
    assert len(store) == 3 and store.series("y")[1].tolist() == [-5.0, -10.0, 7.0]


def test_markers_and_clear() -> None:
    store = MetricStore()
    store.add(1, {"x": 1.0})
    store.add_marker(1, "checkpoint")
    store.add_marker(1, "architecture")
    assert store.markers == [(1, "checkpoint"), (1, "architecture")]
    revision = store.revision
    store.clear()
    assert store.revision > revision
    assert len(store) == 0 and store.keys() == [] and store.markers == []


def test_csv_has_one_row_per_step_and_blanks_where_a_key_is_missing(tmp_path: Path) -> None:
    store = MetricStore()
    store.add(5, {"loss/total": 0.5, "reward/total": 1.25})
    store.add(10, {"loss/total": 0.25, "eval/success_rate": 0.75})
    store.add(15, {"loss/total": float("nan")})
    path = tmp_path / "metrics.csv"
    store.to_csv(path)
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["step", "loss/total", "reward/total", "eval/success_rate"]
    assert rows[1] == ["5", "0.5", "1.25", ""]
    assert rows[2] == ["10", "0.25", "", "0.75"]
    assert rows[3][0] == "15" and math.isnan(float(rows[3][1])) and rows[3][2:] == ["", ""]
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]  # no temporary left


# -- grouping ----------------------------------------------------------------------------------


def test_every_key_belongs_to_exactly_one_group() -> None:
    assert GROUPS[-1].title == "Other"
    expected = {
        "loss/total": "Loss",
        "reward/reach_reward": "Reward",
        "scene/success_rate": "Success",
        "eval/success_rate": "Success",
        "eval/p95_error_mm": "Reach error (mm)",
        "scene/return": "Episode return",
        "eval/median_return": "Episode return",
        "reward/env_reward": "Reward",
        "explore/random_share": "Exploration",
        "perf/env_steps_per_s": "Scene steps per second",
        "perf/updates_per_s": "Updates per second",
        "opt/lr": "Learning rate",
        "curriculum/spread": "Curriculum",
        "custom/thing": "Other",
        "eval/episodes": "Other",
    }
    for key, title in expected.items():
        assert group_of(key).title == title
    for key in [*KEYS, "", "no_slash", "odd/success_rate/x"]:
        assert group_of(key) in GROUPS  # the first group that matches; "Other" takes the rest


# -- the widget ----------------------------------------------------------------------------------


def test_each_key_gets_one_curve_in_one_plot(qtbot: QtBot, curves: QtCurves) -> None:
    feed(curves, [step_event(step) for step in range(5, 105, 5)])
    settle(qtbot, curves)
    assert curves.plotted_keys() == set(KEYS)
    names: list[str] = []
    for title, plot in curves.plots().items():
        for item in plot.getPlotItem().listDataItems():
            names.append(curves.key_of(item))
            assert group_of(curves.key_of(item)).title == title
            named = describe(curves.key_of(item))
            assert item.name() == (named.label() if named else curves.key_of(item))
    assert sorted(names) == sorted(KEYS)
    assert list(curves.plots()) == [g.title for g in GROUPS]  # all groups, in order
    loss = next(i for i in curves.plots()["Loss"].getPlotItem().listDataItems())
    assert len(loss.xData) == 20


def test_a_narrow_dock_stacks_the_plots_and_legends_stay_off_the_data(
    qtbot: QtBot, curves: QtCurves
) -> None:
    """Issue 12: in the default dock (about 360 px wide) two columns of plots crushed one of
    them, and legends and checkpoint labels covered the curves."""
    feed(curves, [step_event(step) for step in range(5, 105, 5)])
    feed(curves, [Event("checkpoint", 50, {"path": "c.ckpt"})])
    settle(qtbot, curves)

    def columns() -> set[int]:
        grid = curves._grid
        return {grid.getItemPosition(grid.indexOf(plot))[1] for plot in curves.plots().values()}

    assert columns() == {0, 1}  # 900 px: two columns
    curves.resize(360, 700)
    qtbot.waitUntil(lambda: columns() == {0})
    curves.resize(900, 700)
    qtbot.waitUntil(lambda: columns() == {0, 1})

    def legends_under_the_data() -> bool:
        items = [plot.getPlotItem() for plot in curves.plots().values()]
        return all(
            item.legend.sceneBoundingRect().top() >= item.vb.sceneBoundingRect().bottom()
            and item.legend.sceneBoundingRect().height() > 0
            for item in items
        )

    qtbot.waitUntil(legends_under_the_data, timeout=5000)  # once the layout has settled
    curves.on_event(Event("architecture", 60, {}))  # a new legend entry must not move it
    settle(qtbot, curves)
    qtbot.waitUntil(legends_under_the_data, timeout=5000)


def test_redraws_are_coalesced(qtbot: QtBot) -> None:
    widget = QtCurves(max_fps=20.0)
    qtbot.addWidget(widget)
    widget.show()
    started = time.monotonic()
    for step in range(1, 501):
        widget.on_event(step_event(step))
        if step % 25 == 0:
            qtbot.wait(10)  # the event loop runs between bursts of events, as in the editor
    settle(qtbot, widget)
    elapsed = time.monotonic() - started
    assert 1 <= widget.redraw_count <= elapsed * 20 + 2
    assert widget.redraw_count <= 25  # 500 events, at most one redraw per burst
    curve = next(iter(widget.plots()["Loss"].getPlotItem().listDataItems()))
    assert len(curve.xData) == 500


def test_a_hidden_dock_draws_when_shown_again(qtbot: QtBot, curves: QtCurves) -> None:
    curves.hide()
    drawn = curves.redraw_count
    curves.on_event(step_event(5))
    qtbot.wait(150)
    assert curves.redraw_count == drawn and curves.plotted_keys() == set()
    curves.show()
    settle(qtbot, curves)
    assert curves.plotted_keys() == set(KEYS)


def test_checkpoint_and_architecture_markers_show_on_every_plot(
    qtbot: QtBot, curves: QtCurves
) -> None:
    feed(curves, [step_event(5), step_event(10), Event("checkpoint", 10, {"path": "c.ckpt"})])
    settle(qtbot, curves)
    assert curves.store.markers == [(10, "checkpoint")]
    for plot in curves.plots().values():
        (line,) = marker_lines(plot)
        assert line.value() == 10 and line.toolTip() == "checkpoint at update 10"
        assert legend_names(plot)[-1] == "checkpoint (dashed)"
    curves.on_event(Event("architecture", 10, {}))
    curves.on_event(Event("checkpoint", 10, {"path": "d.ckpt"}))
    settle(qtbot, curves)
    for plot in curves.plots().values():  # each kind named once, in the legend, not on the data
        assert [line.toolTip().partition(" at")[0] for line in marker_lines(plot)] == [
            "checkpoint",
            "architecture",
            "checkpoint",
        ]
        assert legend_names(plot)[-2:] == ["checkpoint (dashed)", "network changed (dashed)"]
        assert all(not hasattr(line, "label") for line in marker_lines(plot))


def test_log_scale_toggles_every_plot_and_survives_values_at_or_below_zero(
    qtbot: QtBot, curves: QtCurves
) -> None:
    feed(curves, [step_event(s, **{"loss/total": 1.0 - s / 10}) for s in range(1, 21)])
    settle(qtbot, curves)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curves.log_box.setChecked(True)
        assert all(p.getViewBox().state["logMode"][1] for p in curves.plots().values())
        curves.on_event(step_event(21, **{"loss/total": 0.0, "loss/policy": -3.0}))
        settle(qtbot, curves)
        curves.grab()  # paint with the dropped points
        curves.set_log_scale(False)
    assert not curves.log_box.isChecked()
    assert not any(p.getViewBox().state["logMode"][1] for p in curves.plots().values())


def test_follow_off_keeps_the_view_and_on_moves_it(qtbot: QtBot, curves: QtCurves) -> None:
    feed(curves, [step_event(s) for s in range(5, 55, 5)])
    settle(qtbot, curves)
    assert x_range(curves)[1] >= 50
    curves.follow_box.setChecked(False)
    assert not curves.follow_box.isChecked()
    kept = x_range(curves)
    feed(curves, [step_event(s) for s in range(55, 505, 5)])
    settle(qtbot, curves)
    assert x_range(curves) == pytest.approx(kept)
    assert len(curves.store) == 100  # recorded all the same
    curves.set_follow(True)
    assert curves.follow_box.isChecked()
    assert x_range(curves)[1] >= 500
    ranges = {tuple(p.getViewBox().viewRange()[0]) for p in curves.plots().values()}
    assert len(ranges) == 1  # one shared time axis


def test_moving_a_view_by_hand_stops_following(qtbot: QtBot, curves: QtCurves) -> None:
    feed(curves, [step_event(s) for s in range(5, 55, 5)])
    settle(qtbot, curves)
    view = curves.plots()["Reward"].getViewBox()
    view.setXRange(10, 20, padding=0)
    view.sigRangeChangedManually.emit([True, False])
    assert not curves.follow_box.isChecked()
    feed(curves, [step_event(s) for s in range(55, 105, 5)])
    settle(qtbot, curves)
    assert x_range(curves) == pytest.approx((10, 20))  # the other plots followed the hand


def distinct_colours(image: QtGui.QImage) -> int:
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.width() * image.height())
    return len(np.unique(pixels))


def test_exports_write_a_picture_and_a_csv(qtbot: QtBot, curves: QtCurves, tmp_path: Path) -> None:
    feed(curves, [step_event(s) for s in range(5, 205, 5)])
    curves.on_event(Event("checkpoint", 100, {"path": "c.ckpt"}))
    png = tmp_path / "curves.png"
    curves.export_png(png)
    image = QtGui.QImage(str(png))
    assert not image.isNull() and image.width() > 100
    assert distinct_colours(image) > 20
    table = tmp_path / "metrics.csv"
    curves.export_csv(table)
    with table.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 40 and list(rows[0]) == ["step", *KEYS]
    for row, step in zip(rows, range(5, 205, 5), strict=True):
        expected = step_event(step).data["metrics"]
        assert int(row["step"]) == step
        assert {k: float(row[k]) for k in KEYS} == expected


def test_render_image_draws_at_the_size_asked_without_touching_the_view(
    qtbot: QtBot, curves: QtCurves
) -> None:
    feed(curves, [step_event(s) for s in range(5, 105, 5)])
    settle(qtbot, curves)
    size = curves.size()
    image = curves.render_image(640, 400)
    assert (image.width(), image.height()) == (640, 400)
    assert distinct_colours(image) > 20
    assert curves.size() == size


def test_a_new_run_clears_and_a_resumed_one_keeps(qtbot: QtBot, curves: QtCurves) -> None:
    feed(curves, [step_event(s) for s in range(5, 55, 5)])
    curves.on_event(Event("checkpoint", 30, {"path": "c.ckpt"}))
    settle(qtbot, curves)
    curves.on_event(Event("started", 30, {"steps": 100, "resumed_from": "c.ckpt"}))
    settle(qtbot, curves)
    assert curves.plotted_keys() == set(KEYS)
    assert curves.store.series("loss/total")[0].tolist() == [5, 10, 15, 20, 25, 30]
    assert curves.store.markers == [(30, "checkpoint")]
    curves.on_event(Event("started", 0, {"steps": 100, "resumed_from": None}))
    settle(qtbot, curves)
    assert len(curves.store) == 0 and curves.plotted_keys() == set() and curves.plots() == {}
    curves.on_event(Event("step", 5, {"metrics": {"loss/total": 1.0}}))
    settle(qtbot, curves)
    assert curves.plotted_keys() == {"loss/total"} and list(curves.plots()) == ["Loss"]
    assert all(not marker_lines(p) for p in curves.plots().values())


def test_a_real_run_plots_every_metric_it_logs(
    qtbot: QtBot, curves: QtCurves, small_doc: GraphDocument, registry: Registry
) -> None:
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    Runner(Pipeline(small_doc, registry), events=bus).run(30)
    feed(curves, events)
    settle(qtbot, curves)
    logged = {key for e in events if e.kind == "step" for key in e.data["metrics"]}
    assert {"loss/total", "perf/updates_per_s", "eval/success_rate"} <= logged
    assert curves.plotted_keys() == logged
    assert len(curves.store) == 6  # log_every=5 over 30 updates
