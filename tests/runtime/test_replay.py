"""The replay buffer: a ring whose rows land where the position says, however batches wrap."""

from __future__ import annotations

import pytest
import torch

from atrap_studio.runtime.trainers.replay import FIELDS, Batch, ReplayBuffer


def _batch(first: int, rows: int) -> Batch:
    """Rows numbered from ``first``: every field tells which row it came from."""
    ids = torch.arange(first, first + rows, dtype=torch.float32)
    return Batch(
        obs=ids[:, None].repeat(1, 3),
        action=-ids[:, None].repeat(1, 2),
        reward=ids * 10,
        next_obs=ids[:, None].repeat(1, 3) + 0.5,
        terminal=ids.long() % 2 == 1,
    )


@pytest.mark.parametrize("sizes", [(3, 4, 5), (7, 7), (1, 6, 2, 6), (10,), (13,), (4, 13)])
def test_rows_land_where_the_ring_puts_them(sizes: tuple[int, ...]) -> None:
    buffer = ReplayBuffer(7, 3, 2, torch.device("cpu"))
    expected: list[int | None] = [None] * 7
    written = 0
    for rows in sizes:
        buffer.add(_batch(written, rows))
        for row in range(written, written + rows):  # the last row for each slot is kept
            expected[row % 7] = row
        written += rows
    assert buffer.position == written % 7
    assert buffer.size == min(7, written)
    for slot, row in enumerate(expected):
        if row is None:
            continue
        want = _batch(row, 1)
        for name in FIELDS:
            assert torch.equal(buffer.data[name][slot], getattr(want, name)[0]), (name, slot)


def test_samples_are_stored_rows() -> None:
    buffer = ReplayBuffer(16, 3, 2, torch.device("cpu"))
    buffer.add(_batch(0, 12))
    batch = buffer.sample(50, torch.Generator().manual_seed(0))
    ids = batch.obs[:, 0]
    assert bool((ids < 12).all())
    assert torch.equal(batch.reward, ids * 10)
    assert torch.equal(batch.action[:, 1], -ids)
    assert torch.equal(batch.terminal, ids.long() % 2 == 1)
