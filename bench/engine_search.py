"""Engine search against exact search: recall@k and latency of Chroma's HNSW index per ef_search.

Two corpora, each searched both ways in this one process:

- `dev`: the development questions over an index of the seed and evaluation corpora (copied
  first: the index given is never written), embedded with the configured model. Exact search is
  `DenseIndex` over every stored vector; engine search is `EngineSearch` over the copy, at each
  ef_search. Also a restricted search: only the chunks of every third source.
- `synthetic`: random normalised vectors (`--dimensions`, 384 as MiniLM's) inserted into an
  embedded Chroma collection (cosine) in batches of 5,000 until `--chunks` or `--budget-min`
  minutes, whichever comes first; the insertion rate is printed as it goes, and a folder built
  before is reused and extended. Exact search regenerates the same vectors from their seeds.
  Queries are (a) random vectors, the worst case: in 384 random dimensions every point is nearly
  as far as any other, and (b) stored vectors plus noise (cosine about 0.65 to their source), as a
  question close to its answer is.

Prints, per ef_search, recall@10 and @40 (the retriever takes 40 candidates) against exact search,
and p50/p95 latency of both searches in ms; and the resident memory the open collection added.

    python bench/engine_search.py dev --index /tmp/testidx2
    python bench/engine_search.py synthetic --path /tmp/synthetic --chunks 1000000 --budget-min 30
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.dense import DenseIndex  # noqa: E402
from assistant.engine_search import EngineSearch  # noqa: E402
from assistant.store import ChromaStore  # noqa: E402

EF_SEARCH = (50, 100, 200, 400, 800)
BATCH = 5000
SYNTHETIC_COLLECTION = "synthetic_chunks"


def rss_mb() -> float:
    """This process's resident memory now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000, q))


def timed(
    search: Callable[[np.ndarray], list[str]], queries: np.ndarray
) -> tuple[list[list[str]], list[float]]:
    found, took = [], []
    for query in queries:
        start = time.perf_counter()
        found.append(search(query))
        took.append(time.perf_counter() - start)
    return found, took


def recall(found: list[list[str]], truth: list[list[str]], k: int) -> float:
    hits = sum(len(set(f[:k]) & set(t[:k])) for f, t in zip(found, truth, strict=True))
    return hits / sum(min(k, len(t)) for t in truth)


def engine_run(
    path: Path, collection: str, ef: int, queries: np.ndarray, allowed: set[str] | None
) -> tuple[list[list[str]], list[float], str]:
    """Engine search of every query at one ef_search, in a fresh process: an embedded Chroma reads
    ef_search when a process first loads the collection's index, and a later change is not seen."""
    with tempfile.TemporaryDirectory(prefix="engine-run-") as work:
        np.save(Path(work) / "queries.npy", queries)
        if allowed is not None:
            (Path(work) / "allowed.json").write_text(json.dumps(sorted(allowed)))
        command = [sys.executable, __file__, "engine-run", "--path", str(path), "--collection", collection]
        subprocess.run([*command, "--ef", str(ef), "--work", work], check=True)
        result = json.loads((Path(work) / "found.json").read_text())
    return result["found"], result["took"], result["opened"]


def engine_child(args: argparse.Namespace) -> None:
    """The child of `engine_run`."""
    at_start = rss_mb()
    queries = np.load(args.work / "queries.npy")
    allowed_file = args.work / "allowed.json"
    allowed = set(json.loads(allowed_file.read_text())) if allowed_file.exists() else None
    store = ChromaStore(path=args.path, collection=args.collection, embedding_model="any")
    engine = EngineSearch(store, args.ef)
    began = time.perf_counter()
    engine.search(queries[0], 40, allowed)  # loads the collection's index
    opened = (
        f"first search {time.perf_counter() - began:.1f} s, resident memory +{rss_mb() - at_start:.0f} MB"
    )
    found, took = timed(lambda q: [cid for cid, _ in engine.search(q, 40, allowed)], queries)
    (args.work / "found.json").write_text(json.dumps({"found": found, "took": took, "opened": opened}))


def compare(
    label: str,
    exact: Callable[[np.ndarray, int], list[str]],
    store: tuple[Path, str],
    queries: np.ndarray,
    allowed: set[str] | None = None,
) -> None:
    """Print recall and latency of engine search at each ef_search against exact search."""
    truth, exact_took = timed(lambda q: exact(q, 40), queries)
    exact_p95 = percentile_ms(exact_took, 95)
    print(
        f"\n{label}: {len(queries)} queries; "
        f"exact p50 {percentile_ms(exact_took, 50):.1f} ms, p95 {exact_p95:.1f} ms"
    )
    print(f"{'ef_search':>9} {'recall@10':>9} {'recall@40':>9} {'p50 ms':>7} {'p95 ms':>7} {'p95/exact':>9}")
    opened = ""
    for ef in EF_SEARCH:
        found, took, opened = engine_run(*store, ef, queries, allowed)
        p95 = percentile_ms(took, 95)
        print(
            f"{ef:>9} {recall(found, truth, 10):>9.4f} {recall(found, truth, 40):>9.4f} "
            f"{percentile_ms(took, 50):>7.1f} {p95:>7.1f} {p95 / exact_p95:>9.2f}",
            flush=True,
        )
    print(f"a fresh process opening the collection: {opened}")


def dev(args: argparse.Namespace) -> None:
    from assistant.embedder import make_embedder
    from assistant.settings import load_settings

    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="engine-dev-") as tmp:
        shutil.copytree(args.index / "chroma", Path(tmp) / "chroma")
        store = ChromaStore(
            path=Path(tmp) / "chroma",
            collection=settings.collection,
            embedding_model=settings.embedding_model,
        )
        ids = sorted(store.all_ids())
        exact = DenseIndex()
        exact.add(store.vectors(ids))
        questions = [json.loads(line)["question"] for line in args.dataset.read_text().splitlines() if line]
        queries = make_embedder(settings.embedding_model, settings.embedding_batch_size).embed(questions)
        print(f"dev: {len(ids)} chunks, {len(questions)} questions of {args.dataset.name}")
        where = (Path(tmp) / "chroma", settings.collection)
        compare("dev questions, whole index", lambda q, k: [c for c, _ in exact.search(q, k)], where, queries)
        chunks = store.get_chunks(ids)
        sources = sorted({c.source_id for c in chunks})
        kept = set(sources[::3])
        allowed = {c.chunk_id for c in chunks if c.source_id in kept}
        compare(
            f"dev questions, restricted to {len(kept)} of {len(sources)} sources ({len(allowed)} chunks)",
            lambda q, k: [c for c, _ in exact.search(q, k, allowed)],
            where,
            queries,
            allowed,
        )


def synthetic_batch(number: int, dimensions: int) -> np.ndarray:
    rows = np.random.default_rng(number).standard_normal((BATCH, dimensions), dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def synthetic(args: argparse.Namespace) -> None:
    import chromadb

    client = chromadb.PersistentClient(
        path=str(args.path), settings=chromadb.Settings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection(
        SYNTHETIC_COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
    )
    have = collection.count() // BATCH
    wanted = args.chunks // BATCH
    start = time.monotonic()
    deadline = start + args.budget_min * 60
    print(
        f"synthetic: {have * BATCH} chunks stored in {args.path}; inserting up to {wanted * BATCH} "
        f"for at most {args.budget_min:g} min",
        flush=True,
    )
    for number in range(have, wanted):
        if time.monotonic() > deadline:
            print(f"stopped by the time budget at {number * BATCH} chunks", flush=True)
            break
        began = time.monotonic()
        collection.add(
            ids=[f"s{number}-{n}" for n in range(BATCH)], embeddings=synthetic_batch(number, args.dimensions)
        )
        if (number + 1) % 4 == 0:
            done = (number + 1 - have) * BATCH
            print(
                f"  {(number + 1) * BATCH:>8} chunks: "
                f"{done / (time.monotonic() - start):6.0f} chunks/s so far, "
                f"{BATCH / (time.monotonic() - began):6.0f} chunks/s for the last batch",
                flush=True,
            )
    count = collection.count() // BATCH * BATCH
    del collection, client
    if args.build_only:
        return

    rng = np.random.default_rng(12345)
    random_queries = rng.standard_normal((args.queries, args.dimensions), dtype=np.float32)
    random_queries /= np.linalg.norm(random_queries, axis=1, keepdims=True)
    rows = np.concatenate([synthetic_batch(n, args.dimensions) for n in range(count // BATCH)])
    ids = np.array([f"s{n}-{i}" for n in range(count // BATCH) for i in range(BATCH)])

    def exact(query: np.ndarray, k: int) -> list[str]:
        scores = rows @ query
        head = np.argpartition(-scores, k)[:k]
        return list(ids[head[np.argsort(-scores[head])]])

    picked = rows[rng.choice(len(rows), args.queries, replace=False)]
    near = picked + 0.06 * rng.standard_normal(picked.shape, dtype=np.float32)  # cosine ~0.65
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    print(f"exact search holds {rows.nbytes / 2**20:.0f} MB of vectors")
    where = (args.path, SYNTHETIC_COLLECTION)
    compare(f"synthetic {count} chunks, random queries", exact, where, random_queries)
    compare(f"synthetic {count} chunks, queries near a stored chunk (cosine ~0.65)", exact, where, near)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="corpus", required=True)
    d = sub.add_parser("dev")
    d.add_argument("--index", type=Path, required=True, help="an index folder (its chroma/ is copied)")
    d.add_argument("--dataset", type=Path, default=REPO / "evaluation" / "datasets" / "iom-dev.jsonl")
    s = sub.add_parser("synthetic")
    s.add_argument("--path", type=Path, required=True, help="Chroma folder, built or extended here")
    s.add_argument("--chunks", type=int, default=1_000_000)
    s.add_argument("--budget-min", type=float, default=30.0)
    s.add_argument("--dimensions", type=int, default=384)
    s.add_argument("--queries", type=int, default=200)
    s.add_argument("--build-only", action="store_true", help="insert, then stop before measuring")
    r = sub.add_parser("engine-run", help="(internal) one ef_search in a fresh process")
    r.add_argument("--path", type=Path, required=True)
    r.add_argument("--collection", required=True)
    r.add_argument("--ef", type=int, required=True)
    r.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    {"dev": dev, "synthetic": synthetic, "engine-run": engine_child}[args.corpus](args)


if __name__ == "__main__":
    main()
