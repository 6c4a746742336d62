"""The landmark passes on a second thread, alongside the training pass.

A regularized step has two independent pieces of work on the same weights: the
training pass (forward and backward of the sampled architecture on the training
batch) and the landmark passes (forward of the pair's landmarks on the held-out
batch, backward of the penalty when it is non-zero). With ``landmark_overlap`` they
run at the same time on two threads, each with its share of the intra-op threads, and
the landmark gradients are added to the training gradients once both are done.

It pays off when intra-op threads cannot keep the cores busy on their own. On the
two-core machine of ``docs/performance.md``, at C=8 a second intra-op thread speeds up
a plain step by under 10 %, so the landmark passes fit in the idle core: an epoch
with the default regularizer costs 1.14x a plain one instead of 1.34x. At C=16 the
second intra-op thread is worth about 1.6-1.7x, and a training pass on one thread is
slower than both passes one after the other on two (1.78x instead of 1.38x per step).
``auto`` therefore overlaps only super-nets of at most ``AUTO_MAX_CHANNELS`` channels,
and never with one thread or with batch norm in ``recalibrate`` mode (running
statistics, updated by every forward pass, cannot be shared by two threads).

The gradient is that of loss plus penalty, summed in a fixed order after both threads
finish, so a run is as reproducible as one without overlap. It differs from a run
without overlap by rounding only: each pass runs on fewer intra-op threads.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Sequence
from typing import Any

import torch

from landmark_nas.errors import ConfigError

OVERLAP_MODES = ("auto", "on", "off")
AUTO_MAX_CHANNELS = 8  # measured: overlap gains at C=8 and loses at C=16


def check_overlap(mode: str, bn_mode: str) -> None:
    """Reject an unknown mode, and ``on`` with running batch-norm statistics."""
    if mode not in OVERLAP_MODES:
        raise ConfigError(
            f"landmark_overlap={mode!r} is unknown (choose from: {', '.join(OVERLAP_MODES)})"
        )
    if mode == "on" and bn_mode != "batch":
        raise ConfigError(
            f"landmark_overlap=on needs bn_mode=batch (bn_mode={bn_mode!r} updates "
            "running statistics in every forward pass, which two threads cannot share)"
        )


def resolve_overlap(mode: str, channels: int, bn_mode: str, threads: int) -> bool:
    """Whether a run with these settings overlaps its landmark passes.

    ``threads`` is the number of intra-op threads the run has; one thread has nothing
    to overlap with.
    """
    check_overlap(mode, bn_mode)
    if mode == "off" or threads < 2 or bn_mode != "batch":
        return False
    return mode == "on" or channels <= AUTO_MAX_CHANNELS


class ThreadGroup:
    """Runs functions at the same time: the first on the calling thread, the others on
    worker threads, with the ``threads`` intra-op threads split evenly between them."""

    def __init__(self, threads: int) -> None:
        if threads < 2:
            raise ValueError(f"a thread group needs at least 2 threads, got {threads}")
        self.threads = threads
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.threads - 1, thread_name_prefix="landmark-passes"
            )
        return self._pool

    def run(self, functions: Sequence[Callable[[], Any]]) -> list[Any]:
        """``[f() for f in functions]``, computed at the same time (at most ``threads``).

        Returns only when every function has finished, also when one raises.
        """
        if not 1 <= len(functions) <= self.threads:
            raise ValueError(f"{len(functions)} functions for {self.threads} threads")
        share = self.threads // len(functions)
        # The calling thread gets what the even split leaves over.
        first = self.threads - share * (len(functions) - 1)

        def with_threads(function: Callable[[], Any]) -> Callable[[], Any]:
            def call() -> Any:
                # Intra-op thread counts are per thread: this sets the worker's own. A
                # thread's first call into torch's thread pool resets its count to the
                # process-wide value, so that happens first (get_num_threads), not after.
                torch.get_num_threads()
                torch.set_num_threads(share)
                return function()

            return call

        previous = torch.get_num_threads()
        futures = [self._executor().submit(with_threads(f)) for f in functions[1:]]
        torch.set_num_threads(first)
        try:
            try:
                results = [functions[0]()]
            finally:
                concurrent.futures.wait(futures)
            results.extend(future.result() for future in futures)
        finally:
            torch.set_num_threads(previous)
        return results

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
