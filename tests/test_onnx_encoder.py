"""The int8 ONNX backend: the same model's vectors, and indexes that never mix backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.embedder import embedder_identity, make_embedder
from assistant.errors import IndexUnavailableError
from assistant.index import Index
from assistant.settings import DEFAULT_EMBEDDING_MODEL, load_settings
from ingest.pipeline import IngestOptions, Ingestor

pytestmark = pytest.mark.integration

SENTENCES = [
    "When did IOM organize the meeting of the Heads of Border Police in Budva?",
    "The regional meeting took place in Budva on 14 and 15 June 2022.",
    "Who funded the WBCAP project?",
    "The project was funded by the European Union and implemented by IOM.",
    "¿Quién financió la reunión de la policía de frontera?",
]


def test_int8_vectors_match_full_precision() -> None:
    # the exported file is cached like a model (~/.cache/iom-assistant/encoders): exported once per machine
    int8 = make_embedder(DEFAULT_EMBEDDING_MODEL, backend="onnx-int8")
    fp32 = make_embedder(DEFAULT_EMBEDDING_MODEL, backend="torch")
    a, b = int8.embed(SENTENCES), fp32.embed(SENTENCES)
    assert a.shape == b.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-4)
    cosine = (a * b).sum(axis=1)
    assert cosine.min() >= 0.98, cosine  # measured 0.992-0.994 on such sentences
    assert int8.count_tokens(SENTENCES) == fp32.count_tokens(SENTENCES)
    assert int8.max_tokens == fp32.max_tokens == 254
    # the nearest neighbour of each question is the same with both
    assert np.argmax(a[0] @ a[1:].T) == np.argmax(b[0] @ b[1:].T) == 0


@pytest.mark.unit
def test_backend_is_part_of_the_index_identity() -> None:
    assert embedder_identity(DEFAULT_EMBEDDING_MODEL, "torch") == DEFAULT_EMBEDDING_MODEL  # older indexes
    assert embedder_identity(DEFAULT_EMBEDDING_MODEL, "onnx-int8") == f"{DEFAULT_EMBEDDING_MODEL} (onnx-int8)"


def test_an_index_refuses_the_other_backend(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.txt").write_text("IOM met the Heads of Border Police in Budva in June 2022.\n")
    built = load_settings(index_dir=tmp_path / "index", embedder_backend="torch")
    index = Index.from_settings(built)
    Ingestor(index, IngestOptions.from_settings(built, progress=False)).run([corpus])
    index.manifest.close()

    other = load_settings(index_dir=tmp_path / "index", embedder_backend="onnx-int8")
    with pytest.raises(IndexUnavailableError) as refused:
        Index.from_settings(other).store.count()
    message = str(refused.value)
    assert "--rebuild" in message and "IOM_ASSISTANT_EMBEDDER_BACKEND=torch" in message
