"""Search spaces: architecture encodings, enumeration and canonical forms."""

from landmark_nas.registry import SEARCH_SPACES
from landmark_nas.spaces import nb201  # noqa: F401  (registers "nb201")
from landmark_nas.spaces.base import SearchSpace


def create_search_space(name: str) -> SearchSpace:
    """The search space registered as ``name`` (e.g. ``"nb201"``)."""
    return SEARCH_SPACES.get(name)()


__all__ = ["SearchSpace", "create_search_space"]
