"""Sentence-aware chunking sized by the embedder's own tokenizer.

Chunks never cross a section (a PDF page, a heading block, a CSV row), so each
chunk has one page and one heading to cite. Prose is packed sentence by sentence
with a small overlap; table sections are packed line by line (rows stay whole).
A sentence longer than a chunk is cut at word boundaries, never silently truncated
by the embedder.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from assistant.documents import Chunk, Section, SourceDocument, web_url
from assistant.text import BULLET, split_sentences

_SENTENCE_CLOSERS = tuple('.!?…:;,"”’)')
TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class ChunkSizing:
    """How large chunks may be, in the embedder's word pieces."""

    max_tokens: int  # what the embedder reads (special tokens excluded); 0 until the ingestor asks it
    target_tokens: int  # body size we aim for (CHUNK_TOKENS)
    overlap_tokens: int  # CHUNK_OVERLAP_TOKENS


def chunk_document(doc: SourceDocument, count_tokens: TokenCounter, sizing: ChunkSizing) -> list[Chunk]:
    """Cut a loaded document into chunks with stable, content-derived ids."""
    pieces: list[tuple[Section, str]] = []
    for section in doc.sections:
        prefix = _prefix_tokens(doc.title, section.heading, count_tokens)
        budget = max(16, min(sizing.target_tokens, sizing.max_tokens - prefix))
        overlap = 0 if section.is_table else min(sizing.overlap_tokens, budget // 4)
        units = section.text.splitlines() if section.is_table else split_sentences(section.text)
        units = [u.strip() for u in units if u.strip()]
        for body in _pack(units, count_tokens, budget, overlap, section.is_table):
            pieces.append((section, body))

    seen: Counter[str] = Counter()
    chunks: list[Chunk] = []
    for ordinal, (section, body) in enumerate(pieces):
        chunk = Chunk(
            chunk_id="",
            source_id=doc.source_id,
            text=body,
            title=doc.title,
            format=doc.format,
            ordinal=ordinal,
            page=section.page,
            heading=section.heading,
            language=doc.language,
            published=doc.published,
            url=web_url(doc.url),
        )
        key = chunk.searchable_text()
        seen[key] += 1
        chunks.append(_with_id(chunk, chunk_id(doc.source_id, key, seen[key])))
    return chunks


def chunk_id(source_id: str, searchable_text: str, occurrence: int) -> str:
    """Same source and same text give the same id, so re-ingest is idempotent."""
    digest = hashlib.sha256(f"{source_id}\x1f{occurrence}\x1f{searchable_text}".encode()).hexdigest()
    return digest[:32]


def _with_id(chunk: Chunk, new_id: str) -> Chunk:
    return replace(chunk, chunk_id=new_id)


def _prefix_tokens(title: str, heading: str | None, count_tokens: TokenCounter) -> int:
    head = " — ".join(p for p in (title, heading if heading != title else None) if p)
    return count_tokens([head])[0] + 1 if head else 0


def _pack(
    units: list[str], count_tokens: TokenCounter, budget: int, overlap: int, is_table: bool
) -> list[str]:
    """Greedy packing of units into bodies of at most `budget` tokens, with overlap."""
    if not units:
        return []
    sized: list[tuple[str, int]] = []
    for unit, n in zip(units, count_tokens(units), strict=True):
        if n <= budget:
            sized.append((unit, n))
        else:
            sized.extend(_split_long(unit, count_tokens, budget))

    bodies: list[str] = []
    current: list[tuple[str, int]] = []
    size = 0
    for unit, n in sized:
        # +1 per join: a space or newline can add a word piece at boundaries
        if current and size + n + 1 > budget:
            bodies.append(_join(current, is_table))
            current = _tail(current, overlap) if overlap else []
            size = sum(m + 1 for _, m in current)
            if size + n + 1 > budget:
                current, size = [], 0
        current.append((unit, n))
        size += n + 1
    if current:
        bodies.append(_join(current, is_table))
    return bodies


def _tail(units: list[tuple[str, int]], overlap: int) -> list[tuple[str, int]]:
    """The trailing units that fit in the overlap (possibly none)."""
    kept: list[tuple[str, int]] = []
    size = 0
    for unit, n in reversed(units):
        if size + n > overlap:
            break
        kept.insert(0, (unit, n))
        size += n
    return kept


def _join(units: list[tuple[str, int]], is_table: bool) -> str:
    """Table rows keep their own lines; sentences flow into a paragraph, bullets start a line."""
    if is_table:
        return "\n".join(unit for unit, _ in units)
    lines: list[str] = []
    for unit, _ in units:
        # a line without closing punctuation (a title, a heading) keeps its own line
        if lines and not BULLET.match(unit) and lines[-1].endswith(_SENTENCE_CLOSERS):
            lines[-1] = f"{lines[-1]} {unit}"
        else:
            lines.append(unit)
    return "\n".join(lines)


def _split_long(unit: str, count_tokens: TokenCounter, budget: int) -> list[tuple[str, int]]:
    """Cut an over-long sentence or row into word windows that fit the budget."""
    words = unit.split()
    out: list[tuple[str, int]] = []
    start = 0
    while start < len(words):
        # Estimate a window, then shrink it until the tokenizer agrees it fits.
        end = min(len(words), start + max(1, budget // 2))
        while end < len(words) and count_tokens([" ".join(words[start : end + 8])])[0] <= budget:
            end = min(len(words), end + 8)
        piece = " ".join(words[start:end])
        n = count_tokens([piece])[0]
        while n > budget and end - start > 1:
            end -= max(1, (end - start) // 8)
            piece = " ".join(words[start:end])
            n = count_tokens([piece])[0]
        out.append((piece, n))
        start = end
    return out
