"""Embedding throughput on this machine: chunks/s of the configured embedder over real chunks.

Embeds `--chunks` chunks of an index (copied first: the index given is never written) as ingest
does (title, heading and text; the settings' batch size), after one warm-up batch, and prints
chunks/s and the hours a corpus of 100k and 1M chunks would take at that rate.

    python bench/embed_rate.py --index /tmp/testidx2 --chunks 1024
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.embedder import make_embedder  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from assistant.store import ChromaStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an index folder (its chroma/ is copied)")
    parser.add_argument("--chunks", type=int, default=1024)
    args = parser.parse_args()
    settings = load_settings()

    with tempfile.TemporaryDirectory(prefix="embed-rate-") as tmp:
        shutil.copytree(args.index / "chroma", Path(tmp) / "chroma")
        store = ChromaStore(
            path=Path(tmp) / "chroma",
            collection=settings.collection,
            embedding_model=settings.embedding_model,
        )
        texts = [c.embedding_text() for c in islice(store.iter_chunks(), args.chunks)]
    embedder = make_embedder(settings.embedding_model, settings.embedding_batch_size)
    embedder.embed(texts[: settings.embedding_batch_size])  # loads the model
    start = time.perf_counter()
    embedder.embed(texts)
    rate = len(texts) / (time.perf_counter() - start)
    print(
        f"{settings.embedding_model}: {len(texts)} chunks in batches of {settings.embedding_batch_size}, "
        f"{rate:.1f} chunks/s; 100k chunks {1e5 / rate / 3600:.1f} h, 1M chunks {1e6 / rate / 3600:.1f} h"
    )


if __name__ == "__main__":
    main()
