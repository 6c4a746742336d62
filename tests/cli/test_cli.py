"""The ``landmark-nas`` verbs in process, on the real benchmark and CIFAR-10."""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
from pathlib import Path

import pytest

from landmark_nas.cli import commands
from landmark_nas.spaces.nb201 import parse_arch
from landmark_nas.training.spos import SPOSTrainer
from tests.helpers import (
    ARCH_1,
    cached_cifar10,
    call_cli,
    isolated_logging,
    run_cli,
    table_value,
)

pytestmark = pytest.mark.integration

TINY = (
    "--train-images 256 --batch-size 32 --epochs 2 --channels 4 --ranking-archs 10 "
    "--ranking-images 128 --landmark-images 256 --landmark-count 5 --eval-batch-size 128 "
    "--threads 1"
).split()
# A small search budget for compare; train reads it too but has no search to run.
TINY_FILE = "search_images: 64\nsearch_population: 4\nsearch_sample: 2\nsearch_cycles: 4\n"


@pytest.fixture(autouse=True)
def no_environment_paths(monkeypatch):
    """Paths come from the options only, whatever the developer's shell exports."""
    monkeypatch.delenv("LANDMARK_NAS_DATA", raising=False)
    monkeypatch.delenv("LANDMARK_NAS_BENCHMARK", raising=False)


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(TINY_FILE)
    return path


@pytest.fixture(scope="module")
def inputs(benchmark_csv, cifar10_dir, tiny_file) -> list[str]:
    return [
        "--data",
        str(cifar10_dir),
        "--benchmark",
        str(benchmark_csv),
        "--config",
        str(tiny_file),
    ]


@pytest.fixture(scope="module")
def trained(benchmark_csv, cifar10_dir, cifar10_dataset, tmp_path_factory) -> Path:
    """A finished tiny ``landmark-nas train`` run folder.

    No config file: 128 ranking images with the default search_images (1,024) must be
    accepted by a verb that does not search.
    """
    out = tmp_path_factory.mktemp("train") / "run"
    with cached_cifar10(cifar10_dir, cifar10_dataset):
        args = ["train", "--data", cifar10_dir, "--benchmark", benchmark_csv, *TINY, "--out", out]
        assert call_cli(args) == 0
    return out


@pytest.fixture(scope="module")
def row_1(benchmark_csv) -> dict[str, str]:
    with open(benchmark_csv, newline="") as handle:
        reader = csv.DictReader(handle)
        next(reader)
        return next(reader)


def assert_one_line_error(code: int, err: str, *named: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("landmark-nas: error: ")
    assert "Traceback" not in err
    for part in named:
        assert part in lines[0]


# ---------------------------------------------------------------- arch
def test_arch_prints_canonical_form_index_and_accuracy(benchmark_csv, row_1, capsys):
    code, out, err = run_cli(["arch", ARCH_1, "--benchmark", benchmark_csv], capsys)
    assert code == 0 and err == ""
    assert table_value(out, "architecture") == ARCH_1
    assert table_value(out, "canonical form") == row_1["UniqueString"]
    assert table_value(out, "benchmark index") == "1"
    accuracy = float(row_1["CIFAR10TestAccuracy200Epochs"])
    assert table_value(out, "stand-alone accuracy (cifar10, %)") == f"{accuracy:.2f}"
    with open(benchmark_csv, newline="") as handle:
        better = sum(
            float(r["CIFAR10TestAccuracy200Epochs"]) > accuracy for r in csv.DictReader(handle)
        )
    assert table_value(out, "rank (1 = best)") == f"{better + 1} of 15625"


def test_arch_reads_the_chosen_benchmark_dataset(benchmark_csv, row_1, capsys):
    code, out, _ = run_cli(
        ["arch", ARCH_1, "--benchmark", benchmark_csv, "--benchmark-dataset", "cifar100"], capsys
    )
    accuracy = float(row_1["CIFAR100TestAccuracy200Epochs"])
    assert code == 0
    assert table_value(out, "stand-alone accuracy (cifar100, %)") == f"{accuracy:.2f}"


def test_arch_without_a_benchmark_prints_only_the_forms(capsys):
    code, out, _ = run_cli(["arch", ARCH_1], capsys)
    assert code == 0
    assert table_value(out, "canonical form").startswith("((0)@nor_conv_3x3)")
    assert "benchmark index" not in out


def test_arch_reads_the_benchmark_from_the_environment(benchmark_csv, monkeypatch, capsys):
    monkeypatch.setenv("LANDMARK_NAS_BENCHMARK", str(benchmark_csv))
    code, out, _ = run_cli(["arch", ARCH_1], capsys)
    assert code == 0 and table_value(out, "benchmark index") == "1"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|", "'conv_9x9'"),
        ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "'none~2'"),
        ("|none~0|+|none~0|none~1|", "found 2"),
    ],
)
def test_a_bad_arch_string_is_a_one_line_error(text, named, capsys):
    code, out, err = run_cli(["arch", text], capsys)
    assert out == ""
    assert_one_line_error(code, err, named)


# ---------------------------------------------------------------- bad inputs
def test_a_missing_data_folder_is_a_one_line_error(inputs, tmp_path, capsys):
    missing = tmp_path / "no-cifar"
    args = ["train", *inputs, *TINY, "--data", missing, "--out", tmp_path / "run"]
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, str(missing))


def test_a_missing_benchmark_file_is_a_one_line_error(inputs, tmp_path, capsys):
    missing = tmp_path / "gone.csv"
    args = ["train", *inputs, *TINY, "--benchmark", missing, "--out", tmp_path / "run"]
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, str(missing))


def test_a_zero_batch_size_is_a_one_line_error(inputs, tmp_path, capsys):
    args = ["train", *inputs, *TINY, "--batch-size", "0", "--out", tmp_path / "run"]
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, "batch_size=0")
    assert not (tmp_path / "run").exists()


def test_too_many_landmarks_is_a_one_line_error(inputs, tmp_path, capsys, reuse_cifar10):
    args = ["compare", *inputs, *TINY, "--landmark-count", "100000", "--out", tmp_path / "run"]
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, "landmark_count=100000")


def test_an_unknown_key_in_the_config_file_is_a_one_line_error(inputs, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("batch_size: 32\nlandmark_weight: 3\n")
    args = ["train", *inputs, *TINY, "--config", path, "--out", tmp_path / "run"]
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, "'landmark_weight'", str(path))


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--bn-mode", "layer", "'layer'"),
        ("--sampler", "greedy", "'greedy'"),
        ("--seeds", "0,0", "repeats"),
        ("--variants", "spos,dart", "'dart'"),
        ("--variants", "spos,landmarks-b1000000", "landmark_images"),
    ],
)
def test_bad_choices_are_one_line_errors(
    inputs, tmp_path, capsys, reuse_cifar10, option, value, named
):
    args = ["compare", *inputs, *TINY, option, value, "--out", tmp_path / "run", "--no-search"]
    code, _, err = run_cli(args, capsys)
    progress = [line for line in err.splitlines() if line.startswith("[seed ")]
    assert_one_line_error(code, "\n".join(set(err.splitlines()) - set(progress)), named)
    assert not list(tmp_path.glob("run/seed-*/*/run.json"))


@pytest.mark.parametrize("option", ["--landmark-loss", "--landmark-schedule"])
def test_a_misspelt_landmark_setting_fails_before_any_training(
    inputs, tmp_path, capsys, reuse_cifar10, option
):
    args = ["compare", *inputs, *TINY, option, "typo", "--out", tmp_path / "run", "--no-search"]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "'typo'" in err
    assert not list(tmp_path.glob("run/seed-*/*/run.json"))


def test_a_wrongly_typed_optional_field_is_a_one_line_error(inputs, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("steps: ten\n")
    code, _, err = run_cli(["train", *inputs, *TINY, "--config", path, "--out", tmp_path], capsys)
    assert_one_line_error(code, err, "'steps'")


# ---------------------------------------------------------------- compare
def test_compare_writes_results_and_plots_and_prints_the_table(
    inputs, tmp_path, capsys, reuse_cifar10
):
    out_dir = tmp_path / "compare"
    code, out, err = run_cli(["compare", *inputs, *TINY, "--out", out_dir], capsys)
    assert code == 0, err
    for name in (
        "results.json",
        "experiment.json",
        "scatter.png",
        "tau_over_epochs.png",
        "run.log",
    ):
        assert (out_dir / name).is_file(), name
    for variant in ("spos", "landmarks"):
        assert (out_dir / "seed-0" / variant / "run.json").is_file()

    results = json.loads((out_dir / "results.json").read_text())
    assert results["seeds"] == [0] and results["variants"] == ["spos", "landmarks"]
    assert set(results["summary"]) == {"spos", "landmarks"}
    runs = {run["variant"]: run for run in results["runs"]}
    assert runs["spos"]["landmark_images"] == 0 and runs["landmarks"]["landmark_images"] > 0
    assert runs["spos"]["steps"] == runs["landmarks"]["steps"] == 16
    experiment = json.loads((out_dir / "experiment.json").read_text())
    assert len(experiment["landmarks"]) == 5 and len(experiment["ranking_archs"]) == 10

    lines = out.splitlines()
    assert lines[0].split()[:2] == ["variant", "seeds"]
    tau = results["summary"]["landmarks"]["by_accuracy"]["kendall_tau"]["mean"]
    landmark_row = next(line for line in lines if line.startswith("landmarks "))
    assert f"{tau:.3f} ± 0.000" in landmark_row
    assert any(line.startswith("spos ") for line in lines)
    assert "Picked architectures:" in out and str(out_dir / "results.json") in out
    for run in results["runs"]:
        parse_arch(run["picked"]["arch"])
        assert run["picked"]["arch"] in out


# ---------------------------------------------------------------- train, score, search
def test_train_writes_a_run_folder_and_prints_its_correlations(trained):
    summary = json.loads((trained / "run.json").read_text())
    assert summary["variant"] == "landmarks" and summary["steps"] == 16
    assert (trained / "supernet.pt").is_file() and (trained / "run.log").is_file()
    assert "landmark" in (trained / "run.log").read_text()


def test_score_reproduces_the_runs_final_kendall_tau(trained, tmp_path, capsys, reuse_cifar10):
    scores_file = tmp_path / "scores.json"
    code, out, err = run_cli(["score", trained, "--threads", "1", "--json", scores_file], capsys)
    assert code == 0, err
    summary = json.loads((trained / "run.json").read_text())
    scored = json.loads(scores_file.read_text())
    assert scored["by_accuracy"] == summary["final"]["by_accuracy"]
    assert scored["by_loss"] == summary["final"]["by_loss"]
    assert [s["arch"] for s in scored["scores"]] == [s["arch"] for s in summary["scores"]]
    assert [s["supernet_accuracy"] for s in scored["scores"]] == [
        s["supernet_accuracy"] for s in summary["scores"]
    ]
    tau = summary["final"]["by_accuracy"]["kendall_tau"]
    assert f"Kendall tau by accuracy {tau:.4f}" in out


def test_score_scores_the_given_architectures(
    trained, tmp_path, capsys, reuse_cifar10, nb201_benchmark
):
    listed = tmp_path / "archs.txt"
    other = nb201_benchmark.space.format(nb201_benchmark.archs[42])
    listed.write_text(f"\n{other}\n")
    code, out, err = run_cli(
        ["score", trained / "supernet.pt", "--threads", "1", "--arch", ARCH_1, "--archs", listed],
        capsys,
    )
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("|")]
    assert [row.split()[0] for row in rows] == [ARCH_1, other]
    assert rows[0].split()[-1] == f"{nb201_benchmark.accuracy[1]:.2f}"


def test_score_without_a_saved_super_net_is_a_one_line_error(tmp_path, capsys):
    code, _, err = run_cli(["score", tmp_path, "--threads", "1"], capsys)
    assert_one_line_error(code, err, "no saved super-net", str(tmp_path))


def test_search_prints_a_picked_architecture(
    trained, tmp_path, capsys, caplog, reuse_cifar10, nb201_benchmark
):
    result_file = tmp_path / "picked.json"
    args = [
        "search",
        trained,
        "--threads",
        "1",
        "--search-population",
        "4",
        "--search-sample",
        "2",
        "--search-cycles",
        "6",
        "--json",
        result_file,
    ]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    picked = json.loads(result_file.read_text())
    arch = parse_arch(table_value(out, "arch"))
    assert nb201_benchmark.space.format(arch) == picked["arch"]
    assert float(table_value(out, "true_accuracy")) == nb201_benchmark.accuracy_of(arch)
    assert picked["true_accuracy"] == nb201_benchmark.accuracy_of(arch)
    assert 1 <= picked["evaluated"] <= 10
    # The run kept the default 1,024 search images but ranks on 128: all 128 are used.
    assert any(
        r.levelname == "WARNING" and "search_images" in r.getMessage() for r in caplog.records
    )


def test_ctrl_c_exits_130_and_the_same_command_finishes_the_run(
    trained, benchmark_csv, cifar10_dir, tmp_path, capsys, monkeypatch, reuse_cifar10
):
    out = tmp_path / "run"
    args = ["train", "--data", cifar10_dir, "--benchmark", benchmark_csv, *TINY, "--out", out]
    original = SPOSTrainer.train_step

    def ctrl_c_after_step_6(self, step):
        values = original(self, step)
        if step == 6:
            os.kill(os.getpid(), signal.SIGINT)
        return values

    monkeypatch.setattr(SPOSTrainer, "train_step", ctrl_c_after_step_6)
    code, _, err = run_cli(args, capsys)
    assert code == 130
    assert err.strip().splitlines() == [
        f"landmark-nas: error: interrupted at step 7; checkpoint saved in {out}, "
        "run the same command again to resume"
    ]
    assert not (out / "run.json").exists()

    monkeypatch.setattr(SPOSTrainer, "train_step", original)
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    resumed = json.loads((out / "run.json").read_text())["history"]
    uninterrupted = json.loads((trained / "run.json").read_text())["history"]
    for record in resumed + uninterrupted:
        record.pop("wall_seconds")
    assert resumed == uninterrupted


# ---------------------------------------------------------------- logging
def test_each_command_logs_only_into_its_own_run_log(tmp_path):
    with isolated_logging():
        with commands._run_log(tmp_path / "first"):
            logging.getLogger("landmark_nas").info("first run only")
        with commands._run_log(tmp_path / "second"):
            logging.getLogger("landmark_nas").info("second run only")
    assert "first run only" in (tmp_path / "first" / "run.log").read_text()
    assert "first run only" not in (tmp_path / "second" / "run.log").read_text()
    assert "second run only" in (tmp_path / "second" / "run.log").read_text()
    assert "second run only" not in (tmp_path / "first" / "run.log").read_text()


def test_list_options_ignore_spaces_after_commas():
    from landmark_nas.cli.commands import _parse_list

    assert _parse_list("spos, landmarks ,landmarks-b64", "variants") == [
        "spos",
        "landmarks",
        "landmarks-b64",
    ]
    assert _parse_list("0, 1", "seeds", int) == [0, 1]
