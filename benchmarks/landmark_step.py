"""A/B of the regularized training step: how the landmark passes are run.

Times, in one process on real CIFAR-10 batches and real landmarks, four versions of
``SPOSTrainer.train_step``, in blocks that take turns so all see the same load:

* ``off``: no regularizer;
* ``separate``: each landmark in its own forward pass, then a backward pass of the
  loss and a second one of the penalty (the trainer's first version);
* ``one-backward``: separate forward passes, one backward pass of loss + penalty;
* ``shared``: both landmarks in one ``forward_many`` call, which runs their common
  stem (and any op both apply to the same value) once, and one backward pass (what
  ``train_step`` does with ``landmark_overlap: off``);
* ``overlap`` (with ``--threads`` 2 or more): the training pass and the landmark
  passes at the same time on two threads, the intra-op threads split between them
  (``landmark_overlap: on``).

All compute the same gradients up to rounding (tests check the trainer's).

Usage (``LANDMARK_NAS_DATA`` and ``LANDMARK_NAS_BENCHMARK`` set, e.g. by ``make``)::

    .venv/bin/python benchmarks/landmark_step.py --channels 8 --cells 1 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from landmark_nas.config import RunConfig
from landmark_nas.errors import LandmarkNASError
from landmark_nas.experiment import build_experiment
from landmark_nas.training.overlap import ThreadGroup
from landmark_nas.training.spos import SPOSTrainer
from landmark_nas.training.streams import Stream, step_rng

MODES = ("off", "separate", "one-backward", "shared", "overlap")
THREADED = ("overlap",)


def make_step(trainer: SPOSTrainer, mode: str):
    """One training step of ``mode`` (see the module docstring)."""
    model, config, regularizer = trainer.model, trainer.config, trainer.regularizer

    def separately(images, labels):
        return lambda archs: [F.cross_entropy(model(images, a), labels) for a in archs]

    trainer_step = {  # the trainer's own code
        "shared": trainer._sequential_step,
        "overlap": trainer._overlapped_step,
    }.get(mode)

    def step(index: int) -> None:
        images, labels = trainer.train_stream.batch(index)
        arch = trainer.sampler.sample(step_rng(config.seed, index, Stream.ARCH))
        trainer.optimizer.zero_grad(set_to_none=True)

        def training_loss():
            return F.cross_entropy(model(images, arch), labels)

        def penalty(losses_of):
            return regularizer.penalty(index, losses_of, step_rng(config.seed, index, Stream.PAIRS))

        if mode == "off":  # no landmark batch is drawn: the reference does no such work
            training_loss().backward()
        elif trainer_step is not None:
            landmark_x, landmark_y = trainer.landmark_stream.batch(index)
            trainer_step(training_loss, penalty, trainer._losses_on(landmark_x, landmark_y))
        else:
            landmark_x, landmark_y = trainer.landmark_stream.batch(index)
            loss = training_loss()
            if mode == "separate":
                loss.backward()
            value, _ = penalty(separately(landmark_x, landmark_y))
            active = value.item() != 0.0
            if mode == "separate":
                if active:
                    value.backward()
            else:
                (loss + value if active else loss).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        trainer.optimizer.step()

    return step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--channels", type=int, default=8, help="super-net channels C")
    parser.add_argument("--cells", type=int, default=1, help="cells per stage N")
    parser.add_argument("--batch", type=int, default=64, help="training batch size")
    parser.add_argument("--block", type=int, default=30, help="steps per timed block")
    parser.add_argument("--rounds", type=int, default=8, help="blocks per variant")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--modes",
        default=None,
        help="comma-separated versions to time (off is always timed: ratios are to it); "
        "overlap needs --threads 2 or more (default: every version the threads allow)",
    )
    args = parser.parse_args(argv)
    for name in ("channels", "cells", "batch", "block", "rounds", "threads"):
        if getattr(args, name) < 1:
            raise SystemExit(f"error: --{name} {getattr(args, name)} must be at least 1")
    if args.modes is None:  # every version this thread count can run
        chosen = [m for m in MODES if args.threads >= 2 or m not in THREADED]
    else:
        chosen = [m.strip() for m in args.modes.split(",") if m.strip()]
        if not chosen:
            raise SystemExit("error: --modes names no version")
    for mode in chosen:
        if mode not in MODES:
            raise SystemExit(f"error: --modes: unknown version {mode!r} (choose from {MODES})")
        if mode in THREADED and args.threads < 2:
            raise SystemExit(f"error: --modes {mode} needs --threads 2 or more")
    steps = args.block * args.rounds
    if steps * args.batch > 25_000:
        raise SystemExit(
            f"error: --block x --rounds x --batch = {steps * args.batch} images, more than "
            "the 25,000 weight-training images"
        )
    torch.set_num_threads(args.threads)
    config = RunConfig(
        channels=args.channels,
        cells_per_stage=args.cells,
        batch_size=args.batch,
        train_images=max(steps * args.batch, args.batch),
        epochs=1,
        landmark_warmup_epochs=0.0,
    )
    try:
        experiment = build_experiment(config)
    except LandmarkNASError as error:
        raise SystemExit(f"error: {error}") from None
    with tempfile.TemporaryDirectory() as folder:
        trainer = SPOSTrainer(experiment, config.updated(landmark_overlap="off"), Path(folder))
    modes = tuple(m for m in MODES if m == "off" or m in chosen)
    trainer.thread_group = ThreadGroup(args.threads) if args.threads >= 2 else None
    steppers = {mode: make_step(trainer, mode) for mode in modes}
    for index in range(3):  # untimed warm-up
        for stepper in steppers.values():
            stepper(index)
    seconds: dict[str, list[float]] = {mode: [] for mode in steppers}
    for block in range(args.rounds):
        shift = block % len(modes)
        for mode in modes[shift:] + modes[:shift]:
            started = time.perf_counter()
            for index in range(block * args.block, (block + 1) * args.block):
                steppers[mode](index)
            seconds[mode].append((time.perf_counter() - started) / args.block)
    print(
        f"C={args.channels} N={args.cells} batch {args.batch}, landmark batch "
        f"{config.landmark_batch_size}, {args.threads} thread(s), medians of {args.rounds} "
        f"blocks of {args.block} steps (ratios within each block)"
    )
    for mode in modes:
        value = statistics.median(seconds[mode])
        ratio = statistics.median(a / b for a, b in zip(seconds[mode], seconds["off"], strict=True))
        print(f"  {mode:13s} {1000 * value:8.2f} ms/step  {ratio:5.3f}x")


if __name__ == "__main__":
    main()
