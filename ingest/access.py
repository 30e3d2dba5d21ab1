"""The access files of a corpus folder: which groups may read each document.

An access file (`.iom-access`, see `assistant/access.py`) names groups, one or more per line;
`#` starts a comment. The access file nearest to a document, in its own folder or the closest
folder above it within the ingest root, decides. An access file that names no group, or a name
that is not a group name, is a mistake: the documents under it are not indexed, and ingest names
the file and the fix.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from assistant.access import ACCESS_FILE, group_names
from assistant.errors import DocumentError
from assistant.index import Index

MAX_ACCESS_FILE_BYTES = 64 * 1024


class AccessFiles:
    """The groups of documents under one or more ingest roots; each access file is read once."""

    def __init__(self) -> None:
        self._folders: dict[Path, tuple[str, ...] | DocumentError | None] = {}

    def groups(self, file: Path, root: Path) -> tuple[str, ...]:
        """The groups that may read `file` (none: everyone); DocumentError for a faulty access file."""
        folder = file.parent
        while True:
            found = self._read(folder)
            if isinstance(found, DocumentError):
                raise found
            if found is not None:
                return found
            if folder == root or not folder.is_relative_to(root):
                return ()
            folder = folder.parent

    def _read(self, folder: Path) -> tuple[str, ...] | DocumentError | None:
        if folder not in self._folders:
            self._folders[folder] = _access_file(folder / ACCESS_FILE)
        return self._folders[folder]


def _access_file(path: Path) -> tuple[str, ...] | DocumentError | None:
    """The groups an access file names; None when there is none; the error when it is faulty."""
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > MAX_ACCESS_FILE_BYTES:
            return DocumentError(f"{path} is over {MAX_ACCESS_FILE_BYTES // 1024} KB: name the groups only")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return DocumentError(f"cannot read the access file {path} ({exc}): fix or remove it")
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    try:
        groups = group_names(" ".join(lines), f"access file {path}")
    except ValueError as exc:
        return DocumentError(str(exc))
    if not groups:
        return DocumentError(
            f"the access file {path} names no group: name the groups that may read this folder, "
            "or delete the file to let everyone read it"
        )
    return groups


def relabel_source(index: Index, source_id: str, groups: tuple[str, ...]) -> None:
    """Give a source's stored chunks new readers, without embedding anything again."""
    chunks = index.store.get_chunks(sorted(index.store.chunk_ids(source_id)))
    index.store.update_metadata([replace(c, groups=groups) for c in chunks])
    index.manifest.set_groups(source_id, groups)
