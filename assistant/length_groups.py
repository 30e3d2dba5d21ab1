"""Texts grouped by length for encoding, so a short sentence is not padded to a long one's length.

An encoder reads a batch as one matrix as wide as its longest text: the dozen sentences an answer
embeds (4 to 90 word pieces) cost about twice their own word pieces in one batch. One text per
batch pads nothing but pays each forward pass's fixed cost a dozen times. `length_groups` splits
the texts, longest first, into the runs that cost least in all: each run's texts times its
longest text, plus `run_cost` per run. On the development set's answers this cut the reader's
embedding CPU by about a third (bench/answer_cpu.py); a text's vector differs only in float
rounding (1e-7) from the one a single batch gives.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# What one more forward pass costs, in padded word pieces. Measured on all-MiniLM-L6-v2 on one
# thread: anything from 10 to 80 gave the same CPU within 2%.
RUN_COST = 16


def length_groups(lengths: Sequence[int], run_cost: int = RUN_COST) -> list[list[int]]:
    """The positions of the texts of each group, longest texts first: the split of the texts,
    sorted by length, into runs with the least padded length plus `run_cost` per run (dynamic
    programming over the sorted order; quadratic, meant for the few texts of one answer)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    best = [0] + [0] * len(order)  # best[j]: the least cost of the first j texts
    start = [0] * (len(order) + 1)  # where the last run of that split starts
    for j in range(1, len(order) + 1):
        costs = [(best[i] + run_cost + (j - i) * lengths[order[i]], i) for i in range(j)]
        best[j], start[j] = min(costs)
    groups: list[list[int]] = []
    end = len(order)
    while end:
        groups.append(order[start[end] : end])
        end = start[end]
    return groups[::-1]


def in_text_order(groups: Sequence[Sequence[int]], vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The vectors of texts encoded group by group (`vectors[g]` are the rows of `groups[g]`'s
    texts), back in the texts' own order."""
    ordered = np.empty((sum(len(g) for g in groups), vectors[0].shape[1]), np.float32)
    for group, rows in zip(groups, vectors, strict=True):
        ordered[list(group)] = rows
    return ordered
