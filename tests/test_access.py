"""Per-document access (#11 point 8): a folder's access file names the groups that may read it;
retrieval, answers, citations, `/api/sources`, `/v1` and the chat show a restricted document only
to its groups; changing the access file relabels chunks without embedding them again.

The restricted document holds a fact no other document holds, so any leak shows in the answer."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.access import ACCESS_FILE
from assistant.filters import ChunkFilter
from assistant.index import Index
from assistant.service import AssistantService
from assistant.settings import Settings, load_settings
from ingest.pipeline import IngestOptions, Ingestor, IngestSummary
from tests.conftest import SEED, ServerThread, clean_environment, free_port

RESTRICTED = "hr/staff-rotation-2024.txt"
RESTRICTED_TEXT = (
    "IOM Staff Rotation Note 2024\n\n"
    "The Zephyr staff rotation programme moved 37 caseworkers from Tirana to Skopje in March 2024. "
    "It was funded by the Staff Mobility Fund and reviewed by the regional office in Vienna.\n"
)
QUESTION = "How many caseworkers did the Zephyr staff rotation programme move?"
FACT = "37 caseworkers"
HR_KEY, PLAIN_KEY = "k-hr", "k-plain"
SEED_TITLE_WORDS = "Heads of Border Police"  # the public seed article's title: a closest source


def _ingest(settings: Settings, corpus: Path) -> IngestSummary:
    index = Index.from_settings(settings)
    try:
        return Ingestor(index, IngestOptions.from_settings(settings, progress=False)).run([corpus])
    finally:
        index.manifest.close()


def _corpus(base: Path, groups: str = "hr") -> Path:
    corpus = base / "corpus"
    (corpus / "hr").mkdir(parents=True)
    (corpus / SEED.name).write_bytes(SEED.read_bytes())
    (corpus / RESTRICTED).write_text(RESTRICTED_TEXT, encoding="utf-8")
    (corpus / "hr" / ACCESS_FILE).write_text(f"# who reads the HR notes\n{groups}\n", encoding="utf-8")
    return corpus


def restricted_index(base: Path, **overrides: Any) -> Settings:
    """The seed article and the HR note (group `hr`) ingested under `base`, with keys with and
    without the group (call inside `clean_environment`)."""
    settings = load_settings(
        index_dir=base / "index",
        corpus_dir=_corpus(base),
        feedback_db=base / "feedback.sqlite3",
        api_keys=(f"{HR_KEY}:hr", PLAIN_KEY),
        **overrides,
    )
    summary = _ingest(settings, settings.corpus_dir)
    assert summary.files_indexed == 2 and not summary.files_failed, summary
    return settings


@pytest.fixture(scope="module")
def access_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with clean_environment():
        yield restricted_index(
            tmp_path_factory.mktemp("access"),
            trusted_user_header="X-Forwarded-User",
            trusted_groups_header="X-Forwarded-Groups",
        )


@pytest.fixture(scope="module")
def server(access_settings: Settings) -> Iterator[ServerThread]:
    with ServerThread(access_settings, free_port()) as running:
        yield running


def _ask(server: ServerThread, headers: dict[str, str], question: str = QUESTION) -> dict[str, Any]:
    response = httpx.post(f"{server.url}api/ask", json={"question": question}, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _sources(answer: dict[str, Any]) -> set[str]:
    return {c["source_id"] for c in answer["citations"]} | {p["source_id"] for p in answer["retrieved"]}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# -- ingest -----------------------------------------------------------------------------------


def test_chunks_carry_their_folders_groups_and_an_access_change_relabels_without_embedding(
    tmp_path: Path,
) -> None:
    corpus = _corpus(tmp_path)
    settings = load_settings(index_dir=tmp_path / "index", corpus_dir=corpus)
    _ingest(settings, corpus)
    service = AssistantService(settings)
    service.warm_up()
    index = service.index
    restricted = index.store.get_chunks(sorted(index.store.chunk_ids(RESTRICTED)))
    public = index.store.get_chunks(sorted(index.store.chunk_ids(SEED.name)))
    assert restricted and {c.groups for c in restricted} == {("hr",)}
    assert public and {c.groups for c in public} == {()}
    assert index.manifest.get(RESTRICTED).groups == ("hr",)  # type: ignore[union-attr]

    def sees(groups: set[str]) -> bool:
        answer = service.ask(QUESTION, filters=ChunkFilter(reader=frozenset(groups)))
        return RESTRICTED in {p.source_id for p in answer.retrieved}

    assert sees({"hr"}) and not sees(set()) and not sees({"finance"})
    assert RESTRICTED in {p.source_id for p in service.ask(QUESTION).retrieved}  # local callers read all

    (corpus / "hr" / ACCESS_FILE).write_text("finance, audit\n", encoding="utf-8")
    summary = _ingest(settings, corpus)
    assert summary.files_relabelled == 1 and summary.files_indexed == 0, summary
    assert summary.chunks_embedded == 0 and summary.chunks_added == 0, summary
    relabelled = index.store.get_chunks(sorted(index.store.chunk_ids(RESTRICTED)))
    assert {c.chunk_id for c in relabelled} == {c.chunk_id for c in restricted}
    assert {c.groups for c in relabelled} == {("audit", "finance")}
    service.retriever.sync(force=True)  # the running service takes the new labels
    assert sees({"finance"}) and not sees({"hr"})

    (corpus / "hr" / ACCESS_FILE).unlink()  # no access file: everyone's
    assert _ingest(settings, corpus).files_relabelled == 1
    service.retriever.sync(force=True)
    assert sees(set())


def test_a_faulty_access_file_keeps_its_folder_out_and_says_how_to_fix_it(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, groups="# nobody yet")
    settings = load_settings(index_dir=tmp_path / "index", corpus_dir=corpus)
    summary = _ingest(settings, corpus)
    assert summary.files_indexed == 1
    [failure] = summary.files_failed
    assert failure.path.endswith(RESTRICTED)
    assert "names no group" in failure.error and "delete the file" in failure.error
    index = Index.from_settings(settings)
    assert not index.store.chunk_ids(RESTRICTED)

    (corpus / "hr" / ACCESS_FILE).write_text("hr; drop table\n", encoding="utf-8")
    [failure] = _ingest(settings, corpus).files_failed
    assert "is not a group name" in failure.error


# -- the server: API, sources, /v1 -----------------------------------------------------------


def test_a_key_with_the_group_gets_the_restricted_answer_and_a_key_without_it_does_not(
    server: ServerThread, tmp_path: Path
) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (public / SEED.name).write_bytes(SEED.read_bytes())
    alone = load_settings(index_dir=tmp_path / "index", corpus_dir=public)
    _ingest(alone, public)
    without_it = AssistantService(alone).ask(QUESTION)

    allowed = _ask(server, _bearer(HR_KEY))
    assert FACT in allowed["answer"] and not allowed["refused"], allowed
    assert RESTRICTED in {c["source_id"] for c in allowed["citations"]}

    denied = _ask(server, _bearer(PLAIN_KEY))
    assert FACT not in json.dumps(denied) and RESTRICTED not in _sources(denied), denied
    assert "Zephyr" not in " ".join(p["text"] for p in denied["retrieved"])
    # They are answered as if the document did not exist: nothing says that it does.
    assert denied["answer"] == without_it.answer and denied["refused"] == without_it.refused, denied
    assert [c["chunk_id"] for c in denied["citations"]] == [c.chunk_id for c in without_it.citations]


def test_the_stream_and_the_openai_endpoint_hide_it_too(server: ServerThread) -> None:
    for key, shown in ((HR_KEY, True), (PLAIN_KEY, False)):
        stream = httpx.post(
            f"{server.url}api/ask/stream", json={"question": QUESTION}, headers=_bearer(key), timeout=60
        )
        assert stream.status_code == 200
        assert (FACT in stream.text) is shown and (RESTRICTED in stream.text) is shown
        completion = httpx.post(
            f"{server.url}v1/chat/completions",
            json={"model": "iom-assistant-extractive", "messages": [{"role": "user", "content": QUESTION}]},
            headers=_bearer(key),
            timeout=60,
        )
        assert completion.status_code == 200, completion.text
        assert (FACT in completion.text) is shown and (RESTRICTED in completion.text) is shown


def test_the_original_file_opens_only_for_its_readers_and_is_otherwise_not_there(
    server: ServerThread,
) -> None:
    url = f"{server.url}api/sources/{RESTRICTED}"
    assert httpx.get(url, headers=_bearer(HR_KEY)).status_code == 200
    denied = httpx.get(url, headers=_bearer(PLAIN_KEY))
    missing = httpx.get(f"{server.url}api/sources/hr/no-such-note.txt", headers=_bearer(PLAIN_KEY))
    assert denied.status_code == missing.status_code == 404
    assert denied.json() == missing.json()
    assert httpx.get(f"{server.url}api/sources/{SEED.name}", headers=_bearer(PLAIN_KEY)).status_code == 200


def test_the_proxys_groups_header_decides_and_is_believed_only_with_its_user(server: ServerThread) -> None:
    ana = _ask(server, {"X-Forwarded-User": "ana", "X-Forwarded-Groups": "staff, hr"})
    assert RESTRICTED in _sources(ana)
    bob = _ask(server, {"X-Forwarded-User": "bob", "X-Forwarded-Groups": "staff"})
    assert RESTRICTED not in _sources(bob)
    # A key without groups and a forged groups header: the key decides (its groups: none).
    forged = _ask(server, {**_bearer(PLAIN_KEY), "X-Forwarded-Groups": "hr"})
    assert RESTRICTED not in _sources(forged)


# -- the chat, in Chromium ----------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_the_chat_shows_the_restricted_answer_only_to_its_group(server: ServerThread) -> None:
    from playwright.sync_api import expect, sync_playwright

    chromium = os.environ.get("IOM_TEST_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for user, groups, shown in (("ana", "hr", True), ("bob", "staff", False)):
                context = browser.new_context(
                    extra_http_headers={"X-Forwarded-User": user, "X-Forwarded-Groups": groups}
                )
                page = context.new_page()
                page.goto(server.url)
                page.locator("#iom-question textarea").fill(QUESTION)
                page.locator("#iom-question textarea").press("Enter")
                answer = page.locator("#iom-chat [data-testid='bot']").last
                sources = page.locator("#iom-sources-panel")
                if shown:
                    expect(answer).to_contain_text(FACT, timeout=60_000)
                    link = sources.locator(f"a[href*='{RESTRICTED}']").first
                    expect(link).to_be_attached(timeout=10_000)
                    opened = context.request.get(link.get_attribute("href") or "")
                    assert opened.status == 200
                else:
                    expect(answer).to_contain_text("could not find", timeout=60_000)
                    expect(sources).to_contain_text(SEED_TITLE_WORDS, timeout=10_000)  # answer shown
                    assert FACT not in page.content() and RESTRICTED not in page.content()
                    assert context.request.get(f"{server.url}api/sources/{RESTRICTED}").status == 404
                context.close()
        finally:
            browser.close()
