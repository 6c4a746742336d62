"""The official-API reader, against fake ``nats_bench`` / ``nas_201_api`` modules.

The fakes serve the real CSV's architectures and accuracies and accept exactly the
calls the official packages accept (dataset names, ``hp`` as a string), so the
reader must produce the same table as the CSV reader.
"""

from __future__ import annotations

import csv
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from landmark_nas.benchmarks import load_benchmark
from landmark_nas.errors import DataError
from landmark_nas.spaces import create_search_space

pytestmark = pytest.mark.integration

SPACE = create_search_space("nb201")
# The official API's dataset names and the CSV column holding each one's accuracy.
OFFICIAL_COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "ImageNet16-120": "ImageNetTestAccuracy200Epochs",
}


class FakeAPI:
    """Answers like the official topology-search-space API object."""

    def __init__(self, rows: list[dict[str, str]], calls: list) -> None:
        self.rows = rows
        self.calls = calls

    def __len__(self) -> int:
        return len(self.rows)

    def arch(self, index: int) -> str:
        return self.rows[index]["ArchitectureString"]

    def get_more_info(self, index, dataset, iepoch=None, hp="12", is_random=True):
        self.calls.append((index, dataset, hp, is_random))
        if dataset not in OFFICIAL_COLUMNS:
            raise KeyError(f"invalid dataset: {dataset}")
        if hp != "200" or is_random is not False:
            raise AssertionError(f"unexpected query hp={hp!r} is_random={is_random!r}")
        return {
            "test-accuracy": float(self.rows[index][OFFICIAL_COLUMNS[dataset]]),
            "train-accuracy": 100.0,
        }


@pytest.fixture(scope="module")
def csv_rows(benchmark_csv: Path) -> list[dict[str, str]]:
    with open(benchmark_csv, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def official_file(tmp_path: Path) -> Path:
    folder = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    folder.mkdir()
    return folder


@pytest.fixture
def fake_nats(monkeypatch, csv_rows):
    module = types.ModuleType("nats_bench")
    module.opened = []
    module.calls = []

    def create(path, search_space, fast_mode=False, verbose=True):
        module.opened.append((path, search_space, fast_mode, verbose))
        return FakeAPI(csv_rows, module.calls)

    module.create = create
    monkeypatch.setitem(sys.modules, "nats_bench", module)
    return module


def test_official_reader_gives_the_same_table_as_the_csv(fake_nats, official_file, nb201_benchmark):
    benchmark = load_benchmark(official_file, SPACE)  # no .csv suffix: the official format
    assert fake_nats.opened == [(str(official_file), "tss", True, False)]
    assert benchmark.archs == nb201_benchmark.archs
    np.testing.assert_array_equal(benchmark.accuracy, nb201_benchmark.accuracy)
    assert benchmark.dataset == "cifar10"
    assert len(fake_nats.calls) == 15_625


def test_official_reader_asks_for_cifar100(fake_nats, official_file, csv_rows):
    benchmark = load_benchmark(official_file, SPACE, "cifar100")
    assert {call[1] for call in fake_nats.calls} == {"cifar100"}
    assert benchmark.accuracy[1] == float(csv_rows[1]["CIFAR100TestAccuracy200Epochs"])


def test_official_reader_asks_for_imagenet_by_its_official_name(fake_nats, official_file, csv_rows):
    benchmark = load_benchmark(official_file, SPACE, "imagenet16-120")
    assert benchmark.accuracy[1] == float(csv_rows[1]["ImageNetTestAccuracy200Epochs"])


def test_official_reader_falls_back_to_nas_201_api(monkeypatch, official_file, csv_rows):
    calls: list = []
    module = types.ModuleType("nas_201_api")
    module.NASBench201API = lambda path, verbose=True: FakeAPI(csv_rows, calls)
    monkeypatch.setitem(sys.modules, "nats_bench", None)  # import fails
    monkeypatch.setitem(sys.modules, "nas_201_api", module)
    benchmark = load_benchmark(official_file, SPACE, file_format="nats")
    assert len(benchmark) == 15_625
    assert benchmark.accuracy[1] == float(csv_rows[1]["CIFAR10TestAccuracy200Epochs"])


def test_without_an_api_package_the_error_says_what_to_install(monkeypatch, official_file):
    monkeypatch.setitem(sys.modules, "nats_bench", None)
    monkeypatch.setitem(sys.modules, "nas_201_api", None)
    with pytest.raises(DataError) as error:
        load_benchmark(official_file, SPACE)
    assert "nats_bench" in str(error.value)
    assert str(official_file) in str(error.value)


def test_a_missing_official_file_is_a_data_error(fake_nats, tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_benchmark(tmp_path / "NAS-Bench-201-v1_1-096897.pth", SPACE)
    assert fake_nats.opened == []


def test_a_bad_arch_from_the_api_is_a_data_error_naming_its_index(
    fake_nats, official_file, csv_rows, monkeypatch
):
    broken = [dict(row) for row in csv_rows]
    broken[7]["ArchitectureString"] = "|zero~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    monkeypatch.setattr(fake_nats, "create", lambda *args, **kwargs: FakeAPI(broken, []))
    with pytest.raises(DataError, match=r"architecture 7: .*'zero'"):
        load_benchmark(official_file, SPACE)
