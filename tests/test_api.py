"""The HTTP API over a real index (default embedder, real Chroma, real files)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, MutableMapping
from html import escape
from pathlib import Path
from typing import Any

import pytest
from _web_corpus import (
    BUDVA_DATE,
    BUDVA_QUESTION,
    OUT_OF_CORPUS_QUESTION,
    SEED,
    XSS_DOCUMENT,
    XSS_QUESTION,
    build_web_index,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.errors import ConfigurationError
from assistant.feedback import FeedbackStore
from assistant.service import AssistantService
from assistant.settings import Settings, load_settings
from tests.conftest import clean_environment
from ui.api import FEEDBACK_PER_MINUTE
from ui.app import check_exposure, create_app, with_allowed_hosts
from ui.i18n import Messages

pytestmark = pytest.mark.integration

ANSWER_KEYS = {"answer", "refused", "citations", "retrieved", "notices", "provider", "timings_ms"}
CITATION_KEYS = {"n", "source_id", "title", "page", "url", "quote", "score"}
RETRIEVED_KEYS = {"rank", "chunk_id", "source_id", "page", "score", "text"}
ALLOWED_ORIGIN = "https://intranet.example.org"


@pytest.fixture(scope="module")
def web_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The seed article, the script-laden document and an outward symlink, indexed once."""
    with clean_environment():
        yield build_web_index(
            tmp_path_factory.mktemp("web"),
            cors_origins=(ALLOWED_ORIGIN,),
            frame_ancestors=("'self'", "https://intranet.example.org"),
        )


@pytest.fixture(scope="module")
def service(web_settings: Settings) -> AssistantService:
    service = AssistantService(web_settings)
    service.warm_up()
    return service


@pytest.fixture(scope="module")
def app(web_settings: Settings, service: AssistantService) -> FastAPI:
    return create_app(web_settings, service)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


PROXY = ("127.0.0.1", 50000)  # a trusted proxy (the default TRUSTED_PROXIES); TestClient is "testclient"


def _app_with(
    settings: Settings, service: AssistantService, client: tuple[str, int] | None = None, **changes: Any
) -> TestClient:
    app = create_app(settings.model_copy(update=changes), service)
    return TestClient(app, raise_server_exceptions=False, **({"client": client} if client else {}))


def _assert_error(response: Any, status: int | None = None) -> dict[str, Any]:
    if status is None:
        assert 400 <= response.status_code < 500, response.text
    else:
        assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in body["detail"]
    return body


def _sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


# -- answers ------------------------------------------------------------------------------


def test_ask_answers_with_a_citation_quoting_the_date(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": BUDVA_QUESTION})

    assert response.status_code == 200, response.text
    answer = response.json()
    assert ANSWER_KEYS <= set(answer)
    assert answer["refused"] is False
    assert answer["citations"], answer
    assert all(CITATION_KEYS <= set(c) for c in answer["citations"])
    assert all(RETRIEVED_KEYS <= set(r) for r in answer["retrieved"])
    assert any(BUDVA_DATE in c["quote"] for c in answer["citations"]), answer["citations"]
    for citation in answer["citations"]:
        assert f"[{citation['n']}]" in answer["answer"]
    assert set(answer["timings_ms"]) >= {"retrieve", "answer", "total"}


def test_ask_refuses_a_question_the_documents_do_not_answer(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": OUT_OF_CORPUS_QUESTION})

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["refused"] is True
    assert answer["citations"] == []


def test_ask_takes_history_and_filters(client: TestClient) -> None:
    body = {
        "question": BUDVA_QUESTION,
        "history": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi"}],
        "filters": {"source_ids": [XSS_DOCUMENT]},
    }
    response = client.post("/api/ask", json=body)

    assert response.status_code == 200, response.text
    assert {r["source_id"] for r in response.json()["retrieved"]} <= {XSS_DOCUMENT}


def test_stream_sends_tokens_then_one_answer(client: TestClient) -> None:
    response = client.post("/api/ask/stream", json={"question": BUDVA_QUESTION})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _sse(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "token"
    assert kinds[-1] == "answer"
    assert kinds.count("answer") == 1
    assert set(kinds) == {"token", "answer"}
    assert all(isinstance(data["text"], str) for kind, data in events if kind == "token")
    answer = events[-1][1]
    assert ANSWER_KEYS <= set(answer)
    assert any(BUDVA_DATE in c["quote"] for c in answer["citations"])


def test_stream_rejects_a_bad_question_before_streaming(client: TestClient) -> None:
    response = client.post("/api/ask/stream", json={"question": "   "})

    _assert_error(response, 400)


def test_health_counts_the_index(client: TestClient) -> None:
    response = client.get("/api/health")

    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["documents"] >= 2
    assert health["chunks"] >= 2
    assert health["provider"] == "extractive"


def test_empty_index_is_503(tmp_path: Path) -> None:
    from assistant.settings import load_settings

    settings = load_settings(index_dir=tmp_path / "empty", embedding_model="hash-256")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        _assert_error(client.post("/api/ask", json={"question": BUDVA_QUESTION}), 503)


# -- source files ---------------------------------------------------------------------------


def test_sources_serves_the_original_file_inline(client: TestClient) -> None:
    response = client.get(f"/api/sources/{SEED.name}")

    assert response.status_code == 200
    assert response.content == SEED.read_bytes()
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-disposition"].startswith("inline")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]


def _raw_get(app: FastAPI, raw_path: bytes) -> tuple[int, bytes]:
    """GET with the path exactly as given (HTTP clients normalise `../` away before sending)."""
    from urllib.parse import unquote

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
        "root_path": "",
        "path": unquote(raw_path.decode()),
        "raw_path": raw_path,
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
    }
    status = 0
    body = b""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return status, body


@pytest.mark.parametrize(
    "raw_path",
    [
        b"/api/sources/../pyproject.toml",
        b"/api/sources/../../pyproject.toml",
        b"/api/sources/%2e%2e/pyproject.toml",
        b"/api/sources/%2E%2E%2Fpyproject.toml",
        b"/api/sources/..%2fpyproject.toml",
        b"/api/sources/..%2f..%2f..%2f..%2fetc%2fpasswd",
        b"/api/sources//etc/passwd",
        b"/api/sources/%2Fetc%2Fpasswd",
        b"/api/sources/..%5c..%5cpyproject.toml",
        b"/api/sources/link-out.txt",
        b"/api/sources/not-indexed.txt",
        b"/api/sources/",
    ],
)
def test_sources_outside_the_corpus_are_404(app: FastAPI, raw_path: bytes) -> None:
    status, body = _raw_get(app, raw_path)

    assert status == 404, body[:200]
    error = json.loads(body)
    assert error["error"] == "not_found"
    assert b"secret" not in body and b"[project]" not in body and b"root:" not in body


def test_normalised_traversal_does_not_reach_files(client: TestClient) -> None:
    response = client.get("/api/sources/../../pyproject.toml")  # the client sends /pyproject.toml

    assert b"[project]" not in response.content
    assert response.status_code == 404


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"question": "When', 400),
        (b"not json at all", 400),
        (b"[]", 422),
        (b"{}", 422),
        (b'{"question": null}', 422),
        (b'{"question": 42}', 422),
        (b'{"question": ""}', 400),
        (b'{"question": "   \\n  "}', 400),
        (json.dumps({"question": "x " * 10_000}).encode(), 400),
        (b'{"question": "When did \\u0000 IOM meet?"}', 400),
        (b'{"question": "When did \\u001b[31m IOM meet?"}', 400),
        (b'{"question": "?!."}', 400),
        (b'{"question": "Budva?", "history": [{"role": "system", "content": "x"}]}', 422),
        (b'{"question": "Budva?", "provider": "gpt-9"}', 422),
        (b'{"question": "Budva?", "filters": {"published_from": "last year"}}', 422),
        (b'{"question": "Budva?", "unexpected": true}', 422),
    ],
)
def test_bad_questions_are_4xx_json(client: TestClient, body: bytes, status: int) -> None:
    response = client.post("/api/ask", content=body, headers={"content-type": "application/json"})

    _assert_error(response, status)


def test_unconfigured_provider_is_a_json_error(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": BUDVA_QUESTION, "provider": "openai"})

    body = _assert_error(response, 503)
    assert "IOM_ASSISTANT" not in body["detail"], "a 5xx names no settings, paths or exception text"
    assert "log" in body["detail"]


def test_oversized_body_is_413(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "x" * 70_000})

    _assert_error(response, 413)
    # the chat's own routes too, with or without a Content-Length
    _assert_error(client.post("/gradio_api/queue/join", json={"data": ["x" * 1_000_000]}), 413)
    chunked = client.post("/gradio_api/queue/join", content=iter([b"{" + b" " * 40_000] * 3))
    _assert_error(chunked, 413)


def test_unknown_api_route_is_json_404(client: TestClient) -> None:
    _assert_error(client.get("/api/no-such-route"), 404)
    _assert_error(client.get("/api/ask"), 405)


# -- keys, CORS, headers ----------------------------------------------------------------------


def test_api_keys_guard_the_api(web_settings: Settings, service: AssistantService) -> None:
    with _app_with(web_settings, service, api_keys=("k-one", "k-two")) as client:
        ask = {"question": BUDVA_QUESTION}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "k-one"}):
            response = client.post("/api/ask", json=ask, headers=headers)
            assert _assert_error(response, 401)["error"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
        _assert_error(client.get(f"/api/sources/{SEED.name}"), 401)
        _assert_error(
            client.post("/api/feedback", json={"question": "q", "answer": "a", "rating": "up"}), 401
        )

        assert client.post("/api/ask", json=ask, headers={"Authorization": "Bearer k-two"}).status_code == 200
        assert client.get(f"/api/sources/{SEED.name}", headers={"Authorization": "Bearer k-one"}).is_success
        assert client.get("/api/health").status_code == 200

        # The chat's routes are behind the same door: no key, no page, no queue, no config.
        for path in ("/", "/config", "/embed"):
            assert client.get(path).status_code == 401, path
        assert client.post("/gradio_api/queue/join", json={}).status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer k-one"}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/call/respond",
        "/gradio_api/run/respond",
        "/gradio_api/api/respond",
        "/gradio_api/upload",
        "/gradio_api/info",
        "/monitoring/summary",
    ],
)
def test_gradio_routes_the_page_does_not_use_are_404(client: TestClient, path: str) -> None:
    """They would answer questions around the API's door and limits, or store uploads."""
    response = client.post(path, json={"data": ["When was the meeting?"]})
    assert _assert_error(response, 404)["error"] == "not_found"
    assert client.get(path).status_code == 404


def test_cors_preflight_allows_only_configured_origins(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}

    allowed = client.options("/api/ask", headers={"Origin": ALLOWED_ORIGIN, **preflight})
    other = client.options("/api/ask", headers={"Origin": "https://evil.example.com", **preflight})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "access-control-allow-origin" not in other.headers


def test_pages_carry_frame_ancestors_and_nosniff(client: TestClient) -> None:
    for path in ("/", "/embed"):
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert csp.split("; ") == [
            "frame-ancestors 'self' https://intranet.example.org",
            "object-src 'none'",
            "base-uri 'self'",
        ], path
        assert response.headers["x-content-type-options"] == "nosniff"


def test_embed_page_shows_snippets_with_the_public_address(
    web_settings: Settings, service: AssistantService
) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "assistant.iom.example"}
    with _app_with(web_settings, service) as client:  # not a trusted proxy: its headers are ignored
        assert '<iframe src="http://testserver/"' in client.get("/embed", headers=forwarded).text
    with _app_with(web_settings, service, client=PROXY) as client:
        response = client.get("/embed", headers=forwarded)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "&lt;iframe src=&quot;https://assistant.iom.example/&quot;" in page
    assert "&lt;gradio-app src=&quot;https://assistant.iom.example/&quot;" in page
    assert '<iframe src="https://assistant.iom.example/"' in page


@pytest.mark.parametrize(
    ("path", "accept", "code"),
    [("/embed", "fr-FR,fr;q=0.9,en;q=0.5", "fr"), ("/embed?lang=es", "fr-FR", "es"), ("/embed", "de", "en")],
)
def test_embed_page_speaks_the_language_asked_else_the_browsers(
    client: TestClient, path: str, accept: str, code: str
) -> None:
    response = client.get(path, headers={"Accept-Language": accept})
    page, say = response.text, Messages(code)
    assert f'<html lang="{code}" dir="ltr">' in page
    assert f"<title>{escape(say('embed.title'))}</title>" in page
    headings = ("embed.heading", "embed.iframe_heading", "embed.component_heading", "embed.preview_heading")
    for key in headings:
        assert f">{escape(say(key))}</h" in page, key
    assert f'data-copy="iframe-snippet">{escape(say("embed.copy"))}</button>' in page
    frame_note = escape(say("embed.iframe_note")).format(
        variable="<code>IOM_ASSISTANT_FRAME_ANCESTORS</code>",
        value="<code>&#x27;self&#x27; https://intranet.example.org</code>",
    )
    assert frame_note in page
    assert f'title="{escape(say("app.title"))}"' in page
    if code != "en":
        assert escape(Messages("en")("embed.heading")) not in page
    assert "Accept-Language" in response.headers["vary"]


@pytest.mark.parametrize(("query", "code"), [("", "fr"), ("?lang=es", "es")])
def test_a_permalink_to_no_answer_says_so_in_the_language_asked_else_the_browsers(
    client: TestClient, query: str, code: str
) -> None:
    response = client.get(f"/a/{'A' * 22}{query}", headers={"Accept-Language": "fr-FR"})
    say = Messages(code)
    assert response.status_code == 404
    assert f'<html lang="{code}" dir="ltr">' in response.text
    assert escape(say("permalink.missing")) in response.text


def test_embed_page_honours_the_root_path(web_settings: Settings, service: AssistantService) -> None:
    with _app_with(web_settings, service, root_path="/assistant") as client:
        page = client.get("/embed", headers={"Host": "intranet.example.org:8443"}).text
    assert '<iframe src="http://intranet.example.org:8443/assistant/"' in page


def test_embed_page_ignores_malformed_forwarded_headers(client: TestClient) -> None:
    page = client.get("/embed", headers={"X-Forwarded-Host": 'x"><script>alert(1)</script>'}).text
    assert "<script>alert(1)" not in page
    assert '<iframe src="http://testserver/"' in page


def test_trusted_user_header_guards_the_chat(web_settings: Settings, service: AssistantService) -> None:
    user = {"X-Forwarded-User": "ana"}
    ask = {"question": BUDVA_QUESTION}
    with _app_with(web_settings, service, client=PROXY, trusted_user_header="X-Forwarded-User") as proxy:
        for path in ("/", "/embed", f"/api/sources/{SEED.name}"):
            assert proxy.get(path).status_code == 401, path
            assert proxy.get(path, headers=user).status_code == 200, path
        assert proxy.post("/api/ask", json=ask).status_code == 401
        assert proxy.post("/api/ask", json=ask, headers=user).status_code == 200
    # The same header from any other client is not believed.
    with _app_with(web_settings, service, trusted_user_header="X-Forwarded-User") as direct:
        for path in ("/", "/embed", f"/api/sources/{SEED.name}"):
            assert direct.get(path, headers=user).status_code == 401, path
        assert direct.post("/api/ask", json=ask, headers=user).status_code == 401


def test_a_foreign_host_header_is_refused(web_settings: Settings, service: AssistantService) -> None:
    """A page whose own name resolves to 127.0.0.1 (DNS rebinding) reaches a local server with its
    own Host: with the defaults `serve` sets, it gets 400."""
    settings = with_allowed_hosts(web_settings, "127.0.0.1")
    assert with_allowed_hosts(web_settings, "0.0.0.0").allowed_hosts == (), "every interface: a warning"
    with TestClient(create_app(settings, service), base_url="http://127.0.0.1:7860") as local:
        assert local.get("/api/health").status_code == 200
        assert local.get("/api/health", headers={"Host": "localhost:7860"}).status_code == 200
        assert local.get("/", headers={"Host": "attacker.example:7860"}).status_code == 400
        assert local.post("/api/ask", json={}, headers={"Host": "attacker.example"}).status_code == 400


def test_a_user_header_on_a_public_bind_needs_the_proxy_named(web_settings: Settings) -> None:
    header = web_settings.model_copy(update={"trusted_user_header": "X-Forwarded-User"})
    with pytest.raises(ConfigurationError, match="IOM_ASSISTANT_TRUSTED_PROXIES"):
        check_exposure(header, "0.0.0.0")
    check_exposure(header, "127.0.0.1")
    named = load_settings(
        index_dir=web_settings.index_dir,
        trusted_user_header="X-Forwarded-User",
        trusted_proxies=("10.0.0.5",),
    )
    check_exposure(named, "0.0.0.0")


def test_ui_auth_requires_a_login(web_settings: Settings, service: AssistantService) -> None:
    with _app_with(web_settings, service, ui_auth=("ana:s3cret",)) as client:
        assert client.get("/config").status_code == 401
        bad = client.post("/login", data={"username": "ana", "password": "wrong"})
        assert bad.status_code == 400
        assert client.get(f"/api/sources/{SEED.name}").status_code == 401
        assert client.post("/api/ask", json={"question": BUDVA_QUESTION}).status_code == 401
        good = client.post("/login", data={"username": "ana", "password": "s3cret"})
        assert good.status_code == 200, good.text
        assert client.get("/config").status_code == 200
        # Signed in to the chat, the citation links and the API open with the same session.
        assert client.get(f"/api/sources/{SEED.name}").status_code == 200
        assert client.post("/api/ask", json={"question": BUDVA_QUESTION}).status_code == 200


# -- feedback and docs ------------------------------------------------------------------------


def test_feedback_is_stored_and_exported(client: TestClient, web_settings: Settings, tmp_path: Path) -> None:
    given = client.post("/api/ask", json={"question": BUDVA_QUESTION}).json()
    body = {
        "answer_id": given["answer_id"],
        "question": given["question"],
        "answer": given["answer"],
        "rating": "down",
        "comment": "Missing the place.",
        "citations": given["citations"],
        "provider": given["provider"],
    }
    response = client.post("/api/feedback", json=body)

    assert response.status_code == 201, response.text
    feedback_id = response.json()["id"]
    out = tmp_path / "feedback.jsonl"
    count = FeedbackStore(web_settings.feedback_db).export_jsonl(out)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert count == len(records) >= 1
    record = next(r for r in records if r["id"] == feedback_id)
    assert record["question"] == BUDVA_QUESTION
    assert record["rating"] == "down"
    assert record["comment"] == "Missing the place."
    assert record["citations"] == given["citations"]
    assert record["provider"] == "extractive"
    assert record["created_at"]


def test_feedback_rates_only_answers_the_server_gave(
    web_settings: Settings, service: AssistantService
) -> None:
    """A made-up pair (one starting with =HYPERLINK, say) is not stored; nor is an answer altered
    after the fact; and one client cannot flood the store."""
    with _app_with(web_settings, service) as client:
        given = client.post("/api/ask", json={"question": BUDVA_QUESTION}).json()
        rating = {k: given[k] for k in ("answer_id", "question", "answer")} | {"rating": "up"}
        forged = {**rating, "answer": '=HYPERLINK("http://evil.example","click")'}
        assert _assert_error(client.post("/api/feedback", json=forged), 422)["error"] == "unknown_answer"
        made_up = {**rating, "answer_id": "0" * 32}
        assert _assert_error(client.post("/api/feedback", json=made_up), 422)["error"] == "unknown_answer"

        tries = FEEDBACK_PER_MINUTE + 2
        statuses = [client.post("/api/feedback", json=rating).status_code for _ in range(tries)]
        assert statuses.count(201) == FEEDBACK_PER_MINUTE and statuses[-1] == 429, statuses
        streamed = client.post("/api/ask/stream", json={"question": BUDVA_QUESTION}).text
        assert _sse(streamed)[-1][1]["answer_id"] == given["answer_id"], "the stream signs its answer too"


@pytest.mark.parametrize(
    "body",
    [
        {"answer_id": "x", "question": "q", "answer": "a", "rating": "meh"},
        {"answer_id": "x", "question": "q", "answer": "a"},
        {"answer_id": "x", "question": "", "answer": "a", "rating": "up"},
        {"answer_id": "x", "question": "q", "answer": "a", "rating": "up", "comment": "x" * 5000},
        {"question": "q", "answer": "a", "rating": "up"},
    ],
)
def test_bad_feedback_is_422(client: TestClient, body: dict[str, Any]) -> None:
    _assert_error(client.post("/api/feedback", json=body), 422)


def test_openapi_docs_are_served(client: TestClient) -> None:
    docs = client.get("/api/docs")
    schema = client.get("/api/openapi.json").json()

    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert {"/api/ask", "/api/ask/stream", "/api/health", "/api/feedback"} <= set(schema["paths"])
    assert "/api/sources/{source_id}" in schema["paths"]


def test_xss_document_is_retrievable(client: TestClient) -> None:
    answer = client.post("/api/ask", json={"question": XSS_QUESTION}).json()

    assert any(r["source_id"] == XSS_DOCUMENT for r in answer["retrieved"][:3]), answer["retrieved"]


def test_openapi_docs_need_no_cdn(client: TestClient) -> None:
    pytest.importorskip("fastapi_offline", reason="fastapi-offline ships the docs' files")
    page = client.get("/api/docs").text

    assert "/api/docs/assets/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page and "https://" not in page
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200


# -- load ---------------------------------------------------------------------------------


def test_a_burst_past_the_admission_limit_gets_a_quick_503(
    web_settings: Settings, service: AssistantService
) -> None:
    import httpx

    settings = web_settings.model_copy(update={"max_pending_questions": 2})
    app = create_app(settings, service)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            asks = [client.post("/api/ask", json={"question": BUDVA_QUESTION}) for _ in range(12)]
            return list(await asyncio.gather(*asks, client.get("/api/health")))

    *answers, health = asyncio.run(burst())

    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) == {200, 503} and statuses.count(200) >= 2, statuses
    for busy in (r for r in answers if r.status_code == 503):
        assert busy.json()["error"] == "busy" and busy.headers["retry-after"] == "5"
    assert health.status_code == 200, "only questions are limited"
    with TestClient(app) as client:  # the slots were given back
        assert client.post("/api/ask", json={"question": BUDVA_QUESTION}).status_code == 200
