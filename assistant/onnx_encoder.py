"""The sentence-transformers model as an ONNX encoder, full precision (fp32) or int8.

The ONNX file is exported locally, from the same model folder the torch backend reads
(never downloaded): the BERT encoder through `torch.onnx.export`, and for `int8` its
fixed-weight matrix products then quantized by `onnxruntime.quantization.quantize_dynamic`
(the only difference between the two). It is written once into a cache folder, named by a
hash of the model's weights and of its recipe, ahead of time with `python -m
assistant.onnx_encoder` (`make encoder`) or on first use, in a child process: exporting needs
torch, and a process that answers never imports it. At run time only onnxruntime and the
`tokenizers` library are needed; mean pooling and L2 normalisation are done here, as the
model's own sentence-transformers modules do. The fp32 file's vectors match torch's within
float rounding (README, Benchmarks). Just over 300 lines: the export and the runtime of one file
change together.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assistant.embedder import FEW_TEXTS
from assistant.errors import ConfigurationError
from assistant.length_groups import in_text_order, length_groups

log = logging.getLogger(__name__)

Precision = Literal["fp32", "int8"]
# Bump when the export or quantization changes: the cache file name includes it.
RECIPES: dict[Precision, str] = {
    "fp32": "bert-meanpool-fp32-v1",
    "int8": "bert-meanpool-qint8-perchannel-reducerange-matmul-constb-v1",
}
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _model_hash(model_path: Path, precision: Precision) -> str:
    digest = hashlib.sha256(RECIPES[precision].encode())
    for name in ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json"):
        file = model_path / name
        if file.is_file():
            digest.update(name.encode())
            with file.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def _check_pooling(model_path: Path) -> None:
    """Only mean pooling with L2 normalisation is reproduced here; refuse anything else."""
    modules = json.loads((model_path / "modules.json").read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    pooling = json.loads((model_path / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    if kinds != ["Transformer", "Pooling", "Normalize"] or not pooling.get("pooling_mode_mean_tokens"):
        raise ConfigurationError(
            f"the ONNX embedder backends support mean-pooled, normalised models; {model_path} is "
            f"{kinds} with pooling {pooling}. Set IOM_ASSISTANT_EMBEDDER_BACKEND=torch."
        )


def export(model_path: Path, target: Path, precision: Precision) -> None:
    """Export the model folder's encoder to ONNX into `target`, quantized to int8 if asked."""
    _check_pooling(model_path)
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        exported = Path(tmp) / "fp32.onnx"
        sample = torch.ones(2, 8, dtype=torch.long)
        axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on BERT's Python branches, all benign here
            torch.onnx.export(
                Encoder(),
                (sample, sample, torch.zeros_like(sample)),
                str(exported),
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        if precision == "int8":
            exported = _quantize(exported)
        os.replace(exported, target)  # atomic: a concurrent first use sees the whole file or none


def _quantize(fp32: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantized = fp32.with_name("int8.onnx")
    # Measured on 120 passages against sentence-transformers fp32 (cosine min / mean):
    # per-tensor int8 weights 0.60 / 0.905; per-channel 0.98 / 0.994 on this AVX512-VNNI
    # machine; per-channel with reduce_range 0.973 / 0.990 and safe from the u8s8
    # saturation that CPUs without VNNI suffer, so the same file behaves alike everywhere.
    # Only products with a fixed weight matrix (not attention's activation x activation).
    quantize_dynamic(
        str(fp32),
        str(quantized),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        op_types_to_quantize=["MatMul"],
        extra_options={"MatMulConstBOnly": True},
    )
    return quantized


def _file_name(model_path: Path, cache_dir: Path, precision: Precision) -> Path:
    digest = _model_hash(model_path, precision)
    return cache_dir / f"{model_path.parent.name}-{model_path.name}-{digest}-{precision}.onnx"


def model_file(model_path: Path, cache_dir: Path, precision: Precision) -> Path:
    """The cached ONNX file of this model folder, exported first when missing: in a child
    process, so that torch (which exporting needs) never loads into this one."""
    target = _file_name(model_path, cache_dir, precision)
    if not target.is_file():
        log.info("exporting %s to %s ONNX in %s (once)", model_path, precision, target)
        # this package's own code in the child (not another copy on its path)
        package_root = str(Path(__file__).resolve().parents[1])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
        }
        command = [sys.executable, "-m", "assistant.onnx_encoder", "--precision", precision]
        command += ["--model-path", str(model_path), "--cache-dir", str(cache_dir)]
        exported = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=False)
        if exported.returncode != 0 or not target.is_file():
            raise ConfigurationError(
                f"exporting {model_path} to ONNX failed (exit code {exported.returncode}, see the error "
                "above); run `python -m assistant.onnx_encoder` to retry, or set "
                "IOM_ASSISTANT_EMBEDDER_BACKEND=torch."
            )
    return target


class OnnxEmbedder:
    """A mean-pooled sentence-transformers model run by onnxruntime; loaded on first use.

    `threads`: onnxruntime's threads for an encoding of `FEW_TEXTS` or fewer (settings.COMPUTE_THREADS;
    0: onnxruntime's own choice, one per core); larger ones (ingest's batches) get its own choice.
    Each thread count has its own session, made when first needed: a process that only answers
    (or only ingests) holds one."""

    def __init__(
        self,
        name: str,
        model_path: Path,
        cache_dir: Path,
        batch_size: int,
        *,
        precision: Precision = "fp32",
        threads: int = 0,
    ) -> None:
        self.name = name
        self.model_path = model_path
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.precision = precision
        self.threads = threads
        self._sessions: dict[int, Any] = {}
        self._tokenizer: Any = None
        self._counter: Any = None
        self._max_tokens = 0
        self._lock = threading.Lock()  # loading, and one run at a time
        self._count_lock = threading.Lock()

    def _load_tokenizer(self) -> Any:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            config = json.loads((self.model_path / "sentence_bert_config.json").read_text(encoding="utf-8"))
            self._max_tokens = int(config.get("max_seq_length") or 256) - 2
            tokenizer = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
            tokenizer.enable_truncation(self._max_tokens + 2)
            tokenizer.no_padding()  # padded here, per group of like length
            self._tokenizer = tokenizer
        return self._tokenizer

    def _session(self, threads: int) -> Any:
        if threads not in self._sessions:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = threads  # 0: one per core
            options.inter_op_num_threads = 1  # the graph runs sequentially: no pool between operators
            file = model_file(self.model_path, self.cache_dir, self.precision)
            self._sessions[threads] = onnxruntime.InferenceSession(
                str(file), options, providers=["CPUExecutionProvider"]
            )
        return self._sessions[threads]

    @property
    def max_tokens(self) -> int:
        with self._lock:
            self._load_tokenizer()
        return self._max_tokens

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            session = self._session(self.threads if len(texts) <= FEW_TEXTS else 0)
            encoded = self._load_tokenizer().encode_batch(list(texts))
            lengths = [len(e.ids) for e in encoded]
            if len(texts) <= self.batch_size:  # a few: in groups of like length, as torch's backend
                groups = length_groups(lengths)
            else:  # many: batches of like length (sentence-transformers sorts them too)
                order = sorted(range(len(texts)), key=lambda i: -lengths[i])
                groups = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
            pooled = [self._encode(session, [encoded[i] for i in group]) for group in groups]
        return in_text_order(groups, pooled)

    def _encode(self, session: Any, encoded: list[Any]) -> np.ndarray:
        """The mean-pooled, normalised vectors of tokenized texts, padded to the longest."""
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)  # padded with 0 ([PAD]): the mask hides it
        mask = np.zeros_like(ids)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        (hidden,) = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.asarray(pooled, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        with self._count_lock:
            if self._counter is None:
                from tokenizers import Tokenizer

                self._counter = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
                self._counter.no_truncation()
                self._counter.no_padding()
            encoded = self._counter.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encoded]


def main(argv: list[str] | None = None) -> int:
    """Export the configured model's ONNX file (EMBEDDER_BACKEND's precision) ahead of first use."""
    from assistant.embedder import resolve_model_path
    from assistant.settings import load_settings

    parser = argparse.ArgumentParser(
        description="Export the embedding model to ONNX (from local files only)."
    )
    parser.add_argument(
        "--precision",
        choices=["fp32", "int8"],
        help="which file; default: EMBEDDER_BACKEND's (int8 for onnx-int8, else fp32)",
    )
    parser.add_argument("--model-path", type=Path, help="default: EMBEDDING_MODEL's folder")
    parser.add_argument("--cache-dir", type=Path, help="default: ENCODER_CACHE_DIR")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    settings = load_settings()
    precision: Precision = args.precision or ("int8" if settings.embedder_backend == "onnx-int8" else "fp32")
    model_path = args.model_path or Path(resolve_model_path(settings.embedding_model))
    cache_dir = args.cache_dir or settings.encoder_cache_path
    target = _file_name(model_path, cache_dir, precision)
    if not target.is_file():
        export(model_path, target, precision)
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
