"""Index safety (#11, point 6): a cut-short `--rebuild` never leaves an index that claims to be
complete; a run that would remove most of a folder's files, or a folder without documents, stops
and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.access import ACCESS_FILE
from assistant.errors import DocumentError
from assistant.index import Index
from assistant.manifest import Manifest
from assistant.service import AssistantService
from assistant.settings import Settings
from assistant.store import ChromaStore
from tests.test_ingest import ingest, snapshot

pytestmark = pytest.mark.integration


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
