"""The vector store: the only module that talks to Chroma.

`ChromaStore` opens an embedded `PersistentClient` in the index folder, or a Chroma
server over HTTP when a host is configured; telemetry is always off. The collection
remembers which embedding model built it, so vectors of two models never mix.
Over 300 lines: every Chroma call of the project, behind this one interface, so no other
module imports chromadb.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.access import GROUP_SEPARATOR
from assistant.documents import Chunk
from assistant.errors import ConfigurationError, IndexUnavailableError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

log = logging.getLogger(__name__)

# The HNSW graph of a collection created for engine search (`ef_search` given, DENSE_VECTORS=engine):
# twice Chroma's default neighbours (16) and construction effort (100). Fixed once the collection
# exists; on the development questions it finds 99.3% of the exact top 10 at ef_search 400, where
# Chroma's defaults need 1600 (bench/engine_search.py), for about 256 bytes more a chunk. It
# halves the insertion rate, so a collection searched exactly keeps Chroma's defaults.
HNSW_MAX_NEIGHBORS = 32
HNSW_EF_CONSTRUCTION = 200

_META_FIELDS = ("source_id", "title", "format", "page", "heading", "language", "published", "url")
# Collection metadata: the time an ingest run that changed the collection ended. Every process that
# reads the store (a replica on another host included) compares it with the one it saw last and
# brings its in-memory indexes in step: new chunks in, removed ones out, and the chunks written since
# (UPDATED_AT, in each chunk's metadata, same clock) re-read for their new readers or title.
GENERATION = "generation"
UPDATED_AT = "updated_at"


# Chroma's distance of each HNSW space as the cosine similarity of normalised vectors.
_SIMILARITY = {
    "cosine": lambda d: 1.0 - d,
    "ip": lambda d: 1.0 - d,
    "l2": lambda d: 1.0 - d / 2.0,  # squared euclidean distance
}


def chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
    """Chunk fields as Chroma metadata (Chroma stores no None values)."""
    meta: dict[str, str | int] = {"ordinal": chunk.ordinal, "text_sha": text_sha(chunk)}
    for name in _META_FIELDS:
        value = getattr(chunk, name)
        if value is not None:
            meta[name] = value
    # always written: an update keeps the keys it is not given, and everyone's is ""
    meta["groups"] = GROUP_SEPARATOR.join(chunk.groups)
    for key, value in chunk.extra.items():
        meta[f"x_{key}"] = value
    return meta


def text_sha(chunk: Chunk) -> str:
    """Digest of exactly what the embedder reads: equal digests mean equal vectors."""
    return hashlib.sha256(chunk.embedding_text().encode()).hexdigest()[:32]


def chunk_from_record(chunk_id: str, text: str, meta: Mapping[str, Any]) -> Chunk:
    """Rebuild a Chunk from what Chroma returns."""
    page = meta.get("page")
    return Chunk(
        chunk_id=chunk_id,
        source_id=str(meta.get("source_id", "")),
        text=text,
        title=str(meta.get("title", "")),
        format=str(meta.get("format", "")),
        ordinal=int(meta.get("ordinal", 0)),
        page=int(page) if page is not None else None,
        heading=meta.get("heading"),
        language=meta.get("language"),
        published=meta.get("published"),
        url=meta.get("url"),
        groups=tuple(str(meta["groups"]).split(GROUP_SEPARATOR)) if meta.get("groups") else (),
        extra={k[2:]: str(v) for k, v in meta.items() if k.startswith("x_")},
    )


def _settings_for(identity: str) -> str:
    """The settings that name an embedder identity (`embedder_identity`): model and backend."""
    model, _, backend = identity.partition(" (")
    backend = backend.rstrip(")") or "torch"
    return f"IOM_ASSISTANT_EMBEDDING_MODEL={model}, IOM_ASSISTANT_EMBEDDER_BACKEND={backend}"


class ChromaStore:
    """Chunks in one Chroma collection, embedded on disk or on a Chroma server.

    The client opens on first use. `embedding_model` is recorded on the collection
    when it is created and checked every time it is opened.
    """

    def __init__(
        self,
        *,
        path: Path | None,
        collection: str,
        embedding_model: str,
        host: str | None = None,
        port: int | None = None,  # the Chroma server's, given with `host`
        ef_search: int | None = None,
    ) -> None:
        if path is None and host is None:
            raise ConfigurationError("ChromaStore needs an index folder or a Chroma server host.")
        if host is not None and port is None:
            raise ConfigurationError("ChromaStore needs the Chroma server's port with its host.")
        self.path = path
        self.host = host
        self.port = port
        self.collection_name = collection
        self.model = embedding_model
        # HNSW ef_search of a collection created here for engine search (None: searched exactly)
        self.ef_search = ef_search
        self._client: ClientAPI | None = None
        self._collection: Collection | None = None
        self._tuning_failed: Any = None  # the collection whose ef_search could not be set

    @property
    def location(self) -> str:
        """Where the index lives, for messages."""
        return f"chroma server {self.host}:{self.port}" if self.host else f"index folder {self.path}"

    def _open_client(self) -> ClientAPI:
        if self._client is None:
            import chromadb

            settings = chromadb.Settings(anonymized_telemetry=False)
            try:
                if self.host:
                    assert self.port is not None
                    self._client = chromadb.HttpClient(host=self.host, port=self.port, settings=settings)
                else:
                    assert self.path is not None
                    self.path.mkdir(parents=True, exist_ok=True)
                    self._client = chromadb.PersistentClient(path=str(self.path), settings=settings)
            except Exception as exc:  # chromadb raises many types for "cannot connect"
                raise IndexUnavailableError(
                    f"cannot open the {self.location}: {exc}. Check IOM_ASSISTANT_CHROMA_HOST/PORT "
                    "or IOM_ASSISTANT_INDEX_DIR."
                ) from exc
        return self._client

    def _col(self) -> Collection:
        if self._collection is None:
            client = self._open_client()
            collection = client.get_or_create_collection(
                self.collection_name,
                metadata={"embedding_model": self.model},
                configuration={"hnsw": self._hnsw()},
                embedding_function=None,
            )
            built_with = (collection.metadata or {}).get("embedding_model")
            if built_with and built_with != self.model:
                raise IndexUnavailableError(
                    f"the {self.location} was built with embedding model {built_with!r} but "
                    f"{self.model!r} is configured; vectors of two models cannot be mixed. "
                    "Run `iom-assistant ingest --rebuild` to re-embed everything with the new model, "
                    f"or configure the model that built it ({_settings_for(built_with)})."
                )
            self._collection = collection
        return self._collection

    def _hnsw(self) -> Any:
        hnsw: dict[str, Any] = {"space": "cosine"}
        if self.ef_search is not None:
            hnsw |= {
                "max_neighbors": HNSW_MAX_NEIGHBORS,
                "ef_construction": HNSW_EF_CONSTRUCTION,
                "ef_search": self.ef_search,
            }
        return hnsw

    def embedding_model(self) -> str | None:
        client = self._open_client()
        try:
            collection = client.get_collection(self.collection_name, embedding_function=None)
        except Exception:  # the collection does not exist yet
            return None
        return (collection.metadata or {}).get("embedding_model")

    def generation(self) -> str | None:
        """The GENERATION the last ingest run wrote, read afresh from Chroma (None before any).

        A collection dropped and created again by `ingest --rebuild` elsewhere is reopened.
        """
        try:
            collection = self._open_client().get_collection(self.collection_name, embedding_function=None)
        except Exception:  # the collection does not exist (yet, or while a rebuild runs)
            return None
        if self._collection is not None and collection.id != self._collection.id:
            self._collection = None  # rebuilt: the next call opens (and checks) the new one
        value = (collection.metadata or {}).get(GENERATION)
        return None if value is None else str(value)

    def set_generation(self, value: str) -> None:
        """Tell every reader of the store that an ingest run changed it (see GENERATION)."""
        self._col()  # creates the collection if need be, checking its model
        collection = self._open_client().get_collection(self.collection_name, embedding_function=None)
        # modify() replaces the whole metadata: keep the rest (the embedding model)
        collection.modify(metadata={**(collection.metadata or {}), GENERATION: value})

    def updated_since(self, generation: str | None) -> set[str]:
        """Ids of the chunks written or relabelled after the run that ended at `generation`
        (every stamped chunk when it is None or not a time)."""
        try:
            since = float(generation) if generation is not None else 0.0
        except ValueError:
            since = 0.0
        where: Any = {UPDATED_AT: {"$gt": since}}
        found: set[str] = set()
        col = self._col()
        offset, page = 0, 20000
        while True:
            result = col.get(where=where, include=[], limit=page, offset=offset)
            found.update(result["ids"])
            if len(result["ids"]) < page:
                return found
            offset += page

    def drop(self) -> None:
        """Delete the whole collection (for --rebuild)."""
        client = self._open_client()
        try:
            client.delete_collection(self.collection_name)
        except Exception:  # nothing to drop
            log.debug("no collection %s to drop", self.collection_name)
        self._collection = None

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if not chunks:
            return
        col = self._col()
        step = self._open_client().get_max_batch_size()
        written = time.time()
        for start in range(0, len(chunks), step):
            part = chunks[start : start + step]
            col.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=vectors[start : start + step],
                documents=[c.text for c in part],
                metadatas=[{**chunk_metadata(c), UPDATED_AT: written} for c in part],
            )

    def delete(self, chunk_ids: Sequence[str]) -> None:
        ids = list(chunk_ids)
        if not ids:
            return
        col = self._col()
        step = self._open_client().get_max_batch_size()
        for start in range(0, len(ids), step):
            col.delete(ids=ids[start : start + step])

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        """Rewrite the metadata of stored chunks; their text is part of their id, so it is unchanged."""
        if not chunks:
            return
        col = self._col()
        step = self._open_client().get_max_batch_size()
        written = time.time()
        for start in range(0, len(chunks), step):
            part = chunks[start : start + step]
            metadatas: list[Any] = [{**chunk_metadata(c), UPDATED_AT: written} for c in part]
            col.update(ids=[c.chunk_id for c in part], metadatas=metadatas)

    def vectors_for(self, chunks: Sequence[Chunk]) -> dict[str, np.ndarray]:
        """Stored vectors of any chunk with the same embedding text, by text digest.

        Lets a renamed or copied file reuse vectors instead of embedding again.
        """
        wanted = sorted({text_sha(c) for c in chunks})
        found: dict[str, np.ndarray] = {}
        col = self._col()
        for start in range(0, len(wanted), 500):
            where: Any = {"text_sha": {"$in": wanted[start : start + 500]}}
            result = col.get(
                where=where,
                include=["embeddings", "metadatas"],
            )
            metas = result["metadatas"] or []
            vectors = result["embeddings"]
            if vectors is None:
                continue
            for meta, vector in zip(metas, vectors, strict=True):
                found[str(meta["text_sha"])] = np.asarray(vector, dtype=np.float32)
        return found

    def chunk_ids(self, source_id: str) -> set[str]:
        result = self._col().get(where={"source_id": source_id}, include=[])
        return set(result["ids"])

    def all_ids(self) -> set[str]:
        """Every stored chunk id."""
        found: set[str] = set()
        col = self._col()
        offset, page = 0, 20000
        while True:
            result = col.get(include=[], limit=page, offset=offset)
            found.update(result["ids"])
            if len(result["ids"]) < page:
                return found
            offset += page

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """Stored chunks by id (missing ids are skipped)."""
        chunks: list[Chunk] = []
        col = self._col()
        ids = list(chunk_ids)
        for start in range(0, len(ids), 5000):
            result = col.get(ids=ids[start : start + 5000], include=["documents", "metadatas"])
            docs = result["documents"] or []
            metas = result["metadatas"] or []
            for chunk_id, text, meta in zip(result["ids"], docs, metas, strict=True):
                chunks.append(chunk_from_record(chunk_id, text or "", meta or {}))
        return chunks

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by chunk id."""
        if not chunk_ids:
            return {}
        result = self._col().get(ids=list(chunk_ids), include=["embeddings"])
        vectors = result["embeddings"]
        if vectors is None:
            return {}
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(result["ids"], vectors, strict=True)}

    def nearest(
        self, vector: np.ndarray, k: int, ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """The k stored chunks nearest the vector by the collection's own HNSW index, best first,
        with their cosine similarity; only among `ids` when given (Chroma filters inside the search).
        """
        col = self._col()
        result = col.query(
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=k,
            ids=list(ids) if ids is not None else None,
            include=["distances"],
        )
        found, distances = result["ids"][0], (result["distances"] or [[]])[0]
        to_similarity = _SIMILARITY[self.search_space()]
        return [(i, to_similarity(float(d))) for i, d in zip(found, distances, strict=True)]

    def search_space(self) -> str:
        """The distance of the collection's HNSW index: cosine, or l2 / ip for an older collection."""
        hnsw = (self._col().configuration or {}).get("hnsw") or {}
        return str(hnsw.get("space") or "l2")

    def tune_search(self, ef_search: int) -> None:
        """Set the HNSW index's ef_search (candidates kept while searching: more finds more of the
        true neighbours, more slowly). Stored on the collection, so every reader of a server shares it;
        Chroma reads it when it loads the index (a process's first search, a server's first after
        its start), so a change reaches an index already loaded only at its next load."""
        col = self._col()
        hnsw = (col.configuration or {}).get("hnsw") or {}
        if hnsw.get("ef_search") == ef_search or self._tuning_failed == col.id:
            return
        for attempt in range(3):
            try:
                col.modify(configuration={"hnsw": {"ef_search": ef_search}})
                break
            except Exception as exc:  # e.g. another process holds the embedded store's database
                failure = exc
                time.sleep(0.5 * (attempt + 1))
        else:
            self._tuning_failed = col.id  # search on as it is; tried again after a rebuild
            log.warning(
                "could not set ef_search=%d on the %s (%s); searching with ef_search=%s. It is set "
                "when the collection is created, or by a search while nothing else writes to it.",
                ef_search,
                self.location,
                failure,
                hnsw.get("ef_search"),
            )
            return
        self._collection = None  # reopened with the new configuration on next use

    def source_ids(self) -> set[str]:
        """Every source that has at least one chunk stored."""
        found: set[str] = set()
        col = self._col()
        offset, page = 0, 5000
        while True:
            result = col.get(include=["metadatas"], limit=page, offset=offset)
            metas = result["metadatas"] or []
            found.update(str(m.get("source_id")) for m in metas)
            if len(result["ids"]) < page:
                return found
            offset += page

    def count(self) -> int:
        return int(self._col().count())

    def iter_chunks(self) -> Iterator[Chunk]:
        col = self._col()
        offset, page = 0, 5000
        while True:
            result = col.get(include=["documents", "metadatas"], limit=page, offset=offset)
            docs = result["documents"] or []
            metas = result["metadatas"] or []
            for chunk_id, text, meta in zip(result["ids"], docs, metas, strict=True):
                yield chunk_from_record(chunk_id, text or "", meta or {})
            if len(result["ids"]) < page:
                return
            offset += page
