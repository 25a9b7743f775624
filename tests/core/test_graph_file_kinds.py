"""The graph loader reads regular files only: a named pipe, a link to a device or a folder is
refused at once with a clear message (a pipe used to hang it, /dev/zero to read without end)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from atrap_studio.core.errors import GraphFileError
from atrap_studio.core.yaml_io import load_block, load_graph
from atrap_studio.examples import example_path


@pytest.mark.timeout(20)  # a loader that waits on the pipe fails here instead of hanging
@pytest.mark.parametrize("load", [load_graph, load_block])
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path, load: object) -> None:
    fifo = tmp_path / "graph.yaml"
    os.mkfifo(fifo)
    with pytest.raises(GraphFileError, match="is not a regular file") as info:
        load(fifo)  # type: ignore[operator]
    assert str(info.value).startswith(f"{fifo}: ")


@pytest.mark.timeout(20)
def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    for device in ("/dev/zero", "/dev/urandom", "/dev/null"):
        link = tmp_path / f"{Path(device).name}.yaml"
        link.symlink_to(device)
        with pytest.raises(GraphFileError, match="is not a regular file"):
            load_graph(link)


def test_a_socket_and_a_folder_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(GraphFileError, match=r"cannot be read|is not a regular file"):
            load_graph(path)
    with pytest.raises(GraphFileError, match="is a folder, not a graph file"):
        load_graph(tmp_path)


def test_a_link_to_a_regular_graph_file_still_loads(tmp_path: Path) -> None:
    link = tmp_path / "arm.yaml"
    link.symlink_to(example_path("robot_arm_reach"))
    assert load_graph(link).name == "Robot arm learns to reach"
