"""SPOS training end to end on a tiny slice of the real data (16 steps, 256 images).

Covers what a user relies on: a run writes its results, the same seed gives the
same numbers, a crashed run resumes to the numbers of an uninterrupted one, a
folder is never resumed with another configuration, baseline and landmark runs
are twins until warm-up ends, and a diverging run stops with its checkpoint kept.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch

from landmark_nas.errors import ConfigError, NonFiniteLossError
from landmark_nas.runs import RUN_FILE, run_one
from landmark_nas.spaces.nb201 import parse_arch
from landmark_nas.training.spos import (
    CHECKPOINT,
    SUPERNET,
    SPOSTrainer,
    cosine_lr,
    landmark_images_planned,
)
from landmark_nas.training.streams import TrainStream

pytestmark = pytest.mark.integration

METRIC_KEYS = (
    "step",
    "epoch",
    "images_seen",
    "by_accuracy",
    "by_loss",
    "mean_supernet_accuracy",
    "landmark_lambda",
)


class Crash(Exception):
    """Stands in for a killed process in the middle of a run."""


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def ranking_view(summary: dict) -> dict:
    """Everything in a summary that must not depend on timing or interruptions."""
    return {
        "steps": summary["steps"],
        "images_seen": summary["images_seen"],
        "landmark_images": summary["landmark_images"],
        "history": [{k: record[k] for k in METRIC_KEYS} for record in summary["history"]],
        "scores": summary["scores"],
        "picked": summary["picked"],
    }


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def finished(tiny_experiment, tiny_config, runs_dir) -> tuple[Path, dict]:
    run_dir = runs_dir / "uninterrupted"
    return run_dir, run_one(tiny_experiment, tiny_config, run_dir, "landmarks", search=True)


@pytest.fixture(scope="module")
def resumed(tiny_experiment, tiny_config, runs_dir) -> tuple[Path, dict, int]:
    """A run killed at step 6 (checkpoints every 4 steps), then run again."""
    run_dir = runs_dir / "resumed"
    original = SPOSTrainer.train_step

    def crash_at_step_6(self, step):
        if step == 6:
            raise Crash
        return original(self, step)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SPOSTrainer, "train_step", crash_at_step_6)
        with pytest.raises(Crash):
            run_one(tiny_experiment, tiny_config, run_dir, "landmarks", search=True)
    checkpoint_step = load(run_dir / CHECKPOINT)["step"]
    assert not (run_dir / RUN_FILE).exists()
    return run_dir, run_one(tiny_experiment, tiny_config, run_dir, "landmarks"), checkpoint_step


# ---------------------------------------------------------------- a complete run
def test_a_run_writes_its_summary_and_super_net(finished, tiny_config, tiny_experiment):
    run_dir, summary = finished
    for name in (RUN_FILE, SUPERNET, CHECKPOINT, "config.json"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / RUN_FILE).read_text()) == json.loads(json.dumps(summary))

    assert summary["steps"] == 16 and summary["epochs"] == 2.0
    assert [record["step"] for record in summary["history"]] == [4, 8, 12, 16]
    assert summary["final"] == summary["history"][-1]
    assert summary["final"]["landmark_lambda"] == tiny_config.landmark_lambda
    assert summary["images_seen"] == 16 * 32 + summary["landmark_images"]
    assert summary["landmark_images"] > 0

    ranked = [parse_arch(s["arch"]) for s in summary["scores"]]
    assert ranked == tiny_experiment.ranking_archs
    truth = [s["true_accuracy"] for s in summary["scores"]]
    assert truth == tiny_experiment.ranking_truth.tolist()
    for ranking in ("by_accuracy", "by_loss"):
        assert -1.0 <= summary["final"][ranking]["kendall_tau"] <= 1.0

    picked = summary["picked"]
    assert picked["true_accuracy"] == tiny_experiment.benchmark.accuracy_of(
        parse_arch(picked["arch"])
    )
    assert 1 <= picked["evaluated"] <= tiny_config.search_population + tiny_config.search_cycles

    saved = load(run_dir / SUPERNET)
    assert saved["config"] == tiny_config.to_dict()
    assert saved["landmarks"] == [
        tiny_experiment.space.format(a) for a in tiny_experiment.landmarks
    ]
    assert_same_weights(saved["model"], load(run_dir / CHECKPOINT)["model"])


def test_the_planned_landmark_images_are_the_ones_the_run_used(
    finished, tiny_config, tiny_experiment
):
    _, summary = finished
    assert landmark_images_planned(tiny_experiment, tiny_config) == summary["landmark_images"]


def test_a_finished_run_is_read_back_not_retrained(
    finished, tiny_config, tiny_experiment, monkeypatch
):
    run_dir, summary = finished

    def no_training(self):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(SPOSTrainer, "train", no_training)
    assert run_one(tiny_experiment, tiny_config, run_dir, "landmarks") == json.loads(
        json.dumps(summary)
    )


def test_the_same_seed_gives_identical_results(finished, tiny_config, tiny_experiment, runs_dir):
    run_dir, summary = finished
    again = run_one(tiny_experiment, tiny_config, runs_dir / "repeat", "landmarks")
    assert ranking_view(again) == ranking_view(summary)
    assert [r["train_loss"] for r in again["history"]] == [
        r["train_loss"] for r in summary["history"]
    ]
    assert_same_weights(
        load(runs_dir / "repeat" / SUPERNET)["model"], load(run_dir / SUPERNET)["model"]
    )


def test_the_learning_rate_is_cosine_annealed_to_lr_min(tiny_config):
    total = tiny_config.total_steps()
    assert cosine_lr(tiny_config, 0) == pytest.approx(tiny_config.lr)
    assert cosine_lr(tiny_config, total) == pytest.approx(tiny_config.lr_min)
    middle = (tiny_config.lr + tiny_config.lr_min) / 2
    assert cosine_lr(tiny_config, total // 2) == pytest.approx(middle)


# ---------------------------------------------------------------- resuming
def test_a_crashed_run_keeps_its_last_checkpoint(resumed):
    _, _, checkpoint_step = resumed
    assert checkpoint_step == 4


def test_a_resumed_run_ends_with_the_model_and_rankings_of_an_uninterrupted_one(finished, resumed):
    run_dir, summary = finished
    resumed_dir, resumed_summary, _ = resumed
    assert ranking_view(resumed_summary) == ranking_view(summary)
    assert_same_weights(load(resumed_dir / SUPERNET)["model"], load(run_dir / SUPERNET)["model"])


def test_a_resumed_run_reports_the_training_loss_of_an_uninterrupted_one(finished, resumed):
    _, summary = finished
    _, resumed_summary, _ = resumed
    assert [r["train_loss"] for r in resumed_summary["history"]] == [
        r["train_loss"] for r in summary["history"]
    ]


def test_a_checkpoint_without_recent_losses_still_resumes(
    finished, tiny_config, tiny_experiment, tmp_path
):
    state = load(finished[0] / CHECKPOINT)
    state.pop("recent_losses", None)
    torch.save(state, tmp_path / CHECKPOINT)
    trainer = SPOSTrainer(tiny_experiment, tiny_config, tmp_path)
    assert trainer.try_resume() and trainer.step == 16


def test_resuming_a_folder_with_another_configuration_is_a_config_error(
    finished, tiny_config, tiny_experiment, tmp_path
):
    run_dir, _ = finished
    trainer = SPOSTrainer(tiny_experiment, tiny_config.updated(lr=0.05), run_dir)
    with pytest.raises(ConfigError) as error:
        trainer.try_resume()
    assert "lr" in str(error.value) and str(run_dir) in str(error.value)
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    with pytest.raises(ConfigError, match="landmark_lambda"):
        run_one(tiny_experiment, tiny_config.updated(landmark_lambda=1.0), copy, "landmarks")


def test_execution_settings_may_change_on_resume(finished, tiny_config, tiny_experiment):
    run_dir, _ = finished
    changed = tiny_config.updated(threads=2, checkpoint_every=8, channels_last=False)
    trainer = SPOSTrainer(tiny_experiment, changed, run_dir)
    assert trainer.try_resume()
    assert trainer.step == 16


def test_a_refused_resume_leaves_the_run_folder_unchanged(
    finished, tiny_config, tiny_experiment, tmp_path
):
    run_dir = tmp_path / "copy"
    shutil.copytree(finished[0], run_dir)
    before = (run_dir / "config.json").read_text()
    with pytest.raises(ConfigError):
        run_one(tiny_experiment, tiny_config.updated(lr=0.05), run_dir, "landmarks")
    assert (run_dir / "config.json").read_text() == before


# ---------------------------------------------------------------- baseline twin
def test_spos_and_landmark_runs_are_identical_until_warm_up_ends(
    tiny_config, tiny_experiment, tmp_path
):
    config = tiny_config.updated(landmark_loss="softplus")  # a penalty that is never zero
    warmup = config.warmup_steps()
    assert warmup == 4
    spos = SPOSTrainer(tiny_experiment, config.updated(use_landmarks=False), tmp_path / "spos")
    landmarks = SPOSTrainer(tiny_experiment, config, tmp_path / "landmarks")
    assert_same_weights(spos.model.state_dict(), landmarks.model.state_dict())

    for step in range(warmup):  # lambda is 0 during warm-up
        a = spos.train_step(step)
        b = landmarks.train_step(step)
        assert a["loss"] == b["loss"] and b["penalty"] == 0.0
    assert_same_weights(spos.model.state_dict(), landmarks.model.state_dict())

    assert landmarks.regularizer.active(warmup)
    spos.train_step(warmup)
    values = landmarks.train_step(warmup)
    assert values["penalty"] > 0
    differs = [
        name
        for name, tensor in spos.model.state_dict().items()
        if not torch.equal(tensor, landmarks.model.state_dict()[name])
    ]
    assert differs


# ---------------------------------------------------------------- diverging runs
def test_a_nan_loss_stops_the_run_and_keeps_the_last_checkpoint(
    tiny_config, tiny_experiment, tmp_path, monkeypatch
):
    original = TrainStream.batch

    def poisoned(self, step):
        images, labels = original(self, step)
        return (torch.full_like(images, float("nan")) if step >= 6 else images), labels

    monkeypatch.setattr(TrainStream, "batch", poisoned)
    trainer = SPOSTrainer(tiny_experiment, tiny_config, tmp_path)
    with pytest.raises(NonFiniteLossError) as error:
        trainer.train()
    assert "step 6" in str(error.value) and str(tmp_path) in str(error.value)
    state = load(tmp_path / CHECKPOINT)
    assert state["step"] == 4
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert not (tmp_path / SUPERNET).exists()


def test_a_huge_learning_rate_is_reported_as_a_non_finite_loss(
    tiny_config, tiny_experiment, tmp_path
):
    trainer = SPOSTrainer(tiny_experiment, tiny_config.updated(lr=1e30), tmp_path)
    with pytest.raises(NonFiniteLossError, match="lower lr"):
        trainer.train()


def test_training_needs_two_landmarks(tiny_config, tiny_experiment, tmp_path):
    experiment = dataclasses.replace(tiny_experiment, landmarks=tiny_experiment.landmarks[:1])
    with pytest.raises(ConfigError, match="landmark_count"):
        SPOSTrainer(experiment, tiny_config, tmp_path)


def test_regularizer_settings_do_not_change_a_plain_spos_fingerprint():
    from landmark_nas.config import RunConfig
    from landmark_nas.training.spos import fingerprint

    spos = RunConfig(use_landmarks=False)
    assert fingerprint(spos) == fingerprint(spos.updated(landmark_batch_size=16, landmark_every=4))
    assert fingerprint(spos) != fingerprint(spos.updated(landmark_seed=1))  # ranking set moves
    landmarks = RunConfig(use_landmarks=True)
    assert fingerprint(landmarks) != fingerprint(landmarks.updated(landmark_batch_size=16))
    assert fingerprint(fingerprint(spos)) == fingerprint(spos)  # stored fingerprints compare


def test_an_unset_landmark_batch_fingerprints_as_the_training_batch():
    from landmark_nas.config import RunConfig
    from landmark_nas.training.spos import fingerprint

    paper = RunConfig(batch_size=64).replaced(landmark_batch_size=None)
    explicit = RunConfig(batch_size=64, landmark_batch_size=64)
    assert fingerprint(paper) == fingerprint(explicit)
    # A fingerprint stored by an older run (None) still matches when compared again.
    assert fingerprint(paper.to_dict()) == fingerprint(explicit)
    assert fingerprint(explicit) != fingerprint(RunConfig(batch_size=64))  # default 8


def test_a_regularized_step_follows_the_gradient_of_loss_plus_penalty(
    tiny_config, tiny_experiment, tmp_path
):
    import torch.nn.functional as F

    from landmark_nas.training.streams import Stream, step_rng

    config = tiny_config.updated(landmark_loss="softplus", grad_clip=0.0)
    trainer = SPOSTrainer(tiny_experiment, config, tmp_path / "run")
    step = config.warmup_steps()
    assert trainer.regularizer.active(step)
    model = trainer.model
    params = [p for p in model.parameters()]
    # The expected gradient, from two separate backward passes.
    images, labels = trainer.train_stream.batch(step)
    arch = trainer.sampler.sample(step_rng(config.seed, step, Stream.ARCH))
    landmark_x, landmark_y = trainer.landmark_stream.batch(step)
    penalty, _ = trainer.regularizer.penalty(
        step,
        lambda archs: [F.cross_entropy(model(landmark_x, a), landmark_y) for a in archs],
        step_rng(config.seed, step, Stream.PAIRS),
    )
    loss = F.cross_entropy(model(images, arch), labels)
    loss_grads = torch.autograd.grad(loss, params, allow_unused=True)
    penalty_grads = torch.autograd.grad(penalty, params, allow_unused=True)
    expected = [
        None if a is None and b is None else (0 if a is None else a) + (0 if b is None else b)
        for a, b in zip(loss_grads, penalty_grads, strict=True)
    ]
    assert any(b is not None and b.abs().sum() > 0 for b in penalty_grads)
    trainer.optimizer.step = lambda: None  # keep the gradients, skip the update
    trainer.train_step(step)
    for param, want in zip(params, expected, strict=True):
        if want is None:
            assert param.grad is None
        else:
            torch.testing.assert_close(param.grad, want, rtol=1e-4, atol=1e-6)


def test_a_run_from_before_the_batch_8_default_names_the_option_that_resumes_it(
    finished, tiny_config, tiny_experiment
):
    run_dir, _ = finished
    older = tiny_config.updated(landmark_batch_size=tiny_config.batch_size)
    assert older.landmark_batch_size != tiny_config.landmark_batch_size
    trainer = SPOSTrainer(tiny_experiment, older, run_dir)
    with pytest.raises(
        ConfigError, match=f"--landmark-batch-size {tiny_config.landmark_batch_size}"
    ):
        trainer.try_resume()
