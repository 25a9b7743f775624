"""Messages that do not mislead: values from a file are quoted cut short (a 100,000-character
property is not echoed whole), and a checkpoint that does not fit is called damaged where
nothing vouches for it — never "made with a different graph", never a bare KeyError."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from atrap_studio.cli.main import main
from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.checkpoint import MAX_FILE_BYTES
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from atrap_studio.runtime.safefile import read_safetensors_checked
from tests.conftest import shrink

LONG = "x" * 100_000
DTYPES = (torch.float32, torch.float64, torch.int64, torch.uint8)  # what checkpoints hold

#: Where a hostile file can put a long value: (what the tiny graph holds, what replaces it).
PLACES = {
    "a choice": ("activation: silu", f"activation: {LONG}"),
    "an integer written as text": ("seed: 0", f"seed: {LONG}"),
    "a number written as text": ("scale_mm: 10.0", f"scale_mm: {LONG}"),
    "a list item": ("hidden: [32, 32]", f"hidden: [{LONG}]"),
    "a property's name": ("activation: silu", f"? {LONG} : 1, activation: silu"),
    "a link's end": ("- [arm.scene, q.scene]", f"- [{LONG}.scene, q.scene]"),
    "the format": ("format: atrap-graph", f"format: {LONG}"),
    "the schema version": ("schema_version: 1", f"schema_version: {LONG}"),
    "a 100,000-digit integer": ("seed: 0", "seed: " + "9" * 100_000),
}


@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_long_value_is_cut_short_in_every_message(
    place: str, graph: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found, put = PLACES[place]
    text = graph.read_text()
    assert found in text, f"the tiny graph no longer holds {found!r}"
    graph.write_text(text.replace(found, put, 1))
    assert main(["validate", str(graph)]) == 1
    out, err = capsys.readouterr()
    said = out + err
    assert len(said) < 2_000, said[:3_000]
    assert said.strip(), "nothing was said"
    if "9" * 100 not in put:
        assert "(100,000 characters)" in said, said


@pytest.fixture
def checkpoint(tmp_path: Path, arm_doc: GraphDocument, registry: Registry) -> Path:
    Runner(Pipeline(shrink(arm_doc), registry), out_dir=tmp_path / "run").run(10)
    return tmp_path / "run" / "checkpoints" / "ckpt-00000010.atrapckpt"


def _undigested(path: Path, change: str) -> None:
    """Rewrite ``path`` as a file from before digests, damaged as ``change`` says."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tensors, metadata = read_safetensors_checked(
            path, max_bytes=MAX_FILE_BYTES, allowed_dtypes=DTYPES
        )
    run = json.loads(metadata["run"])
    if change == "graph":
        run["graph"] = run["graph"].replace("seed: 0", "seed: 1", 1)
    elif change == "tensor":
        name = next(k for k in tensors if k.startswith("trainer/") and k.endswith("exp_avg"))
        del tensors[name]
    elif change == "record":
        run["trainer"] = {key: 7 for key in run["trainer"]}
    metadata["run"] = json.dumps(run)
    save_file(tensors, str(path), metadata=metadata)


def _resume(graph: Path, checkpoint: Path, capsys: pytest.CaptureFixture[str]) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the no-digest warning is printed, as users see it
        code = main(["run", str(graph), "--resume", str(checkpoint), "--steps", "20", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("change", ["graph", "tensor", "record"])
def test_a_damaged_checkpoint_without_digests_is_called_damaged(
    change: str, graph: Path, checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _undigested(checkpoint, change)
    err = _resume(graph, checkpoint, capsys)
    assert "has no content digest" in err
    assert "made with a different graph" not in err and "KeyError" not in err
    assert "damaged" in err.splitlines()[-1], err


def test_an_intact_checkpoint_of_another_graph_is_named_so(
    graph: Path, checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The other side: with digests that match, a mismatch is the graph's, not damage."""
    graph.write_text(graph.read_text().replace("seed: 0", "seed: 1", 1))
    err = _resume(graph, checkpoint, capsys)
    assert f"{checkpoint} was made with a different graph" in err
