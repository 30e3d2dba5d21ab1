"""Who may read which documents: groups on documents, groups on readers.

A corpus folder may hold an access file, `.iom-access`, naming the groups whose members may read
the documents in that folder and its subfolders (`ingest/access.py` reads it). Each chunk carries
its document's groups; a document under no access file has none and is everyone's.

A reader is the set of groups a request comes with (`ui/door.py`: an API key's groups, the
trusted proxy's groups header, a chat user's groups); an anonymous reader has no groups and reads
only everyone's documents. `None` stands for a local caller (the CLI, the evaluation), who reads
the whole index, as they can read its folders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ACCESS_FILE = ".iom-access"
GROUP_SEPARATOR = ","  # how a chunk's groups are written in one metadata field
_GROUP_NAME = re.compile(r"[\w.@-]{1,64}")

Reader = frozenset[str] | None  # a request's groups; None reads everything (local callers)


def group_names(text: str, what: str) -> tuple[str, ...]:
    """The group names in `text` (separated by spaces, commas or `+`), sorted, once each;
    ValueError naming `what` for a name that is not letters, digits and `_ . @ -`."""
    names = [n for n in re.split(r"[\s,+]+", text) if n]
    for name in names:
        if not _GROUP_NAME.fullmatch(name):
            raise ValueError(
                f"{what}: {name[:80]!r} is not a group name; use letters, digits and _ . @ - "
                "(at most 64), separated by spaces, commas or +"
            )
    return tuple(sorted(set(names)))


def may_read(document_groups: Iterable[str], reader: Reader) -> bool:
    """Whether a reader may read a document: it is everyone's, or they share a group."""
    groups = tuple(document_groups)
    return reader is None or not groups or not reader.isdisjoint(groups)
