"""The neuron view: real frames under Xvfb, colours that follow the chosen quantity, the top-k
links, re-layout, scrubbing through history, picking and hover, and a real network training."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.snapshots import NetworkSnapshot
from atrap_studio.ui.views.colormaps import infrared, normalise, robust_range
from atrap_studio.ui.views.neuron_data import QUANTITIES, neuron_values, top_indices
from atrap_studio.ui.views.neuron_view import QtNeuronView
from tests.gl.conftest import rgba

SIZES = (6, 12, 12, 3)
BACKGROUND = np.array([26, 30, 38])


def snapshot(sizes: tuple[int, ...] = SIZES, seed: int = 0) -> NetworkSnapshot:
    rng = np.random.default_rng(seed)
    weights = tuple(
        (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(np.float32)
        for n_in, n_out in itertools.pairwise(sizes)
    )
    biases = tuple((0.1 * rng.standard_normal(n)).astype(np.float32) for n in sizes[1:])
    activations = tuple(np.tanh(rng.standard_normal(n)).astype(np.float32) for n in sizes)
    return NetworkSnapshot(tuple(sizes), weights, biases, activations, 0)


def with_weights(snap: NetworkSnapshot, layer: int, weights: np.ndarray) -> NetworkSnapshot:
    changed = list(snap.weights)
    changed[layer] = weights.astype(np.float32)
    return NetworkSnapshot(snap.sizes, tuple(changed), snap.biases, snap.activations, 0)


@pytest.fixture
def view(qtbot: QtBot) -> QtNeuronView:
    widget = QtNeuronView(top_k=200)
    qtbot.addWidget(widget)
    widget.resize(640, 480)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def grab(view: QtNeuronView) -> np.ndarray:
    view.gl.repaint()
    return rgba(view.gl.grabFramebuffer()).astype(int)


def pixel_near(image: np.ndarray, point: np.ndarray, radius: int = 1) -> np.ndarray:
    """The brightest pixel within a small square around a point (rounding, odd sizes)."""
    x, y = (round(float(c)) for c in point)
    patch = image[y - radius : y + radius + 1, x - radius : x + radius + 1, :3].reshape(-1, 3)
    brightest: np.ndarray = patch[patch.sum(axis=1).argmax()]
    return brightest


# -- colour maps ------------------------------------------------------------------------------


def test_infrared_runs_from_black_through_purple_red_orange_yellow_to_white() -> None:
    colours = infrared(np.linspace(0, 1, 11))
    assert colours.shape == (11, 4) and colours.dtype == np.float32
    assert np.allclose(colours[0], [0, 0, 0, 1]) and np.allclose(colours[-1], [1, 1, 1, 1])
    brightness = colours[:, :3] @ np.array([0.3, 0.59, 0.11])
    assert np.all(np.diff(brightness) > 0), "hotter must look brighter"
    purple, red, orange, yellow = infrared(np.array([0.18, 0.42, 0.64, 0.84]))
    assert purple[2] > purple[1] and purple[0] > purple[1]  # blue and red, little green
    assert red[0] > 0.8 and red[1] < 0.2
    assert orange[0] > 0.99 and 0.3 < orange[1] < 0.6 and orange[2] < 0.1
    assert yellow[0] > 0.99 and yellow[1] > 0.8 and yellow[2] < 0.3
    clipped = infrared(np.array([-3.0, 7.0, np.nan]))
    assert np.allclose(clipped[0], colours[0]) and np.allclose(clipped[1], colours[-1])
    assert 0.3 < clipped[2, 0] < 0.6, "undefined values are grey"


def test_normalise_is_robust_and_maps_constant_input_to_the_middle() -> None:
    values = np.concatenate([np.linspace(0, 1, 1000), [1000.0]])
    scaled = normalise(values)
    assert scaled.dtype == np.float32 and scaled.min() == 0 and scaled.max() == 1
    assert scaled[500] > 0.4, "one outlier must not wash out all the others"
    assert np.all(normalise(np.full(7, 3.5)) == 0.5)
    lone = normalise(np.array([0.1] * 999 + [10.0]))  # the percentiles are equal here
    assert lone[-1] == 1.0 and lone[0] == 0.0
    assert np.isnan(normalise(np.array([np.nan, 1.0, 2.0]))[0])
    assert robust_range(np.array([np.nan])) != robust_range(np.array([np.nan]))  # nan, nan


def test_top_indices_are_exactly_the_k_largest_on_large_and_awkward_inputs() -> None:
    rng = np.random.default_rng(3)
    cases = [
        rng.standard_normal(300_000).astype(np.float32) ** 2,
        np.sort(rng.random(250_000).astype(np.float32)),  # sorted: the sample sees a ramp
        np.repeat(rng.random(1000).astype(np.float32), 200),  # many ties
        np.concatenate([np.zeros(199_000), np.ones(1_000)]).astype(np.float32),
        rng.random(200_000).astype(np.float32) + np.tile([1.0] + [0.0] * 9, 20_000),
    ]  # the last: the big ones sit exactly where a strided sample looks (it must fall back)
    for values in cases:
        for k in (1, 30, 999, 5000, 30_000):
            chosen = top_indices(values, k)
            assert len(chosen) == k == len(set(chosen.tolist()))
            rest = np.delete(values, chosen)
            assert values[chosen].min() >= rest.max()
    assert len(top_indices(np.ones(10, np.float32), 50)) == 10
    assert len(top_indices(np.ones(10, np.float32), 0)) == 0


# -- the view ---------------------------------------------------------------------------------


def test_the_view_renders_a_non_blank_frame(
    qtbot: QtBot, view: QtNeuronView, artifacts: Path
) -> None:
    view.show_snapshot(1, snapshot())
    image = view.render_image(480, 320)
    assert (image.width(), image.height()) == (480, 320)
    picture = rgba(image).astype(int)
    image.save(str(artifacts / "neuron-view.png"))
    differs = np.abs(picture[..., :3] - BACKGROUND).sum(axis=2) > 40
    assert differs.sum() > 2000, "neurons and links should cover a good part of the frame"
    hot = (picture[..., 0] > 200) & (picture[..., 1] > 150)  # yellow to white neurons
    assert hot.sum() > 10
    on_screen = grab(view)  # the widget's own frame agrees
    assert (np.abs(on_screen[..., :3] - BACKGROUND).sum(axis=2) > 40).sum() > 2000


def test_neuron_colours_follow_the_quantity(view: QtNeuronView) -> None:
    base = snapshot()
    weights = base.weights[1].copy()
    weights[4] *= 25.0  # hidden-2 neuron 4 has far larger incoming weights than any other
    view.show_snapshot(1, with_weights(base, 1, weights))
    view.set_quantity("weights")
    assert view.quantity_box.currentText() == "weights"
    colours = view.neuron_colours()
    assert colours.shape == (sum(SIZES), 4)
    hot = 6 + 12 + 4
    assert np.allclose(colours[hot], infrared(np.array([1.0]))[0])
    brightness = colours[:, :3].sum(axis=1)
    assert int(np.argmax(brightness)) == hot
    assert np.allclose(colours[:6], colours[0]), "inputs have no incoming weights: all grey"
    image = grab(view)  # and it is drawn so: a white point where that neuron projects
    layout = view.neuron_layout()
    assert layout is not None
    screen, _ = view.project(layout.positions[hot : hot + 1])
    assert pixel_near(image, screen[0]).min() > 220
    view.set_quantity("activation")
    assert not np.allclose(view.neuron_colours(), colours)
    expected = infrared(normalise(np.concatenate(base.activations)))
    assert np.allclose(view.neuron_colours(), expected)
    view.quantity_box.setCurrentText("bias")  # the combo box drives it too
    assert view.quantity() == "bias"
    with pytest.raises(ValueError, match="unknown quantity"):
        view.set_quantity("temperature")


def test_colours_change_when_the_weights_do_and_change_mode_shows_where(
    view: QtNeuronView,
) -> None:
    view.set_quantity("weights")
    first = snapshot(seed=1)
    view.show_snapshot(1, first)
    before = view.neuron_colours()
    view.show_snapshot(2, snapshot(seed=2))
    assert not np.allclose(view.neuron_colours(), before)
    weights = first.weights[2].copy()
    weights[1] += 0.5  # output neuron 1's incoming weights move; nothing else does
    view.show_snapshot(3, first)
    view.show_snapshot(4, with_weights(first, 2, weights))
    view.set_quantity("change")
    values = view.neuron_values()
    assert np.isnan(values[:6]).all()
    changed = sum(SIZES) - 3 + 1
    assert int(np.nanargmax(values)) == changed
    assert np.nanmax(np.delete(values, changed)) < 1e-6
    per_layer = neuron_values(with_weights(first, 2, weights), "change", previous=first)
    assert [len(v) for v in per_layer] == list(SIZES)
    assert np.allclose(np.concatenate(per_layer), values, equal_nan=True)
    assert np.isnan(np.concatenate(neuron_values(first, "change"))).all()
    biases = np.concatenate(neuron_values(first, "bias"))
    assert np.isnan(biases[:6]).all() and np.allclose(biases[6:], np.concatenate(first.biases))


def test_layout_follows_the_architecture_and_items_are_reused(view: QtNeuronView) -> None:
    items = list(view.gl.items)
    view.show_snapshot(1, snapshot((3, 5, 2)))
    layout = view.neuron_layout()
    assert layout is not None and layout.positions.shape == (10, 3)
    assert view.neuron_colours().shape == (10, 4)
    view.show_snapshot(2, snapshot((4, 40, 40, 2), seed=5))
    layout = view.neuron_layout()
    assert layout is not None and layout.positions.shape == (86, 3)
    assert view.neuron_colours().shape == (86, 4)
    assert len(np.unique(layout.positions, axis=0)) == 86, "no two neurons in one place"
    layers_x = [np.unique(layout.positions[a:b, 0]) for a, b in itertools.pairwise(layout.offsets)]
    assert all(len(x) == 1 for x in layers_x) and np.all(np.diff([x[0] for x in layers_x]) > 0)
    big = layout.positions[4:44]  # a 40-neuron layer is a grid, not a column
    assert len(np.unique(big[:, 1])) > 1 and len(np.unique(big[:, 2])) > 1
    assert view.gl.items == items, "one scatter and one line item, updated in place"
    image = grab(view)
    assert (np.abs(image[..., :3] - BACKGROUND).sum(axis=2) > 40).sum() > 500


def test_only_the_top_k_links_are_drawn(view: QtNeuronView) -> None:
    snap = snapshot((8, 30, 30, 4), seed=7)
    view.show_snapshot(1, snap)
    everything = np.concatenate([np.abs(w).ravel() for w in snap.weights])
    for k in (25, 300):
        view.top_k_box.setValue(k)  # the spin box drives it
        src, dst, weights = view.drawn_links()
        assert len(weights) == k
        assert view._lines.pos.shape == (2 * k, 3)  # what the GL item draws
        undrawn = np.sort(everything)[: everything.size - k]
        assert np.abs(weights).min() >= undrawn.max()
        offsets = np.cumsum((0, *snap.sizes))
        for s, d, w in zip(src[:20], dst[:20], weights[:20], strict=True):
            layer = int(np.searchsorted(offsets, s, side="right") - 1)
            assert snap.weights[layer][d - offsets[layer + 1], s - offsets[layer]] == w
        assert np.all(np.diff(np.abs(weights)) >= 0), "weakest first: strongest drawn on top"
    view.set_top_k(10**6)
    assert len(view.drawn_links()[2]) == everything.size
    view.set_top_k(0)
    assert len(view.drawn_links()[2]) == 0 and not view._lines.visible()
    assert view.top_k_box.value() == 0


def test_scrubbing_back_shows_an_older_snapshot_and_follow_latest_returns(
    view: QtNeuronView,
) -> None:
    colours = {}
    for step in (10, 20, 30, 40):
        view.show_snapshot(step, snapshot(seed=step))
        colours[step] = view.neuron_colours()
    assert view.recorded_steps() == [10, 20, 30, 40]
    view.scrub_to(1)
    assert view.shown_step() == 20 and not view.following()
    assert np.allclose(view.neuron_colours(), colours[20])
    assert view.step_label.text() == "update 20" and view.slider.value() == 1
    assert not view.live_button.isChecked()
    view.show_snapshot(50, snapshot(seed=50))  # arrives while scrubbed back: recorded only
    assert np.allclose(view.neuron_colours(), colours[20])
    assert view.slider.maximum() == 4 and view.slider.value() == 1
    view.slider.setValue(2)  # the slider scrubs too
    assert view.shown_step() == 30
    view.follow_latest()
    assert view.shown_step() == 50 and view.following() and view.live_button.isChecked()
    assert not np.allclose(view.neuron_colours(), colours[20])
    view.scrub_to(0)
    view.slider.setValue(view.slider.maximum())  # the right end is live again
    assert view.following()
    view.show_snapshot(60, snapshot(seed=60))
    assert view.shown_step() == 60 and view.step_label.text() == "update 60"


def test_neuron_at_finds_the_neuron_under_a_point_and_hover_names_it(
    view: QtNeuronView, qtbot: QtBot
) -> None:
    view.show_snapshot(1, snapshot())
    layout = view.neuron_layout()
    assert layout is not None
    screen, visible = view.project(layout.positions)
    assert visible.all()
    w, h = view.gl.width(), view.gl.height()
    assert np.all((screen > 0) & (screen < [w, h])), "framed: every neuron is in view"
    for layer, index in ((0, 0), (1, 5), (2, 11), (3, 2)):
        x, y = screen[int(layout.offsets[layer]) + index]
        assert view.neuron_at(QtCore.QPoint(round(x), round(y))) == (layer, index)
        assert view.neuron_at(QtCore.QPointF(x + 1.5, y - 1.5)) == (layer, index)
    assert view.neuron_at(QtCore.QPoint(2, 2)) is None
    x, y = screen[sum(SIZES) - 2]  # output neuron 1
    image = grab(view)  # and a neuron really is drawn there
    assert np.abs(pixel_near(image, np.array([x, y])) - BACKGROUND).sum() > 60
    point = QtCore.QPoint(round(x), round(y))
    move = QtGui.QMouseEvent(
        QtCore.QEvent.Type.MouseMove,
        QtCore.QPointF(point),
        QtCore.QPointF(view.gl.mapToGlobal(point)),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(view.gl, move)
    value = float(view.neuron_values()[sum(SIZES) - 2])
    qtbot.waitUntil(lambda: QtWidgets.QToolTip.text() != "", timeout=2000)
    assert QtWidgets.QToolTip.text() == f"output 2: {value:.4g} (activation)"
    assert view.describe(1, 0).startswith("hidden layer 1, neuron 1: ")
    view.set_quantity("bias")
    assert view.describe(0, 3) == "input 4: n/a (bias)"
    # with the graph's meanings (the editor sets them when a run starts), in its words
    view.meanings = (
        [("Joint angles · value", 3), ("Target position · value", 3)],
        [("Joint targets · values", 3)],
    )
    assert view.describe(0, 3) == "input 4: Target position · value, value 1 of 3: n/a (bias)"
    assert view.describe(3, 1).startswith("output 2: Joint targets · values, value 2 of 3: ")


def test_the_camera_frames_the_network_until_the_user_moves_it(
    view: QtNeuronView, qtbot: QtBot
) -> None:
    view.show_snapshot(1, snapshot())
    layout = view.neuron_layout()
    assert layout is not None

    def framed(size: tuple[int, int] | None = None) -> bool:
        width, height = size or (view.gl.width(), view.gl.height())
        screen, visible = view.project(layout.positions, size)
        inside = np.all((screen >= 0) & (screen <= [width, height]))
        spans = np.ptp(screen, axis=0) / [width, height]
        return bool(visible.all() and inside and spans.max() > 0.6)

    assert framed()
    assert view.minimumSizeHint().width() <= 340, "fits a narrow dock"
    view.resize(340, 560)  # a tall, narrow dock
    qtbot.waitUntil(lambda: view.gl.width() < 345 and framed(), timeout=3000)
    distance = view.gl.opts["distance"]
    wheel = QtGui.QWheelEvent(
        QtCore.QPointF(50, 50),
        QtCore.QPointF(view.gl.mapToGlobal(QtCore.QPoint(50, 50))),
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, 240),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(view.gl, wheel)  # the user zooms in
    zoomed = view.gl.opts["distance"]
    assert zoomed < distance
    view.resize(700, 420)
    qtbot.waitUntil(lambda: view.gl.width() > 600, timeout=3000)
    assert view.gl.opts["distance"] == zoomed, "the user's camera is left alone"
    picture = rgba(view.render_image(320, 240)).astype(int)  # the user's camera: zoomed
    assert view.gl.opts["distance"] == zoomed
    view.reset_camera()  # what the Fit button does
    assert framed() and framed((320, 240))
    drawn = np.argwhere(np.abs(picture[..., :3] - BACKGROUND).sum(axis=2) > 40)
    assert len(drawn) > 100


def test_the_legend_shows_the_range_of_the_shown_quantity(view: QtNeuronView) -> None:
    snap = snapshot((5, 200, 4), seed=11)
    view.show_snapshot(1, snap)
    for quantity in ("bias", "activation"):
        view.set_quantity(quantity)
        values = view.neuron_values()
        low, high = robust_range(values)
        assert (view.legend.low, view.legend.high) == (low, high)
        assert view.legend.minimum_label.text() == f"{low:.3g}"
        assert view.legend.maximum_label.text() == f"{high:.3g}"
        finite = values[np.isfinite(values)]
        assert finite.min() <= low < high <= finite.max()
    bar = rgba(view.legend.bar.grab().toImage()).astype(int)
    assert bar.shape[1] >= 36
    assert bar[5, 0, :3].sum() < 30 and bar[5, -1, :3].min() > 240, "black to white"
    assert set(QUANTITIES) == {view.quantity_box.itemText(i) for i in range(4)}


def test_history_is_bounded_and_thins_out_to_span_the_run(qtbot: QtBot) -> None:
    view = QtNeuronView(history=5)
    qtbot.addWidget(view)
    for step in range(0, 120, 10):
        view.show_snapshot(step, snapshot(seed=step))
    steps = view.recorded_steps()
    assert len(steps) == 5 and steps[0] == 0 and steps[-1] == 110, steps
    assert steps == sorted(steps)
    assert view.slider.maximum() == 4
    view.scrub_to(1)
    pinned = view.shown_step()
    for step in range(120, 200, 10):  # the pinned snapshot may be thinned out: a neighbour stays
        view.show_snapshot(step, snapshot(seed=step))
    assert view.shown_step() in view.recorded_steps() and view.shown_step() <= pinned
    small = QtNeuronView(history=100, max_bytes=3 * _nbytes(snapshot()))  # and by bytes
    qtbot.addWidget(small)
    for step in range(10):
        small.show_snapshot(step, snapshot(seed=step))
    assert len(small.recorded_steps()) == 3
    assert small.recorded_steps()[0] == 0 and small.recorded_steps()[-1] == 9


def _nbytes(snap: NetworkSnapshot) -> int:
    return sum(a.nbytes for a in (*snap.weights, *snap.biases, *snap.activations))


def test_a_hidden_view_records_and_draws_once_shown(qtbot: QtBot) -> None:
    view = QtNeuronView()
    qtbot.addWidget(view)
    view.show_snapshot(3, snapshot())
    assert view.neuron_colours().shape == (sum(SIZES), 4)
    assert view.recorded_steps() == [3]
    view.resize(400, 300)
    view.show()
    qtbot.waitUntil(view.gl.isValid)
    image = rgba(view.render_image(200, 150)).astype(int)
    assert (np.abs(image[..., :3] - BACKGROUND).sum(axis=2) > 40).sum() > 100


def test_degenerate_networks_draw_without_failing(view: QtNeuronView) -> None:
    view.show_snapshot(1, NetworkSnapshot((), (), (), (), 0))  # no linear layer at all
    assert view.neuron_colours().shape == (0, 4) and view.neuron_at(QtCore.QPoint(5, 5)) is None
    view.show_snapshot(2, NetworkSnapshot((4,), (), (), (np.zeros(4, np.float32),), 0))
    assert view.neuron_colours().shape == (4, 4) and len(view.drawn_links()[0]) == 0
    odd = snapshot((3, 2))
    view.show_snapshot(3, NetworkSnapshot(odd.sizes, odd.weights, odd.biases, (), 0))
    for quantity in QUANTITIES:  # activations missing: grey, not an error
        view.set_quantity(quantity)
        assert view.neuron_colours().shape == (5, 4)
    assert np.isnan(view.neuron_values()).all()
    grab(view)


def test_a_real_network_training_changes_the_picture(
    view: QtNeuronView, small_doc: GraphDocument, registry: Registry, artifacts: Path
) -> None:
    from atrap_studio.runtime.pipeline import Pipeline
    from atrap_studio.runtime.runner import Runner

    pipeline = Pipeline(small_doc, registry)
    first = pipeline.snapshot([0])["network"]
    view.show_snapshot(0, first)
    assert view.neuron_colours().shape == (sum(first.sizes), 4)
    before = view.neuron_colours()
    Runner(pipeline).run(5)
    second = pipeline.snapshot([0])["network"]
    view.show_snapshot(5, second)
    assert view.recorded_steps() == [0, 5]
    assert not np.allclose(view.neuron_colours(), before)
    view.set_quantity("change")
    values = view.neuron_values()
    assert np.isfinite(values[first.sizes[0] :]).all() and np.nanmax(values) > 0
    view.set_quantity("weights")
    image = view.render_image(480, 320)
    image.save(str(artifacts / "neuron-view-trained.png"))
    assert (np.abs(rgba(image)[..., :3].astype(int) - BACKGROUND).sum(axis=2) > 40).sum() > 500


def test_the_view_lays_out_again_when_the_network_grows_while_it_trains(
    view: QtNeuronView, small_doc: GraphDocument, registry: Registry, artifacts: Path
) -> None:
    from atrap_studio.runtime.pipeline import Pipeline
    from atrap_studio.runtime.runner import Runner

    doc = small_doc.model_copy(deep=True)
    brain = next(node for node in doc.nodes if node.type == "nn.factory")
    brain.props.update(hidden=[8, 8], grow="schedule", grow_every=5, grow_max_layers=3)
    pipeline = Pipeline(doc, registry)
    view.show_snapshot(0, pipeline.snapshot([0])["network"])
    before = view.neuron_layout()
    assert before is not None and before.sizes[1:3] == (8, 8)
    Runner(pipeline).run(10)  # grows twice: 8 -> 10 in each hidden layer
    grown = pipeline.snapshot([0])["network"]
    view.show_snapshot(10, grown)
    after = view.neuron_layout()
    assert after is not None and after.sizes[1:3] == (10, 10)
    assert view.neuron_colours().shape == (sum(grown.sizes), 4)
    assert view.step_label.text() == "update 10 · new shape"  # the change is marked
    assert "hidden layers [8, 8] → [10, 10]" in view.step_label.toolTip()
    view.set_quantity("change")  # a change across two shapes has nothing to compare: no crash
    assert view.neuron_values().shape == (sum(grown.sizes),)
    view.scrub_to(0)  # the older, smaller network is still there to look back at
    scrubbed = view.neuron_layout()
    assert scrubbed is not None and scrubbed.sizes[1:3] == (8, 8)
    assert view.step_label.text() == "update 0"
    view.follow_latest()
    view.set_quantity("weights")
    image = view.render_image(480, 320)
    image.save(str(artifacts / "neuron-view-grown.png"))
    assert (np.abs(rgba(image)[..., :3].astype(int) - BACKGROUND).sum(axis=2) > 40).sum() > 500
