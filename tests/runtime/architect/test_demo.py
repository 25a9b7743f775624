"""The architect at work: a plain training loop whose network grows when the loss stalls and
shrinks while the loss is tracked well, with the parameter count over time."""

from __future__ import annotations

import torch

from atrap_studio.runtime.architect.controller import ArchitectConfig, Controller
from atrap_studio.runtime.architect.optimizer_state import carry_optimizer_state
from atrap_studio.runtime.architect.steer import SizeBounds, resize
from atrap_studio.runtime.architect.surgery import hidden_widths

from .nets import network, target


def sample(generator: torch.Generator, rows: int) -> torch.Tensor:
    return torch.rand(rows, 3, generator=generator) * 4.0 - 2.0


def test_a_network_shrinks_while_tracked_grows_when_stalled_and_shrinks_at_target() -> None:
    arch, module = network("relu", (8, 8))
    optimizer: torch.optim.Optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    controller = Controller(ArchitectConfig(target=0.02, warmup=50, cooldown=100, calm_window=30))
    bounds = SizeBounds(min_width=4, max_width=32)
    generator = torch.Generator().manual_seed(0)
    losses: list[float] = []
    timeline = [(0, "start", hidden_widths(arch), arch.parameter_count())]
    for step in range(700):
        x = sample(generator, 64)
        loss = (module(x) - target(x)).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        decision = controller.update(loss.item())
        if decision.action == "hold":
            continue
        change = resize(
            arch,
            module,
            decision.action,
            bounds=bounds,
            inputs=sample(generator, 256),
            generator=generator,
        )
        assert change is not None  # the bounds leave room in this run
        optimizer = carry_optimizer_state(optimizer, change.module, change.state_map)
        arch, module = change.architecture, change.module
        timeline.append((step, decision.action, hidden_widths(arch), arch.parameter_count()))
    for row in timeline:
        print(*row)  # shown with pytest -s; docs/architect.md quotes this run
    actions = [action for _, action, _, _ in timeline[1:]]
    assert actions[:3] == ["shrink", "grow", "shrink"]
    grown_at = timeline[2][0]
    stalled = sum(losses[grown_at - 100 : grown_at]) / 100
    assert stalled > 0.02  # it grew above the target...
    assert sum(losses[-100:]) / 100 < stalled / 4  # ...and the grown network left the plateau
    counts = [count for *_, count in timeline]
    assert counts[-1] < max(counts)
