"""The benchmark scripts reject impossible options in one line, before any work starts."""

from __future__ import annotations

import importlib.util
import json
import sys
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
        (["--epoch-landmark-batches", "6,x"], "'x' is not a positive integer"),
        (["--epoch-landmark-batches", "0"], "'0' is not a positive integer"),
        (["--epoch-landmark-batches", "99999"], "99999 is more than the 10000 held-out"),
        (["--repeats", "0"], "--repeats 0 must be at least 1"),
        (["--settings", "C16-N5-b64,C16-N5-b64"], "repeats a setting"),
        (["--settings", "C16"], "must look like C16-N5-b64"),
    ],
)
def test_speed_options(argv, message):
    speed = load("speed")
    with pytest.raises(SystemExit, match=message):
        speed.check_options(speed.build_parser().parse_args(argv))


def test_speed_reference_worker_checks_options_without_the_package(monkeypatch):
    # The reference worker runs in .venv-bench, where landmark_nas is not installed.
    speed = load("speed")
    monkeypatch.setitem(sys.modules, "landmark_nas", None)  # any import of it fails
    monkeypatch.setitem(sys.modules, "landmark_nas.config", None)
    for batches in ("", "6,4"):
        args = speed.build_parser().parse_args(
            [
                "--worker",
                "reference",
                "--task",
                "train",
                "--setting",
                "C8-N1-b64",
                "--epoch-landmark-batches",
                batches,
            ]
        )
        speed.check_options(args)
        assert speed.worker_threads(args, "train") == args.threads
    args = speed.build_parser().parse_args(["--epoch-landmark-batches", "6"])
    with pytest.raises(ImportError):
        speed.check_options(args)  # the parent does check against the package


def test_speed_epochs_use_every_core_unless_told():
    speed = load("speed")
    args = speed.build_parser().parse_args(["--threads", "1"])
    assert speed.worker_threads(args, "train") == 1
    assert speed.worker_threads(args, "epoch") >= 1
    args = speed.build_parser().parse_args(["--threads", "1", "--epoch-threads", "3"])
    assert speed.worker_threads(args, "epoch") == 3


def write_results(path: Path, config: dict, runs: list[tuple[str, int, float, float]]) -> Path:
    """A compare results.json with the given (variant, seed, tau by accuracy, by loss)."""

    def final(acc: float, loss: float) -> dict:
        metrics = {"spearman_rho": 0.0, "precision_at_top": 0.0}
        return {
            "by_accuracy": {"kendall_tau": acc, **metrics},
            "by_loss": {"kendall_tau": loss, **metrics},
        }

    naming = {"batch_size": 64, "landmark_batch_size": 64, "landmark_every": 1}
    path.write_text(
        json.dumps(
            {
                "config": {**naming, **config},
                "runs": [{"variant": v, "seed": s, "final": final(a, b)} for v, s, a, b in runs],
            }
        )
    )
    return path


def test_ranking_share_pairs_runs_across_files_by_their_setting(tmp_path, capsys):
    share = load("ranking_share")
    paper = {"batch_size": 64, "landmark_batch_size": 64}
    cheap = {"batch_size": 64, "landmark_batch_size": 8}
    first = write_results(
        tmp_path / "a.json",
        paper,
        [
            ("spos", 0, 0.1, 0.2),
            ("landmarks", 0, 0.5, 0.6),
            ("spos", 1, 0.0, 0.1),
            ("landmarks", 1, 0.4, 0.3),
            ("spos-matched", 1, 0.2, 0.2),
        ],
    )
    # "landmarks" here is batch 8 (the file's own override), seed 1's SPOS is shared.
    second = write_results(
        tmp_path / "b.json",
        cheap,
        [("spos", 1, 0.0, 0.1), ("landmarks", 1, 0.3, 0.2), ("landmarks-b64", 2, 0.9, 0.9)],
    )
    runs, _ = share.load_runs([first, second])
    rows = {row["setting"]: row for row in share.shares(runs, "b64-k1")}
    assert set(rows) == {"b64-k1", "b8-k1", "spos-matched-b64-k1"}
    paper_row, cheap_row = rows["b64-k1"]["by_accuracy"], rows["b8-k1"]["by_accuracy"]
    assert rows["b64-k1"]["seeds"] == [0, 1]  # seed 2 has no SPOS run
    assert share.unpaired(runs) == [("b64-k1", 2)]
    assert paper_row["gain_mean"] == pytest.approx(0.4)
    assert cheap_row["gain_mean"] == pytest.approx(0.3)
    assert cheap_row["share"] == pytest.approx(0.3 / 0.4)  # over seed 1, the one both have
    assert rows["b8-k1"]["by_loss"]["share"] == pytest.approx(0.1 / 0.2)
    out = tmp_path / "share.json"
    share.main([str(first), str(second), "--json-out", str(out)])
    printed = capsys.readouterr()
    assert "b8-k1" in printed.out
    assert "b64-k1 seed 2 has no SPOS run" in printed.err
    assert json.loads(out.read_text())["reference"] == "b64-k1"


def test_ranking_share_marks_what_cannot_be_computed(tmp_path):
    share = load("ranking_share")
    path = write_results(
        tmp_path / "a.json",
        {},
        [("spos", 0, 0.1, 0.1), ("landmarks", 0, 0.1, 0.3), ("landmarks-b8", 1, 0.5, 0.5)],
    )
    runs, _ = share.load_runs([path])
    rows = {row["setting"]: row for row in share.shares(runs, "b64-k1")}
    assert rows["b64-k1"]["by_accuracy"]["share"] is None  # a reference gain of zero
    assert rows["b64-k1"]["by_loss"]["share"] == pytest.approx(1.0)
    assert rows["b8-k1"]["by_accuracy"]["gain_mean"] is None  # no SPOS run of seed 1
    only_unpaired = write_results(
        tmp_path / "b.json", {}, [("spos", 0, 0.1, 0.1), ("landmarks", 1, 0.1, 0.3)]
    )
    runs, _ = share.load_runs([only_unpaired])
    with pytest.raises(SystemExit, match="no run of the reference setting 'b64-k1' has a SPOS"):
        share.shares(runs, "b64-k1")


def test_ranking_share_refuses_mixed_budgets_and_conflicting_runs(tmp_path):
    share = load("ranking_share")
    base = write_results(tmp_path / "a.json", {"epochs": 6}, [("spos", 0, 0.1, 0.1)])
    other = write_results(tmp_path / "b.json", {"epochs": 3}, [("spos", 1, 0.1, 0.1)])
    with pytest.raises(SystemExit, match="another budget .*epochs"):
        share.load_runs([base, other])
    longer = write_results(tmp_path / "s.json", {"epochs": 6, "steps": 500}, [])
    with pytest.raises(SystemExit, match="another budget .*steps"):
        share.load_runs([base, longer])
    layout = write_results(tmp_path / "l.json", {"epochs": 6, "channels_last": False}, [])
    share.load_runs([base, layout])  # changes no result
    clash = write_results(tmp_path / "c.json", {"epochs": 6}, [("spos", 0, 0.2, 0.1)])
    with pytest.raises(SystemExit, match="spos seed 0 differs"):
        share.load_runs([base, clash])
    twice = write_results(tmp_path / "t.json", {}, [("spos", 0, 0.2, 0.1), ("spos", 0, 0.2, 0.1)])
    with pytest.raises(SystemExit, match="spos seed 0 appears twice"):
        share.load_runs([twice])
    broken = tmp_path / "d.json"
    broken.write_text("{")
    with pytest.raises(SystemExit, match="d.json: not a compare results.json"):
        share.load_runs([broken])
    runs, _ = share.load_runs([base])
    with pytest.raises(SystemExit, match="no runs of the reference setting 'b64-k1'"):
        share.shares(runs, "b64-k1")


@pytest.mark.parametrize(
    ("config", "run", "message"),
    [
        ({}, {"seed": 0, "final": {}}, r"runs\[0\]: missing 'variant'"),
        ({}, {"variant": "spos", "seed": "x"}, r"runs\[0\]: seed is 'x', not an integer"),
        ({}, {"variant": "foo", "seed": 0}, r"runs\[0\]: unknown variant 'foo'"),
        ({}, {"variant": "spos", "seed": 0, "final": None}, r"runs\[0\]: "),
        ({}, {"variant": "spos", "seed": 0, "final": {"by_accuracy": {}}}, "missing"),
        (
            {},
            {
                "variant": "spos",
                "seed": 0,
                "final": {
                    ranking: {"kendall_tau": "0.5", "spearman_rho": 0, "precision_at_top": 0}
                    for ranking in ("by_accuracy", "by_loss")
                },
            },
            "final.by_accuracy.kendall_tau is '0.5', not a number",
        ),
        ({"landmark_every": 0}, None, "landmark_every"),
    ],
)
def test_ranking_share_names_a_bad_run_in_one_line(tmp_path, config, run, message):
    share = load("ranking_share")
    path = write_results(tmp_path / "r.json", config, [])
    data = json.loads(path.read_text())
    data["runs"] = [] if run is None else [run]
    path.write_text(json.dumps(data))
    with pytest.raises(SystemExit, match=message):
        share.load_runs([path])


def test_ranking_share_output_errors_are_one_line(tmp_path):
    share = load("ranking_share")
    path = write_results(
        tmp_path / "a.json", {}, [("spos", 0, 0.1, 0.1), ("landmarks", 0, 0.2, 0.3)]
    )
    with pytest.raises(SystemExit, match="--json-out .*nowhere"):
        share.main([str(path), "--json-out", str(tmp_path / "nowhere" / "x.json")])
    with pytest.raises(SystemExit, match="--reference is empty"):
        share.main([str(path), "--reference", " "])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--active", "x"], "--active 'x': not a list of numbers"),
        (["--active", "1.5"], "--active '1.5': give fractions between 0 and 1"),
        (["--json-out", "/nonexistent/folder/cost.json"], "no folder /nonexistent/folder"),
        (["--active", ","], "fractions between 0 and 1"),
        (["--landmark-batch", "0"], "--landmark-batch 0 must be at least 1"),
        (["--repeats", "0"], "--repeats 0 must be at least 1"),
    ],
)
def test_landmark_cost_options(argv, message):
    with pytest.raises(SystemExit, match=message):
        load("landmark_cost").main(argv)


def test_landmark_cost_measures_every_factor(benchmark_csv, cifar10_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("LANDMARK_NAS_DATA", str(cifar10_dir))
    monkeypatch.setenv("LANDMARK_NAS_BENCHMARK", str(benchmark_csv))
    out = tmp_path / "cost.json"
    argv = ["--channels", "4", "--cells", "1", "--batch", "16", "--landmark-batch", "4"]
    argv += ["--threads", "1", "--archs", "3", "--pairs", "2", "--repeats", "1"]
    load("landmark_cost").main([*argv, "--json-out", str(out)])
    result = json.loads(out.read_text())
    assert result["setting"] == "C4-N1-b16" and result["landmark_batch"] == 4
    assert result["sampled"]["architectures"] == 3
    assert result["landmarks"]["architectures"] == 30
    for group in ("sampled", "landmarks"):
        values = result[group]
        assert values["ms_per_image_at_landmark_batch"] == pytest.approx(
            values["ms_per_pass_at_landmark_batch"] / 4
        )
        assert values["mflops_per_image"] > 0
    pair = result["pair"]
    assert pair["backward_ms"] == pytest.approx(pair["forward_backward_ms"] - pair["forward_ms"])
    predicted = result["factors"]["predicted_overhead_at_active_fraction"]
    assert set(predicted) == {"0.5", "1.0"}
    assert 1.0 < predicted["0.5"] < predicted["1.0"]
