"""Single-path one-shot (SPOS) super-net training, optionally landmark-regularized.

Each step trains one uniformly sampled path on a weight-training batch. When a
:class:`~landmark_nas.landmarks.LandmarkRegularizer` is given, regularized steps
also compute the super-net loss of landmark pairs on a held-out batch and add the
ranking penalty. The learning rate is a pure function of the step, every random
choice comes from per-step generators, and checkpoints are atomic, so an
interrupted run resumes from its last checkpoint and ends with the same numbers.
"""

from __future__ import annotations

import copy
import logging
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from landmark_nas.config import RunConfig
from landmark_nas.errors import ConfigError, LandmarkNASError, NonFiniteLossError
from landmark_nas.evaluation import ArchScores, ranking_metrics, score_archs
from landmark_nas.experiment import Experiment
from landmark_nas.landmarks import LambdaSchedule, LandmarkRegularizer
from landmark_nas.supernet import create_supernet
from landmark_nas.training.calibration import (
    Measurement,
    OverlapKey,
    OverlapTiming,
    measured_overlap,
    time_both,
)
from landmark_nas.training.overlap import (
    ThreadGroup,
    overlapped_step,
    resolve_overlap,
    sequential_step,
)
from landmark_nas.training.progress import Progress, silent
from landmark_nas.training.samplers import create_sampler
from landmark_nas.training.streams import LandmarkStream, Stream, TrainStream, step_rng
from landmark_nas.utils.io import save_torch

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
SUPERNET = "supernet.pt"
# Fields that change how a run executes but not what it computes.
EXECUTION_FIELDS = (
    "threads",
    "checkpoint_every",
    "data",
    "benchmark",
    "extra",
    "channels_last",
    "landmark_overlap",  # changes only the rounding of floating-point sums
)


class RunInterrupted(LandmarkNASError):
    """Ctrl-C or SIGTERM: the run checkpointed and can resume with the same command."""


@dataclass
class TrainResult:
    steps: int
    images_seen: int
    landmark_images: int
    wall_seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)
    scores: ArchScores | None = None


# Fields a run without the regularizer never reads (landmark_count, _selection and _seed
# still matter: they decide which architectures are excluded from the ranking set).
REGULARIZER_FIELDS = (
    "landmark_pairs",
    "landmark_lambda",
    "landmark_loss",
    "landmark_schedule",
    "landmark_warmup_epochs",
    "landmark_every",
    "landmark_batch_size",
)


def fingerprint(config: RunConfig | dict[str, Any]) -> dict[str, Any]:
    """The fields that determine what a run computes; equal fingerprints, equal runs."""
    values = config.to_dict() if isinstance(config, RunConfig) else dict(config)
    if values.get("landmark_batch_size") is None and "batch_size" in values:
        values["landmark_batch_size"] = values["batch_size"]  # None means "as batch_size"
    ignored = set(EXECUTION_FIELDS)
    if not values.get("use_landmarks", True):
        ignored |= set(REGULARIZER_FIELDS)
    return {k: v for k, v in values.items() if k not in ignored}


def cosine_lr(config: RunConfig, step: int) -> float:
    progress = step / max(1, config.total_steps())
    return config.lr_min + 0.5 * (config.lr - config.lr_min) * (1 + math.cos(math.pi * progress))


def build_regularizer(experiment: Experiment, config: RunConfig) -> LandmarkRegularizer:
    schedule = LambdaSchedule(
        config.landmark_lambda,
        config.warmup_steps(),
        config.total_steps(),
        config.landmark_schedule,
    )
    return LandmarkRegularizer(
        experiment.landmarks,
        experiment.landmark_accuracy,
        schedule,
        pairs_per_step=config.landmark_pairs,
        loss=config.landmark_loss,
        every=config.landmark_every,
    )


def landmark_images_planned(experiment: Experiment, config: RunConfig) -> int:
    """Images the regularizer will pass through the super-net over a whole run."""
    regularizer = build_regularizer(experiment, config)
    batch = config.landmark_batch()
    total = 0
    for step in range(config.total_steps()):
        if regularizer.active(step):
            pairs = regularizer.sample_pairs(step_rng(config.seed, step, Stream.PAIRS))
            total += batch * len({arch for pair in pairs for arch in pair})
    return total


class _StopFlag:
    """Turns SIGINT/SIGTERM into a flag checked between steps."""

    def __init__(self) -> None:
        self.raised = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.raised:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class SPOSTrainer:
    """Trains one super-net; landmark-regularized when ``config.use_landmarks``."""

    def __init__(
        self,
        experiment: Experiment,
        config: RunConfig,
        run_dir: Path,
        progress: Callable[..., Progress] = silent,
    ) -> None:
        config.validate()
        if config.use_landmarks and len(experiment.landmarks) < 2:
            raise ConfigError("use_landmarks needs landmark_count >= 2")
        self.experiment = experiment
        self.config = config
        self.run_dir = Path(run_dir)
        self.progress = progress
        torch.manual_seed(config.seed)
        self.model = create_supernet(
            config.search_space,
            config.channels,
            config.cells_per_stage,
            experiment.dataset.num_classes,
            config.bn_mode,
            config.channels_last,
        )
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            nesterov=config.nesterov and config.momentum > 0,
        )
        self.sampler = create_sampler(config.sampler, experiment.space)
        self.train_stream = TrainStream(
            experiment.dataset,
            experiment.splits.train,
            config.batch_size,
            config.seed,
            config.augment,
        )
        self.regularizer = build_regularizer(experiment, config) if config.use_landmarks else None
        self.landmark_stream = (
            LandmarkStream(
                experiment.dataset,
                experiment.splits.landmark,
                config.landmark_batch(),
                config.seed,
            )
            if config.use_landmarks
            else None
        )
        self._parameters = list(self.model.parameters())
        # Decided once, from the thread count the run starts with (see training.overlap);
        # ``auto`` measures at the first regularized step (or takes a checkpoint's choice),
        # so commands that only score a saved super-net never measure.
        self._threads = torch.get_num_threads()
        self.overlap_timing: OverlapTiming | None = None
        self.overlap_source: str | None = None
        self.thread_group: ThreadGroup | None = None
        self._overlap_pending = False
        if config.use_landmarks:
            overlap = resolve_overlap(config.landmark_overlap, config.bn_mode, self._threads)
            if overlap is None:
                self._overlap_pending = True
            else:
                self._set_overlap(overlap)
            if config.landmark_overlap == "on" and not overlap:
                logger.warning("landmark_overlap=on has no effect with %d thread", self._threads)
        self.step = 0
        self.images_seen = 0
        self.landmark_images = 0
        self.wall_seconds = 0.0
        self.history: list[dict[str, Any]] = []
        self.recent_losses: list[float] = []  # the last training losses, for logs and history
        self._checked_resume = False

    # ------------------------------------------------------------------ state
    def _state(self) -> dict[str, Any]:
        return {
            "fingerprint": fingerprint(self.config),
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "images_seen": self.images_seen,
            "landmark_images": self.landmark_images,
            "wall_seconds": self.wall_seconds,
            "history": self.history,
            "recent_losses": self.recent_losses,
            # auto's choice, kept so that a resumed run goes on the same way
            "overlap": None if self._overlap_pending else self.thread_group is not None,
            "overlap_threads": self._threads,
            "overlap_timing": None
            if self.overlap_timing is None
            else [self.overlap_timing.sequential_s, self.overlap_timing.overlapped_s],
        }

    def save_checkpoint(self) -> None:
        save_torch(self.run_dir / CHECKPOINT, self._state())

    def try_resume(self) -> bool:
        """Load the run directory's checkpoint if there is one; True when resumed."""
        self._checked_resume = True
        path = self.run_dir / CHECKPOINT
        if not path.is_file():
            return False
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except (
            Exception
        ) as error:  # a torn file cannot happen (atomic writes) but a foreign one can
            raise LandmarkNASError(f"{path}: unreadable checkpoint ({error})") from None
        expected = fingerprint(self.config)
        stored = fingerprint(state["fingerprint"])
        changed = sorted(k for k in expected if stored.get(k) != expected[k])
        if changed:
            hint = ""
            if "landmark_batch_size" in changed:
                # Runs from before 8 became the default stored the training batch size.
                hint = (
                    f" (it was written with landmark_batch_size="
                    f"{stored.get('landmark_batch_size')}: pass --landmark-batch-size "
                    f"{stored.get('landmark_batch_size')} to resume it)"
                )
            raise ConfigError(
                f"{path} was written with a different configuration ({', '.join(changed)}); "
                f"use another --out or delete the folder{hint}"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = state["step"]
        self.images_seen = state["images_seen"]
        self.landmark_images = state["landmark_images"]
        self.wall_seconds = state["wall_seconds"]
        self.history = state["history"]
        self.recent_losses = state.get("recent_losses", [])
        choice = state.get("overlap")
        if self._overlap_pending and choice is not None:
            if state.get("overlap_threads") == self._threads:
                timing = state.get("overlap_timing")
                if timing is not None:
                    self.overlap_timing = OverlapTiming(*timing)
                self.overlap_source = "the choice before the run was interrupted"
                logger.info("landmark_overlap auto: %s, as before", "on" if choice else "off")
                self._set_overlap(bool(choice))
        logger.info("resumed %s at step %d", self.run_dir, self.step)
        return True

    # ------------------------------------------------------------------ steps
    def _losses_on(self, images: torch.Tensor, labels: torch.Tensor, model=None):
        """Landmark losses on one batch; shared work of the architectures runs once."""
        model = self.model if model is None else model
        return lambda archs: [
            F.cross_entropy(logits, labels) for logits in model.forward_many(images, archs)
        ]

    @property
    def overlap_pending(self) -> bool:
        """Whether ``landmark_overlap: auto`` has yet to decide (at the first regularized
        step)."""
        return self._overlap_pending

    def _set_overlap(self, overlap: bool) -> None:
        self._overlap_pending = False
        self.thread_group = ThreadGroup(self._threads) if overlap else None
        if overlap:
            logger.info("landmark passes overlap the training pass (%d threads)", self._threads)

    def resolve_overlap(self) -> None:
        """``landmark_overlap: auto``: decide now, from the stored measurement for this
        machine and shape or a new one (``training.calibration``). Called by the first
        regularized step; does nothing once decided."""
        if not self._overlap_pending:
            return
        key = OverlapKey.for_run(self.config, self._threads)
        timing, source = measured_overlap(key, lambda: self._time_overlap(self._threads))
        self.overlap_timing, self.overlap_source = timing, source
        logger.info(
            "landmark_overlap auto (%s, %d threads): %s (%s)",
            key.cpu,
            self._threads,
            timing.describe(),
            source,
        )
        self._set_overlap(timing.overlap)

    def _time_overlap(self, threads: int) -> Measurement:
        """Regularized steps both ways, on a copy of the super-net (the run's weights,
        optimizer and random streams stay untouched) with the run's own first batches and
        landmark pairs. The landmark backward pass runs on every other step, about as
        often as pairs are out of order in training (``docs/performance.md``)."""
        model = copy.deepcopy(self.model)
        parameters = list(model.parameters())
        group = ThreadGroup(threads)
        config = self.config

        def step(index: int, overlapped: bool) -> None:
            images, labels = self.train_stream.batch(index)
            landmark_x, landmark_y = self.landmark_stream.batch(index)
            arch = self.sampler.sample(step_rng(config.seed, index, Stream.ARCH))
            pairs = self.regularizer.sample_pairs(step_rng(config.seed, index, Stream.PAIRS))
            archs = list(dict.fromkeys(arch for pair in pairs for arch in pair))
            for parameter in parameters:
                parameter.grad = None

            def training_loss() -> torch.Tensor:
                return F.cross_entropy(model(images, arch), labels)

            def penalty(losses_of) -> tuple[torch.Tensor, int]:
                losses = dict(zip(archs, losses_of(archs), strict=True))
                value = sum((losses[b] - losses[w]).abs() for w, b in pairs) + 1.0  # > 0
                return (value if index % 2 == 0 else value.detach() * 0.0), len(archs)

            losses_of = self._losses_on(landmark_x, landmark_y, model)
            if overlapped:
                overlapped_step(group, parameters, training_loss, penalty, losses_of)
            else:
                sequential_step(training_loss, penalty, losses_of)

        try:
            with torch.random.fork_rng(devices=[]):
                return time_both(lambda i: step(i, False), lambda i: step(i, True), threads)
        finally:
            group.close()

    def train_step(self, step: int) -> dict[str, float]:
        """One optimizer step; returns the training loss and the landmark penalty."""
        config = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = cosine_lr(config, step)
        images, labels = self.train_stream.batch(step)
        arch = self.sampler.sample(step_rng(config.seed, step, Stream.ARCH))
        self.optimizer.zero_grad(set_to_none=True)
        self.images_seen += len(labels)

        def training_loss() -> torch.Tensor:
            return F.cross_entropy(self.model(images, arch), labels)

        penalty_value = 0.0
        if self.regularizer is not None and self.regularizer.active(step):
            if self._overlap_pending:
                self.resolve_overlap()
            landmark_x, landmark_y = self.landmark_stream.batch(step)
            pairs_rng = step_rng(config.seed, step, Stream.PAIRS)

            def penalty(losses_of) -> tuple[torch.Tensor, int]:
                return self.regularizer.penalty(step, losses_of, pairs_rng)

            regularized_step = (
                self._sequential_step if self.thread_group is None else self._overlapped_step
            )
            loss, penalty_value, passes = regularized_step(
                training_loss, penalty, self._losses_on(landmark_x, landmark_y)
            )
            self.landmark_images += passes * len(landmark_y)
            self.images_seen += passes * len(landmark_y)
        else:
            loss = training_loss()
            loss.backward()
        loss_value = loss.item()
        if not (math.isfinite(loss_value) and math.isfinite(penalty_value)):
            raise NonFiniteLossError(
                f"step {step}: training loss {loss_value}, landmark penalty {penalty_value}; "
                f"last good checkpoint kept in {self.run_dir} (try a lower lr or landmark_lambda)"
            )
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self._parameters, config.grad_clip)
        self.optimizer.step()
        return {"loss": loss_value, "penalty": penalty_value}

    # The two ways of running a regularized step (see training.overlap).
    def _sequential_step(self, training_loss, penalty, losses_of):
        return sequential_step(training_loss, penalty, losses_of)

    def _overlapped_step(self, training_loss, penalty, losses_of):
        return overlapped_step(
            self.thread_group, self._parameters, training_loss, penalty, losses_of
        )

    # ------------------------------------------------------------------ evaluation
    def recalibration_batches(self) -> list[torch.Tensor]:
        count = self.config.recalibration_batches
        return [self.train_stream.batch(k)[0] for k in range(count)]

    def score(self, archs=None, images=None, labels=None, progress=None) -> ArchScores:
        """Super-net accuracy and loss of ``archs`` (default: the ranking set).

        ``progress`` is a progress factory; by default the trainer's own.
        """
        experiment = self.experiment
        recalibration = self.recalibration_batches if self.config.bn_mode == "recalibrate" else None
        archs = experiment.ranking_archs if archs is None else archs
        bar = (progress or self.progress)("ranking", len(archs))
        try:
            return score_archs(
                self.model,
                archs,
                experiment.ranking_images if images is None else images,
                experiment.ranking_labels if labels is None else labels,
                self.config.eval_batch_size,
                recalibration,
                bar.update,
            )
        finally:
            bar.close()

    def evaluate(self) -> tuple[dict[str, Any], ArchScores]:
        scores = self.score()
        truth = self.experiment.ranking_truth
        fraction = self.config.top_fraction
        record = {
            "step": self.step,
            "epoch": self.step / self.config.steps_per_epoch(),
            "images_seen": self.images_seen,
            "wall_seconds": self.wall_seconds,
            "by_accuracy": ranking_metrics(scores.accuracy, truth, fraction).to_dict(),
            "by_loss": ranking_metrics(-scores.loss, truth, fraction).to_dict(),
            "mean_supernet_accuracy": float(np.mean(scores.accuracy)),
        }
        return record, scores

    # ------------------------------------------------------------------ loop
    def train(self) -> TrainResult:
        """Train (or resume) to the configured number of steps, evaluating on the way."""
        config = self.config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not self._checked_resume:
            self.try_resume()
        total = config.total_steps()
        eval_every = config.eval_every_steps()
        checkpoint_every = config.checkpoint_every_steps()
        bar = self.progress("training", total, self.step)
        scores = None
        running = self.recent_losses
        try:
            with _StopFlag() as stop:
                while self.step < total:
                    started = time.perf_counter()
                    values = self.train_step(self.step)
                    self.wall_seconds += time.perf_counter() - started
                    self.step += 1
                    running.append(values["loss"])
                    del running[:-200]
                    bar.update(1)
                    if self.step % 20 == 0:
                        bar.set_postfix_str(f"loss {np.mean(running[-50:]):.3f}")
                    if self.step % eval_every == 0 or self.step == total:
                        record, scores = self.evaluate()
                        record["train_loss"] = float(np.mean(running[-200:]))
                        record["landmark_lambda"] = (
                            self.regularizer.schedule(self.step - 1) if self.regularizer else 0.0
                        )
                        self.history.append(record)
                        logger.info(
                            "step %d (epoch %.2f): loss %.3f, tau by accuracy %.3f, by loss %.3f",
                            self.step,
                            record["epoch"],
                            record["train_loss"],
                            record["by_accuracy"]["kendall_tau"],
                            record["by_loss"]["kendall_tau"],
                        )
                    if self.step % checkpoint_every == 0 or self.step == total:
                        self.save_checkpoint()
                    if stop.raised:
                        self.save_checkpoint()
                        raise RunInterrupted(
                            f"interrupted at step {self.step}; checkpoint saved in {self.run_dir}, "
                            "run the same command again to resume"
                        )
        finally:
            bar.close()
            if self.thread_group is not None:
                self.thread_group.close()
        if scores is None:
            scores = self.score()
        self.save_supernet()
        return TrainResult(
            self.step,
            self.images_seen,
            self.landmark_images,
            self.wall_seconds,
            self.history,
            scores,
        )

    def save_supernet(self) -> None:
        """The trained weights with what is needed to score or search them later."""
        save_torch(
            self.run_dir / SUPERNET,
            {
                "config": self.config.to_dict(),
                "model": self.model.state_dict(),
                "landmarks": [self.experiment.space.format(a) for a in self.experiment.landmarks],
            },
        )
