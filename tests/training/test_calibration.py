"""``landmark_overlap: auto``: measured once per machine and shape, then reused."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import torch

from landmark_nas.config import RunConfig
from landmark_nas.errors import ConfigError
from landmark_nas.runs import execution
from landmark_nas.training import calibration
from landmark_nas.training.calibration import (
    CACHE_ENV,
    DATABASE,
    Measurement,
    OverlapCache,
    OverlapKey,
    OverlapTiming,
    cache_dir,
    measured_overlap,
    time_both,
)
from landmark_nas.training.overlap import ThreadGroup
from landmark_nas.training.spos import SPOSTrainer


@pytest.fixture(autouse=True)
def active_wait_policy(monkeypatch):
    """The load check as by default, whatever the environment running the tests sets."""
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return OverlapCache()


def key(channels: int = 8, threads: int = 2, pairs: int = 1) -> OverlapKey:
    return OverlapKey("nb201", channels, 1, 64, 8, pairs, True, threads, "cpu", "torch", "")


def quiet(sequential_s: float, overlapped_s: float) -> Measurement:
    return Measurement(OverlapTiming(sequential_s, overlapped_s), busy=0.98)


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

    measurement = time_both(slow, fast, threads=1, warmup=1, block=2, rounds=3)
    assert measurement.timing.overlapped_s < measurement.timing.sequential_s
    assert measurement.timing.sequential_s >= 0.004
    assert measurement.timing.overlap
    assert seen["sequential"] == seen["overlapped"] == list(range(7))


class FakeClocks:
    """Wall and CPU clocks that advance only when a step says so."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    def step(self, wall: float, cpu: float):
        def run(index):
            self.wall += wall
            self.cpu += cpu

        return run


@pytest.mark.parametrize(
    ("threads", "cpu_per_wall", "contended"),
    [(1, 1.0, False), (2, 1.9, False), (2, 1.0, True), (1, 0.5, True)],
)
def test_time_both_sees_when_the_cores_were_not_its_own(
    monkeypatch, threads, cpu_per_wall, contended
):
    clocks = FakeClocks()
    monkeypatch.setattr(calibration.time, "perf_counter", lambda: clocks.wall)
    monkeypatch.setattr(calibration.time, "process_time", lambda: clocks.cpu)
    step = clocks.step(0.01, 0.01 * cpu_per_wall)
    measurement = time_both(step, step, threads=threads, warmup=1, block=2, rounds=3)
    assert measurement.busy == pytest.approx(cpu_per_wall / threads)
    assert measurement.contended is contended


def test_passive_openmp_threads_are_another_key_and_skip_the_load_check(monkeypatch):
    low = Measurement(OverlapTiming(0.07, 0.035), busy=0.63)  # measured alone, passive
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert low.contended
    active = OverlapKey.for_run(RunConfig(), 2)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert not low.contended
    assert OverlapKey.for_run(RunConfig(), 2).text() != active.text()


def test_the_cache_lives_where_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "elsewhere"))
    assert cache_dir() == tmp_path / "elsewhere"
    assert OverlapCache().path == tmp_path / "elsewhere" / DATABASE
    monkeypatch.delenv(CACHE_ENV)
    assert cache_dir().name == "landmark-nas"


def test_keys_name_the_machine_and_everything_the_timing_depends_on(tiny_config):
    run_key = OverlapKey.for_run(tiny_config, 2)
    assert run_key.cpu and run_key.torch_version == torch.__version__
    assert run_key.landmark_batch == tiny_config.landmark_batch()
    others = [
        OverlapKey.for_run(tiny_config.updated(channels=8), 2),
        OverlapKey.for_run(tiny_config.updated(landmark_pairs=3), 2),
        OverlapKey.for_run(tiny_config.updated(channels_last=False), 2),
        OverlapKey.for_run(tiny_config.updated(landmark_batch_size=4), 2),
        OverlapKey.for_run(tiny_config, 4),
    ]
    assert len({run_key.text(), *(other.text() for other in others)}) == 6


def test_a_measurement_is_made_once_then_reused(cache):
    calls = []

    def measure():
        calls.append(1)
        return quiet(0.05, 0.04)

    first, source = measured_overlap(key(), measure, cache)
    assert source.startswith("measured now, stored") and first == OverlapTiming(0.05, 0.04)
    again, source = measured_overlap(key(), measure, cache)
    assert source.startswith("measured earlier") and again == first
    assert len(calls) == 1
    # another shape is measured on its own
    _, source = measured_overlap(key(16), lambda: quiet(0.1, 0.2), cache)
    assert source.startswith("measured now")
    assert OverlapCache(cache.path).get(key(16)) == OverlapTiming(0.1, 0.2)


def test_a_measurement_on_a_busy_machine_is_used_but_not_stored(cache, caplog):
    busy = Measurement(OverlapTiming(0.19, 0.09), busy=0.5)
    timing, source = measured_overlap(key(), lambda: busy, cache)
    assert timing.overlap and "not stored" in source
    assert "other work on the cores" in caplog.text
    assert cache.get(key()) is None  # the next run measures again


def test_processes_measure_one_at_a_time(cache):
    """Two runs started together: one measures, the other waits and reads its result."""
    inside, calls, results = [], [], []

    def measure():
        inside.append(1)
        calls.append(len(inside))  # how many measurements are running right now
        time.sleep(0.2)
        inside.pop()
        return quiet(0.05, 0.04)

    def run():
        results.append(measured_overlap(key(), measure, OverlapCache(cache.path)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    sources = sorted(source for _, source in results)
    assert sources[0].startswith("measured by another process")
    assert sources[1].startswith("measured now")
    assert results[0][0] == results[1][0]


def test_a_cache_folder_with_odd_characters_works(tmp_path):
    cache = OverlapCache(tmp_path / "my cache #1 ?50%" / DATABASE)
    timing, source = measured_overlap(key(), lambda: quiet(0.05, 0.04), cache)
    assert source.startswith("measured now, stored")
    assert OverlapCache(cache.path).get(key()) == timing


def test_the_first_stored_measurement_wins(cache):
    assert cache.put(key(), OverlapTiming(0.05, 0.04)) == OverlapTiming(0.05, 0.04)
    assert cache.put(key(), OverlapTiming(0.05, 0.06)) == OverlapTiming(0.05, 0.04)
    assert cache.get(key()).overlap


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path.write_bytes(b"this is not a database" * 100), "not a database"),
        (
            lambda path: sqlite3.connect(path).execute(
                "CREATE TABLE overlap (key TEXT, a REAL, b REAL, c TEXT, d TEXT)"
            ),
            "table overlap has columns key, a, b, c, d",
        ),
    ],
)
def test_a_database_that_is_not_ours_is_named_in_one_line(cache, make, message):
    cache.path.parent.mkdir(parents=True)
    make(cache.path)
    with pytest.raises(ConfigError, match=message) as error:
        measured_overlap(key(), lambda: quiet(0.05, 0.04), cache)
    assert str(error.value).startswith(str(cache.path))
    assert "\n" not in str(error.value) and "delete it" in str(error.value)


def write_database(cache, columns: str, version: int, timings: tuple[float, float]) -> None:
    """A database as another writer left it: ``columns`` in that order, one row for key()."""
    cache.path.parent.mkdir(parents=True)
    with sqlite3.connect(cache.path) as connection:
        connection.execute(f"CREATE TABLE overlap ({columns})")
        connection.execute(f"PRAGMA user_version = {version}")
        connection.execute("INSERT INTO overlap VALUES (?, ?, ?, 'then')", (key().text(), *timings))


def test_columns_are_read_by_name(cache):
    # the same columns in another order (an older writer): read right, not swapped
    columns = "key TEXT PRIMARY KEY, overlapped_s REAL, sequential_s REAL, measured_at TEXT"
    write_database(cache, columns, calibration.SCHEMA_VERSION, (0.04, 0.05))
    assert cache.get(key()) == OverlapTiming(0.05, 0.04)
    assert cache.put(key(16), OverlapTiming(0.1, 0.2)) == OverlapTiming(0.1, 0.2)


@pytest.mark.parametrize(("version", "readable"), [(0, True), (1, True), (2, False)])
def test_older_databases_are_read_and_newer_ones_refused(cache, version, readable):
    columns = "key TEXT PRIMARY KEY, sequential_s REAL, overlapped_s REAL, measured_at TEXT"
    write_database(cache, columns, version, (0.05, 0.04))
    if readable:
        assert cache.get(key()) == OverlapTiming(0.05, 0.04)
    else:
        with pytest.raises(ConfigError, match="schema version 2, newer than 1"):
            cache.get(key())


def test_an_unwritable_cache_still_gives_a_choice(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    cache = OverlapCache(blocker / "cache" / DATABASE)
    timing, source = measured_overlap(key(), lambda: quiet(0.05, 0.04), cache)
    assert timing.overlap and source == "measured now, not stored"
    assert "not stored" in caplog.text


def test_a_read_only_database_still_gives_a_choice(cache, monkeypatch, caplog):
    cache.put(key(), OverlapTiming(0.05, 0.04))
    connect = sqlite3.connect

    def read_only(target, *args, **kwargs):
        connection = connect(target, *args, **kwargs)
        if not kwargs.get("uri"):  # writers only; the read-only reader stays as it is
            connection.execute("PRAGMA query_only = 1")
        return connection

    monkeypatch.setattr(calibration.sqlite3, "connect", read_only)
    timing, source = measured_overlap(key(16), lambda: quiet(0.1, 0.2), cache)
    assert not timing.overlap and source == "measured now, not stored"
    assert "not stored" in caplog.text
    assert cache.get(key()) == OverlapTiming(0.05, 0.04)  # what was there is still read


def test_an_unsearchable_cache_path_is_a_warning(cache, monkeypatch, caplog):
    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(calibration.Path, "is_file", denied)
    assert cache.get(key()) is None
    assert "not readable" in caplog.text


def run_key(config, threads: int = 2) -> OverlapKey:
    return OverlapKey.for_run(config, threads)


@pytest.mark.parametrize("overlapped_s", [0.02, 0.08])
def test_auto_follows_the_stored_measurement(
    overlapped_s, cache, tiny_config, tiny_experiment, tmp_path, two_threads
):
    config = tiny_config.updated(landmark_overlap="auto", landmark_warmup_epochs=0.0)
    stored = OverlapTiming(0.05, overlapped_s)
    cache.put(run_key(config), stored)
    trainer = SPOSTrainer(tiny_experiment, config, tmp_path / "run")
    assert trainer.thread_group is None and trainer.overlap_timing is None  # not yet
    assert execution(trainer)["landmark_overlap"] is None  # undecided, not "no overlap"
    trainer.train_step(0)  # the first regularized step decides
    assert (trainer.thread_group is not None) is stored.overlap
    record = execution(trainer)
    assert record["overlap_ms_per_step"] == {"sequential": 50.0, "overlapped": 1000 * overlapped_s}
    assert record["landmark_overlap"] is stored.overlap
    assert record["overlap_source"].startswith("measured earlier")
    if trainer.thread_group is not None:
        trainer.thread_group.close()


def test_building_a_trainer_never_measures(
    cache, tiny_config, tiny_experiment, tmp_path, two_threads
):
    # score and search build a trainer for a saved super-net and never train it
    trainer = SPOSTrainer(tiny_experiment, tiny_config, tmp_path / "run")
    trainer.score(trainer.experiment.ranking_archs[:2])
    assert trainer.overlap_timing is None and not cache.path.exists()
    assert trainer.train_step(0)["penalty"] == 0.0  # warm-up: not regularized, no measuring
    assert not cache.path.exists()


def test_measuring_leaves_the_run_as_it_was(
    cache, tiny_config, tiny_experiment, tmp_path, two_threads, monkeypatch
):
    """A run that measures trains exactly like one told the answer in advance."""
    config = tiny_config.updated(landmark_overlap="auto", landmark_warmup_epochs=0.0)
    grouped = []
    run = ThreadGroup.run
    monkeypatch.setattr(ThreadGroup, "run", lambda self, fs: grouped.append(1) or run(self, fs))
    measuring = SPOSTrainer(tiny_experiment, config, tmp_path / "a")
    monkeypatch.setattr(calibration, "MIN_BUSY", 0.0)  # store even on the test machine's load
    measuring.resolve_overlap()
    after_measuring = torch.rand(3)
    assert grouped, "the overlapped variant never ran on two threads"
    assert all(p.grad is None for p in measuring.model.parameters())  # a copy was timed
    timing = measuring.overlap_timing
    assert timing is not None and timing.sequential_s > 0 and timing.overlapped_s > 0
    assert cache.get(run_key(config)) == timing
    told = SPOSTrainer(
        tiny_experiment,
        config.updated(landmark_overlap="on" if timing.overlap else "off"),
        tmp_path / "b",
    )
    assert torch.equal(after_measuring, torch.rand(3))  # same global random state
    for trainer in (measuring, told):
        for step in range(3):
            trainer.train_step(step)
        if trainer.thread_group is not None:
            trainer.thread_group.close()
    for (name, value), other in zip(
        measuring.model.state_dict().items(), told.model.state_dict().values(), strict=True
    ):
        assert torch.equal(value, other), name


def test_a_resumed_run_keeps_its_choice(cache, tiny_config, tiny_experiment, tmp_path, two_threads):
    config = tiny_config.updated(landmark_overlap="auto", landmark_warmup_epochs=0.0)
    cache.put(run_key(config), OverlapTiming(0.05, 0.02))  # overlap
    first = SPOSTrainer(tiny_experiment, config, tmp_path / "run")
    first.run_dir.mkdir(parents=True)
    first.train_step(0)
    first.step = 1
    first.save_checkpoint()
    first.thread_group.close()
    cache.path.unlink()
    cache.put(run_key(config), OverlapTiming(0.05, 0.08))  # the cache now says otherwise
    resumed = SPOSTrainer(tiny_experiment, config, tmp_path / "run")
    assert resumed.try_resume()
    assert resumed.thread_group is not None  # as before the interruption
    assert resumed.overlap_timing == OverlapTiming(0.05, 0.02)
    assert execution(resumed)["overlap_source"] == "the choice before the run was interrupted"
    resumed.thread_group.close()
    fresh = SPOSTrainer(tiny_experiment, config, tmp_path / "other")
    fresh.resolve_overlap()
    assert fresh.thread_group is None  # a new run follows the cache


@pytest.mark.parametrize("change", [{"bn_mode": "recalibrate"}, {"use_landmarks": False}])
def test_runs_that_cannot_overlap_never_measure(
    change, cache, tiny_config, tiny_experiment, tmp_path, two_threads
):
    config = tiny_config.updated(landmark_overlap="auto", landmark_warmup_epochs=0.0, **change)
    trainer = SPOSTrainer(tiny_experiment, config, tmp_path / "run")
    trainer.train_step(0)
    assert trainer.thread_group is None and trainer.overlap_timing is None
    assert not cache.path.exists()


def test_one_thread_never_measures(cache, tiny_config, tiny_experiment, tmp_path):
    config = tiny_config.updated(landmark_overlap="auto", landmark_warmup_epochs=0.0)
    trainer = SPOSTrainer(tiny_experiment, config, tmp_path / "run")
    trainer.train_step(0)
    assert trainer.thread_group is None and trainer.overlap_timing is None
    assert not cache.path.exists()


def test_a_runs_config_file_records_the_choice_made(
    cache, tiny_config, tiny_experiment, tmp_path, two_threads
):
    import json

    from landmark_nas.runs import run_one

    config = tiny_config.updated(landmark_overlap="auto", landmark_warmup_epochs=0.0)
    cache.put(run_key(config), OverlapTiming(0.05, 0.08))  # measured earlier: no overlap
    summary = run_one(tiny_experiment, config, tmp_path / "run", "landmarks", search=False)
    written = json.loads((tmp_path / "run" / "config.json").read_text())["execution"]
    assert written == summary["execution"]
    assert written["landmark_overlap"] is False
    assert written["overlap_ms_per_step"] == {"sequential": 50.0, "overlapped": 80.0}
    assert written["overlap_source"].startswith("measured earlier")
