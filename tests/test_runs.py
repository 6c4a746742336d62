"""Variants of a comparison and the aggregation of their results."""

from __future__ import annotations

import math

import pytest

from landmark_nas.errors import ConfigError
from landmark_nas.runs import aggregate, variant_config
from landmark_nas.training.spos import landmark_images_planned


def fake_run(variant: str, seed: int, tau: float, picked: float | None = 90.0) -> dict:
    metrics = {"kendall_tau": tau, "spearman_rho": tau + 0.1, "precision_at_top": 0.5}
    return {
        "variant": variant,
        "seed": seed,
        "train_seconds": 10.0 + seed,
        "images_seen": 100,
        "final": {"by_accuracy": metrics, "by_loss": {**metrics, "kendall_tau": -tau}},
        "picked": None if picked is None else {"true_accuracy": picked},
    }


def test_aggregate_gives_mean_and_sample_std_per_variant():
    runs = [
        fake_run("spos", 0, 0.2),
        fake_run("spos", 1, 0.4),
        fake_run("spos", 2, 0.9),
        fake_run("landmarks", 0, 0.5),
        fake_run("landmarks", 1, 0.6),
        fake_run("landmarks", 2, 0.7),
    ]
    summary = aggregate(runs, ["spos", "landmarks"])
    tau = summary["spos"]["by_accuracy"]["kendall_tau"]
    assert tau["mean"] == pytest.approx(0.5) and tau["n"] == 3
    assert tau["std"] == pytest.approx(math.sqrt(((0.3**2) + (0.1**2) + (0.4**2)) / 2))
    assert summary["spos"]["by_loss"]["kendall_tau"]["mean"] == pytest.approx(-0.5)
    assert summary["landmarks"]["train_seconds"]["mean"] == pytest.approx(11.0)


def test_aggregate_pairs_each_variant_with_spos_by_seed():
    runs = [
        fake_run("spos", 0, 0.2),
        fake_run("spos", 1, 0.4),
        fake_run("spos", 2, 0.9),
        fake_run("landmarks", 0, 0.5),
        fake_run("landmarks", 1, 0.6),
    ]
    summary = aggregate(runs, ["spos", "landmarks"])
    paired = summary["landmarks"]["paired_difference_vs_spos"]["by_accuracy"]["kendall_tau"]
    # Seeds 0 and 1 only: differences 0.3 and 0.2.
    assert paired["n"] == 2
    assert paired["mean"] == pytest.approx(0.25)
    assert paired["std"] == pytest.approx(math.sqrt(2 * 0.05**2))
    assert "paired_difference_vs_spos" not in summary["spos"]


def test_aggregate_of_one_seed_has_zero_std_and_skips_missing_picks():
    summary = aggregate([fake_run("spos", 0, 0.3, picked=None)], ["spos"])
    assert summary["spos"]["by_accuracy"]["kendall_tau"]["std"] == 0.0
    assert summary["spos"]["picked_true_accuracy"] is None


@pytest.mark.integration
def test_variants_change_only_what_they_name(tiny_experiment, tiny_config):
    spos = variant_config(tiny_experiment, tiny_config, "spos")
    landmarks = variant_config(
        tiny_experiment, tiny_config.updated(use_landmarks=False), "landmarks"
    )
    every_3 = variant_config(tiny_experiment, tiny_config, "landmarks-k3")
    batch_16 = variant_config(tiny_experiment, tiny_config, "landmarks-b16")
    assert batch_16 == tiny_config.updated(use_landmarks=True, landmark_batch_size=16)
    assert spos == tiny_config.updated(use_landmarks=False)
    assert landmarks == tiny_config.updated(use_landmarks=True)
    assert every_3 == tiny_config.updated(use_landmarks=True, landmark_every=3)


@pytest.mark.integration
def test_spos_matched_trains_on_as_many_extra_images_as_the_landmarks_use(
    tiny_experiment, tiny_config
):
    matched = variant_config(tiny_experiment, tiny_config, "spos-matched")
    extra = landmark_images_planned(tiny_experiment, tiny_config.updated(use_landmarks=True))
    assert extra > 0
    assert matched.use_landmarks is False
    assert matched.total_steps() == tiny_config.total_steps() + math.ceil(
        extra / tiny_config.batch_size
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    "name", ["landmarks-kN", "landmarks-k0", "landmarks-b0", "landmarks-b", "spos2", ""]
)
def test_an_unknown_variant_is_a_config_error(tiny_experiment, tiny_config, name):
    with pytest.raises(ConfigError, match="unknown variant"):
        variant_config(tiny_experiment, tiny_config, name)
