"""PNG plots: super-net versus stand-alone accuracy, and Kendall tau over training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_scatter(runs: list[dict[str, Any]], path: Path) -> None:
    """One panel per run: super-net accuracy (x) against stand-alone accuracy (y)."""
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 4), squeeze=False)
    for axis, run in zip(axes[0], runs, strict=True):
        x = [s["supernet_accuracy"] for s in run["scores"]]
        y = [s["true_accuracy"] for s in run["scores"]]
        axis.scatter(x, y, s=10, alpha=0.7)
        tau = run["final"]["by_accuracy"]["kendall_tau"]
        axis.set_title(f"{run['variant']} (seed {run['seed']}), tau {tau:.3f}", fontsize=10)
        axis.set_xlabel("super-net accuracy (%)")
        axis.set_ylabel("stand-alone accuracy (%)")
        axis.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def plot_tau_over_epochs(runs: list[dict[str, Any]], path: Path) -> None:
    """Kendall tau by super-net accuracy and by loss over epochs, a line per run."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    colours: dict[str, Any] = {}
    for run in runs:
        colour = colours.setdefault(run["variant"], f"C{len(colours)}")
        epochs = [h["epoch"] for h in run["history"]]
        for axis, ranking in zip(axes, ("by_accuracy", "by_loss"), strict=True):
            taus = [h[ranking]["kendall_tau"] for h in run["history"]]
            label = run["variant"] if run["seed"] == min(r["seed"] for r in runs) else None
            axis.plot(epochs, taus, marker="o", ms=3, color=colour, alpha=0.8, label=label)
    titles = ("ranking by super-net accuracy", "ranking by super-net loss")
    for axis, title in zip(axes, titles, strict=True):
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("epoch")
        axis.set_ylabel("Kendall tau")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(temporary, dpi=110)
    plt.close(fig)
    temporary.replace(path)
