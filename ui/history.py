"""The chat's saved conversations: the list beside the chat, reopening one with its sources as they
were, renaming, deleting, the Markdown export link; and saving each answer as it completes, before
the chat shows it, so the answer and its permalink are drawn at once (drawn after, the sources
panel would be replaced under a citation just followed, taking its highlight and the focus).

Thin callbacks over `ConversationStore` (`assistant/saved_conversations.py`). The open
conversation's id is a `gr.State` beside the chat's turns, and each `Turn` keeps its saved
answer's id, the permalink the sources panel shows. Whose list it is, `ui/owner.py` says: a
signed-in user's, else this browser's. The rename, delete and export act on the open
conversation; deleting asks first. An answer that shows a document its owner may no longer read
(their groups changed) is withheld when reopened. Slightly over 300 lines: the callbacks and the
components they redraw are read together.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

import gradio as gr
from gradio.events import Dependency

from assistant.errors import ConversationError
from assistant.saved_conversations import (
    MAX_TITLE_CHARS,
    ConversationStore,
    SavedAnswer,
    SavedConversation,
)
from assistant.service import AssistantService
from ui.door import Door
from ui.export import export_href
from ui.i18n import Messages, negotiate
from ui.owner import conversation_owner
from ui.render import CLOSEST_SOURCES, Turn, chat_messages, passage_for, sources_panel
from ui.status import status_line

log = logging.getLogger(__name__)

# Private to the page; no loading veil over the panel while it redraws (the status line speaks).
_PRIVATE: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
_FOCUS = "() => {{ setTimeout(() => document.querySelector('{}')?.focus(), 50); }}"


@dataclass(frozen=True)
class ChatParts:
    """The chat's components that the history's events read or redraw."""

    language: gr.Radio
    turns: gr.State
    current: gr.State  # the open saved conversation's id, None until its first answer is saved
    chatbot: gr.Chatbot
    sources: gr.HTML
    question: gr.Textbox
    rated: gr.State
    comment_row: gr.Row
    status: gr.HTML

    def conversation(self) -> list[Any]:
        """What reopening or deleting a conversation redraws."""
        return [self.chatbot, self.sources, self.turns, self.current, self.question, self.rated,
                self.comment_row, self.status]  # fmt: skip


def shown_passages(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The retrieved passages the sources panel shows beside an answer, which a saved answer
    keeps: those holding its citations' quotes, or a refusal's closest ones."""
    retrieved = list(answer.get("retrieved") or [])
    if answer.get("refused"):
        return [dict(p) for p in retrieved[:CLOSEST_SOURCES]]
    shown: list[dict[str, Any]] = []
    for citation in answer.get("citations", []):
        passage = passage_for(citation, retrieved)
        if passage is not None and dict(passage) not in shown:
            shown.append(dict(passage))
    return shown


class HistoryCallbacks:
    """The history's event handlers: a few lines each over the store."""

    def __init__(
        self,
        store: ConversationStore,
        service: AssistantService,
        door: Door,
        retention_days: int,
        base_url: Callable[[gr.Request | None], str],
    ) -> None:
        self.store = store
        self.service = service
        self.door = door
        self.retention_days = retention_days
        self.base_url = base_url
        self._saving = threading.Lock()

    def owner(self, request: gr.Request | None) -> str | None:
        connection = request.request if request is not None else None
        return conversation_owner(self.door, connection) if connection is not None else None

    def show(self, language: str, current: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The panel as the page opens, or in another language."""
        return self.panel(_say(language), current, request)

    def save(
        self, turns: list[Turn], current: str | None, say: Messages, request: gr.Request | None
    ) -> tuple[str | None, str | None]:
        """Save the answers of `turns` not saved yet (the one just given; any whose save failed
        before) to the open conversation, the first answer starting one; each keeps its saved id,
        the permalink the sources panel shows. Returns the open conversation, and the status
        line's alert when an answer could not be saved."""
        owner = self.owner(request)
        unsaved = [t for t in turns if t.answer is not None and t.saved_id is None]
        if owner is None or not unsaved:
            return current, None
        with self._saving:  # one save of a turn, however many events of a session overlap
            for turn in unsaved:
                if turn.answer is None or turn.saved_id is not None:
                    continue
                try:
                    saved = self._save(owner, current, {**turn.answer, "question": turn.question})
                except ConversationError as exc:
                    not_saved = say("status.not_saved", reason=_problem(exc, say))
                    return current, status_line(not_saved, alert=True)
                except Exception:  # the store failed (a full disk): the answer shows all the same
                    log.exception("saving an answer failed")
                    not_saved = say("status.not_saved", reason=say("conversation.bad_answer"))
                    return current, status_line(not_saved, alert=True)
                turn.saved_id, current = saved.id, saved.conversation_id
        return current, None

    def _save(self, owner: str, current: str | None, answer: dict[str, Any]) -> SavedAnswer:
        """Save to the open conversation, or to a new one if it was deleted meanwhile (another tab)."""
        try:
            return self.store.save_answer(owner, current, answer, shown_passages(answer))
        except ConversationError as exc:
            if exc.problem != "unknown" or current is None:
                raise
            return self.store.save_answer(owner, None, answer, shown_passages(answer))

    def reopen(self, chosen: str | None, language: str, request: gr.Request) -> tuple[Any, ...]:
        """Show a saved conversation in the chat, each answer with its sources as they were."""
        say, owner = _say(language), self.owner(request)
        try:
            if owner is None or not chosen:
                raise ConversationError("unknown", "no conversation chosen")
            conversation = self.store.conversation(owner, chosen)
            answers = self.store.answers(owner, chosen)
        except ConversationError as exc:
            return *_unchanged_chat(_problem(exc, say)), *self.panel(say, None, request)
        reader = self.door.reader(request.request) if request.request is not None else frozenset()
        turns = [self._turn(saved, reader, say) for saved in answers]
        opened = status_line(say("status.opened", title=conversation.title))
        return *self._chat(turns, conversation.id, opened, say, request), *self.panel(
            say, conversation.id, request
        )

    def _turn(self, saved: SavedAnswer, reader: frozenset[str], say: Messages) -> Turn:
        """A saved answer as a turn of the chat; withheld if it shows a document its owner may no
        longer read (one gone from the index they once read, and may see again)."""
        if self.service.may_read_all(saved.sources(), reader, gone_ok=True):
            return Turn(saved.question, saved.answer_object(), saved_id=saved.id)
        return Turn(saved.question, error=say("conversation.withheld"), saved_id=saved.id)

    def rename(self, current: str | None, name: str, language: str, request: gr.Request) -> tuple[Any, ...]:
        """Give the open conversation the name typed."""
        say, owner = _say(language), self.owner(request)
        try:
            if owner is None or current is None:
                raise ConversationError("unknown", "no conversation open")
            self.store.rename(owner, current, name)
        except ConversationError as exc:
            return status_line(_problem(exc, say), alert=True), *self.panel(say, current, request)
        return status_line(say("status.renamed")), *self.panel(say, current, request)

    def ask_delete(self, current: str | None, language: str, request: gr.Request) -> tuple[Any, ...]:
        """Ask before deleting the open conversation."""
        return self.panel(_say(language), current, request, confirm=True)

    def keep(self, current: str | None, language: str, request: gr.Request) -> tuple[Any, ...]:
        """Do not delete after all."""
        return self.panel(_say(language), current, request)

    def delete(self, current: str | None, language: str, request: gr.Request) -> tuple[Any, ...]:
        """Delete the open conversation (its answers and their permalinks) and clear the chat."""
        say, owner = _say(language), self.owner(request)
        try:
            if owner is None or current is None:
                raise ConversationError("unknown", "no conversation open")
            self.store.delete(owner, current)
        except ConversationError as exc:
            return *_unchanged_chat(_problem(exc, say)), *self.panel(say, current, request)
        deleted = status_line(say("status.deleted"))
        return *self._chat([], None, deleted, say, request), *self.panel(say, None, request)

    def _chat(
        self, turns: list[Turn], current: str | None, status: str, say: Messages, request: gr.Request
    ) -> tuple[Any, ...]:
        """`ChatParts.conversation()` showing `turns`, an empty question box and no comment box."""
        shown = sources_panel(turns, self.base_url(request), say)
        return chat_messages(turns, say), shown, turns, current, "", None, gr.update(visible=False), status

    def close(self, language: str, request: gr.Request) -> tuple[Any, ...]:
        """After "New conversation": none is open until the next answer is saved."""
        return None, *self.panel(_say(language), None, request)

    def panel(
        self, say: Messages, current: str | None, request: gr.Request | None, confirm: bool = False
    ) -> tuple[Any, ...]:
        """Every component of the panel, in `HistoryPanel.outputs()` order, for `current` open."""
        owner = self.owner(request)
        listed = self.store.conversations(owner) if owner is not None else []
        opened: SavedConversation | None = next((c for c in listed if c.id == current), None)
        choices = [(say("history.choice", title=c.title, date=c.updated_at[:10]), c.id) for c in listed]
        if owner is None:
            info = say("history.unavailable")
        elif not listed:
            info = say("history.empty")
        else:
            days = self.retention_days
            info = say("history.kept_days", days=days) if days else say("history.kept_forever")
        export = ""
        if opened is not None:
            href = export_href(self.base_url(request), opened.id, say.code)
            export = (
                f'<a class="iom-export" href="{escape(href)}" download>{escape(say("history.export"))}</a>'
            )
        question = say("history.delete_confirm", title=opened.title) if opened else ""
        return (
            f"<h2>{escape(say('history.heading'))}</h2>",
            gr.update(
                choices=choices, value=opened.id if opened else None, label=say("history.label"), info=info
            ),
            gr.update(visible=opened is not None),
            gr.update(value=opened.title if opened else "", label=say("history.name")),
            gr.update(value=say("history.rename")),
            export,
            gr.update(value=say("history.delete"), visible=not confirm),
            gr.update(visible=confirm and opened is not None),
            f'<p class="iom-confirm-text">{escape(question)}</p>',
            gr.update(value=say("history.delete_yes")),
            gr.update(value=say("history.delete_no")),
        )


class HistoryPanel:
    """The panel's components (built where it stands in the layout) and their events."""

    def __init__(self, say: Messages) -> None:
        self.heading = gr.HTML(f"<h2>{escape(say('history.heading'))}</h2>", elem_id="iom-history-heading")
        self.conversations = gr.Radio(
            [], value=None, label=say("history.label"), info=say("history.empty"), elem_id="iom-history"
        )
        with gr.Column(visible=False, elem_id="iom-history-actions") as self.actions:
            self.name = gr.Textbox(
                label=say("history.name"),
                max_lines=1,
                max_length=MAX_TITLE_CHARS,
                elem_id="iom-conversation-name",
            )
            self.rename = gr.Button(say("history.rename"), size="sm", elem_id="iom-rename")
            self.export = gr.HTML("", elem_id="iom-export-link")
            self.delete = gr.Button(say("history.delete"), size="sm", variant="stop", elem_id="iom-delete")
            with gr.Column(visible=False, elem_id="iom-delete-confirm") as self.confirm:
                self.confirm_text = gr.HTML("")
                with gr.Row():
                    self.delete_yes = gr.Button(
                        say("history.delete_yes"), size="sm", variant="stop", elem_id="iom-delete-yes"
                    )
                    self.delete_no = gr.Button(say("history.delete_no"), size="sm", elem_id="iom-delete-no")

    def outputs(self) -> list[Any]:
        """The components `HistoryCallbacks.panel` updates, in its order."""
        return [self.heading, self.conversations, self.actions, self.name, self.rename, self.export,
                self.delete, self.confirm, self.confirm_text, self.delete_yes, self.delete_no]  # fmt: skip

    def connect(self, calls: HistoryCallbacks, chat: ChatParts) -> None:
        """The panel's own events: reopen, rename, delete (asked first)."""
        self.calls, self.chat = calls, chat
        panel, the_open_one = self.outputs(), [chat.current, chat.language]
        reopened = [*chat.conversation(), *panel]
        self.conversations.input(calls.reopen, [self.conversations, chat.language], reopened, **_PRIVATE)
        renamed = [chat.status, *panel]
        for event in (self.rename.click, self.name.submit):
            event(calls.rename, [chat.current, self.name, chat.language], renamed, **_PRIVATE)
        self.delete.click(calls.ask_delete, the_open_one, panel, **_PRIVATE).then(
            None, js=_FOCUS.format("#iom-delete-no")
        )
        self.delete_no.click(calls.keep, the_open_one, panel, **_PRIVATE).then(
            None, js=_FOCUS.format("#iom-delete")
        )
        self.delete_yes.click(calls.delete, the_open_one, reopened, **_PRIVATE).then(
            None, js=_FOCUS.format("#iom-question textarea")
        )

    def refresh_after(self, event: Dependency) -> Dependency:
        """Redraw the panel after the page loads or changes language, or an answer is saved."""
        return event.then(
            self.calls.show, [self.chat.language, self.chat.current], self.outputs(), **_PRIVATE
        )

    def close_after(self, event: Dependency) -> Dependency:
        """Close the open conversation after the chat is cleared for a new one."""
        outputs = [self.chat.current, *self.outputs()]
        return event.then(self.calls.close, [self.chat.language], outputs, **_PRIVATE)


def _unchanged_chat(alert: str) -> tuple[Any, ...]:
    """`ChatParts.conversation()` left as it is, but for the status line, which says `alert`."""
    return (*[gr.skip()] * 7, status_line(alert, alert=True))


def _say(language: str) -> Messages:
    return Messages(negotiate(None, language))


def _problem(exc: ConversationError, say: Messages) -> str:
    """What went wrong, in the chat's language."""
    return say(f"conversation.{exc.problem}", limit=exc.limit or 0)
