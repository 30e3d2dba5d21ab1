"""The index: one embedder, one chunk store and the manifest, opened from settings."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.embedder import Embedder, embedder_identity, make_embedder
from assistant.manifest import Manifest
from assistant.settings import Settings
from assistant.store import ChromaStore


@dataclass
class Index:
    """What ingest writes and retrieval reads. Nothing opens until first used."""

    embedder: Embedder
    store: ChromaStore
    manifest: Manifest

    @classmethod
    def from_settings(cls, settings: Settings) -> Index:
        """Wire the configured embedder, Chroma (embedded or server) and manifest."""
        embedder = make_embedder(
            settings.embedding_model,
            settings.embedding_batch_size,
            settings.embedder_backend,
            settings.encoder_cache_path,
            settings.compute_threads,
        )
        store = ChromaStore(
            path=None if settings.chroma_host else settings.index_dir / "chroma",
            host=settings.chroma_host,
            port=settings.chroma_port,
            collection=settings.collection,
            embedding_model=embedder_identity(settings.embedding_model, settings.embedder_backend),
            ef_search=settings.engine_ef_search if settings.dense_vectors == "engine" else None,
        )
        return cls(embedder=embedder, store=store, manifest=Manifest(settings.index_dir / "manifest.sqlite3"))

    @property
    def store_identity(self) -> str:
        """Which store the manifest describes; a manifest of another store is discarded."""
        return f"{self.store.location}/{self.store.collection_name}/{self.store.model}"
