"""The same ingest and retrieval code against a real `chroma run` server on loopback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.index import Index
from assistant.settings import load_settings
from ingest.pipeline import IngestOptions, Ingestor
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
