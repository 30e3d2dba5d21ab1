"""The Gradio chat: thin callbacks over `AssistantService`, rendering by `ui.render`.

The conversation lives in a `gr.State` list of `Turn`s; the Chatbot and the sources
panel are both drawn from it, so message `2t + 1` is always the answer of turn `t`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.errors import AssistantError, InvalidQuestionError
from assistant.feedback import FeedbackStore
from assistant.filters import ChunkFilter
from assistant.question import check_question
from assistant.service import AssistantService
from assistant.settings import Settings
from ui.door import Door
from ui.errors import public_detail
from ui.render import SEARCHING, Turn, chat_messages, sources_panel
from ui.schemas import MAX_HISTORY_MESSAGES
from ui.status import COMMENTED, RATED, answer_status, status_line
from ui.urls import app_address

log = logging.getLogger(__name__)

TURNS_WITH_PASSAGES = 5  # answers whose retrieved passages the chat keeps (the latest ones)

TITLE = "IOM Assistant"
EXAMPLE_QUESTIONS = (
    "When did IOM organize the meeting of the Heads of Border Police in Budva?",
    "Which countries took part in the meeting of the Heads of Border Police of the Western Balkans?",
    "What does IOM do to support border management in the Western Balkans?",
)
PLACEHOLDER = (
    "**Ask about the IOM documents.** Every answer quotes its sources; "
    "click a number like [1] to see the passage it comes from."
)

# Where the keyboard focus goes after an event (the page would otherwise drop it on <body>).
FOCUS_QUESTION = "() => { setTimeout(() => document.querySelector('#iom-question textarea')?.focus(), 50); }"
FOCUS_COMMENT = "() => { setTimeout(() => document.querySelector('#iom-comment textarea')?.focus(), 50); }"


class ChatCallbacks:
    """The chat's event handlers: a few lines each over the service and the feedback store."""

    def __init__(
        self, service: AssistantService, feedback: FeedbackStore, settings: Settings, door: Door
    ) -> None:
        self.service = service
        self.feedback = feedback
        self.root_path = settings.root_path
        self.door = door

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

    def respond(self, question: str, turns: list[Turn], request: gr.Request) -> Iterator[tuple[Any, ...]]:
        """Stream the answer into the chat, then show the verified answer and its sources; the
        status line says the answer once, complete."""
        try:
            question = check_question(question)
        except InvalidQuestionError as exc:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), status_line(str(exc), alert=True)
            return
        base = self.base_url(request)
        history = [
            m for t in turns if t.answer for m in (("user", t.question), ("assistant", t.answer["answer"]))
        ][-MAX_HISTORY_MESSAGES:]  # as much of the conversation as the API takes
        turns = [*_forget_passages(turns), Turn(question)]
        yield chat_messages(turns), sources_panel(turns, base), turns, "", status_line(SEARCHING)
        streamed = ""
        try:
            for event in self.service.ask_stream(question, history, filters=self.search_filter(request)):
                if event.kind == "token":
                    streamed += event.text
                    yield chat_messages(turns, streaming=streamed), gr.skip(), turns, gr.skip(), gr.skip()
                elif event.answer is not None:
                    turns[-1].answer = event.answer.to_dict()
        except AssistantError as exc:
            log.warning("chat answer failed: %s", exc)
            turns[-1].error = public_detail(exc)
        except Exception:
            log.exception("chat answer failed")
            turns[-1].error = "Something went wrong while answering; please try again."
        yield chat_messages(turns), sources_panel(turns, base), turns, gr.skip(), answer_status(turns[-1])

    def rate(self, turns: list[Turn], data: gr.LikeData) -> tuple[Any, ...]:
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
        return feedback_id, gr.update(visible=True), status_line(RATED)

    def comment(self, feedback_id: int | None, comment: str) -> tuple[Any, ...]:
        """Attach the optional comment to the rating just given."""
        if feedback_id is None or not comment.strip():
            return None, "", gr.update(visible=False), gr.skip()
        self.feedback.set_comment(feedback_id, comment)
        return None, "", gr.update(visible=False), status_line(COMMENTED)

    def new_conversation(self, request: gr.Request) -> tuple[Any, ...]:
        """Forget the conversation."""
        return [], sources_panel([], self.base_url(request)), [], "", None, gr.update(visible=False), ""


def _forget_passages(turns: list[Turn]) -> list[Turn]:
    """The conversation with the passages of all but the latest TURNS_WITH_PASSAGES answers
    dropped: older turns keep their question, answer and quoted citations, so a long
    conversation does not grow the page, the session and every re-render without bound."""
    kept = []
    for age, turn in enumerate(reversed(turns)):
        old = age >= TURNS_WITH_PASSAGES - 1  # the question being asked is the latest turn
        if old and turn.answer is not None and turn.answer.get("retrieved"):
            answer = {**turn.answer, "retrieved": [], "passages_dropped": True}
            kept.append(Turn(turn.question, answer, turn.error))
        else:
            kept.append(turn)
    return kept[::-1]


def build_chat(
    service: AssistantService, feedback: FeedbackStore, settings: Settings, door: Door
) -> gr.Blocks:
    """The chat page (mount with `ui.theme`'s theme, `CSS` and `HEAD`)."""
    calls = ChatCallbacks(service, feedback, settings, door)
    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=False) as blocks:
        turns = gr.State([])
        rated = gr.State(None)
        gr.HTML(
            f"<h1>{TITLE}</h1><p>Answers from IOM documents, with citations. "
            "Check the quoted passages before relying on an answer.</p>",
            elem_id="iom-header",
            js_on_load=None,
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                chatbot = gr.Chatbot(
                    elem_id="iom-chat",
                    label="Conversation",
                    show_label=False,
                    height="62vh",
                    min_height=360,
                    placeholder=PLACEHOLDER,
                    examples=[{"text": q} for q in EXAMPLE_QUESTIONS],
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
                        placeholder="Ask about the IOM documents…",
                        show_label=False,
                        lines=1,
                        max_lines=5,
                        max_length=2000,
                        scale=6,
                        elem_id="iom-question",
                        autofocus=True,
                    )
                    send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="iom-send")
                with gr.Row(visible=False, elem_id="iom-feedback-row") as comment_row:
                    comment = gr.Textbox(
                        placeholder="Optional: tell us what was wrong or missing",
                        show_label=False,
                        max_length=2000,
                        scale=6,
                        elem_id="iom-comment",
                    )
                    send_comment = gr.Button("Send comment", size="sm", scale=1, elem_id="iom-send-comment")
                status = gr.HTML("", elem_id="iom-status", js_on_load=None)
                new = gr.Button("New conversation", size="sm", variant="secondary", elem_id="iom-new")
            with gr.Column(scale=2, min_width=300):
                sources = gr.HTML(sources_panel([], "./"), elem_id="iom-sources-panel", js_on_load=None)

        answer_outputs = [chatbot, sources, turns, question, status]
        ask_options: dict[str, Any] = {
            "show_progress": "minimal",
            "show_progress_on": chatbot,
            "api_visibility": "private",
        }
        question.submit(calls.respond, [question, turns], answer_outputs, **ask_options)
        send.click(calls.respond, [question, turns], answer_outputs, **ask_options)
        chatbot.example_select(_example_text, None, question, api_visibility="private").then(
            calls.respond, [question, turns], answer_outputs, **ask_options
        )
        chatbot.like(calls.rate, [turns], [rated, comment_row, status], api_visibility="private").then(
            None, js=FOCUS_COMMENT
        )
        comment_outputs = [rated, comment, comment_row, status]
        for sent in (send_comment.click, comment.submit):
            sent(calls.comment, [rated, comment], comment_outputs, api_visibility="private").then(
                None, js=FOCUS_QUESTION
            )
        new.click(
            calls.new_conversation,
            None,
            [chatbot, sources, turns, question, rated, comment_row, status],
            api_visibility="private",
        ).then(None, js=FOCUS_QUESTION)
    # Past max_size Gradio tells the user the queue is full instead of making them wait minutes.
    blocks.queue(default_concurrency_limit=8, max_size=settings.max_pending_questions)
    return blocks


def _example_text(data: gr.SelectData) -> str:
    value = data.value
    return str(value.get("text", "")) if isinstance(value, dict) else str(value)
