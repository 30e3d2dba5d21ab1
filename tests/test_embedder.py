"""The answering service's embedder cache: a text recurring across questions is embedded once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from assistant.embedder import CachedEmbedder, HashEmbedder

pytestmark = pytest.mark.unit


class Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += list(texts)
        return super().embed(texts)


def test_a_recurring_text_is_embedded_once_and_gets_the_same_vector() -> None:
    inner = Counting()
    cached = CachedEmbedder(inner, capacity=10)
    first = cached.embed(["who funded it?", "Denmark funded it.", "who funded it?"])
    again = cached.embed(["Denmark funded it.", "The meeting was in Budva."])
    assert inner.embedded == ["who funded it?", "Denmark funded it.", "The meeting was in Budva."]
    assert np.array_equal(first, inner.embed(["who funded it?", "Denmark funded it.", "who funded it?"]))
    assert np.array_equal(again[0], first[1])
    assert cached.embed([]).shape[0] == 0


def test_the_least_recently_used_text_goes_first_when_full() -> None:
    inner = Counting()
    cached = CachedEmbedder(inner, capacity=2)
    cached.embed(["a b", "c d"])
    cached.embed(["a b"])  # used again: "c d" is now the oldest
    cached.embed(["e f"])
    inner.embedded.clear()
    cached.embed(["a b", "c d"])
    assert inner.embedded == ["c d"]
