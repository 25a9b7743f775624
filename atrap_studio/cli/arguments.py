"""Parsers of the command line's numbers, so that every command refuses a bad value alike:
argparse prints the option's name with the reason."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def natural(text: str) -> int:
    """A whole number of 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def positive(text: str) -> int:
    """A whole number of 1 or more (a count)."""
    value = natural(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def number_above(
    low: float, high: float | None = None, *, expected: str, high_included: bool = True
) -> Callable[[str], float]:
    """A parser of finite numbers above ``low`` and up to ``high`` (included or not; no upper
    bound when None); ``expected`` says what was wanted, as "a share such as 0.9"."""
    if high is None:
        words = f"more than {low:g}"
    elif high_included:
        words = f"more than {low:g} and at most {high:g}"
    else:
        words = f"between {low:g} and {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        within = high is None or (value <= high if high_included else value < high)
        if not (math.isfinite(value) and value > low and within):
            raise argparse.ArgumentTypeError(f"must be {words}, got {text}")
        return value

    return parse


def widths(text: str) -> tuple[int, ...]:
    """A network's hidden layers as ``WIDTH,WIDTH,...`` (each at least one neuron)."""
    try:
        layers = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected widths separated by commas such as 128,128, got {text!r}"
        ) from None
    if min(layers) < 1:
        raise argparse.ArgumentTypeError(f"every layer needs at least one neuron, got {text}")
    return layers
