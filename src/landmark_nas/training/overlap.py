"""The landmark passes on a second thread, alongside the training pass.

A regularized step has two independent pieces of work on the same weights: the
training pass (forward and backward of the sampled architecture on the training
batch) and the landmark passes (forward of the pair's landmarks on the held-out batch,
backward of the penalty when it is non-zero). With ``landmark_overlap`` they run at
the same time on two threads, each with its own share of the intra-op threads, and
the landmark gradients are added to the training gradients once both are done.

This pays off when intra-op threads cannot keep the cores busy on their own. On the
two-core machine of ``docs/performance.md``, at C=8 a second intra-op thread speeds up
a plain step by under 10 %, so the landmark passes fit in the idle core: a regularized
step costs about 1.1-1.2x a plain one instead of 1.35-1.45x (N=1, 2 and 5). At C=16
the second intra-op thread is worth about 1.8x, and a training pass on one thread is
slower than both passes one after the other on two; ``auto`` therefore overlaps only
super-nets with at most ``AUTO_MAX_CHANNELS`` channels.

The result is the same gradient, loss plus penalty, up to floating-point rounding:
the two parts are summed in a fixed order after both threads finish, so a run is as
reproducible as one without overlap.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch

from landmark_nas.errors import ConfigError

logger = logging.getLogger(__name__)

OVERLAP_MODES = ("auto", "on", "off")
AUTO_MAX_CHANNELS = 8  # measured: C=8 gains, C=16 loses (docs/performance.md)

A = TypeVar("A")
B = TypeVar("B")


def resolve_overlap(mode: str, channels: int, bn_mode: str, threads: int) -> bool:
    """Whether a run with these settings overlaps its landmark passes.

    ``threads`` is the number of intra-op threads the run has; one thread has nothing
    to overlap with. Batch norm in ``recalibrate`` mode updates running statistics in
    every forward pass, which two threads must not do at once.
    """
    if mode not in OVERLAP_MODES:
        raise ConfigError(
            f"landmark_overlap={mode!r} is unknown (choose from: {', '.join(OVERLAP_MODES)})"
        )
    if mode == "off" or threads < 2:
        return False
    if bn_mode != "batch":
        if mode == "on":
            raise ConfigError(
                f"landmark_overlap=on needs bn_mode=batch (bn_mode={bn_mode!r} updates "
                "running statistics in every forward pass, which two threads cannot share)"
            )
        return False
    return mode == "on" or channels <= AUTO_MAX_CHANNELS


class Overlap:
    """Runs two functions at once: one on the calling thread, one on a worker thread.

    The ``threads`` intra-op threads are split between them: the calling thread gets
    the larger half while both run, and all of them again afterwards.
    """

    def __init__(self, threads: int) -> None:
        if threads < 2:
            raise ValueError(f"overlap needs at least 2 threads, got {threads}")
        self.threads = threads
        self.main_threads = threads - threads // 2
        self.worker_threads = threads // 2
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="landmark-passes",
                initializer=torch.set_num_threads,
                initargs=(self.worker_threads,),
            )
        return self._pool

    def run(self, main: Callable[[], A], side: Callable[[], B]) -> tuple[A, B]:
        """``(main(), side())``, with ``side`` on the worker thread.

        Returns only when both have finished, also when ``main`` raises.
        """
        pool = self._executor()
        # Intra-op thread counts are per thread: this sets the calling thread's only.
        torch.set_num_threads(self.main_threads)
        try:
            future = pool.submit(side)
            try:
                first = main()
            except BaseException:
                concurrent.futures.wait([future])
                raise
            second = future.result()
        finally:
            torch.set_num_threads(self.threads)
        return first, second

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def add_gradients(
    parameters: Sequence[torch.Tensor], gradients: Sequence[torch.Tensor | None]
) -> None:
    """``p.grad += g`` for every parameter (``None`` gradients skipped)."""
    for parameter, gradient in zip(parameters, gradients, strict=True):
        if gradient is None:
            continue
        if parameter.grad is None:
            parameter.grad = gradient
        else:
            parameter.grad.add_(gradient)
