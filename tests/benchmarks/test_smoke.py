"""Benchmarks do not rot: every script in benchmarks/ that needs no OpenGL runs here at tiny sizes
(offscreen Qt) and must end well and print the figures it promises. The OpenGL ones (the neuron
view, the viewports, the soak) run in tests/gl/test_benchmark_smoke.py under Xvfb.

Sizes are the smallest that still go through every code path; the figures they print mean
nothing and no test looks at a timing. The scripts run in the background a few at a time
(tests/benchmarks/smoke.py); each test checks its own.
"""

from __future__ import annotations

import json
import re

from tests.benchmarks.smoke import NUMBER, Ran, Smoke, lines, one_line, smoke_fixtures

SMOKE = {
    "test_validation": Smoke("validation.py", "--file-sizes", "200", "--repeats", "1"),
    "test_throughput": Smoke("throughput.py", "--instances", "8", "--seconds", "0.1"),
    "test_rl_against_stable_baselines3": Smoke(
        "rl.py",
        *("--seeds", "0", "--budget", "1", "--eval-steps", "2048", "--eval-episodes", "2"),
        *("--zoo-steps", "4096", "--json", "{out}/rl.json", "--clock", "cpu"),
    ),
    "test_rl_with_a_property_changed": Smoke(
        "rl.py",
        *("--tasks", "arm_steps", "--seeds", "0", "--budget", "1", "--skip", "sb3"),
        *("--set", "move.fine_within_mm=0", "teach.gamma=0.9", "--json", "{out}/rl.json"),
    ),
    "test_gymnasium_scene": Smoke("gymnasium_scene.py", "--instances", "4", "--seconds", "0.05"),
    "test_ik": Smoke(
        "ik.py",
        *("--targets", "50", "--ikpy-targets", "5", "--min-time", "0"),
        *("--train-out", "{out}/ik-train", "--train-steps", "5", "--json", "{out}/ik.json"),
    ),
    "test_train_with_stable_baselines3": Smoke(
        "train.py", "--steps", "3", "--json", "{out}/train.json"
    ),
    "test_train_seeds_beside_an_earlier_example": Smoke(
        "train.py",
        *("--skip", "ppo", "sb3", "--steps", "2", "--seeds", "0", "1", "--before", "HEAD"),
        *("--set", "brain.hidden=[16, 16]", "--clock", "cpu", "--json", "{out}/train.json"),
    ),
    "test_crowd_without_the_flower_crowd": Smoke(
        "crowd.py",
        *("--steps", "4", "--instances", "64", "--regions", "2", "--distill-steps", "4"),
        *("--episodes", "64", "--no-crowd"),
        *("--out", "{out}/vast-world", "--chart", "{out}/vast-world.png"),
    ),
    "test_editor": Smoke("editor.py", "--updates", "5", "--threads", "1"),
    "test_startup": Smoke("startup.py", "--rounds", "1", "--bundle", "{out}/no-bundle"),
    "test_trainer_cost": Smoke(
        "trainer_cost.py", "--instances", "64", "--updates", "2", "--before", "HEAD"
    ),
    "test_architect": Smoke(
        "architect.py",
        *("--instances", "32", "--updates", "12", "--cost-updates", "2", "--seeds", "1"),
        *("--test-every", "6", "--episodes", "16", "--widths", "8", "--every", "4"),
        *("--out", "{out}/architect"),
    ),
    "test_tanks": Smoke(
        "tanks.py",
        *("--instances", "16", "--rays", "8", "--seconds", "0.05", "--before", "HEAD"),
        *("--budget", "1"),
        *("--test-every", "1", "--games", "8", "--sees", "both", "--self-play", "0.5"),
        *("--chart", "{out}/tanks.png", "--json", "{out}/tanks.json"),
    ),
}
smoke_runs, ran = smoke_fixtures(SMOKE, "offscreen")


def test_validation(ran: Ran) -> None:
    one_line(ran.output, r"\s*100\s+\d+\.\d{3}")
    for size in ("1,000", "10,000"):  # with the growth factor against the size before
        one_line(ran.output, rf"\s*{size}\s+\d+\.\d{{3}}\s+\d+\.\d")
    seconds = rf"\s+{NUMBER} s"
    one_line(ran.output, rf"\s*200 nodes{seconds}{seconds}\s+{NUMBER}x{seconds}{seconds}{seconds}")
    one_line(
        ran.output, rf"`atrap validate` of the 7-node arm example .*: {NUMBER} s \(CPU {NUMBER} s\)"
    )


def test_throughput(ran: Ran) -> None:
    one_line(ran.output, r"\s*N\s+graph env-steps/s\s+hand-written\s+graph/hand")
    one_line(ran.output, r"\s*8\s+[\d,]+\s+[\d,]+\s+\d+%")


def test_rl_against_stable_baselines3(ran: Ran) -> None:
    """Every task, both contenders, one seed; the races end by budget or threshold."""
    sb3 = r"stable-baselines3 [\d.]+ "
    for task, ours, theirs in (
        ("cartpole", "PPO", sb3 + "PPO"),
        ("pendulum", "PPO", sb3 + "PPO"),
        ("pendulum_sac", "SAC", sb3 + "SAC"),
        ("arm", "PPO", "one-file CleanRL-style PPO"),
        ("arm_steps", "PPO", "one-file CleanRL-style PPO"),
    ):
        for contender in (rf"ours \(atrap {ours}\)", theirs):
            one_line(ran.output, rf"{task}\s+{contender}\s+0\s+(\d+\.\d s|not solved)\s+\S+")
        assert len(lines(ran.output, rf"{task}: .*: solved \d of 1 seeds, .*")) == 2
    races = json.loads((ran.out / "rl.json").read_text())
    assert len(races) == 10 and all(race["trace"] for race in races)


def test_rl_with_a_property_changed(ran: Ran) -> None:
    """The variant races under its own name, so its figures are never taken for the example's,
    with the values the compiled graph holds (the example's own: 100 mm, gamma 0.95)."""
    one_line(ran.output, r"arm_steps seed 0: plays with move.fine_within_mm = 0(\.0)?")
    one_line(ran.output, r"arm_steps seed 0: plays with teach.gamma = 0.9")
    contender = r"ours \(atrap PPO, move.fine_within_mm=0, teach.gamma=0.9\)"
    one_line(ran.output, rf"arm_steps\s+{contender}\s+0\s+(\d+\.\d s|not solved)\s+\S+")
    races = json.loads((ran.out / "rl.json").read_text())
    assert [race["contender"] for race in races] == [
        "ours (atrap PPO, move.fine_within_mm=0, teach.gamma=0.9)"
    ]


def test_gymnasium_scene(ran: Ran) -> None:
    one_line(ran.output, r"environment\s+N\s+gymnasium\s+through graph\s+ratio.*")
    for env_id in ("CartPole-v1", "Pendulum-v1"):
        one_line(ran.output, rf"{env_id}\s+4\s+[\d,]+\s+[\d,]+\s+\d+%")


def test_ik(ran: Ran) -> None:
    """Trains the example for a few updates (no --network), then every solver and ikpy."""
    out = ran.output
    assert (ran.out / "ik-train" / "network.atrapnet").is_file()
    # name, dtype, targets, median, p95 and max mm, share within 1 mm, solves/s, iterations
    row = r"\s+float(32|64)\s+\d+(\s+[\d.e+-]+){3}\s+[\d.]+%\s+[\d,]+(\s+\d+)?"
    names = [
        "network",
        *(f"network \\+ {k} DLS" for k in (1, 2, 3)),
        r"network \+ 3 DLS, cold DLS on misses",
        r"DLS \(cold start\)",
        r"plain DLS \(cold start, no restarts\)",
        r"FABRIK \(cold start\)",
        *(rf"DLS \(cold start, {k} steps?\)" for k in (1, 2, 3)),
        r"ikpy [\d.]+ \(cold start\)",
    ]
    for name in names:
        assert lines(out, name + row), f"no row for {name!r} in:\n{out}"
    goals = lines(out, rf"\s+(PASS|MISS)\s+.+\s+goal [<>]= [\d.]+\s+\S+\s+ratio\s+{NUMBER}x")
    assert len(goals) == 6, out
    one_line(out, r"\s+\d of 6 goals met.*")
    one_line(out, r"reproduce: .*benchmarks/ik\.py --targets 50 .*--network .*")
    document = json.loads((ran.out / "ik.json").read_text())
    assert len(document["rows"]) == 15
    assert len(document["goals"]) == 6


def test_train_with_stable_baselines3(ran: Ran) -> None:
    """Our two trainers and stable-baselines3's PPO, which also smoke-runs sb3_adapter.py (the
    VecEnv over our vector env, whose one-step episodes end at every step)."""
    out = ran.output
    names = {
        "direct": r"robot_arm_reach \(trainer\.direct\)",
        "ppo": r"robot_arm_reach_ppo \(trainer\.ppo\)",
        "sb3": r"stable-baselines3 PPO",
    }
    for name in names.values():
        trace = rf"\s+{name}\s+[\d.]+ s\s+[\d,]+ env-steps\s+success\s+[\d.]+%\s+median\s+[\d.]+ mm"
        assert lines(out, trace), f"no test result of {name} in:\n{out}"
        one_line(out, rf"{name} \(<= \d+ mm\)\s+\S+\s+\S+\s+[\d.]+%\s+[\d.]+\s+[\d,]+")
    one_line(out, r"goals:")
    one_line(out, r"\s+(PASS|MISS)\s+direct: seconds to 95% within 1 cm\s+.*")
    one_line(out, r"\s+(PASS|MISS)\s+PPO: seconds to 95% within 2 cm\s+.*")
    traces = json.loads((ran.out / "train.json").read_text())["traces"]
    assert set(traces) == set(names)
    assert all(trace["points"] for trace in traces.values())


def test_train_seeds_beside_an_earlier_example(ran: Ran) -> None:
    """The direct example with a property changed, once per seed, beside its file at a git
    revision, in turns."""
    out = ran.output
    labels = {
        f"direct{at} seed {seed}": f"robot_arm_reach{shown} seed {seed}"
        for at, shown in (("", " (brain.hidden=[16, 16])"), (" @ HEAD", " @ HEAD"))
        for seed in (0, 1)
    }
    for key, label in labels.items():
        name = re.escape(f"{label} (trainer.direct)")
        trace = rf"\s+{name}\s+[\d.]+ s\s+[\d,]+ env-steps\s+success\s+[\d.]+%\s+median.*"
        assert lines(out, trace), f"no test result of {label} in:\n{out}"
        one_line(out, rf"\s+(PASS|MISS)\s+{re.escape(key)}: seconds to 95% within 1 cm\s+.*")
    document = json.loads((ran.out / "train.json").read_text())
    assert set(document["traces"]) == set(labels)
    assert document["clock"] == "cpu"
    # two updates each, tested once: the runs took turns and none was cut short
    assert all(len(trace["points"]) == 1 for trace in document["traces"].values())
    assert all(trace["points"][0][1] == 2 * 1024 for trace in document["traces"].values())


def test_crowd_without_the_flower_crowd(ran: Ran) -> None:
    """The vast-world experiment's whole-world network, region networks and merges. The Flower
    crowd itself (real SuperLink and SuperNode processes) takes over a minute a round on two
    cores, so --no-crowd: tests/crowd runs the loopback crowd."""
    out = ran.output
    for name in ("best of 2 region networks", "their average", "their distilled merge"):
        one_line(out, rf"{name}: {NUMBER}× the whole-world network's error")
        one_line(out, rf"\| {name} \| {NUMBER} \| {NUMBER} \| .*\|")
    one_line(out, rf"\| one network, whole world \| {NUMBER} \| 1\.00 \| .*\|")
    chart = ran.out / "vast-world.png"
    one_line(out, rf"chart: {chart}")
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert len(json.loads((ran.out / "vast-world" / "vast-world.json").read_text())["rows"]) == 4


def test_startup(ran: Ran) -> None:
    """Without a bundle (the suite builds none) the source install is measured alone."""
    out = ran.output
    one_line(
        out, r"no bundle at .*no-bundle \(scripts/package builds it\): the source install only"
    )
    one_line(out, rf"atrap --version \(source\)\s+{NUMBER}\s+{NUMBER}\s+1\.00x")
    one_line(out, rf"editor to a drawn window \(source\)\s+{NUMBER}\s+{NUMBER}\s+1\.00x")
    assert "(bundle)" not in out


def test_editor(ran: Ran) -> None:
    """Training headless and from the editor (its live views closed, so no OpenGL)."""
    out = ran.output
    one_line(out, r"arm example, 5 updates, 1 thread\(s\)")
    one_line(out, r"\s+headless:\s+[\d.]+ updates/s")
    one_line(out, r"\s+in editor:\s+[\d.]+ updates/s\s+\(\d+% of headless\)")
    one_line(
        out,
        rf"\s+event loop lateness of a 20 ms timer while training: median {NUMBER} ms, "
        rf"p99 {NUMBER} ms, worst {NUMBER} ms \(\d+ ticks\)",
    )


def test_trainer_cost(ran: Ran) -> None:
    """Each arm trainer's split, today's and HEAD's side by side, and whether they agree."""
    out = ran.output
    one_line(out, r"arm, 64 instances, 1 thread, mean of 2 updates; load average .*")
    one_line(
        out,
        r"trainer\s+version\s+update\s+wall\s+steps/s\s+scene\s+acting\s+l\.fwd\s+l\.bwd\s+"
        r"bookkeeping\s+scene\+fwd\s+scene\+net",
    )
    for trainer in ("PPO robot_arm_steps_ppo", "PPO robot_arm_reach_ppo", "SAC steps graph"):
        for version in ("now", "HEAD"):
            one_line(out, rf"{trainer}.*\s+{version}(\s+{NUMBER} ms){{2}}\s+{NUMBER}(\s+\d+%){{7}}")
    ratios = lines(out, rf"\s+now/then(\s+{NUMBER}x){{2}}\s+same networks .*: (yes|NO)")
    assert len(ratios) == 3, out


def test_architect(ran: Ran) -> None:
    out = ran.output
    one_line(out, r"arm example, 32 instances, 1 thread, CPU time")
    one_line(out, rf"\s+{NUMBER} ms\s+{NUMBER} ms\s+{NUMBER}x")
    one_line(out, rf"\s+\[8, 8\]\s+{NUMBER} ms\s+{NUMBER} ms\s+{NUMBER}x")
    for name in ("fixed small", "fixed medium", "fixed large", "schedule from", "Kalman architect"):
        one_line(out, rf"\| {name} .*\| {NUMBER} \| {NUMBER}% \|.*")
    one_line(out, r"The bar is (not )?met\. The Kalman architect ended at .*")
    saved = json.loads((ran.out / "architect" / "architect.json").read_text())
    assert len(saved["trials"]) == 5 and saved["verdict"].startswith("The bar is")


def test_tanks(ran: Ran) -> None:
    one_line(
        ran.output,
        r"arena \+ 8-ray camera at 16 arenas, graph step, no network \(load average"
        r"( [\d.]+){3} on \d+ cores\)",
    )
    one_line(ran.output, r"\s+now\s+HEAD \(as it was\)\s+now/then")
    for threads in ("1 thread", "2 threads"):  # now, as it was at HEAD, and the ratio
        one_line(ran.output, rf"\s+{threads}\s+[\d,]+ env-steps/s\s+[\d,]+ env-steps/s\s+[\d.]+x")
    one_line(ran.output, r"\s+(PASS|MISS) goal >= 100,000 env-steps/s .*")
    for opponent in ("wanderer", "hunter"):
        for label in (opponent, rf"{opponent} \(CNN\)"):
            assert lines(ran.output, rf"\s+{label}\s+[\d.]+ s\s+[\d,]+ steps\s+wins\s+[\d.]+%")
            one_line(ran.output, rf"{label}: \d+% wins after (\d+\.\d s|not reached); .*")
            one_line(ran.output, rf"{label}(\s+[\d.]+%){{5}}\s+(monotonic|not monotonic), span .*")
    one_line(ran.output, r"difficulty\s+1\.00\s+0\.75\s+0\.50\s+0\.25\s+0\.00")
    one_line(
        ran.output,
        r"self-play for [\d.]+ s \(\d+ updates\), then against the idle [\d.]+%, "
        r"the wanderer [\d.]+%, the hunter [\d.]+%",
    )
    assert (ran.out / "tanks.png").stat().st_size > 1000
    record = json.loads((ran.out / "tanks.json").read_text())
    assert set(record["throughput"]) == {"1", "2"} and len(record["curves"]) == 4
    assert set(record["throughput_before"]) == {"1", "2"} and record["before"] == "HEAD"
    assert [c["sees"] for c in record["curves"]] == ["strip", "image"] * 2
    assert set(record["self_play"]) == {"idle", "wanderer", "hunter"}
