"""The shared vector file (DENSE_VECTORS=shared): exact as DenseIndex, one file for every reader,
an append cut short never seen, and replicas that follow ingest without a restart."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.dense import DenseIndex, make_dense_index
from assistant.errors import ConfigurationError
from assistant.index import Index
from assistant.retrieval import Retriever
from assistant.settings import Settings, load_settings
from assistant.shared_vectors import FOLDER, SharedDenseIndex, VectorFile, read_header
from assistant.store import ChromaStore
from ingest.pipeline import IngestOptions, Ingestor
from tests.conftest import REPO
from tests.test_retrieval import unit_vectors

MODEL = "test-model"


def reader(folder: Path, vectors: dict[str, np.ndarray]) -> SharedDenseIndex:
    """A reader holding every chunk of `vectors`, as Retriever.sync makes it."""
    index = SharedDenseIndex(folder, MODEL, refresh_interval_s=0)
    index.add(index.needed(sorted(vectors)))
    return index


def ranked(found: list[tuple[str, float]]) -> tuple[list[str], list[float]]:
    return [cid for cid, _ in found], [score for _, score in found]


@pytest.mark.unit
def test_shared_search_equals_dense_index_search(tmp_path: Path) -> None:
    vectors = unit_vectors(3000)
    VectorFile(tmp_path, MODEL).write(vectors)
    shared, exact = reader(tmp_path, vectors), DenseIndex()
    exact.add({i: vectors[i] for i in sorted(vectors)})
    queries = list(unit_vectors(5, seed=9).values())
    allowed = {"c0001", "c0100", "c2000", "c2999", "nowhere"}

    def same() -> None:
        assert len(shared) == len(exact)
        for query in queries:
            ids, scores = ranked(shared.search(query, 25))
            want_ids, want_scores = ranked(exact.search(query, 25))
            assert ids == want_ids and scores == pytest.approx(want_scores, abs=1e-6)
            assert ranked(shared.search(query, 10, allowed))[0] == ranked(exact.search(query, 10, allowed))[0]
            assert shared.similarity(query, allowed) == pytest.approx(exact.similarity(query, allowed))

    same()
    gone = [f"c{n:04d}" for n in range(0, 3000, 2)]
    VectorFile(tmp_path, MODEL).write({}, removed=gone)  # a third dead or more: compacted
    assert read_header(tmp_path) is not None and read_header(tmp_path).epoch == 1  # type: ignore[union-attr]
    shared.remove(gone)
    exact.remove(gone)
    same()
    assert sorted(p.name for p in tmp_path.glob("rows-*")) == ["rows-1.f32"]

    extra = unit_vectors(10, seed=3)
    extra = {f"x{n}": v for n, v in enumerate(extra.values())}
    shared.add(extra)  # not in the file: held in memory
    exact.add(extra)
    same()
    with pytest.raises(ValueError, match="dimensions"):
        shared.add({"wide": np.ones(32, dtype=np.float32)})


@pytest.mark.unit
def test_two_processes_read_one_file(tmp_path: Path) -> None:
    vectors = unit_vectors(2000)
    VectorFile(tmp_path, MODEL).write(vectors)
    query = next(iter(unit_vectors(1, seed=5).values()))
    script = f"""
import json, sys
import numpy as np
from pathlib import Path
from assistant.store import ChromaStore
from assistant.shared_vectors import SharedDenseIndex
index = SharedDenseIndex(Path({str(tmp_path)!r}), {MODEL!r})
ids = [f"c{{n:04d}}" for n in range(2000)]
assert index.needed(ids) == []
found = index.search(np.array({query.tolist()!r}, dtype=np.float32), 10)
maps = [line for line in open("/proc/self/maps") if "rows-0.f32" in line]
print(json.dumps({{"found": found, "mapped": len(maps)}}))
"""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=REPO, env={"PYTHONPATH": str(REPO)}
        )
        for _ in range(2)
    ]
    try:
        here = reader(tmp_path, vectors).search(query, 10)
        outputs = [child.communicate(timeout=60)[0] for child in children]
    finally:
        for child in children:
            child.kill()
            child.communicate()
    for child, out in zip(children, outputs, strict=True):
        assert child.returncode == 0
        result = json.loads(out)
        assert result["mapped"] >= 1  # the file itself is mapped, not a copy of it
        assert [tuple(p) for p in result["found"]] == here


@pytest.mark.unit
def test_an_append_cut_short_is_never_seen(tmp_path: Path) -> None:
    vectors = unit_vectors(1000)
    first = dict(list(vectors.items())[:600])
    VectorFile(tmp_path, MODEL).write(first)
    header = read_header(tmp_path)
    assert header is not None
    # A writer killed mid-append: rows, ids and a tombstone written past the published counts,
    # the header not replaced (its temporary left behind).
    with header.path(tmp_path, "rows").open("ab") as rows:
        rows.write(np.ones((3, 16), dtype=np.float32).tobytes() + b"\x01\x02")
    with header.path(tmp_path, "ids").open("ab") as ids:
        ids.write(b"torn".ljust(32, b"\0") + b"half")
    with header.path(tmp_path, "dead").open("ab") as dead:
        dead.write(np.array([0], dtype=np.int64).tobytes())
    (tmp_path / ".header.json.999.tmp").write_text('{"rows": 3', encoding="utf-8")

    index = SharedDenseIndex(tmp_path, MODEL, refresh_interval_s=0)
    assert index.needed(["torn", "c0000"]) == ["torn"]
    assert len(index) == 1 and read_header(tmp_path) == header
    assert index.search(np.ones(16, dtype=np.float32), 5)[0][0] == "c0000"

    rest = dict(list(vectors.items())[600:])
    VectorFile(tmp_path, MODEL).write(rest)  # the next writer drops the torn bytes first
    assert index.needed(sorted(vectors)) == []
    assert len(index) == 1000
    exact = DenseIndex()
    exact.add({i: vectors[i] for i in sorted(vectors)})
    query = vectors["c0700"]
    assert ranked(index.search(query, 20))[0] == ranked(exact.search(query, 20))[0]
    assert header.path(tmp_path, "rows").stat().st_size == 1000 * 16 * 4


def _corpus(folder: Path, files: dict[str, str]) -> Path:
    for stale in folder.glob("*.md"):
        if stale.name not in files:
            stale.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _ingest(settings: Settings, corpus: Path) -> None:
    index = Index.from_settings(settings)
    options = IngestOptions.from_settings(settings, progress=False, allow_mass_removal=True)
    Ingestor(index, options).run([corpus])
    index.manifest.close()


def _retriever(settings: Settings) -> Retriever:
    index = Index.from_settings(settings)
    return Retriever(index, dense=make_dense_index(settings, index.store))


DOCS = {
    "tirana.md": "# Tirana reception centre\n\nThe centre in Tirana opened with 40 beds in 2021.\n",
    "skopje.md": "# Skopje caseworkers\n\nThe Zephyr programme in Skopje trained 37 caseworkers.\n",
    "budva.md": "# Budva meeting\n\nHeads of Border Police met in Budva in 2022.\n",
}


@pytest.mark.integration
def test_a_replica_follows_ingest_through_the_file_without_a_restart(
    hash_settings: Settings, tmp_path: Path
) -> None:
    settings = hash_settings.model_copy(update={"dense_vectors": "shared"})
    corpus = _corpus(tmp_path / "corpus", DOCS)
    _ingest(settings, corpus)
    folder = settings.index_dir / FOLDER
    assert read_header(folder) is not None

    replica, memory = _retriever(settings), Retriever(Index.from_settings(hash_settings))
    replica.sync(force=True)
    assert isinstance(replica.dense, SharedDenseIndex)
    count = replica.index.store.count()
    assert len(replica.dense) == count and replica.dense.needed(sorted(replica.lexical.chunk_ids)) == []

    def same(question: str) -> list[str]:
        memory.sync(force=True)
        replica.sync(force=True)
        got, _ = replica.retrieve(question, k=5)
        want, _ = memory.retrieve(question, k=5)
        assert [(p.chunk.chunk_id, round(p.score, 5)) for p in got] == [
            (p.chunk.chunk_id, round(p.score, 5)) for p in want
        ]
        return [p.chunk.source_id for p in got]

    assert same("Tirana reception centre beds")[0] == "tirana.md"
    changed = {**DOCS, "geneva.md": "# Geneva archive\n\nThe Geneva archive holds 900 boxes.\n"}
    del changed["skopje.md"]
    _ingest(settings, _corpus(corpus, changed))  # one added, one removed
    sources = same("Geneva archive boxes")
    assert sources[0] == "geneva.md" and "skopje.md" not in same("Skopje caseworkers Zephyr")
    assert len(replica.dense) == replica.index.store.count()
    assert replica.dense.needed(sorted(replica.lexical.chunk_ids)) == []  # all from the file


@pytest.mark.integration
def test_a_replica_builds_a_missing_file_or_reads_chroma_while_another_writes(
    hash_settings: Settings, tmp_path: Path
) -> None:
    _ingest(hash_settings, _corpus(tmp_path / "corpus", DOCS))  # memory mode: ingest writes no file
    settings = hash_settings.model_copy(update={"dense_vectors": "shared"})
    folder = settings.index_dir / FOLDER
    assert read_header(folder) is None

    folder.mkdir(parents=True)
    with (folder / "write.lock").open("w") as held:  # another process is writing the file
        fcntl.flock(held, fcntl.LOCK_EX)
        waiting = _retriever(settings)
        waiting.sync(force=True)
        fcntl.flock(held, fcntl.LOCK_UN)
    assert read_header(folder) is None
    passages, _ = waiting.retrieve("Tirana reception centre beds", k=3)
    assert passages[0].chunk.source_id == "tirana.md"  # from Chroma's vectors, held in memory

    first = _retriever(settings)
    first.sync(force=True)  # catches the file up itself
    header = read_header(folder)
    assert header is not None and header.rows == first.index.store.count() == len(first.dense)
    passages, _ = first.retrieve("Tirana reception centre beds", k=3)
    assert passages[0].chunk.source_id == "tirana.md"


@pytest.mark.unit
def test_the_setting_names_the_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_ASSISTANT_DENSE_VECTORS", "shared")
    assert load_settings().dense_vectors == "shared"
    monkeypatch.setenv("IOM_ASSISTANT_DENSE_VECTORS", "disk")
    kinds = r"IOM_ASSISTANT_DENSE_VECTORS.*'memory', 'shared' or 'engine'"
    with pytest.raises(ConfigurationError, match=kinds):
        load_settings()


@pytest.mark.unit
def test_a_replica_that_may_not_write_the_folder_reads_the_store_instead(tmp_path: Path) -> None:
    (tmp_path / "index").write_text("a file where the index folder should be", encoding="utf-8")
    store = ChromaStore(path=tmp_path / "chroma", collection="c", embedding_model=MODEL)
    index = SharedDenseIndex(tmp_path / "index" / FOLDER, MODEL, store)
    assert index.needed(["a", "b"]) == ["a", "b"]  # not written, not opened: given to add()
    index.add(unit_vectors(2))
    assert len(index) == 2
