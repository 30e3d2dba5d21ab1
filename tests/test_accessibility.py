"""WCAG 2.1 AA, the keyboard and narrow screens, checked in real headless Chromium.

axe-core (see `_axe`) audits the chat in each state a user meets it in; a keyboard-only walk
asks, follows a citation and comes back, opens the original, rates and starts again; phone
and desktop screenshots go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from _axe import describe, violations
from _browser_kit import REFUSAL, ask, bot_messages, chromium, shot, wait_answer
from _web_corpus import BUDVA_DATE, BUDVA_QUESTION, OUT_OF_CORPUS_QUESTION, build_web_index
from playwright.sync_api import Browser, Page, expect

from assistant.service import AssistantService, StreamEvent
from assistant.settings import Settings
from tests.conftest import ServerThread, clean_environment, free_port

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
FOCUS_TIMEOUT_MS = 10_000


class HeldService(AssistantService):
    """The real service, whose next answer can be held after its first words, so a test can
    look at the page while an answer streams."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.hold = threading.Event()
        self.resume = threading.Event()

    def ask_stream(self, *args: Any, **kwargs: Any) -> Iterator[StreamEvent]:
        for event in super().ask_stream(*args, **kwargs):
            yield event
            if event.kind == "token" and self.hold.is_set():
                self.hold.clear()
                self.resume.wait(timeout=120)


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeldService]:
    with clean_environment():
        yield HeldService(build_web_index(tmp_path_factory.mktemp("a11y")))


@pytest.fixture(scope="module")
def server(held: HeldService) -> Iterator[ServerThread]:
    with ServerThread(held.settings, free_port(), held) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    yield context.new_page()
    context.close()


def _open(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#iom-question textarea")).to_be_visible(timeout=30_000)
    expect(page.locator("#iom-status[aria-live='polite']")).to_have_count(1, timeout=FOCUS_TIMEOUT_MS)


def _focused(page: Page, selector: str) -> None:
    """Wait until the element with the keyboard focus matches `selector`."""
    page.wait_for_function(
        "(selector) => document.activeElement && document.activeElement.matches(selector)",
        arg=selector,
        timeout=FOCUS_TIMEOUT_MS,
    )


def _tab_to(page: Page, selector: str, key: str = "Tab", limit: int = 40) -> None:
    """Press Tab (or Shift+Tab) until the focus is on an element matching `selector`."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{key} never reached {selector}")


def _focus_ring(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.activeElement).outlineStyle"))


def _audit(page: Page, state: str, found: dict[str, str], exclude: Sequence[str] = ()) -> None:
    broken = violations(page, tuple(exclude))
    found[state] = describe(broken)


# -- tests ----------------------------------------------------------------------------------


def test_every_state_of_the_chat_meets_wcag_aa(server: ServerThread, held: HeldService, page: Page) -> None:
    found: dict[str, str] = {}
    _open(page, server.url)
    _audit(page, "empty", found)

    held.hold.set()
    status = page.locator("#iom-status")
    try:
        ask(page, BUDVA_QUESTION)
        expect(bot_messages(page).first).to_contain_text("▍", timeout=60_000)  # words so far, and the cursor
        streamed = bot_messages(page).first.inner_text().replace("▍", "").strip()
        _audit(page, "answering", found)
        assert streamed not in status.inner_text(), "the live region repeats the answer while it streams"
    finally:
        held.resume.set()

    wait_answer(page, 1, BUDVA_DATE)
    expect(status).to_contain_text(BUDVA_DATE)  # said once, complete
    page.locator('#iom-chat a[href^="#iom-src-0-"]').first.click()
    expect(page.locator(".iom-src.iom-flash")).to_have_count(1)
    _audit(page, "answered, sources open", found)

    page.locator("#iom-chat").get_by_label("Like").first.click()
    expect(status).to_contain_text("rating was saved", timeout=15_000)
    _audit(page, "feedback given", found)

    ask(page, OUT_OF_CORPUS_QUESTION)
    wait_answer(page, 2, REFUSAL)
    expect(page.locator("#iom-sources-panel .iom-closest").first).to_be_visible()
    _audit(page, "refused", found)

    page.locator("#iom-question textarea").fill("???")
    page.locator("#iom-question textarea").press("Enter")
    expect(status.locator(".iom-alert")).to_contain_text("no words to search", timeout=15_000)
    _audit(page, "error", found)

    page.set_viewport_size(PHONE)
    _audit(page, "phone width", found)
    page.emulate_media(color_scheme="dark")  # Gradio follows the system's dark theme
    expect(page.locator("body.dark")).to_have_count(1)
    _audit(page, "dark theme", found)

    assert not any(found.values()), "\n".join(f"[{s}]\n{v}" for s, v in found.items() if v)


def test_embed_page_meets_wcag_aa(server: ServerThread, page: Page) -> None:
    page.goto(f"{server.url}embed")
    expect(page.frame_locator("iframe").locator("#iom-question textarea")).to_be_visible(timeout=30_000)

    assert violations(page) == [], describe(violations(page))


def test_the_whole_flow_works_from_the_keyboard(server: ServerThread, page: Page) -> None:
    _open(page, server.url)
    _focused(page, "#iom-question textarea")  # the question box has the focus on arrival

    page.keyboard.type(BUDVA_QUESTION)
    page.keyboard.press("Enter")
    wait_answer(page, 1, BUDVA_DATE)
    status = page.locator("#iom-status")
    expect(status).to_contain_text("Answer ready")
    expect(status).to_contain_text(BUDVA_DATE)
    assert "[1]" not in status.inner_text()

    # back from the question box to the answer's first citation, named out of context
    citation = 'a[href="#iom-src-0-1"]'
    _tab_to(page, citation, key="Shift+Tab")
    assert _focus_ring(page) != "none"
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert label == f"Source 1: {page.locator('#iom-src-0-1 a.iom-src-title').inner_text()}"

    page.keyboard.press("Enter")  # to the quoted passage ...
    _focused(page, "#iom-src-0-1 .iom-passage[role='region']")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == f"Passage of {label}"
    page.keyboard.press("Tab")  # ... and back
    _focused(page, "#iom-src-0-1 a.iom-back")
    assert _focus_ring(page) != "none"
    page.keyboard.press("Enter")
    _focused(page, citation)

    page.keyboard.press("Enter")  # the original document, from the passage's entry
    _focused(page, "#iom-src-0-1 .iom-passage")
    page.keyboard.press("Shift+Tab")
    _focused(page, "#iom-src-0-1 a.iom-src-title")
    assert "open the original" in page.evaluate("document.activeElement.getAttribute('aria-label')")
    with page.expect_popup() as popup:
        page.keyboard.press("Enter")
    popup.value.wait_for_load_state()
    assert BUDVA_DATE in popup.value.content()
    popup.value.close()
    page.bring_to_front()

    _tab_to(page, "#iom-chat button[aria-label='Dislike']", key="Shift+Tab")  # rate ...
    page.keyboard.press("Enter")
    _focused(page, "#iom-comment textarea")  # ... and say why
    expect(status).to_contain_text("rating was saved")
    page.keyboard.type("The place is missing.")
    page.keyboard.press("Enter")
    expect(status).to_contain_text("Comment saved", timeout=15_000)
    _focused(page, "#iom-question textarea")

    _tab_to(page, "#iom-new")  # a new conversation, and the focus back in the question box
    assert _focus_ring(page) != "none"
    page.keyboard.press("Enter")
    expect(bot_messages(page)).to_have_count(0)
    _focused(page, "#iom-question textarea")


def test_phone_and_desktop_widths_keep_the_chat_and_sources_usable(
    browser: Browser, server: ServerThread
) -> None:
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, device_scale_factor=1, is_mobile=name == "phone")
        page = context.new_page()
        _open(page, server.url)
        shot(page, f"{name}-empty.png")
        ask(page, BUDVA_QUESTION)
        wait_answer(page, 1, BUDVA_DATE)
        expect(page.locator("#iom-status")).to_contain_text("Answer ready")  # no render after the click
        shot(page, f"{name}-answer.png", full_page=False)
        page.locator('#iom-chat a[href="#iom-src-0-1"]').click()  # the citation brings its quote into view
        _focused(page, "#iom-src-0-1 .iom-passage")
        expect(page.locator("#iom-src-0-1 mark").first).to_be_in_viewport()
        shot(page, f"{name}-citation-followed.png", full_page=False)

        chat = page.locator("#iom-chat").bounding_box()
        panel = page.locator("#iom-sources-panel").bounding_box()
        assert chat and panel
        if name == "phone":  # one column: the sources below the answer, nothing wider than the screen
            assert panel["y"] >= chat["y"] + chat["height"]
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        else:  # side by side
            assert panel["x"] >= chat["x"] + chat["width"]
        shot(page, f"{name}-answer-sources.png")
        context.close()
