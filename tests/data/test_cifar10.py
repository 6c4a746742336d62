"""The CIFAR-10 reader on the real prepared batches and on broken files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from landmark_nas.data import load_dataset, resolve_data_dir
from landmark_nas.data.cifar10 import MEAN, STD, read_batch
from landmark_nas.errors import ConfigError, DataError


def write_batch(path: Path, count: int, byte_keys: bool = False, **changes) -> None:
    """A small pickle in the official layout: ``data`` uint8 [N, 3072], ``labels``."""
    rng = np.random.default_rng(count)
    batch = {
        "data": rng.integers(0, 256, size=(count, 3072), dtype=np.uint8),
        "labels": [int(k % 10) for k in range(count)],
        "batch_label": "test",
    }
    batch.update(changes)
    if byte_keys:
        batch = {key.encode(): value for key, value in batch.items()}
    with open(path, "wb") as handle:
        pickle.dump(batch, handle, protocol=2)


# ---------------------------------------------------------------- the real data
def test_reads_the_50000_training_images(cifar10_dataset):
    assert cifar10_dataset.images.shape == (50_000, 3, 32, 32)
    assert cifar10_dataset.images.dtype == torch.uint8
    assert cifar10_dataset.labels.shape == (50_000,)
    assert cifar10_dataset.labels.dtype == torch.int64
    counts = torch.bincount(cifar10_dataset.labels, minlength=10)
    assert counts.tolist() == [5_000] * 10
    assert cifar10_dataset.num_classes == 10 and len(cifar10_dataset) == 50_000


def test_channels_are_in_rgb_plane_order(cifar10_dataset):
    # The per-channel means of CIFAR-10 differ (blue is lowest); a wrong reshape mixes them.
    images = cifar10_dataset.images[:10_000].float() / 255.0
    means = images.mean(dim=(0, 2, 3)).tolist()
    stds = images.std(dim=(0, 2, 3)).tolist()
    assert means == pytest.approx(MEAN, abs=0.01)
    assert stds == pytest.approx(STD, abs=0.01)


def test_images_match_the_first_pickle_row(cifar10_dir, cifar10_dataset):
    with open(cifar10_dir / "cifar-10-batches-py" / "data_batch_1", "rb") as handle:
        raw = pickle.load(handle, encoding="bytes")
    raw = {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}
    first = np.asarray(raw["data"][0], dtype=np.uint8)
    image = cifar10_dataset.images[0].numpy()
    np.testing.assert_array_equal(image[0].reshape(-1), first[:1024])  # red plane
    np.testing.assert_array_equal(image[2].reshape(-1), first[2048:])  # blue plane
    assert int(cifar10_dataset.labels[0]) == raw["labels"][0]


def test_reads_the_batches_folder_itself(cifar10_dir):
    images, labels = read_batch(cifar10_dir / "cifar-10-batches-py" / "data_batch_5")
    assert images.shape == (10_000, 3, 32, 32) and labels.shape == (10_000,)


def test_a_truncated_real_pickle_is_a_data_error_naming_the_file(cifar10_dir, tmp_path):
    source = cifar10_dir / "cifar-10-batches-py" / "data_batch_3"
    with open(source, "rb") as handle:
        head = handle.read(2_000_000)
    broken = tmp_path / "data_batch_3"
    broken.write_bytes(head)
    with pytest.raises(DataError) as error:
        read_batch(broken)
    assert str(broken) in str(error.value)
    assert "truncated" in str(error.value)


def test_a_truncated_batch_in_a_folder_names_that_batch(cifar10_dir, tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for k in (1, 2, 4, 5):
        write_batch(folder / f"data_batch_{k}", 20)
    real = (cifar10_dir / "cifar-10-batches-py" / "data_batch_3").read_bytes()
    (folder / "data_batch_3").write_bytes(real[: len(real) // 2])
    with pytest.raises(DataError, match="data_batch_3"):
        load_dataset("cifar10", tmp_path)


# ---------------------------------------------------------------- folders and files
def test_a_missing_folder_is_a_data_error_naming_it(tmp_path):
    with pytest.raises(DataError, match="nowhere"):
        load_dataset("cifar10", tmp_path / "nowhere")


def test_a_folder_without_batches_is_a_data_error_saying_how_to_prepare(tmp_path):
    with pytest.raises(DataError, match="prepare.py"):
        load_dataset("cifar10", tmp_path)


def test_no_folder_and_no_environment_variable_is_a_data_error(monkeypatch):
    monkeypatch.delenv("LANDMARK_NAS_DATA", raising=False)
    with pytest.raises(DataError, match="LANDMARK_NAS_DATA"):
        resolve_data_dir(None)


def test_the_environment_variable_names_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LANDMARK_NAS_DATA", os.fspath(tmp_path))
    assert resolve_data_dir(None) == tmp_path
    assert resolve_data_dir("") == tmp_path


def test_a_missing_batch_is_a_data_error_naming_it(tmp_path):
    for k in range(1, 5):
        write_batch(tmp_path / f"data_batch_{k}", 10)
    with pytest.raises(DataError, match="data_batch_5"):
        load_dataset("cifar10", tmp_path)


def test_reads_the_official_byte_key_pickles_in_file_order(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for k in range(1, 6):
        write_batch(folder / f"data_batch_{k}", 10 + k, byte_keys=True)
    dataset = load_dataset("cifar10", tmp_path)
    assert len(dataset) == sum(10 + k for k in range(1, 6))
    with open(folder / "data_batch_2", "rb") as handle:
        second = pickle.load(handle, encoding="bytes")
    np.testing.assert_array_equal(dataset.images[11].numpy().reshape(-1), second[b"data"][0])


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"labels": [11] * 10}, "outside 0-9"),
        ({"labels": [0] * 9}, "'data'"),
        ({"data": np.zeros((10, 1024), dtype=np.uint8)}, "'data'"),
    ],
)
def test_malformed_fields_are_data_errors(tmp_path, changes, named):
    path = tmp_path / "data_batch_1"
    write_batch(path, 10, **changes)
    with pytest.raises(DataError, match=named):
        read_batch(path)


def test_a_pickle_without_labels_is_a_data_error(tmp_path):
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as handle:
        pickle.dump({"data": np.zeros((2, 3072), dtype=np.uint8)}, handle)
    with pytest.raises(DataError, match="'labels'"):
        read_batch(path)


def test_a_pickle_of_the_wrong_kind_is_a_data_error(tmp_path):
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as handle:
        pickle.dump([1, 2, 3], handle)
    with pytest.raises(DataError, match="data_batch_1"):
        read_batch(path)


def test_an_unknown_dataset_name_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cifar10"):
        load_dataset("mnist", tmp_path)
