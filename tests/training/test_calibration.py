"""``landmark_overlap: auto``: measured once per machine and shape, then reused."""

from __future__ import annotations

import time

import pytest
import torch

from landmark_nas.errors import ConfigError
from landmark_nas.runs import execution
from landmark_nas.training.calibration import (
    CACHE_ENV,
    DATABASE,
    OverlapCache,
    OverlapKey,
    OverlapTiming,
    cache_dir,
    measured_overlap,
    time_both,
)
from landmark_nas.training.spos import SPOSTrainer


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return OverlapCache()


def key(channels: int = 8, threads: int = 2) -> OverlapKey:
    return OverlapKey.for_run("nb201", channels, 1, 64, 8, threads)


def test_overlap_is_chosen_only_when_clearly_faster():
    assert OverlapTiming(0.100, 0.090).overlap
    assert not OverlapTiming(0.100, 0.099).overlap  # within the margin: keep sequential
    assert not OverlapTiming(0.100, 0.120).overlap
    assert "no overlap" in OverlapTiming(0.100, 0.120).describe()


def test_time_both_times_each_on_the_same_step_indices():
    seen = {"sequential": [], "overlapped": []}

    def slow(index):
        seen["sequential"].append(index)
        time.sleep(0.004)

    def fast(index):
        seen["overlapped"].append(index)

    timing = time_both(slow, fast, warmup=1, block=2, rounds=3)
    assert timing.overlapped_s < timing.sequential_s
    assert timing.sequential_s >= 0.004
    assert timing.overlap
    assert seen["sequential"] == seen["overlapped"] == list(range(7))


def test_the_cache_lives_where_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "elsewhere"))
    assert cache_dir() == tmp_path / "elsewhere"
    assert OverlapCache().path == tmp_path / "elsewhere" / DATABASE
    monkeypatch.delenv(CACHE_ENV)
    assert cache_dir().name == "landmark-nas"


def test_keys_name_the_machine_and_the_shape():
    assert key().cpu and key().torch_version == torch.__version__
    assert key(8).text() != key(16).text()
    assert key(threads=2).text() != key(threads=4).text()


def test_a_measurement_is_made_once_then_reused(cache):
    calls = []

    def measure():
        calls.append(1)
        return OverlapTiming(0.05, 0.04)

    first, measured = measured_overlap(key(), measure, cache)
    assert measured and first == OverlapTiming(0.05, 0.04)
    again, measured = measured_overlap(key(), measure, cache)
    assert not measured and again == first
    assert len(calls) == 1
    # another shape is measured on its own
    _, measured = measured_overlap(key(16), lambda: OverlapTiming(0.1, 0.2), cache)
    assert measured
    assert OverlapCache(cache.path).get(key(16)) == OverlapTiming(0.1, 0.2)


def test_the_first_stored_measurement_wins(cache):
    # Two runs measuring at once must end up with the same choice.
    assert cache.put(key(), OverlapTiming(0.05, 0.04)) == OverlapTiming(0.05, 0.04)
    assert cache.put(key(), OverlapTiming(0.05, 0.06)) == OverlapTiming(0.05, 0.04)
    assert cache.get(key()).overlap


def test_a_corrupt_database_is_named_in_one_line(cache):
    cache.path.parent.mkdir(parents=True)
    cache.path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match=DATABASE) as error:
        measured_overlap(key(), lambda: OverlapTiming(0.05, 0.04), cache)
    assert "\n" not in str(error.value)
    assert "delete it" in str(error.value)


def test_an_unwritable_cache_still_gives_a_choice(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    cache = OverlapCache(blocker / "cache" / DATABASE)
    timing, measured = measured_overlap(key(), lambda: OverlapTiming(0.05, 0.04), cache)
    assert measured and timing.overlap
    assert "not stored" in caplog.text


@pytest.mark.parametrize("overlapped_s", [0.02, 0.08])
def test_auto_follows_the_stored_measurement(
    overlapped_s, cache, tiny_config, tiny_experiment, tmp_path, two_threads
):
    config = tiny_config.updated(landmark_overlap="auto")
    stored = OverlapTiming(0.05, overlapped_s)
    run_key = OverlapKey.for_run(
        config.search_space,
        config.channels,
        config.cells_per_stage,
        config.batch_size,
        config.landmark_batch(),
        2,
    )
    cache.put(run_key, stored)
    trainer = SPOSTrainer(tiny_experiment, config, tmp_path / "run")
    assert (trainer.thread_group is not None) is stored.overlap
    assert execution(trainer)["overlap_ms_per_step"] == {
        "sequential": 50.0,
        "overlapped": 1000 * overlapped_s,
    }
    assert execution(trainer)["landmark_overlap"] is stored.overlap


def test_measuring_leaves_the_run_as_it_was(
    cache, tiny_config, tiny_experiment, tmp_path, two_threads
):
    """A run that measures trains exactly like one told the answer in advance."""
    measuring = SPOSTrainer(
        tiny_experiment, tiny_config.updated(landmark_overlap="auto"), tmp_path / "a"
    )
    after_measuring = torch.rand(3)
    timing = measuring.overlap_timing
    assert timing is not None and timing.sequential_s > 0 and timing.overlapped_s > 0
    assert (
        OverlapCache().get(
            OverlapKey.for_run(
                tiny_config.search_space,
                tiny_config.channels,
                tiny_config.cells_per_stage,
                tiny_config.batch_size,
                tiny_config.landmark_batch(),
                2,
            )
        )
        == timing
    )
    told = SPOSTrainer(
        tiny_experiment,
        tiny_config.updated(landmark_overlap="on" if timing.overlap else "off"),
        tmp_path / "b",
    )
    assert torch.equal(after_measuring, torch.rand(3))  # same global random state
    for trainer in (measuring, told):
        for step in range(tiny_config.warmup_steps(), tiny_config.warmup_steps() + 3):
            trainer.train_step(step)
        if trainer.thread_group is not None:
            trainer.thread_group.close()
    for (name, value), other in zip(
        measuring.model.state_dict().items(), told.model.state_dict().values(), strict=True
    ):
        assert torch.equal(value, other), name


def test_one_thread_or_running_statistics_never_measure(
    cache, tiny_config, tiny_experiment, tmp_path
):
    trainer = SPOSTrainer(
        tiny_experiment, tiny_config.updated(landmark_overlap="auto"), tmp_path / "run"
    )
    assert trainer.thread_group is None and trainer.overlap_timing is None
    assert not cache.path.exists()
