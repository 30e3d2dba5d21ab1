"""A small real corpus and index for the web tests (API and browser).

The corpus holds the seed article, a document whose text is HTML and script (to prove
the UI shows it as text), and a symlink that points out of the corpus.
"""

from __future__ import annotations

from pathlib import Path

from assistant.index import Index
from assistant.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "corpus" / "iom-albania-heads-of-border-police-western-balkans-2022.txt"

BUDVA_QUESTION = "When did IOM organize the meeting of the Heads of Border Police in Budva?"
BUDVA_DATE = "June 14 and 15, 2022"
OUT_OF_CORPUS_QUESTION = "Who won the 2022 football World Cup?"
XSS_QUESTION = "When did the Tirana migration office open?"
XSS_DOCUMENT = "xss-test-tirana-office.md"
# Ingest strips raw tags but decodes entities, so the escaped forms reach the index as markup.
XSS_TEXT = """# Tirana migration office &lt;script&gt;window.__xss=1&lt;/script&gt;

The XSS test document describes the Tirana migration office opening in March 2023.
The Tirana migration office opened in March 2023 &lt;script&gt;window.__xss=1&lt;/script&gt; to serve
returning migrants.
Staff of the Tirana migration office &lt;img src=x onerror="window.__xss=2"&gt; advise migrants on return.
Raw markup <script>window.__xss=1</script> and <img src=x onerror="window.__xss=2"> is in the file too.
A template string ${window.__xss=3} and a link [click](javascript:window.__xss=4) stay plain text.
"""
SECRET_OUTSIDE = "outside-the-corpus.txt"


def build_web_index(base: Path, **overrides: object) -> Settings:
    """Corpus under `base/corpus`, index under `base/index`, ingested with the default embedder."""
    from ingest.pipeline import IngestOptions, Ingestor

    corpus = base / "corpus"
    corpus.mkdir(parents=True)
    (corpus / SEED.name).write_bytes(SEED.read_bytes())
    (corpus / XSS_DOCUMENT).write_text(XSS_TEXT, encoding="utf-8")
    outside = base / SECRET_OUTSIDE
    outside.write_text("The secret outside the corpus says the Tirana office has a private key.\n")
    (corpus / "link-out.txt").symlink_to(outside)

    settings = load_settings(
        index_dir=base / "index",
        corpus_dir=corpus,
        feedback_db=base / "feedback.sqlite3",
        **overrides,
    )
    options = IngestOptions.from_settings(settings, progress=False)
    Ingestor(Index.from_settings(settings), options).run([corpus])
    return settings
