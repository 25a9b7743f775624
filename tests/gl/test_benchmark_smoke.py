"""Benchmarks do not rot, the OpenGL ones: the neuron view, the viewports and the soak run at tiny
sizes under Xvfb (skipped elsewhere, as this folder is) and must end well and print the figures
they promise. The others run in tests/benchmarks/test_smoke.py, which explains the machinery.
"""

from __future__ import annotations

import os

from tests.benchmarks.smoke import NUMBER, Ran, Smoke, lines, one_line, smoke_fixtures

SMOKE = {
    "test_neuron_view": Smoke(
        "neuron_view.py", "--seconds", "0.2", "--naive-layers", "3", "4", "2"
    ),
    "test_viewports": Smoke("viewports.py", "--updates", "5", "--threads", "1", "--seconds", "0.2"),
    # a few seconds sampled every second (the real soak: 10 minutes, every 10 s)
    "test_soak": Smoke("soak.py", "--minutes", "0.05", "--interval", "1"),
    "test_tank_view": Smoke(
        "tank_view.py", "--seconds", "2", "--size", "320", "240", "--instances", "16"
    ),
}
smoke_runs, ran = smoke_fixtures(SMOKE, os.environ.get("QT_QPA_PLATFORM", "xcb"))


def test_neuron_view(ran: Ran) -> None:
    out = ran.output
    one_line(out, r"1k neurons\s+1,000\s+99,456\s+5,000\s+[\d.]+\s+30\s+[\d.]+x")
    one_line(out, r"10k neurons\s+10,000\s+990,000\s+10,000\s+[\d.]+\s+15\s+[\d.]+x")
    one_line(out, r"naive\s+9\s+20\s+20\s+[\d.]+\s+\(one item per link, for comparison\)")


def test_viewports(ran: Ran) -> None:
    out = ran.output
    one_line(out, r"arm example, 5 updates, 1 thread\(s\)")
    one_line(out, r"\s+headless:\s+[\d.]+ updates/s")
    one_line(
        out,
        r"\s+editor, all three views:\s+[\d.]+ updates/s\s+\(\d+% of headless; goal >= 90%\), "
        r"\d+ frames drawn",
    )
    one_line(out, rf"\s+GUI timer lateness: median {NUMBER} ms, p99 {NUMBER} ms")
    for neurons, links, goal in (("1,000", "5,000", 30), ("10,000", "10,000", 15)):
        one_line(
            out,
            rf"\s+neuron view {neurons} neurons, top {links} links:\s+[\d.]+ frames/s "
            rf"\(goal >= {goal}\)",
        )


def test_soak(ran: Ran) -> None:
    out = ran.output
    samples = lines(out, r"\s*\d+ s\s+rss\s+[\d.]+ MB\s+update [\d,]+\s+frames [\d,]+")
    assert samples, out
    one_line(
        out,
        r"ran [\d.]+ min, [\d,]+ updates, [\d,]+ frames, errors 0; rss after \d+ (s|min) "
        r"[\d.]+ MB, at the end [\d.]+ MB \(growth [+-][\d.]+ MB; bar < 100 MB\), peak \d+ MB",
    )


def test_tank_view(ran: Ran) -> None:
    out = ran.output
    one_line(out, r"3-D tank view alone, 320x240, a stepping arena's snapshots")
    one_line(
        out,
        rf"\s+{NUMBER} frames/s; per frame: snapshot {NUMBER} ms, placing {NUMBER} ms, "
        rf"OpenGL paint {NUMBER} ms",
    )
    one_line(out, r"editor training tanks_camera_ppo on 1 thread\(s\), 2 s each")
    one_line(
        out,
        rf"\s+Scene dock 3-D:\s+{NUMBER} frames/s \({NUMBER} of them recorded steps, the rest "
        rf"between two\), {NUMBER} snapshots/s, paint {NUMBER} ms, {NUMBER} updates/s; playing "
        rf"from {NUMBER} s after the start \(frames/s counted from then\)",
    )
    one_line(out, rf"\s+Scene dock closed:\s+{NUMBER} updates/s")
    one_line(out, r"\s+limits: frame cap \d+ frames/s .*")
    one_line(out, r"\s+(PASS|MISS) goal >= 30 frames/s in the Scene dock while training")
