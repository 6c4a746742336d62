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
import sys
from pathlib import Path
from typing import Any

from landmark_nas.config import RunConfig
from landmark_nas.errors import LandmarkNASError
from landmark_nas.runs import METRICS, variant_config
from landmark_nas.training.spos import EXECUTION_FIELDS

RANKINGS = ("by_accuracy", "by_loss")
# Fields that may differ between the files: the regularizer settings being compared
# (they name the setting), the seed, and what does not change results.
SETTING_FIELDS = {"use_landmarks", "landmark_batch_size", "landmark_every", "seed"}
NAMING_FIELDS = ("batch_size", "landmark_batch_size", "landmark_every")


def setting_name(config: RunConfig, variant: str) -> str:
    """``spos``, ``b<landmark batch>-k<every>`` or ``spos-matched-b<batch>-k<every>``.

    ``spos-matched`` trains as many extra images as the landmark setting of its file
    would pass, so its name carries that setting.
    """
    matched = variant == "spos-matched"
    effective = variant_config(None, config, "landmarks" if matched else variant)  # type: ignore[arg-type]
    if not effective.use_landmarks:
        return "spos"
    name = f"b{effective.landmark_batch()}-k{effective.landmark_every}"
    return f"spos-matched-{name}" if matched else name


def _final(run: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The run's final metrics, checked: every ranking and metric a finite number."""
    final = run["final"]
    checked: dict[str, dict[str, float]] = {}
    for ranking in RANKINGS:
        values = final[ranking]
        checked[ranking] = {}
        for metric in METRICS:
            value = values[metric]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"final.{ranking}.{metric} is {value!r}, not a number")
            if not math.isfinite(value):
                raise ValueError(f"final.{ranking}.{metric} is {value}")
            checked[ranking][metric] = float(value)
    return checked


def load_runs(paths: list[Path]) -> tuple[dict[tuple[str, int], dict[str, Any]], dict]:
    """Runs keyed by (setting, seed), and the budget they share."""
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    budget: dict[str, Any] | None = None
    budget_file = None
    ignored = SETTING_FIELDS | set(EXECUTION_FIELDS)
    for path in paths:
        try:
            data = json.loads(path.read_text())
            values = data["config"]
            missing = [name for name in NAMING_FIELDS if name not in values]
            if missing:
                raise ValueError(f"config lacks {', '.join(missing)}")
            config = RunConfig().replaced(**values).validate()
            file_runs = data["runs"]
            if not isinstance(file_runs, list):
                raise ValueError("runs is not a list")
        except (OSError, ValueError, KeyError, TypeError, LandmarkNASError) as error:
            raise SystemExit(f"error: {path}: not a compare results.json ({error})") from None
        shared = {k: v for k, v in config.to_dict().items() if k not in ignored}
        if budget is None:
            budget, budget_file = shared, path
        elif shared != budget:
            differing = sorted(k for k in shared if shared[k] != budget.get(k))
            raise SystemExit(
                f"error: {path} trained another budget than {budget_file} "
                f"(fields differ: {', '.join(differing)})"
            )
        seen: set[tuple[str, int]] = set()
        for index, run in enumerate(file_runs):
            try:
                seed = run["seed"]
                if isinstance(seed, bool) or not isinstance(seed, int):
                    raise ValueError(f"seed is {seed!r}, not an integer")
                key = (setting_name(config, run["variant"]), seed)
                final = _final(run)
            except (KeyError, TypeError, ValueError, LandmarkNASError) as error:
                detail = f"missing {error}" if isinstance(error, KeyError) else str(error)
                raise SystemExit(f"error: {path}: runs[{index}]: {detail}") from None
            if key in seen:
                raise SystemExit(f"error: {path}: setting {key[0]} seed {key[1]} appears twice")
            seen.add(key)
            if key in runs and runs[key]["final"] != final:
                raise SystemExit(
                    f"error: {path}: setting {key[0]} seed {key[1]} differs from the same "
                    f"run in {runs[key]['file']}"
                )
            runs.setdefault(key, {"final": final, "file": str(path)})
    return runs, budget or {}


def unpaired(runs: dict[tuple[str, int], dict[str, Any]]) -> list[tuple[str, int]]:
    """Runs left out because no SPOS run has their seed."""
    spos = {seed for name, seed in runs if name == "spos"}
    return sorted(key for key in runs if key[0] != "spos" and key[1] not in spos)


def shares(
    runs: dict[tuple[str, int], dict[str, Any]], reference: str, metric: str = "kendall_tau"
) -> list[dict[str, Any]]:
    """One row per setting: paired gain over SPOS and share of the reference's gain.

    A mean or share that cannot be computed (no paired seeds, no seed shared with the
    reference, a reference gain of zero) is ``None``.
    """
    spos = {seed: run for (name, seed), run in runs.items() if name == "spos"}
    settings = sorted({name for name, _ in runs if name != "spos"})
    if reference not in settings:
        raise SystemExit(
            f"error: no runs of the reference setting {reference!r} "
            f"(found: {', '.join(settings) or 'none'})"
        )
    if not any((reference, seed) in runs for seed in spos):
        raise SystemExit(f"error: no run of the reference setting {reference!r} has a SPOS pair")
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
                "gain_mean": statistics.fmean(own) if own else None,
                "gain_std": statistics.stdev(own) if len(own) > 1 else 0.0,
                "gain_per_seed": dict(zip(seeds, own, strict=True)),
                "share_seeds": both,
                "share": None,
            }
            if both:
                reference_gain = statistics.fmean(gains(reference, both))
                if reference_gain != 0:
                    entry["share"] = statistics.fmean(gains(name, both)) / reference_gain
            row[ranking] = entry
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        choices=METRICS,
        help="ranking metric of the gain (default: kendall_tau)",
    )
    parser.add_argument("--json-out", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    if args.reference is not None and not args.reference.strip():
        raise SystemExit("error: --reference is empty")
    runs, budget = load_runs(args.results)
    reference = args.reference or f"b{budget['batch_size']}-k1"
    rows = shares(runs, reference, args.metric)
    for name, seed in unpaired(runs):
        print(f"warning: {name} seed {seed} has no SPOS run of its seed; left out", file=sys.stderr)
    print(
        f"{args.metric} gain over SPOS (paired by seed), share of {reference}'s gain over "
        "the seeds both have"
    )
    print(
        f"{'setting':20s} {'seeds':>5s}  {'gain by accuracy':>18s} {'share':>6s}  "
        f"{'gain by loss':>18s} {'share':>6s}"
    )
    for row in rows:
        cells = []
        for ranking in RANKINGS:
            entry = row[ranking]
            gain = (
                "—".rjust(18)
                if entry["gain_mean"] is None
                else f"{entry['gain_mean']:+8.3f} ± {entry['gain_std']:.3f}   "
            )
            share = "—".rjust(6) if entry["share"] is None else f"{100 * entry['share']:5.0f}%"
            cells.append(f"{gain}{share}")
        print(f"{row['setting']:20s} {len(row['seeds']):5d}  " + "  ".join(cells))
    if args.json_out is not None:
        text = json.dumps({"reference": reference, "metric": args.metric, "rows": rows}, indent=2)
        try:
            args.json_out.write_text(text + "\n")
        except OSError as error:
            raise SystemExit(f"error: --json-out {args.json_out}: {error.strerror}") from None


if __name__ == "__main__":
    main()
