"""Super-net training: architecture samplers, data streams and the SPOS loop."""

from landmark_nas.training.samplers import create_sampler
from landmark_nas.training.streams import LandmarkStream, TrainStream, step_rng

__all__ = ["LandmarkStream", "TrainStream", "create_sampler", "step_rng"]
