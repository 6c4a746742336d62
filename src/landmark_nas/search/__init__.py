"""Search strategies that pick an architecture using super-net scores."""

from landmark_nas.search import evolution  # noqa: F401  (registers "evolution")
from landmark_nas.search.evolution import SearchResult, evolutionary_search

__all__ = ["SearchResult", "evolutionary_search"]
