"""The sentence-transformers model as a dynamically quantized (int8) ONNX encoder.

The ONNX file is exported locally, from the same model folder the torch backend reads
(never downloaded): the BERT encoder through `torch.onnx.export`, its fixed-weight matrix
products quantized to int8 by `onnxruntime.quantization.quantize_dynamic`. It is written
once into a cache folder, named by a hash of the model's weights and of this recipe, on
first use or ahead of time with `python -m assistant.onnx_encoder`. At run time only
onnxruntime and the `tokenizers` library are needed (no torch); mean pooling and L2
normalisation are done here, as the model's own sentence-transformers modules do.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ConfigurationError

log = logging.getLogger(__name__)

# Bump when the export or quantization changes: the cache file name includes it.
RECIPE = "bert-meanpool-qint8-perchannel-reducerange-matmul-constb-v1"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _model_hash(model_path: Path) -> str:
    digest = hashlib.sha256(RECIPE.encode())
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
            f"the onnx-int8 embedder backend supports mean-pooled, normalised models; {model_path} is "
            f"{kinds} with pooling {pooling}. Set IOM_ASSISTANT_EMBEDDER_BACKEND=torch."
        )


def export_int8(model_path: Path, target: Path) -> None:
    """Export the model folder's encoder to ONNX and quantize it to int8 into `target`."""
    _check_pooling(model_path)
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
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
        fp32 = Path(tmp) / "fp32.onnx"
        sample = torch.ones(2, 8, dtype=torch.long)
        axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on BERT's Python branches, all benign here
            torch.onnx.export(
                Encoder(),
                (sample, sample, torch.zeros_like(sample)),
                str(fp32),
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        quantized = Path(tmp) / "int8.onnx"
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
        os.replace(quantized, target)  # atomic: a concurrent first use sees the whole file or none


def int8_model_file(model_path: Path, cache_dir: Path) -> Path:
    """The cached int8 ONNX file of this model folder, exported first when missing."""
    target = cache_dir / f"{model_path.parent.name}-{model_path.name}-{_model_hash(model_path)}-int8.onnx"
    if not target.is_file():
        log.info("exporting %s to int8 ONNX in %s (once)", model_path, target)
        export_int8(model_path, target)
    return target


class OnnxInt8Embedder:
    """A mean-pooled sentence-transformers model run as int8 ONNX; loaded on first use."""

    def __init__(self, name: str, model_path: Path, cache_dir: Path, batch_size: int) -> None:
        self.name = name
        self.model_path = model_path
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self._session: Any = None
        self._tokenizer: Any = None
        self._counter: Any = None
        self._max_tokens = 0
        self._lock = threading.Lock()  # loading, and one run at a time (onnxruntime uses every core)
        self._count_lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        if self._session is None:
            import onnxruntime
            from tokenizers import Tokenizer

            config = json.loads((self.model_path / "sentence_bert_config.json").read_text(encoding="utf-8"))
            self._max_tokens = int(config.get("max_seq_length") or 256) - 2
            tokenizer = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
            tokenizer.enable_truncation(self._max_tokens + 2)
            tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
            options = onnxruntime.SessionOptions()
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            file = int8_model_file(self.model_path, self.cache_dir)
            self._session = onnxruntime.InferenceSession(
                str(file), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = tokenizer
        return self._session, self._tokenizer

    @property
    def max_tokens(self) -> int:
        with self._lock:
            self._load()
        return self._max_tokens

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        out: np.ndarray | None = None
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths pad less
        with self._lock:
            session, tokenizer = self._load()
            for start in range(0, len(texts), self.batch_size):
                rows = order[start : start + self.batch_size]
                encoded = tokenizer.encode_batch([texts[i] for i in rows])
                ids = np.array([e.ids for e in encoded], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
                (hidden,) = session.run(
                    None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                )
                weights = mask[..., None].astype(np.float32)
                pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
                pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
                if out is None:
                    out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
                out[rows] = pooled
        assert out is not None
        return out

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
    """Export the configured model's int8 ONNX file ahead of the first ingest."""
    from assistant.embedder import resolve_model_path
    from assistant.settings import load_settings

    parser = argparse.ArgumentParser(
        description="Export the embedding model to int8 ONNX (from local files only)."
    )
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    settings = load_settings()
    model_path = Path(resolve_model_path(settings.embedding_model))
    print(int8_model_file(model_path, settings.encoder_cache_path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
