"""Answers as chat messages and as the sources panel, safe to put in a page.

Document text is data, never markup: every string that comes from a document or a
user goes through `html.escape` (and, for the chat's Markdown, through `md_text`)
before it reaches the browser. The only markup here is ours. Slightly over 300 lines: the chat
messages and the sources panel share the citation and escaping helpers, which a split would
only pass back and forth.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from assistant.answer import QUOTE_JOIN
from assistant.citations import marked_pieces, marker_numbers, marker_space
from assistant.text import shorten
from ui.i18n import Messages
from ui.urls import permalink

_MD_INLINE = re.compile(r"([\\`*_\[\]|~$])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)]))", re.MULTILINE)
_WS = re.compile(r"\s+")
_MD_TITLE = re.compile(r'([\\"])')
CLOSEST_SOURCES = 3
SNIPPET_CHARS = 320

AnswerDict = Mapping[str, Any]


@dataclass
class Turn:
    """One question of the conversation and what came back (`answer` None while pending);
    `saved_id` names the saved answer (its permalink) once it is saved."""

    question: str
    answer: dict[str, Any] | None = None
    error: str | None = None
    saved_id: str | None = None


def md_text(text: str) -> str:
    """Text for a Markdown message that shows exactly as written: no HTML, no formatting.

    `<` becomes an entity, so no tag can open; inline markers are backslash-escaped,
    and so is a line start that would make a heading, quote or list. `&` stays: an
    entity only ever yields text.
    """
    text = _MD_INLINE.sub(r"\\\1", text.replace("<", "&lt;"))
    return _MD_LINE_START.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, mark = match.group(1), match.group(2)
    if mark.isdigit():  # "1." starts a list: escape the dot, a digit takes no backslash
        return f"{indent}{mark}\\"
    return f"{indent}\\{mark}"


def anchor(turn: int, n: int) -> str:
    """The id of source `[n]` of a turn in the sources panel."""
    return f"iom-src-{turn}-{n}"


def source_href(base_url: str, source_id: str, page: int | None) -> str:
    """Link to the original file (PDFs open at the page)."""
    href = f"{base_url}api/sources/{quote(source_id, safe='/')}"
    if page and source_id.lower().endswith(".pdf"):
        href += f"#page={int(page)}"
    return href


# -- the chat messages --------------------------------------------------------------------


def answer_markdown(answer: AnswerDict, turn: int, messages: Messages) -> str:
    """The assistant's message: the answer with `[n]` as links to the sources panel (the
    refusal in the chat's language, the answer's sentences in the documents')."""
    if answer.get("refused"):
        text = md_text(messages.service(str(answer.get("answer") or messages("refusal"))))
        hint = " " + messages("refusal.closest_hint") if answer.get("retrieved") else ""
        return f"*{text}*{md_text(hint)}"
    known = {int(c["n"]): c for c in answer.get("citations", [])}
    parts: list[str] = []
    for before, marker in marked_pieces(str(answer.get("answer", ""))):
        parts.append(md_text(before))
        if marker is None:
            continue
        numbers = marker_numbers(marker)
        if all(n in known for n in numbers):
            links = "".join(_marker_link(turn, known[n], messages) for n in numbers)
            parts.append(marker_space(marker) + links)
        else:
            parts.append(md_text(marker.group(0)))
    return "".join(parts)


def _marker_link(turn: int, citation: AnswerDict, messages: Messages) -> str:
    """`[n]` as a link to its source, titled with what it is out of context (the page script
    makes the title its accessible name: the chat's sanitiser drops `aria-label`)."""
    n = int(citation["n"])
    title = _MD_TITLE.sub(r"\\\1", _WS.sub(" ", citation_label(citation, messages)))
    return f'[\\[{n}\\]](#{anchor(turn, n)} "{title}")'


def citation_label(citation: AnswerDict, messages: Messages) -> str:
    """What a citation is, said in words: "Source 2: Meta-evaluation brief, page 1"."""
    title = _title(citation) + _page(citation.get("page"), messages)
    return messages("source.label", n=int(citation["n"]), title=title)


def streaming_markdown(text: str) -> str:
    """Partial answer text while it streams in."""
    return md_text(text) + " ▍"


def chat_messages(
    turns: Sequence[Turn], messages: Messages, streaming: str | None = None
) -> list[dict[str, str]]:
    """The Chatbot's value: one user and one assistant message per turn."""
    shown: list[dict[str, str]] = []
    for index, turn in enumerate(turns):
        shown.append({"role": "user", "content": md_text(turn.question)})
        if turn.answer is not None:
            content = answer_markdown(turn.answer, index, messages)
        elif turn.error is not None:
            content = f"⚠ {md_text(turn.error)}"
        elif streaming:
            content = streaming_markdown(messages.service(streaming))
        else:
            content = f"*{messages('status.searching')}*"
        shown.append({"role": "assistant", "content": content})
    return shown


# -- the sources panel --------------------------------------------------------------------


def sources_panel(turns: Sequence[Turn], base_url: str, messages: Messages) -> str:
    """Sources of every answer, the latest first and open, earlier ones folded."""
    answered = [(i, t) for i, t in enumerate(turns) if t.answer is not None]
    heading = f"<h2>{escape(messages('sources.heading'))}</h2>"
    if not answered:
        return f'<div class="iom-sources iom-empty">{heading}<p>{escape(messages("sources.empty"))}</p></div>'
    links = _Links(base_url, messages)
    sections = []
    last = answered[-1][0]
    for index, turn in reversed(answered):
        assert turn.answer is not None
        sections.append(_turn_section(index, turn, turn.answer, links, open_=index == last))
    return f'<div class="iom-sources">{heading}' + "".join(sections) + "</div>"


@dataclass(frozen=True)
class _Links:
    """Where the sources panel's links point, and the language it speaks."""

    base_url: str
    messages: Messages


def _turn_section(index: int, turn: Turn, answer: AnswerDict, links: _Links, open_: bool) -> str:
    say = links.messages.service
    notices = "".join(f"<li>{escape(say(str(n)))}</li>" for n in answer.get("notices", []))
    notes = f'<ul class="iom-notices">{notices}</ul>' if notices else ""
    if answer.get("refused"):
        body = _closest_sources(answer, links)
    else:
        items = [_citation_item(index, c, answer.get("retrieved", []), links) for c in answer["citations"]]
        body = f'<ol class="iom-src-list">{"".join(items)}</ol>'
    opened = " open" if open_ else ""
    return (
        f'<details class="iom-turn" data-turn="{index}"{opened}>'
        f'<summary><span class="iom-q">{escape(shorten(turn.question, 140))}</span></summary>'
        f"{_permalink(turn, links)}{notes}{body}</details>"
    )


def _permalink(turn: Turn, links: _Links) -> str:
    """The saved answer's link, to share with colleagues who may read its sources."""
    if turn.saved_id is None:
        return ""
    said = links.messages("source.permalink_of", question=shorten(turn.question, 140))
    href = escape(permalink(links.base_url, turn.saved_id))
    return (
        f'<p class="iom-permalink"><a href="{href}" target="_blank" rel="noopener" '
        f'aria-label="{escape(said)}">{escape(links.messages("source.permalink"))}</a></p>'
    )


def _citation_item(turn: int, citation: AnswerDict, retrieved: Sequence[AnswerDict], links: _Links) -> str:
    n = int(citation["n"])
    source_id = str(citation["source_id"])
    page = citation.get("page")
    quote_text = str(citation.get("quote", ""))
    passage = passage_for(citation, retrieved)
    if passage is None:
        shown = f"<mark>{escape(quote_text)}</mark>"
    else:
        shown = highlight(str(passage.get("text", "")), quote_text.split(QUOTE_JOIN))
    messages = links.messages
    label = citation_label(citation, messages)
    return (
        f'<li class="iom-src" id="{anchor(turn, n)}">'
        f'<div class="iom-src-head"><span class="iom-src-n" aria-hidden="true">[{n}]</span> '
        f"{_source_link(citation, links, label)}</div>"
        f'<div class="iom-src-meta">{_meta(source_id, page, messages)}</div>'
        f"{_passage(shown, messages('source.passage_of', label=label))}"
        f'<a class="iom-back" href="#iom-chat">{escape(messages("source.back"))}</a>'
        "</li>"
    )


def _closest_sources(answer: AnswerDict, links: _Links) -> str:
    retrieved = list(answer.get("retrieved", []))[:CLOSEST_SOURCES]
    messages = links.messages
    if answer.get("passages_dropped"):
        return f'<div class="iom-refusal-note">{escape(messages("refusal.passages_dropped"))}</div>'
    if not retrieved:
        return f'<div class="iom-refusal-note">{escape(messages("refusal.none_close"))}</div>'
    items = []
    for rank, passage in enumerate(retrieved, 1):
        title = _title(passage) + _page(passage.get("page"), messages)
        label = messages("source.closest_label", n=rank, title=title)
        snippet = escape(shorten(str(passage.get("text", "")), SNIPPET_CHARS))
        meta = _meta(str(passage["source_id"]), passage.get("page"), messages)
        items.append(
            '<li class="iom-src iom-closest">'
            f'<div class="iom-src-head">{_source_link(passage, links, label)}</div>'
            f'<div class="iom-src-meta">{meta}</div>'
            f"{_passage(snippet, messages('source.passage_of', label=label))}</li>"
        )
    return (
        f'<div class="iom-refusal-note">{escape(messages("refusal.closest_intro"))}</div>'
        f'<ul class="iom-src-list iom-closest-list">{"".join(items)}</ul>'
    )


def _source_link(item: AnswerDict, links: _Links, label: str) -> str:
    href = source_href(links.base_url, str(item["source_id"]), item.get("page"))
    said = links.messages("source.open_original", label=label)
    return (
        f'<a class="iom-src-title" href="{escape(href)}" target="_blank" rel="noopener noreferrer" '
        f'aria-label="{escape(said)}">{escape(_title(item))}</a>'
    )


def _passage(shown: str, label: str) -> str:
    """A passage: it may scroll, so the keyboard can reach it, and it says whose passage it is."""
    return f'<div class="iom-passage" tabindex="0" role="region" aria-label="{escape(label)}">{shown}</div>'


def _title(item: AnswerDict) -> str:
    return str(item.get("title") or "") or str(item["source_id"])


def _page(page: object, messages: Messages) -> str:
    return ", " + messages("source.page", page=int(page)) if isinstance(page, int) and page else ""


def _meta(source_id: str, page: object, messages: Messages) -> str:
    where = escape(messages("source.page", page=int(page))) + " · " if isinstance(page, int) and page else ""
    return f"{where}{escape(source_id)}"


def passage_for(citation: AnswerDict, retrieved: Sequence[AnswerDict]) -> AnswerDict | None:
    """The retrieved passage of the citation's source that holds most of its quote."""
    parts = [p for p in str(citation.get("quote", "")).split(QUOTE_JOIN) if p.strip()]
    best: tuple[int, AnswerDict] | None = None
    for passage in retrieved:
        if passage.get("source_id") != citation.get("source_id"):
            continue
        if citation.get("page") is not None and passage.get("page") != citation.get("page"):
            continue
        text = str(passage.get("text", ""))
        found = sum(1 for p in parts if _find(text, p) is not None)
        if found and (best is None or found > best[0]):
            best = (found, passage)
    return best[1] if best else None


def highlight(text: str, quotes: Sequence[str]) -> str:
    """`text` escaped, with each quote found in it wrapped in <mark>."""
    spans: list[tuple[int, int]] = []
    for quote_text in quotes:
        span = _find(text, quote_text.strip()) if quote_text.strip() else None
        if span and not any(s < span[1] and span[0] < e for s, e in spans):
            spans.append(span)
    spans.sort()
    out: list[str] = []
    position = 0
    for start, end in spans:
        out.append(escape(text[position:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        position = end
    out.append(escape(text[position:]))
    return "".join(out)


def _find(text: str, quote_text: str) -> tuple[int, int] | None:
    """Where the quote is in the text: exactly, else ignoring case and runs of white space."""
    at = text.find(quote_text)
    if at >= 0:
        return at, at + len(quote_text)
    words = [re.escape(w) for w in quote_text.split()]
    if not words:
        return None
    match = re.search(r"\s+".join(words), text, re.IGNORECASE)
    return (match.start(), match.end()) if match else None
