"""``atrap run`` on a graph of two learning agents says each agent's test and network file on
a line of its own, the trainer named first."""

from __future__ import annotations

from pathlib import Path

import pytest

from atrap_studio.cli.main import main
from atrap_studio.core.yaml_io import save_graph
from tests.runtime.test_agents import _tiny


def test_the_summary_gives_each_agent_its_own_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph, out = tmp_path / "duel.yaml", tmp_path / "out"
    save_graph(_tiny(), graph)
    assert main(["run", str(graph), "--out", str(out), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    test = next(i for i, line in enumerate(lines) if line.startswith("  test on 6 fights:"))
    assert lines[test] == "  test on 6 fights:"
    assert lines[test + 1].startswith("    blue_teach: median fight result")
    assert lines[test + 2].startswith("    red_teach: median fight result")
    assert f"  network:    {out / 'network.atrapnet'} (blue_teach)" in lines
    assert f"  network:    {out / 'network-red_brain.atrapnet'} (red_teach)" in lines
