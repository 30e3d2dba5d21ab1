"""The chat in real headless Chromium against the real server (uvicorn in a thread).

Screenshots go to test-artifacts/ at the repository root.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from _browser_kit import REFUSAL, ask, bot_messages, chromium, shot, wait_answer
from _web_corpus import (
    BUDVA_DATE,
    BUDVA_QUESTION,
    OUT_OF_CORPUS_QUESTION,
    SEED,
    XSS_QUESTION,
    build_web_index,
)
from playwright.sync_api import Browser, Page, expect

from assistant.feedback import FeedbackStore
from assistant.settings import Settings
from tests.conftest import ServerThread, clean_environment, free_port

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]


class _FramePage(http.server.BaseHTTPRequestHandler):
    """An 'intranet page' on another origin that frames the chat."""

    chat_url = ""

    def do_GET(self) -> None:
        body = (
            "<!doctype html><html><head><title>Intranet</title></head>"
            "<body style='font-family: sans-serif; margin: 16px; background: #eef2f7'>"
            "<h2 style='margin: 0 0 8px'>Staff intranet: ask IOM Assistant</h2>"
            f"<iframe id='chat' src='{self.chat_url}' title='IOM Assistant' width='100%' height='860'"
            " style='border: 1px solid #ccd; border-radius: 8px; background: #fff'></iframe>"
            "</body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.fixture(scope="module")
def web_settings(tmp_path_factory: pytest.TempPathFactory, ports: tuple[int, int]) -> Iterator[Settings]:
    with clean_environment():
        yield build_web_index(
            tmp_path_factory.mktemp("browser"),
            frame_ancestors=("'self'", f"http://127.0.0.1:{ports[1]}"),
        )


@pytest.fixture(scope="module")
def server(web_settings: Settings, ports: tuple[int, int]) -> Iterator[ServerThread]:
    with ServerThread(web_settings, ports[0]) as running:
        yield running


@pytest.fixture(scope="module")
def frame_url(server: ServerThread, ports: tuple[int, int]) -> Iterator[str]:
    handler = type("FramePage", (_FramePage,), {"chat_url": server.url})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", ports[1]), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{ports[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def outside() -> list[str]:
    """URLs the page requested beyond loopback (the chat must need no internet)."""
    return []


@pytest.fixture
def page(browser: Browser, outside: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1320, "height": 940})
    page = context.new_page()

    def record(request: Any) -> None:
        if urlparse(request.url).hostname not in (None, "", "127.0.0.1", "localhost"):
            outside.append(request.url)

    page.on("request", record)
    yield page
    context.close()


# -- tests ----------------------------------------------------------------------------------


def test_chat_answers_with_a_citation_that_opens_its_highlighted_passage(
    server: ServerThread, page: Page, outside: list[str]
) -> None:
    page.goto(server.url)
    expect(page.get_by_text("When did IOM organize the meeting")).to_be_visible()
    shot(page, "chat-first-load.png")

    ask(page, BUDVA_QUESTION)
    answer = wait_answer(page, 1, BUDVA_DATE)
    marker = answer.locator('a[href^="#iom-src-0-"]').first
    expect(marker).to_be_visible()
    target = (marker.get_attribute("href") or "#")[1:]

    marker.click()
    entry = page.locator(f"#{target}")
    expect(entry).to_be_visible()
    expect(entry.locator("mark").first).to_contain_text(BUDVA_DATE)
    expect(entry).to_have_class("iom-src iom-flash")
    link = entry.locator("a.iom-src-title")
    expect(link).to_have_attribute("target", "_blank")
    href = link.get_attribute("href")
    assert href == f"{server.url}api/sources/{SEED.name}"
    source = page.request.get(href)
    assert source.status == 200 and BUDVA_DATE.encode() in source.body()
    shot(page, "chat-answer-sources.png")

    with page.expect_popup() as popup:
        link.click()
    opened = popup.value
    opened.wait_for_load_state()
    assert BUDVA_DATE in opened.content()
    assert outside == []


def test_out_of_corpus_question_is_refused_with_closest_sources(server: ServerThread, page: Page) -> None:
    page.goto(server.url)

    ask(page, OUT_OF_CORPUS_QUESTION)
    answer = wait_answer(page, 1, REFUSAL)

    expect(answer.locator("em")).to_contain_text(REFUSAL)
    panel = page.locator("#iom-sources-panel")
    expect(panel.locator(".iom-refusal-note")).to_contain_text("Closest sources")
    expect(panel.locator(".iom-closest").first).to_be_visible()
    shot(page, "chat-refusal.png")


def test_follow_up_and_new_conversation(server: ServerThread, page: Page) -> None:
    page.goto(server.url)
    page.get_by_text("When did IOM organize the meeting").click()
    wait_answer(page, 1, BUDVA_DATE)
    ask(page, OUT_OF_CORPUS_QUESTION)
    wait_answer(page, 2, REFUSAL)
    panel = page.locator("#iom-sources-panel")
    expect(panel.locator("details.iom-turn")).to_have_count(2)
    expect(panel.locator("details.iom-turn[open]")).to_have_count(1)

    # a marker of the earlier, folded answer still opens its entry
    page.locator('#iom-chat a[href^="#iom-src-0-"]').first.click()
    expect(panel.locator('details.iom-turn[data-turn="0"]')).to_have_attribute("open", "")

    page.locator("#iom-new").click()
    expect(bot_messages(page)).to_have_count(0)
    expect(panel.locator("details.iom-turn")).to_have_count(0)


def test_thumbs_and_comment_are_stored(server: ServerThread, page: Page, web_settings: Settings) -> None:
    store = FeedbackStore(web_settings.feedback_db)
    before = len(list(store.records()))
    page.goto(server.url)
    ask(page, BUDVA_QUESTION)
    wait_answer(page, 1, BUDVA_DATE)

    page.locator("#iom-chat").get_by_label("Dislike").first.click()
    comment = page.locator("#iom-comment textarea")
    expect(comment).to_be_visible(timeout=15_000)
    comment.fill("The place is missing.")
    page.locator("#iom-send-comment").click()
    expect(comment).to_be_hidden(timeout=15_000)

    records = list(store.records())
    assert len(records) == before + 1
    assert records[-1].rating == "down"
    assert records[-1].question == BUDVA_QUESTION
    assert records[-1].comment == "The place is missing."
    assert records[-1].citations and records[-1].citations[0]["source_id"]


def test_document_markup_is_shown_as_text_and_never_runs(server: ServerThread, page: Page) -> None:
    page.goto(server.url)

    ask(page, XSS_QUESTION)
    answer = wait_answer(page, 1, "March 2023")
    expect(answer).to_contain_text("<script>window.__xss=1</script>")
    panel = page.locator("#iom-sources-panel")
    expect(panel).to_contain_text("<script>window.__xss=1</script>")
    page.wait_for_timeout(1000)  # time for an injected onerror to fire, were there one

    assert page.evaluate("typeof window.__xss") == "undefined"
    assert panel.locator("script, img").count() == 0
    assert page.locator("#iom-chat script, #iom-chat img[src='x']").count() == 0
    shot(page, "chat-xss-as-text.png")


def test_chat_works_inside_an_iframe_on_another_origin(frame_url: str, page: Page) -> None:
    page.goto(frame_url)
    frame = page.frame_locator("#chat")

    ask(frame, BUDVA_QUESTION)
    wait_answer(frame, 1, BUDVA_DATE)

    expect(frame.locator("#iom-sources-panel mark").first).to_contain_text(BUDVA_DATE)
    shot(page, "chat-in-iframe.png")


def test_embed_page_shows_snippets_and_a_working_chat(server: ServerThread, page: Page) -> None:
    page.goto(f"{server.url}embed")

    expect(page.locator("#iframe-snippet")).to_contain_text(f'<iframe src="{server.url}"')
    expect(page.locator("#component-snippet")).to_contain_text(f'<gradio-app src="{server.url}"')
    frame = page.frame_locator("iframe")
    expect(frame.locator("#iom-question textarea")).to_be_visible(timeout=30_000)
    shot(page, "embed-page.png")


def test_api_docs_render_offline(server: ServerThread, page: Page, outside: list[str]) -> None:
    pytest.importorskip("fastapi_offline", reason="fastapi-offline ships the docs' files")
    page.goto(f"{server.url}api/docs")

    expect(page.get_by_text("/api/ask/stream")).to_be_visible(timeout=30_000)
    assert outside == []
