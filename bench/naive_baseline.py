"""The naive LangChain pipeline of the tutorials, scored side by side with ours on the same questions.

Naive: the text of each file (extracted by our loaders, so both pipelines read the same
words) split by `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`,
embedded by the same all-MiniLM-L6-v2, stored in a LangChain `Chroma` vector store, and
the top 4 by similarity handed to an LLM with the LangChain RAG tutorial prompt.
Ours: `AssistantService` over the full index, with the extractive provider and, when an
LLM endpoint is given, the openai provider against the same endpoint.

Both are scored by `evaluation.scoring`, so every figure means the same thing in each
column. The naive answers carry no citation markers; to judge their grounding at all,
each of their sentences is checked against all four retrieved passages (generous to
the naive pipeline). A naive answer counts as a refusal when it says it does not know.
Without `--llm-url` the naive column has retrieval figures only.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/naive_baseline.py [--index DIR] [--llm-url http://127.0.0.1:8080/v1] [--sample N]

A tiny CPU model takes seconds per answer: `--sample 40` keeps the LLM columns within minutes,
and `IOM_ASSISTANT_LLM_TIMEOUT_S=180` gives it time to read four long passages.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from langchain_chroma import Chroma  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402
from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from assistant.answer import Answer, Citation, RetrievedPassage  # noqa: E402
from assistant.embedder import Embedder  # noqa: E402
from assistant.errors import DocumentError  # noqa: E402
from assistant.index import Index  # noqa: E402
from assistant.service import AssistantService  # noqa: E402
from assistant.settings import Settings, load_settings  # noqa: E402
from evaluation.corpus import evaluation_corpus  # noqa: E402
from evaluation.dataset import EvalCase, load_dataset  # noqa: E402
from evaluation.scoring import aggregate, evaluate  # noqa: E402
from ingest.discovery import DEFAULT_IGNORE, discover, distinct_source_ids  # noqa: E402
from ingest.loaders import load_document  # noqa: E402
from ingest.pipeline import IngestOptions, Ingestor  # noqa: E402

DEV_SET = REPO / "evaluation" / "datasets" / "iom-dev.jsonl"
# The prompt of the LangChain RAG tutorial (hub "rlm/rag-prompt").
TUTORIAL_PROMPT = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved context "
    "to answer the question. If you don't know the answer, just say that you don't know. Use three "
    "sentences maximum and keep the answer concise.\nQuestion: {question} \nContext: {context} \nAnswer:"
)
DONT_KNOW = re.compile(
    r"\b(don'?t|do not|does not|doesn'?t) (know|mention|say|provide|contain)|not (mentioned|provided)"
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
ROWS = (
    "hit@1",
    "hit@5",
    "mrr@10",
    "evidence_recall@5",
    "key_fact_recall",
    "token_f1",
    "semantic_similarity",
    "grounded_sentence_rate",
    "citation_precision",
    "correct_refusal_rate",
    "false_refusal_rate",
    "latency_ms_p50",
    "latency_ms_p95",
)


class SameEmbeddings(Embeddings):
    """Our embedder as LangChain `Embeddings`: the same model and vectors in both pipelines."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.embedder.embed(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embedder.embed([text])[0]]


def build_naive_store(roots: Sequence[Path], embeddings: Embeddings, folder: Path) -> tuple[Chroma, int]:
    """Split every file of the corpus with the tutorial defaults into a fresh Chroma collection."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    files, _, _ = discover(roots, DEFAULT_IGNORE)
    files, _ = distinct_source_ids(files, {})  # the ids our ingest gives a fresh index
    documents = []
    for file in files:
        try:
            loaded = load_document(file.path, file.source_id)
        except DocumentError:
            continue
        documents.append(Document(loaded.text, metadata={"source_id": file.source_id, "title": loaded.title}))
    chunks = splitter.split_documents(documents)
    store = Chroma("naive", embedding_function=embeddings, persist_directory=str(folder))
    for start in range(0, len(chunks), 256):
        store.add_documents(chunks[start : start + 256])
    return store, len(chunks)


def naive_answerer(
    store: Chroma, llm: ChatOpenAI | None, failures: list[str]
) -> Callable[[EvalCase], Answer]:
    """The tutorial chain: top-4 similarity, stuffed into the prompt, the LLM's words as the answer.

    The tutorial has no fallback: a failed LLM call gives an empty answer (scored as a refusal)
    and its question id is appended to `failures`.
    """

    def ask(case: EvalCase) -> Answer:
        start = time.perf_counter()
        hits = store.similarity_search_with_score(case.question, k=4)
        retrieved = [
            RetrievedPassage(
                rank=i + 1,
                chunk_id=f"naive-{i}",
                source_id=doc.metadata["source_id"],
                page=None,
                score=float(distance),
                text=doc.page_content,
                title=doc.metadata["title"],
            )
            for i, (doc, distance) in enumerate(hits)
        ]
        text, refused, citations = "", True, []
        if llm is not None:
            context = "\n\n".join(p.text for p in retrieved)
            try:
                reply = llm.invoke(
                    TUTORIAL_PROMPT.format(question=case.question, context=context), max_tokens=300
                )
                text = str(reply.content).strip()
            except Exception as exc:  # openai/httpx raise many types for a slow or dead server
                failures.append(f"{case.id}: {type(exc).__name__}")
            refused = not text or bool(DONT_KNOW.search(text.lower()))
            citations = [
                Citation(
                    n=p.rank,
                    source_id=p.source_id,
                    title=p.title,
                    page=None,
                    url=None,
                    quote=p.text,
                    score=p.score,
                )
                for p in retrieved
            ]
            markers = "".join(f"[{p.rank}]" for p in retrieved)
            text = " ".join(f"{s} {markers}" for s in SENTENCE_END.split(text) if s.strip())
        total = (time.perf_counter() - start) * 1000
        return Answer(text, refused, citations, retrieved, provider="naive", timings_ms={"total": total})

    return ask


def our_index(index_dir: Path | None, workdir: Path, **llm: str | None) -> Settings:
    """Settings of an index of corpus/ and the shared corpus: the one given, or a fresh one."""
    settings = load_settings(index_dir=index_dir or workdir / "ours", corpus_dir=REPO / "corpus", **llm)
    if index_dir is None:
        index = Index.from_settings(settings)
        options = IngestOptions.from_settings(settings, progress=True)
        Ingestor(index, options).run([REPO / "corpus", evaluation_corpus()])
        index.manifest.close()
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", type=Path, help="an index of corpus/ and the shared corpus to reuse")
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    parser.add_argument("--llm-url", help="OpenAI-compatible endpoint for the LLM columns")
    parser.add_argument("--llm-model", default="default")
    parser.add_argument("--sample", type=int, help="score only this many questions, evenly spread")
    args = parser.parse_args()
    cases = load_dataset(args.dataset)
    if args.sample and args.sample < len(cases):  # evenly spread, so every kind of question stays
        step = len(cases) / args.sample
        cases = [cases[int(i * step)] for i in range(args.sample)]

    with tempfile.TemporaryDirectory(prefix="naive-") as tmp:
        settings = our_index(args.index, Path(tmp), llm_base_url=args.llm_url, llm_model=args.llm_model)
        service = AssistantService(settings)
        service.warm_up()
        embedder = service.index.embedder
        columns: dict[str, dict[str, Any]] = {}

        def ours(provider: str) -> Callable[[EvalCase], Answer]:
            return lambda case: service.ask(case.question, history=case.history, provider=provider)

        columns["ours extractive"] = aggregate(evaluate(ours("extractive"), embedder, cases, progress=True))
        started = time.perf_counter()
        store, n_chunks = build_naive_store(
            [REPO / "corpus", evaluation_corpus()], SameEmbeddings(embedder), Path(tmp) / "naive"
        )
        print(f"naive store: {n_chunks} chunks in {time.perf_counter() - started:.0f} s")
        llm = None
        if args.llm_url:
            llm = ChatOpenAI(
                base_url=args.llm_url,
                api_key=SecretStr("not-needed"),
                model=args.llm_model,
                temperature=0,
                timeout=settings.llm_timeout_s,
            )
            columns["ours openai"] = aggregate(evaluate(ours("openai"), embedder, cases, progress=True))
        failures: list[str] = []
        naive = aggregate(evaluate(naive_answerer(store, llm, failures), embedder, cases, progress=True))
        if failures:
            print(f"naive LLM calls that failed ({len(failures)}): {', '.join(failures)}")
        if llm is None:  # no answers to score, only what was retrieved
            naive = {k: v for k, v in naive.items() if k.startswith(("hit@", "mrr", "evidence"))}
        columns["naive LangChain"] = naive
    print_table(columns, len(cases))


def print_table(columns: dict[str, dict[str, Any]], n: int) -> None:
    names = list(columns)
    print(f"\n{n} questions; naive hit@5 is over its 4 passages")
    print(f"{'metric':<24}" + "".join(f"{name:>18}" for name in names))
    for row in ROWS:
        cells = [columns[name].get(row) for name in names]
        print(f"{row:<24}" + "".join(f"{'-' if c is None else c:>18}" for c in cells))


if __name__ == "__main__":
    main()
