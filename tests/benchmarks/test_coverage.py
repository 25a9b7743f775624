"""Every benchmark script is smoke-run somewhere, so none can rot unseen."""

from __future__ import annotations

from tests.benchmarks.smoke import BENCHMARKS
from tests.benchmarks.test_file_digests_smoke import SMOKE as DIGESTS_SMOKE
from tests.benchmarks.test_ik_frontier_smoke import SMOKE as FRONTIER_SMOKE
from tests.benchmarks.test_ik_pose_smoke import SMOKE as IK_POSE_SMOKE
from tests.benchmarks.test_smoke import SMOKE
from tests.gl.test_benchmark_smoke import SMOKE as GL_SMOKE


def test_every_benchmark_script_has_a_smoke_run() -> None:
    """A script in benchmarks/ is smoke-run here or under Xvfb, or is a module one of them uses."""
    helpers = {"sb3_adapter.py": "train.py", "cleanrl_ppo.py": "rl.py", "code_at.py": "tanks.py"}
    tables = (SMOKE, DIGESTS_SMOKE, IK_POSE_SMOKE, FRONTIER_SMOKE, GL_SMOKE)
    smoked = {smoke.script for table in tables for smoke in table.values()}
    for script in sorted(path.name for path in BENCHMARKS.glob("*.py")):
        if script in helpers:
            user = (BENCHMARKS / helpers[script]).read_text()
            assert f"from {script[:-3]} import" in user and helpers[script] in smoked, script
        else:
            assert script in smoked, f"benchmarks/{script} has no smoke run"
