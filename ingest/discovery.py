"""The files an ingest run reads: found under its roots, with who may read each (their folders'
access files), the id each is known by, and the hash that says whether a file changed.

A document's `source_id` is its path relative to the folder it was ingested from. When another
file already has that id (the same path under a second folder: `ingest corpus ../shared/corpus`),
the id starts one folder higher, with the folder's own name (`corpus/seed/article.txt`), as many
folders up as it takes to be distinct. A file keeps the id it was indexed under, so ids never
change while their file stays, and an index built when ids were always the relative path needs no
rewriting: only files that shared one id are told apart.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.errors import DocumentError
from assistant.manifest import ManifestEntry
from ingest.access import AccessFiles

# Names never indexed as documents (the access files among them: ".*").
DEFAULT_IGNORE = ("README*", "SOURCES*", "LICENSE*", ".*", "~$*", "_*")


@dataclass
class FileFailure:
    """A file that could not be indexed, and why."""

    path: str
    error: str


@dataclass(frozen=True)
class SourceFile:
    """A file found under an ingest root."""

    root: Path
    path: Path
    relative: str  # its path inside root, with /
    groups: tuple[str, ...] = ()  # who may read it (its access file); none: everyone
    source_id: str = ""  # the id it is indexed under (distinct_source_ids); "" until then

    @property
    def key(self) -> str:
        """Where it lies, as the manifest records it (root and relative path)."""
        return str(self.root / self.relative)


def discover(
    paths: Sequence[Path], ignore: Sequence[str]
) -> tuple[list[SourceFile], list[Path], list[FileFailure]]:
    """Files to ingest under each path, the roots they belong to, and files refused.

    A folder is walked recursively (paths relative to it); a file is its own root's only member
    (its path: its name). A folder that holds no document is an error naming it: an unmounted or
    emptied folder must not empty the index. A link that leads out of its folder is
    refused: the corpus must not serve files from elsewhere on the machine. So is a file under
    a faulty access file (ingest/access.py): it is not indexed rather than shown to everyone.
    """
    access = AccessFiles()
    found: list[SourceFile] = []
    roots: list[Path] = []
    refused: list[FileFailure] = []
    for given in paths:
        path = given.resolve()
        if path.is_dir():
            roots.append(path)
            inside = sorted(p for p in path.rglob("*") if p.is_file())
            before = len(found) + len(refused)
            for file in inside:
                rel = file.relative_to(path)
                if any(_ignored(part, ignore) for part in rel.parts):
                    continue
                if not file.resolve().is_relative_to(path):
                    refused.append(
                        FileFailure(
                            str(file),
                            "a link to a file outside the corpus folder: "
                            "copy the file into the folder instead",
                        )
                    )
                    continue
                try:
                    found.append(SourceFile(path, file, rel.as_posix(), access.groups(file, path)))
                except DocumentError as exc:
                    refused.append(FileFailure(str(file), str(exc)))
            if len(found) + len(refused) == before:
                never = f" (only {', '.join(sorted({p.name for p in inside})[:3])}, which are never indexed)"
                raise DocumentError(
                    f"{given} holds no documents{never if inside else ''}: put the documents in it "
                    "or name the folder that holds them"
                )
        elif path.is_file():
            try:
                found.append(SourceFile(path.parent, path, path.name, access.groups(path, path.parent)))
            except DocumentError as exc:
                refused.append(FileFailure(str(path), str(exc)))
        else:
            raise DocumentError(f"{given} does not exist: give a folder or file of documents to ingest.")
    return found, roots, refused


def distinct_source_ids(
    files: Sequence[SourceFile], held: Mapping[str, ManifestEntry]
) -> tuple[list[SourceFile], list[FileFailure]]:
    """The files with their source ids (see the module docstring), and any file for which no
    distinct id exists. `held` is the manifest's entries by source id.

    A file the index holds keeps its id. Another takes its path relative to its root, or that
    path with its folders' names before it, the shortest that neither a file of this run nor a
    file still on disk holds (a held id whose file is gone passes to the file now at that path:
    a moved folder keeps its ids and vectors). Files are served in the order given, so the
    folder named first keeps the plain paths.
    """
    by_place = {str(e.path): e.source_id for e in held.values()}
    claimed = {by_place[f.key] for f in files if f.key in by_place}
    named: list[SourceFile] = []
    failed: list[FileFailure] = []
    for file in files:
        source_id = by_place.get(file.key) or next(
            (c for c in _candidates(file) if c not in claimed and not _held_elsewhere(held.get(c))), None
        )
        if source_id is None:
            failed.append(
                FileFailure(
                    str(file.path),
                    f"every id this file could have ({file.relative} and the paths above it) is taken by "
                    "another indexed file: rename the file or its folder",
                )
            )
            continue
        claimed.add(source_id)
        named.append(replace(file, source_id=source_id))
    return named, failed


def _candidates(file: SourceFile) -> Iterator[str]:
    """`a/b.txt`, then `root/a/b.txt`, `parent/root/a/b.txt` ... up to the file's full path."""
    yield file.relative
    above = [part for part in file.root.parts if part != file.root.anchor]
    for depth in range(1, len(above) + 1):
        yield "/".join([*above[-depth:], file.relative])


def _held_elsewhere(entry: ManifestEntry | None) -> bool:
    """An indexed file still on disk holds this id."""
    return entry is not None and entry.path.is_file()


def _ignored(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def file_sha256(path: Path) -> str:
    """Content hash of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
