"""Dense search by Chroma's own HNSW index (`DENSE_VECTORS=engine`) against exact search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import engine_search
from assistant.dense import DenseIndex, make_dense_index
from assistant.documents import Chunk
from assistant.embedder import HashEmbedder
from assistant.engine_search import EngineSearch
from assistant.errors import ConfigurationError
from assistant.index import Index
from assistant.manifest import Manifest
from assistant.retrieval import Retriever
from assistant.service import AssistantService
from assistant.settings import load_settings
from assistant.store import ChromaStore

DIMENSIONS = 32


def stored(tmp_path: Path, count: int) -> tuple[ChromaStore, DenseIndex, dict[str, np.ndarray]]:
    """`count` random unit vectors in a real embedded Chroma, and the same in an exact index."""
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(count, DIMENSIONS)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    chunks = [
        Chunk(
            chunk_id=f"c{n:04d}",
            source_id=f"doc{n % 10}.txt",
            text=f"text {n}",
            title="",
            format="text",
            ordinal=n,
        )
        for n in range(count)
    ]
    store = ChromaStore(  # as DENSE_VECTORS=engine creates it
        path=tmp_path / "chroma", collection="engine_test", embedding_model="hash-32", ef_search=200
    )
    store.upsert(chunks, rows)
    vectors = {c.chunk_id: row for c, row in zip(chunks, rows, strict=True)}
    exact = DenseIndex()
    exact.add(vectors)
    return store, exact, vectors


def queries(count: int) -> np.ndarray:
    rows = np.random.default_rng(11).normal(size=(count, DIMENSIONS)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.integration
def test_engine_search_finds_what_exact_search_finds(tmp_path: Path) -> None:
    store, exact, _ = stored(tmp_path, 1500)
    engine = EngineSearch(store, ef_search=200)

    for query in queries(20):
        found = engine.search(query, 10)
        expected = exact.search(query, 10)
        assert [cid for cid, _ in found] == [cid for cid, _ in expected]
        assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-4)
    assert store.search_space() == "cosine"
    hnsw = store._col().configuration["hnsw"]
    assert (hnsw["ef_search"], hnsw["max_neighbors"], hnsw["ef_construction"]) == (200, 32, 200)
    exact_store = ChromaStore(path=tmp_path / "exact", collection="exact_test", embedding_model="hash-32")
    exact_store.upsert([], np.zeros((0, DIMENSIONS), dtype=np.float32))
    assert exact_store._col().configuration["hnsw"]["max_neighbors"] == 16, "searched exactly: Chroma's graph"
    some = ["c0001", "c0002", "gone"]
    assert engine.similarity(queries(1)[0], some) == pytest.approx(exact.similarity(queries(1)[0], some))
    assert len(engine) == 1500
    engine.remove(["c0001"])  # Chroma is the store of record: nothing changes here
    assert len(engine) == 1500


@pytest.mark.integration
def test_engine_search_keeps_to_the_allowed_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, exact, vectors = stored(tmp_path, 1500)
    engine = EngineSearch(store, ef_search=200)
    query = queries(1)[0]
    few = {f"c{n:04d}" for n in range(0, 1500, 50)}  # sent to Chroma as ids
    many = {cid for n, cid in enumerate(vectors) if n % 10 in (2, 5)}  # one in five: searched wider

    assert [c for c, _ in engine.search(query, 10, few)] == [c for c, _ in exact.search(query, 10, few)]
    monkeypatch.setattr(engine_search, "ID_FILTER_LIMIT", 100)
    found = engine.search(query, 10, many)
    assert {c for c, _ in found} <= many
    assert [c for c, _ in found] == [c for c, _ in exact.search(query, 10, many)]
    rare = {"c0007"}  # too rare for the first wider search: it widens until found
    monkeypatch.setattr(engine_search, "ID_FILTER_LIMIT", 0)
    assert [c for c, _ in engine.search(query, 10, rare)] == ["c0007"]
    assert engine.search(query, 10, set()) == []


@pytest.mark.unit
def test_the_setting_picks_the_dense_search(tmp_path: Path) -> None:
    store = ChromaStore(  # as DENSE_VECTORS=engine creates it
        path=tmp_path / "chroma", collection="engine_test", embedding_model="hash-32", ef_search=200
    )

    assert isinstance(make_dense_index(load_settings(), store), DenseIndex)
    engine = make_dense_index(load_settings(dense_vectors="engine", engine_ef_search=300), store)
    assert isinstance(engine, EngineSearch)
    assert engine.ef_search == 300
    engine_settings = load_settings(dense_vectors="engine", engine_ef_search=300)
    assert Index.from_settings(engine_settings).store.ef_search == 300  # at creation
    assert Index.from_settings(load_settings()).store.ef_search is None, "searched exactly: Chroma's graph"
    settings = load_settings(
        index_dir=tmp_path / "index", embedding_model="hash-32", dense_vectors="engine", cross_lingual=False
    )
    assert isinstance(AssistantService(settings).retriever.dense, EngineSearch)
    with pytest.raises(ConfigurationError, match="IOM_ASSISTANT_DENSE_VECTORS"):
        load_settings(dense_vectors="approximate")


@pytest.mark.integration
def test_retrieval_with_engine_search_reads_no_vectors(tmp_path: Path) -> None:
    embedder = HashEmbedder(dim=DIMENSIONS)
    store = ChromaStore(path=tmp_path / "chroma", collection="engine_test", embedding_model=embedder.name)
    texts = ["The WBCAP project was funded by Denmark.", "Heads of Border Police met in Budva in June 2022."]
    chunks = [
        Chunk(chunk_id=f"c{n}", source_id=f"d{n}.txt", text=t, title="", format="text", ordinal=0)
        for n, t in enumerate(texts)
    ]
    store.upsert(chunks, embedder.embed(texts))
    index = Index(embedder=embedder, store=store, manifest=Manifest(tmp_path / "manifest.sqlite3"))
    retriever = Retriever(index, dense=EngineSearch(store, ef_search=100))

    passages, _ = retriever.retrieve("Where did the Heads of Border Police meet?", k=1)

    assert passages[0].chunk.chunk_id == "c1"
    assert passages[0].score > 0.3
