"""The message catalogues (ui/messages/*.json) and how a browser's language is chosen."""

from __future__ import annotations

import ast
import json
import re
from importlib.resources import files
from pathlib import Path

import pytest

from assistant.answer import REFUSAL_TEXT
from assistant.answering.decision import refusal_reason
from assistant.errors import IndexUnavailableError, InvalidQuestionError, ProviderError
from assistant.notices import SERVICE_TEXTS, service_text
from assistant.question import MAX_QUESTION_CHARS, check_question
from ui.errors import public_detail
from ui.i18n import DEFAULT_LANGUAGE, Messages, catalogue, languages, negotiate
from ui.render import Turn, chat_messages, sources_panel
from ui.status import answer_status

pytestmark = pytest.mark.unit

COMPLETE = ("en", "fr", "es")  # IOM's official languages: every message translated
UI = Path(__file__).resolve().parents[1] / "ui"


def placeholders(text: str) -> set[str]:
    """The `{name}` fields of a message."""
    return set(re.findall(r"\{(\w+)\}", text))


def test_english_french_spanish_and_arabic_are_shipped_english_first() -> None:
    assert languages()[0] == DEFAULT_LANGUAGE
    assert set(languages()) >= {"en", "fr", "es", "ar"}


@pytest.mark.parametrize("code", COMPLETE)
def test_official_languages_have_every_english_message_with_the_same_placeholders(code: str) -> None:
    english, other = catalogue("en"), catalogue(code)
    assert sorted(set(english) - set(other)) == []
    for key, text in english.items():
        assert placeholders(other[key]) == placeholders(text), key


@pytest.mark.parametrize("code", [c for c in languages() if c != "en"])
def test_no_catalogue_has_a_key_english_lacks_nor_a_foreign_placeholder(code: str) -> None:
    english, other = catalogue("en"), catalogue(code)
    assert sorted(set(other) - set(english)) == []
    for key, text in other.items():
        assert placeholders(text) == placeholders(english[key]), (code, key)
    assert other["language.dir"] in ("ltr", "rtl") and other["language.name"]


def test_the_service_sentences_are_defined_once_in_english() -> None:
    assert catalogue("en")["refusal"] == REFUSAL_TEXT  # assistant/notices.py, not en.json
    english_file = json.loads(files("ui.messages").joinpath("en.json").read_text(encoding="utf-8"))
    assert set(english_file).isdisjoint(SERVICE_TEXTS)


@pytest.mark.parametrize(
    ("header", "chosen", "expected"),
    [
        ("fr-FR,fr;q=0.9,en-US;q=0.8", None, "fr"),
        ("es-ES", None, "es"),
        ("de-DE,de;q=0.9,es;q=0.5,fr;q=0.4", None, "es"),  # the first shipped one, by weight
        ("en;q=0.2, fr;q=0.8", None, "fr"),
        ("ar-EG", None, "ar"),
        ("fr;q=0, es", None, "es"),  # q=0 means "not this one"
        ("zh-CN, *", None, "en"),
        ("", None, "en"),
        (None, None, "en"),
        ("garbage;;q=x, ,", None, "en"),
        ("fr-FR", "es", "es"),  # the switch wins over the browser
        ("fr-FR", "xx", "fr"),  # a stored choice that is no longer shipped is ignored
    ],
)
def test_negotiation(header: str | None, chosen: str | None, expected: str) -> None:
    assert negotiate(header, chosen) == expected


def test_a_partial_catalogue_falls_back_to_english_per_message() -> None:
    arabic = Messages("ar")
    assert arabic.direction == "rtl" and Messages("fr").direction == "ltr"
    assert arabic("question.send") == catalogue("ar")["question.send"]
    assert "chat.label" not in catalogue("ar")
    assert arabic("chat.label") == Messages("en")("chat.label")


def test_the_service_sentences_are_said_in_the_chats_language_and_the_documents_are_not() -> None:
    french = Messages("fr")
    refusal = f"{REFUSAL_TEXT} {refusal_reason(None, unknown=['Messi'])}"
    assert french.service(refusal) == "Je n'ai pas trouvé cela dans les documents de l'OIM. " + (
        "Les documents ne mentionnent pas “Messi”."
    )
    assert Messages("es").service(service_text("notice.citations_dropped", count=2)) == (
        "Se eliminaron 2 cita(s) sin fuente."
    )
    assert french.service(refusal_reason("date")).startswith("Les passages les plus proches")
    quoted = "IOM organized the meeting in Budva on 5 May 2015 [1]."
    assert french.service(quoted) == quoted
    assert Messages("en").service(refusal) == refusal


def test_the_chat_renders_a_refusal_its_notices_and_status_in_french() -> None:
    answer = {
        "answer": f"{REFUSAL_TEXT} {refusal_reason(None)}",
        "refused": True,
        "citations": [],
        "retrieved": [{"rank": 1, "source_id": "a.md", "page": 2, "score": 0.1, "text": "Text."}],
        "notices": [service_text("notice.closest_listed")],
    }
    french = Messages("fr")
    turns = [Turn("Q?", answer)]
    message = chat_messages(turns, french)[1]["content"]
    assert "Je n'ai pas trouvé cela" in message and "Aucun passage" in message
    panel = sources_panel(turns, "/", french)
    assert "Les passages les plus proches trouvés" in panel and "Source la plus proche 1" in panel
    assert "page 2" in panel and "Sources" in panel
    assert "Introuvable dans les documents" in answer_status(turns[0], french)


@pytest.mark.parametrize("code", ["fr", "es"])
def test_the_chats_errors_are_said_in_its_language_and_the_apis_in_english(code: str) -> None:
    say = Messages(code)
    with pytest.raises(InvalidQuestionError) as bad:
        check_question("x" * (MAX_QUESTION_CHARS + 1))
    assert public_detail(bad.value, say) == say("question.too_long", length=2001, limit=MAX_QUESTION_CHARS)
    assert public_detail(bad.value) == str(bad.value)  # the API's, in English
    down = IndexUnavailableError("no index at /srv/index: run ingest")
    assert public_detail(down, say) == say("error.index_unavailable") != public_detail(down)
    assert "/srv/index" not in public_detail(down, say)
    failed = Turn("Q?", error=public_detail(ProviderError("timed out after 30 s at http://llm:8080"), say))
    assert say("error.unavailable") in chat_messages([failed], say)[1]["content"]
    assert say("status.failed") in answer_status(failed, say)


# Where a ui/ module would show a literal sentence: text between HTML tags, a labelling attribute,
# a Gradio component's visible keyword, the first argument of a call that shows its text.
_TAG_TEXT = re.compile(r">([^<>]*)<")
_LABELLING = re.compile(r'\b(?:title|aria-label|alt|placeholder)="([^"]*)"')
_CODE = re.compile(r"<(style|script|code|pre)\b.*?</\1>", re.DOTALL)
_FIELD_OR_ENTITY = re.compile(r"\{[^{}]*\}|&\w+;")
_SHOWN_KEYWORDS = {"label", "placeholder", "info", "title", "auth_message", "error"}
_SHOWING_CALLS = {"status_line", "Button", "Markdown", "HTML", "Error", "Warning", "Info"}


def _words(text: str) -> bool:
    """Whether `text` (placeholders and entities aside) holds a word a reader would read."""
    return re.search(r"[A-Za-z]{2,}", _FIELD_OR_ENTITY.sub("", text)) is not None


def _text(node: ast.expr) -> str | None:
    """A literal string, an f-string with each field as `{}`; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) or "{}" if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def literal_sentences(source: str) -> list[str]:
    """The user-visible literals of a module's source: what the catalogue should say instead."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    found: list[str] = []
    inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        text = _text(node) if isinstance(node, ast.expr) and id(node) not in inner | docstrings else None
        if text is not None:
            html = _CODE.sub("", text)
            shown = _TAG_TEXT.findall(html) + _LABELLING.findall(html)
            found += [t.strip() for t in shown if _words(t)]
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            values = [k.value for k in node.keywords if k.arg in _SHOWN_KEYWORDS]
            values += node.args[:1] if name in _SHOWING_CALLS else []
            found += [t for v in values if (t := _text(v)) is not None and _words(t)]
    return found


def test_the_scan_finds_a_literal_sentence_wherever_a_ui_module_would_show_it() -> None:
    planted = '''
def page(x):
    """A docstring <b>with words</b> is no page."""
    status_line("Answer saved.")
    gr.Button("Send", elem_id="send")
    gr.Textbox(label=f"Question {x}", placeholder=x)
    return f"<h1>{x}</h1><p>Saved on {x}.</p><a title=\\"Open it\\">{x}</a><style>p > b {{}}</style>"
'''
    assert sorted(literal_sentences(planted)) == sorted(
        ["Answer saved.", "Send", "Question {}", "Saved on {}.", "Open it"]
    )


@pytest.mark.parametrize("module", sorted(p.name for p in UI.glob("*.py")))
def test_no_ui_module_shows_a_literal_sentence(module: str) -> None:
    assert literal_sentences((UI / module).read_text(encoding="utf-8")) == []
