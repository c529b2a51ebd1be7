"""One seeding function for runs and trainings."""

from __future__ import annotations

import random

import numpy as np
import torch

from ftagent.utils.seeding import seed_everything


def _draw():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_same_seed_same_draws_other_seed_other_draws():
    seed_everything(3)
    a = _draw()
    _draw()  # whatever ran in between
    seed_everything(3)
    assert _draw() == a
    seed_everything(4)
    assert _draw() != a
