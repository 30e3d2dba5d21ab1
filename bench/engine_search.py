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

Prints, per ef_search, recall@10 and @40 (the retriever takes 40 candidates) against exact search
(and counting as found a chunk exactly as similar as the k-th: a duplicate text under another id),
and p50/p95 latency of both searches in ms; and the resident memory the open collection added.

    python bench/engine_search.py dev --index /tmp/testidx2
    python bench/engine_search.py synthetic --path /tmp/synthetic --chunks 1000000 --budget-min 30
"""

from __future__ import annotations

import argparse
import gc
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

EF_SEARCH = "50,100,200,400,800"
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


Found = list[tuple[str, float]]  # chunk ids and cosine similarities, best first


def timed(search: Callable[[np.ndarray], Found], queries: np.ndarray) -> tuple[list[Found], list[float]]:
    found, took = [], []
    for query in queries:
        start = time.perf_counter()
        found.append(search(query))
        took.append(time.perf_counter() - start)
    return found, took


def recall(found: list[Found], truth: list[Found], k: int, ties: bool = False) -> float:
    """The share of the exact top k that engine search found; with `ties`, a chunk as similar as
    the exact k-th (a duplicate text, stored under another id) counts as found too."""
    hits = 0
    for engine, exact in zip(found, truth, strict=True):
        top = {cid for cid, _ in exact[:k]}
        kth = exact[:k][-1][1] if exact else 1.0
        hits += min(k, sum(1 for cid, s in engine[:k] if cid in top or (ties and s >= kth - 1e-5)))
    return hits / sum(min(k, len(exact)) for exact in truth)


def engine_run(
    store: tuple[Path, str, str], ef: int, queries: np.ndarray, allowed: set[str] | None
) -> tuple[list[Found], list[float], str]:
    """Engine search of every query at one ef_search, in a fresh process: an embedded Chroma reads
    ef_search when a process first loads the collection's index, and a later change is not seen.
    `store` is the Chroma folder, the collection and the embedding model recorded on it."""
    path, collection, model = store
    with tempfile.TemporaryDirectory(prefix="engine-run-") as work:
        np.save(Path(work) / "queries.npy", queries)
        if allowed is not None:
            (Path(work) / "allowed.json").write_text(json.dumps(sorted(allowed)))
        command = [
            sys.executable,
            __file__,
            "engine-run",
            "--path",
            str(path),
            "--collection",
            collection,
            "--model",
            model,
        ]
        subprocess.run([*command, "--ef", str(ef), "--work", work], check=True)
        result = json.loads((Path(work) / "found.json").read_text())
    found = [[(cid, score) for cid, score in one] for one in result["found"]]
    return found, result["took"], result["opened"]


def engine_child(args: argparse.Namespace) -> None:
    """The child of `engine_run`."""
    at_start = rss_mb()
    queries = np.load(args.work / "queries.npy")
    allowed_file = args.work / "allowed.json"
    allowed = set(json.loads(allowed_file.read_text())) if allowed_file.exists() else None
    store = ChromaStore(path=args.path, collection=args.collection, embedding_model=args.model)
    engine = EngineSearch(store, args.ef)
    began = time.perf_counter()
    engine.search(queries[0], 40, allowed)  # sets ef_search, then loads the collection's index
    set_to = ((store._col().configuration or {}).get("hnsw") or {}).get("ef_search")
    if set_to != args.ef:
        raise SystemExit(f"ef_search is {set_to}, not {args.ef}: is another process writing to {args.path}?")
    opened = (
        f"first search {time.perf_counter() - began:.1f} s, resident memory +{rss_mb() - at_start:.0f} MB"
    )
    found, took = timed(lambda q: engine.search(q, 40, allowed), queries)
    (args.work / "found.json").write_text(json.dumps({"found": found, "took": took, "opened": opened}))


def compare(
    label: str,
    exact: Callable[[np.ndarray, int], Found],
    store: tuple[Path, str, str],
    queries: np.ndarray,
    *,
    efs: list[int],
    allowed: set[str] | None = None,
) -> None:
    """Print recall and latency of engine search at each ef_search against exact search."""
    truth, exact_took = timed(lambda q: exact(q, 40), queries)
    exact_p95 = percentile_ms(exact_took, 95)
    print(
        f"\n{label}: {len(queries)} queries; "
        f"exact p50 {percentile_ms(exact_took, 50):.1f} ms, p95 {exact_p95:.1f} ms"
    )
    print(
        f"{'ef_search':>9} {'recall@10':>9} {'@10 ties':>9} {'recall@40':>9} {'@40 ties':>9} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p95/exact':>9}"
    )
    opened = ""
    for ef in efs:
        found, took, opened = engine_run(store, ef, queries, allowed)
        p95 = percentile_ms(took, 95)
        print(
            f"{ef:>9} {recall(found, truth, 10):>9.4f} {recall(found, truth, 10, ties=True):>9.4f} "
            f"{recall(found, truth, 40):>9.4f} {recall(found, truth, 40, ties=True):>9.4f} "
            f"{percentile_ms(took, 50):>7.1f} {p95:>7.1f} {p95 / exact_p95:>9.2f}",
            flush=True,
        )
    print(f"a fresh process opening the collection: {opened}")


def dev(args: argparse.Namespace) -> None:
    efs = [int(ef) for ef in args.efs.split(",")]
    from assistant.embedder import make_embedder
    from assistant.settings import load_settings

    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="engine-dev-") as tmp:
        # one copy read here, one searched by the engine-run processes (an embedded store is
        # written by one process at a time: setting ef_search is a write)
        shutil.copytree(args.index / "chroma", Path(tmp) / "chroma")
        shutil.copytree(args.index / "chroma", Path(tmp) / "engine")
        store = ChromaStore(
            path=Path(tmp) / "chroma",
            collection=settings.collection,
            embedding_model=settings.embedding_model,
        )
        ids = sorted(store.all_ids())
        exact = DenseIndex()
        vectors = store.vectors(ids)
        exact.add(vectors)
        questions = [json.loads(line)["question"] for line in args.dataset.read_text().splitlines() if line]
        queries = make_embedder(settings.embedding_model, settings.embedding_batch_size).embed(questions)
        print(f"dev: {len(ids)} chunks, {len(questions)} questions of {args.dataset.name}")
        if args.hnsw:
            rebuild_hnsw(
                Path(tmp) / "engine", settings.collection, settings.embedding_model, vectors, args.hnsw
            )
        where = (Path(tmp) / "engine", settings.collection, settings.embedding_model)
        compare("dev questions, whole index", exact.search, where, queries, efs=efs)
        chunks = store.get_chunks(ids)
        sources = sorted({c.source_id for c in chunks})
        kept = set(sources[::3])
        allowed = {c.chunk_id for c in chunks if c.source_id in kept}
        compare(
            f"dev questions, restricted to {len(kept)} of {len(sources)} sources ({len(allowed)} chunks)",
            lambda q, k: exact.search(q, k, allowed),
            where,
            queries,
            efs=efs,
            allowed=allowed,
        )


def rebuild_hnsw(path: Path, collection: str, model: str, vectors: dict[str, np.ndarray], hnsw: str) -> None:
    """Build the collection at `path` again from the same vectors, with other HNSW construction
    parameters ("max_neighbors,ef_construction"; Chroma's defaults are 16,100)."""
    import chromadb

    neighbours, construction = (int(n) for n in hnsw.split(","))
    client = chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))
    client.delete_collection(collection)
    col = client.create_collection(
        collection,
        metadata={"embedding_model": model},
        configuration={
            "hnsw": {"space": "cosine", "max_neighbors": neighbours, "ef_construction": construction}
        },
        embedding_function=None,
    )
    ids = sorted(vectors)
    rows = np.stack([vectors[cid] for cid in ids])
    began = time.perf_counter()
    for start in range(0, len(ids), BATCH):
        col.add(ids=ids[start : start + BATCH], embeddings=rows[start : start + BATCH])
    print(
        f"rebuilt with max_neighbors={neighbours}, ef_construction={construction}: "
        f"{len(ids) / (time.perf_counter() - began):.0f} chunks/s"
    )
    client.clear_system_cache()
    del col, client
    gc.collect()


def synthetic_batch(number: int, dimensions: int, like: np.ndarray | None = None) -> np.ndarray:
    """Batch `number` of the synthetic chunks: random unit vectors, or, `like` real vectors, each
    0.8 of one real vector, 0.2 of another and noise (cosine about 0.9 to the first)."""
    rng = np.random.default_rng(number)
    if like is None:
        rows = rng.standard_normal((BATCH, dimensions), dtype=np.float32)
    else:
        first, second = rng.integers(len(like), size=(2, BATCH))
        noise = rng.standard_normal((BATCH, like.shape[1]), dtype=np.float32)
        rows = 0.8 * like[first] + 0.2 * like[second] + 0.02 * noise
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def real_vectors(index: Path) -> tuple[np.ndarray, np.ndarray]:
    """The chunk vectors of an index folder (copied first), and its development questions' vectors."""
    from assistant.embedder import make_embedder
    from assistant.settings import load_settings

    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="engine-like-") as tmp:
        shutil.copytree(index / "chroma", Path(tmp) / "chroma")
        store = ChromaStore(
            path=Path(tmp) / "chroma",
            collection=settings.collection,
            embedding_model=settings.embedding_model,
        )
        vectors = store.vectors(sorted(store.all_ids()))
        store._open_client().clear_system_cache()
    dataset = REPO / "evaluation" / "datasets" / "iom-dev.jsonl"
    questions = [json.loads(line)["question"] for line in dataset.read_text().splitlines() if line]
    embedder = make_embedder(settings.embedding_model, settings.embedding_batch_size)
    return np.stack([vectors[cid] for cid in sorted(vectors)]), embedder.embed(questions)


def synthetic(args: argparse.Namespace) -> None:
    efs = [int(ef) for ef in args.efs.split(",")]
    import chromadb

    from assistant.store import HNSW_EF_CONSTRUCTION, HNSW_MAX_NEIGHBORS

    like, questions = real_vectors(args.like) if args.like else (None, None)

    client = chromadb.PersistentClient(
        path=str(args.path), settings=chromadb.Settings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection(
        SYNTHETIC_COLLECTION,
        configuration={  # as assistant/store.py creates a collection
            "hnsw": {
                "space": "cosine",
                "max_neighbors": HNSW_MAX_NEIGHBORS,
                "ef_construction": HNSW_EF_CONSTRUCTION,
            }
        },
        embedding_function=None,
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
            ids=[f"s{number}-{n}" for n in range(BATCH)],
            embeddings=synthetic_batch(number, args.dimensions, like),
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
    client.clear_system_cache()  # closes the store here: the engine-run processes write ef_search
    del collection, client
    gc.collect()
    if args.build_only:
        return

    rng = np.random.default_rng(12345)
    random_queries = rng.standard_normal((args.queries, args.dimensions), dtype=np.float32)
    random_queries /= np.linalg.norm(random_queries, axis=1, keepdims=True)
    rows = np.concatenate([synthetic_batch(n, args.dimensions, like) for n in range(count // BATCH)])
    ids = np.array([f"s{n}-{i}" for n in range(count // BATCH) for i in range(BATCH)])

    def exact(query: np.ndarray, k: int) -> Found:
        scores = rows @ query
        head = np.argpartition(-scores, k)[:k]
        head = head[np.argsort(-scores[head])]
        return [(str(ids[n]), float(scores[n])) for n in head]

    picked = rows[rng.choice(len(rows), args.queries, replace=False)]
    near = picked + 0.06 * rng.standard_normal(picked.shape, dtype=np.float32)  # cosine ~0.65
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    print(f"exact search holds {rows.nbytes / 2**20:.0f} MB of vectors")
    where = (args.path, SYNTHETIC_COLLECTION, "synthetic")
    if questions is not None:
        compare(
            f"synthetic {count} chunks like those of {args.like}, its development questions",
            exact,
            where,
            questions,
            efs=efs,
        )
        return
    compare(f"synthetic {count} chunks, random queries", exact, where, random_queries, efs=efs)
    compare(
        f"synthetic {count} chunks, queries near a stored chunk (cosine ~0.65)", exact, where, near, efs=efs
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="corpus", required=True)
    d = sub.add_parser("dev")
    d.add_argument("--index", type=Path, required=True, help="an index folder (its chroma/ is copied)")
    d.add_argument("--efs", default=EF_SEARCH, help=f"ef_search values to try (default {EF_SEARCH})")
    d.add_argument("--hnsw", help="max_neighbors,ef_construction to build the searched copy with")
    d.add_argument("--dataset", type=Path, default=REPO / "evaluation" / "datasets" / "iom-dev.jsonl")
    s = sub.add_parser("synthetic")
    s.add_argument("--path", type=Path, required=True, help="Chroma folder, built or extended here")
    s.add_argument("--efs", default=EF_SEARCH, help=f"ef_search values to try (default {EF_SEARCH})")
    s.add_argument("--like", type=Path, help="an index folder: chunks mixed from its vectors, its questions")
    s.add_argument("--chunks", type=int, default=1_000_000)
    s.add_argument("--budget-min", type=float, default=30.0)
    s.add_argument("--dimensions", type=int, default=384)
    s.add_argument("--queries", type=int, default=200)
    s.add_argument("--build-only", action="store_true", help="insert, then stop before measuring")
    r = sub.add_parser("engine-run", help="(internal) one ef_search in a fresh process")
    r.add_argument("--path", type=Path, required=True)
    r.add_argument("--collection", required=True)
    r.add_argument("--model", required=True)
    r.add_argument("--ef", type=int, required=True)
    r.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    {"dev": dev, "synthetic": synthetic, "engine-run": engine_child}[args.corpus](args)


if __name__ == "__main__":
    main()
