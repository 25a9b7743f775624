"""Node specs as data, one module per category; importing them never imports torch."""

from __future__ import annotations

from atrap_studio.core.specs import NodeSpec
from atrap_studio.nodes.scenes import plugin_specs
from atrap_studio.nodes.specs import actions, nn, rewards, scenes, sensors, trainers

#: Palette order of the categories.
_ORDER = ("scene", "sensor", "nn", "helper", "action", "reward", "trainer", "monitor")

#: Every built-in node, in palette order: by category, the scene plug-ins' nodes after the arm's.
CATALOGUE: tuple[NodeSpec, ...] = tuple(
    sorted(
        (
            *scenes.SPECS,
            *sensors.SPECS,
            *nn.SPECS,
            *actions.SPECS,
            *rewards.SPECS,
            *trainers.SPECS,
            *plugin_specs(),
        ),
        key=lambda spec: _ORDER.index(spec.category),
    )
)
