"""What a run records about the machine and software so it can be reproduced."""

from __future__ import annotations

import os
import platform
import sys

import numpy as np
import scipy
import torch

import landmark_nas


def versions() -> dict[str, str]:
    return {
        "landmark_nas": landmark_nas.__version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "cpu_count": str(os.cpu_count()),
        "torch_threads": str(torch.get_num_threads()),
    }


def thread_count(threads: int) -> int:
    """``threads``, or with 0 the number of cores this process may use."""
    return threads if threads > 0 else len(os.sched_getaffinity(0))


def set_threads(threads: int) -> None:
    """Use ``threads`` intra-op threads (0: one per available core)."""
    torch.set_num_threads(thread_count(threads))
