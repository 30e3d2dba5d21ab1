"""COMPUTE_THREADS reaches numpy's BLAS: no worker spins on the other cores between an answer's
products."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from assistant.blas_threads import limit_blas_threads

pytestmark = pytest.mark.unit


def blas_threads() -> list[int]:
    """The threads of each BLAS loaded (numpy's, which this module imports)."""
    assert np.ones((2, 2)) @ np.ones(2) == pytest.approx([2.0, 2.0])
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_numpy_blas_keeps_to_the_threads_it_is_given_and_zero_leaves_it() -> None:
    before = max(blas_threads(), default=1)
    try:
        limit_blas_threads(1)
        assert blas_threads() and set(blas_threads()) == {1}
        limit_blas_threads(0)
        assert set(blas_threads()) == {1}
    finally:
        threadpool_limits(limits=before, user_api="blas")
