"""Node specs as data, one module per category; importing them never imports torch."""

from __future__ import annotations

from atrap_studio.core.specs import NodeSpec
from atrap_studio.nodes.specs import actions, nn, rewards, scenes, sensors, trainers

#: Every built-in node, in palette order.
CATALOGUE: tuple[NodeSpec, ...] = (
    *scenes.SPECS,
    *sensors.SPECS,
    *nn.SPECS,
    *actions.SPECS,
    *rewards.SPECS,
    *trainers.SPECS,
)
