"""What each verb of the command line does; the terminal output lives here."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from landmark_nas.cli.options import config_from_args
from landmark_nas.config import RunConfig
from landmark_nas.errors import ConfigError, DataError
from landmark_nas.evaluation import ranking_metrics
from landmark_nas.experiment import (
    BENCHMARK_ENV,
    build_experiment,
    load_ground_truth,
    resolve_benchmark_path,
)
from landmark_nas.reports import comparison_table, format_table, plot_scatter, plot_tau_over_epochs
from landmark_nas.reports.tables import paired_table
from landmark_nas.runs import aggregate, run_one, search_supernet, variant_config
from landmark_nas.spaces import create_search_space
from landmark_nas.training.spos import SUPERNET, SPOSTrainer
from landmark_nas.utils.environment import set_threads, versions
from landmark_nas.utils.io import write_json

logger = logging.getLogger("landmark_nas")


def tqdm_progress(description: str, total: int, initial: int = 0):
    return tqdm(
        total=total,
        initial=initial,
        desc=description,
        leave=False,
        dynamic_ncols=True,
        disable=None,
        file=sys.stderr,
    )


@contextlib.contextmanager
def _run_log(out: Path) -> Iterator[None]:
    """Log everything at INFO into ``out/run.log`` while the command runs."""
    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "run.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    previous = root.level
    if previous > logging.INFO:
        for existing in root.handlers:
            existing.setLevel(max(existing.level, previous))
        root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous)


def _parse_list(text: str, name: str, kind=str) -> list:
    try:
        values = [kind(item.strip()) for item in text.split(",") if item.strip()]
    except ValueError:
        raise ConfigError(f"--{name} {text!r}: expected a comma-separated list") from None
    if not values:
        raise ConfigError(f"--{name} is empty")
    if len(set(values)) != len(values):
        raise ConfigError(f"--{name} {text!r} repeats a value")
    return values


# ---------------------------------------------------------------------- compare
def run_compare(args: argparse.Namespace) -> int:
    seeds = _parse_list(args.seeds, "seeds", int)
    variants = _parse_list(args.variants, "variants")
    # Regularizer settings are checked only when some variant uses them.
    base = config_from_args(args, use_landmarks=any(v != "spos" for v in variants))
    out = Path(args.out)
    with _run_log(out):
        return _compare(args, base, seeds, variants, out)


def _compare(args, base: RunConfig, seeds: list[int], variants: list[str], out: Path) -> int:
    set_threads(base.threads)
    logger.info("compare: seeds %s, variants %s, versions %s", seeds, variants, versions())
    experiment = build_experiment(base)
    for variant in variants:
        # Unknown names and impossible settings fail here, before any training.
        variant_config(experiment, base, variant).validate()
    write_json(
        out / "experiment.json",
        {
            "config": base.to_dict(),
            "seeds": seeds,
            "variants": variants,
            "versions": versions(),
            **experiment.describe(),
        },
    )
    started = time.perf_counter()
    runs = []
    for seed in seeds:
        for variant in variants:
            config = variant_config(experiment, base.updated(seed=seed), variant)
            print(f"[seed {seed}] {variant}: {config.total_steps()} steps", file=sys.stderr)
            runs.append(
                run_one(
                    experiment,
                    config,
                    out / f"seed-{seed}" / variant,
                    variant,
                    tqdm_progress,
                    search=not args.no_search,
                )
            )
    summary = aggregate(runs, variants)
    results = {
        "config": base.to_dict(),
        "seeds": seeds,
        "variants": variants,
        "versions": versions(),
        "wall_seconds": time.perf_counter() - started,
        "summary": summary,
        "runs": [{k: v for k, v in r.items() if k not in ("scores", "fingerprint")} for r in runs],
    }
    write_json(out / "results.json", results)
    first = [r for r in runs if r["seed"] == seeds[0]]
    plot_scatter(first, out / "scatter.png")
    plot_tau_over_epochs(runs, out / "tau_over_epochs.png")
    print(compare_report(runs, summary))
    (out / "summary.md").write_text(compare_report(runs, summary, markdown=True) + "\n")
    print(
        f"\nresults: {out / 'results.json'}, {out / 'summary.md'}; plots: "
        f"{out / 'scatter.png'}, {out / 'tau_over_epochs.png'}"
    )
    return 0


def compare_report(
    runs: list[dict[str, Any]], summary: dict[str, Any], markdown: bool = False
) -> str:
    """The comparison table, paired differences and picked architectures."""
    parts = [comparison_table(summary, markdown)]
    paired = paired_table(summary, markdown)
    if paired:
        parts += ["Paired per-seed differences to SPOS (mean ± std over seeds):", paired]
    picks = [
        [
            r["variant"],
            r["seed"],
            r["picked"]["arch"],
            f"{r['picked']['true_accuracy']:.2f}",
            f"{r['picked']['percentile']:.1f}",
        ]
        for r in runs
        if r.get("picked")
    ]
    if picks:
        headers = ["variant", "seed", "picked architecture", "stand-alone %", "percentile"]
        parts += ["Picked architectures:", format_table(headers, picks, markdown)]
    return "\n\n".join(parts)


# ---------------------------------------------------------------------- train
def run_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    out = Path(args.out)
    with _run_log(out):
        set_threads(config.threads)
        experiment = build_experiment(config)
        variant = "landmarks" if config.use_landmarks else "spos"
        summary = run_one(experiment, config, out, variant, tqdm_progress, search=False)
    _print_train(summary, out)
    return 0


def _print_train(summary: dict[str, Any], out: Path) -> None:
    final = summary["final"]
    rows = [
        [
            ranking,
            f"{final[ranking]['kendall_tau']:.3f}",
            f"{final[ranking]['spearman_rho']:.3f}",
            f"{final[ranking]['precision_at_top']:.2f}",
        ]
        for ranking in ("by_accuracy", "by_loss")
    ]
    print(format_table(["ranking", "Kendall tau", "Spearman rho", "P@top"], rows))
    print(
        f"\n{summary['steps']} steps in {summary['train_seconds']:.0f} s; "
        f"super-net: {out / SUPERNET}"
    )
    return 0


# ---------------------------------------------------------------------- saved super-nets
def _load_saved(args: argparse.Namespace) -> tuple[SPOSTrainer, RunConfig]:
    path = Path(args.supernet)
    if path.is_dir():
        path = path / SUPERNET
    if not path.is_file():
        raise DataError(f"no saved super-net at {path}")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
        config = RunConfig().replaced(**saved["config"])
    except Exception as error:
        raise DataError(f"{path}: not a landmark-nas super-net ({error})") from None
    config = config.updated(
        data=args.data or config.data or os.environ.get("LANDMARK_NAS_DATA"),
        benchmark=args.benchmark or config.benchmark or os.environ.get(BENCHMARK_ENV),
        threads=args.threads,
    )
    set_threads(config.threads)
    experiment = build_experiment(config)
    trainer = SPOSTrainer(experiment, config, path.parent, tqdm_progress)
    trainer.model.load_state_dict(saved["model"])
    return trainer, config


def _read_arch_list(args: argparse.Namespace, space) -> list:
    texts = list(args.arch)
    if args.archs:
        path = Path(args.archs)
        if not path.is_file():
            raise DataError(f"architecture list {path} does not exist")
        texts += [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return [space.parse(text) for text in texts]


def run_score(args: argparse.Namespace) -> int:
    trainer, config = _load_saved(args)
    experiment = trainer.experiment
    archs = _read_arch_list(args, experiment.space) or experiment.ranking_archs
    scores = trainer.score(archs)
    truth = np.array([experiment.benchmark.accuracy_of(a) for a in archs])
    rows, records = [], []
    for arch, acc, loss, true in zip(archs, scores.accuracy, scores.loss, truth, strict=True):
        text = experiment.space.format(arch)
        rows.append([text, f"{acc:.2f}", f"{loss:.4f}", f"{true:.2f}"])
        records.append(
            {"arch": text, "supernet_accuracy": acc, "supernet_loss": loss, "true_accuracy": true}
        )
    print(
        format_table(["architecture", "super-net acc %", "super-net loss", "stand-alone %"], rows)
    )
    result: dict[str, Any] = {"supernet": str(args.supernet), "scores": records}
    if len(archs) >= 2:
        by_acc = ranking_metrics(scores.accuracy, truth, config.top_fraction)
        by_loss = ranking_metrics(-scores.loss, truth, config.top_fraction)
        result.update(by_accuracy=by_acc.to_dict(), by_loss=by_loss.to_dict())
        print(
            f"\nKendall tau by accuracy {by_acc.kendall_tau:.4f}, by loss "
            f"{by_loss.kendall_tau:.4f}; Spearman rho {by_acc.spearman_rho:.4f} / "
            f"{by_loss.spearman_rho:.4f} ({len(archs)} architectures, "
            f"{len(experiment.ranking_labels)} images)"
        )
    if args.json:
        write_json(args.json, result)
    return 0


def run_search(args: argparse.Namespace) -> int:
    trainer, config = _load_saved(args)
    overrides = {
        name: getattr(args, name)
        for name in ("search_population", "search_sample", "search_cycles", "search_images", "seed")
    }
    config = config.updated(**overrides).validate()
    picked = search_supernet(trainer, config, tqdm_progress)
    rows = [[k, v] for k, v in picked.items()]
    print(format_table(["search result", "value"], rows))
    if args.json:
        write_json(args.json, picked)
    return 0


# ---------------------------------------------------------------------- arch
def run_arch(args: argparse.Namespace) -> int:
    space = create_search_space("nb201")
    arch = space.parse(args.string)
    rows = [["architecture", space.format(arch)], ["canonical form", space.canonical(arch)]]
    if args.benchmark or os.environ.get(BENCHMARK_ENV):
        config = RunConfig(
            benchmark=str(resolve_benchmark_path(args.benchmark)),
            benchmark_dataset=args.benchmark_dataset,
        )
        _, benchmark = load_ground_truth(config)
        rows += [
            ["benchmark index", benchmark.index(arch)],
            [
                f"stand-alone accuracy ({benchmark.dataset}, %)",
                f"{benchmark.accuracy_of(arch):.2f}",
            ],
            ["rank (1 = best)", f"{benchmark.rank_of(arch)} of {len(benchmark)}"],
        ]
    print(format_table(["field", "value"], rows))
    return 0


__all__ = ["run_arch", "run_compare", "run_score", "run_search", "run_train"]
