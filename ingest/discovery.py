"""The files an ingest run reads: found under its roots, with who may read each (their folders'
access files), and the hash that says whether a file changed."""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import DocumentError
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
    source_id: str
    groups: tuple[str, ...] = ()  # who may read it (its access file); none: everyone


def discover(
    paths: Sequence[Path], ignore: Sequence[str]
) -> tuple[list[SourceFile], list[Path], list[FileFailure]]:
    """Files to ingest under each path, the roots they belong to, and files refused.

    A folder is walked recursively (source ids relative to it); a file is its own
    root's only member (source id = its name). A folder that holds no document is an error naming
    it: an unmounted or emptied folder must not empty the index. A link that leads out of its folder is
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


def _ignored(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def file_sha256(path: Path) -> str:
    """Content hash of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
