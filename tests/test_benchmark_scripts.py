"""The benchmark scripts reject impossible options in one line, before any work starts."""

from __future__ import annotations

import importlib.util
import json
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


def write_results(path: Path, config: dict, runs: list[tuple[str, int, float, float]]) -> Path:
    """A compare results.json with the given (variant, seed, tau by accuracy, by loss)."""

    def final(acc: float, loss: float) -> dict:
        metrics = {"spearman_rho": 0.0, "precision_at_top": 0.0}
        return {
            "by_accuracy": {"kendall_tau": acc, **metrics},
            "by_loss": {"kendall_tau": loss, **metrics},
        }

    path.write_text(
        json.dumps(
            {
                "config": config,
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
    assert set(rows) == {"b64-k1", "b8-k1"}
    paper_row, cheap_row = rows["b64-k1"]["by_accuracy"], rows["b8-k1"]["by_accuracy"]
    assert rows["b64-k1"]["seeds"] == [0, 1]  # seed 2 has no SPOS run
    assert paper_row["gain_mean"] == pytest.approx(0.4)
    assert cheap_row["gain_mean"] == pytest.approx(0.3)
    assert cheap_row["share"] == pytest.approx(0.3 / 0.4)  # over seed 1, the one both have
    assert rows["b8-k1"]["by_loss"]["share"] == pytest.approx(0.1 / 0.2)
    share.main([str(first), str(second)])
    assert "b8-k1" in capsys.readouterr().out


def test_ranking_share_refuses_mixed_budgets_and_conflicting_runs(tmp_path):
    share = load("ranking_share")
    base = write_results(tmp_path / "a.json", {"epochs": 6}, [("spos", 0, 0.1, 0.1)])
    other = write_results(tmp_path / "b.json", {"epochs": 3}, [("spos", 1, 0.1, 0.1)])
    with pytest.raises(SystemExit, match="another budget .*epochs"):
        share.load_runs([base, other])
    clash = write_results(tmp_path / "c.json", {"epochs": 6}, [("spos", 0, 0.2, 0.1)])
    with pytest.raises(SystemExit, match="spos seed 0 differs"):
        share.load_runs([base, clash])
    broken = tmp_path / "d.json"
    broken.write_text("{")
    with pytest.raises(SystemExit, match="d.json: not a compare results.json"):
        share.load_runs([broken])
    runs, _ = share.load_runs([base])
    with pytest.raises(SystemExit, match="no runs of the reference setting 'b64-k1'"):
        share.shares(runs, "b64-k1")
