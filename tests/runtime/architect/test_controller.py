"""The Kalman controller on synthetic loss streams."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from atrap_studio.runtime.architect.controller import (
    ArchitectConfig,
    Controller,
    Decision,
    TrendFilter,
)


def stream(count: int, seed: int, *, rate: float, noise: float, level: float = 1.0) -> list[float]:
    """Losses falling by ``rate`` per update (in log), with log-normal minibatch noise."""
    rng = random.Random(seed)
    return [level * math.exp(-rate * t + rng.gauss(0.0, noise)) for t in range(count)]


def decisions(losses: list[float], config: ArchitectConfig | None = None) -> list[Decision]:
    controller = Controller(config)
    return [controller.update(loss) for loss in losses]


def changes(made: list[Decision]) -> list[tuple[int, str]]:
    return [(d.step, d.action) for d in made if d.action != "hold"]


def test_the_filter_recovers_level_and_trend_of_a_clean_line() -> None:
    kalman = TrendFilter(level_noise=1e-6, trend_noise=1e-10)
    for t in range(300):
        kalman.update(2.0 - 0.01 * t, 1e-4)
    level, trend = kalman.x
    assert level == pytest.approx(2.0 - 0.01 * 299, abs=1e-4)
    assert trend == pytest.approx(-0.01, abs=1e-5)


def test_the_filter_finds_the_trend_under_noise() -> None:
    kalman = TrendFilter(level_noise=1e-6, trend_noise=1e-10)
    rng = random.Random(1)
    for t in range(2000):
        kalman.update(-0.002 * t + rng.gauss(0.0, 0.1), 0.01)
    trend, spread = kalman.x[1], math.sqrt(kalman.p[1][1])
    assert abs(trend + 0.002) < 3 * spread < 5e-4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_stalled_loss_grows_the_network(seed: int) -> None:
    made = decisions(stream(600, seed, rate=0.0, noise=0.05), ArchitectConfig(target=0.01))
    grown = [d for d in made if d.action == "grow"]
    assert grown and grown[0].reason.startswith("stalled")
    # the same loss sitting at its target is no reason to grow
    at_target = decisions(stream(600, seed, rate=0.0, noise=0.05), ArchitectConfig(target=1.5))
    assert not any(d.action == "grow" for d in at_target)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_well_tracked_falling_loss_shrinks_the_network(seed: int) -> None:
    made = decisions(stream(400, seed, rate=3e-3, noise=0.03))
    assert [action for _, action in changes(made)][:1] == ["shrink"]
    assert made[changes(made)[0][0] - 1].reason.startswith("tracked well")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("noise", [0.05, 0.3])
def test_noise_inside_the_window_changes_nothing(seed: int, noise: float) -> None:
    """A loss falling at a fair rate (between the stall and shrink rates), under light and
    heavy minibatch noise: no decision in 2,000 updates."""
    assert changes(decisions(stream(2000, seed, rate=1.2e-3, noise=noise))) == []


def test_a_loss_at_its_target_shrinks_the_network() -> None:
    made = decisions(stream(400, 0, rate=0.0, noise=0.3, level=0.01), ArchitectConfig(target=0.02))
    assert changes(made)[:1] == [(150, "shrink")]
    assert "at target" in made[149].reason


def test_a_recovery_after_a_change_is_no_reason_to_shrink_again() -> None:
    """Each shrink costs the network: its loss jumps fivefold, then wins that back. The fast
    fall of the recovery must not shrink it again before the loss is below where it was."""
    rng = random.Random(4)
    controller = Controller()
    made: list[Decision] = []
    shrunk_at: list[int] = []
    for t in range(2000):
        damage = sum(4.0 * math.exp(-2e-3 * (t - s)) for s in shrunk_at)
        loss = math.exp(-2.5e-3 * t + rng.gauss(0.0, 0.05)) * (1.0 + damage)
        made.append(controller.update(loss))
        if made[-1].action == "shrink":
            shrunk_at.append(t)
    gaps = [after - before for before, after in itertools.pairwise(shrunk_at)]
    assert len(gaps) >= 2 and max(gaps) > 300  # a recovery outlasted cooldown + calm window
    for before, after in itertools.pairwise(shrunk_at):
        assert made[after].level < made[before].level


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_sudden_jump_loses_the_track_and_grows(seed: int) -> None:
    losses = stream(600, seed, rate=3e-3, noise=0.03)
    losses[400:] = [3.0 * loss for loss in losses[400:]]
    made = decisions(losses, ArchitectConfig(calm_window=10**6))  # no shrinks in the way
    assert changes(made)[:1] == [(403, "grow")]
    assert made[402].reason.startswith("track lost")
    assert made[400].innovation > made[400].window  # far outside the window


def test_the_cooldown_separates_changes() -> None:
    config = ArchitectConfig(target=0.01, cooldown=150)
    made = decisions(stream(1200, 0, rate=0.0, noise=0.05), config)
    steps = [step for step, _ in changes(made)]
    assert len(steps) >= 3
    assert all(b - a > 150 for a, b in itertools.pairwise(steps))
    after = [d.reason for d in made[steps[0] : steps[0] + 150]]
    assert after == ["re-acquiring the track"] * 100 + ["cooling down after a change"] * 50


def test_warm_up_holds_and_reports_the_raw_loss() -> None:
    made = decisions(stream(100, 0, rate=0.0, noise=0.05))
    assert {d.reason for d in made} == {"warming up"}
    assert made[5].level == made[5].loss


def test_a_restored_controller_continues_exactly() -> None:
    losses = stream(700, 3, rate=2e-3, noise=0.05)
    whole = decisions(losses)
    first = Controller()
    for loss in losses[:350]:
        first.update(loss)
    resumed = Controller.from_state(first.state())
    assert [resumed.update(loss) for loss in losses[350:]] == whole[350:]


def test_metrics_name_the_track() -> None:
    made = decisions(stream(150, 0, rate=1e-3, noise=0.05))[-1]
    assert set(made.metrics()) == {
        "architect/level",
        "architect/trend",
        "architect/trend_std",
        "architect/window",
        "architect/innovation",
        "architect/decision",
    }


@pytest.mark.parametrize("loss", [0.0, -1.0, math.nan, math.inf])
def test_losses_it_cannot_track_are_refused(loss: float) -> None:
    with pytest.raises(ValueError, match="positive losses"):
        Controller().update(loss)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"stall_rate": 1e-3, "shrink_rate": 1e-3}, "hysteresis"),
        ({"lost_count": 6}, "lost_count"),
        ({"warmup": 2}, "warmup"),
        ({"gate": 0.0}, "positive"),
    ],
)
def test_inconsistent_settings_are_refused(settings: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ArchitectConfig(**settings)  # type: ignore[arg-type]
