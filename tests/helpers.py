"""Small helpers the test modules share (fixtures live in ``conftest.py``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from landmark_nas import experiment
from landmark_nas.cli.main import main
from landmark_nas.data import ImageDataset

# The benchmark's architecture 1 (row 1 of the CSV), used wherever one real arch is needed.
ARCH_1 = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
)


@contextlib.contextmanager
def cached_cifar10(data_dir: Path, dataset: ImageDataset) -> Iterator[None]:
    """Make ``build_experiment`` reuse ``dataset`` when asked for ``data_dir``.

    Any other folder still goes through the real loader, so its errors are tested.
    """
    real = experiment.load_dataset
    target = Path(data_dir).resolve()

    def load(name: str, data):
        if name == "cifar10" and data is not None and Path(data).expanduser().resolve() == target:
            return dataset
        return real(name, data)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(experiment, "load_dataset", load)
        yield


@contextlib.contextmanager
def isolated_logging() -> Iterator[None]:
    """Undo what a CLI call does to the root logger (file handlers, levels)."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    levels = {handler: handler.level for handler in handlers}
    level = root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler, handler_level in levels.items():
            handler.setLevel(handler_level)
        root.setLevel(level)


def call_cli(argv: list[str]) -> int:
    """``landmark-nas ARGV`` in this process; the exit code, also for ``--help``."""
    with isolated_logging():
        try:
            return main([str(a) for a in argv])
        except SystemExit as exit_:
            return 0 if exit_.code is None else int(exit_.code)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of an in-process ``landmark-nas ARGV``."""
    capsys.readouterr()
    code = call_cli(argv)
    out, err = capsys.readouterr()
    return code, out, err


def table_value(output: str, field: str) -> str:
    """The value column of the row starting with ``field`` in a two-column table."""
    for line in output.splitlines():
        if line.startswith(field + "  "):
            return line[len(field) :].strip()
    raise AssertionError(f"no row {field!r} in:\n{output}")
