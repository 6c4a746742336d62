"""Errors that the command line turns into a one-line message and a non-zero exit."""


class LandmarkNASError(Exception):
    """A user-facing error: bad input, a missing file, an impossible configuration."""


class ArchitectureError(LandmarkNASError):
    """An architecture string that does not parse or names an unknown op or node."""


class DataError(LandmarkNASError):
    """A dataset or benchmark file that is missing, truncated or malformed."""


class ConfigError(LandmarkNASError):
    """A configuration value that is out of range or inconsistent with another."""


class NonFiniteLossError(LandmarkNASError):
    """Training produced a NaN or infinite loss; the last checkpoint is kept."""
