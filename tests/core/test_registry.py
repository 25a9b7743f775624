"""Contract over every registered spec (a new node is covered by writing its spec)."""

from __future__ import annotations

import pytest

from atrap_studio.core.registry import Registry
from atrap_studio.core.specs import NodeSpec, PortSpec, PropSpec
from atrap_studio.nodes.specs import CATALOGUE


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.type)
def test_spec_is_well_formed(spec: NodeSpec) -> None:
    assert spec.spec_problems() == []
    assert spec.help and spec.title
    for port in (*spec.inputs, *spec.outputs):
        assert port.help, f"{spec.type}.{port.name} has no help"
    for prop in spec.props:
        assert prop.help, f"{spec.type}.{prop.name} has no help"
        assert prop.required or prop.check(prop.default) is None


def test_registry_refuses_duplicates_and_bad_specs() -> None:
    spec = CATALOGUE[0]
    with pytest.raises(ValueError, match="registered twice"):
        Registry([spec, spec])
    bad = NodeSpec(
        type="Sensor.Bad",
        version=1,
        title="Bad",
        category="sensor",
        help="x",
        impl="nowhere",
        outputs=(PortSpec("v", "Tensor", "x"),),
        props=(PropSpec("n", "int", 1.5, "x"),),
    )
    with pytest.raises(ValueError) as info:
        Registry([bad])
    text = str(info.value)
    for fragment in ("category.name", "module:Class", "unknown port type", "default of 'n'"):
        assert fragment in text


def test_legacy_ids_resolve(registry: Registry) -> None:
    spec = NodeSpec(
        type="sensor.renamed",
        version=2,
        title="Renamed",
        category="sensor",
        help="x",
        impl="m:C",
        legacy_ids=("sensor.old_name",),
    )
    reg = Registry([spec])
    assert reg.get("sensor.old_name") is spec
    assert reg.canonical("sensor.old_name") == "sensor.renamed"
    assert "sensor.old_name" in reg


def test_suggest_close_ids(registry: Registry) -> None:
    assert "sensor.joint_angles" in registry.suggest("sensor.joint_angle")


def test_catalogue_import_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from atrap_studio.nodes import builtin_registry; builtin_registry(); "
        "import atrap_studio.core.validation, atrap_studio.core.yaml_io; "
        "print('torch' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
