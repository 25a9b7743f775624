"""Training speed: the shipped arm examples, and our PPO against stable-baselines3's, side by side.

For each contender the clock runs only while it trains (tests on fresh targets pause it), and
every test uses the same 2,048 fresh targets through the same evaluation:

1. ``robot_arm_reach`` (direct trainer): time until 95% of targets are reached within 1 cm;
2. ``robot_arm_reach_ppo`` (our PPO): time until 95% within 2 cm;
3. stable-baselines3 PPO on our registered gymnasium vector env (same arm, same task, same
   sizes and hyper-parameters as our PPO example), given up to ``--sb3-factor`` times the time
   our PPO needed (or ``--budget`` seconds).

    .venv/bin/python benchmarks/train.py [--budget 300] [--threads 1] [--json out.json]
        [--steps N]  (at most N updates per contender: a smoke run's size)
        [--clock cpu]  (time trained as the training thread's CPU time, not the wall clock's)
        [--seeds 0 1]  (the direct example once per seed: its network's and trainer's)
        [--before REV]  (beside it, the direct example as its file was at git revision REV)
        [--set NODE.PROP=VALUE ...]  (today's direct example with these properties changed)

With ``--seeds`` or ``--before`` the direct contenders run interleaved, a test interval of
each in turn, so that a change in the machine's load falls on all of them alike.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import load_graph, parse_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.trainers.base import cosine_lr

EVAL_EPISODES = 2048
EVAL_SEED = 12345
#: How training time is read (``--clock``): the wall clock, or the CPU time of the thread that
#: trains (steadier on a shared machine: other processes' turns are left out; with one torch
#: thread it is the whole cost of training, with more it counts the calling thread's share,
#: its waits for the others included).
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
ROOT = Path(__file__).resolve().parent.parent
DIRECT = "robot_arm_reach"


@dataclass
class Trace:
    """Test results against training time (seconds, evaluations excluded)."""

    name: str
    tolerance_mm: float
    points: list[tuple[float, int, float, float]] = field(
        default_factory=list
    )  # t, steps, rate, median

    def add(self, seconds: float, env_steps: int, summary: dict[str, float]) -> None:
        self.points.append(
            (seconds, env_steps, summary["success_rate"], summary["median_error_mm"])
        )
        print(
            f"  {self.name:<26} {seconds:7.1f} s  {env_steps:>12,} env-steps  "
            f"success {summary['success_rate']:6.1%}  median {summary['median_error_mm']:8.2f} mm",
            flush=True,
        )

    def time_to(self, rate: float) -> float | None:
        return next((t for t, _, r, _ in self.points if r >= rate), None)

    def time_to_median(self, millimetres: float) -> float | None:
        return next((t for t, _, _, m in self.points if m <= millimetres), None)

    @property
    def final(self) -> tuple[float, int, float, float]:
        return self.points[-1]


def evaluator(
    doc: GraphDocument,
) -> tuple[Pipeline, Callable[[Callable[[torch.Tensor], torch.Tensor]], dict[str, float]]]:
    """A pipeline of ``doc`` used only to test policies on the same fresh targets."""
    pipeline = Pipeline(doc, builtin_registry())

    def evaluate(policy: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, float]:
        with torch.no_grad():
            return pipeline.evaluate(policy, EVAL_EPISODES, EVAL_SEED).summary()

    return pipeline, evaluate


@dataclass
class Run:
    """One of our trainers on a graph, trained a test interval at a time."""

    trace: Trace
    pipeline: Pipeline
    evaluate: Callable[[Callable[[torch.Tensor], torch.Tensor]], dict[str, float]]
    limit: int
    step: int = 0
    env_steps: int = 0
    trained: float = 0.0

    def advance(self, clock: Callable[[], float]) -> None:
        """Train up to the next test (the clock running), then test (the clock paused)."""
        trainer = self.pipeline.trainer
        start = clock()
        for _ in range(trainer.budget.eval_every):
            trainer.step(self.step)
            self.step += 1
            self.env_steps += trainer.env_steps_per_update
            if self.step >= self.limit:
                break
        self.trained += clock() - start
        self.trace.add(self.trained, self.env_steps, self.evaluate(trainer.policy))

    def done(self, budget_s: float, goal: float) -> bool:
        reached = bool(self.trace.points) and self.trace.final[2] >= goal
        return reached or self.step >= self.limit or self.trained >= budget_s


def start_run(label: str, doc: GraphDocument, steps: int | None = None) -> Run:
    """Our trainer on ``doc`` (at most ``steps`` updates when given: the graph's run cut short,
    its schedules unchanged), with an evaluator of the same graph."""
    pipeline = Pipeline(doc, builtin_registry())
    trainer = pipeline.trainer
    _, evaluate = evaluator(doc)
    tolerance = pipeline.analysis.props[pipeline.scene_id]["success_mm"]
    trace = Trace(f"{label} ({pipeline.analysis.specs[pipeline.trainer_id].type})", tolerance)
    trainer.plan(trainer.budget.steps)
    limit = trainer.budget.steps if steps is None else min(steps, trainer.budget.steps)
    return Run(trace, pipeline, evaluate, limit)


def race(
    runs: list[Run], budget_s: float, goal: float, clock: Callable[[], float] = time.perf_counter
) -> list[Trace]:
    """Train ``runs`` in turns, a test interval each, until each reaches ``goal`` success, its
    updates or ``budget_s`` seconds of its own training."""
    while unfinished := [run for run in runs if not run.done(budget_s, goal)]:
        for run in unfinished:
            run.advance(clock)
    return [run.trace for run in runs]


def train_ours(
    example: str,
    budget_s: float,
    goal: float,
    steps: int | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Trace:
    """Our trainer on a shipped example, until ``goal`` success or ``budget_s`` seconds (or
    ``steps`` updates, when given: the example's run cut short, its schedules unchanged)."""
    run = start_run(example, load_graph(example_path(example)), steps)
    return race([run], budget_s, goal, clock)[0]


def graph_at(revision: str) -> GraphDocument:
    """The direct example's graph as its file was at git ``revision``."""
    relative = example_path(DIRECT).resolve().relative_to(ROOT)
    text = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:{relative.as_posix()}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return parse_graph(text, path=f"{revision}:{relative.as_posix()}")


def seeded(doc: GraphDocument, seed: int) -> GraphDocument:
    """``doc`` with its network's and trainer's seeds set to ``seed``."""
    copy = doc.model_copy(deep=True)
    for node in copy.nodes:
        if node.type == "nn.factory" or node.type.startswith("trainer."):
            node.props["seed"] = seed
    return copy


def direct_runs(
    seeds: list[int] | None, before: str | None, steps: int | None, settings: list[str]
) -> dict[str, Run]:
    """The direct example's runs, keyed ``direct`` (one seed, today's file) or by revision and
    seed: today's file (with ``settings`` changed), and the file at ``before`` when given, once
    per seed."""
    from rl import changed  # beside this script

    variant = "".join(f", {setting}" for setting in settings)
    today = changed(load_graph(example_path(DIRECT)), settings)
    graphs = [("", variant and f" ({variant.removeprefix(', ')})", today)]
    if before is not None:
        graphs.append((f" @ {before}", f" @ {before}", graph_at(before)))
    runs: dict[str, Run] = {}
    for key, label, doc in graphs:
        for seed in seeds or [None]:
            named = "" if seed is None else f" seed {seed}"
            graph = doc if seed is None else seeded(doc, seed)
            runs[f"direct{key}{named}"] = start_run(f"{DIRECT}{label}{named}", graph, steps)
    return runs


def train_sb3(
    budget_s: float,
    goal: float,
    steps: int | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Trace:
    """stable-baselines3 PPO on ``atrap/RobotArm-v0`` (vector env), our PPO example's settings
    (at most ``steps`` rollouts and updates when given, its schedule unchanged)."""
    from sb3_adapter import SB3VecEnv  # beside this script
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    ours = Pipeline(load_graph(example_path("robot_arm_reach_ppo")), builtin_registry())
    arm = ours.analysis.props[ours.scene_id]
    brain = ours.analysis.props[ours.network_id]
    teach = ours.analysis.props[ours.trainer_id]
    import gymnasium

    import atrap_studio.envs  # noqa: F401 - registers atrap/RobotArm-v0

    env = gymnasium.make_vec(
        "atrap/RobotArm-v0",
        num_envs=arm["instances"],
        vectorization_mode="vector_entry_point",
        joints=arm["joints"],
        success_mm=arm["success_mm"],
    )
    venv = SB3VecEnv(env, seed=0)
    n = arm["instances"]
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=teach["horizon"],
        batch_size=n * teach["horizon"] // teach["minibatches"],
        n_epochs=teach["epochs"],
        # the same cosine decay over the same budget as our trainer (progress runs 1 -> 0)
        learning_rate=lambda remaining: cosine_lr(teach["lr"], round(1000 * (1 - remaining)), 1000),
        gamma=teach["gamma"],
        gae_lambda=teach["gae_lambda"],
        clip_range=teach["clip"],
        ent_coef=teach["entropy_coef"],
        vf_coef=teach["value_coef"],
        max_grad_norm=teach["grad_clip"],
        policy_kwargs={
            "net_arch": {"pi": list(brain["hidden"]), "vf": list(brain["hidden"])},
            "activation_fn": torch.nn.Tanh,
            "log_std_init": math.log(teach["init_std"]),
        },
        device="cpu",
        seed=0,
        verbose=0,
    )
    _, evaluate = evaluator(load_graph(example_path("robot_arm_reach_ppo")))
    trace = Trace("stable-baselines3 PPO", arm["success_mm"])

    def policy(obs: torch.Tensor) -> torch.Tensor:
        action = model.policy._predict(obs, deterministic=True)
        return action.clamp(-1.0, 1.0)

    class Clock(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.trained = 0.0
            self.started = clock()

        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            pass

        def _on_rollout_start(self) -> None:
            self.rollouts = getattr(self, "rollouts", -1) + 1
            if self.rollouts == 0 or self.rollouts % teach["eval_every"]:
                return
            self.trained += clock() - self.started
            trace.add(self.trained, self.num_timesteps, evaluate(policy))
            self.started = clock()

        def _on_training_start(self) -> None:
            self.started = clock()

    timer = Clock()

    budget_steps = teach["steps"] * teach["horizon"] * n  # our PPO example's whole budget
    # with --steps: stop at the first env step after that many rollouts and their updates
    cap = None if steps is None else steps * teach["horizon"] * n

    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            done = bool(trace.points) and (trace.final[2] >= goal or trace.final[0] >= budget_s)
            return not done and (cap is None or self.num_timesteps <= cap)

    from stable_baselines3.common.callbacks import CallbackList

    model.learn(total_timesteps=budget_steps, callback=CallbackList([timer, Stop()]))
    timer.trained += clock() - timer.started
    trace.add(timer.trained, model.num_timesteps, evaluate(policy))
    return trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget", type=float, default=300.0, help="seconds per contender, at most"
    )
    parser.add_argument("--goal", type=float, default=0.95)
    parser.add_argument(
        "--sb3-factor",
        type=float,
        default=3.0,
        help="give SB3 this many times our PPO's time to the goal (at most --budget)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip", nargs="*", default=[], choices=["direct", "ppo", "sb3"])
    parser.add_argument("--json", help="write the traces and goal checks here")
    parser.add_argument(
        "--steps",
        type=int,
        help="updates per contender at most (default: each example's budget; the smoke test's "
        "option: the runs are cut short, their schedules unchanged)",
    )
    parser.add_argument(
        "--clock",
        choices=list(CLOCKS),
        default="wall",
        help="time trained as the wall clock's, or the training thread's CPU time (steadier on "
        "a shared machine; with --threads 1 the whole cost of training)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        help="train the direct example once per seed (its network's and trainer's), in turns",
    )
    parser.add_argument(
        "--before",
        metavar="REV",
        help="also train the direct example as its file was at git revision REV, in turns",
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="NODE.PROP=VALUE",
        help="change a property of today's direct example for this run (VALUE read as YAML; "
        "the file at --before keeps its own)",
    )
    args = parser.parse_args()
    clock = CLOCKS[args.clock]
    torch.set_num_threads(args.threads)
    np.random.seed(0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{platform.machine()}, python {platform.python_version()}"
    )
    traces: dict[str, Trace] = {}
    if "direct" not in args.skip:
        runs = direct_runs(args.seeds, args.before, args.steps, args.set)
        traces.update(
            zip(runs, race(list(runs.values()), args.budget, args.goal, clock), strict=True)
        )
    if "ppo" not in args.skip:
        traces["ppo"] = train_ours("robot_arm_reach_ppo", args.budget, args.goal, args.steps, clock)
    if "sb3" not in args.skip:
        ppo_time = traces["ppo"].time_to(args.goal) if "ppo" in traces else None
        sb3_budget = (
            args.budget if ppo_time is None else min(args.budget, args.sb3_factor * ppo_time)
        )
        traces["sb3"] = train_sb3(sb3_budget, args.goal, args.steps, clock)

    print(
        f"\n{'contender':<40} {'to 90%':>8} {'to 95%':>8} {'final':>7} "
        f"{'median mm':>10} {'env-steps/s':>12}"
    )
    for trace in traces.values():
        t90, t95 = trace.time_to(0.90), trace.time_to(args.goal)
        seconds, steps, rate, median = trace.final
        fmt = lambda t: "—" if t is None else f"{t:.1f}s"  # noqa: E731
        print(
            f"{trace.name + f' (<= {trace.tolerance_mm:g} mm)':<40} {fmt(t90):>8} {fmt(t95):>8} "
            f"{rate:>7.1%} {median:>10.2f} {steps / max(seconds, 1e-9):>12,.0f}"
        )

    checks: list[dict[str, Any]] = []

    def check(label: str, value: float | None, limit: float, better: str) -> None:
        ok = value is not None and (value <= limit if better == "<=" else value >= limit)
        shown = "not reached" if value is None else f"{value:.2f}"
        checks.append({"goal": label, "value": value, "limit": limit, "passed": ok})
        print(f"  {'PASS' if ok else 'MISS'}  {label:<58} {shown:>12}  goal {better} {limit:g}")

    print("\ngoals:")
    for key, direct in traces.items():
        if not key.startswith("direct"):
            continue
        which = key.removeprefix("direct")
        t95 = direct.time_to(args.goal)
        check(f"direct{which}: seconds to 95% within 1 cm", t95, 60, "<=")
        median = next((m for t, _, r, m in direct.points if r >= args.goal), direct.final[3])
        check(f"direct{which}: median error at that point (mm)", median, 5, "<=")
    if "ppo" in traces:
        check("PPO: seconds to 95% within 2 cm", traces["ppo"].time_to(args.goal), 90, "<=")
    if "ppo" in traces and "sb3" in traces:
        ours_t, theirs_t = traces["ppo"].time_to(args.goal), traces["sb3"].time_to(args.goal)
        if ours_t is not None:
            # not reached by SB3 in its budget: its budget is a lower bound on its time
            bound = theirs_t if theirs_t is not None else traces["sb3"].final[0]
            label = "PPO speed-up over stable-baselines3 (x)" + ("" if theirs_t else ", at least")
            check(label, bound / ours_t, 3, ">=")
    if "ppo" in traces and "sb3" in traces:
        # a level both can reach: compare the time each needs to get there
        level = 100.0
        ours_t = traces["ppo"].time_to_median(level)
        theirs_t = traces["sb3"].time_to_median(level)
        if ours_t is not None:
            bound = theirs_t if theirs_t is not None else traces["sb3"].final[0]
            label = f"PPO speed-up to median <= {level:g} mm (x)" + (
                "" if theirs_t else ", at least"
            )
            check(label, bound / ours_t, 3, ">=")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {
                    "traces": {k: asdict(v) for k, v in traces.items()},
                    "checks": checks,
                    "threads": args.threads,
                    "clock": args.clock,
                    "torch": torch.__version__,
                },
                handle,
                indent=2,
            )


if __name__ == "__main__":
    main()
