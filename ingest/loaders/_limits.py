"""What one file may hold: caps checked before the work they would cost, each naming its setting."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.documents import SourceDocument
from assistant.errors import DocumentError


@dataclass(frozen=True)
class ReadLimits:
    """Caps on one file (its time and memory are ingest/isolation.py's FileLimits)."""

    max_pages: int  # MAX_PAGES: of a PDF, read before any page is
    max_columns: int  # MAX_COLUMNS: of a CSV row
    max_unpacked_mb: int  # MAX_UNPACKED_MB: of a DOCX (a zip), from its directory, before unpacking
    max_line_chars: int  # MAX_LINE_CHARS: of any line of the text read, before it is chunked

    @staticmethod
    def check(count: int, cap: int, what: str, setting: str) -> None:
        """DocumentError when a file has more of something (`what`: "pages") than its cap."""
        if count > cap:
            raise DocumentError(
                f"the file has {count:,} {what}, over the limit of {cap:,}: split it, or raise "
                f"IOM_ASSISTANT_{setting} if it is genuine"
            )

    def check_lines(self, document: SourceDocument) -> None:
        """DocumentError when a line of the text read is longer than the cap (no prose is)."""
        longest = max((len(line) for s in document.sections for line in s.text.split("\n")), default=0)
        self.check(longest, self.max_line_chars, "characters in one line", "MAX_LINE_CHARS")
