"""The contract every search space fulfils."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np

Arch = tuple[int, ...]


class SearchSpace(ABC):
    """A finite set of architectures with a string format and a canonical form.

    Architectures are tuples of small integers (one choice per decision); the string
    form is what users type and what benchmark tables store.
    """

    name: str = ""

    @property
    @abstractmethod
    def size(self) -> int:
        """Number of architectures (strings), isomorphic ones counted separately."""

    @abstractmethod
    def parse(self, text: str) -> Arch:
        """The architecture written as ``text``; raises ArchitectureError if malformed."""

    @abstractmethod
    def format(self, arch: Arch) -> str:
        """The string form of ``arch``; ``parse(format(a)) == a``."""

    @abstractmethod
    def canonical(self, arch: Arch) -> str:
        """A key equal for architectures that compute the same function."""

    @abstractmethod
    def enumerate(self) -> Iterator[Arch]:
        """Every architecture of the space once."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Arch:
        """One architecture drawn uniformly at random."""

    @abstractmethod
    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """A neighbour of ``arch`` that differs in exactly one decision."""
