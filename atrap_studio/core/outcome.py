"""What a scene's episodes are judged by: its score, what success means, how it is drawn.

A scene spec declares its :class:`Outcome` from its properties, so every summary (the CLI's run
and eval output, the editor's status bar and run summary, merge tables, crowd rounds) prints
from one declaration, with no torch and no knowledge of arms or any other scene.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Better = Literal["lower", "higher"]


@dataclass(frozen=True)
class Score:
    """The number one episode is judged by.

    Attributes:
        key: snake_case name of the per-episode value the scene reports (``error_mm``,
            ``return``); summaries are keyed ``median_<key>``, ``mean_<key>``, ``p95_<key>``.
        name: how people call it ("tip error", "episode return").
        unit: its unit for display ("mm"), or "" for a pure number.
        better: which way is better.
    """

    key: str
    name: str
    unit: str = ""
    better: Better = "higher"

    def text(self, value: float, digits: int = 2) -> str:
        """``value`` with its unit, e.g. ``3.21 mm`` or ``487.0``."""
        number = f"{value:,.{digits}f}"
        return f"{number} {self.unit}" if self.unit else number


@dataclass(frozen=True)
class Outcome:
    """A scene's declaration of how its episodes end up.

    Attributes:
        score: the number each episode is judged by.
        success: what a successful episode is, in words ("tip within 10 mm of the target").
        snapshot: the kind of snapshot the scene gives the views (``arm``, ``frame``); the
            views, the headless pictures and the exporters choose their renderer by it.
        episode_word: what one episode is called in summaries ("fresh targets", "episodes").
    """

    score: Score
    success: str
    snapshot: str
    episode_word: str = "episodes"

    def summary_keys(self) -> tuple[str, str, str]:
        """The median, mean and 95th-percentile keys of an evaluation summary."""
        key = self.score.key
        return f"median_{key}", f"mean_{key}", f"p95_{key}"

    def describe(self, summary: Mapping[str, float]) -> str:
        """One line for people: ``median tip error 3.21 mm (95th percentile 9.80 mm), 91.0%
        succeeded (tip within 10 mm of the target)``."""
        median, _, p95 = self.summary_keys()
        parts = []
        if median in summary:
            parts.append(f"median {self.score.name} {self.score.text(summary[median])}")
            if p95 in summary:
                parts[-1] += f" (95th percentile {self.score.text(summary[p95])})"
        if "success_rate" in summary:
            parts.append(f"{summary['success_rate']:.1%} succeeded ({self.success})")
        return ", ".join(parts)

    def headline(self, summary: Mapping[str, float]) -> str:
        """A short form for a status bar: ``91.0% succeeded, median 3.2 mm``."""
        median = self.summary_keys()[0]
        parts = []
        if "success_rate" in summary:
            parts.append(f"{summary['success_rate']:.1%} succeeded")
        if median in summary:
            parts.append(f"median {self.score.text(summary[median], 1)}")
        return ", ".join(parts)


#: Used for a scene spec that declares none: the mean reward of an episode, higher is better.
GENERIC = Outcome(
    score=Score("return", "episode return"),
    success="the episode's own success signal",
    snapshot="none",
)
