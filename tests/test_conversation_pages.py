"""What a saved conversation looks like outside the chat: its Markdown export (ui/export.py), its
answers' permalink pages (ui/permalink.py), and the passages a saved answer keeps (ui/history.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_saved_conversations import ALICE, answer_object

from assistant.saved_conversations import ConversationStore, SavedAnswer
from ui.export import _file_name, conversation_markdown, export_href
from ui.history import shown_passages
from ui.i18n import Messages
from ui.permalink import answer_html

pytestmark = pytest.mark.unit

BASE = "https://intranet.example.org/assistant/"


def _saved(tmp_path: Path, **changes: Any) -> tuple[ConversationStore, SavedAnswer]:
    store = ConversationStore(tmp_path / "c.sqlite3")
    return store, store.save_answer(ALICE, None, answer_object(**changes))


def test_the_markdown_export_has_each_answer_with_its_markers_numbered_citations_and_permalink(
    tmp_path: Path,
) -> None:
    store, saved = _saved(tmp_path, question="What *is* <the> Budva meeting?")
    store.save_answer(ALICE, saved.conversation_id, answer_object("Who won the cup?", refused=True,
                      answer="I could not find this in the IOM documents.", citations=[]))  # fmt: skip
    store.rename(ALICE, saved.conversation_id, "Budva [draft] # notes")
    conversation = store.conversation(ALICE, saved.conversation_id)

    text = conversation_markdown(
        conversation, store.answers(ALICE, conversation.id), BASE, Messages("en"), "2024-06-01"
    )

    assert text.startswith("# Budva \\[draft\\] # notes\n\nExported from IOM Assistant on 2024-06-01.\n")
    assert "## What \\*is\\* &lt;the> Budva meeting?\n" in text
    assert "It took place on June 14 and 15, 2022 [1]. It was in “Budva” [1, 2]." in text
    assert "> Note: One sentence was removed.\n" in text
    assert (
        f"- [1] [Heads of &lt;Border> Police]({BASE}api/sources/a.txt) (a.txt)\n"
        "  > June 14 and 15, 2022 … Budva\n"
    ) in text
    assert (
        f"- [2] [Brief é]({BASE}api/sources/dir/b.pdf#page=3), page 3 (dir/b.pdf) <https://example.org/b>\n"
    ) in text
    assert f"Link to this answer: <{BASE}a/{saved.id}>" in text
    assert "## Who won the cup?\n\n*I could not find this in the IOM documents.*\n" in text
    assert text.count("**Sources**") == 1  # the refusal cites nothing


def test_the_export_speaks_the_language_asked_and_drops_an_address_that_is_not_a_web_one(
    tmp_path: Path,
) -> None:
    citation = {
        "n": 1,
        "source_id": "a.txt",
        "title": "T",
        "page": 2,
        "url": "javascript:alert(1)",
        "quote": "q",
    }
    store, saved = _saved(tmp_path, answer="Yes [1].", citations=[citation])
    conversation = store.conversation(ALICE, saved.conversation_id)

    text = conversation_markdown(conversation, [saved], BASE, Messages("fr"), "2024-06-01")

    assert "Exporté de l'Assistant OIM le 2024-06-01." in text and "page 2" in text
    assert "javascript:" not in text and "Lien vers cette réponse" in text
    assert export_href(BASE, "a/b", "fr") == f"{BASE}api/conversations/a%2Fb/export?lang=fr"
    assert _file_name("Budva: 14–15 June!") == "Budva-14-15-June.md" and _file_name("¿?") == "conversation.md"


def test_the_permalink_page_links_markers_to_sources_and_shows_markup_as_text(tmp_path: Path) -> None:
    _, saved = _saved(
        tmp_path,
        question="<script>alert(1)</script>?",
        answer='It was "<b>Budva</b>" [1]. Unknown [9]. Both [1, 2].',
    )

    html = answer_html(saved, BASE, Messages("en"))

    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;?</h1>" in html and "<script>" not in html
    assert 'It was &quot;&lt;b&gt;Budva&lt;/b&gt;&quot; <a href="#source-1"' in html
    assert 'aria-label="Source 1: Heads of &lt;Border&gt; Police">[1]</a>' in html
    assert "Unknown [9]." in html  # a marker with no citation stays text
    assert '<a href="#source-1"' in html and '<a href="#source-2"' in html
    assert (
        f'<li id="source-2"><span aria-hidden="true">[2]</span> <a href="{BASE}api/sources/dir/b.pdf#page=3"'
        in html
    )
    assert "page 3 · dir/b.pdf" in html and "<blockquote>Budva, Montenegro</blockquote>" in html


def test_a_refusal_page_says_it_in_the_readers_language_and_lists_no_sources(tmp_path: Path) -> None:
    _, saved = _saved(
        tmp_path, refused=True, answer="I could not find this in the IOM documents.", citations=[]
    )
    html = answer_html(saved, BASE, Messages("es"))
    assert "<em>" in html and "Sources" not in html and "Fuentes" not in html
    assert "I could not find" not in html  # the service's sentence, said in Spanish


def test_a_saved_answer_keeps_the_passages_its_sources_panel_shows() -> None:
    retrieved = [
        {"rank": r, "source_id": s, "page": p, "text": t}
        for r, s, p, t in (
            (1, "a.txt", None, "Intro. The meeting took place on June 14 and 15, 2022 … Budva, later."),
            (2, "other.txt", None, "Nothing cited here."),
            (3, "dir/b.pdf", 3, "In Budva, Montenegro, the delegations met."),
            (4, "dir/b.pdf", 4, "Budva, Montenegro again, but another page."),
        )
    ]
    answered = answer_object(retrieved=retrieved)
    assert [p["rank"] for p in shown_passages(answered)] == [1, 3]
    refused = answer_object(refused=True, citations=[], retrieved=retrieved)
    assert [p["rank"] for p in shown_passages(refused)] == [1, 2, 3]  # the closest, as listed
