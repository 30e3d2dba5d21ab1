"""An answer's sentences are embedded in groups of like length: every text once, little padding,
the same vectors."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.length_groups import length_groups
from assistant.settings import EmbedderBackend


def padded(lengths: list[int], groups: list[list[int]]) -> int:
    return sum(len(g) * max(lengths[i] for i in g) for g in groups)


@pytest.mark.unit
def test_every_text_is_in_one_group_longest_first() -> None:
    lengths = [12, 90, 35, 14, 88, 40, 13]
    groups = length_groups(lengths, run_cost=16)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    flat = [lengths[i] for g in groups for i in g]
    assert flat == sorted(flat, reverse=True)


@pytest.mark.unit
def test_short_texts_are_not_padded_to_a_long_ones_length() -> None:
    lengths = [12, 90, 13, 88, 14]
    groups = length_groups(lengths, run_cost=16)
    assert groups == [[1, 3], [4, 2, 0]]
    assert padded(lengths, groups) < padded(lengths, [list(range(len(lengths)))])


@pytest.mark.unit
def test_a_costly_run_keeps_like_texts_together_and_none_is_one_group() -> None:
    assert length_groups([20, 21, 22], run_cost=100) == [[2, 1, 0]]
    assert length_groups([], run_cost=16) == []
    assert length_groups([7]) == [[0]]


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_the_real_embedder_gives_grouped_texts_their_own_vectors(backend: EmbedderBackend) -> None:
    from assistant.embedder import make_embedder
    from assistant.settings import DEFAULT_EMBEDDING_MODEL

    texts = [
        "Budget: EUR 64.7 million",
        "On June 14 and 15, 2022, IOM organized a regional meeting of the Heads of Border Police "
        "in the Western Balkans to discuss humanitarian border management and readmission.",
        "Evaluators: Laura Smith",
        "Since 2018, mixed migration flows have increased significantly in the Western Balkans.",
    ]
    embedder = make_embedder(DEFAULT_EMBEDDING_MODEL, backend=backend)
    alone = np.stack([embedder.embed([text])[0] for text in texts])
    assert np.allclose(embedder.embed(texts), alone, atol=1e-5)
