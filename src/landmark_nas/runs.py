"""One training run end to end, and the baseline-versus-landmarks comparison.

A run trains (or resumes) a super-net, ranks the fixed architecture set, runs the
search and writes ``run.json``; a finished run is read back instead of redone, so
an interrupted comparison resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from landmark_nas.config import RunConfig
from landmark_nas.errors import ConfigError
from landmark_nas.experiment import Experiment
from landmark_nas.search import evolutionary_search
from landmark_nas.training.progress import Progress, silent
from landmark_nas.training.spos import SPOSTrainer, fingerprint, landmark_images_planned
from landmark_nas.utils.environment import versions
from landmark_nas.utils.io import write_json

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"
VARIANTS = ("spos", "landmarks", "spos-matched", "landmarks-kN", "landmarks-bN")
_EVERY_K = re.compile(r"landmarks-k([1-9][0-9]*)")
_BATCH_N = re.compile(r"landmarks-b([1-9][0-9]*)")
SEARCH_SEED_OFFSET = 1_000_003  # search draws from its own stream, apart from training


def variant_config(experiment: Experiment, config: RunConfig, variant: str) -> RunConfig:
    """The configuration of ``variant`` for ``config.seed``.

    ``spos-matched`` is plain SPOS trained for extra steps that pass as many images
    through the super-net as the landmark run's regularizer does; ``landmarks-kN``
    regularizes every N-th step only; ``landmarks-bN`` passes N held-out images per
    landmark (``landmarks-b64`` at batch 64 is the paper's setting).
    """
    every = _EVERY_K.fullmatch(variant)
    if every:
        return config.updated(use_landmarks=True, landmark_every=int(every.group(1)))
    batch = _BATCH_N.fullmatch(variant)
    if batch:
        return config.updated(use_landmarks=True, landmark_batch_size=int(batch.group(1)))
    if variant == "spos":
        return config.updated(use_landmarks=False)
    if variant == "landmarks":
        return config.updated(use_landmarks=True)
    if variant == "spos-matched":
        extra = landmark_images_planned(experiment, config.updated(use_landmarks=True))
        steps = config.total_steps() + math.ceil(extra / config.batch_size)
        return config.updated(use_landmarks=False, steps=steps)
    raise ConfigError(f"unknown variant {variant!r} (choose from: {', '.join(VARIANTS)})")


def search_supernet(
    trainer: SPOSTrainer, config: RunConfig, progress: Callable[..., Progress] = silent
) -> dict[str, Any]:
    """Evolutionary search on the trained super-net; the pick with its ground truth."""
    experiment = trainer.experiment
    count = min(config.search_images, len(experiment.ranking_labels))
    if count < config.search_images:
        logger.warning(
            "search_images=%d exceeds the %d ranking images; using all of them",
            config.search_images,
            count,
        )
    images = experiment.ranking_images[:count]
    labels = experiment.ranking_labels[:count]

    def fitness(arch) -> float:
        return float(trainer.score([arch], images, labels, progress=silent).accuracy[0])

    bar = progress("search", config.search_population + config.search_cycles)
    try:
        result = evolutionary_search(
            experiment.space,
            fitness,
            config.search_population,
            config.search_sample,
            config.search_cycles,
            np.random.default_rng([config.seed, SEARCH_SEED_OFFSET]),
            bar.update,
        )
    finally:
        bar.close()
    benchmark = experiment.benchmark
    return {
        "arch": experiment.space.format(result.best),
        "supernet_accuracy": result.best_fitness,
        "true_accuracy": benchmark.accuracy_of(result.best),
        "percentile": benchmark.percentile_of(result.best),
        "rank": benchmark.rank_of(result.best),
        "evaluated": result.evaluated,
    }


def run_one(
    experiment: Experiment,
    config: RunConfig,
    run_dir: Path,
    variant: str,
    progress: Callable[..., Progress] = silent,
    search: bool = True,
) -> dict[str, Any]:
    """Train, rank and search one super-net; returns (and writes) its summary."""
    run_dir = Path(run_dir)
    finished = run_dir / RUN_FILE
    if finished.is_file():
        summary = json.loads(finished.read_text())
        if fingerprint(summary.get("fingerprint", {})) == fingerprint(config):
            logger.info("%s already finished; reading it", run_dir)
            return summary
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = SPOSTrainer(experiment, config, run_dir, progress)
    trainer.try_resume()  # refuses a folder of another configuration before touching it
    write_config(run_dir, config, trainer)
    logger.info("run %s (%s, seed %d): %s", run_dir, variant, config.seed, config.to_dict())
    result = trainer.train()
    write_config(run_dir, config, trainer)  # again: auto decides at the first regularized step
    started = time.perf_counter()
    picked = search_supernet(trainer, config, progress) if search else None
    search_seconds = time.perf_counter() - started
    space = experiment.space
    truth = experiment.ranking_truth
    summary = {
        "variant": variant,
        "seed": config.seed,
        "fingerprint": fingerprint(config),
        "steps": result.steps,
        "epochs": result.steps / config.steps_per_epoch(),
        "images_seen": result.images_seen,
        "landmark_images": result.landmark_images,
        "train_seconds": result.wall_seconds,
        "search_seconds": search_seconds,
        "execution": execution(trainer),
        "final": result.history[-1],
        "history": result.history,
        "picked": picked,
        "scores": [
            {
                "arch": space.format(a),
                "true_accuracy": float(t),
                "supernet_accuracy": float(acc),
                "supernet_loss": float(loss),
            }
            for a, t, acc, loss in zip(
                result.scores.archs, truth, result.scores.accuracy, result.scores.loss, strict=True
            )
        ],
    }
    write_json(finished, summary)
    return summary


def write_config(run_dir: Path, config: RunConfig, trainer: SPOSTrainer) -> None:
    """``config.json``: the run's configuration, versions and how it executes."""
    write_json(
        run_dir / "config.json",
        {"config": config.to_dict(), "versions": versions(), "execution": execution(trainer)},
    )


def execution(trainer: SPOSTrainer) -> dict[str, Any]:
    """How this process ran the training: threads, whether landmark passes overlapped
    (``None`` while ``landmark_overlap: auto`` has not decided yet), and the timing
    ``auto`` chose by (``None`` where it did not measure)."""
    timing = trainer.overlap_timing
    return {
        "threads": torch.get_num_threads(),
        "landmark_overlap": None if trainer.overlap_pending else trainer.thread_group is not None,
        "overlap_ms_per_step": None
        if timing is None
        else {
            "sequential": round(1000 * timing.sequential_s, 2),
            "overlapped": round(1000 * timing.overlapped_s, 2),
        },
        "overlap_source": trainer.overlap_source,
    }


METRICS = ("kendall_tau", "spearman_rho", "precision_at_top")


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std, "n": int(len(array))}


def aggregate(runs: list[dict[str, Any]], variants: Sequence[str]) -> dict[str, Any]:
    """Mean and standard deviation per variant, and paired per-seed differences to SPOS."""
    by_variant: dict[str, dict[int, dict]] = {v: {} for v in variants}
    for run in runs:
        by_variant[run["variant"]][run["seed"]] = run
    summary: dict[str, Any] = {}
    for variant, seeds in by_variant.items():
        entry: dict[str, Any] = {}
        for ranking in ("by_accuracy", "by_loss"):
            entry[ranking] = {
                m: _mean_std([r["final"][ranking][m] for r in seeds.values()]) for m in METRICS
            }
        picked = [r["picked"]["true_accuracy"] for r in seeds.values() if r.get("picked")]
        entry["picked_true_accuracy"] = _mean_std(picked) if picked else None
        entry["train_seconds"] = _mean_std([r["train_seconds"] for r in seeds.values()])
        entry["images_seen"] = _mean_std([r["images_seen"] for r in seeds.values()])
        if variant != "spos" and "spos" in by_variant:
            base = by_variant["spos"]
            shared = sorted(set(seeds) & set(base))
            if shared:
                entry["paired_difference_vs_spos"] = {
                    ranking: {
                        m: _mean_std(
                            [
                                seeds[s]["final"][ranking][m] - base[s]["final"][ranking][m]
                                for s in shared
                            ]
                        )
                        for m in METRICS
                    }
                    for ranking in ("by_accuracy", "by_loss")
                }
        summary[variant] = entry
    return summary
