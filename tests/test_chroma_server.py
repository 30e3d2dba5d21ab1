"""The same ingest and retrieval code against a real `chroma run` server on loopback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.index import Index
from assistant.settings import Settings, load_settings
from ingest.pipeline import IngestOptions, Ingestor, IngestSummary
from tests.conftest import SEED, free_port, wait_until_serving

pytestmark = [pytest.mark.server, pytest.mark.integration]


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "server-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
    )
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}/api/v2/heartbeat", "chroma run", 60)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_ingest_and_search_through_a_chroma_server(chroma_server: int, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEED, folder)
    settings = load_settings(
        index_dir=tmp_path / "local",
        chroma_host="127.0.0.1",
        chroma_port=chroma_server,
        embedding_model="hash-256",
    )
    options = IngestOptions.from_settings(settings, progress=False)
    first = Ingestor(Index.from_settings(settings), options).run([folder])
    assert first.files_indexed == 1 and first.chunks_total >= 2
    assert not (tmp_path / "local" / "chroma").exists(), "server mode must not create a local Chroma"

    again = Ingestor(Index.from_settings(settings), options).run([folder])
    assert again.files_unchanged == 1 and again.chunks_added == 0

    import chromadb

    client = chromadb.HttpClient(
        host="127.0.0.1", port=chroma_server, settings=chromadb.Settings(anonymized_telemetry=False)
    )
    collection = client.get_collection(settings.collection)
    assert collection.count() == first.chunks_total
    from assistant.retrieval import Retriever

    passages, _ = Retriever(Index.from_settings(settings)).retrieve("Heads of Border Police Budva", k=3)
    assert passages and "Border Police" in " ".join(p.chunk.text for p in passages)
    assert passages[0].score > 0, "the vectors came back from the server"


def test_a_replica_with_its_own_index_folder_follows_changes_and_new_readers(
    chroma_server: int, tmp_path: Path
) -> None:
    """A replica on another host shares only the Chroma server with the ingest job, not its
    manifest: a changed document with as many chunks as before, and a folder given an access
    file, still reach its in-memory indexes."""
    from assistant.access import ACCESS_FILE
    from assistant.retrieval import Retriever

    folder = tmp_path / "corpus"
    (folder / "shelters").mkdir(parents=True)
    shutil.copy(SEED, folder)
    note = folder / "shelters" / "tirana.md"
    note.write_text(
        "# Tirana reception centre\n\nThe centre in Tirana opened with 40 beds.\n", encoding="utf-8"
    )

    def settings_for(name: str) -> Settings:
        return load_settings(
            index_dir=tmp_path / name,
            chroma_host="127.0.0.1",
            chroma_port=chroma_server,
            embedding_model="hash-256",
        )

    def ingest() -> IngestSummary:
        settings = settings_for("ingest-job")
        return Ingestor(
            Index.from_settings(settings), IngestOptions.from_settings(settings, progress=False)
        ).run([folder])

    def beds() -> list[str]:
        replica.sync(force=True)
        passages, _ = replica.retrieve("Tirana reception centre beds", k=3)
        return [p.chunk.text for p in passages if p.chunk.source_id == "shelters/tirana.md"]

    first = ingest()
    replica = Retriever(Index.from_settings(settings_for("replica")))
    assert any("40 beds" in text for text in beds())

    note.write_text(note.read_text(encoding="utf-8").replace("40", "65"), encoding="utf-8")
    changed = ingest()
    assert changed.files_indexed == 1 and changed.chunks_total == first.chunks_total
    texts = beds()
    assert texts and all("65 beds" in text for text in texts), texts

    assert replica.hidden_sources(frozenset()) == set()
    (folder / "shelters" / ACCESS_FILE).write_text("hr\n", encoding="utf-8")
    assert ingest().files_relabelled == 1
    replica.sync(force=True)
    assert replica.hidden_sources(frozenset()) == {"shelters/tirana.md"}
    assert replica.hidden_sources(frozenset({"hr"})) == set()
