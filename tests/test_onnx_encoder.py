"""The ONNX backends: the same model's vectors (fp32: torch's own), an answering process without
torch, and indexes that never mix int8 with full precision."""

from __future__ import annotations

import json
import subprocess
import sys
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


def test_fp32_vectors_are_torchs() -> None:
    onnx = make_embedder(DEFAULT_EMBEDDING_MODEL, backend="onnx", threads=1)
    torch = make_embedder(DEFAULT_EMBEDDING_MODEL, backend="torch", threads=1)
    many = SENTENCES * 4  # over FEW_TEXTS: ingest's path, on the threads' own choice
    for texts in (SENTENCES[:1], SENTENCES, many):
        np.testing.assert_allclose(onnx.embed(texts), torch.embed(texts), atol=1e-5)  # measured 2e-7
    assert onnx.count_tokens(SENTENCES) == torch.count_tokens(SENTENCES)
    assert onnx.max_tokens == torch.max_tokens == 254


def test_answering_with_onnx_never_imports_torch(seed_index: Path) -> None:
    script = f"""
import json, sys
from assistant.service import AssistantService
from assistant.settings import load_settings
service = AssistantService(load_settings(index_dir={str(seed_index)!r}, embedder_backend="onnx"))
service.warm_up()
answer = service.ask("Where did the Heads of Border Police meet?")
print(json.dumps([answer.refused, sorted(m for m in ("torch", "transformers", "sentence_transformers")
                                         if m in sys.modules)]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    refused, heavy = json.loads(done.stdout.strip().splitlines()[-1])
    assert not refused
    assert heavy == []


@pytest.mark.unit
def test_backend_is_part_of_the_index_identity() -> None:
    assert embedder_identity(DEFAULT_EMBEDDING_MODEL, "torch") == DEFAULT_EMBEDDING_MODEL  # older indexes
    assert embedder_identity(DEFAULT_EMBEDDING_MODEL, "onnx") == DEFAULT_EMBEDDING_MODEL  # the same vectors
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

    full_precision = load_settings(index_dir=tmp_path / "index", embedder_backend="onnx")
    assert Index.from_settings(full_precision).store.count() == 1
