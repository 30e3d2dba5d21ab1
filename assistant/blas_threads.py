"""numpy's BLAS threads, limited for the whole process.

numpy's OpenBLAS starts a worker per core and, after each product, lets it spin waiting for the
next: an answer's few small products (the question against every chunk vector, the sentences
against the question, the cross-lingual encoder's layers) kept a second core busy for about
100 ms of CPU per answer on 2 cores, for no gain in time (bench/answer_cpu.py). The limit is
set, not read, at start: the service applies settings.COMPUTE_THREADS when it is built.
"""

from __future__ import annotations


def limit_blas_threads(threads: int) -> None:
    """Let numpy's BLAS use at most `threads` threads from now on (0 leaves its own choice)."""
    if threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")
