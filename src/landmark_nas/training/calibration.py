"""``landmark_overlap: auto``: measure once per machine whether overlapping pays off.

Whether the landmark passes should run alongside the training pass depends on how
much a second intra-op thread speeds up one pass, and that depends on the CPU: at
C=8, N=1 overlapping made an epoch with the default regularizer 1.14x a plain one
instead of 1.34x on one two-core Intel Xeon, and 1.54x instead of 1.36x on a two-core
AMD EPYC (``docs/performance.md``). A fixed rule is wrong on one of them, so ``auto``
times a few regularized steps both ways on the run's own super-net and batches, and
overlaps only if that is at least ``MARGIN`` faster.

The answer is stored in a SQLite database in the cache folder (``$LANDMARK_NAS_CACHE``,
default ``~/.cache/landmark-nas``), keyed by everything the timing depends on: CPU
model, torch version, thread count, search space, C, N, both batch sizes, landmark
pairs per step and ``channels_last``. Later runs with the same key reuse it without
measuring, so runs on one machine keep making the same choice, and the same seed keeps
giving the same result (the choice changes the rounding, see ``training.overlap``).
Processes measure one at a time (a lock file beside the database), so runs started
together do not time each other. A measurement taken while other work shared the cores
(below ``MIN_BUSY`` of its threads' CPU time; not checked with ``OMP_WAIT_POLICY=passive``,
whose sleeping threads look the same alone) is used but not stored, and a cache that
cannot be read or written only warns.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from landmark_nas.errors import ConfigError

try:  # an exclusive lock so that processes on one machine measure one at a time
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS: no lock
    fcntl = None

logger = logging.getLogger(__name__)

CACHE_ENV = "LANDMARK_NAS_CACHE"
DATABASE = "calibration.sqlite"
SCHEMA_VERSION = 1
COLUMNS = ("key", "sequential_s", "overlapped_s", "measured_at")
MARGIN = 0.03  # overlap must save at least 3 % of a step to be chosen
MIN_BUSY = 0.75  # below this share of its threads' CPU time the machine was shared
WARMUP_STEPS = 2  # per variant, untimed
BLOCK_STEPS = 4  # steps per timed block
ROUNDS = 5  # timed blocks per variant, taking turns


def cache_dir() -> Path:
    """The folder for per-machine measurements."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "landmark-nas"


def omp_wait_policy() -> str:
    """``$OMP_WAIT_POLICY``, lower case (empty when unset)."""
    return os.environ.get("OMP_WAIT_POLICY", "").strip().lower()


def cpu_name() -> str:
    """The CPU model, as the operating system names it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


@dataclass(frozen=True)
class OverlapKey:
    """Everything the timing of one regularized step depends on."""

    search_space: str
    channels: int
    cells_per_stage: int
    batch_size: int
    landmark_batch: int
    landmark_pairs: int
    channels_last: bool
    threads: int
    cpu: str
    torch_version: str
    omp_wait_policy: str  # PASSIVE threads sleep between ops: a different machine, in effect

    @classmethod
    def for_run(cls, config, threads: int) -> OverlapKey:
        """The key of a run with ``config`` (a ``RunConfig``) on ``threads`` threads."""
        return cls(
            config.search_space,
            config.channels,
            config.cells_per_stage,
            config.batch_size,
            config.landmark_batch(),
            config.landmark_pairs,
            bool(config.channels_last),
            threads,
            cpu_name(),
            torch.__version__,
            omp_wait_policy(),
        )

    def text(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class OverlapTiming:
    """Median seconds per regularized step, one after the other and overlapped."""

    sequential_s: float
    overlapped_s: float

    @property
    def overlap(self) -> bool:
        return self.overlapped_s < (1.0 - MARGIN) * self.sequential_s

    def describe(self) -> str:
        choice = "overlap" if self.overlap else "no overlap"
        return (
            f"{1000 * self.sequential_s:.1f} ms per step one after the other, "
            f"{1000 * self.overlapped_s:.1f} ms overlapped: {choice}"
        )


@dataclass(frozen=True)
class Measurement:
    """A timing and how busy this process kept its threads while taking it."""

    timing: OverlapTiming
    busy: float  # median over blocks of CPU time / (wall time x threads)

    @property
    def contended(self) -> bool:
        # Sleeping OpenMP threads (OMP_WAIT_POLICY=passive) use less CPU time than they
        # hold, alone or not: there the check cannot tell, and is off.
        return self.busy < MIN_BUSY and omp_wait_policy() != "passive"


def time_both(
    sequential_step: Callable[[int], None],
    overlapped_step: Callable[[int], None],
    threads: int,
    warmup: int = WARMUP_STEPS,
    block: int = BLOCK_STEPS,
    rounds: int = ROUNDS,
) -> Measurement:
    """Median time per step of each, in blocks that take turns (same machine load).

    Each callable takes a step index; both get the same indices. ``threads`` is the
    number of intra-op threads the steps use: the process's CPU time against wall time
    times ``threads`` says whether other work shared the cores meanwhile (OpenMP threads
    keep spinning between ops, so an unshared machine gives close to 1).
    """
    steps = {"sequential": sequential_step, "overlapped": overlapped_step}
    for index in range(warmup):
        for step in steps.values():
            step(index)
    seconds: dict[str, list[float]] = {name: [] for name in steps}
    busy: list[float] = []
    order = list(steps)
    for round_ in range(rounds):
        for name in order if round_ % 2 == 0 else order[::-1]:
            started, cpu = time.perf_counter(), time.process_time()
            for index in range(warmup + round_ * block, warmup + (round_ + 1) * block):
                steps[name](index)
            wall = time.perf_counter() - started
            seconds[name].append(wall / block)
            busy.append((time.process_time() - cpu) / (wall * threads))
    timing = OverlapTiming(
        statistics.median(seconds["sequential"]), statistics.median(seconds["overlapped"])
    )
    return Measurement(timing, statistics.median(busy))


class OverlapCache:
    """Stored overlap measurements (SQLite), one row per :class:`OverlapKey`.

    Reading a database that is not ours is an error (one line, naming the file); a
    folder or file that cannot be written only means the measurement is not kept.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else cache_dir() / DATABASE

    def _not_ours(self, why: str) -> ConfigError:
        return ConfigError(
            f"{self.path}: not a landmark-nas calibration database ({why}); delete it to "
            "measure again, or set landmark_overlap to on or off"
        )

    def _check_schema(self, connection: sqlite3.Connection) -> None:
        columns = tuple(row[1] for row in connection.execute("PRAGMA table_info(overlap)"))
        if columns and sorted(columns) != sorted(COLUMNS):
            raise self._not_ours(f"table overlap has columns {', '.join(columns)}")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if columns and version > SCHEMA_VERSION:  # 0: written before versions, same columns
            raise self._not_ours(f"schema version {version}, newer than {SCHEMA_VERSION}")

    def get(self, key: OverlapKey) -> OverlapTiming | None:
        """The stored timing for ``key``; ``None`` if there is none or no readable file."""
        try:
            if not self.path.is_file():
                return None
            uri = f"{self.path.absolute().as_uri()}?mode=ro"  # as_uri escapes ?, # and %
            connection = sqlite3.connect(uri, uri=True, timeout=30.0)
        except (OSError, sqlite3.OperationalError) as error:
            logger.warning("calibration database %s not readable: %s", self.path, error)
            return None
        try:
            self._check_schema(connection)
            row = connection.execute(
                "SELECT sequential_s, overlapped_s FROM overlap WHERE key = ?", (key.text(),)
            ).fetchone()
        except sqlite3.OperationalError as error:
            text = str(error)
            if "no such table" in text:
                return None
            if "unable to open" in text or "locked" in text:  # the file, not its content
                logger.warning("calibration database %s not readable: %s", self.path, text)
                return None
            raise self._not_ours(text) from None
        except sqlite3.DatabaseError as error:
            raise self._not_ours(str(error)) from None
        finally:
            connection.close()
        return None if row is None else OverlapTiming(float(row[0]), float(row[1]))

    def put(self, key: OverlapKey, timing: OverlapTiming) -> OverlapTiming:
        """Store ``timing`` unless ``key`` already has one; returns the stored one.

        Raises ``OSError`` where the folder or file cannot be written.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(self.path, timeout=30.0)
            try:
                with connection:
                    self._check_schema(connection)
                    connection.execute(
                        "CREATE TABLE IF NOT EXISTS overlap (key TEXT PRIMARY KEY, "
                        "sequential_s REAL NOT NULL, overlapped_s REAL NOT NULL, "
                        "measured_at TEXT NOT NULL)"
                    )
                    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    connection.execute(
                        "INSERT OR IGNORE INTO overlap (key, sequential_s, overlapped_s, "
                        "measured_at) VALUES (?, ?, ?, ?)",
                        (
                            key.text(),
                            timing.sequential_s,
                            timing.overlapped_s,
                            datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        ),
                    )
            finally:
                connection.close()
        except sqlite3.OperationalError as error:  # cannot open or write: not fatal
            raise OSError(str(error)) from None
        except sqlite3.DatabaseError as error:
            raise self._not_ours(str(error)) from None
        stored = self.get(key)
        return timing if stored is None else stored

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive across processes (a lock file beside the database), where possible."""
        handle = None
        if fcntl is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(self.path.with_name(self.path.name + ".lock"), "a")  # noqa: SIM115
                fcntl.flock(handle, fcntl.LOCK_EX)
            except OSError:
                if handle is not None:
                    handle.close()
                handle = None  # an unwritable folder: measure without the lock
        try:
            yield
        finally:
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()


def measured_overlap(
    key: OverlapKey,
    measure: Callable[[], Measurement],
    cache: OverlapCache | None = None,
) -> tuple[OverlapTiming, str]:
    """The stored timing for ``key``, or a new measurement, stored if it can be trusted.

    Processes measure one at a time (a lock), so two runs started together do not time
    each other: the second reads what the first stored. A measurement taken while other
    work shared the cores is used for this run only, not stored. A cache that cannot be
    written is not fatal either. Returns the timing and where it came from, for the log.
    """
    cache = cache if cache is not None else OverlapCache()
    stored = cache.get(key)
    if stored is not None:
        return stored, f"measured earlier, stored in {cache.path}"
    with cache.lock():
        stored = cache.get(key)  # another process may have measured while we waited
        if stored is not None:
            return stored, f"measured by another process, stored in {cache.path}"
        measurement = measure()
        if measurement.contended:
            logger.warning(
                "overlap measurement not stored: this process got %.0f %% of its threads' "
                "CPU time (other work on the cores); the next run measures again",
                100 * measurement.busy,
            )
            return measurement.timing, "measured now on a busy machine, not stored"
        try:
            timing = cache.put(key, measurement.timing)
        except OSError as error:
            logger.warning("overlap measurement not stored in %s: %s", cache.path, error)
            return measurement.timing, "measured now, not stored"
        return timing, f"measured now, stored in {cache.path}"
