"""CPU per extractive answer, with and without the answering service's vector cache.

Most of an answer's CPU is the embedder: the question and about ten passage sentences. The
service keeps the vectors of recent texts (`CACHED_VECTORS`); this benchmark asks every question
of the development set once, in one process, first with the cache off (the baseline) and then
with it on, and then the same questions again (users repeating questions), and prints CPU
milliseconds per answer (user + system time of this process, torch's threads included) as
ratios against the baseline. The questions are distinct, so the first cached pass gains only
from sentences that recur across questions.

    .venv/bin/python bench/answer_cpu.py --index-dir DIR   # an index of the shared corpus
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.service import AssistantService  # noqa: E402
from assistant.settings import DEFAULT_CACHED_VECTORS, load_settings  # noqa: E402
from evaluation.dataset import load_dataset  # noqa: E402

DATASET = REPO / "evaluation" / "datasets" / "iom-dev.jsonl"


def cpu_ms_per_answer(service: AssistantService, questions: list[str]) -> float:
    """CPU milliseconds this process spends per answer over the questions, asked in order."""
    start = time.process_time()
    for question in questions:
        service.ask(question)
    return 1000 * (time.process_time() - start) / len(questions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index-dir", type=Path, required=True, help="an index of the shared corpus")
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    questions = [c.question for c in load_dataset(DATASET) if not c.history]
    questions = questions[: args.limit] if args.limit else questions

    def service(cached: int) -> AssistantService:
        built = AssistantService(load_settings(index_dir=args.index_dir, cached_vectors=cached))
        built.warm_up()
        built.ask("What does IOM do?")  # load what loads lazily before timing
        return built

    baseline = cpu_ms_per_answer(service(0), questions)
    cached = service(DEFAULT_CACHED_VECTORS)
    first = cpu_ms_per_answer(cached, questions)
    again = cpu_ms_per_answer(cached, questions)
    print(f"{len(questions)} distinct questions, CPU ms per answer (ratio to no cache):")
    print(f"  no cache (baseline)        {baseline:7.1f}  1.00")
    print(f"  cache, first time asked    {first:7.1f}  {first / baseline:.2f}")
    print(f"  cache, asked again         {again:7.1f}  {again / baseline:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
