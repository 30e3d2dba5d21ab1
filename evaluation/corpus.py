"""The evaluation documents, a declared input: `corpus.lock.json` lists each file's path, public
URL, size and sha256; they are not committed.

    python -m evaluation.corpus [--from DIR] [--cache DIR]

fills the cache (default `~/.cache/iom-assistant/eval-corpus`) from a local folder — `--from`,
else `IOM_ASSISTANT_EVAL_CORPUS`, else `../shared/corpus` beside the repository when it exists —
and downloads what is still missing when the machine is online. Every file is checked against
its sha256. The tests read the documents only through `evaluation_corpus()`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ConfigurationError

LOCK = Path(__file__).with_name("corpus.lock.json")
REPO = Path(__file__).resolve().parents[1]
LOCAL_VARIABLE = "IOM_ASSISTANT_EVAL_CORPUS"
DEFAULT_LOCAL = REPO.parent / "shared" / "corpus"
DEFAULT_CACHE = Path.home() / ".cache" / "iom-assistant" / "eval-corpus"
DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class LockedFile:
    """One document of the evaluation corpus, as the lock file pins it."""

    path: str  # relative to the corpus folder, with "/"
    url: str
    size: int
    sha256: str

    def holds(self, folder: Path) -> bool:
        """Whether `folder` has this file with the pinned size and hash."""
        candidate = folder / self.path
        if not candidate.is_file() or candidate.stat().st_size != self.size:
            return False
        return hashlib.sha256(candidate.read_bytes()).hexdigest() == self.sha256


def locked_files(lock: Path = LOCK) -> list[LockedFile]:
    """The files the lock file pins."""
    raw = json.loads(lock.read_text(encoding="utf-8"))
    return [LockedFile(f["path"], f["url"], int(f["size"]), f["sha256"]) for f in raw["files"]]


def evaluation_corpus(cache: Path = DEFAULT_CACHE) -> Path:
    """The cache folder once every locked file is there with its hash; otherwise
    ConfigurationError naming the missing files and how to get them."""
    missing = [f.path for f in locked_files() if not f.holds(cache)]
    if missing:
        raise ConfigurationError(
            f"{len(missing)} evaluation document(s) missing or changed in {cache}: {', '.join(missing)}. "
            f"Run `make corpus` (copies them from ${LOCAL_VARIABLE} or {DEFAULT_LOCAL}, "
            f"or downloads them from the URLs in {LOCK.name})."
        )
    return cache


def fill(cache: Path, local: Path | None) -> list[str]:
    """Copy or download every locked file missing from the cache; returns what is still missing."""
    still_missing = []
    for locked in locked_files():
        if locked.holds(cache):
            continue
        target = cache / locked.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if local is not None and locked.holds(local):
            shutil.copyfile(local / locked.path, target)
        elif not _download(locked, target):
            still_missing.append(locked.path)
    return still_missing


def _download(locked: LockedFile, target: Path) -> bool:
    import httpx

    try:
        response = httpx.get(locked.url, timeout=DOWNLOAD_TIMEOUT_S, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        print(f"cannot download {locked.path}: {exc}", file=sys.stderr)
        return False
    if hashlib.sha256(response.content).hexdigest() != locked.sha256:
        print(f"{locked.path}: the download does not match the locked sha256; not kept", file=sys.stderr)
        return False
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(response.content)
    partial.replace(target)
    return True


def main(argv: list[str] | None = None) -> int:
    """`make corpus`: fill the cache, then say what is missing, if anything."""
    parser = argparse.ArgumentParser(prog="python -m evaluation.corpus", description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="local", type=Path, help="a folder holding the documents")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    local = args.local or (Path(os.environ[LOCAL_VARIABLE]) if os.environ.get(LOCAL_VARIABLE) else None)
    if local is None and DEFAULT_LOCAL.is_dir():
        local = DEFAULT_LOCAL
    missing = fill(args.cache, local)
    if missing:
        print(
            f"still missing: {', '.join(missing)}. Put them in a folder (layout as in {LOCK.name}) and "
            f"run `make corpus {LOCAL_VARIABLE}=/that/folder`, or run it on a machine that is online.",
            file=sys.stderr,
        )
        return 1
    print(f"evaluation corpus ready in {args.cache} ({len(locked_files())} files, hashes checked)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
