"""The landmark passes on a second thread, alongside the training pass.

A regularized step has two independent pieces of work on the same weights: the
training pass (forward and backward of the sampled architecture on the training
batch) and the landmark passes (forward of the pair's landmarks on the held-out
batch, backward of the penalty when it is non-zero). With ``landmark_overlap`` they
run at the same time on two threads, each with its share of the intra-op threads, and
the landmark gradients are added to the training gradients once both are done.

It pays off when intra-op threads cannot keep the cores busy on their own, and
that depends on the CPU. At C=8, N=1 on two cores an epoch with the default
regularizer cost 1.14x a plain one overlapped instead of 1.34x on an Intel Xeon, but
1.54x instead of 1.36x on an AMD EPYC, where a second intra-op thread is worth much
more (``docs/performance.md``). ``auto`` therefore measures it on the run's own
super-net, once per machine and shape (``training.calibration``). It never overlaps
with one thread or with batch norm in ``recalibrate`` mode (running statistics,
updated by every forward pass, cannot be shared by two threads).

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


def resolve_overlap(mode: str, bn_mode: str, threads: int) -> bool | None:
    """Whether a run with these settings overlaps its landmark passes: ``True`` or
    ``False`` where the settings decide, ``None`` where ``auto`` must measure it.

    ``threads`` is the number of intra-op threads the run has; one thread has nothing
    to overlap with.
    """
    check_overlap(mode, bn_mode)
    if mode == "off" or threads < 2 or bn_mode != "batch":
        return False
    return True if mode == "on" else None


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


def sequential_step(training_loss, penalty, losses_of) -> tuple[torch.Tensor, float, int]:
    """Training pass, landmark passes, then one backward pass of loss + penalty.

    Takes the training loss (a function), the penalty as a function of a batched
    landmark loss (``LandmarkRegularizer.penalty`` for this step: called once) and the
    batched landmark loss on this step's held-out batch. Returns the training loss, the
    penalty's value and the number of landmark passes, and leaves the gradient of loss
    plus penalty in the parameters' ``.grad``.
    """
    loss = training_loss()
    value, passes = penalty(losses_of)
    penalty_value = value.detach().item()
    # A pair already in order (hinge at zero) needs no backward pass. Otherwise one
    # backward pass for loss and penalty together: about 1 ms a step less than two
    # at C=8, N=1 (docs/performance.md), same gradients up to rounding.
    objective = loss + value if value.requires_grad and penalty_value != 0.0 else loss
    objective.backward()
    return loss, penalty_value, passes


def overlapped_step(
    group: ThreadGroup, parameters: Sequence[torch.Tensor], training_loss, penalty, losses_of
) -> tuple[torch.Tensor, float, int]:
    """:func:`sequential_step` with the training pass here and the landmark passes on a
    second thread of ``group``, at once; ``parameters`` are the model's, in order."""

    def train() -> torch.Tensor:
        loss = training_loss()
        loss.backward()
        return loss

    def landmarks() -> tuple[float, int, tuple[torch.Tensor | None, ...] | None]:
        value, passes = penalty(losses_of)
        penalty_value = value.detach().item()
        gradients = None
        if value.requires_grad and penalty_value != 0.0:
            gradients = torch.autograd.grad(value, parameters, allow_unused=True)
        return penalty_value, passes, gradients

    loss, (penalty_value, passes, gradients) = group.run([train, landmarks])
    if gradients is not None:
        add_gradients(parameters, gradients)
    return loss, penalty_value, passes
