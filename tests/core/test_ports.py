from __future__ import annotations

import pytest

from atrap_studio.core.ports import PortType


@pytest.mark.parametrize(
    ("text", "kind", "shape"),
    [
        ("Scene", "Scene", ()),
        ("Vector", "Vector", (None,)),
        ("Vector[6]", "Vector", (6,)),
        ("Image[32, 64, 3]", "Image", (32, 64, 3)),
        ("Image[?,?,1]", "Image", (None, None, 1)),
        ("Reward", "Reward", ()),
    ],
)
def test_parse(text: str, kind: str, shape: tuple[int | None, ...]) -> None:
    port = PortType.parse(text)
    assert (port.kind, port.shape) == (kind, shape)
    assert PortType.parse(str(port)) == port


@pytest.mark.parametrize("text", ["Tensor", "Vector[0]", "Vector[2,3]", "Image[3]", "vector", ""])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        PortType.parse(text)


def test_accepts() -> None:
    assert PortType.parse("Vector[3]").accepts(PortType.parse("Vector[9]"))  # sizes: inference
    assert not PortType.parse("Vector").accepts(PortType.parse("Scene"))
    assert PortType.parse("Image[8,8,3]").accepts(PortType.parse("Image[?,?,3]"))
    assert not PortType.parse("Image[8,8,3]").accepts(PortType.parse("Image[8,8,1]"))
