"""The two in-memory indexes behind hybrid retrieval, exact dense search and BM25, and their fusion."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant.dense import DenseIndex
from assistant.documents import Chunk
from assistant.lexical import LexicalIndex
from assistant.retrieval import FUSION, Candidates, RetrievalConfig, fuse
from evaluation.dataset import EvalCase
from evaluation.fit_fusion import Searched, best_weight, cross_validated, figures

REPO = Path(__file__).resolve().parents[1]


def unit_vectors(count: int, dimensions: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(count, dimensions)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return {f"c{n:04d}": row for n, row in enumerate(rows)}


def chunk(chunk_id: str, text: str) -> Chunk:
    return Chunk(chunk_id=chunk_id, source_id="doc.txt", text=text, title="", format="text", ordinal=0)


@pytest.mark.unit
def test_dense_search_is_exact_and_repeatable() -> None:
    vectors = unit_vectors(3000)
    index = DenseIndex()
    index.add(vectors)
    query = next(iter(unit_vectors(1, seed=7).values()))

    found = index.search(query, 25)

    ids = list(vectors)
    scores = np.stack(list(vectors.values())) @ query
    expected = [ids[i] for i in np.argsort(-scores)[:25]]
    assert [cid for cid, _ in found] == expected
    assert [s for _, s in found] == pytest.approx(sorted(scores, reverse=True)[:25], abs=1e-6)
    again = DenseIndex()
    again.add(vectors)
    assert again.search(query, 25) == found


@pytest.mark.unit
def test_dense_index_follows_adds_removes_and_filters() -> None:
    vectors = unit_vectors(2000)
    index = DenseIndex()
    index.add(vectors)
    query = vectors["c0005"]
    assert index.search(query, 1)[0][0] == "c0005"

    index.remove([f"c{n:04d}" for n in range(1500)])  # compacts: more than a third removed
    assert len(index) == 500
    assert index.search(query, 1)[0][0] != "c0005"
    assert index.similarity(query, ["c0005", "c1999"]).keys() == {"c1999"}

    index.add({"c0005": vectors["c0005"]})
    assert index.search(query, 1) == [("c0005", pytest.approx(1.0))]
    allowed = {"c1600", "c1700"}
    assert {cid for cid, _ in index.search(query, 10, allowed)} == allowed
    assert index.search(query, 10, {"gone"}) == []
    index.add({"c1600": -vectors["c0005"]})  # replaced, not duplicated
    assert len(index) == 501 and index.similarity(query, ["c1600"])["c1600"] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="dimensions"):
        index.add({"wide": np.ones(32, dtype=np.float32)})


@pytest.mark.unit
def test_bm25_finds_codes_and_forgets_removed_chunks() -> None:
    index = LexicalIndex()
    index.add([
        chunk("a", "Instruction IN/285 sets out the evaluation policy."),
        chunk("b", "The WBCAP project was funded by Denmark."),
        chunk("c", "Evaluations follow the policy of the organization."),
    ])  # fmt: skip
    assert index.search("What does IN/285 say?", 3)[0][0].chunk_id == "a"
    assert [c.chunk_id for c, _ in index.search("who funded WBCAP", 3)] == ["b"]
    index.remove(["b"])
    assert index.search("who funded WBCAP", 3) == []
    assert [c.chunk_id for c, _ in index.search("evaluation policy", 3, allowed={"c"})] == ["c"]


@pytest.mark.unit
def test_bm25_reads_a_possessive_or_a_french_elision_as_the_word_itself() -> None:
    index = LexicalIndex()
    index.add([
        chunk("a", "IOM Ethiopia’s complaints and feedback overview for January–June 2023."),
        chunk("b", "Le rapport de l'Initiative conjointe sur la Corne de l'Afrique."),
        chunk("c", "Complaints received by the Türkiye office."),
    ])  # fmt: skip
    assert index.search("complaints in Ethiopia", 3)[0][0].chunk_id == "a"
    assert index.search("Quel rapport sur l’Afrique ?", 3)[0][0].chunk_id == "b"
    assert index.search("initiative", 3)[0][0].chunk_id == "b"


@pytest.mark.unit
def test_bm25_scores_for_a_reader_are_those_of_an_index_without_the_documents_hidden_from_them() -> None:
    """A hidden document's words and length would shift every score (and, with BM25 weighing most
    in the fusion, the order): a reader from whom it is hidden gets an index without it."""
    public = [
        chunk("a", "The evaluation policy of the organization sets out the evaluation rules."),
        chunk("b", "The policy on staff rotation applies to caseworkers in every office."),
    ]
    secret = "Staff rotation: the rotation programme moved 37 caseworkers."
    both, alone = LexicalIndex(), LexicalIndex()
    both.add([public[0], Chunk("h", "hr.txt", secret, "", "text", 0), public[1]])
    alone.add(public)
    query = "How did staff rotation policy apply to caseworkers?"

    def scored(found: list[tuple[Chunk, float]]) -> list[tuple[str, float]]:
        return [(c.chunk_id, score) for c, score in found]

    expected = scored(alone.search(query, 3))
    assert scored(both.search(query, 3, {"a", "b"}, both.seen_without({"hr.txt"}))) == expected
    assert scored(both.search(query, 3, {"a", "b"})) != expected, "all chunks' statistics differ"


@pytest.mark.unit
def test_rank_fusion_weighs_the_bm25_list_by_its_fitted_weight() -> None:
    dense, lexical = ["d1", "both"], ["l1", "both"]
    assert fuse(dense, lexical, RetrievalConfig(lexical_weight=1.0)) == ["both", "d1", "l1"]
    assert fuse(dense, lexical, RetrievalConfig(lexical_weight=5.0)) == ["both", "l1", "d1"]
    shipped = json.loads((REPO / "assistant" / FUSION).read_text(encoding="utf-8"))
    assert RetrievalConfig().lexical_weight == shipped["lexical_weight"]


@pytest.mark.unit
def test_the_fusion_weight_is_the_one_that_ranks_the_evidence_first() -> None:
    """Where the BM25 list holds the line that answers and the dense list a lookalike of another
    document, the fit chooses a weight that puts the BM25 line first, and says so cross-validated."""
    rows = []
    for n in range(10):
        answer = Chunk(f"a{n}", "gold.txt", f"The budget was {n}00 USD.", "", "text", 0)
        other = Chunk(f"o{n}", "other.txt", "A budget line of another project.", "", "text", 0)
        case = EvalCase(f"q{n}", "What was the budget?", True, None, ((f"{n}00 USD",),), ("gold.txt",))
        rows.append(Searched(case, Candidates([f"o{n}"], [f"a{n}"], {f"a{n}": answer, f"o{n}": other}, {})))
    config = RetrievalConfig()
    assert best_weight(rows, config) == 1.5  # the smallest weight that ranks the answer first
    assert figures(rows, replace(config, lexical_weight=1.0)) == {"hit@1": 0.0, "evidence_recall@5": 1.0}
    held_out = cross_validated(rows, config)
    assert held_out["fitted_weight"] == {"hit@1": 1.0, "evidence_recall@5": 1.0}
