"""Every hyper-parameter of a run in one flat dataclass, loadable from YAML or JSON.

Precedence: defaults below < ``--config FILE`` < command-line options. Each field's
comment states its unit and why the default was chosen.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from landmark_nas.errors import ConfigError


@dataclass
class RunConfig:
    # --- inputs ---
    search_space: str = "nb201"
    dataset: str = "cifar10"
    data: str | None = None  # folder with cifar-10-batches-py; else $LANDMARK_NAS_DATA
    benchmark: str | None = None  # ground-truth file; else $LANDMARK_NAS_BENCHMARK
    benchmark_dataset: str = "cifar10"  # which accuracy column of the benchmark
    benchmark_format: str = "auto"  # csv, nats, or auto (by file suffix)
    seed: int = 0
    # --- super-net (NAS-Bench-201 uses C=16, N=5; smaller defaults fit two CPU cores) ---
    channels: int = 8
    cells_per_stage: int = 1
    bn_mode: str = "batch"  # batch statistics always; or "recalibrate" per architecture
    recalibration_batches: int = 10  # training batches used to recompute BN statistics
    channels_last: bool = True  # NHWC memory layout: same results, faster on CPU
    # --- data protocol (images) ---
    train_images: int = 25_000  # from the weight-training half (at most 25,000)
    landmark_images: int = 10_000  # landmark batches are drawn from these held-out images
    ranking_images: int = 2_048  # held-out images that rank architectures
    augment: bool = True  # pad-crop and flip on weight-training batches
    # --- SPOS training ---
    sampler: str = "uniform"
    batch_size: int = 64
    epochs: int = 8  # about 11 minutes for spos + landmarks (make compare) on two cores
    steps: int | None = None  # total optimizer steps; overrides epochs when set
    lr: float = 0.025  # SGD, cosine-annealed to lr_min over the run (NAS-Bench-201 search)
    lr_min: float = 0.001
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    grad_clip: float = 5.0
    # --- landmark regularizer (defaults follow Yu et al., CVPR 2021, but for the batch) ---
    use_landmarks: bool = True
    landmark_count: int = 30  # M landmarks
    landmark_selection: str = "random"  # random, or "even" along the ground-truth ranking
    landmark_seed: int = 0  # fixed across run seeds so runs share their landmarks
    landmark_pairs: int = 1  # m random pairs per regularized step
    landmark_lambda: float = 10.0  # final coefficient
    landmark_loss: str = "hinge"  # hinge, softplus or logistic
    landmark_schedule: str = "cosine"  # cosine increase, linear or constant after warm-up
    landmark_warmup_epochs: float | None = None  # None: the first 30 % of the run
    landmark_every: int = 1  # regularize every k-th step
    # Held-out images per landmark pass. 8 keeps the ranking gain of the paper's setting
    # (a landmark batch as large as the training batch) at a fraction of its cost
    # (docs/performance.md); None: same as batch_size.
    landmark_batch_size: int | None = 8
    # --- ranking evaluation ---
    ranking_archs: int = 100  # non-landmark architectures, one per canonical class
    ranking_seed: int = 0  # fixed so every run ranks the same architectures
    eval_batch_size: int = 512
    eval_every: int = 0  # epochs between evaluations; 0: five evaluations per run
    top_fraction: float = 0.1  # precision at the top 10 %
    # --- evolutionary search ---
    search_strategy: str = "evolution"
    search_population: int = 20
    search_sample: int = 5
    search_cycles: int = 60  # architectures evaluated after the initial population
    search_images: int = 1_024  # fitness set: the first ranking images (at most all of them)
    # --- execution ---
    threads: int = 0  # torch threads; 0: all cores
    # Landmark passes on a second thread during the training pass: auto (with at least 2
    # threads and bn_mode batch, where measured faster on this machine; see
    # training.calibration), on or off. Only rounding depends on it.
    landmark_overlap: str = "auto"
    checkpoint_every: int = 0  # steps between checkpoints; 0: every epoch
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def updated(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` applied (``None`` values are ignored: option not given)."""
        return self.replaced(**{k: v for k, v in changes.items() if v is not None})

    def replaced(self, **values: Any) -> RunConfig:
        """A copy with ``values`` applied, ``None`` included (config files, saved runs)."""
        unknown = set(values) - set(self.field_names())
        if unknown:
            raise ConfigError(f"unknown configuration field(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    # ------------------------------------------------------------------
    def steps_per_epoch(self) -> int:
        return self.train_images // self.batch_size

    def total_steps(self) -> int:
        return self.steps if self.steps is not None else self.epochs * self.steps_per_epoch()

    def landmark_batch(self) -> int:
        """Held-out images per landmark pass (``landmark_batch_size``, unset: ``batch_size``)."""
        return self.landmark_batch_size or self.batch_size

    def warmup_steps(self) -> int:
        if self.landmark_warmup_epochs is None:
            return int(0.3 * self.total_steps())
        return int(round(self.landmark_warmup_epochs * self.steps_per_epoch()))

    def eval_every_steps(self) -> int:
        if self.eval_every > 0:
            return self.eval_every * self.steps_per_epoch()
        return max(1, math.ceil(self.total_steps() / 5))

    def checkpoint_every_steps(self) -> int:
        return self.checkpoint_every if self.checkpoint_every > 0 else self.steps_per_epoch()

    def validate(self) -> RunConfig:
        """Reject impossible values with a message naming the field."""
        self._validate_names()
        positive = [
            "channels",
            "cells_per_stage",
            "train_images",
            "ranking_images",
            "batch_size",
            "eval_batch_size",
            "ranking_archs",
            "landmark_every",
            "search_population",
            "search_sample",
            "search_images",
            "recalibration_batches",
        ]
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be positive")
        for name in (
            "epochs",
            "search_cycles",
            "landmark_pairs",
            "landmark_count",
            "threads",
            "eval_every",
            "checkpoint_every",
            "landmark_images",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)} must not be negative")
        if self.batch_size > self.train_images:
            raise ConfigError(
                f"batch_size={self.batch_size} is larger than train_images={self.train_images}"
            )
        if self.total_steps() <= 0:
            raise ConfigError("the run has no training steps: raise epochs or steps")
        if self.steps is not None and self.steps <= 0:
            raise ConfigError(f"steps={self.steps} must be positive")
        for name in ("lr", "lr_min", "weight_decay", "grad_clip", "momentum", "landmark_lambda"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name}={value} must be a finite non-negative number")
        if not 0 < self.top_fraction <= 1:
            raise ConfigError(f"top_fraction={self.top_fraction} must be in (0, 1]")
        if self.search_sample > self.search_population:
            raise ConfigError(
                f"search_sample={self.search_sample} exceeds search_population="
                f"{self.search_population}"
            )
        if self.use_landmarks:
            if self.landmark_count < 2:
                raise ConfigError(
                    f"landmark_count={self.landmark_count}: need at least 2 landmarks"
                )
            if self.landmark_pairs < 1:
                raise ConfigError(f"landmark_pairs={self.landmark_pairs} must be at least 1")
            if self.landmark_images < self.landmark_batch():
                raise ConfigError(
                    f"landmark_images={self.landmark_images} is smaller than one landmark batch "
                    f"({self.landmark_batch()} images)"
                )
        if self.use_landmarks:
            from landmark_nas.training.overlap import check_overlap

            check_overlap(self.landmark_overlap, self.bn_mode)
        if self.landmark_batch_size is not None and self.landmark_batch_size <= 0:
            raise ConfigError(f"landmark_batch_size={self.landmark_batch_size} must be positive")
        if self.landmark_warmup_epochs is not None and self.landmark_warmup_epochs < 0:
            raise ConfigError(
                f"landmark_warmup_epochs={self.landmark_warmup_epochs} must not be negative"
            )
        return self

    def _validate_names(self) -> None:
        """Names looked up in a registry or a fixed list, checked before any work starts."""
        import landmark_nas.benchmarks  # noqa: F401  (fill the registries)
        import landmark_nas.data  # noqa: F401
        import landmark_nas.landmarks  # noqa: F401
        import landmark_nas.search  # noqa: F401
        import landmark_nas.spaces  # noqa: F401
        import landmark_nas.training  # noqa: F401
        from landmark_nas import registry
        from landmark_nas.benchmarks.base import DATASETS as BENCHMARK_DATASETS
        from landmark_nas.landmarks.selection import SELECTIONS
        from landmark_nas.supernet.nb201 import BN_MODES
        from landmark_nas.training.overlap import OVERLAP_MODES

        lookups = {
            "search_space": registry.SEARCH_SPACES.names(),
            "dataset": registry.DATASETS.names(),
            "sampler": registry.SAMPLERS.names(),
            "landmark_loss": registry.RANKING_LOSSES.names(),
            "landmark_schedule": registry.LAMBDA_SCHEDULES.names(),
            "search_strategy": registry.SEARCH_STRATEGIES.names(),
            "benchmark_format": ["auto", *registry.BENCHMARKS.names()],
            "benchmark_dataset": list(BENCHMARK_DATASETS),
            "landmark_selection": list(SELECTIONS),
            "bn_mode": list(BN_MODES),
            "landmark_overlap": list(OVERLAP_MODES),
        }
        for name, choices in lookups.items():
            if getattr(self, name) not in choices:
                raise ConfigError(
                    f"{name}={getattr(self, name)!r} is unknown (choose from: {_choices(choices)})"
                )


def _choices(names: list[str]) -> str:
    return ", ".join(names)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Field values from a YAML or JSON file; unknown keys are an error naming the key."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise ConfigError(f"config file {path} {what}")
    try:
        text = path.read_text()
        values = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        detail = " ".join(str(error).split())  # one line
        raise ConfigError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({detail})"
        ) from None
    values = values or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of field names to values")
    names = set(RunConfig.field_names())
    for key in values:
        if key not in names:
            raise ConfigError(f"{path}: unknown field {key!r}")
    for key in _ON_OFF_FIELDS:
        # YAML 1.1 reads an unquoted on / off as a boolean.
        if isinstance(values.get(key), bool):
            values[key] = "on" if values[key] else "off"
    _check_types(path, values)
    return values


_ON_OFF_FIELDS = ("landmark_overlap",)


def _check_types(path: Path, values: dict[str, Any]) -> None:
    """Each value must match its field's annotation (``None`` where the field allows it)."""
    hints = typing.get_type_hints(RunConfig)
    for key, value in values.items():
        hint = hints[key]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        allowed = tuple(
            typing.get_origin(t) or t for t in (typing.get_args(hint) if union else (hint,))
        )
        if value is None and type(None) in allowed:
            continue
        if isinstance(value, bool) and bool not in allowed:
            ok = False
        elif isinstance(value, int) and float in allowed:
            ok = True
        else:
            ok = isinstance(value, allowed)
        if not ok:
            names = " or ".join("None" if t is type(None) else t.__name__ for t in allowed)
            raise ConfigError(f"{path}: field {key!r} = {value!r} should be {names}")
