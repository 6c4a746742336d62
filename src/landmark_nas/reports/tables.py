"""Plain-text tables for the terminal and for Markdown docs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], markdown: bool = False
) -> str:
    """Columns padded to their widest cell; ``markdown`` adds pipes and a rule."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    if markdown:  # architecture strings contain pipes, which would split a Markdown cell
        cells = [[cell.replace("|", "\\|") for cell in row] for row in cells]
    widths = [max(len(row[k]) for row in cells) for k in range(len(headers))]
    lines = []
    for number, row in enumerate(cells):
        padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("| " + " | ".join(padded) + " |" if markdown else "  ".join(padded).rstrip())
        if number == 0:
            rule = ["-" * w for w in widths]
            lines.append("| " + " | ".join(rule) + " |" if markdown else "  ".join(rule))
    return "\n".join(lines)


def _pm(stats: dict[str, float] | None, digits: int = 3) -> str:
    if not stats:
        return "-"
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def _metric_cells(acc: dict[str, Any], loss: dict[str, Any]) -> list[str]:
    """tau, rho and P@top by accuracy, then the same by loss, as ``mean ± std``."""
    return [
        _pm(ranking[name], 2 if name == "precision_at_top" else 3)
        for ranking in (acc, loss)
        for name in ("kendall_tau", "spearman_rho", "precision_at_top")
    ]


def comparison_table(summary: dict[str, Any], markdown: bool = False) -> str:
    """One row per variant: ranking metrics by accuracy and by loss, pick, time."""
    headers = [
        "variant",
        "seeds",
        "tau (acc)",
        "rho (acc)",
        "P@top (acc)",
        "tau (loss)",
        "rho (loss)",
        "P@top (loss)",
        "picked acc %",
        "train s",
    ]
    rows = []
    for variant, entry in summary.items():
        acc, loss = entry["by_accuracy"], entry["by_loss"]
        rows.append(
            [
                variant,
                acc["kendall_tau"]["n"],
                *_metric_cells(acc, loss),
                _pm(entry["picked_true_accuracy"], 2),
                _pm(entry["train_seconds"], 0),
            ]
        )
    return format_table(headers, rows, markdown)


def paired_table(summary: dict[str, Any], markdown: bool = False) -> str:
    """Per-seed paired differences of each variant to SPOS, mean ± std."""
    headers = [
        "variant - spos",
        "d tau (acc)",
        "d rho (acc)",
        "d P@top (acc)",
        "d tau (loss)",
        "d rho (loss)",
        "d P@top (loss)",
    ]
    rows = []
    for variant, entry in summary.items():
        paired = entry.get("paired_difference_vs_spos")
        if not paired:
            continue
        acc, loss = paired["by_accuracy"], paired["by_loss"]
        rows.append(
            [
                variant,
                *_metric_cells(acc, loss),
            ]
        )
    return format_table(headers, rows, markdown) if rows else ""
