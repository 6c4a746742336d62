"""Weight-sharing super-nets: one network holding every architecture of a space."""

from __future__ import annotations

from landmark_nas.errors import ConfigError
from landmark_nas.supernet.nb201 import BN_MODES, NB201SuperNet


def create_supernet(
    space: str,
    channels: int,
    cells_per_stage: int,
    num_classes: int,
    bn_mode: str = "batch",
    channels_last: bool = True,
) -> NB201SuperNet:
    """The super-net of search space ``space``."""
    if space != "nb201":
        raise ConfigError(f"no super-net for search space {space!r} (available: nb201)")
    return NB201SuperNet(channels, cells_per_stage, num_classes, bn_mode, channels_last)


__all__ = ["BN_MODES", "NB201SuperNet", "create_supernet"]
