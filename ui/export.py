"""A saved conversation as Markdown, for its owner: `GET /api/conversations/{id}/export`.

Each answer comes under its question with its `[n]` markers and notices, then its numbered
citations (the title linked to the original on this server, the page, the source id, the
document's own address, the quoted passage) and the answer's permalink. Text from documents and
users is escaped (`ui.render.md_text`), so it reads as written in any Markdown viewer.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response

from assistant.citations import marked_pieces
from assistant.errors import ConversationError
from assistant.saved_conversations import ConversationStore, SavedAnswer, SavedConversation
from ui.api import API_PREFIX, require_user
from ui.door import Door
from ui.errors import ApiError
from ui.i18n import Messages, negotiate
from ui.owner import conversation_owner
from ui.render import md_text, source_href
from ui.schemas import ERROR_RESPONSES
from ui.urls import app_address, permalink

_SANDBOX = "sandbox; default-src 'none'"
_WEB_ADDRESS = re.compile(r"https?://[^\s<>]+")
_NOT_YOURS = "no such conversation: it was deleted, or it is not yours"


def export_href(base_url: str, conversation_id: str, language: str) -> str:
    """The address of a conversation's Markdown, in a language of the chat."""
    return f"{base_url}api/conversations/{quote(conversation_id, safe='')}/export?lang={quote(language)}"


def conversation_markdown(
    conversation: SavedConversation,
    answers: Sequence[SavedAnswer],
    base_url: str,
    say: Messages,
    day: str,
    *,
    withheld: Collection[str] = (),
) -> str:
    """The conversation as a Markdown document (links under `base_url`, the app's address); the
    answers whose ids are `withheld` (they show documents the reader may no longer read) only say so."""
    lines = [f"# {md_text(conversation.title)}", "", say("export.exported", date=day), ""]
    for saved in answers:
        lines += [f"## {md_text(saved.question)}", ""]
        if saved.id in withheld:
            lines += [f"*{md_text(say('conversation.withheld'))}*", "", "---", ""]
            continue
        lines += [_answer_text(saved, say), ""]
        lines += [f"> {say('export.note')}: {md_text(say.service(n))}\n" for n in saved.notices]
        if saved.citations:
            lines += [f"**{say('export.sources')}**", ""]
            lines += [_citation(c, base_url, say) for c in saved.citations]
            lines.append("")
        lines += [f"{say('export.permalink')}: <{permalink(base_url, saved.id)}>", "", "---", ""]
    return "\n".join(lines)


def _answer_text(saved: SavedAnswer, say: Messages) -> str:
    if saved.refused:
        return f"*{md_text(say.service(saved.answer))}*"
    pieces = marked_pieces(saved.answer)
    return "".join(md_text(before) + (marker.group(0) if marker else "") for before, marker in pieces)


def _citation(citation: dict[str, Any], base_url: str, say: Messages) -> str:
    """`- [n] [title](original), page p (source id) <the document's address>`, then the quote."""
    n, source_id, page = int(citation["n"]), str(citation["source_id"]), citation.get("page")
    title = md_text(str(citation.get("title") or source_id))
    line = f"- [{n}] [{title}]({source_href(base_url, source_id, page)})"
    if isinstance(page, int) and page:
        line += ", " + say("source.page", page=page)
    line += f" ({md_text(source_id)})"
    url = str(citation.get("url") or "")
    if _WEB_ADDRESS.fullmatch(url):
        line += f" <{url}>"
    quoted = str(citation.get("quote") or "").strip()
    return line + (f"\n  > {md_text(quoted)}" if quoted else "")


def _file_name(title: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")[:60].strip("-")
    return f"{slug or 'conversation'}.md"


def get_conversations(request: Request) -> ConversationStore:
    """The app's saved conversations."""
    store: ConversationStore = request.app.state.conversations
    return store


ConversationsDep = Annotated[ConversationStore, Depends(get_conversations)]


def build_export_router() -> APIRouter:
    """`GET /api/conversations/{id}/export`: behind the door, for the conversation's owner only."""
    router = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)

    @router.get(
        "/conversations/{conversation_id}/export",
        dependencies=[Depends(require_user)],
        tags=["conversations"],
        response_class=Response,
        responses={200: {"content": {"text/markdown": {}}, "description": "the conversation as Markdown"}},
    )
    def export(
        conversation_id: str, request: Request, store: ConversationsDep, lang: str | None = None
    ) -> Response:
        """One of your saved conversations as Markdown: questions, answers with their `[n]` markers,
        numbered citations (title, page, link, quote) and each answer's permalink; `lang` is the
        language of its headings (else the browser's)."""
        door: Door = request.app.state.door
        owner = conversation_owner(door, request)
        try:
            if owner is None:
                raise ConversationError("unknown", _NOT_YOURS)
            conversation = store.conversation(owner, conversation_id)
            answers = store.answers(owner, conversation_id)
        except ConversationError:
            raise ApiError(404, "not_found", _NOT_YOURS) from None
        say = Messages(negotiate(request.headers.get("accept-language"), lang))
        base = app_address(request, door.from_trusted_proxy(request), request.app.state.settings.root_path)
        day = datetime.now(UTC).date().isoformat()
        reader, service = door.reader(request), request.app.state.service
        withheld = {a.id for a in answers if not service.may_read_all(a.sources(), reader, gone_ok=True)}
        return Response(
            conversation_markdown(conversation, answers, base, say, day, withheld=withheld),
            media_type="text/markdown; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{_file_name(conversation.title)}"',
                "Cache-Control": "no-store",
                "Content-Security-Policy": _SANDBOX,
            },
        )

    return router
