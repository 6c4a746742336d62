"""Terminal and Markdown tables of a comparison."""

from __future__ import annotations

from landmark_nas.reports import comparison_table, format_table
from landmark_nas.reports.tables import paired_table
from landmark_nas.runs import aggregate


def run(variant: str, seed: int, tau: float) -> dict:
    metrics = {"kendall_tau": tau, "spearman_rho": tau, "precision_at_top": 0.25}
    return {
        "variant": variant,
        "seed": seed,
        "train_seconds": 12.0,
        "images_seen": 10,
        "final": {"by_accuracy": metrics, "by_loss": metrics},
        "picked": {"true_accuracy": 91.5},
    }


def test_columns_are_padded_to_their_widest_cell():
    text = format_table(["a", "long header"], [["wide cell", 1], ["x", 22]])
    lines = text.splitlines()
    assert lines == [
        "a          long header",
        "---------  -----------",
        "wide cell  1",
        "x          22",
    ]


def test_markdown_tables_have_pipes_and_a_rule():
    lines = format_table(["k", "v"], [["tau", "0.5"]], markdown=True).splitlines()
    assert lines == ["| k   | v   |", "| --- | --- |", "| tau | 0.5 |"]


def test_comparison_table_has_a_row_per_variant_with_mean_and_std():
    summary = aggregate(
        [
            run("spos", 0, 0.2),
            run("spos", 1, 0.4),
            run("landmarks", 0, 0.6),
            run("landmarks", 1, 0.8),
        ],
        ["spos", "landmarks"],
    )
    lines = comparison_table(summary).splitlines()
    assert lines[0].split()[:3] == ["variant", "seeds", "tau"]
    spos_row = next(line for line in lines if line.startswith("spos "))
    assert "0.300 ± 0.141" in spos_row and "91.50 ± 0.00" in spos_row
    landmark_row = next(line for line in lines if line.startswith("landmarks "))
    assert "0.700 ± 0.141" in landmark_row
    paired = paired_table(summary)
    assert "landmarks" in paired and "0.400 ± 0.000" in paired


def test_paired_table_is_empty_without_spos():
    assert paired_table(aggregate([run("landmarks", 0, 0.5)], ["landmarks"])) == ""
