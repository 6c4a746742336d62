"""The CSV ground-truth reader, on the real NAS-Bench-201 export and broken copies of it."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from landmark_nas.benchmarks import load_benchmark
from landmark_nas.errors import ConfigError, DataError
from landmark_nas.spaces import create_search_space
from landmark_nas.spaces.nb201 import parse_arch
from tests.helpers import ARCH_1

pytestmark = pytest.mark.integration

SPACE = create_search_space("nb201")


@pytest.fixture(scope="module")
def csv_lines(benchmark_csv: Path) -> list[str]:
    return benchmark_csv.read_text().splitlines(keepends=True)


@pytest.fixture(scope="module")
def csv_rows(benchmark_csv: Path) -> list[dict[str, str]]:
    with open(benchmark_csv, newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_reads_every_row_in_benchmark_index_order(nb201_benchmark, csv_rows):
    assert len(nb201_benchmark) == 15_625
    assert nb201_benchmark.dataset == "cifar10"
    for k in (0, 1, 7, 4_321, 15_624):
        assert nb201_benchmark.archs[k] == parse_arch(csv_rows[k]["ArchitectureString"])
    expected = np.array([float(row["CIFAR10TestAccuracy200Epochs"]) for row in csv_rows])
    np.testing.assert_array_equal(nb201_benchmark.accuracy, expected)
    assert nb201_benchmark.table_canonical == [row["UniqueString"] for row in csv_rows]


def test_known_arch_has_its_index_and_accuracy(nb201_benchmark, csv_rows):
    arch = parse_arch(ARCH_1)
    assert csv_rows[1]["ArchitectureString"] == ARCH_1
    assert nb201_benchmark.index(arch) == 1
    assert nb201_benchmark.accuracy_of(arch) == float(csv_rows[1]["CIFAR10TestAccuracy200Epochs"])


def test_rank_and_percentile_follow_the_accuracy_column(nb201_benchmark, csv_rows):
    accuracy = [float(row["CIFAR10TestAccuracy200Epochs"]) for row in csv_rows]
    best = int(np.argmax(accuracy))
    worst = int(np.argmin(accuracy))
    assert max(accuracy) == pytest.approx(94.37, abs=0.01)
    assert nb201_benchmark.rank_of(nb201_benchmark.archs[best]) == 1
    assert nb201_benchmark.percentile_of(nb201_benchmark.archs[best]) == 100.0
    arch_1 = parse_arch(ARCH_1)
    assert nb201_benchmark.rank_of(arch_1) == 1 + sum(a > accuracy[1] for a in accuracy)
    # Many cells (those that never reach the output) tie at the worst accuracy.
    tied_worst = 100.0 * sum(a <= accuracy[worst] for a in accuracy) / len(accuracy)
    assert nb201_benchmark.percentile_of(nb201_benchmark.archs[worst]) == pytest.approx(tied_worst)
    assert nb201_benchmark.rank_of(nb201_benchmark.archs[worst]) == 1 + sum(
        a > accuracy[worst] for a in accuracy
    )


@pytest.mark.parametrize(
    ("dataset", "column"),
    [
        ("cifar100", "CIFAR100TestAccuracy200Epochs"),
        ("imagenet16-120", "ImageNetTestAccuracy200Epochs"),
    ],
)
def test_benchmark_dataset_selects_its_accuracy_column(benchmark_csv, csv_rows, dataset, column):
    benchmark = load_benchmark(benchmark_csv, SPACE, dataset)
    assert benchmark.dataset == dataset
    assert benchmark.accuracy_of(parse_arch(ARCH_1)) == float(csv_rows[1][column])
    expected = np.array([float(row[column]) for row in csv_rows])
    np.testing.assert_array_equal(benchmark.accuracy, expected)


def test_a_truncated_file_is_a_data_error_naming_the_file(tmp_path, csv_lines):
    path = tmp_path / "truncated.csv"
    path.write_text("".join(csv_lines[:100]))
    with pytest.raises(DataError) as error:
        load_benchmark(path, SPACE)
    assert str(path) in str(error.value)
    assert "99" in str(error.value)


def test_a_file_cut_inside_a_row_is_a_data_error_naming_the_line(tmp_path, csv_lines):
    path = tmp_path / "cut.csv"
    path.write_text("".join(csv_lines[:50]) + csv_lines[50][:30])
    with pytest.raises(DataError, match="line 51"):
        load_benchmark(path, SPACE)


@pytest.mark.parametrize("column", ["CIFAR10TestAccuracy200Epochs", "ArchitectureString"])
def test_a_missing_column_is_a_data_error_naming_the_column(tmp_path, csv_rows, column):
    header = [name for name in csv_rows[0] if name != column]
    path = write_rows(tmp_path / "no-column.csv", header, csv_rows)
    with pytest.raises(DataError) as error:
        load_benchmark(path, SPACE)
    assert column in str(error.value)
    assert str(path) in str(error.value)


def test_the_canonical_column_is_optional(tmp_path, csv_rows):
    header = [name for name in csv_rows[0] if name != "UniqueString"]
    path = write_rows(tmp_path / "no-unique.csv", header, csv_rows)
    benchmark = load_benchmark(path, SPACE)
    assert benchmark.table_canonical is None
    assert benchmark.index(parse_arch(ARCH_1)) == 1


@pytest.mark.parametrize(
    ("value", "reason"),
    [("n/a", "not a number"), ("", "not a number"), ("101.5", "percentage"), ("nan", "percentage")],
)
def test_a_bad_accuracy_is_a_data_error_naming_the_line(tmp_path, csv_rows, value, reason):
    rows = [dict(row) for row in csv_rows]
    rows[10]["CIFAR10TestAccuracy200Epochs"] = value
    path = write_rows(tmp_path / "bad-value.csv", list(csv_rows[0]), rows)
    with pytest.raises(DataError) as error:
        load_benchmark(path, SPACE)
    message = str(error.value)
    assert "line 12" in message  # header is line 1, row 0 is line 2
    assert "CIFAR10TestAccuracy200Epochs" in message
    assert reason in message


def test_a_bad_accuracy_in_an_unused_column_is_ignored(tmp_path, csv_rows):
    rows = [dict(row) for row in csv_rows]
    rows[10]["CIFAR100TestAccuracy200Epochs"] = "n/a"
    path = write_rows(tmp_path / "other-column.csv", list(csv_rows[0]), rows)
    assert len(load_benchmark(path, SPACE, "cifar10")) == 15_625


def test_a_bad_arch_string_is_a_data_error_naming_the_line(tmp_path, csv_rows):
    rows = [dict(row) for row in csv_rows]
    rows[3]["ArchitectureString"] = rows[3]["ArchitectureString"].replace("~0", "~5", 1)
    path = write_rows(tmp_path / "bad-arch.csv", list(csv_rows[0]), rows)
    with pytest.raises(DataError, match=r"line 5, column ArchitectureString"):
        load_benchmark(path, SPACE)


def test_a_repeated_arch_is_a_data_error(tmp_path, csv_rows):
    rows = [dict(row) for row in csv_rows]
    rows[5]["ArchitectureString"] = rows[4]["ArchitectureString"]
    path = write_rows(tmp_path / "repeated.csv", list(csv_rows[0]), rows)
    with pytest.raises(DataError, match="two rows"):
        load_benchmark(path, SPACE)


def test_a_missing_file_is_a_data_error_naming_it(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(DataError, match="absent.csv"):
        load_benchmark(path, SPACE)


def test_an_unknown_benchmark_dataset_is_a_data_error(benchmark_csv):
    with pytest.raises(DataError, match="'svhn'"):
        load_benchmark(benchmark_csv, SPACE, "svhn")


def test_format_is_chosen_by_suffix_or_by_name(tmp_path, benchmark_csv):
    upper = tmp_path / "TABLE.CSV"
    upper.write_bytes(benchmark_csv.read_bytes())
    assert len(load_benchmark(upper, SPACE)) == 15_625
    text = tmp_path / "table.txt"
    text.write_bytes(benchmark_csv.read_bytes())
    assert len(load_benchmark(text, SPACE, file_format="csv")) == 15_625
    with pytest.raises(ConfigError, match="'xlsx'"):
        load_benchmark(text, SPACE, file_format="xlsx")
