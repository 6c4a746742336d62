"""The benchmark scripts reject impossible options in one line, before any work starts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--modes", ","], "--modes names no version"),
        (["--modes", "fast"], "unknown version 'fast'"),
        (["--modes", "overlap", "--threads", "1"], "--modes overlap needs --threads 2 or more"),
        (["--modes", "overlap", "--threads", "0"], "--threads 0 must be at least 1"),
        (["--block", "0"], "--block 0 must be at least 1"),
    ],
)
def test_landmark_step_options(argv, message):
    with pytest.raises(SystemExit, match=message):
        load("landmark_step").main(argv)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epoch-threads", "-1"], "--epoch-threads -1 must be at least 0"),
        (["--repeats", "0"], "--repeats 0 must be at least 1"),
        (["--settings", "C16-N5-b64,C16-N5-b64"], "repeats a setting"),
        (["--settings", "C16"], "must look like C16-N5-b64"),
    ],
)
def test_speed_options(argv, message):
    speed = load("speed")
    with pytest.raises(SystemExit, match=message):
        speed.check_options(speed.build_parser().parse_args(argv))


def test_speed_epochs_use_every_core_unless_told():
    speed = load("speed")
    args = speed.build_parser().parse_args(["--threads", "1"])
    assert speed.worker_threads(args, "train") == 1
    assert speed.worker_threads(args, "epoch") >= 1
    args = speed.build_parser().parse_args(["--threads", "1", "--epoch-threads", "3"])
    assert speed.worker_threads(args, "epoch") == 3
