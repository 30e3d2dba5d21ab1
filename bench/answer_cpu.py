"""CPU per extractive answer, with and without the answering service's vector cache.

Most of an answer's CPU is the embedder: the question and about ten passage sentences. The
service keeps the vectors of recent texts (`CACHED_VECTORS`); this benchmark asks every question
of the development set once, in one process, first with the cache off (the baseline) and then
with it on, and then the same questions again (users repeating questions), and last with the
cache off and every core's threads (`COMPUTE_THREADS` set to the cores, what torch and numpy
choose by themselves). It prints CPU milliseconds per answer (user + system time of this
process, every thread's) as ratios against the baseline, and the process's peak resident memory
after the baseline, when it held one service. The questions are distinct, so the first cached
pass gains only from sentences that recur across questions.

    .venv/bin/python bench/answer_cpu.py --index-dir DIR   # an index of the shared corpus
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.service import AssistantService  # noqa: E402
from assistant.settings import DEFAULT_CACHED_VECTORS, DEFAULT_COMPUTE_THREADS, load_settings  # noqa: E402
from evaluation.dataset import load_dataset  # noqa: E402

DATASET = REPO / "evaluation" / "datasets" / "iom-dev.jsonl"


def cpu_ms_per_answer(service: AssistantService, questions: list[str]) -> float:
    """CPU milliseconds this process spends per answer over the questions, asked in order (the
    wall-clock milliseconds are printed, for what threads save in time)."""
    start, started = time.process_time(), time.perf_counter()
    for question in questions:
        service.ask(question)
    print(f"  ({1000 * (time.perf_counter() - started) / len(questions):.0f} ms per answer by the clock)")
    return 1000 * (time.process_time() - start) / len(questions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index-dir", type=Path, required=True, help="an index of the shared corpus")
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    questions = [c.question for c in load_dataset(DATASET) if not c.history]
    questions = questions[: args.limit] if args.limit else questions

    def service(cached: int, threads: int = DEFAULT_COMPUTE_THREADS) -> AssistantService:
        settings = load_settings(index_dir=args.index_dir, cached_vectors=cached, compute_threads=threads)
        built = AssistantService(settings)
        built.warm_up()
        built.ask("What does IOM do?")  # load what loads lazily before timing
        return built

    baseline = cpu_ms_per_answer(service(0), questions)
    resident_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB
    cached = service(DEFAULT_CACHED_VECTORS)
    first = cpu_ms_per_answer(cached, questions)
    again = cpu_ms_per_answer(cached, questions)
    cores = os.cpu_count() or 1
    every_core = cpu_ms_per_answer(service(0, threads=cores), questions)
    print(f"{len(questions)} distinct questions, CPU ms per answer (ratio to no cache):")
    print(f"  no cache (baseline)        {baseline:7.1f}  1.00")
    print(f"  cache, first time asked    {first:7.1f}  {first / baseline:.2f}")
    print(f"  cache, asked again         {again:7.1f}  {again / baseline:.2f}")
    print(f"  no cache, {cores} threads       {every_core:7.1f}  {every_core / baseline:.2f}")
    print(f"peak resident memory with one service: {resident_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
