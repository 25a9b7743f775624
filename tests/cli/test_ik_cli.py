"""`atrap ik`: targets from a CSV file solved with a network trained for real; the solutions file
agrees with the arm's own kinematics, and bad input is named by its line, never a traceback."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from atrap_studio.cli.main import main
from atrap_studio.ik import ArmChain, ArmGeometry
from atrap_studio.ik.rotations import angle_between, from_quaternion, quaternion
from atrap_studio.runtime.netfile import load_network, save_network
from tests.ik.nets import arm_doc, pose_doc, train

ARM = ArmGeometry.industrial(3)  # the arm of the tests' shrunk example


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(arm_doc(), tmp_path_factory.mktemp("arm"))


def reachable(n: int, seed: int = 5) -> list[list[float]]:
    chain = ArmChain(ARM, dtype=torch.float64)
    targets, _ = chain.sample_targets(n, torch.Generator().manual_seed(seed))
    rows: list[list[float]] = targets.tolist()
    return rows


def read_solutions(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_solves_a_file_of_targets_and_flags_the_unreachable(
    net: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = reachable(40)
    lines = ["x,y,z", "# a comment, then a blank line", ""]
    lines += [",".join(map(repr, t)) for t in targets[:20]]
    lines.append(f"{2 * ARM.reach}, 0, 0")  # line 24: beyond the stretched arm
    lines.append("0,0,-0.5")  # line 25: within its length, below the base: the limits forbid it
    lines += [" , ".join(map(repr, t)) for t in targets[20:]]  # spaces around fields are fine
    source = tmp_path / "targets.csv"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "solutions.csv"

    args = ["ik", str(net), "--targets", str(source), "-o", str(out), "--threads", "1"]
    assert main([*args, "--refine", "3"]) == 0
    printed = capsys.readouterr()
    rows = read_solutions(out)
    assert len(rows) == 42
    assert list(rows[0]) == [
        "x",
        "y",
        "z",
        "joint1_rad",
        "joint2_rad",
        "joint3_rad",
        "error_mm",
        "status",
    ]
    # Every row's error is what the arm's FK of its joint angles says, in the file's order.
    chain = ArmChain(ARM, dtype=torch.float64)
    q = torch.tensor(
        [[float(r[f"joint{j}_rad"]) for j in (1, 2, 3)] for r in rows], dtype=torch.float64
    )
    xyz = torch.tensor([[float(r[k]) for k in "xyz"] for r in rows], dtype=torch.float64)
    fk_mm = torch.linalg.vector_norm(chain.effector(q) - xyz, dim=1) * 1000
    written = torch.tensor([float(r["error_mm"]) for r in rows], dtype=torch.float64)
    torch.testing.assert_close(fk_mm, written, rtol=1e-9, atol=1e-9)
    statuses = [r["status"] for r in rows]
    assert statuses[20] == "beyond_reach" and statuses[21] == "missed"
    # The network's misses solved again from a cold start (the default): all the rest reached.
    assert statuses.count("reached") == 40
    assert all(float(r["error_mm"]) <= 1.0 for r in rows if r["status"] == "reached")
    assert f"{source} line 24: target (2.3, 0, 0) is 2.3 m from the base" in printed.err
    assert "beyond the arm's reach of 1.15 m" in printed.err
    assert f"{source} line 25: target (0, 0, -0.5) not reached, even by DLS from cold " in (
        printed.err
    )
    summary = printed.out
    assert "42 targets: error median" in summary and "p95" in summary
    assert "within 1 mm" in summary and "the network alone: median" in summary
    assert "solves/s" in summary and f"solutions: {out}" in summary
    assert "were solved again by DLS from a cold start" in summary

    # Without the fallback: fewer refinement steps leave more error, and misses are named.
    medians = {}
    for steps in (0, 3):
        assert main([*args, "--refine", str(steps), "--no-fallback"]) == 0
        errors = sorted(float(r["error_mm"]) for r in read_solutions(out))
        medians[steps] = errors[len(errors) // 2]
    assert medians[3] < medians[0]
    printed = capsys.readouterr()
    assert "network alone" in printed.out and "cold start" not in printed.out
    assert "not reached:" in printed.err and "more --refine steps or the fallback" in printed.err


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("0.1,0.2,0.3\n0.1,0.2\n", "line 2: expected 3 values x,y,z as in the rows before, got 2"),
        ("x,y,z\n0.1,0.2,0.3\n0.1,abc,0.3\n", "line 3: y is 'abc', not a number"),
        ("0.1,0.2,0.3\n\n0.1,0.2,nan\n", "line 3: z is 'nan'; a target needs finite coordinates"),
        ("inf,0,0\n", "line 1: x is 'inf'; a target needs finite coordinates"),
        ("0.1,0.2,0.3,0.4\n", "line 1: expected 3 values x,y,z or 7 x,y,z,qw,qx,qy,qz, got 4"),
        ("x,y,z\n# nothing\n", "holds no targets"),
        ("0.1,0.2,0.3\n\x00\xff\xfe", "not a text (UTF-8) file"),
    ],
)
def test_bad_targets_are_named_by_line_and_nothing_is_written(
    net: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, named: str
) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(text.encode("latin-1"))
    out = tmp_path / "solutions.csv"
    assert main(["ik", str(net), "--targets", str(source), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {source}") and named in err
    assert "Traceback" not in err
    assert not out.exists()


def test_every_bad_row_is_named_at_once(
    net: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("1,2\n0,0,0\n" + "nan,0,0\n" * 14)
    assert main(["ik", str(net), "--targets", str(source)]) == 1
    err = capsys.readouterr().err
    assert "15 bad row(s); nothing was solved" in err
    assert "line 1: expected 3 values" in err and "line 11: x is 'nan'" in err
    assert "... and 5 more" in err and "line 12:" not in err


def test_refuses_a_network_that_cannot_solve_and_a_missing_file(
    net: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "targets.csv"
    source.write_text("0.1,0.2,0.3\n")
    assert main(["ik", str(tmp_path / "none.atrapnet"), "--targets", str(source)]) == 1
    assert "none.atrapnet" in capsys.readouterr().err
    assert main(["ik", str(net), "--targets", str(tmp_path / "none.csv")]) == 1
    assert "none.csv" in capsys.readouterr().err
    assert main(["ik", str(net), "--targets", str(source), "-o", str(source)]) == 1
    assert "is the targets file" in capsys.readouterr().err
    assert source.read_text() == "0.1,0.2,0.3\n"


def test_the_command_writes_solutions_to_stdout_and_the_summary_to_stderr(
    net: Path, tmp_path: Path
) -> None:
    """A real process, as a script would run it: the CSV on stdout can be piped on."""
    source = tmp_path / "targets.csv"
    source.write_text("\n".join(",".join(map(repr, t)) for t in reachable(5)) + "\n")
    command = [sys.executable, "-m", "atrap_studio.cli.main", "ik", str(net)]
    done = subprocess.run(
        [*command, "--targets", str(source), "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert len(rows) == 5 and all(r["status"] in ("reached", "missed") for r in rows)
    assert "5 targets: error median" in done.stderr and "Traceback" not in done.stderr


def test_the_summary_says_when_the_network_learned_one_region_only(
    net: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded = load_network(net)
    provenance = loaded.manifest.provenance.model_copy(update={"variant": "region 2 of 4"})
    regional = tmp_path / "regional.atrapnet"
    save_network(
        regional, loaded.module, loaded.manifest.model_copy(update={"provenance": provenance})
    )
    source = tmp_path / "targets.csv"
    source.write_text("\n".join(",".join(map(repr, t)) for t in reachable(3)) + "\n")
    for network, says in ((regional, True), (net, False)):
        assert main(["ik", str(network), "--targets", str(source), "--threads", "1"]) == 0
        assert ("3-joint arm (trained on region 2 of 4)," in capsys.readouterr().err) is says


@pytest.fixture(scope="module")
def pose_net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(pose_doc(), tmp_path_factory.mktemp("pose"))


def test_solves_a_file_of_poses_and_reports_the_angle_left(
    pose_net: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = ArmChain(ArmGeometry.industrial(6), dtype=torch.float64)
    position, rotation, _ = chain.sample_poses(30, torch.Generator().manual_seed(9))
    quat = quaternion(rotation)
    quat[::2] *= -1  # q and -q are one orientation
    quat[1] *= 3.0  # a quaternion that is not of length 1 is normalised
    rows = torch.cat([position, quat], dim=1).tolist()
    # Line 32: a reachable point with the tip turned back at the base from far out: missed.
    rows.append([1.2, 0.0, 0.3, 0.7071067811865476, 0.0, -0.7071067811865476, 0.0])
    source = tmp_path / "poses.csv"
    source.write_text(
        "x,y,z,qw,qx,qy,qz\n" + "\n".join(",".join(map(repr, r)) for r in rows) + "\n"
    )
    out = tmp_path / "solutions.csv"
    args = ["ik", str(pose_net), "--targets", str(source), "-o", str(out), "--threads", "1"]
    assert main(args) == 0
    printed = capsys.readouterr()
    solved = read_solutions(out)
    assert list(solved[0])[:7] == ["x", "y", "z", "qw", "qx", "qy", "qz"]
    assert list(solved[0])[-3:] == ["error_mm", "angle_error_deg", "status"]
    # The angle written is what the arm's FK of the joint angles gives.
    q = torch.tensor(
        [[float(r[f"joint{j}_rad"]) for j in range(1, 7)] for r in solved], dtype=torch.float64
    )
    _, turned = chain.pose(q)
    asked = from_quaternion(torch.tensor(rows, dtype=torch.float64)[:, 3:])
    written = torch.tensor([float(r["angle_error_deg"]) for r in solved], dtype=torch.float64)
    torch.testing.assert_close(torch.rad2deg(angle_between(turned, asked)), written)
    statuses = [r["status"] for r in solved]
    assert statuses[:30] == ["reached"] * 30 and statuses[30] == "missed"
    assert all(float(r["angle_error_deg"]) <= 0.5 for r in solved[:30])
    assert "31 poses: error median" in printed.out and "within 1 mm and 0.5°" in printed.out
    assert "angle error median" in printed.out and "angle median" in printed.out
    assert f"{source} line 32: target (1.2, 0, 0.3) not reached" in printed.err
    assert (
        "° from its orientation" in printed.err and "or from being turned so there" in printed.err
    )


def test_poses_are_checked_row_by_row(
    pose_net: Path, net: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "poses.csv"
    source.write_text(
        "0.1,0.2,0.3,1,0,0,0\n0.1,0.2,0.3\n0.1,0.2,0.3,0,0,0,0\n0.1,0.2,0.3,1,0,x,0\n"
    )
    assert main(["ik", str(pose_net), "--targets", str(source)]) == 1
    err = capsys.readouterr().err
    assert "line 2: expected 7 values x,y,z,qw,qx,qy,qz as in the rows before, got 3" in err
    assert "line 3: the quaternion qw,qx,qy,qz is all zeros" in err
    assert "line 4: qy is 'x', not a number" in err
    # A pose network needs orientations; a position network turns the tip by refinement alone.
    points = tmp_path / "points.csv"
    points.write_text("0.1,0.2,0.3\n")
    assert main(["ik", str(pose_net), "--targets", str(points)]) == 1
    assert "was trained on poses" in capsys.readouterr().err
