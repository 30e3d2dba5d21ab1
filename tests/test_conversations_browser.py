"""Saved conversations (#13 point 4) in real headless Chromium, against real servers.

On an open server a browser asks, reloads and finds its conversation in the list, reopens it
with its sources as they were, renames, exports and deletes it, while another browser sees none
of it but opens the answer's permalink. Behind a sign-in proxy with access groups, a permalink
opens for a colleague in the cited document's group and for no one else.

Both servers share one index and one service (a restricted HR note beside the public seed
article, tests/test_access.py); each keeps its own conversations. The open server's store can hold
a save for a moment, so a test can follow a citation while its answer is being saved, or fail one.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from _axe import describe, violations
from _browser_kit import ANSWER_TIMEOUT_MS, ask, bot_messages, chromium, shot, wait_answer
from _web_corpus import BUDVA_DATE, BUDVA_QUESTION
from playwright.sync_api import Browser, BrowserContext, Page, expect

from assistant.saved_conversations import ConversationStore, SavedAnswer
from assistant.service import AssistantService
from assistant.settings import Settings
from tests.conftest import SEED, ServerThread, clean_environment, free_port
from tests.test_access import FACT, QUESTION, RESTRICTED, restricted_index

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

SAVE_TIMEOUT_MS = 20_000
SEED_HREF = "api/sources/" + SEED.name  # under the server's address
LIST = "#iom-history input[type='radio']"
PERMALINK = "#iom-sources-panel .iom-permalink a"
HOLD_S = 4  # the longest a held save waits for the test to let it go


class HeldConversations(ConversationStore):
    """The real store, whose next save can be held until the test lets it go (or HOLD_S pass),
    or fail as a full disk would."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.conversations_path, settings.conversation_retention_days)
        self.hold = threading.Event()
        self.release = threading.Event()
        self.fail = threading.Event()

    def save_answer(
        self,
        owner: str,
        conversation_id: str | None,
        answer: Mapping[str, Any],
        passages: Sequence[Mapping[str, Any]] = (),
    ) -> SavedAnswer:
        if self.hold.is_set():
            self.hold.clear()
            self.release.wait(timeout=HOLD_S)
        if self.fail.is_set():
            self.fail.clear()
            raise sqlite3.OperationalError("database or disk is full")
        return super().save_answer(owner, conversation_id, answer, passages)


@pytest.fixture(scope="module")
def locked_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with clean_environment():
        yield restricted_index(
            tmp_path_factory.mktemp("conversations"),
            trusted_user_header="X-Forwarded-User",
            trusted_groups_header="X-Forwarded-Groups",
        )


@pytest.fixture(scope="module")
def service(locked_settings: Settings) -> AssistantService:
    return AssistantService(locked_settings)


@pytest.fixture(scope="module")
def open_settings(locked_settings: Settings) -> Settings:
    """The same index on a server where nobody signs in: each browser has its own list."""
    return locked_settings.model_copy(
        update={
            "api_keys": (),
            "trusted_user_header": None,
            "trusted_groups_header": None,
            "conversations_db": locked_settings.feedback_db.parent / "open-conversations.sqlite3",
        }
    )


@pytest.fixture(scope="module")
def open_store(open_settings: Settings) -> HeldConversations:
    return HeldConversations(open_settings)


@pytest.fixture(scope="module")
def open_server(
    open_settings: Settings, service: AssistantService, open_store: HeldConversations
) -> Iterator[ServerThread]:
    with ServerThread(open_settings, free_port(), service, open_store) as running:
        yield running


@pytest.fixture(scope="module")
def locked_server(locked_settings: Settings, service: AssistantService) -> Iterator[ServerThread]:
    with ServerThread(locked_settings, free_port(), service) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _user(browser: Browser, name: str, groups: str) -> BrowserContext:
    """A browser whose requests the sign-in proxy has signed in as `name`, with `groups`."""
    return browser.new_context(
        viewport={"width": 1320, "height": 940},
        extra_http_headers={"X-Forwarded-User": name, "X-Forwarded-Groups": groups},
    )


def _open_chat(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#iom-question textarea")).to_be_visible(timeout=30_000)
    expect(page.locator("#iom-history")).to_contain_text("Past conversations", timeout=15_000)


def _rows(settings: Settings) -> tuple[int, int]:
    with sqlite3.connect(settings.conversations_path) as db:
        conversations = db.execute("SELECT count(*) FROM conversation").fetchone()[0]
        answers = db.execute("SELECT count(*) FROM saved_answer").fetchone()[0]
    return conversations, answers


def _no_violations(page: Page, state: str) -> None:
    found: list[dict[str, Any]] = violations(page)
    assert found == [], f"[{state}]\n{describe(found)}"


# -- tests ----------------------------------------------------------------------------------------


def test_a_browser_finds_reopens_renames_exports_and_deletes_its_conversation(
    open_server: ServerThread, open_settings: Settings, browser: Browser
) -> None:
    mine = browser.new_context(viewport={"width": 1320, "height": 940})
    page = mine.new_page()
    _open_chat(page, open_server.url)
    ask(page, BUDVA_QUESTION)
    wait_answer(page, 1, BUDVA_DATE)
    expect(page.locator(LIST)).to_have_count(1, timeout=SAVE_TIMEOUT_MS)
    permalink = page.locator(PERMALINK).get_attribute("href") or ""
    assert re.fullmatch(rf"{re.escape(open_server.url)}a/[A-Za-z0-9_-]{{22}}", permalink), permalink

    page.reload()  # the list is there, the chat empty
    _open_chat(page, open_server.url)
    entry = page.locator(LIST)
    expect(entry).to_have_count(1, timeout=SAVE_TIMEOUT_MS)
    expect(page.locator("#iom-history label")).to_contain_text(BUDVA_QUESTION[:30])
    expect(bot_messages(page)).to_have_count(0)

    entry.focus()  # reopened from the keyboard, with its sources as they were
    page.keyboard.press("Space")
    wait_answer(page, 1, BUDVA_DATE)
    panel = page.locator("#iom-sources-panel")
    expect(panel.locator("mark").first).to_contain_text(BUDVA_DATE)
    expect(panel.locator("a.iom-src-title").first).to_have_attribute("href", open_server.url + SEED_HREF)
    expect(page.locator(PERMALINK)).to_have_attribute("href", permalink)
    expect(page.locator("#iom-status")).to_contain_text("Conversation opened")
    _no_violations(page, "a conversation reopened")
    shot(page, "conversation-reopened.png")

    other = browser.new_context()  # another browser: none of the list, but the permalink opens
    stranger = other.new_page()
    _open_chat(stranger, open_server.url)
    expect(stranger.locator("#iom-history")).to_contain_text("None yet")
    expect(stranger.locator(LIST)).to_have_count(0)
    shown = stranger.goto(permalink)
    assert shown is not None and shown.status == 200
    expect(stranger.locator("h1")).to_have_text(BUDVA_QUESTION)
    expect(stranger.locator(".answer")).to_contain_text(BUDVA_DATE)
    expect(stranger.locator("#source-1 a")).to_have_attribute("href", open_server.url + SEED_HREF)
    _no_violations(stranger, "the permalink page")
    shot(stranger, "conversation-permalink.png")

    name = page.locator("#iom-conversation-name textarea, #iom-conversation-name input").first
    name.fill("Budva <b>notes</b>")
    page.locator("#iom-rename").click()
    expect(page.locator("#iom-history label")).to_contain_text("Budva <b>notes</b>", timeout=SAVE_TIMEOUT_MS)
    assert page.locator("#iom-history label b").count() == 0  # a name is text, never markup

    with page.expect_download() as download:
        page.locator("#iom-export-link a").click()
    assert download.value.suggested_filename == "Budva-b-notes-b.md"
    markdown = download.value.path().read_text(encoding="utf-8")
    assert markdown.startswith("# Budva &lt;b>notes&lt;/b>\n")
    assert f"## {BUDVA_QUESTION}" in markdown and re.search(r"June 14 and 15, 2022.*\[1\]", markdown)
    assert "- [1] [" in markdown and f"]({open_server.url}{SEED_HREF})" in markdown
    assert f"<{permalink}>" in markdown
    assert other.request.get(page.locator("#iom-export-link a").get_attribute("href") or "").status == 404

    page.locator("#iom-delete").click()  # asked first, then gone, with its permalink
    confirm = page.locator("#iom-delete-confirm")
    expect(confirm).to_contain_text("Budva <b>notes</b>")
    _no_violations(page, "deleting, asked to confirm")
    page.locator("#iom-delete-yes").click()
    expect(page.locator(LIST)).to_have_count(0, timeout=SAVE_TIMEOUT_MS)
    expect(bot_messages(page)).to_have_count(0)
    expect(page.locator("#iom-status")).to_contain_text("Conversation deleted")
    assert _rows(open_settings) == (0, 0)
    assert other.request.get(permalink).status == 404
    mine.close()
    other.close()


def test_a_citation_followed_the_moment_its_answer_shows_keeps_its_highlight_and_focus(
    open_server: ServerThread, open_store: HeldConversations, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 1320, "height": 940})
    page = context.new_page()
    _open_chat(page, open_server.url)
    citation = page.locator('#iom-chat a[href="#iom-src-0-1"]')
    open_store.release.clear()
    open_store.hold.set()  # the save waits until the citation is followed (at most HOLD_S)
    try:
        ask(page, BUDVA_QUESTION)
        expect(citation).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        # the entry the citation points to, and when it was followed (its flash lasts 2.5 s)
        page.evaluate("() => { window.iomEntry = document.getElementById('iom-src-0-1'); "
                      "window.iomFollowedAt = performance.now(); }")  # fmt: skip
        citation.click()
        expect(page.locator("#iom-src-0-1.iom-flash")).to_have_count(1)
        expect(page.locator("#iom-src-0-1 .iom-passage")).to_be_focused()
    finally:
        open_store.release.set()

    expect(page.locator(LIST)).to_have_count(1, timeout=SAVE_TIMEOUT_MS)  # saved, the list redrawn
    expect(page.locator(PERMALINK)).to_have_count(1)
    held = page.evaluate(
        "() => { const entry = window.iomEntry; return {shown: entry.isConnected, "
        "flashing: entry.classList.contains('iom-flash'), "
        "since: performance.now() - window.iomFollowedAt, "
        "focused: document.activeElement === entry.querySelector('.iom-passage')}; }"
    )
    assert held["shown"], "saving the answer drew the sources panel again: the followed entry is gone"
    assert held["focused"], "saving the answer took the keyboard focus from the passage followed"
    assert held["flashing"] or held["since"] >= 2500, "saving the answer dropped the citation's highlight"
    expect(page.locator("#iom-src-0-1 .iom-passage")).to_be_focused()
    context.close()


def test_an_answer_that_cannot_be_saved_still_shows_and_says_so(
    open_server: ServerThread, open_store: HeldConversations, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 1320, "height": 940})
    page = context.new_page()
    _open_chat(page, open_server.url)
    open_store.fail.set()
    try:
        ask(page, BUDVA_QUESTION)
        wait_answer(page, 1, BUDVA_DATE)
    finally:
        open_store.fail.clear()
    status = page.locator("#iom-status")
    expect(status).to_contain_text("Answer ready")  # the answer said, then why it is not kept
    expect(status.locator(".iom-alert")).to_contain_text("This answer was not saved")
    expect(page.locator("#iom-sources-panel mark").first).to_contain_text(BUDVA_DATE)
    expect(page.locator(PERMALINK)).to_have_count(0)
    expect(page.locator("#iom-history")).to_contain_text("None yet")
    context.close()


def test_a_permalink_opens_for_colleagues_who_may_read_its_sources_and_no_one_else(
    locked_server: ServerThread, browser: Browser
) -> None:
    ana = _user(browser, "ana", "hr")
    page = ana.new_page()
    _open_chat(page, locked_server.url)
    ask(page, QUESTION)
    wait_answer(page, 1, FACT)
    expect(page.locator(LIST)).to_have_count(1, timeout=SAVE_TIMEOUT_MS)
    permalink = page.locator(PERMALINK).get_attribute("href") or ""

    carl = _user(browser, "carl", "hr,staff")  # a colleague in the HR group
    colleague = carl.new_page()
    shown = colleague.goto(permalink)
    assert shown is not None and shown.status == 200
    expect(colleague.locator(".answer")).to_contain_text(FACT)
    expect(colleague.locator("#source-1")).to_contain_text(RESTRICTED)
    _open_chat(colleague, locked_server.url)  # ana's list is hers alone
    expect(colleague.locator("#iom-history")).to_contain_text("None yet")

    bob = _user(browser, "bob", "staff")  # signed in, but not in the group
    outsider = bob.new_page()
    refused = outsider.goto(permalink)
    assert refused is not None and refused.status == 404
    expect(outsider.locator("h1")).to_have_text("No answer to show")
    content = outsider.content()
    assert FACT not in content and RESTRICTED not in content and QUESTION not in content
    unknown = outsider.goto(permalink[:-4] + "AAAA")  # the same answer as for a wrong link
    assert unknown is not None and unknown.status == 404 and outsider.content() == content

    moved = _user(browser, "ana", "staff")  # ana, since moved out of HR: her list, not its secret
    again = moved.new_page()
    _open_chat(again, locked_server.url)
    again.locator("#iom-history label").first.click()
    expect(bot_messages(again).first).to_contain_text("no longer shown", timeout=SAVE_TIMEOUT_MS)
    expect(again.locator("#iom-chat [data-testid='user']")).to_have_text(QUESTION)
    assert FACT not in again.content() and RESTRICTED not in again.content()
    export = moved.request.get(again.locator("#iom-export-link a").get_attribute("href") or "")
    assert export.status == 200 and "no longer shown" in export.text() and FACT not in export.text()

    nobody = browser.new_context()  # not signed in: the door, as everywhere
    anonymous = nobody.new_page()
    closed = anonymous.goto(permalink)
    assert closed is not None and closed.status == 401
    assert FACT not in anonymous.content()
    for context in (ana, carl, bob, moved, nobody):
        context.close()


def test_who_may_read_a_saved_answers_documents(service: AssistantService) -> None:
    hr, staff, everyone = frozenset({"hr"}), frozenset({"staff"}), frozenset[str]()
    assert service.may_read_all([SEED.name], everyone) and service.may_read_all([SEED.name, RESTRICTED], hr)
    assert not service.may_read_all([SEED.name, RESTRICTED], staff)
    # A document gone from the index: no one knows its groups, unless its reader once read it.
    assert not service.may_read_all(["gone.txt"], hr)
    assert service.may_read_all(["gone.txt", SEED.name], everyone, gone_ok=True)
    assert not service.may_read_all(["gone.txt", RESTRICTED], staff, gone_ok=True)
