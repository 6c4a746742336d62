"""How much of the paper setting's ranking gain a cheaper regularizer setting keeps.

Reads the ``results.json`` files that ``landmark-nas compare`` writes, names every run
by its effective regularizer setting (``b<landmark batch>-k<every>``, or ``spos``), and
pairs each run with the SPOS run of the same seed. A setting's *gain* is its mean
paired Kendall-tau difference to SPOS, and its *share* is that gain divided by the
reference setting's (by default the paper's: landmark batch as large as the training
batch, every step), over the seeds both settings have.

The files may come from separate ``compare`` commands (other seeds, other variants),
as long as they trained the same budget: every configuration field other than the
regularizer settings, the seed and the thread count must agree, or the script stops.
A run found in two files (same setting and seed) must have the same results.

Usage::

    .venv/bin/python benchmarks/ranking_share.py docs/results/results.json \\
        docs/results-lb8/results.json runs/ext/results.json --json-out share.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any

from landmark_nas.config import RunConfig
from landmark_nas.errors import LandmarkNASError
from landmark_nas.runs import variant_config

RANKINGS = ("by_accuracy", "by_loss")
# Fields that differ between the settings being compared, or do not change results.
SETTING_FIELDS = {
    "use_landmarks",
    "landmark_batch_size",
    "landmark_every",
    "steps",
    "seed",
    "threads",
    "landmark_overlap",
    "checkpoint_every",
    "data",
    "benchmark",
}


def setting_name(config: RunConfig, variant: str) -> str:
    """``spos``, ``spos-matched`` or ``b<landmark batch>-k<every>`` for one run."""
    if variant == "spos-matched":
        return variant
    effective = variant_config(None, config, variant)  # type: ignore[arg-type]
    if not effective.use_landmarks:
        return "spos"
    return f"b{effective.landmark_batch()}-k{effective.landmark_every}"


def load_runs(paths: list[Path]) -> tuple[dict[tuple[str, int], dict[str, Any]], dict]:
    """Runs keyed by (setting, seed), and the budget they share."""
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    budget: dict[str, Any] | None = None
    budget_file = None
    for path in paths:
        try:
            data = json.loads(path.read_text())
            config = RunConfig().replaced(**data["config"])
            file_runs = data["runs"]
        except (OSError, ValueError, KeyError, TypeError, LandmarkNASError) as error:
            raise SystemExit(f"error: {path}: not a compare results.json ({error})") from None
        shared = {k: v for k, v in config.to_dict().items() if k not in SETTING_FIELDS}
        if budget is None:
            budget, budget_file = shared, path
        elif shared != budget:
            differing = sorted(k for k in shared if shared[k] != budget.get(k))
            raise SystemExit(
                f"error: {path} trained another budget than {budget_file} "
                f"(fields differ: {', '.join(differing)})"
            )
        for run in file_runs:
            key = (setting_name(config, run["variant"]), int(run["seed"]))
            final = {r: run["final"][r] for r in RANKINGS}
            if key in runs and runs[key]["final"] != final:
                raise SystemExit(
                    f"error: {path}: setting {key[0]} seed {key[1]} differs from the same "
                    f"run in {runs[key]['file']}"
                )
            runs.setdefault(key, {"final": final, "file": str(path)})
    return runs, budget or {}


def shares(
    runs: dict[tuple[str, int], dict[str, Any]], reference: str, metric: str = "kendall_tau"
) -> list[dict[str, Any]]:
    """One row per setting: paired gain over SPOS and share of the reference's gain."""
    spos = {seed: run for (name, seed), run in runs.items() if name == "spos"}
    settings = sorted({name for name, _ in runs if name != "spos"})
    if reference not in settings:
        raise SystemExit(
            f"error: no runs of the reference setting {reference!r} "
            f"(found: {', '.join(settings) or 'none'})"
        )
    rows = []
    for name in settings:
        seeds = sorted(s for n, s in runs if n == name and s in spos)
        row: dict[str, Any] = {"setting": name, "seeds": seeds}
        for ranking in RANKINGS:

            def gains(setting: str, chosen: list[int], ranking: str = ranking) -> list[float]:
                return [
                    runs[(setting, s)]["final"][ranking][metric] - spos[s]["final"][ranking][metric]
                    for s in chosen
                ]

            own = gains(name, seeds)
            both = [s for s in seeds if (reference, s) in runs]
            entry: dict[str, Any] = {
                "gain_mean": statistics.fmean(own) if own else math.nan,
                "gain_std": statistics.stdev(own) if len(own) > 1 else 0.0,
                "gain_per_seed": dict(zip(seeds, own, strict=True)),
                "share_seeds": both,
            }
            reference_gain = statistics.fmean(gains(reference, both)) if both else math.nan
            entry["share"] = (
                statistics.fmean(gains(name, both)) / reference_gain
                if both and reference_gain
                else math.nan
            )
            row[ranking] = entry
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("results", nargs="+", type=Path, help="results.json files of compare")
    parser.add_argument(
        "--reference",
        default=None,
        help="setting whose gain is 100 %% (default: the paper's, b<batch size>-k1)",
    )
    parser.add_argument(
        "--metric",
        default="kendall_tau",
        choices=("kendall_tau", "spearman_rho", "precision_at_top"),
        help="ranking metric of the gain",
    )
    parser.add_argument("--json-out", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    runs, budget = load_runs(args.results)
    reference = args.reference or f"b{budget['batch_size']}-k1"
    rows = shares(runs, reference, args.metric)
    print(
        f"{args.metric} gain over SPOS (paired by seed), share of {reference}'s gain over "
        "the seeds both have"
    )
    print(
        f"{'setting':14s} {'seeds':>5s}  {'gain by accuracy':>18s} {'share':>6s}  "
        f"{'gain by loss':>18s} {'share':>6s}"
    )
    for row in rows:
        cells = []
        for ranking in RANKINGS:
            entry = row[ranking]
            cells.append(
                f"{entry['gain_mean']:+8.3f} ± {entry['gain_std']:.3f}   "
                f"{100 * entry['share']:5.0f}%"
            )
        print(f"{row['setting']:14s} {len(row['seeds']):5d}  " + "  ".join(cells))
    if args.json_out is not None:
        args.json_out.write_text(
            json.dumps({"reference": reference, "metric": args.metric, "rows": rows}, indent=2)
            + "\n"
        )


if __name__ == "__main__":
    main()
