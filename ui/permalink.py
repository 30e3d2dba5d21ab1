"""`GET /a/{answer_id}`: one saved answer's page — its question, answer and citations as given —
for the colleagues its owner shares the link with.

The page passes the same door as every route (otherwise 401 and a note to sign in), and shows
the answer only to a reader who may read every document it cites, each still in the index
(`AssistantService.may_read_all`); to anyone else, as for an unknown id, a 404 that says nothing
of the answer. Everything from documents and users is escaped; the page runs no script (its
Content-Security-Policy allows none), is never cached and is not indexed. It speaks the language
of `?lang=` when it is shipped, else the browser's (Accept-Language), the answer's sentences
staying in the documents'.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from assistant.citations import marked_pieces, marker_numbers, marker_space
from assistant.saved_conversations import ConversationStore, SavedAnswer
from assistant.service import AssistantService
from assistant.settings import Settings
from ui.door import Door
from ui.i18n import Messages, negotiate
from ui.render import citation_label, source_href
from ui.urls import PERMALINK_ROUTE, app_address

_STYLE = """
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  color: #1f2328; background: #f6f8fa; }
header, main { max-width: 860px; margin: 0 auto; padding: 0.8rem 1.2rem; }
header a { font-weight: 700; color: #0033a0; text-decoration: none; }
main { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; margin-bottom: 2rem; }
h1 { font-size: 1.35rem; margin: 0.2rem 0 0.3rem; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; }
a { color: #0033a0; }
a:focus-visible { outline: 3px solid #f2b705; outline-offset: 2px; }
.meta, .notices, .source-id { color: #57606a; font-size: 0.9rem; }
.answer { white-space: pre-line; }
.answer a { text-decoration: none; font-weight: 600; font-size: 0.8em; vertical-align: super; }
.sources { list-style: none; padding: 0; }
.sources li { border-left: 3px solid #0033a0; background: #f6f8fa; padding: 0.5rem 0.7rem;
  margin: 0.5rem 0; border-radius: 6px; }
.sources blockquote { margin: 0.4rem 0 0; padding-left: 0.6rem; border-left: 2px solid #d0d7de;
  white-space: pre-wrap; }
"""


def build_permalink_router(
    settings: Settings, service: AssistantService, store: ConversationStore, door: Door
) -> APIRouter:
    """The page of a saved answer, at `/a/{answer_id}`."""
    router = APIRouter()
    ancestors = " ".join(settings.frame_ancestors) or "'self'"
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {ancestors}"
    )

    @router.get(PERMALINK_ROUTE, response_class=HTMLResponse, include_in_schema=False)
    def shared_answer(answer_id: str, request: Request, lang: str | None = None) -> HTMLResponse:
        """The answer, if the reader may read all it cites; else a 404 that reveals nothing."""
        say = Messages(negotiate(request.headers.get("accept-language"), lang))
        base = app_address(request, door.from_trusted_proxy(request), settings.root_path)
        headers = {"Content-Security-Policy": policy, "Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
        if not door.admits(request):
            body = _notice(say("permalink.missing_title"), say("permalink.sign_in"), base, say)
            page = _page(say("permalink.missing_title"), body, base, say)
            return HTMLResponse(page, 401, {**headers, "WWW-Authenticate": "Bearer"})
        saved = store.shared_answer(answer_id)
        cited = [str(c["source_id"]) for c in saved.citations] if saved else []
        if saved is None or not service.may_read_all(cited, door.reader(request)):
            body = _notice(say("permalink.missing_title"), say("permalink.missing"), base, say)
            return HTMLResponse(_page(say("permalink.missing_title"), body, base, say), 404, headers)
        return HTMLResponse(_page(saved.question, answer_html(saved, base, say), base, say), 200, headers)

    return router


def answer_html(saved: SavedAnswer, base_url: str, say: Messages) -> str:
    """The body of a saved answer's page: the question, the answer, its sources."""
    return (
        f'<p class="meta">{escape(say("permalink.title"))}</p>'
        f"<h1>{escape(saved.question)}</h1>"
        f'<p class="meta">{escape(say("permalink.saved_on", date=saved.created_at[:10]))}</p>'
        f'<section aria-labelledby="iom-answer"><h2 id="iom-answer">{escape(say("permalink.answer"))}</h2>'
        f"{_answer(saved, say)}{_notices(saved, say)}</section>"
        f"{_sources(saved, base_url, say)}"
        f'<p><a href="{escape(base_url)}">{escape(say("permalink.open_chat"))}</a></p>'
    )


def _answer(saved: SavedAnswer, say: Messages) -> str:
    if saved.refused:
        return f'<p class="answer"><em>{escape(say.service(saved.answer))}</em></p>'
    known = {int(c["n"]): c for c in saved.citations}
    parts = []
    for before, marker in marked_pieces(saved.answer):
        parts.append(escape(before))
        if marker is None:
            continue
        numbers = marker_numbers(marker)
        if all(n in known for n in numbers):
            links = "".join(
                f'<a href="#source-{n}" aria-label="{escape(citation_label(known[n], say))}">[{n}]</a>'
                for n in numbers
            )
            parts.append(marker_space(marker) + links)
        else:
            parts.append(escape(marker.group(0)))
    return f'<p class="answer">{"".join(parts)}</p>'


def _notices(saved: SavedAnswer, say: Messages) -> str:
    items = "".join(f"<li>{escape(say.service(n))}</li>" for n in saved.notices)
    return f'<ul class="notices">{items}</ul>' if items else ""


def _sources(saved: SavedAnswer, base_url: str, say: Messages) -> str:
    if not saved.citations:
        return ""
    items = "".join(_source(c, base_url, say) for c in saved.citations)
    heading = escape(say("permalink.sources"))
    return (
        f'<section aria-labelledby="iom-sources"><h2 id="iom-sources">{heading}</h2>'
        f'<ul class="sources">{items}</ul></section>'
    )


def _source(citation: dict[str, Any], base_url: str, say: Messages) -> str:
    n, source_id, page = int(citation["n"]), str(citation["source_id"]), citation.get("page")
    label = citation_label(citation, say)
    href = source_href(base_url, source_id, page)
    where = escape(say("source.page", page=page)) + " · " if isinstance(page, int) and page else ""
    quoted = str(citation.get("quote") or "")
    return (
        f'<li id="source-{n}"><span aria-hidden="true">[{n}]</span> '
        f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer" '
        f'aria-label="{escape(say("source.open_original", label=label))}">'
        f"{escape(str(citation.get('title') or source_id))}</a>"
        f'<div class="source-id">{where}{escape(source_id)}</div>'
        f"<blockquote>{escape(quoted)}</blockquote></li>"
    )


def _notice(title: str, text: str, base_url: str, say: Messages) -> str:
    return (
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
        f'<p><a href="{escape(base_url)}">{escape(say("permalink.open_chat"))}</a></p>'
    )


def _page(title: str, body: str, base_url: str, say: Messages) -> str:
    app = escape(say("app.title"))
    return (
        f'<!doctype html><html lang="{say.code}" dir="{say.direction}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)} · {app}</title><style>{_STYLE}</style></head>"
        f'<body><header><a href="{escape(base_url)}">{app}</a></header><main>{body}</main></body></html>'
    )
