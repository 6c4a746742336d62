"""A minimal progress-reporting contract; the CLI plugs in progress bars."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def update(self, count: int = 1) -> None: ...
    def set_postfix_str(self, text: str) -> None: ...
    def close(self) -> None: ...


class SilentProgress:
    """Reports nothing; the default for library use."""

    def update(self, count: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def silent(description: str, total: int, initial: int = 0) -> Progress:
    return SilentProgress()
