"""The status line under the question: the page's one live region.

A screen reader says its content whenever it changes, so it changes only when there is
something to say once: the question is being searched, the answer is complete (said in
full, without its `[n]` markers, which are links in the chat), a rating or comment was
saved, or the question cannot be asked. The streamed words never pass through it.
"""

from __future__ import annotations

from html import escape

from assistant.citations import MARKER
from ui.i18n import Messages
from ui.render import Turn


def status_line(text: str, alert: bool = False) -> str:
    """A short message, shown and said."""
    kind = "iom-alert" if alert else "iom-note"
    return f'<p class="{kind}">{"⚠ " if alert else ""}{escape(text)}</p>'


def answer_status(turn: Turn, messages: Messages) -> str:
    """What the status line says once a turn is complete: a summary shown, the answer said."""
    if turn.answer is None:
        return status_line(f"{messages('status.failed')} {turn.error or ''}".strip(), alert=True)
    answer = turn.answer
    count = len(answer.get("citations", []))
    if answer.get("refused") or not count:
        shown = messages("status.refused")
    else:
        shown = (
            messages("status.answered_one") if count == 1 else messages("status.answered_many", count=count)
        )
    said = MARKER.sub("", messages.service(str(answer.get("answer", "")))).strip()
    return f'<p class="iom-note">{escape(shown)}</p><p class="iom-sr-only">{escape(said)}</p>'
