"""Command-line options that map one-to-one onto :class:`RunConfig` fields.

Every option defaults to ``None`` so that the precedence is: field default, then
``--config FILE``, then the options given. Help texts show the field default.
"""

from __future__ import annotations

import argparse
from typing import Any

from landmark_nas.config import RunConfig, load_config_file

# (field, type, help). Flags are the field name with dashes.
INPUT_OPTIONS = [
    ("data", str, "folder holding cifar-10-batches-py (else $LANDMARK_NAS_DATA)"),
    (
        "benchmark",
        str,
        "ground-truth file: the CSV export or an official NATS-Bench / "
        "NAS-Bench-201 file (else $LANDMARK_NAS_BENCHMARK)",
    ),
    (
        "benchmark_dataset",
        str,
        "accuracy column to rank against: cifar10, cifar100, imagenet16-120",
    ),
    ("benchmark_format", str, "benchmark file format: csv, nats or auto (by suffix)"),
    ("seed", int, "seed of initialization, data order, augmentation and sampled architectures"),
    ("threads", int, "torch intra-op threads; 0 uses every core"),
]
SUPERNET_OPTIONS = [
    ("channels", int, "C, channels of the first stage (the benchmark uses 16)"),
    ("cells_per_stage", int, "N, cells per stage (the benchmark uses 5)"),
    (
        "bn_mode",
        str,
        "batch norm: 'batch' statistics always, or 'recalibrate' running "
        "statistics per architecture before scoring it",
    ),
    ("recalibration_batches", int, "training batches used to recalibrate batch norm"),
]
TRAIN_OPTIONS = [
    ("train_images", int, "weight-training images, from the first half of the training set"),
    ("landmark_images", int, "held-out images that landmark batches are drawn from"),
    ("ranking_images", int, "held-out images that rank architectures (never trained on)"),
    ("batch_size", int, "training batch size (images)"),
    ("epochs", int, "training epochs over train_images"),
    ("steps", int, "total optimizer steps; overrides --epochs"),
    ("lr", float, "initial SGD learning rate (cosine-annealed)"),
    ("lr_min", float, "final learning rate"),
    ("momentum", float, "SGD momentum"),
    ("weight_decay", float, "SGD weight decay"),
    ("grad_clip", float, "gradient-norm clipping threshold; 0 disables"),
    ("sampler", str, "architecture sampler (uniform = SPOS)"),
    ("landmark_count", int, "M, number of landmark architectures"),
    ("landmark_selection", str, "how landmarks are chosen: random, or even along the ranking"),
    ("landmark_seed", int, "seed of the landmark choice (shared by all run seeds)"),
    ("landmark_pairs", int, "m, landmark pairs per regularized step"),
    ("landmark_lambda", float, "final coefficient lambda of the landmark penalty"),
    ("landmark_loss", str, "pairwise ranking loss: hinge, softplus or logistic"),
    ("landmark_schedule", str, "lambda after warm-up: cosine (increase), linear or constant"),
    ("landmark_warmup_epochs", float, "epochs with lambda = 0; unset: the first 30%% of steps"),
    ("landmark_every", int, "regularize every k-th step"),
    ("landmark_batch_size", int, "held-out images per landmark pass (the paper: as --batch-size)"),
    (
        "landmark_overlap",
        str,
        "landmark passes on a second thread during the training pass: auto (with 2+ "
        "threads and bn-mode batch, if faster on this machine: measured at the first "
        "regularized step once per CPU, torch version, thread count and super-net shape, "
        "stored in calibration.sqlite in $LANDMARK_NAS_CACHE, default "
        "~/.cache/landmark-nas; delete it to measure again), on or off",
    ),
    ("ranking_archs", int, "non-landmark architectures ranked against the ground truth"),
    ("ranking_seed", int, "seed of the ranked architecture set (shared by all runs)"),
    ("eval_batch_size", int, "batch size when scoring architectures"),
    ("eval_every", int, "epochs between ranking evaluations; 0: five per run"),
    ("top_fraction", float, "fraction for precision at the top"),
    ("checkpoint_every", int, "steps between checkpoints; 0: every epoch"),
]
SEARCH_OPTIONS = [
    ("search_population", int, "evolution: population size"),
    ("search_sample", int, "evolution: tournament sample size"),
    ("search_cycles", int, "evolution: mutations evaluated after the initial population"),
    ("search_images", int, "held-out images used as fitness (the first ranking images)"),
]
BOOL_OPTIONS = [
    ("augment", "pad-crop and flip augmentation of training batches"),
    ("channels_last", "NHWC memory layout for the super-net (faster on CPU, same results)"),
]


def add_config_options(parser: argparse.ArgumentParser, *groups: list) -> None:
    """Add ``--config`` and one option per listed field."""
    defaults = RunConfig()
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML or JSON file of configuration fields; options override it",
    )
    for group in groups:
        for name, kind, text in group:
            default = getattr(defaults, name)
            parser.add_argument(
                "--" + name.replace("_", "-"),
                dest=name,
                type=kind,
                default=None,
                metavar=name.split("_")[-1].upper() if kind is not str else "VALUE",
                help=f"{text} (default: {default})",
            )


def add_bool_options(parser: argparse.ArgumentParser) -> None:
    defaults = RunConfig()
    for name, text in BOOL_OPTIONS:
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=None,
            action=argparse.BooleanOptionalAction,
            help=f"{text} (default: {getattr(defaults, name)})",
        )


def config_from_args(args: argparse.Namespace, **forced: Any) -> RunConfig:
    """Defaults, then the ``--config`` file, then the given options, then ``forced``."""
    config = RunConfig()
    if getattr(args, "config", None):
        config = config.replaced(**load_config_file(args.config))
    names = set(RunConfig.field_names())
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    return config.updated(**{**given, **forced}).validate()
