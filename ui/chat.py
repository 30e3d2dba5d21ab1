"""The Gradio chat: thin callbacks over `AssistantService`, rendering by `ui.render`.

The conversation lives in a `gr.State` list of `Turn`s; the Chatbot and the sources
panel are both drawn from it, so message `2t + 1` is always the answer of turn `t`.
Every string shown comes from the catalogue of the language picked by the switch (`ui.i18n`):
on load, from the choice kept in the browser's storage, else from its Accept-Language.
The saved conversations beside the chat are `ui.history`'s; only their wiring is here, and the
saving of each answer before it is shown, which puts its permalink in the same drawing. Over 300
lines: the callbacks and the layout that wires them are read together.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from html import escape
from typing import Any

import gradio as gr

from assistant.errors import AssistantError, InvalidQuestionError
from assistant.feedback import MAX_COMMENT_CHARS, FeedbackStore
from assistant.filters import ChunkFilter
from assistant.question import MAX_QUESTION_CHARS, check_question
from assistant.saved_conversations import ConversationStore
from assistant.service import AssistantService
from assistant.settings import Settings
from ui.door import Door
from ui.errors import public_detail
from ui.history import ChatParts, HistoryCallbacks, HistoryPanel
from ui.i18n import DEFAULT_LANGUAGE, Messages, languages, negotiate
from ui.render import Turn, chat_messages, sources_panel
from ui.schemas import MAX_HISTORY_MESSAGES
from ui.status import answer_status, status_line
from ui.urls import app_address

log = logging.getLogger(__name__)

TURNS_WITH_PASSAGES = 5  # answers whose retrieved passages the chat keeps (the latest ones)

EXAMPLES = ("chat.example.1", "chat.example.2", "chat.example.3")
LANGUAGE_KEY = "iom-language"  # where the browser keeps the language chosen with the switch

# Where the keyboard focus goes after an event (the page would otherwise drop it on <body>).
FOCUS_QUESTION = "() => { setTimeout(() => document.querySelector('#iom-question textarea')?.focus(), 50); }"
FOCUS_COMMENT = "() => { setTimeout(() => document.querySelector('#iom-comment textarea')?.focus(), 50); }"


class ChatCallbacks:
    """The chat's event handlers: a few lines each over the service, the feedback store and the
    saved conversations (`history`, the handlers of their panel)."""

    def __init__(
        self,
        service: AssistantService,
        feedback: FeedbackStore,
        conversations: ConversationStore,
        settings: Settings,
        door: Door,
    ) -> None:
        self.service = service
        self.feedback = feedback
        self.root_path = settings.root_path
        self.door = door
        self.history = HistoryCallbacks(
            conversations, service, door, settings.conversation_retention_days, self.base_url
        )

    def base_url(self, request: gr.Request | None) -> str:
        """Absolute address of the app for source links (works inside a web component too)."""
        if request is None or request.request is None:
            return "./"
        connection = request.request
        return app_address(connection, self.door.from_trusted_proxy(connection), self.root_path)

    def search_filter(self, request: gr.Request) -> ChunkFilter:
        """What the signed-in user may read (ui/door.py); only everyone's documents without one."""
        connection = request.request
        return ChunkFilter(reader=self.door.reader(connection) if connection is not None else frozenset())

    def localise(self, language: str, turns: list[Turn], request: gr.Request) -> tuple[Any, ...]:
        """Every label of the page, and the conversation, in `language` (as the switch sets it)."""
        say = Messages(negotiate(None, language))
        return (
            say.code,
            gr.update(value=say.code, label=say("language.label")),
            header(say),
            gr.update(
                value=chat_messages(turns, say),
                label=say("chat.label"),
                placeholder=say("chat.placeholder"),
                examples=[{"text": say(key)} for key in EXAMPLES],
            ),
            gr.update(placeholder=say("question.placeholder")),
            gr.update(value=say("question.send")),
            gr.update(placeholder=say("comment.placeholder")),
            gr.update(value=say("comment.send")),
            gr.update(value=say("conversation.new")),
            sources_panel(turns, self.base_url(request), say),
        )

    def localise_on_load(self, stored: str | None, turns: list[Turn], request: gr.Request) -> tuple[Any, ...]:
        """The page as it opens: in the language chosen before, else the browser's."""
        accept = request.headers.get("accept-language") if request is not None else None
        return self.localise(negotiate(accept, stored), turns, request)

    def respond(
        self, question: str, turns: list[Turn], current: str | None, language: str, request: gr.Request
    ) -> Iterator[tuple[Any, ...]]:
        """Stream the answer into the chat, save it to the open conversation (`current`), then show
        the verified answer and its sources with its permalink, in one drawing that nothing redraws
        after (a citation followed at once keeps its highlight and the focus); the status line
        says the answer once, complete."""
        say = Messages(negotiate(None, language))
        history = [
            m for t in turns if t.answer for m in (("user", t.question), ("assistant", t.answer["answer"]))
        ][-MAX_HISTORY_MESSAGES:]  # as much of the conversation as the API takes
        try:
            question = check_question(question, follow_up=bool(history))
        except InvalidQuestionError as exc:
            alert = status_line(public_detail(exc, say), alert=True)
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), alert, gr.skip()
            return
        base = self.base_url(request)
        turns = [*_forget_passages(turns), Turn(question)]
        yield (
            chat_messages(turns, say),
            sources_panel(turns, base, say),
            turns,
            "",
            status_line(say("status.searching")),
            gr.skip(),
        )
        streamed = ""
        try:
            for event in self.service.ask_stream(question, history, filters=self.search_filter(request)):
                if event.kind == "token":
                    streamed += event.text
                    shown = chat_messages(turns, say, streamed)
                    yield shown, gr.skip(), turns, gr.skip(), gr.skip(), gr.skip()
                elif event.answer is not None:
                    turns[-1].answer = event.answer.to_dict()
        except AssistantError as exc:
            log.warning("chat answer failed: %s", exc)
            turns[-1].error = public_detail(exc, say)
        except Exception:
            log.exception("chat answer failed")
            turns[-1].error = say("error.unexpected")
        current, not_saved = self.history.save(turns, current, say, request)
        yield (
            chat_messages(turns, say),
            sources_panel(turns, base, say),
            turns,
            gr.skip(),
            answer_status(turns[-1], say) + (not_saved or ""),
            current,
        )

    def rate(self, turns: list[Turn], language: str, data: gr.LikeData) -> tuple[Any, ...]:
        """Store a thumbs up / down on an answer and offer the comment box."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = turns[index // 2] if isinstance(index, int) and 0 <= index // 2 < len(turns) else None
        if turn is None or turn.answer is None or data.liked not in (True, False):
            return None, gr.update(visible=False), gr.skip()
        answer = turn.answer
        feedback_id = self.feedback.add(
            question=turn.question,
            answer=answer["answer"],
            rating="up" if data.liked else "down",
            citations=answer.get("citations", []),
            provider=answer.get("provider"),
        )
        return feedback_id, gr.update(visible=True), status_line(Messages(language)("status.rated"))

    def comment(self, feedback_id: int | None, comment: str, language: str) -> tuple[Any, ...]:
        """Attach the optional comment to the rating just given."""
        if feedback_id is None or not comment.strip():
            return None, "", gr.update(visible=False), gr.skip()
        self.feedback.set_comment(feedback_id, comment)
        return None, "", gr.update(visible=False), status_line(Messages(language)("status.commented"))

    def new_conversation(self, language: str, request: gr.Request) -> tuple[Any, ...]:
        """Forget the conversation."""
        panel = sources_panel([], self.base_url(request), Messages(negotiate(None, language)))
        return [], panel, [], "", None, gr.update(visible=False), ""


def header(say: Messages) -> str:
    """The page's title and what it is for."""
    return f"<h1>{escape(say('app.title'))}</h1><p>{escape(say('app.subtitle'))}</p>"


def page_language_js() -> str:
    """Script that gives the page the chosen language's `lang`, and `dir="rtl"` when it is
    written right to left; its `data-iom-language` shows the chat (`ui.theme.HEAD` keeps it
    hidden until then, so its first paint is in the reader's language, not English), and the
    question box gets the focus its autofocus could not take while hidden."""
    rtl = json.dumps([code for code in languages() if Messages(code).direction == "rtl"])
    return (
        "(code) => { const root = document.documentElement; root.lang = code; "
        "root.dataset.iomLanguage = code; "
        f"root.dir = {rtl}.includes(code) ? 'rtl' : 'ltr'; "
        "const app = document.querySelector('.gradio-container'); "
        "if (app) { app.lang = code; app.dir = root.dir; } "
        # the question box's autofocus found it hidden: give it the focus now it shows
        "const focused = document.activeElement; "
        "if (!focused || focused === document.body) "
        "document.querySelector('#iom-question textarea')?.focus(); }"
    )


def _forget_passages(turns: list[Turn]) -> list[Turn]:
    """The conversation with the passages of all but the latest TURNS_WITH_PASSAGES answers
    dropped: older turns keep their question, answer and quoted citations, so a long
    conversation does not grow the page, the session and every re-render without bound."""
    kept = []
    for age, turn in enumerate(reversed(turns)):
        old = age >= TURNS_WITH_PASSAGES - 1  # the question being asked is the latest turn
        if old and turn.answer is not None and turn.answer.get("retrieved"):
            answer = {**turn.answer, "retrieved": [], "passages_dropped": True}
            kept.append(replace(turn, answer=answer))
        else:
            kept.append(turn)
    return kept[::-1]


def build_chat(
    service: AssistantService,
    feedback: FeedbackStore,
    conversations: ConversationStore,
    settings: Settings,
    door: Door,
) -> gr.Blocks:
    """The chat page (mount with `ui.theme`'s theme, `CSS` and `HEAD`), in English until the
    page has loaded and `localise` has said it in the reader's language; beside it, the saved
    conversations (`ui.history`)."""
    calls = ChatCallbacks(service, feedback, conversations, settings, door)
    say = Messages(DEFAULT_LANGUAGE)
    with gr.Blocks(title=say("app.title"), analytics_enabled=False, fill_width=False) as blocks:
        turns = gr.State([])
        current = gr.State(None)  # the open saved conversation
        rated = gr.State(None)
        stored = gr.BrowserState(None, storage_key=LANGUAGE_KEY)
        with gr.Row(equal_height=False, elem_id="iom-top"):
            title = gr.HTML(header(say), elem_id="iom-header", js_on_load=None)
            language = gr.Radio(
                [(Messages(code)("language.name"), code) for code in languages()],
                value=DEFAULT_LANGUAGE,
                label=say("language.label"),
                elem_id="iom-language",
                scale=0,
                min_width=220,
            )
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=220, elem_id="iom-history-column"):
                history = HistoryPanel(say)
            with gr.Column(scale=3, min_width=340):
                chatbot = gr.Chatbot(
                    elem_id="iom-chat",
                    label=say("chat.label"),
                    show_label=False,
                    height="62vh",
                    min_height=360,
                    placeholder=say("chat.placeholder"),
                    examples=[{"text": say(key)} for key in EXAMPLES],
                    buttons=["copy", "copy_all"],
                    sanitize_html=True,
                    render_markdown=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    feedback_options=("Like", "Dislike"),
                    layout="bubble",
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder=say("question.placeholder"),
                        show_label=False,
                        lines=1,
                        max_lines=5,
                        max_length=MAX_QUESTION_CHARS,
                        scale=6,
                        elem_id="iom-question",
                        autofocus=True,
                    )
                    send = gr.Button(
                        say("question.send"), variant="primary", scale=1, min_width=80, elem_id="iom-send"
                    )
                with gr.Row(visible=False, elem_id="iom-feedback-row") as comment_row:
                    comment = gr.Textbox(
                        placeholder=say("comment.placeholder"),
                        show_label=False,
                        max_length=MAX_COMMENT_CHARS,
                        scale=6,
                        elem_id="iom-comment",
                    )
                    send_comment = gr.Button(
                        say("comment.send"), size="sm", scale=1, elem_id="iom-send-comment"
                    )
                status = gr.HTML("", elem_id="iom-status", js_on_load=None)
                new = gr.Button(say("conversation.new"), size="sm", variant="secondary", elem_id="iom-new")
            with gr.Column(scale=2, min_width=300):
                sources = gr.HTML(sources_panel([], "./", say), elem_id="iom-sources-panel", js_on_load=None)

        parts = ChatParts(
            language=language, turns=turns, current=current, chatbot=chatbot, sources=sources,
            question=question, rated=rated, comment_row=comment_row, status=status,
        )  # fmt: skip
        history.connect(calls.history, parts)
        labelled = [stored, language, title, chatbot, question, send, comment, send_comment, new, sources]
        private: dict[str, Any] = {"api_visibility": "private"}
        for relabelled in (
            blocks.load(calls.localise_on_load, [stored, turns], labelled, **private),
            language.input(calls.localise, [language, turns], labelled, **private),
        ):
            history.refresh_after(relabelled.then(None, [language], None, js=page_language_js()))
        answer_outputs = [chatbot, sources, turns, question, status, current]
        ask_options: dict[str, Any] = {"show_progress": "minimal", "show_progress_on": chatbot, **private}
        asked = [question, turns, current, language]
        for answered in (
            question.submit(calls.respond, asked, answer_outputs, **ask_options),
            send.click(calls.respond, asked, answer_outputs, **ask_options),
            chatbot.example_select(_example_text, None, question, **private).then(
                calls.respond, asked, answer_outputs, **ask_options
            ),
        ):
            history.refresh_after(answered)  # the list, with the conversation the answer was saved to
        chatbot.like(calls.rate, [turns, language], [rated, comment_row, status], **private).then(
            None, js=FOCUS_COMMENT
        )
        comment_outputs = [rated, comment, comment_row, status]
        for sent in (send_comment.click, comment.submit):
            sent(calls.comment, [rated, comment, language], comment_outputs, **private).then(
                None, js=FOCUS_QUESTION
            )
        cleared = new.click(
            calls.new_conversation,
            [language],
            [chatbot, sources, turns, question, rated, comment_row, status],
            **private,
        )
        history.close_after(cleared).then(None, js=FOCUS_QUESTION)
    # Past max_size Gradio tells the user the queue is full instead of making them wait minutes.
    blocks.queue(default_concurrency_limit=8, max_size=settings.max_pending_questions)
    return blocks


def _example_text(data: gr.SelectData) -> str:
    value = data.value
    return str(value.get("text", "")) if isinstance(value, dict) else str(value)
