"""Query benchmark: retrieval and extractive answer latency, on the shared corpus and at 100k chunks.

Builds (or reuses, with --index) an index of the shared corpus, times retrieval and
end-to-end extractive answers over a fixed question list, then replicates the
corpus chunks with varied ids (reusing their vectors) into a synthetic index of
--synthetic chunks and times it again. Figures at scale are also printed as
multiples of the corpus-size figures measured in this same process.

    .venv/bin/python bench/query.py [--index DIR] [--synthetic 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.index import Index  # noqa: E402
from assistant.service import AssistantService  # noqa: E402
from assistant.settings import Settings, load_settings  # noqa: E402
from assistant.store import chunk_from_record  # noqa: E402
from evaluation.corpus import DEFAULT_CACHE  # noqa: E402
from ingest.pipeline import IngestOptions, Ingestor  # noqa: E402

QUESTIONS = [
    "When did IOM organize the meeting of the Heads of Border Police in Budva?",
    "Who funded the WBCAP project?",
    "What is Instruction IN/285 about?",
    "What did the evaluation of accountability to affected populations recommend?",
    "How many evaluations did the meta-evaluation review?",
    "What is the Human Trafficking Case Data Standard?",
    "Which countries were covered by the EU-IOM Joint Initiative in the Horn of Africa?",
    "What is a complaint and feedback mechanism?",
    "How many migrants died in the Mediterranean in 2016?",
    "What is the role of the Asia-Pacific Regional Data Hub?",
    "Quels sont les objectifs du dialogue binational entre Haïti et la République dominicaine ?",
    "Who won the 2022 football World Cup?",
    "What does effective international cooperation on reintegration require?",
    "What is the definition of a refugee?",
    "What was the management response to recommendation 1?",
    "Which evaluations were conducted in 2023 in Ethiopia?",
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def measure(service: AssistantService, rounds: int) -> tuple[list[float], list[float]]:
    retrieve_ms: list[float] = []
    answer_ms: list[float] = []
    for _ in range(rounds):
        for question in QUESTIONS:
            started = time.perf_counter()
            service.retriever.retrieve(question)
            retrieve_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            service.ask(question)
            answer_ms.append((time.perf_counter() - started) * 1000)
    return retrieve_ms, answer_ms


def report(
    label: str, retrieve_ms: list[float], answer_ms: list[float], base: tuple[float, float] | None
) -> None:
    r50, r95, a50, a95 = pct(retrieve_ms, 50), pct(retrieve_ms, 95), pct(answer_ms, 50), pct(answer_ms, 95)
    print(f"{label}")
    print(f"  retrieval  p50 {r50:7.1f} ms  p95 {r95:7.1f} ms")
    print(f"  extractive p50 {a50:7.1f} ms  p95 {a95:7.1f} ms  (whole answer: retrieval + selection + guard)")
    if base:
        print(
            f"  as multiples of the corpus index: retrieval p95 x{r95 / base[0]:.2f}, "
            f"answer p95 x{a95 / base[1]:.2f}"
        )


def synthetic_index(source: Index, folder: Path, target: int) -> Settings:
    settings = load_settings(index_dir=folder, collection="iom_synthetic")
    index = Index.from_settings(settings)
    col = source.store._col()
    data = col.get(include=["embeddings", "documents", "metadatas"])
    ids, docs, metas, vectors = (
        data["ids"],
        data["documents"] or [],
        data["metadatas"] or [],
        data["embeddings"],
    )
    assert vectors is not None
    copies = 0
    batch_chunks, batch_vectors = [], []
    while copies < target:
        for chunk_id, text, meta, vector in zip(ids, docs, metas, vectors, strict=True):
            if copies >= target:
                break
            replica = copies // len(ids)
            chunk = chunk_from_record(f"{chunk_id}-r{replica}", text or "", meta or {})
            batch_chunks.append(replace(chunk, source_id=f"{chunk.source_id}#copy{replica}"))
            batch_vectors.append(vector)
            copies += 1
            if len(batch_chunks) == 5000:
                index.store.upsert(batch_chunks, np.asarray(batch_vectors, dtype=np.float32))
                batch_chunks, batch_vectors = [], []
    if batch_chunks:
        index.store.upsert(batch_chunks, np.asarray(batch_vectors, dtype=np.float32))
    index.manifest.set_meta("generation", "synthetic")
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", type=Path, help="an index of the shared corpus (built if absent)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--synthetic", type=int, default=100_000, help="chunks in the synthetic index (0: skip)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    folder = args.index or Path(tempfile.mkdtemp(prefix="iom-query-"))
    settings = load_settings(index_dir=folder)
    index = Index.from_settings(settings)
    if index.store.count() == 0:
        print(f"building the corpus index in {folder} ...", flush=True)
        Ingestor(index, IngestOptions.from_settings(settings, progress=False)).run([args.corpus])

    service = AssistantService(settings, index)
    started = time.perf_counter()
    service.warm_up()
    print(
        f"warm-up (model + lexical index of {len(service.retriever.lexical)} chunks): "
        f"{time.perf_counter() - started:.1f} s"
    )
    retrieve_ms, answer_ms = measure(service, args.rounds)
    report(
        f"corpus index: {index.store.count()} chunks, {len(QUESTIONS) * args.rounds} questions",
        retrieve_ms,
        answer_ms,
        None,
    )
    base = (pct(retrieve_ms, 95), pct(answer_ms, 95))
    print(f"  peak RSS {peak_rss_mb():.0f} MB")

    if args.synthetic:
        synthetic_folder = Path(tempfile.mkdtemp(prefix="iom-synthetic-"))
        started = time.perf_counter()
        synthetic = synthetic_index(index, synthetic_folder, args.synthetic)
        print(f"synthetic index built in {time.perf_counter() - started:.0f} s")
        big = AssistantService(synthetic)
        started = time.perf_counter()
        big.warm_up()
        print(f"warm-up at scale: {time.perf_counter() - started:.1f} s")
        retrieve_ms, answer_ms = measure(big, args.rounds)
        report(f"synthetic index: {big.index.store.count()} chunks", retrieve_ms, answer_ms, base)
        print(f"  peak RSS {peak_rss_mb():.0f} MB (this process serving both indexes)")


if __name__ == "__main__":
    main()
