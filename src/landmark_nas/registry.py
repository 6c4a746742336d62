"""Name-to-factory registries for search spaces, benchmarks, datasets, samplers and losses.

Each family keeps one :class:`Registry`; a module adds itself with the ``register``
decorator, so a new search space or ground-truth table is a new file, not an edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from landmark_nas.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of factories (classes or functions) of one family."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that files ``obj`` under ``name``; a duplicate name is a bug."""

        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.family} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        """The entry called ``name``; an unknown name is a user error listing the choices."""
        try:
            return self._entries[name]
        except KeyError:
            choices = ", ".join(sorted(self._entries))
            raise ConfigError(f"unknown {self.family} {name!r} (choose from: {choices})") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


SEARCH_SPACES: Registry = Registry("search space")
BENCHMARKS: Registry = Registry("benchmark format")
DATASETS: Registry = Registry("dataset")
RANKING_LOSSES: Registry = Registry("ranking loss")
LAMBDA_SCHEDULES: Registry = Registry("lambda schedule")
SAMPLERS: Registry = Registry("sampler")
SEARCH_STRATEGIES: Registry = Registry("search strategy")
