"""Super-net speed, side by side with the reference NAS-Bench-201 super-net.

One command measures, in one run on one machine with the same synthetic images,
batch size, C and N:

* training throughput (images per second; forward, backward and SGD step with a
  freshly sampled architecture every step) of our super-net and of the reference
  (``xautodl``'s ``TinyNetworkRANDOM``, trained as its RANDOM-NAS search script
  trains it);
* ranking-evaluation throughput (architectures scored per minute on a fixed set);
* the peak resident memory of each measurement's process;
* the wall-time overhead of the landmark regularizer, every step and every k-th step;
* a roofline estimate (counted FLOPs per image against a large convolution's
  measured GFLOP/s) and a profile of one training step.

Each measurement runs in its own worker process (``--worker``), so the reference
can live in a separate virtual environment and every peak-memory figure belongs to
one measurement. Ours and the reference alternate within every repeat, so a ratio
compares runs made under the same machine load; the summary reports medians.

Reference environment (never a dependency of the package)::

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install torch==2.13.0 numpy
    .venv-bench/bin/pip install --no-deps xautodl

Usage::

    .venv/bin/python benchmarks/speed.py --repeats 3 --threads 1   # shared machine: 1 thread
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETTINGS = "C16-N5-b64,C8-N1-b64"
PROFILE_SETTING = "C16-N5-b64"
LANDMARK_EVERY = (1, 2, 4)
NUM_CLASSES = 10
SEED = 0
RESULT_TAG = "RESULT "


# ---------------------------------------------------------------- shared helpers
def parse_setting(name: str) -> tuple[int, int, int]:
    """``C16-N5-b64`` -> (channels, cells per stage, batch size)."""
    match = re.fullmatch(r"C([1-9]\d*)-N([1-9]\d*)-b([1-9]\d*)", name)
    if match is None:
        raise SystemExit(f"error: setting {name!r} must look like C16-N5-b64 (numbers >= 1)")
    return int(match[1]), int(match[2]), int(match[3])


def recommended_variant() -> tuple[str, int]:
    """The package's default regularizer setting: name and landmark batch size.

    Every step, with ``RunConfig().landmark_batch_size`` held-out images per landmark
    pass (docs/performance.md shows it keeps the ranking gain on real data).
    """
    from landmark_nas.config import RunConfig

    defaults = RunConfig()
    batch = defaults.landmark_batch_size
    return f"k{defaults.landmark_every}-b{batch}", batch


def synthetic_batch(batch: int, seed: int):
    """Normalized-looking images and labels; identical in both environments."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(batch, 3, 32, 32, generator=generator)
    labels = torch.randint(0, NUM_CLASSES, (batch,), generator=generator)
    return images, labels


def imported_peak_rss_mib(side: str) -> float:
    """Peak resident memory once everything a side runs is imported, before any model."""
    if side == "ours":
        import landmark_nas.evaluation  # noqa: F401
        import landmark_nas.landmarks  # noqa: F401
        import landmark_nas.training.spos  # noqa: F401
    else:
        import xautodl.models  # noqa: F401
    return peak_rss_mib()


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def count_flops(model, run_forward) -> float:
    """Multiply-adds x 2 of the convolutions and linear layers one forward executes."""
    from torch import nn

    total = [0.0]

    def conv_hook(module, inputs, output):
        per_output = module.in_channels // module.groups * module.kernel_size[0]
        total[0] += 2.0 * output.numel() * per_output * module.kernel_size[1]

    def linear_hook(module, inputs, output):
        total[0] += 2.0 * output.numel() * module.in_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    try:
        run_forward()
    finally:
        for handle in handles:
            handle.remove()
    return total[0]


# ---------------------------------------------------------------- workers: ours
class Ours:
    """Our super-net, stepped the way ``SPOSTrainer.train_step`` steps it.

    The data stream is left out on both sides: images are synthetic tensors already
    in memory (the reference's script loads data in separate worker processes).
    """

    def __init__(self, channels: int, cells: int, batch: int, total_steps: int) -> None:
        import torch

        from landmark_nas.config import RunConfig
        from landmark_nas.spaces.nb201 import NB201Space
        from landmark_nas.supernet import create_supernet
        from landmark_nas.training.samplers import create_sampler

        self.config = RunConfig(
            channels=channels, cells_per_stage=cells, batch_size=batch, steps=total_steps
        )
        self.space = NB201Space()
        torch.manual_seed(SEED)
        self.model = create_supernet(
            "nb201", channels, cells, NUM_CLASSES, self.config.bn_mode, self.config.channels_last
        )
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=self.config.lr,
            momentum=self.config.momentum,
            weight_decay=self.config.weight_decay,
            nesterov=self.config.nesterov,
        )
        self.sampler = create_sampler("uniform", self.space)

    def arch(self, step: int):
        from landmark_nas.training.streams import Stream, step_rng

        return self.sampler.sample(step_rng(SEED, step, Stream.ARCH))

    def step(self, step: int, images, labels, regularizer=None, landmark_batch=None) -> float:
        import math

        import torch
        import torch.nn.functional as F

        from landmark_nas.training.spos import cosine_lr
        from landmark_nas.training.streams import Stream, step_rng

        for group in self.optimizer.param_groups:
            group["lr"] = cosine_lr(self.config, step)
        arch = self.arch(step)
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(images, arch), labels)
        objective = loss
        if regularizer is not None and regularizer.active(step):
            landmark_x, landmark_y = landmark_batch
            penalty, _ = regularizer.penalty(
                step,
                lambda archs: [
                    F.cross_entropy(logits, landmark_y)
                    for logits in self.model.forward_many(landmark_x, archs)
                ],
                step_rng(SEED, step, Stream.PAIRS),
            )
            if penalty.requires_grad and float(penalty) != 0.0:
                objective = loss + penalty
        objective.backward()
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError(f"non-finite loss {value} at step {step}")
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        return value


def ours_train(args: argparse.Namespace) -> dict[str, Any]:
    channels, cells, batch = parse_setting(args.setting)
    images, labels = synthetic_batch(batch, SEED)
    baseline = imported_peak_rss_mib("ours")
    net = Ours(channels, cells, batch, args.warmup + args.steps)
    for step in range(args.warmup):
        net.step(step, images, labels)
    started = time.perf_counter()
    for step in range(args.warmup, args.warmup + args.steps):
        net.step(step, images, labels)
    seconds = time.perf_counter() - started
    return {
        "images_per_s": args.steps * batch / seconds,
        "seconds_per_step": seconds / args.steps,
        "peak_rss_mib": peak_rss_mib(),
        "baseline_rss_mib": baseline,
        "archs": [net.space.format(net.arch(s)) for s in range(args.warmup + args.steps)],
    }


def ours_eval(args: argparse.Namespace) -> dict[str, Any]:
    from landmark_nas.evaluation import score_archs

    channels, cells, batch = parse_setting(args.setting)
    images, labels = synthetic_batch(args.eval_images, SEED + 1)
    baseline = imported_peak_rss_mib("ours")
    net = Ours(channels, cells, batch, 1)
    archs = [net.space.parse(text) for text in json.loads(Path(args.archs).read_text())]
    warm, timed = archs[0], archs[1 : args.eval_archs + 1]
    score_archs(net.model, [warm], images, labels, batch)
    started = time.perf_counter()
    scores = score_archs(net.model, timed, images, labels, batch)
    seconds = time.perf_counter() - started
    return {
        "archs_per_min": 60.0 * len(timed) / seconds,
        "peak_rss_mib": peak_rss_mib(),
        "baseline_rss_mib": baseline,
        "mean_accuracy": float(scores.accuracy.mean()),
    }


def ours_landmark(args: argparse.Namespace) -> dict[str, Any]:
    """Seconds per step without the regularizer and with it every k-th step.

    The variants share one super-net and take turns in blocks of ``landmark_steps``
    steps (a multiple of every k), so they see the same machine load. A block
    replays the same step numbers, hence the same architectures and landmark pairs.
    """
    import numpy as np

    from landmark_nas.landmarks import LambdaSchedule, LandmarkRegularizer

    channels, cells, batch = parse_setting(args.setting)
    images, labels = synthetic_batch(batch, SEED)
    landmark_batch = synthetic_batch(batch, SEED + 2)
    block = args.landmark_steps
    net = Ours(channels, cells, batch, 1)
    rng = np.random.default_rng(SEED)
    landmarks = sorted({net.space.sample(rng) for _ in range(30)})
    accuracy = rng.permutation(len(landmarks)).astype(float)
    schedule = LambdaSchedule(10.0, 0, 2**31, "constant")
    variants: dict[str, Any] = {"off": None}
    for every in LANDMARK_EVERY:
        variants[f"k{every}"] = LandmarkRegularizer(
            landmarks, accuracy, schedule, loss=args.landmark_loss, every=every
        )
    recommended, recommended_batch = recommended_variant()
    variants[recommended] = LandmarkRegularizer(
        landmarks, accuracy, schedule, loss=args.landmark_loss, every=1
    )
    batches = {name: landmark_batch for name in variants}
    batches[recommended] = synthetic_batch(recommended_batch, SEED + 2)
    for step in range(min(2, block)):  # warm-up, not timed
        net.step(step, images, labels, variants["k1"], landmark_batch)
    seconds = {name: 0.0 for name in variants}
    for round_index in range(args.landmark_rounds):
        names = list(variants) if round_index % 2 == 0 else list(reversed(variants))
        # Each round (and repeat) trains other architectures and landmark pairs.
        first = 4 + block * (round_index + args.landmark_rounds * args.repeat_index)
        for name in names:
            started = time.perf_counter()
            for step in range(first, first + block):
                net.step(step, images, labels, variants[name], batches[name])
            seconds[name] += time.perf_counter() - started
    steps = block * args.landmark_rounds
    per_step = {name: value / steps for name, value in seconds.items()}
    return {"seconds_per_step": per_step, "peak_rss_mib": peak_rss_mib()}


def epoch_landmark_batches(args: argparse.Namespace) -> list[int]:
    """The sizes of ``--epoch-landmark-batches``, checked.

    The reference worker runs where the package is not installed: it checks the sizes
    only as integers (it never uses them).
    """
    sizes = []
    for text in args.epoch_landmark_batches.split(","):
        if not text.strip():
            continue
        try:
            size = int(text)
        except ValueError:
            size = 0
        if size < 1:
            raise SystemExit(
                f"error: --epoch-landmark-batches: {text.strip()!r} is not a positive integer"
            )
        sizes.append(size)
    if sizes and args.worker != "reference":
        from landmark_nas.config import RunConfig

        held_out = RunConfig().landmark_images  # the measurement's landmark images
        for size in sizes:
            if size > held_out:
                raise SystemExit(
                    f"error: --epoch-landmark-batches: {size} is more than the {held_out} "
                    "held-out landmark images"
                )
    return sizes


def ours_epoch(args: argparse.Namespace) -> dict[str, Any]:
    """Wall time per real-data epoch without the regularizer, at the package default and
    at the paper's setting (landmark batch as large as the training batch).

    Everything is the product's: CIFAR-10 batches with augmentation from its data
    stream, landmarks with their benchmark accuracies, ``SPOSTrainer.train_step`` with
    the default loss and lambda schedule, as in a short run of ``--epoch-warmup`` plus
    ``--epoch-count`` epochs. One super-net trains through the warm-up epochs (lambda
    is 0 there, so every variant would train them the same way); each variant then
    continues from that state on its own copy, every step regularized. The variants
    take turns in blocks of ``--epoch-block`` steps in rotating order, so each epoch's
    ratio compares epochs run under the same machine load. The hinge loss skips the
    backward pass of a pair already in order, so the cost falls as the regularizer
    orders the landmarks; the fraction of such steps is reported per epoch.

    It runs at ``--epoch-threads`` (default: every core), as a training run does. Where
    the package default overlaps the landmark passes with the training pass
    (``landmark_overlap: auto``), the default is also measured without overlap.
    """
    import copy

    import torch

    from landmark_nas.config import RunConfig
    from landmark_nas.experiment import build_experiment
    from landmark_nas.runs import execution
    from landmark_nas.training.overlap import resolve_overlap
    from landmark_nas.training.spos import SPOSTrainer

    channels, cells, batch = parse_setting(args.setting)
    recommended, _ = recommended_variant()
    base = RunConfig(
        data=args.data,
        benchmark=args.benchmark,
        seed=SEED,
        channels=channels,
        cells_per_stage=cells,
        batch_size=batch,
        train_images=args.epoch_images,
        epochs=args.epoch_warmup + args.epoch_count,
        landmark_warmup_epochs=float(args.epoch_warmup),
        landmark_loss=args.landmark_loss,
    )
    configs = {
        "off": base.updated(use_landmarks=False),
        recommended: base,
        "paper": base.updated(landmark_batch_size=batch),
    }
    for size in epoch_landmark_batches(args):
        configs.setdefault(f"k1-b{size}", base.updated(landmark_batch_size=size))
    threads = torch.get_num_threads()
    experiment = build_experiment(base)
    with tempfile.TemporaryDirectory() as folder:
        trainers = {
            name: SPOSTrainer(experiment, config, Path(folder) / name)
            for name, config in configs.items()
        }
        for trainer in trainers.values():  # auto's measurement, before any timing
            trainer.resolve_overlap()
        if resolve_overlap(base.landmark_overlap, base.bn_mode, threads) is None:
            # auto chose by a measurement on this machine: time the other choice too
            other = "sequential" if trainers[recommended].thread_group else "overlapped"
            name = f"{recommended}-{other}"
            configs[name] = base.updated(landmark_overlap="off" if other == "sequential" else "on")
            trainers[name] = SPOSTrainer(experiment, configs[name], Path(folder) / name)
    per_epoch = base.steps_per_epoch()
    warm = trainers["off"]
    for step in range(args.epoch_warmup * per_epoch):  # the warm-up, shared
        warm.train_step(step)
    state = copy.deepcopy((warm.model.state_dict(), warm.optimizer.state_dict()))
    for trainer in trainers.values():
        trainer.model.load_state_dict(state[0])
        trainer.optimizer.load_state_dict(state[1])
    names = list(configs)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    ordered: dict[str, list[float]] = {name: [] for name in names if name != "off"}
    for epoch in range(args.epoch_warmup, base.epochs):
        spent = dict.fromkeys(names, 0.0)
        in_order = dict.fromkeys(names, 0)  # steps whose pair was already in order
        end = (epoch + 1) * per_epoch
        # Blocks of steps take turns in rotating order within the epoch, so a change in
        # machine load hits every variant alike.
        for block, first in enumerate(range(epoch * per_epoch, end, args.epoch_block)):
            shift = block % len(names)
            for name in names[shift:] + names[:shift]:
                trainer = trainers[name]
                started = time.perf_counter()
                for step in range(first, min(first + args.epoch_block, end)):
                    in_order[name] += trainer.train_step(step)["penalty"] == 0.0
                spent[name] += time.perf_counter() - started
        for name in names:
            seconds[name].append(spent[name])
            if name != "off":
                ordered[name].append(in_order[name] / per_epoch)
    return {
        "seconds_per_epoch": seconds,
        "ratio_per_epoch": {
            name: [a / b for a, b in zip(seconds[name], seconds["off"], strict=True)]
            for name in names
            if name != "off"
        },
        "ordered_pair_fraction_per_epoch": ordered,
        "landmark_batch": {name: configs[name].landmark_batch_size for name in ordered},
        "recommended": recommended,
        "threads": threads,
        "overlap": {name: trainers[name].thread_group is not None for name in ordered},
        # auto's measurement per variant (threads, choice, ms per step, where it came from)
        "execution": {name: execution(trainers[name]) for name in ordered},
        "steps_per_epoch": per_epoch,
        "images_per_epoch": per_epoch * batch,
        "measured_epochs": args.epoch_count,
        "warmup_epochs": args.epoch_warmup,
        "block_steps": args.epoch_block,
        "landmark_loss": args.landmark_loss,
        "peak_rss_mib": peak_rss_mib(),
    }


def ours_flops(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    channels, cells, batch = parse_setting(args.setting)
    images, _ = synthetic_batch(2, SEED)
    net = Ours(channels, cells, batch, 1)
    archs = [net.space.parse(text) for text in json.loads(Path(args.archs).read_text())]
    archs = archs[: args.flops_archs]
    flops = []
    with torch.no_grad():
        for arch in archs:
            flops.append(count_flops(net.model, lambda a=arch: net.model(images, a)) / 2)
    return {"flops_per_image": statistics.fmean(flops), "archs": len(archs)}


def ours_conv(args: argparse.Namespace) -> dict[str, Any]:
    """GFLOP/s of a large 3x3 convolution (64 x 64 x 32 x 32, 64 filters), both layouts."""
    import torch

    channels, size, batch = 64, 32, 64
    flops = 2.0 * batch * channels * channels * 9 * size * size
    conv = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False)
    results = {}
    for name, layout in (("nhwc", torch.channels_last), ("nchw", torch.contiguous_format)):
        layer = conv.to(memory_format=layout)
        x = torch.randn(batch, channels, size, size).contiguous(memory_format=layout)
        times = []
        with torch.no_grad():
            for k in range(6):
                started = time.perf_counter()
                layer(x)
                if k > 0:
                    times.append(time.perf_counter() - started)
        results[f"gflops_{name}"] = flops / statistics.median(times) / 1e9
    results["gflops"] = max(results["gflops_nhwc"], results["gflops_nchw"])
    return results


ALLOCATING_OPS = ("aten::empty", "aten::empty_strided", "aten::resize_", "aten::empty_like")
ELEMENTWISE_OPS = (
    "add",
    "mul",
    "clamp_min",
    "threshold_backward",
    "relu",
    "fill",
    "copy",
    "div",
    "sum",
    "zero",
)


def profile_group(key: str) -> str:
    """Which kind of work an op of the profile table is."""
    if "conv" in key:
        return "convolution"
    if "batch_norm" in key:
        return "batch norm"
    if "_foreach" in key or "sgd" in key or "optimizer" in key or "norm" in key:
        return "optimizer"
    if key in ALLOCATING_OPS:
        return "allocation"
    if key.startswith("aten::") and key[6:].rstrip("_") in ELEMENTWISE_OPS:
        return "elementwise"
    return "other"


def ours_profile(args: argparse.Namespace) -> dict[str, Any]:
    """One profiled training step: top ops by self CPU time, and where the rest goes."""
    import resource

    from torch.profiler import ProfilerActivity, profile

    channels, cells, batch = parse_setting(args.setting)
    images, labels = synthetic_batch(batch, SEED)
    net = Ours(channels, cells, batch, 8)
    for step in range(3):
        net.step(step, images, labels)
    faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    started = time.perf_counter()
    net.step(3, images, labels)
    plain_seconds = time.perf_counter() - started
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        started = time.perf_counter()
        net.step(3, images, labels)
        profiled_seconds = time.perf_counter() - started
    averages = prof.key_averages()
    table = averages.table(sort_by="self_cpu_time_total", row_limit=25)
    op_seconds = sum(item.self_cpu_time_total for item in averages) / 1e6
    groups = {
        "convolution": 0.0,
        "batch norm": 0.0,
        "elementwise": 0.0,
        "optimizer": 0.0,
        "allocation": 0.0,
        "other": 0.0,
    }
    allocation_calls, allocated = 0, 0
    for item in averages:
        key = item.key.lower()
        if item.key == "[memory]":
            continue
        allocated += max(0, item.self_cpu_memory_usage)
        groups[profile_group(key)] += item.self_cpu_time_total / 1e6
        if key in ALLOCATING_OPS:
            allocation_calls += item.count
    top = [
        {"op": item.key, "self_cpu_ms": item.self_cpu_time_total / 1e3, "calls": item.count}
        for item in sorted(averages, key=lambda i: -i.self_cpu_time_total)[:12]
    ]
    return {
        "table": table,
        "step_seconds": plain_seconds,
        "profiled_step_seconds": profiled_seconds,
        "op_self_seconds": op_seconds,
        "op_calls": sum(item.count for item in averages),
        "outside_ops_seconds": max(0.0, profiled_seconds - op_seconds),
        "seconds_by_group": groups,
        "allocation_calls": allocation_calls,
        "allocated_mib": allocated / 2**20,
        "minor_page_faults": faults,
        "top_ops": top,
    }


# ---------------------------------------------------------------- workers: reference
class Reference:
    """``xautodl``'s RANDOM super-net as its RANDOM-NAS script builds and trains it.

    The script's settings: search cells with ``affine=False`` and
    ``track_running_stats=True``, SGD with Nesterov momentum 0.9, lr 0.025, weight
    decay 5e-4, gradient norm clipped at 5, a new ``random_genotype`` every step.
    """

    def __init__(self, channels: int, cells: int) -> None:
        import torch
        from xautodl.config_utils import dict2config
        from xautodl.models import get_cell_based_tiny_net, get_search_spaces

        torch.manual_seed(SEED)
        config = dict2config(
            {
                "name": "RANDOM",
                "C": channels,
                "N": cells,
                "max_nodes": 4,
                "num_classes": NUM_CLASSES,
                "space": get_search_spaces("cell", "nas-bench-201"),
                "affine": False,
                "track_running_stats": True,
            },
            None,
        )
        self.model = get_cell_based_tiny_net(config)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=0.025, momentum=0.9, weight_decay=5e-4, nesterov=True
        )

    def step(self, structure, images, labels) -> float:
        import torch
        import torch.nn.functional as F

        # Sampled as the script samples, then replaced by our step's architecture so
        # both sides train the same sequence of paths.
        self.model.random_genotype(True)
        self.model.arch_cache = structure
        self.optimizer.zero_grad()
        _, logits = self.model(images)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 5)
        self.optimizer.step()
        return loss.item()


def reference_structures(path: str):
    from xautodl.models import CellStructure

    return [CellStructure.str2structure(text) for text in json.loads(Path(path).read_text())]


def reference_train(args: argparse.Namespace) -> dict[str, Any]:
    import random

    channels, cells, batch = parse_setting(args.setting)
    images, labels = synthetic_batch(batch, SEED)
    structures = reference_structures(args.archs)
    baseline = imported_peak_rss_mib("reference")
    random.seed(SEED)
    net = Reference(channels, cells)
    net.model.train()
    for step in range(args.warmup):
        net.step(structures[step], images, labels)
    started = time.perf_counter()
    for step in range(args.warmup, args.warmup + args.steps):
        net.step(structures[step], images, labels)
    seconds = time.perf_counter() - started
    return {
        "images_per_s": args.steps * batch / seconds,
        "seconds_per_step": seconds / args.steps,
        "peak_rss_mib": peak_rss_mib(),
        "baseline_rss_mib": baseline,
    }


def reference_eval(args: argparse.Namespace) -> dict[str, Any]:
    """Scores as the script's ``valid_func`` does: eval mode, no gradients."""
    import torch
    import torch.nn.functional as F

    channels, cells, batch = parse_setting(args.setting)
    images, labels = synthetic_batch(args.eval_images, SEED + 1)
    structures = reference_structures(args.archs)
    baseline = imported_peak_rss_mib("reference")
    net = Reference(channels, cells)
    net.model.eval()

    def score(structure) -> float:
        net.model.arch_cache = structure
        correct, total_loss = 0, 0.0
        for start in range(0, len(labels), batch):
            x, y = images[start : start + batch], labels[start : start + batch]
            _, logits = net.model(x)
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum())
        return 100.0 * correct / len(labels)

    timed = structures[1 : args.eval_archs + 1]
    with torch.no_grad():
        score(structures[0])
        started = time.perf_counter()
        accuracy = [score(structure) for structure in timed]
        seconds = time.perf_counter() - started
    return {
        "archs_per_min": 60.0 * len(timed) / seconds,
        "peak_rss_mib": peak_rss_mib(),
        "baseline_rss_mib": baseline,
        "mean_accuracy": statistics.fmean(accuracy),
    }


def reference_flops(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    channels, cells, _ = parse_setting(args.setting)
    images, _ = synthetic_batch(2, SEED)
    structures = reference_structures(args.archs)[: args.flops_archs]
    net = Reference(channels, cells)
    flops = []
    with torch.no_grad():
        for structure in structures:
            net.model.arch_cache = structure
            flops.append(count_flops(net.model, lambda: net.model(images)) / 2)
    return {"flops_per_image": statistics.fmean(flops), "archs": len(structures)}


WORKERS = {
    ("ours", "train"): ours_train,
    ("ours", "eval"): ours_eval,
    ("ours", "landmark"): ours_landmark,
    ("ours", "epoch"): ours_epoch,
    ("ours", "flops"): ours_flops,
    ("ours", "conv"): ours_conv,
    ("ours", "profile"): ours_profile,
    ("reference", "train"): reference_train,
    ("reference", "eval"): reference_eval,
    ("reference", "flops"): reference_flops,
}


def worker_threads(args: argparse.Namespace, task: str) -> int:
    """Torch threads of a worker: ``--threads``, but ``--epoch-threads`` for the epochs.

    Only the epoch task (always ours) imports the package: the reference's workers run
    in ``.venv-bench``, where it is not installed.
    """
    if task != "epoch":
        return args.threads
    from landmark_nas.utils.environment import thread_count

    return thread_count(args.epoch_threads)


def run_worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(worker_threads(args, args.task))
    result = WORKERS[(args.worker, args.task)](args)
    print(RESULT_TAG + json.dumps(result))


# ---------------------------------------------------------------- parent
class Runner:
    """Starts worker processes with the right interpreter and collects their results."""

    def __init__(self, args: argparse.Namespace, archs_path: Path) -> None:
        self.args = args
        self.archs_path = archs_path
        self.python = {"ours": sys.executable, "reference": str(args.reference_python)}

    def __call__(self, side: str, task: str, setting: str, repeat: int = 0) -> dict[str, Any]:
        a = self.args
        command = [
            self.python[side],
            str(Path(__file__).resolve()),
            "--worker",
            side,
            "--task",
            task,
            "--setting",
            setting,
            "--archs",
            str(self.archs_path),
            "--threads",
            str(a.threads),
            "--steps",
            str(a.steps),
            "--warmup",
            str(a.warmup),
            "--eval-archs",
            str(a.eval_archs),
            "--eval-images",
            str(a.eval_images),
            "--landmark-steps",
            str(a.landmark_steps),
            "--landmark-rounds",
            str(a.landmark_rounds),
            "--landmark-loss",
            a.landmark_loss,
            "--flops-archs",
            str(a.flops_archs),
            "--epoch-images",
            str(a.epoch_images),
            "--epoch-count",
            str(a.epoch_count),
            "--epoch-warmup",
            str(a.epoch_warmup),
            "--epoch-block",
            str(a.epoch_block),
            "--epoch-threads",
            str(a.epoch_threads),
            "--epoch-landmark-batches",
            a.epoch_landmark_batches,
            "--data",
            str(a.data),
            "--benchmark",
            str(a.benchmark),
            "--repeat-index",
            str(repeat),
        ]
        threads = worker_threads(a, task)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
        lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_TAG)]
        if done.returncode != 0 or not lines:
            raise SystemExit(
                f"{side} {task} worker at {setting} failed (exit {done.returncode}):\n"
                + done.stderr[-3000:]
            )
        result = json.loads(lines[-1][len(RESULT_TAG) :])
        result["process_seconds"] = time.perf_counter() - started
        if a.verbose:
            print(
                f"  {side:9s} {task:8s} {setting:11s} {result['process_seconds']:6.1f} s",
                flush=True,
            )
        return result


def write_arch_list(path: Path, count: int) -> list[str]:
    """Our sampler's architectures for steps 0..count-1, shared by both workers."""
    from landmark_nas.spaces.nb201 import NB201Space
    from landmark_nas.training.samplers import create_sampler
    from landmark_nas.training.streams import Stream, step_rng

    space = NB201Space()
    sampler = create_sampler("uniform", space)
    archs = [space.format(sampler.sample(step_rng(SEED, s, Stream.ARCH))) for s in range(count)]
    path.write_text(json.dumps(archs))
    return archs


def ratio(ours: float, reference: float) -> float:
    """``ours / reference``; NaN when the reference measured nothing (a tiny run)."""
    return ours / reference if reference else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values)


def measure(args: argparse.Namespace, runner: Runner, settings: list[str]) -> dict[str, Any]:
    """All repeated measurements, ours and the reference alternating within each repeat."""
    runs: dict[str, dict[str, list]] = {s: {} for s in settings}

    def add(setting: str, key: str, value: Any) -> None:
        runs[setting].setdefault(key, []).append(value)

    for repeat in range(args.repeats):
        print(f"repeat {repeat + 1}/{args.repeats}", flush=True)
        sides = ["ours", "reference"] if repeat % 2 == 0 else ["reference", "ours"]
        for setting in settings:
            for task in ("train", "eval"):
                for side in sides:
                    add(setting, f"{side}_{task}", runner(side, task, setting, repeat))
            add(setting, "landmark", runner("ours", "landmark", setting, repeat))
            if repeat == 0:  # its epochs are the repeats
                add(setting, "epoch", runner("ours", "epoch", setting, repeat))
        add(settings[0], "conv", runner("ours", "conv", settings[0], repeat))
    return runs


def summarize(
    runs: dict[str, dict[str, list]],
    flops: dict[str, dict],
    conv: list[dict],
    profile: dict[str, Any] | None,
    args: argparse.Namespace,
) -> dict[str, Any]:
    from landmark_nas.config import RunConfig

    recommended_every = RunConfig().landmark_every
    recommended, recommended_batch = recommended_variant()
    conv_gflops = median([c["gflops"] for c in conv])
    out: dict[str, Any] = {
        "train_speedup": {},
        "peak_memory_ratio": {},
        "eval_speedup": {},
        "peak_memory_mib": {},
        "landmark_overhead": {},
        "landmark_overhead_paper": {},
        "landmark_overhead_sequential": {},
        "landmark_overhead_overlapped": {},
        "landmark_overhead_per_epoch": {},
        "landmark_overhead_by_k": {},
        "train_images_per_s": {},
        "eval_archs_per_min": {},
        "peak_memory_detail_mib": {},
        "flops_per_image": {},
        "roofline": {},
    }
    for setting, r in runs.items():
        ours_ips = [x["images_per_s"] for x in r["ours_train"]]
        ref_ips = [x["images_per_s"] for x in r["reference_train"]]
        # Ratios are taken within a repeat (both ran under the same load), then the median.
        out["train_speedup"][setting] = median(
            [a / b for a, b in zip(ours_ips, ref_ips, strict=True)]
        )
        ours_apm = [x["archs_per_min"] for x in r["ours_eval"]]
        ref_apm = [x["archs_per_min"] for x in r["reference_eval"]]
        out["eval_speedup"][setting] = median(
            [a / b for a, b in zip(ours_apm, ref_apm, strict=True)]
        )
        out["train_images_per_s"][setting] = {
            "ours": median(ours_ips),
            "reference": median(ref_ips),
            "ours_runs": ours_ips,
            "reference_runs": ref_ips,
        }
        out["eval_archs_per_min"][setting] = {
            "ours": median(ours_apm),
            "reference": median(ref_apm),
            "ours_runs": ours_apm,
            "reference_runs": ref_apm,
        }
        memory: dict[str, float] = {}
        for key in ("ours_train", "reference_train", "ours_eval", "reference_eval"):
            memory[key] = median([x["peak_rss_mib"] for x in r[key]])
            # What the measurement itself added on top of the interpreter and libraries.
            memory[f"{key}_above_imports"] = median(
                [x["peak_rss_mib"] - x["baseline_rss_mib"] for x in r[key]]
            )
        out["peak_memory_mib"][setting] = memory["ours_train"]
        out["peak_memory_ratio"][setting] = ratio(memory["ours_train"], memory["reference_train"])
        out["peak_memory_detail_mib"][setting] = memory
        by_k: dict[str, float] = {}
        names = [n for n in r["landmark"][0]["seconds_per_step"] if n != "off"]
        for name in names:
            by_k[name] = median(
                [x["seconds_per_step"][name] / x["seconds_per_step"]["off"] for x in r["landmark"]]
            )
        out["landmark_overhead_by_k"][setting] = by_k
        epoch = r["epoch"][0]
        ratios = epoch["ratio_per_epoch"]
        out["landmark_overhead"][setting] = median(ratios[recommended])
        out["landmark_overhead_paper"][setting] = median(ratios["paper"])
        for other in ("sequential", "overlapped"):
            if f"{recommended}-{other}" in ratios:
                out[f"landmark_overhead_{other}"][setting] = median(
                    ratios[f"{recommended}-{other}"]
                )
        out["landmark_overhead_per_epoch"][setting] = {
            k: v for k, v in epoch.items() if k not in ("process_seconds",)
        }
        ours_flops = flops[setting]["ours"]["flops_per_image"]
        ref_flops = flops[setting]["reference"]["flops_per_image"]
        out["flops_per_image"][setting] = {"ours": ours_flops, "reference": ref_flops}
        # Forward plus backward costs about three forwards (two matmuls per layer backward).
        bound = conv_gflops * 1e9 / (3 * ours_flops)
        ref_bound = conv_gflops * 1e9 / (3 * ref_flops)
        out["roofline"][setting] = {
            "bound_images_per_s": bound,
            "ours_fraction_of_bound": median(ours_ips) / bound,
            "reference_bound_images_per_s": ref_bound,
            "reference_fraction_of_bound": median(ref_ips) / ref_bound,
            "ours_achieved_gflops": median(ours_ips) * 3 * ours_flops / 1e9,
        }
    out["conv_gflops"] = {
        "gflops": conv_gflops,
        "nhwc": median([c["gflops_nhwc"] for c in conv]),
        "nchw": median([c["gflops_nchw"] for c in conv]),
        "shape": "input 64x64x32x32, 64 filters 3x3, forward only",
    }
    out["landmark_recommended_every"] = recommended_every
    out["landmark_recommended"] = (
        f"the package default {recommended}: every step, landmark batch {recommended_batch}. "
        "landmark_overhead and landmark_overhead_paper: median over epochs of the wall time "
        "per real-data epoch with the regularizer over the same epoch without it, at the "
        "threads of a training run (epoch threads), with the default landmark_overlap: auto; "
        "which measures on this machine whether to overlap; landmark_overhead_sequential "
        "(landmark_overlap off) where auto chose to overlap, landmark_overhead_overlapped "
        "(on) where it chose not to. "
        "landmark_overhead_by_k: seconds per synthetic step, k<N> every N-th step at the "
        "training batch size"
    )
    out["landmark_loss"] = args.landmark_loss
    if profile is not None:
        out["profile"] = {k: v for k, v in profile.items() if k != "table"}
        out["profile"]["setting"] = PROFILE_SETTING
    return out


def machine_info(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)),
        "threads": args.threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average_start": os.getloadavg(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
    }


def warn_if_busy(threads: int) -> None:
    """Say so when other processes already use the cores the workers' threads need."""
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    if threads > 1 and load + threads > cores + 0.5:
        print(
            f"warning: load average {load:.1f} on {cores} cores; with {threads} threads per worker "
            "OpenMP threads wait for each other at every op and throughput can drop tenfold "
            "or more. Ratios stay comparable only roughly; --threads 1 is steadier on a "
            "shared machine (see docs/performance.md).",
            flush=True,
        )


def print_table(summary: dict[str, Any]) -> None:
    print()
    print(f"{'setting':11s}  {'measure':28s} {'ours':>10s} {'reference':>10s} {'ours/ref':>9s}")
    for setting, train in summary["train_images_per_s"].items():
        evals = summary["eval_archs_per_min"][setting]
        memory = summary["peak_memory_detail_mib"][setting]
        rows = [
            (
                "train images/s",
                train["ours"],
                train["reference"],
                summary["train_speedup"][setting],
            ),
            ("eval archs/min", evals["ours"], evals["reference"], summary["eval_speedup"][setting]),
        ]
        for task in ("train", "eval"):
            for suffix, label in (("", "peak RSS (MiB)"), ("_above_imports", "RSS above imports")):
                ours, ref = memory[f"ours_{task}{suffix}"], memory[f"reference_{task}{suffix}"]
                rows.append((f"{task} {label}", ours, ref, ratio(ours, ref)))
        flops = summary["flops_per_image"][setting]
        rows.append(
            (
                "forward MFLOPs/image",
                flops["ours"] / 1e6,
                flops["reference"] / 1e6,
                flops["ours"] / flops["reference"],
            )
        )
        for index, (name, ours, ref, times) in enumerate(rows):
            label = setting if index == 0 else ""
            print(f"{label:11s}  {name:28s} {ours:10.1f} {ref:10.1f} {times:9.2f}")
    print()
    print("landmark regularizer, wall time per real-data epoch relative to none (ours):")
    for setting, detail in summary["landmark_overhead_per_epoch"].items():
        recommended = detail["recommended"]
        overlap = ", overlapped" if detail["overlap"][recommended] else ""
        sequential = summary["landmark_overhead_sequential"].get(setting)
        overlapped = summary.get("landmark_overhead_overlapped", {}).get(setting)
        print(
            f"  {setting:11s}  {recommended} (default{overlap}): "
            f"{summary['landmark_overhead'][setting]:.2f}x   "
            + (f"without overlap: {sequential:.2f}x   " if sequential is not None else "")
            + (f"with overlap: {overlapped:.2f}x   " if overlapped is not None else "")
            + f"paper (landmark batch {detail['landmark_batch']['paper']}): "
            f"{summary['landmark_overhead_paper'][setting]:.2f}x   "
            f"({detail['measured_epochs']} epochs of {detail['images_per_epoch']} images, "
            f"{detail['threads']} threads)"
        )
        known = {recommended, f"{recommended}-sequential", f"{recommended}-overlapped", "paper"}
        for name, ratios in detail["ratio_per_epoch"].items():
            if name not in known:  # --epoch-landmark-batches
                print(f"  {'':11s}  {name}: {median(ratios):.2f}x")
    print("landmark regularizer, wall time per synthetic step relative to none (ours):")
    for setting, by_k in summary["landmark_overhead_by_k"].items():
        cells = "  ".join(f"{k}: {v:.2f}x" for k, v in by_k.items())
        print(f"  {setting:11s}  {cells}")
    print()
    conv = summary["conv_gflops"]
    print(
        f"large 3x3 convolution: {conv['gflops']:.1f} GFLOP/s "
        f"(NHWC {conv['nhwc']:.1f}, NCHW {conv['nchw']:.1f})"
    )
    for setting, roof in summary["roofline"].items():
        print(
            f"  {setting:11s}  roofline bound {roof['bound_images_per_s']:7.1f} images/s; "
            f"ours at {100 * roof['ours_fraction_of_bound']:.0f} %, reference at "
            f"{100 * roof['reference_fraction_of_bound']:.0f} % of its own bound"
        )
    if "profile" in summary:
        p = summary["profile"]
        print(
            f"\nprofile of one step at {PROFILE_SETTING}: {p['profiled_step_seconds']:.2f} s, "
            f"{p['op_self_seconds']:.2f} s inside {p['op_calls']} op calls, "
            f"{p['allocation_calls']} allocating calls ({p['allocated_mib']:.0f} MiB)"
        )


def check_real_inputs(args: argparse.Namespace) -> None:
    """The real-data overhead measurement needs CIFAR-10 and the benchmark table."""
    from landmark_nas.config import RunConfig
    from landmark_nas.data.cifar10 import find_batches_dir
    from landmark_nas.errors import LandmarkNASError
    from landmark_nas.experiment import load_ground_truth

    if not args.data:
        raise SystemExit("error: no CIFAR-10 folder: pass --data DIR or set LANDMARK_NAS_DATA")
    if not args.benchmark:
        raise SystemExit(
            "error: no benchmark file: pass --benchmark FILE or set LANDMARK_NAS_BENCHMARK"
        )
    args.data = str(Path(args.data).expanduser().resolve())  # workers run in ROOT
    args.benchmark = str(Path(args.benchmark).expanduser().resolve())
    for setting in args.settings.split(","):
        if setting.strip() and args.epoch_images < parse_setting(setting.strip())[2]:
            raise SystemExit(
                f"error: --epoch-images {args.epoch_images} is less than one batch of {setting}"
            )
    try:
        find_batches_dir(Path(args.data))
        load_ground_truth(RunConfig(benchmark=args.benchmark))
    except LandmarkNASError as error:
        raise SystemExit(f"error: {error}") from None


def run_parent(args: argparse.Namespace) -> None:
    settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    for setting in settings:
        parse_setting(setting)
    if not Path(args.reference_python).is_file():
        raise SystemExit(
            f"no reference interpreter at {args.reference_python}; create it with\n"
            "  python3 -m venv .venv-bench && .venv-bench/bin/pip install torch==2.13.0 numpy"
            " && .venv-bench/bin/pip install --no-deps xautodl"
        )
    check_real_inputs(args)
    warn_if_busy(max(args.threads, worker_threads(args, "epoch")))
    wall_started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        archs_path = Path(folder) / "archs.json"
        count = max(args.warmup + args.steps, args.eval_archs + 1, args.flops_archs)
        write_arch_list(archs_path, count)
        runner = Runner(args, archs_path)
        info = machine_info(args)
        runs = measure(args, runner, settings)
        flops = {
            s: {side: runner(side, "flops", s) for side in ("ours", "reference")} for s in settings
        }
        profile = runner("ours", "profile", PROFILE_SETTING) if not args.no_profile else None
    conv = runs[settings[0]].pop("conv")
    summary = summarize(runs, flops, conv, profile, args)
    info["load_average_end"] = os.getloadavg()
    summary["machine"] = info
    summary["command"] = " ".join([Path(sys.executable).name, *sys.argv])
    summary["options"] = {
        k: v
        for k, v in vars(args).items()
        if k not in ("worker", "task", "setting", "archs", "repeat_index")
    }
    summary["options"]["reference_python"] = str(args.reference_python)
    summary["options"]["json_out"] = str(args.json_out)
    summary["options"]["profile_out"] = str(args.profile_out)
    summary["wall_seconds"] = time.perf_counter() - wall_started
    print_table(summary)
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps(summary, indent=2) + "\n")
    if profile is not None:
        header = (
            f"# One training step of our super-net at {PROFILE_SETTING}, {args.threads} threads,\n"
            "# torch.profiler, ops sorted by self CPU time. Written by benchmarks/speed.py.\n"
        )
        Path(args.profile_out).write_text(header + profile["table"] + "\n")
    print(
        f"\nwrote {args.json_out}"
        + (f" and {args.profile_out}" if profile else "")
        + f" in {summary['wall_seconds']:.0f} s"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Training and ranking-evaluation speed of our NAS-Bench-201 super-net "
        "next to the xautodl reference, with landmark-regularizer overhead and a roofline.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="repeats of every measurement; the summary reports medians",
    )
    parser.add_argument(
        "--steps", type=int, default=8, help="timed training steps per throughput measurement"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="untimed training steps before each throughput measurement",
    )
    parser.add_argument(
        "--settings",
        default=DEFAULT_SETTINGS,
        help="comma-separated settings C<channels>-N<cells per stage>-b<batch>",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="torch intra-op threads in every worker (both sides)"
    )
    parser.add_argument(
        "--eval-archs", type=int, default=10, help="architectures scored per evaluation measurement"
    )
    parser.add_argument(
        "--eval-images",
        type=int,
        default=256,
        help="images each architecture is scored on (in batches of the setting)",
    )
    parser.add_argument(
        "--landmark-steps",
        type=int,
        default=8,
        help="steps per block in the landmark overhead measurement "
        "(a multiple of 4 so every k in 1, 2, 4 regularizes whole blocks)",
    )
    parser.add_argument(
        "--landmark-rounds",
        type=int,
        default=1,
        help="blocks per variant in each landmark overhead measurement",
    )
    parser.add_argument(
        "--landmark-loss",
        default="hinge",
        help="ranking loss of the regularizer (the package default is hinge, which skips "
        "the backward pass when a pair is already in order; softplus always runs it)",
    )
    parser.add_argument(
        "--epoch-images",
        type=int,
        default=6400,
        help="training images per epoch in the real-data overhead measurement",
    )
    parser.add_argument(
        "--epoch-count",
        type=int,
        default=4,
        help="regularized epochs per variant in the real-data overhead measurement "
        "(after the shared warm-up epochs); the summary reports the median ratio",
    )
    parser.add_argument(
        "--epoch-block",
        type=int,
        default=10,
        help="steps per turn in the real-data overhead measurement: the variants train "
        "their epochs in interleaved blocks of this many steps",
    )
    parser.add_argument(
        "--epoch-threads",
        type=int,
        default=0,
        help="torch threads of the real-data epoch measurement; 0: every core this process "
        "may use, as a training run uses by default (the regularizer's landmark_overlap "
        "needs 2 or more)",
    )
    parser.add_argument(
        "--epoch-landmark-batches",
        default="",
        help="comma-separated extra landmark batch sizes to time in the real-data overhead "
        "measurement, each as a variant k1-b<size> beside the default (e.g. 6,4)",
    )
    parser.add_argument(
        "--epoch-warmup",
        type=int,
        default=2,
        help="warm-up epochs (lambda = 0) before the measured epochs, trained once "
        "and shared by the variants",
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("LANDMARK_NAS_DATA"),
        help="CIFAR-10 folder (official python layout) for the real-data overhead "
        "measurement; default $LANDMARK_NAS_DATA (make data)",
    )
    parser.add_argument(
        "--benchmark",
        default=os.environ.get("LANDMARK_NAS_BENCHMARK"),
        help="NAS-Bench-201 ground-truth file for the landmarks' accuracies; "
        "default $LANDMARK_NAS_BENCHMARK",
    )
    parser.add_argument(
        "--flops-archs",
        type=int,
        default=100,
        help="sampled architectures the FLOPs per image are averaged over",
    )
    parser.add_argument(
        "--reference-python",
        type=Path,
        default=ROOT / ".venv-bench/bin/python",
        help="interpreter of the virtual environment holding xautodl",
    )
    parser.add_argument(
        "--json-out",
        type=Path,
        default=Path("docs/performance.json"),
        help="where the summary is written as JSON",
    )
    parser.add_argument(
        "--profile-out",
        type=Path,
        default=Path("docs/profile.txt"),
        help="where the profile table of one training step is written",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled training step")
    parser.add_argument(
        "--verbose", action="store_true", help="print each worker process as it finishes"
    )
    parser.add_argument(
        "--worker",
        choices=("ours", "reference"),
        help="internal: run one measurement in this process and print JSON",
    )
    parser.add_argument(
        "--task",
        choices=sorted({task for _, task in WORKERS}),
        help="internal: the measurement a worker runs",
    )
    parser.add_argument("--setting", help="internal: the worker's setting")
    parser.add_argument("--archs", help="internal: JSON file of the shared architecture list")
    parser.add_argument(
        "--repeat-index", type=int, default=0, help="internal: which repeat a worker belongs to"
    )
    return parser


def check_options(args: argparse.Namespace) -> None:
    """One-line errors for impossible option values, before any worker starts."""
    at_least = {
        "repeats": 1,
        "steps": 1,
        "warmup": 0,
        "threads": 1,
        "eval_archs": 1,
        "eval_images": 1,
        "landmark_steps": 4,
        "landmark_rounds": 1,
        "flops_archs": 1,
        "epoch_images": 64,
        "epoch_count": 1,
        "epoch_warmup": 0,
        "epoch_block": 1,
        "epoch_threads": 0,
    }
    for name, low in at_least.items():
        if getattr(args, name) < low:
            option = "--" + name.replace("_", "-")
            raise SystemExit(f"error: {option} {getattr(args, name)} must be at least {low}")
    if args.landmark_steps % 4 != 0:
        raise SystemExit("error: --landmark-steps must be a multiple of 4")
    epoch_landmark_batches(args)
    if args.worker is None:
        settings = [s.strip() for s in args.settings.split(",") if s.strip()]
        if not settings:
            raise SystemExit("error: --settings names no setting")
        if len(set(settings)) != len(settings):
            raise SystemExit(f"error: --settings {args.settings!r} repeats a setting")
        for setting in settings:
            parse_setting(setting)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    check_options(args)
    if args.worker is not None:
        run_worker(args)
    else:
        run_parent(args)


if __name__ == "__main__":
    main()
