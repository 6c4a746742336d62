"""Where the regularizer's overhead comes from: a breakdown of one landmark pair's cost.

The default regularizer adds, per step, one pair of landmarks scored on a small
held-out batch: a forward pass of both, and a backward pass when the hinge is
non-zero. Its overhead per step is roughly

    (pair forward + active fraction x pair backward) / plain training step,

and this script measures each factor on real CIFAR-10 batches and the run's real
landmarks, so it shows which one to attack:

* how much a landmark costs against an architecture the sampler draws (landmarks are
  not average architectures), per image, at the landmark batch and at the training
  batch, with their convolution FLOPs;
* how much an image costs at the small landmark batch against the training batch;
* the pair's forward (``forward_many``, shared stem) and backward, in milliseconds and
  in plain training steps.

Every time is a median over ``--repeats`` passes of each architecture, forward and
backward (gradients are discarded), at ``--threads`` intra-op threads. The
architectures drawn by the sampler are the first ``--archs`` of the run's own stream.

Usage (``LANDMARK_NAS_DATA`` and ``LANDMARK_NAS_BENCHMARK`` set, e.g. by ``make``)::

    .venv/bin/python benchmarks/landmark_cost.py --channels 16 --cells 5 --threads 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from landmark_nas.config import RunConfig
from landmark_nas.errors import LandmarkNASError
from landmark_nas.experiment import build_experiment
from landmark_nas.training.spos import SPOSTrainer
from landmark_nas.training.streams import Stream, step_rng

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import count_flops  # noqa: E402  (the benchmark's own FLOP counter)


def median_ms(function, repeats: int) -> float:
    """Median wall time of ``function()`` in ms, after one untimed call."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    config = RunConfig(
        channels=args.channels,
        cells_per_stage=args.cells,
        batch_size=args.batch,
        landmark_batch_size=args.landmark_batch,
        train_images=max(args.batch * args.archs, args.batch),
        epochs=1,
        landmark_warmup_epochs=0.0,
        landmark_overlap="off",
    )
    experiment = build_experiment(config)
    with tempfile.TemporaryDirectory() as folder:
        trainer = SPOSTrainer(experiment, config, Path(folder))
    model, regularizer = trainer.model, trainer.regularizer
    images, labels = trainer.train_stream.batch(0)
    held_x, held_y = trainer.landmark_stream.batch(0)
    sampled = [
        trainer.sampler.sample(step_rng(config.seed, index, Stream.ARCH))
        for index in range(args.archs)
    ]
    landmarks = regularizer.landmarks

    def pass_ms(arch, x, y) -> float:
        def run() -> None:
            F.cross_entropy(model(x, arch), y).backward()
            model.zero_grad(set_to_none=True)

        return median_ms(run, args.repeats)

    def flops(arch) -> float:
        with torch.no_grad():
            return count_flops(model, lambda: model(images[:1], arch))

    def group(archs) -> dict[str, float]:
        at_train = [pass_ms(a, images, labels) for a in archs]
        at_landmark = [pass_ms(a, held_x, held_y) for a in archs]
        return {
            "architectures": len(archs),
            "mflops_per_image": statistics.fmean(flops(a) for a in archs) / 1e6,
            "ms_per_pass_at_training_batch": statistics.fmean(at_train),
            "ms_per_pass_at_landmark_batch": statistics.fmean(at_landmark),
            "ms_per_image_at_training_batch": statistics.fmean(at_train) / len(labels),
            "ms_per_image_at_landmark_batch": statistics.fmean(at_landmark) / len(held_y),
        }

    result: dict[str, Any] = {
        "setting": f"C{args.channels}-N{args.cells}-b{args.batch}",
        "landmark_batch": len(held_y),
        "threads": args.threads,
        "sampled": group(sampled),
        "landmarks": group(landmarks),
    }

    pairs = [
        regularizer.sample_pairs(step_rng(config.seed, index, Stream.PAIRS))[0]
        for index in range(args.pairs)
    ]

    def pair_losses(pair):
        return [F.cross_entropy(o, held_y) for o in model.forward_many(held_x, list(pair))]

    def pair_forward(pair) -> float:
        def run() -> None:
            with torch.no_grad():
                pair_losses(pair)

        return median_ms(run, args.repeats)

    def pair_forward_backward(pair) -> float:
        def run() -> None:
            low, high = pair_losses(pair)
            (high - low).abs().backward()
            model.zero_grad(set_to_none=True)

        return median_ms(run, args.repeats)

    def pair_forward_graph(pair) -> float:
        return median_ms(lambda: pair_losses(pair), args.repeats)

    forward = statistics.fmean(pair_forward_graph(p) for p in pairs)
    both = statistics.fmean(pair_forward_backward(p) for p in pairs)
    plain = result["sampled"]["ms_per_pass_at_training_batch"]
    result["pair"] = {
        "pairs": len(pairs),
        "forward_ms": forward,
        "forward_no_grad_ms": statistics.fmean(pair_forward(p) for p in pairs),
        "forward_backward_ms": both,
        "backward_ms": both - forward,
        "plain_training_pass_ms": plain,
    }
    s, lm = result["sampled"], result["landmarks"]
    result["factors"] = {
        "landmark_over_sampled_per_image_at_landmark_batch": lm["ms_per_image_at_landmark_batch"]
        / s["ms_per_image_at_landmark_batch"],
        "landmark_over_sampled_flops": lm["mflops_per_image"] / s["mflops_per_image"],
        "small_batch_per_image_penalty_landmarks": lm["ms_per_image_at_landmark_batch"]
        / lm["ms_per_image_at_training_batch"],
        "pair_forward_in_training_passes": forward / plain,
        "pair_backward_in_training_passes": (both - forward) / plain,
        "predicted_overhead_at_active_fraction": {
            str(active): 1 + (forward + active * (both - forward)) / plain for active in args.active
        },
    }
    return result


def report(result: dict[str, Any]) -> None:
    s, lm, pair, f = result["sampled"], result["landmarks"], result["pair"], result["factors"]
    batch = result["setting"].rsplit("-b", 1)[1]
    print(
        f"{result['setting']}, landmark batch {result['landmark_batch']}, "
        f"{result['threads']} thread(s); forward + backward, mean over architectures of "
        "median ms"
    )
    print(f"  {'':34s} {'sampled':>10s} {'landmarks':>10s} {'ratio':>7s}")
    rows = (
        ("conv FLOPs per image (M)", "mflops_per_image"),
        (f"ms per pass, batch {batch}", "ms_per_pass_at_training_batch"),
        (f"ms per image, batch {batch}", "ms_per_image_at_training_batch"),
        (f"ms per pass, batch {result['landmark_batch']}", "ms_per_pass_at_landmark_batch"),
        (f"ms per image, batch {result['landmark_batch']}", "ms_per_image_at_landmark_batch"),
    )
    for label, key in rows:
        print(f"  {label:34s} {s[key]:10.2f} {lm[key]:10.2f} {lm[key] / s[key]:6.2f}x")
    print(
        f"  an image at batch {result['landmark_batch']} costs "
        f"{f['small_batch_per_image_penalty_landmarks']:.2f}x one at batch {batch} "
        "(landmarks)"
    )
    print(
        f"one pair ({pair['pairs']} pairs averaged), batch {result['landmark_batch']}: "
        f"forward {pair['forward_ms']:.1f} ms ({pair['forward_no_grad_ms']:.1f} without "
        f"autograd), backward {pair['backward_ms']:.1f} ms; plain training pass "
        f"{pair['plain_training_pass_ms']:.1f} ms"
    )
    print(
        f"  in training passes: forward {f['pair_forward_in_training_passes']:.2f}, "
        f"backward {f['pair_backward_in_training_passes']:.2f}"
    )
    predicted = "  ".join(
        f"{active}: {value:.2f}x"
        for active, value in f["predicted_overhead_at_active_fraction"].items()
    )
    print(
        "  training pass + landmark passes over training pass, by the fraction of pairs out "
        f"of order: {predicted}"
    )
    print(
        "  (an upper bound on the overhead per epoch: the optimizer step and the data, the "
        "same with or without landmarks, are not counted)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--channels", type=int, default=16, help="super-net channels C")
    parser.add_argument("--cells", type=int, default=5, help="cells per stage N")
    parser.add_argument("--batch", type=int, default=64, help="training batch size")
    parser.add_argument(
        "--landmark-batch",
        type=int,
        default=RunConfig().landmark_batch_size,
        help="held-out images per landmark pass (default: the package's)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--archs", type=int, default=30, help="sampled architectures timed")
    parser.add_argument("--pairs", type=int, default=10, help="landmark pairs timed")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per measurement")
    parser.add_argument(
        "--active",
        default="0.5,1.0",
        help="comma-separated fractions of steps whose pair is out of order (the hinge "
        "is non-zero and the backward pass runs) for the predicted overhead",
    )
    parser.add_argument("--json-out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    for name in (
        "channels",
        "cells",
        "batch",
        "landmark_batch",
        "threads",
        "archs",
        "pairs",
        "repeats",
    ):
        if getattr(args, name) < 1:
            option = name.replace("_", "-")
            raise SystemExit(f"error: --{option} {getattr(args, name)} must be at least 1")
    text = args.active
    try:
        args.active = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"error: --active {text!r}: not a list of numbers") from None
    if not args.active or not all(0.0 <= a <= 1.0 for a in args.active):
        raise SystemExit(f"error: --active {text!r}: give fractions between 0 and 1")
    if args.json_out is not None and not args.json_out.parent.is_dir():
        raise SystemExit(f"error: --json-out {args.json_out}: no folder {args.json_out.parent}")
    try:
        result = measure(args)
    except LandmarkNASError as error:
        raise SystemExit(f"error: {error}") from None
    report(result)
    if args.json_out is not None:
        try:
            args.json_out.write_text(json.dumps(result, indent=2) + "\n")
        except OSError as error:
            raise SystemExit(f"error: --json-out {args.json_out}: {error.strerror}") from None


if __name__ == "__main__":
    main()
