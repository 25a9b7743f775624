"""The architect's controller: a Kalman filter tracks the training loss like a radar tracks a
target, and the track decides whether the network should grow, shrink or hold.

The filter follows the logarithm of the loss (so its trend is a relative rate: -0.001 means
"falling 0.1% per update") with a constant-velocity model: state [level, trend], the level
moves by the trend each update, both wander a little (process noise), and each minibatch loss
is a noisy measurement of the level. Before each measurement the filter predicts where the
loss will be and how far it may stray: the *window* is ``gate`` standard deviations of that
prediction. A measurement above the window is the track being lost.

- grow: the track is lost (``lost_count`` of the last ``lost_window`` losses above the
  window: the loss jumped, the task changed), or the loss stalls above its target (the trend,
  known to within ``stall_rate``, has fallen slower than ``stall_rate`` for ``patience``
  updates in a row);
- shrink: the track is held well (no loss outside the window for ``calm_window`` updates) and
  the estimate is sure: the least hopeful trend the filter allows (``trend + z·σ``) still falls
  faster than ``shrink_rate`` and the loss is below where it was at the last change, or the
  least hopeful level is at the target;
- hold: otherwise, during the first ``warmup`` updates and for ``cooldown`` updates after a
  change. The gap between ``stall_rate`` and ``shrink_rate``, the confidence band and the
  cooldown are the hysteresis.

A change makes the loss a new target: the filter starts again, re-acquiring the track with a
fresh warm-up inside the cooldown.

The measurement noise is not given: it is estimated from the losses themselves (a running
mean of half the squared step-to-step change), so the window widens after a lost track and
narrows again as the loss settles.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Action = Literal["grow", "shrink", "hold"]


@dataclass(frozen=True)
class ArchitectConfig:
    """The controller's settings (log-loss units per update where a rate)."""

    #: The loss the network should reach; it does not grow for a stall below it.
    target: float = 0.0
    #: How many updates the filter's memory spans: its process noise is the measured noise
    #: divided by horizon² (level) and horizon⁴ (trend), so a noisier loss is averaged as
    #: long as a clean one, and the trend follows a bending curve within about this many.
    horizon: int = 100
    #: Half-width of the window, in standard deviations of the predicted loss.
    gate: float = 3.0
    #: The track is lost when this many of the last ``lost_window`` losses lie above the window.
    lost_count: int = 3
    lost_window: int = 5
    #: Grow when the trend has fallen slower than this (per update) for ``patience`` updates
    #: in a row (5e-4: under 5% per hundred updates).
    stall_rate: float = 5e-4
    patience: int = 50
    #: Shrink only when even the least hopeful trend falls faster than this (per update).
    shrink_rate: float = 2e-3
    #: Standard deviations of the trend that make an estimate "confident".
    confidence: float = 2.5
    #: Updates without any loss outside the window before the track counts as held well.
    calm_window: int = 50
    #: Updates whose losses measure the noise before the first decision; updates between two
    #: decisions.
    warmup: int = 100
    cooldown: int = 200
    #: Weight of each new squared step in the running estimate of the measurement noise.
    noise_rate: float = 0.02

    def __post_init__(self) -> None:
        if not 1 <= self.lost_count <= self.lost_window:
            raise ValueError("lost_count must lie between 1 and lost_window")
        if not 0.0 <= self.stall_rate < self.shrink_rate:
            raise ValueError("stall_rate must be below shrink_rate (that gap is the hysteresis)")
        if self.horizon < 2 or self.gate <= 0.0 or self.patience < 1:
            raise ValueError("horizon must be at least 2, gate positive, patience at least 1")
        if not 3 <= self.warmup <= self.cooldown:
            raise ValueError(
                "warmup must be at least 3 updates (it measures the noise) and at most the "
                "cooldown (the track is re-acquired after each change)"
            )
        if not 0.0 < self.noise_rate <= 1.0:
            raise ValueError("noise_rate must lie in (0, 1]")


@dataclass(frozen=True)
class Decision:
    """One update's verdict and the track behind it (the loss in its own units)."""

    step: int
    action: Action
    reason: str
    loss: float
    level: float  # filtered loss
    trend: float  # relative change per update
    trend_std: float
    window: float  # half-width of the window around the predicted loss, relative
    innovation: float  # measured minus predicted, in window standard deviations

    def metrics(self) -> dict[str, float]:
        """Slash-namespaced values for the event stream and the curves."""
        code = {"shrink": -1.0, "hold": 0.0, "grow": 1.0}[self.action]
        return {
            "architect/level": self.level,
            "architect/trend": self.trend,
            "architect/trend_std": self.trend_std,
            "architect/window": self.window,
            "architect/innovation": self.innovation,
            "architect/decision": code,
        }


class TrendFilter:
    """Kalman filter with state [level, trend] and the model level += trend each step."""

    def __init__(self, level_noise: float, trend_noise: float) -> None:
        self.q = (level_noise, trend_noise)
        self.x = [0.0, 0.0]
        self.p = [[0.0, 0.0], [0.0, 0.0]]
        self.started = False

    def predict(self, noise: float) -> tuple[float, float]:
        """Advance one step; return the predicted measurement and its variance."""
        (a, b), (_, d) = self.p
        self.x = [self.x[0] + self.x[1], self.x[1]]
        # F P Fᵀ + Q with F = [[1, 1], [0, 1]]
        self.p = [[a + 2 * b + d + self.q[0], b + d], [b + d, d + self.q[1]]]
        return self.x[0], self.p[0][0] + noise

    def update(self, value: float, noise: float) -> tuple[float, float]:
        """Take one measurement; return (innovation, its variance)."""
        if not self.started:  # the first value fixes the level; the trend is still unknown
            self.x = [value, 0.0]
            self.p = [[noise, 0.0], [0.0, 1.0]]
            self.started = True
            return 0.0, noise
        predicted, spread = self.predict(noise)
        innovation = value - predicted
        (a, b), (_, d) = self.p
        gain = (a / spread, b / spread)
        self.x = [self.x[0] + gain[0] * innovation, self.x[1] + gain[1] * innovation]
        # (I - K H) P, kept symmetric
        self.p = [
            [a - gain[0] * a, b - gain[0] * b],
            [b - gain[0] * b, d - gain[1] * b],
        ]
        return innovation, spread


_NOISE_FLOOR = 1e-12  # keeps the window open for a loss that is exactly constant


@dataclass
class _Memory:
    steps: int = 0
    warm: list[float] = field(default_factory=list)
    last: float = 0.0
    noise: float = _NOISE_FLOOR
    since_change: int = 0
    above: deque[bool] = field(default_factory=deque)
    calm: int = 0
    stalled: int = 0
    floor: float | None = None  # the log loss tracked when the network last changed


class Controller:
    """Feed it one loss per update; it answers grow, shrink or hold, with the reason."""

    def __init__(self, config: ArchitectConfig | None = None) -> None:
        self.config = config or ArchitectConfig()
        self.filter = TrendFilter(0.0, 0.0)  # process noise: set before each update
        # the first window opens after the warm-up, not a cooldown after it
        self.memory = _Memory(
            since_change=self.config.cooldown, above=deque(maxlen=self.config.lost_window)
        )

    def update(self, loss: float) -> Decision:
        """Track one more loss and decide.

        Raises:
            ValueError: a loss that is not a positive finite number (the filter tracks its log).
        """
        if not (math.isfinite(loss) and loss > 0.0):
            raise ValueError(f"the architect tracks positive losses; got {loss!r}")
        cfg, mem = self.config, self.memory
        value = math.log(loss)
        mem.steps += 1
        mem.since_change += 1
        if len(mem.warm) < cfg.warmup:
            mem.warm.append(value)
            if len(mem.warm) == cfg.warmup:
                self._start()
            reason = "warming up" if mem.steps <= cfg.warmup else "re-acquiring the track"
            return Decision(mem.steps, "hold", reason, loss, loss, 0.0, 0.0, 0.0, 0.0)
        # The window is judged with the noise known before this loss, which then joins it.
        self.filter.q = self._process_noise(mem.noise)
        innovation, spread = self.filter.update(value, mem.noise)
        mem.noise += cfg.noise_rate * (0.5 * (value - mem.last) ** 2 - mem.noise)
        mem.noise = max(mem.noise, _NOISE_FLOOR)
        mem.last = value
        deviations = innovation / math.sqrt(spread)
        if mem.since_change > cfg.cooldown:
            mem.above.append(deviations > cfg.gate)
            mem.calm = 0 if abs(deviations) > cfg.gate else mem.calm + 1
            level, trend = self.filter.x
            above_target = cfg.target <= 0 or level > math.log(cfg.target)
            known = math.sqrt(self.filter.p[1][1]) < cfg.stall_rate  # the trend is sure enough
            slow = above_target and known and trend > -cfg.stall_rate
            mem.stalled = mem.stalled + 1 if slow else 0
        action, reason = self._decide(spread)
        level, trend = self.filter.x
        decision = Decision(
            step=mem.steps,
            action=action,
            reason=reason,
            loss=loss,
            level=math.exp(level),
            trend=trend,
            trend_std=math.sqrt(self.filter.p[1][1]),
            window=cfg.gate * math.sqrt(spread),
            innovation=deviations,
        )
        if action != "hold":  # the network changes: its loss is a new target to acquire
            mem.since_change = 0
            mem.above.clear()
            mem.calm = mem.stalled = 0
            mem.floor = level
            mem.warm = []
            self.filter = TrendFilter(0.0, 0.0)  # process noise: set before each update
        return decision

    def _process_noise(self, noise: float) -> tuple[float, float]:
        horizon = float(self.config.horizon)
        return noise / horizon**2, noise / horizon**4

    def _start(self) -> None:
        """End of the warm-up: measure the noise on its losses, then run the filter over them
        (a filter started blind would trust its first, noisy, losses far too much)."""
        mem = self.memory
        steps = [b - a for a, b in itertools.pairwise(mem.warm)]
        mem.noise = max(sum(d * d for d in steps) / (2 * len(steps)), _NOISE_FLOOR)
        self.filter.q = self._process_noise(mem.noise)
        for value in mem.warm:
            self.filter.update(value, mem.noise)
        mem.last = mem.warm[-1]

    def _decide(self, spread: float) -> tuple[Action, str]:
        cfg, mem = self.config, self.memory
        if mem.since_change <= cfg.cooldown:
            return "hold", "cooling down after a change"
        lost = sum(mem.above)
        if lost >= cfg.lost_count:
            return (
                "grow",
                f"track lost: {lost} of the last {len(mem.above)} losses above the window",
            )
        if mem.stalled >= cfg.patience:
            trend = self.filter.x[1]
            return "grow", (
                f"stalled: trend {trend:+.2e}/update, slower than -{cfg.stall_rate:.0e} for "
                f"{mem.stalled} updates"
            )
        level, trend = self.filter.x
        level_std, trend_std = math.sqrt(self.filter.p[0][0]), math.sqrt(self.filter.p[1][1])
        z = cfg.confidence
        # a fall that only wins back what the last change cost is no reason to shrink again
        recovered = mem.floor is None or level < mem.floor
        falling = trend + z * trend_std < -cfg.shrink_rate and recovered
        at_target = cfg.target > 0 and level + z * level_std <= math.log(cfg.target)
        if mem.calm >= cfg.calm_window and (falling or at_target):
            why = "at target" if at_target else f"falling {trend:+.2e}/update"
            return "shrink", f"tracked well ({why}, window ±{cfg.gate * math.sqrt(spread):.3f})"
        return "hold", "tracking"

    def state(self) -> dict[str, Any]:
        """Everything needed to resume, as JSON-ready data (for checkpoints)."""
        mem = self.memory
        return {
            "config": asdict(self.config),
            "x": list(self.filter.x),
            "p": [list(row) for row in self.filter.p],
            "started": self.filter.started,
            "memory": {**asdict(mem), "above": list(mem.above)},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Controller:
        """A controller that continues exactly where :meth:`state` left off."""
        controller = cls(ArchitectConfig(**state["config"]))
        controller.filter.x = [float(v) for v in state["x"]]
        controller.filter.p = [[float(v) for v in row] for row in state["p"]]
        controller.filter.started = bool(state["started"])
        memory = dict(state["memory"])
        above = deque((bool(v) for v in memory.pop("above")), maxlen=controller.config.lost_window)
        controller.memory = _Memory(**memory, above=above)
        return controller
