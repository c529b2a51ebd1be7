"""Seeding of every random number generator a run uses."""

from __future__ import annotations

import random


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every CUDA device) with ``seed``.

    Called at the start of a run and before each training, so adapter initialisation (which happens
    before the trainer seeds itself) depends only on the config's seed, whatever ran before in the process.
    """
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # seeds every CUDA device too
