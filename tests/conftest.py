"""Fixtures shared by the whole suite: where the real data lives, and tiny runs.

Real-data (``integration``) tests read the NAS-Bench-201 CSV and CIFAR-10 from the
``shared/`` folder beside the checkout, or from ``$LANDMARK_NAS_SHARED``. Without
it they skip with a message saying so, except when ``$CI`` is set: CI must never
skip them, so there a missing ``shared/`` fails the test instead.

CIFAR-10 is unpacked once per session: ``$LANDMARK_NAS_DATA`` if it already holds
the prepared batches, else ``~/.cache/landmark-nas/cifar10`` if that does, else
``shared/datasets/cifar10/prepare.py`` writes it into a session temporary folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from landmark_nas.benchmarks import Benchmark, load_benchmark
from landmark_nas.config import RunConfig
from landmark_nas.data import ImageDataset, load_dataset
from landmark_nas.experiment import Experiment, build_experiment
from landmark_nas.spaces import create_search_space
from landmark_nas.training.calibration import CACHE_ENV
from tests.helpers import cached_cifar10

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_ENV = "LANDMARK_NAS_SHARED"
DATA_ENV = "LANDMARK_NAS_DATA"
BENCHMARK_CSV = Path("benchmarks/nas-bench-201/nats-tss-200ep.csv")
PREPARE_SCRIPT = Path("datasets/cifar10/prepare.py")
CIFAR10_CACHE = Path.home() / ".cache" / "landmark-nas" / "cifar10"
CIFAR10_FILES = tuple(f"data_batch_{k}" for k in range(1, 6)) + ("test_batch",)
REAL_DATA_FIXTURES = {"shared", "benchmark_csv", "nb201_benchmark", "cifar10_dir"}


def in_ci() -> bool:
    """True when ``$CI`` is set to anything but an explicit no."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def shared_dir() -> Path:
    configured = os.environ.get(SHARED_ENV)
    return Path(configured).expanduser() if configured else REPO_ROOT.parent / "shared"


def real_data_missing(message: str) -> None:
    """Skip the test, or fail it under CI, where real-data tests must always run."""
    if in_ci():
        pytest.fail(f"{message} (CI is set: real-data tests must not be skipped)", pytrace=False)
    pytest.skip(message)


def is_prepared(folder: Path) -> bool:
    """Whether ``folder`` holds the unpacked CIFAR-10 python batches."""
    batches = folder / "cifar-10-batches-py"
    return all((batches / name).is_file() for name in CIFAR10_FILES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses a real-data fixture is an integration test."""
    for item in items:
        if REAL_DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """The suite shares two cores with other work: keep torch to one thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def two_threads():
    """Two intra-op threads for one test (the suite runs on one)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Per-machine measurements (``landmark_overlap: auto``) go to a session folder,
    never to the user's cache; commands run as subprocesses inherit it."""
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not path.is_dir():
        real_data_missing(
            f"shared/ folder not found at {path}: set {SHARED_ENV} to the folder holding "
            "benchmarks/ and datasets/"
        )
    return path


@pytest.fixture(scope="session")
def benchmark_csv(shared: Path) -> Path:
    path = shared / BENCHMARK_CSV
    if not path.is_file():
        real_data_missing(f"NAS-Bench-201 ground truth not found at {path}")
    return path


@pytest.fixture(scope="session")
def nb201_benchmark(benchmark_csv: Path) -> Benchmark:
    return load_benchmark(benchmark_csv, create_search_space("nb201"))


@pytest.fixture(scope="session")
def cifar10_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``cifar-10-batches-py``, prepared at most once per session."""
    configured = os.environ.get(DATA_ENV)
    candidates = ([Path(configured).expanduser()] if configured else []) + [CIFAR10_CACHE]
    for candidate in candidates:
        if is_prepared(candidate):
            return candidate

    script = shared_dir() / PREPARE_SCRIPT
    if not script.is_file():
        real_data_missing(f"CIFAR-10 is not prepared and {script} does not exist")
    out = tmp_path_factory.mktemp("cifar10")
    result = subprocess.run(
        [sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0 or not is_prepared(out):
        pytest.fail(f"{script} {out} failed ({result.returncode}):\n{result.stderr}")
    return out


@pytest.fixture(scope="session")
def cifar10_dataset(cifar10_dir: Path) -> ImageDataset:
    return load_dataset("cifar10", cifar10_dir)


@pytest.fixture(scope="session")
def tiny_config(benchmark_csv: Path, cifar10_dir: Path) -> RunConfig:
    """A run of 16 steps on 256 images that ranks 10 architectures on 128 images."""
    return RunConfig(
        data=str(cifar10_dir),
        benchmark=str(benchmark_csv),
        channels=4,
        cells_per_stage=1,
        train_images=256,
        landmark_images=256,
        ranking_images=128,
        batch_size=32,
        epochs=2,
        ranking_archs=10,
        eval_batch_size=128,
        landmark_count=5,
        search_population=4,
        search_sample=2,
        search_cycles=4,
        search_images=64,
        threads=1,
        checkpoint_every=4,
    ).validate()


@pytest.fixture(scope="session")
def tiny_experiment(
    tiny_config: RunConfig, cifar10_dir: Path, cifar10_dataset: ImageDataset
) -> Experiment:
    with cached_cifar10(cifar10_dir, cifar10_dataset):
        return build_experiment(tiny_config)


@pytest.fixture
def reuse_cifar10(cifar10_dir: Path, cifar10_dataset: ImageDataset):
    """Serve the session's CIFAR-10 copy instead of re-reading 150 MB per command."""
    with cached_cifar10(cifar10_dir, cifar10_dataset):
        yield
