"""Run configuration: files, command-line precedence, validation and derived step counts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from landmark_nas.cli.main import build_parser
from landmark_nas.cli.options import config_from_args
from landmark_nas.config import RunConfig, load_config_file
from landmark_nas.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---------------------------------------------------------------- files
def test_a_yaml_file_sets_fields(tmp_path):
    path = write(
        tmp_path / "run.yaml",
        "batch_size: 32\nlr: 0.05\nlandmark_loss: softplus\naugment: false\n"
        "landmark_warmup_epochs: 1.5\n",
    )
    values = load_config_file(path)
    config = RunConfig().updated(**values)
    assert (config.batch_size, config.lr, config.landmark_loss, config.augment) == (
        32,
        0.05,
        "softplus",
        False,
    )
    assert config.landmark_warmup_epochs == 1.5


def test_a_json_file_sets_fields(tmp_path):
    path = write(tmp_path / "run.json", json.dumps({"epochs": 3, "seed": 7, "lr": 1}))
    config = RunConfig().updated(**load_config_file(path))
    assert (config.epochs, config.seed, config.lr) == (3, 7, 1)


def test_null_in_a_file_sets_an_optional_field_to_none(tmp_path):
    path = write(tmp_path / "paper.yaml", "landmark_batch_size: null\n")
    args = build_parser().parse_args(["train", "--config", str(path)])
    assert RunConfig().landmark_batch_size == 8
    assert config_from_args(args).landmark_batch_size is None  # as large as batch_size


def test_an_empty_file_changes_nothing(tmp_path):
    assert load_config_file(write(tmp_path / "empty.yaml", "")) == {}


def test_options_override_file_values(tmp_path):
    path = write(tmp_path / "run.yaml", "batch_size: 32\nepochs: 4\nchannels: 12\n")
    args = build_parser().parse_args(
        ["train", "--config", str(path), "--batch-size", "16", "--no-augment"]
    )
    config = config_from_args(args)
    assert config.batch_size == 16  # the option wins
    assert config.epochs == 4 and config.channels == 12  # the file's other values stay
    assert config.augment is False
    assert config.lr == RunConfig().lr  # untouched fields keep their defaults


def test_forced_values_override_the_file(tmp_path):
    path = write(tmp_path / "run.yaml", "use_landmarks: false\n")
    args = build_parser().parse_args(["compare", "--config", str(path)])
    assert config_from_args(args, use_landmarks=True).use_landmarks is True


def test_forced_values_override_options():
    args = build_parser().parse_args(["compare", "--lr", "0.1"])
    assert config_from_args(args, lr=0.2).lr == 0.2


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("batch_size: big\n", "batch_size"),
        ("batch_size: 32.5\n", "batch_size"),
        ("epochs: true\n", "epochs"),
        ("lr: fast\n", "lr"),
        ("augment: 3\n", "augment"),
        ("landmark_loss: 2\n", "landmark_loss"),
        ("extra: [1, 2]\n", "extra"),
    ],
)
def test_a_wrong_type_in_a_file_is_a_config_error_naming_the_field(tmp_path, text, field):
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as error:
        load_config_file(path)
    assert repr(field) in str(error.value)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "text", ["steps: ten\n", "landmark_warmup_epochs: soon\n", "landmark_batch_size: 1.5\n"]
)
def test_a_wrong_type_for_an_optional_field_is_a_config_error(tmp_path, text):
    path = write(tmp_path / "bad.yaml", text)
    field = text.split(":")[0]
    with pytest.raises(ConfigError, match=repr(field)):
        load_config_file(path)


def test_an_unknown_key_is_a_config_error_naming_it(tmp_path):
    path = write(tmp_path / "bad.yaml", "batch_size: 32\nbatchsize: 16\n")
    with pytest.raises(ConfigError, match="'batchsize'"):
        load_config_file(path)


@pytest.mark.parametrize(
    ("name", "text", "named"),
    [
        ("bad.yaml", "batch_size: [1\n", "bad.yaml"),
        ("bad.json", '{"batch_size": }', "bad.json"),
        ("list.yaml", "- 1\n- 2\n", "mapping"),
    ],
)
def test_a_malformed_file_is_a_config_error(tmp_path, name, text, named):
    path = write(tmp_path / name, text)
    with pytest.raises(ConfigError, match=named) as error:
        load_config_file(path)
    assert "\n" not in str(error.value)  # one line


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config_file(tmp_path)


def test_updated_rejects_unknown_fields_and_ignores_none():
    config = RunConfig(batch_size=16)
    assert config.updated(batch_size=None).batch_size == 16
    with pytest.raises(ConfigError, match="batchsize"):
        config.updated(batchsize=3)


# ---------------------------------------------------------------- derived counts
def test_step_counts_follow_images_batch_size_and_epochs():
    config = RunConfig(train_images=1_000, batch_size=64, epochs=3)
    assert config.steps_per_epoch() == 15  # the partial batch is dropped
    assert config.total_steps() == 45
    assert config.warmup_steps() == int(0.3 * 45)
    assert config.eval_every_steps() == math.ceil(45 / 5)
    assert config.checkpoint_every_steps() == 15
    assert config.updated(steps=100).total_steps() == 100
    assert config.updated(landmark_warmup_epochs=1.5).warmup_steps() == 22  # round(22.5)
    assert config.updated(eval_every=2, checkpoint_every=7).eval_every_steps() == 30
    assert config.updated(checkpoint_every=7).checkpoint_every_steps() == 7


def test_the_defaults_are_valid():
    assert RunConfig().validate() == RunConfig()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"batch_size": 0}, "batch_size=0"),
        ({"channels": -1}, "channels=-1"),
        ({"epochs": -1}, "epochs=-1"),
        ({"threads": -2}, "threads=-2"),
        ({"batch_size": 30_000}, "batch_size=30000"),
        ({"epochs": 0}, "no training steps"),
        ({"steps": 0, "epochs": 1}, "no training steps"),
        ({"lr": float("nan")}, "lr=nan"),
        ({"weight_decay": -1e-4}, "weight_decay"),
        ({"top_fraction": 0.0}, "top_fraction"),
        ({"search_sample": 30}, "search_sample=30"),
        ({"landmark_count": 1}, "landmark_count=1"),
        ({"landmark_pairs": 0}, "landmark_pairs=0"),
        ({"landmark_images": 4}, "landmark_images=4"),
        ({"landmark_images": 10, "landmark_batch_size": 64}, "landmark_images=10"),
        ({"landmark_batch_size": 0, "use_landmarks": False}, "landmark_batch_size=0"),
        ({"landmark_warmup_epochs": -1.0}, "landmark_warmup_epochs"),
    ],
)
def test_impossible_values_are_config_errors_naming_the_field(changes, named):
    with pytest.raises(ConfigError, match=named):
        RunConfig().updated(**changes).validate()


def test_a_run_without_landmarks_needs_no_landmark_settings():
    config = RunConfig(use_landmarks=False, landmark_count=0, landmark_pairs=0)
    assert config.validate() is config
