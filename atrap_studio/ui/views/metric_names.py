"""What each metric key a run emits is called on screen, and in what unit.

Trainers and scenes name their figures with slash-namespaced keys (``loss/policy``,
``reward/<node id>``, ``eval/median_error_mm``, ``perf/env_steps_per_s``); people read
"Policy loss", "Reward: Distance to target", "Median reach error (test)" in mm, "Steps per
second". Keys are matched exactly first, then by their namespace, so that a new figure in a
known namespace still reads as words; a key in an unknown namespace has no name
(:func:`describe` returns ``None``) and the test over every emitted key says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: The unit of a plain number (a loss, a learning rate, a ratio of variances).
NO_UNIT = "1"
#: The unit of a part of a whole, from 0 to 1 (success rate, share of random moves).
SHARE = "share"


@dataclass(frozen=True)
class MetricName:
    """A metric as people read it: its name and its unit (``NO_UNIT`` for a plain number)."""

    name: str
    unit: str

    def label(self) -> str:
        """The name with its unit, as a legend or axis shows it."""
        return self.name if self.unit == NO_UNIT else f"{self.name} ({self.unit})"


#: Keys with a name of their own.
EXACT: dict[str, MetricName] = {
    "lr": MetricName("Learning rate", NO_UNIT),
    "loss/total": MetricName("Total loss", NO_UNIT),
    "loss/policy": MetricName("Policy loss", NO_UNIT),
    "loss/value": MetricName("Value loss", NO_UNIT),
    "loss/entropy": MetricName("Entropy bonus", NO_UNIT),
    "reward/total": MetricName("Reward, all terms", "per step"),
    "explore/random_share": MetricName("Random moves", SHARE),
    "policy/approx_kl": MetricName("Policy change (KL)", "nats"),
    "policy/clip_fraction": MetricName("Clipped samples", SHARE),
    "policy/entropy": MetricName("Policy entropy", "nats"),
    "policy/passes": MetricName("Passes over the data", "passes"),
    "policy/std": MetricName("Action spread", "std"),
    "policy/alpha": MetricName("Exploration temperature (alpha)", NO_UNIT),
    "loss/alpha": MetricName("Temperature loss", NO_UNIT),
    "value/explained_variance": MetricName("Value fit (explained variance)", NO_UNIT),
    "value/q": MetricName("Action value (Q)", "reward"),
    "perf/updates_per_s": MetricName("Updates per second", "updates/s"),
    "perf/env_steps_per_s": MetricName("Scene steps per second", "steps/s"),
    "curriculum/spread": MetricName("Target spread", "of the reach"),
    "curriculum/user_moves": MetricName("Targets you moved", "moves"),
    "curriculum/user_targets": MetricName("Targets you hold", "targets"),
    "eval/episodes": MetricName("Test episodes", "episodes"),
}

#: The figures a scene reports for its episodes (``scene/…`` in training, ``eval/…`` in tests),
#: by the last part of the key, with the statistic in front where there is one.
_OUTCOMES: dict[str, MetricName] = {
    "success_rate": MetricName("Reached", SHARE),
    "error_mm": MetricName("Reach error", "mm"),
    "return": MetricName("Episode return", "reward"),
    "length": MetricName("Episode length", "steps"),
}
_STATISTICS = {"mean": "Mean", "median": "Median", "p95": "95th-percentile"}


def split_agent(key: str) -> tuple[str, str]:
    """``(trainer id, key)`` of a metric of one agent among several (``red_teach:loss/value``);
    ``("", key)`` for every other key."""
    agent, colon, rest = key.partition(":")
    return (agent, rest) if colon and "/" not in agent else ("", key)


def describe(key: str, node_names: Mapping[str, str] | None = None) -> MetricName | None:
    """The name and unit of ``key``; node ids in it read as the nodes' names when given.

    A figure of one agent of several reads as the figure, then the agent's trainer
    (``Value loss · Red trainer``)."""
    agent, own = split_agent(key)
    if agent:
        named = describe(own, node_names)
        if named is None:
            return None
        return MetricName(f"{named.name} · {(node_names or {}).get(agent, agent)}", named.unit)
    if key in EXACT:
        return EXACT[key]
    space, _, rest = key.partition("/")
    namer = _NAMESPACES.get(space)
    return namer(rest, node_names or {}) if namer is not None and rest else None


def _words(text: str) -> str:
    return text.replace("_", " ").strip().capitalize()


def _reward(rest: str, names: Mapping[str, str]) -> MetricName:
    return MetricName(f"Reward: {names.get(rest, _words(rest))}", "per step")


def _outcome(when: str) -> Callable[[str, Mapping[str, str]], MetricName]:
    def name(rest: str, _: Mapping[str, str]) -> MetricName:
        statistic, _sep, figure = rest.partition("_")
        if statistic not in _STATISTICS or figure not in _OUTCOMES:
            statistic, figure = "", rest
        known = _OUTCOMES.get(figure)
        base = known.name if known else _words(figure)
        if statistic:
            base = f"{_STATISTICS[statistic]} {base[0].lower()}{base[1:]}"
        return MetricName(f"{base} ({when})", known.unit if known else _unit_of(figure))

    return name


def _plain(suffix: str, prefix: str = "") -> Callable[[str, Mapping[str, str]], MetricName]:
    def name(rest: str, _: Mapping[str, str]) -> MetricName:
        words = _words(rest)
        if prefix:
            words = prefix + words.lower()
        return MetricName(f"{words}{suffix}", _unit_of(rest))

    return name


def _unit_of(part: str) -> str:
    """A unit guessed from how a key ends (``_mm``, ``_per_s``, ``_rate``/``_share``)."""
    if part.endswith("_mm"):
        return "mm"
    if part.endswith("_per_s"):
        return "per second"
    if part.endswith(("_rate", "_share", "_fraction")):
        return SHARE
    return NO_UNIT


_NAMESPACES: dict[str, Callable[[str, Mapping[str, str]], MetricName]] = {
    "reward": _reward,
    "scene": _outcome("training"),
    "eval": _outcome("test"),
    "loss": _plain(" loss"),
    "explore": _plain(""),
    "policy": _plain(""),
    "value": _plain(""),
    "perf": _plain(""),
    "curriculum": _plain(""),
    "lr": _plain("", prefix="Learning rate, "),
}
