"""PNG plots are written atomically and are real images."""

from __future__ import annotations

from landmark_nas.reports import plot_scatter, plot_tau_over_epochs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(variant: str, seed: int) -> dict:
    metrics = {"kendall_tau": 0.3, "spearman_rho": 0.4, "precision_at_top": 0.5}
    history = [{"epoch": e, "by_accuracy": metrics, "by_loss": metrics} for e in (1, 2)]
    scores = [{"supernet_accuracy": 10.0 * k, "true_accuracy": 80.0 + k} for k in range(5)]
    return {
        "variant": variant,
        "seed": seed,
        "history": history,
        "final": history[-1],
        "scores": scores,
    }


def test_plots_are_png_files_and_leave_no_temporary_file(tmp_path):
    runs = [run("spos", 0), run("landmarks", 0), run("spos", 1)]
    plot_scatter(runs[:2], tmp_path / "out" / "scatter.png")
    plot_tau_over_epochs(runs, tmp_path / "out" / "tau.png")
    for name in ("scatter.png", "tau.png"):
        data = (tmp_path / "out" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["scatter.png", "tau.png"]
