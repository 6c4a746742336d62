"""Atomic writes: a results file is either complete or untouched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from landmark_nas.utils import io
from landmark_nas.utils.io import save_torch, write_json


def test_write_json_handles_numpy_and_paths_and_creates_folders(tmp_path):
    path = tmp_path / "a" / "b" / "out.json"
    write_json(path, {"array": np.arange(3), "value": np.float64(0.5), "path": Path("x/y")})
    assert json.loads(path.read_text()) == {"array": [0, 1, 2], "value": 0.5, "path": "x/y"}


def test_write_json_rejects_unknown_objects_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, {"ok": 1})
    with pytest.raises(TypeError):
        write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_an_interrupted_write_leaves_the_old_content(tmp_path):
    path = tmp_path / "state.pt"
    save_torch(path, {"step": 1})

    def half_then_fail(stream):
        stream.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        io._atomic(path, half_then_fail)
    assert torch.load(path, weights_only=False) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"]
