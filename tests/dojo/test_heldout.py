"""The held-out split rule: validation = first k, test = last k, k = min(100, n // 2)."""

from __future__ import annotations

import pytest

from ftagent.dojo.heldout import half_size, split_items


@pytest.mark.parametrize(("n", "k"), [(0, 0), (1, 0), (2, 1), (30, 15), (44, 22), (199, 99), (200, 100), (886, 100)])
def test_half_size(n, k):
    assert half_size(n) == k


def test_unshuffled_split_takes_ends():
    val, test = split_items(list(range(30)), None)
    assert val == list(range(15)) and test == list(range(15, 30))


def test_large_subset_leaves_middle_out():
    val, test = split_items(list(range(250)), None)
    assert val == list(range(100)) and test == list(range(150, 250))


def test_shuffled_split_is_pure_and_disjoint():
    items = [f"item{i}" for i in range(97)]
    a = split_items(items, 42)
    b = split_items(list(items), 42)
    assert a == b
    assert not set(a[0]) & set(a[1])
    assert len(a[0]) == len(a[1]) == 48
    assert items == [f"item{i}" for i in range(97)]  # input untouched
    assert split_items(items, 43) != a
