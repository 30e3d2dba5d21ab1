"""What the browser test modules share: Chromium, screenshots, and asking the chat a question.

Each module starts its own server and browser once (module-scoped fixtures) and drives
them with these helpers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FrameLocator, Locator, Page, expect, sync_playwright

from assistant.answer import REFUSAL_TEXT

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("IOM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANSWER_TIMEOUT_MS = 60_000
# What a page must show within, once the answer is in: Playwright's 5 s default is too short on a
# CI machine twice as busy as a developer's (a folded turn once took longer to open there).
EXPECT_TIMEOUT_MS = 20_000
REFUSAL = REFUSAL_TEXT.rstrip(".")  # the refusal without its full stop, as the pages are searched for it

Scope = Page | FrameLocator


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium for one test module."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set IOM_TEST_CHROMIUM)")
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def shot(page: Page, name: str, full_page: bool = True) -> None:
    """A screenshot (of the whole page, or of what the window shows) into test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def ask(scope: Scope, question: str) -> None:
    """Type a question and press Enter; press again while the previous answer is still finishing
    (Gradio ignores a submit while the same event is running)."""
    asked = scope.locator("#iom-chat [data-testid='user']")
    before = asked.count()
    box = scope.locator("#iom-question textarea")
    box.fill(question)
    for _ in range(20):
        box.press("Enter")
        try:
            expect(asked).to_have_count(before + 1, timeout=1500)
            return
        except AssertionError:
            continue
    raise AssertionError(f"the chat did not take the question {question!r}")


def bot_messages(scope: Scope) -> Locator:
    """The assistant's messages in the chat."""
    return scope.locator("#iom-chat [data-testid='bot']")


def wait_answer(scope: Scope, count: int, contains: str) -> Locator:
    """The `count`-th answer, once it contains `contains`."""
    last = bot_messages(scope).nth(count - 1)
    expect(last).to_contain_text(contains, timeout=ANSWER_TIMEOUT_MS)
    return last
