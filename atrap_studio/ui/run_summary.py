"""The line a run ends with in the status bar and the Log dock, in the person's words.

A run that is stopped between two tests is tested once more, on the network as it is at the
stop, so its figure can differ from the test the person just read (bug 6 of issue 12): the
summary then says which test each figure comes from.
"""

from __future__ import annotations

from collections.abc import Mapping

from atrap_studio.core.outcome import Outcome


def run_summary(
    reason: str,
    step: int,
    evaluation: Mapping[str, float],
    last_test: tuple[int, Mapping[str, float]] | None,
    outcome: Outcome,
) -> str:
    """``Run stopped at update 601. Final test, of the network as it is now: …``."""
    text = f"Run {reason} at update {step:,}"
    headline = outcome.headline(evaluation)
    if not headline:
        return text + "."
    if last_test is None or last_test[0] == step:
        return f"{text}: {headline}."
    tested_at, tested = last_test
    more = step - tested_at
    return (
        f"{text}. Final test, of the network as it is now: {headline} (the test at update "
        f"{tested_at:,} said {outcome.headline(tested)}; the network trained {more:,} "
        f"update{'s' if more != 1 else ''} more since)."
    )
