"""Registries look families up by name, in one place."""

from __future__ import annotations

import pytest

from landmark_nas.errors import ConfigError
from landmark_nas.registry import (
    BENCHMARKS,
    DATASETS,
    LAMBDA_SCHEDULES,
    RANKING_LOSSES,
    SAMPLERS,
    SEARCH_SPACES,
    SEARCH_STRATEGIES,
    Registry,
)


def test_unknown_names_are_config_errors_listing_the_choices():
    registry = Registry("widget")
    registry.register("b")(1)
    registry.register("a")(2)
    assert registry.get("a") == 2
    assert registry.names() == list(registry) == ["a", "b"]
    with pytest.raises(ConfigError, match=r"unknown widget 'c' \(choose from: a, b\)"):
        registry.get("c")


def test_a_name_registered_twice_is_a_bug():
    registry = Registry("widget")
    registry.register("a")(1)
    with pytest.raises(ValueError, match="twice"):
        registry.register("a")(2)


def test_the_package_registers_its_components():
    import landmark_nas.benchmarks  # noqa: F401
    import landmark_nas.data  # noqa: F401
    import landmark_nas.landmarks  # noqa: F401
    import landmark_nas.search  # noqa: F401
    import landmark_nas.spaces  # noqa: F401
    import landmark_nas.training  # noqa: F401

    assert SEARCH_SPACES.names() == ["nb201"]
    assert BENCHMARKS.names() == ["csv", "nats"]
    assert DATASETS.names() == ["cifar10"]
    assert RANKING_LOSSES.names() == ["hinge", "logistic", "softplus"]
    assert LAMBDA_SCHEDULES.names() == ["constant", "cosine", "linear"]
    assert SAMPLERS.names() == ["uniform"]
    assert SEARCH_STRATEGIES.names() == ["evolution"]
