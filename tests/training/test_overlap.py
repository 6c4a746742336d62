"""Landmark passes on a second thread: same gradients, same reproducibility."""

from __future__ import annotations

import threading

import pytest
import torch
import torch.nn.functional as F

from landmark_nas.config import RunConfig
from landmark_nas.errors import ConfigError
from landmark_nas.training.overlap import ThreadGroup, add_gradients, resolve_overlap
from landmark_nas.training.spos import SPOSTrainer, fingerprint
from landmark_nas.training.streams import Stream, step_rng


@pytest.mark.parametrize(
    ("mode", "bn_mode", "threads", "expected"),
    [
        ("auto", "batch", 2, None),  # measured on this machine (training.calibration)
        ("auto", "batch", 4, None),
        ("auto", "batch", 1, False),  # one core: nothing to overlap with
        ("auto", "recalibrate", 2, False),
        ("on", "batch", 2, True),
        ("on", "batch", 1, False),
        ("off", "batch", 2, False),
    ],
)
def test_when_the_landmark_passes_overlap(mode, bn_mode, threads, expected):
    assert resolve_overlap(mode, bn_mode, threads) is expected


def test_overlap_refuses_running_statistics_and_unknown_modes_are_named():
    with pytest.raises(ConfigError, match="bn_mode=batch"):
        resolve_overlap("on", "recalibrate", 2)
    with pytest.raises(ConfigError, match="needs bn_mode=batch"):
        RunConfig(landmark_overlap="on", bn_mode="recalibrate").validate()
    RunConfig(landmark_overlap="on", bn_mode="recalibrate", use_landmarks=False).validate()
    with pytest.raises(ConfigError, match="landmark_overlap='sometimes'"):
        RunConfig(landmark_overlap="sometimes").validate()


def test_overlap_does_not_change_what_a_run_computes():
    assert fingerprint(RunConfig(landmark_overlap="on")) == fingerprint(
        RunConfig(landmark_overlap="off")
    )


def test_run_splits_the_threads_and_restores_them(two_threads):
    group = ThreadGroup(2)
    seen = {}

    def worker():
        seen["worker"] = (threading.current_thread().name, torch.get_num_threads())
        return "worker"

    def caller():
        seen["caller"] = torch.get_num_threads()
        return "caller"

    try:
        assert group.run([caller, worker]) == ["caller", "worker"]
        assert seen["caller"] == 1
        assert seen["worker"][0].startswith("landmark-passes") and seen["worker"][1] == 1
        assert torch.get_num_threads() == 2
        assert group.run([caller]) == ["caller"] and seen["caller"] == 2
        with pytest.raises(ValueError, match="3 functions for 2 threads"):
            group.run([caller, caller, caller])
    finally:
        group.close()


def test_run_waits_for_the_workers_when_the_caller_fails(two_threads):
    group = ThreadGroup(2)
    release = threading.Event()
    finished = threading.Event()

    def worker():
        release.wait(5)
        finished.set()

    def caller():
        release.set()
        raise RuntimeError("caller failed")

    try:
        with pytest.raises(RuntimeError, match="caller failed"):
            group.run([caller, worker])
        assert finished.is_set()  # never left running against the next step
    finally:
        group.close()
    assert torch.get_num_threads() == 2


def test_add_gradients_adds_sets_and_skips():
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    a.grad = torch.ones(2)
    add_gradients([a, b], [torch.full((2,), 2.0), None])
    add_gradients([a, b], [None, torch.full((2,), 3.0)])
    assert a.grad.tolist() == [3.0, 3.0] and b.grad.tolist() == [3.0, 3.0]


def expected_gradients(trainer: SPOSTrainer, step: int, loss_threads: int, penalty_threads: int):
    """Gradient of training loss plus penalty, from separate passes on the given threads.

    Rounding depends on the thread count (at C=4 the stem's gradient on one thread and on
    two differ by more than the tolerance below), so each part uses the count it has in
    the step.
    """
    config, model = trainer.config, trainer.model
    params = list(model.parameters())
    images, labels = trainer.train_stream.batch(step)
    arch = trainer.sampler.sample(step_rng(config.seed, step, Stream.ARCH))
    landmark_x, landmark_y = trainer.landmark_stream.batch(step)
    torch.set_num_threads(penalty_threads)
    penalty, _ = trainer.regularizer.penalty(
        step,
        lambda archs: [F.cross_entropy(model(landmark_x, a), landmark_y) for a in archs],
        step_rng(config.seed, step, Stream.PAIRS),
    )
    penalty_grads = torch.autograd.grad(penalty, params, allow_unused=True)
    torch.set_num_threads(loss_threads)
    loss = F.cross_entropy(model(images, arch), labels)
    loss_grads = torch.autograd.grad(loss, params, allow_unused=True)
    torch.set_num_threads(2)
    assert any(g is not None and g.abs().sum() > 0 for g in penalty_grads)
    return [
        None if a is None and b is None else (0 if a is None else a) + (0 if b is None else b)
        for a, b in zip(loss_grads, penalty_grads, strict=True)
    ]


@pytest.mark.parametrize(("mode", "loss_threads", "penalty_threads"), [("on", 1, 1), ("off", 2, 2)])
def test_both_ways_follow_the_gradient_of_loss_plus_penalty(
    mode, loss_threads, penalty_threads, tiny_config, tiny_experiment, tmp_path, two_threads
):
    config = tiny_config.updated(
        landmark_loss="softplus",
        landmark_schedule="constant",
        landmark_pairs=2,
        grad_clip=0.0,
        landmark_overlap=mode,
    )
    trainer = SPOSTrainer(tiny_experiment, config, tmp_path / "run")
    assert (trainer.thread_group is not None) is (mode == "on")
    step = config.warmup_steps()
    assert trainer.regularizer.active(step)
    expected = expected_gradients(trainer, step, loss_threads, penalty_threads)
    trainer.optimizer.step = lambda: None  # keep the gradients, skip the update
    values = trainer.train_step(step)
    assert values["penalty"] > 0
    assert torch.get_num_threads() == 2
    for param, want in zip(trainer.model.parameters(), expected, strict=True):
        if want is None:
            assert param.grad is None
        else:
            assert (param.grad - want).norm() <= 1e-4 * want.norm() + 1e-8


def train_steps(experiment, config, folder, steps: int) -> dict[str, torch.Tensor]:
    trainer = SPOSTrainer(experiment, config, folder)
    for step in range(steps):
        trainer.train_step(step)
    if trainer.thread_group is not None:
        trainer.thread_group.close()
    return trainer.model.state_dict()


def test_overlapped_training_is_reproducible(tiny_config, tiny_experiment, tmp_path, two_threads):
    config = tiny_config.updated(landmark_warmup_epochs=0.0, landmark_overlap="on")
    first = train_steps(tiny_experiment, config, tmp_path / "a", 6)
    second = train_steps(tiny_experiment, config, tmp_path / "b", 6)
    for name, value in first.items():
        assert torch.equal(value, second[name]), name


def test_overlapped_training_matches_sequential_training_on_one_thread_per_pass(
    tiny_config, tiny_experiment, tmp_path, two_threads
):
    config = tiny_config.updated(landmark_warmup_epochs=0.0, landmark_overlap="on")
    overlapped = train_steps(tiny_experiment, config, tmp_path / "a", 6)
    torch.set_num_threads(1)  # one thread: the same passes one after the other
    sequential = train_steps(tiny_experiment, config, tmp_path / "b", 6)
    for name, value in overlapped.items():
        assert (value - sequential[name]).norm() <= 1e-4 * sequential[name].norm() + 1e-8, name


def test_a_new_worker_gets_its_share_from_the_first_call(two_threads):
    # A thread's first call into torch's thread pool resets its count to the
    # process-wide value; with an odd count the shares differ and that would show.
    torch.set_num_threads(3)
    group = ThreadGroup(3)
    seen = []
    try:
        for _ in range(2):
            # The worker looks only after the calling thread has taken its share (2).
            ready = threading.Event()
            group.run(
                [
                    ready.set,
                    lambda ready=ready: ready.wait(5) and seen.append(torch.get_num_threads()),
                ]
            )
    finally:
        group.close()
    assert seen == [1, 1]
    assert torch.get_num_threads() == 3


def test_run_restores_the_count_it_found(two_threads):
    group = ThreadGroup(2)
    torch.set_num_threads(1)
    try:
        group.run([lambda: None, lambda: None])
    finally:
        group.close()
    assert torch.get_num_threads() == 1


def test_on_and_off_unquoted_in_yaml_mean_the_strings(tmp_path):
    from landmark_nas.config import load_config_file

    for text, value in (("on", "on"), ("off", "off"), ("'auto'", "auto")):
        path = tmp_path / f"{value}.yaml"
        path.write_text(f"landmark_overlap: {text}\n")
        assert load_config_file(path)["landmark_overlap"] == value
