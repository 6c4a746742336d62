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
model, torch version, thread count, search space, C, N and both batch sizes. Later runs
with the same key reuse it without measuring, so runs on one machine keep making the
same choice, and the same seed keeps giving the same result (the choice changes the
rounding, see ``training.overlap``). The first process to store a key wins; a process
that measured at the same time uses the stored answer, not its own.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from landmark_nas.errors import ConfigError

logger = logging.getLogger(__name__)

CACHE_ENV = "LANDMARK_NAS_CACHE"
DATABASE = "calibration.sqlite"
MARGIN = 0.03  # overlap must save at least 3 % of a step to be chosen
WARMUP_STEPS = 2  # per variant, untimed
BLOCK_STEPS = 3  # steps per timed block
ROUNDS = 3  # timed blocks per variant, taking turns


def cache_dir() -> Path:
    """The folder for per-machine measurements."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "landmark-nas"


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
    threads: int
    cpu: str
    torch_version: str

    @classmethod
    def for_run(
        cls,
        search_space: str,
        channels: int,
        cells_per_stage: int,
        batch_size: int,
        landmark_batch: int,
        threads: int,
    ) -> OverlapKey:
        return cls(
            search_space,
            channels,
            cells_per_stage,
            batch_size,
            landmark_batch,
            threads,
            cpu_name(),
            torch.__version__,
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


def time_both(
    sequential_step: Callable[[int], None],
    overlapped_step: Callable[[int], None],
    warmup: int = WARMUP_STEPS,
    block: int = BLOCK_STEPS,
    rounds: int = ROUNDS,
) -> OverlapTiming:
    """Median time per step of each, in blocks that take turns (same machine load).

    Each callable takes a step index; both get the same indices.
    """
    steps = {"sequential": sequential_step, "overlapped": overlapped_step}
    for index in range(warmup):
        for step in steps.values():
            step(index)
    seconds: dict[str, list[float]] = {name: [] for name in steps}
    order = list(steps)
    for round_ in range(rounds):
        for name in order if round_ % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            for index in range(warmup + round_ * block, warmup + (round_ + 1) * block):
                steps[name](index)
            seconds[name].append((time.perf_counter() - started) / block)
    return OverlapTiming(
        statistics.median(seconds["sequential"]), statistics.median(seconds["overlapped"])
    )


class OverlapCache:
    """Stored overlap measurements (SQLite), one row per :class:`OverlapKey`."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else cache_dir() / DATABASE

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30.0)
        try:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS overlap ("
                "key TEXT PRIMARY KEY, sequential_s REAL NOT NULL, "
                "overlapped_s REAL NOT NULL, measured_at TEXT NOT NULL)"
            )
        except sqlite3.DatabaseError:
            connection.close()
            raise
        return connection

    def _fail(self, error: sqlite3.Error) -> ConfigError:
        return ConfigError(
            f"{self.path}: cannot use the calibration database ({error}); delete it to "
            "measure again, or set landmark_overlap to on or off"
        )

    def get(self, key: OverlapKey) -> OverlapTiming | None:
        if not self.path.exists():
            return None
        try:
            connection = self._connect()
            try:
                row = connection.execute(
                    "SELECT sequential_s, overlapped_s FROM overlap WHERE key = ?", (key.text(),)
                ).fetchone()
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise self._fail(error) from None
        return None if row is None else OverlapTiming(float(row[0]), float(row[1]))

    def put(self, key: OverlapKey, timing: OverlapTiming) -> OverlapTiming:
        """Store ``timing`` unless ``key`` already has one; returns the stored one."""
        try:
            connection = self._connect()
            try:
                with connection:
                    connection.execute(
                        "INSERT OR IGNORE INTO overlap VALUES (?, ?, ?, ?)",
                        (
                            key.text(),
                            timing.sequential_s,
                            timing.overlapped_s,
                            datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        ),
                    )
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise self._fail(error) from None
        stored = self.get(key)
        return timing if stored is None else stored


def measured_overlap(
    key: OverlapKey,
    measure: Callable[[], OverlapTiming],
    cache: OverlapCache | None = None,
) -> tuple[OverlapTiming, bool]:
    """The stored timing for ``key``, or ``measure()``'s, now stored.

    Returns the timing and whether it was measured by this call. A cache folder that
    cannot be written is not fatal: the measurement is used and a warning says so.
    """
    cache = cache if cache is not None else OverlapCache()
    stored = cache.get(key)
    if stored is not None:
        return stored, False
    timing = measure()
    try:
        timing = cache.put(key, timing)
    except OSError as error:
        logger.warning("overlap measurement not stored (%s): %s", cache.path, error)
    return timing, True
