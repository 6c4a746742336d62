"""The installed ``landmark-nas`` console script, run as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ARCH_1, table_value

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def script() -> Path:
    beside_python = Path(sys.executable).with_name("landmark-nas")
    found = beside_python if beside_python.is_file() else shutil.which("landmark-nas")
    if not found:
        pytest.fail("the landmark-nas console script is not installed (pip install -e .)")
    return Path(found)


def run_script(script: Path, *args, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LANDMARK_NAS_DATA", "LANDMARK_NAS_BENCHMARK")
    }
    return subprocess.run(
        [str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
    )


def test_arch_through_the_console_script(script, benchmark_csv, nb201_benchmark, tmp_path):
    result = run_script(script, "arch", ARCH_1, "--benchmark", benchmark_csv, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert table_value(result.stdout, "benchmark index") == "1"
    assert table_value(result.stdout, "stand-alone accuracy (cifar10, %)") == (
        f"{nb201_benchmark.accuracy[1]:.2f}"
    )


def test_errors_through_the_console_script_are_one_line_without_traceback(
    script, benchmark_csv, tmp_path
):
    missing = tmp_path / "no-data"
    result = run_script(
        script,
        "train",
        "--data",
        missing,
        "--benchmark",
        benchmark_csv,
        "--threads",
        "1",
        "--out",
        tmp_path / "run",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"landmark-nas: error: data folder {missing} does not exist"
