"""Landmark passes on more than one thread: beside the training pass, or beside each other.

A regularized step has two independent pieces of work on the same weights: the
training pass (forward and backward of the sampled architecture on the training
batch) and the landmark passes (forward of the pair's landmarks on the held-out
batch, backward of the penalty when it is non-zero). ``landmark_overlap`` chooses how
they use two or more threads:

* ``on``: the landmark passes run on a second thread while the training pass runs,
  each with its share of the intra-op threads; the landmark gradients are added to
  the training gradients once both are done. It pays off when intra-op threads cannot
  keep the cores busy on their own. On the two-core machine of
  ``docs/performance.md``, at C=8 a second intra-op thread speeds up a plain step by
  under 10 %, so the landmark passes fit in the idle core: an epoch with the default
  regularizer costs 1.14x a plain one instead of 1.34x.
* ``pair``: the training pass runs on every thread, then the landmarks of the pair run
  at the same time, one per thread (forward, and backward when the penalty is
  non-zero). At C=16 the second intra-op thread is worth about 1.6-1.7x to the
  training pass but only about 1.45x to a landmark pass on 8 images, while two
  landmark passes side by side on one thread each scale almost perfectly: per step,
  1.30x a plain step instead of 1.38x. At C=8 it loses (1.48x).
* ``auto`` (the default) chooses ``on`` for super-nets of at most
  ``AUTO_MAX_CHANNELS`` channels and ``pair`` above; neither with one thread or with
  batch norm in ``recalibrate`` mode (running statistics, updated by every forward
  pass, cannot be shared by two threads).

Every pass runs on a fixed number of intra-op threads and the gradients are summed in
a fixed order after the threads finish, so a run is as reproducible as one without
overlap. It differs from a run without overlap by rounding only.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Sequence
from typing import Any

import torch

from landmark_nas.errors import ConfigError

OVERLAP_MODES = ("auto", "on", "pair", "off")
THREADED_MODES = ("on", "pair")
AUTO_MAX_CHANNELS = 8  # measured: "on" gains at C=8 and loses at C=16, "pair" the opposite


def check_overlap(mode: str, bn_mode: str) -> None:
    """Reject an unknown mode, and ``on`` or ``pair`` with running batch-norm statistics."""
    if mode not in OVERLAP_MODES:
        raise ConfigError(
            f"landmark_overlap={mode!r} is unknown (choose from: {', '.join(OVERLAP_MODES)})"
        )
    if mode in THREADED_MODES and bn_mode != "batch":
        raise ConfigError(
            f"landmark_overlap={mode} needs bn_mode=batch (bn_mode={bn_mode!r} updates "
            "running statistics in every forward pass, which two threads cannot share)"
        )


def resolve_overlap(mode: str, channels: int, bn_mode: str, threads: int) -> str:
    """How a run with these settings runs its landmark passes: ``on``, ``pair`` or ``off``.

    ``threads`` is the number of intra-op threads the run has; one thread has nothing
    to overlap with.
    """
    check_overlap(mode, bn_mode)
    if mode == "off" or threads < 2 or bn_mode != "batch":
        return "off"
    if mode == "auto":
        return "on" if channels <= AUTO_MAX_CHANNELS else "pair"
    return mode


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


class SplitLandmarkLosses:
    """A ``losses_of`` (see ``LandmarkRegularizer.penalty``) that scores the architectures
    in two groups at the same time, one per thread of ``group``.

    ``losses_of`` scores one group (e.g. ``forward_many`` on the landmark batch); the
    groups are the even and the odd positions of the list. The losses are kept, so
    that :meth:`gradients` can run the backward passes split the same way.
    """

    def __init__(
        self,
        group: ThreadGroup,
        losses_of: Callable[[Sequence[Any]], Sequence[torch.Tensor]],
    ) -> None:
        self.group = group
        self.losses_of = losses_of
        self.losses: list[torch.Tensor] = []

    def __call__(self, archs: Sequence[Any]) -> list[torch.Tensor]:
        archs = list(archs)
        groups = [archs[start::2] for start in range(2) if archs[start::2]]
        results = self.group.run([lambda g=g: list(self.losses_of(g)) for g in groups])
        losses: list[torch.Tensor] = [None] * len(archs)  # type: ignore[list-item]
        for start, result in enumerate(results):
            losses[start::2] = result
        self.losses = losses
        return losses

    def gradients(
        self, value: torch.Tensor, parameters: Sequence[torch.Tensor]
    ) -> list[tuple[torch.Tensor | None, ...]]:
        """The gradient of ``value`` (a function of the kept losses) with respect to
        ``parameters``, as one tuple per group, each computed on its own thread.

        Architectures whose loss does not change ``value`` (a pair already in order,
        when there are several pairs) are left out: their gradient is zero.
        """
        weights = torch.autograd.grad(value, self.losses, allow_unused=True)
        terms = [
            (loss, weight)
            for loss, weight in zip(self.losses, weights, strict=True)
            if weight is not None and bool(weight != 0)
        ]
        groups = [terms[start::2] for start in range(2) if terms[start::2]]

        def backward(group: list[tuple[torch.Tensor, torch.Tensor]]):
            return torch.autograd.grad(
                [loss for loss, _ in group],
                parameters,
                grad_outputs=[weight for _, weight in group],
                allow_unused=True,
            )

        return self.group.run([lambda g=g: backward(g) for g in groups])
