"""Index safety (#11, point 6): a cut-short `--rebuild` never leaves an index that claims to be
complete; several ingest folders give distinct source ids (an index of an older release keeps its
ids and vectors); a run that would remove most of a folder's files, or an empty folder, stops and
changes nothing."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from assistant.access import ACCESS_FILE
from assistant.errors import DocumentError
from assistant.index import Index
from assistant.manifest import Manifest
from assistant.service import AssistantService
from assistant.settings import Settings, load_settings
from assistant.store import ChromaStore
from evaluation.dataset import source_matches
from tests.conftest import ServerThread, free_port
from tests.test_ingest import ingest, snapshot

pytestmark = pytest.mark.integration

OLD_COLUMNS = "source_id, root, sha256, size, status, chunks, pages, title, updated_at, groups"
SHARED = "reports/annual.txt"  # the same path under two folders
TEXTS = {
    "first": "The Tirana office registered 412 returnees in 2023, most of them from Greece.",
    "second": "The Zephyr caseworker programme in Skopje trained 37 caseworkers in March 2024.",
}


def _folder(base: Path, name: str, files: dict[str, str]) -> Path:
    folder = base / name
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text + "\n", encoding="utf-8")
    return folder


def _notes(base: Path, name: str, count: int) -> Path:
    return _folder(
        base,
        name,
        {f"{name}-note-{i}.txt": f"Field note {i} of {name}: office {i} opened." for i in range(count)},
    )


def _status(settings: Settings) -> str:
    service = AssistantService(settings)
    try:
        return str(service.health()["status"])
    finally:
        service.index.manifest.close()


# -- a rebuild cut short ------------------------------------------------------------------------


class _Killed(BaseException):
    """The process dies here (a BaseException, as nothing in ingest may catch it)."""


class _StoreKilledAfterDrop(ChromaStore):
    def drop(self) -> None:
        super().drop()
        raise _Killed("killed right after the collection was dropped")


class _ManifestKilledAfterClear(Manifest):
    def clear(self) -> None:
        super().clear()
        raise _Killed("killed right after the manifest was cleared")


def _killed_after_drop(index: Index) -> Index:
    store = index.store
    killing = _StoreKilledAfterDrop(
        path=store.path, collection=store.collection_name, embedding_model=store.model
    )
    return Index(index.embedder, killing, index.manifest)


def _killed_after_clear(index: Index) -> Index:
    return Index(index.embedder, index.store, _ManifestKilledAfterClear(index.manifest.path))


@pytest.mark.parametrize("kill", [_killed_after_clear, _killed_after_drop], ids=["after-clear", "after-drop"])
def test_a_rebuild_cut_short_never_claims_a_complete_index(
    hash_settings: Settings, tmp_path: Path, kill: Callable[[Index], Index]
) -> None:
    """Killed between clearing the manifest and dropping the collection (either step), the
    index says it is not complete, and the next plain run rebuilds the same index a clean run
    builds (before, a kill after the drop left entries vouching for dropped chunks: later runs
    found every file unchanged and kept an empty index)."""
    from ingest.pipeline import IngestOptions, Ingestor

    corpus = _notes(tmp_path, "corpus", 4)
    ingest(hash_settings, corpus)
    expected = snapshot(hash_settings)
    assert _status(hash_settings) == "ok"

    index = kill(Index.from_settings(hash_settings))
    with pytest.raises(_Killed):
        Ingestor(index, IngestOptions.from_settings(hash_settings, rebuild=True, progress=False)).run(
            [corpus]
        )
    index.manifest.close()
    assert _status(hash_settings) != "ok"

    again = ingest(hash_settings, corpus)
    assert again.files_indexed == 4 and not again.files_failed
    assert snapshot(hash_settings) == expected
    assert _status(hash_settings) == "ok"


def test_a_store_that_lost_chunks_is_read_again(hash_settings: Settings, tmp_path: Path) -> None:
    """Chunks gone from under the manifest (a collection restored from an older backup, deleted by
    hand): health says incomplete, and the next run puts them back, embedding only those."""
    corpus = _notes(tmp_path, "corpus", 4)
    ingest(hash_settings, corpus)
    expected = snapshot(hash_settings)
    index = Index.from_settings(hash_settings)
    index.store.delete(sorted(index.store.chunk_ids("corpus-note-2.txt")))
    index.manifest.close()
    assert _status(hash_settings) == "incomplete"

    repaired = ingest(hash_settings, corpus)
    assert repaired.chunks_embedded == 1 and repaired.chunks_added == 1
    assert snapshot(hash_settings) == expected
    assert _status(hash_settings) == "ok"


# -- removals -----------------------------------------------------------------------------------


class _ManifestKilledAtRemove(Manifest):
    def remove(self, source_id: str) -> None:
        raise _Killed("killed after the chunks were deleted, before the entry was")


def test_a_removal_cut_short_is_finished_without_reading_every_file_again(
    hash_settings: Settings, tmp_path: Path
) -> None:
    """Killed between deleting a gone file's chunks and forgetting its entry: the entry no longer
    vouches for chunks (pending), so the next run finishes the removal and reads nothing again
    (an indexed entry without its chunks would look like a store that lost them)."""
    from ingest.pipeline import IngestOptions, Ingestor

    corpus = _notes(tmp_path, "corpus", 4)
    ingest(hash_settings, corpus)
    (corpus / "corpus-note-3.txt").unlink()
    index = Index.from_settings(hash_settings)
    killing = Index(index.embedder, index.store, _ManifestKilledAtRemove(index.manifest.path))
    with pytest.raises(_Killed):
        Ingestor(killing, IngestOptions.from_settings(hash_settings, progress=False)).run([corpus])
    killing.manifest.close()
    assert _status(hash_settings) != "ok"

    finished = ingest(hash_settings, corpus)
    assert finished.files_unchanged == 3 and finished.files_indexed == 0
    assert finished.files_removed == 1 and finished.chunks_total == 3
    assert _status(hash_settings) == "ok"


def test_most_of_one_folder_gone_stops_the_run_before_anything_changes(
    hash_settings: Settings, tmp_path: Path
) -> None:
    """Two of one folder's three files gone: the run stops, naming that folder, although the two
    are few beside the other folder's six; a file changed meanwhile is not written either."""
    big, small = _notes(tmp_path, "big", 6), _notes(tmp_path, "small", 3)
    ingest(hash_settings, big, small)
    before = snapshot(hash_settings)
    (small / "small-note-0.txt").unlink()
    (small / "small-note-1.txt").unlink()
    (big / "big-note-0.txt").write_text("A changed note about the office in Durres.\n", encoding="utf-8")

    with pytest.raises(
        DocumentError,
        match=rf"2 of the 3 indexed files are gone from {re.escape(str(small))}.*--allow-mass-removal",
    ):
        ingest(hash_settings, big, small)
    assert snapshot(hash_settings) == before, "nothing stored is lost, nothing is written"
    assert _status(hash_settings) == "ok", "a stopped run does not leave the index incomplete"

    done = ingest(hash_settings, big, small, allow_mass_removal=True)
    assert done.files_removed == 2 and done.files_indexed == 1


def test_a_folder_without_documents_is_an_error_naming_it(hash_settings: Settings, tmp_path: Path) -> None:
    corpus = _notes(tmp_path, "corpus", 2)
    ingest(hash_settings, corpus)
    before = snapshot(hash_settings)
    for file in corpus.iterdir():
        file.unlink()
    (corpus / "README.md").write_text("# Documents go here\n", encoding="utf-8")
    (corpus / ACCESS_FILE).write_text("hr\n", encoding="utf-8")
    with pytest.raises(
        DocumentError, match=rf"{re.escape(str(corpus))} holds no documents \(only \.iom-access, README\.md"
    ):
        ingest(hash_settings, corpus, allow_mass_removal=True)
    (corpus / "README.md").unlink()
    (corpus / ACCESS_FILE).unlink()
    with pytest.raises(
        DocumentError, match=rf"{re.escape(str(corpus))} holds no documents: put the documents in it"
    ):
        ingest(hash_settings, corpus)
    corpus.rmdir()
    with pytest.raises(DocumentError, match=rf"{re.escape(str(corpus))} does not exist"):
        ingest(hash_settings, corpus)
    assert snapshot(hash_settings) == before


# -- distinct source ids ------------------------------------------------------------------------


COLON = "minutes: 2024.txt"  # a name the links must open too


def _two_folders(base: Path) -> tuple[Path, Path]:
    first = _folder(base / "a", "corpus", {SHARED: TEXTS["first"], "first-only.txt": "Only in the first."})
    second = _folder(base / "b", "docs", {SHARED: TEXTS["second"], "second-only.txt": "Only in the second."})
    return first, second


def _sources(settings: Settings) -> dict[str, str]:
    """source id -> the stored text of its chunks."""
    found: dict[str, str] = {}
    for text, meta in snapshot(settings).values():
        source_id = json.loads(meta)["source_id"]
        found[source_id] = found.get(source_id, "") + text
    return found


def test_the_same_path_under_two_folders_gives_two_documents(hash_settings: Settings, tmp_path: Path) -> None:
    """The folder named first keeps the plain path; the other's id starts with its folder's name.
    Both stay indexed run after run (before, they evicted each other and were embedded every run),
    whatever order the folders are named in, and each id opens its own file."""
    first, second = _two_folders(tmp_path)
    summary = ingest(hash_settings, first, second)
    assert summary.files_indexed == 4 and not summary.files_failed
    sources = _sources(hash_settings)
    assert set(sources) == {SHARED, "first-only.txt", f"docs/{SHARED}", "second-only.txt"}
    assert "412 returnees" in sources[SHARED] and "37 caseworkers" in sources[f"docs/{SHARED}"]

    for order in ((first, second), (second, first)):
        again = ingest(hash_settings, *order)
        assert again.files_unchanged == 4 and again.chunks_embedded == again.chunks_removed == 0
    service = AssistantService(hash_settings)
    assert service.source_file(SHARED) == first / SHARED
    assert service.source_file(f"docs/{SHARED}") == second / SHARED
    assert source_matches("annual.txt", f"docs/{SHARED}"), "a gold id names a document by its file name"
    service.index.manifest.close()

    # a moved folder keeps its ids and vectors (its old place is gone, so its ids pass on)
    moved = tmp_path / "moved" / "corpus"
    moved.parent.mkdir()
    first.rename(moved)
    after_move = ingest(hash_settings, moved, second)
    assert after_move.chunks_embedded == 0 and after_move.files_removed == 0
    assert set(_sources(hash_settings)) == set(sources)


def test_a_folder_with_the_same_name_goes_one_folder_higher(hash_settings: Settings, tmp_path: Path) -> None:
    """`ingest corpus ../shared/corpus`: both folders are named corpus, so the second's id names
    its parent too; a plain path of the first folder that equals it is never overwritten."""
    first = _folder(
        tmp_path / "app", "corpus", {SHARED: TEXTS["first"], f"corpus/{SHARED}": "A nested copy."}
    )
    second = _folder(tmp_path / "shared", "corpus", {SHARED: TEXTS["second"]})
    summary = ingest(hash_settings, first, second)
    assert summary.files_indexed == 3 and not summary.files_failed
    assert set(_sources(hash_settings)) == {SHARED, f"corpus/{SHARED}", f"shared/corpus/{SHARED}"}


def test_an_index_of_an_older_release_keeps_its_ids_and_vectors(
    hash_settings: Settings, tmp_path: Path
) -> None:
    """A manifest without the relative-path column (every id its file's path in its folder): the
    server reads it as it is, and the next ingest adds the second folder's copy under its own id,
    embedding only that copy; nothing stored changes."""
    first, second = _two_folders(tmp_path)
    ingest(hash_settings, second)
    before = snapshot(hash_settings)
    manifest = hash_settings.index_dir / "manifest.sqlite3"
    with sqlite3.connect(manifest) as db:  # the table as the release before distinct ids wrote it
        db.executescript(f"""
            CREATE TABLE old (source_id TEXT PRIMARY KEY, root TEXT NOT NULL, sha256 TEXT NOT NULL,
                size INTEGER NOT NULL, status TEXT NOT NULL, chunks INTEGER NOT NULL DEFAULT 0,
                pages INTEGER, title TEXT, updated_at REAL NOT NULL, groups TEXT NOT NULL DEFAULT '');
            INSERT INTO old SELECT {OLD_COLUMNS} FROM files;
            DROP TABLE files;
            ALTER TABLE old RENAME TO files;
        """)
    service = AssistantService(hash_settings)
    assert service.source_file(SHARED) == second / SHARED
    service.index.manifest.close()

    upgraded = ingest(hash_settings, first, second)
    assert upgraded.files_unchanged == 2 and upgraded.files_indexed == 2
    assert upgraded.chunks_embedded == upgraded.chunks_added == 2, "only the first folder's two files"
    after = snapshot(hash_settings)
    assert set(before.items()) <= set(after.items()), "every stored chunk is kept as it was"
    sources = _sources(hash_settings)
    assert "37 caseworkers" in sources[SHARED] and "412 returnees" in sources[f"corpus/{SHARED}"]


def test_distinct_ids_through_the_api_with_access_files(tmp_path: Path) -> None:
    """Through a real server: each id's link opens its own file (a name with a colon too), a
    restricted folder's copy stays hidden from a key without its group, and search finds each
    copy under its own id."""
    first, second = _two_folders(tmp_path)
    (first / COLON).write_text("Minutes of the Durres desk meeting of 2024.\n", encoding="utf-8")
    (second / ACCESS_FILE).write_text("hr\n", encoding="utf-8")
    settings = load_settings(
        index_dir=tmp_path / "index",
        embedding_model="hash-256",
        cross_lingual=False,
        api_keys=("k-hr:hr", "k-plain"),
    )
    ingest(settings, first, second)
    hr, plain = {"Authorization": "Bearer k-hr"}, {"Authorization": "Bearer k-plain"}
    with ServerThread(settings, free_port()) as server:

        def source(source_id: str, headers: dict[str, str]) -> httpx.Response:
            return httpx.get(f"{server.url}api/sources/{source_id}", headers=headers, timeout=60)

        assert "412 returnees" in source(SHARED, plain).text
        assert "37 caseworkers" in source(f"docs/{SHARED}", hr).text
        assert source(f"docs/{SHARED}", plain).status_code == 404
        assert "Durres desk" in source(quote(COLON), plain).text

        def retrieved(headers: dict[str, str]) -> set[str]:
            question = {"question": "How many caseworkers did the Zephyr programme in Skopje train?"}
            response = httpx.post(f"{server.url}api/ask", json=question, headers=headers, timeout=120)
            assert response.status_code == 200, response.text
            return {p["source_id"] for p in response.json()["retrieved"]}

        assert f"docs/{SHARED}" in retrieved(hr)
        assert f"docs/{SHARED}" not in retrieved(plain) and SHARED in retrieved(plain)
