"""Shared fixtures: the built-in registry and the shipped example documents."""

from __future__ import annotations

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry


@pytest.fixture(scope="session")
def registry() -> Registry:
    return builtin_registry()


@pytest.fixture
def arm_doc() -> GraphDocument:
    """A fresh copy of the direct-trainer arm example (tests may mutate it)."""
    return load_graph(example_path("robot_arm_reach"))
