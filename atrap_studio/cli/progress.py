"""The CLI's observer of run events: a live progress bar with the key metrics."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from atrap_studio.core.events import Event
from atrap_studio.core.network_changes import describe_change


class ProgressObserver:
    """Shows updates done, speed, loss, reward, success and the share of random actions."""

    def __init__(self, console: Console, total: int, title: str) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[stats]}"),
            console=console,
            transient=False,
        )
        self.task = self.progress.add_task(title, total=total, stats="")

    def __enter__(self) -> ProgressObserver:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: Event) -> None:
        if event.kind == "started":
            self.progress.update(self.task, total=event.data["steps"], completed=event.step)
        elif event.kind == "step":
            metrics: dict[str, float] = event.data["metrics"]
            self.progress.update(self.task, completed=event.step, stats=format_stats(metrics))
        elif event.kind in ("paused", "resumed", "checkpoint"):
            self.progress.update(self.task, completed=event.step)
        elif event.kind == "architecture":
            self.progress.console.print(describe_change(event.step, event.data))


def format_stats(metrics: dict[str, Any]) -> str:
    """One line of the metrics people watch: speed, loss, reward, success, exploration."""
    parts = [f"{metrics.get('perf/env_steps_per_s', 0.0):,.0f} env-steps/s"]
    if "loss/total" in metrics:
        parts.append(f"loss {metrics['loss/total']:.4g}")
    if "reward/total" in metrics:
        parts.append(f"reward {metrics['reward/total']:.4g}")
    # several learning agents: each one's reward, after its trainer's id
    parts += [
        f"{key[: -len(':reward/total')]} reward {value:.4g}"
        for key, value in metrics.items()
        if key.endswith(":reward/total")
    ]
    if "eval/success_rate" in metrics:
        parts.append(f"success {metrics['eval/success_rate']:.1%}")
    elif "scene/success_rate" in metrics:
        parts.append(f"success {metrics['scene/success_rate']:.1%}")
    if "explore/random_share" in metrics:
        parts.append(f"random {metrics['explore/random_share']:.0%}")
    return " · ".join(parts)
