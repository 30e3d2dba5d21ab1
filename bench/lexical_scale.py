"""BM25 at scale: memory, build time and search time of the in-memory lexical index per 100k chunks.

Every replica holds `LexicalIndex` (postings and the chunks themselves, text and metadata). The
chunks here are realistic text: each is made of sentences drawn at random from the chunks of an
index (copied first: the index given is never written), as many as a real chunk holds on average,
with the metadata of a real chunk. They are added in batches of 5,000, as `Retriever.sync` adds
them, and after each 100k the script prints the resident memory the index added (after a full
collection), the time `add` took for that 100k and the p50/p95 of a BM25 search of 40.

    python bench/lexical_scale.py --index /tmp/testidx2 --chunks 300000
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.documents import Chunk  # noqa: E402
from assistant.lexical import LexicalIndex  # noqa: E402
from assistant.store import ChromaStore  # noqa: E402

STEP = 100_000
BATCH = 5000
QUESTIONS = [
    "When did IOM organize the meeting of the Heads of Border Police in Budva?",
    "Who funded the WBCAP project?",
    "What is Instruction IN/285 about?",
    "How many evaluations did the meta-evaluation review?",
    "What did the evaluation of accountability to affected populations recommend?",
    "returns and reintegration assistance in 2021",
    "Displacement Tracking Matrix data on internally displaced persons",
    "migrant protection and assistance in the Western Balkans",
]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an index folder (its chroma/ is copied)")
    parser.add_argument("--collection", default="iom_documents")
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="the embedding model the index records")
    parser.add_argument("--chunks", type=int, default=300_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lexical-scale-") as tmp:
        shutil.copytree(args.index / "chroma", Path(tmp) / "chroma")
        store = ChromaStore(path=Path(tmp) / "chroma", collection=args.collection, embedding_model=args.model)
        real = list(store.iter_chunks())
    sentences = [s for c in real for s in re.split(r"(?<=[.!?])\s+|\n+", c.text) if len(s.split()) >= 4]
    mean_sentence = sum(len(s) + 1 for s in sentences) / len(sentences)
    per_chunk = max(1, round(sum(len(c.text) for c in real) / len(real) / mean_sentence))
    mean_chars = sum(len(c.text) for c in real) / len(real)
    print(
        f"{len(real)} real chunks ({mean_chars:.0f} characters on average), {len(sentences)} sentences; "
        f"{per_chunk} sentences a synthetic chunk"
    )

    rng = random.Random(0)
    gc.collect()
    before = rss_mb()
    index = LexicalIndex()
    made = 0
    while made < args.chunks:
        built = 0.0
        for _ in range(STEP // BATCH):
            batch = []
            for n in range(made, made + BATCH):
                model = real[n % len(real)]
                text = " ".join(rng.choice(sentences) for _ in range(per_chunk))
                batch.append(
                    Chunk(
                        chunk_id=f"x{n:08d}",
                        source_id=f"{model.source_id}#{n // 50}",
                        text=text,
                        title=model.title,
                        format=model.format,
                        ordinal=n % 50,
                        page=model.page,
                        heading=model.heading,
                        language=model.language,
                        published=model.published,
                        url=model.url,
                    )
                )
            began = time.perf_counter()
            index.add(batch)
            built += time.perf_counter() - began
            made += BATCH
        gc.collect()
        took = []
        for question in QUESTIONS * 3:
            start = time.perf_counter()
            index.search(question, 40)
            took.append(time.perf_counter() - start)
        ms = np.asarray(took) * 1000
        print(
            f"{made:>8} chunks: +{rss_mb() - before:7.0f} MB resident, this 100k built in {built:5.1f} s, "
            f"BM25 search of 40 p50 {np.percentile(ms, 50):6.1f} ms p95 {np.percentile(ms, 95):6.1f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
