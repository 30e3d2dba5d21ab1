"""One door, against the real server (uvicorn on loopback): every route behind the same sign-in."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _web_corpus import BUDVA_QUESTION, SEED, build_web_index

from assistant.settings import Settings
from tests.conftest import ServerThread, clean_environment, free_port

pytestmark = [pytest.mark.integration, pytest.mark.server]

USER = {"X-Forwarded-User": "ana"}
SAVED = ("/a/" + "A" * 22, "/api/conversations/nope/export")  # a permalink, a conversation's export


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server with API keys and a proxy's user header (the proxy: loopback, the default)."""
    with clean_environment():
        settings: Settings = build_web_index(
            tmp_path_factory.mktemp("door"), api_keys=("k-one",), trusted_user_header="X-Forwarded-User"
        )
        with ServerThread(settings, free_port()) as server:
            yield server.url.rstrip("/")


def test_without_a_credential_no_route_answers(locked: str) -> None:
    with httpx.Client(base_url=locked, timeout=60) as client:
        assert client.get("/api/health").status_code == 200, "health stays open for probes"
        for path in ("/", "/config", "/embed", f"/api/sources/{SEED.name}", *SAVED):
            assert client.get(path).status_code == 401, path
        assert client.post("/api/ask", json={"question": BUDVA_QUESTION}).status_code == 401
        assert client.post("/gradio_api/queue/join", json={"data": [BUDVA_QUESTION]}).status_code == 401


def test_a_key_or_the_proxys_user_header_opens_every_route(locked: str) -> None:
    """Through a proxy on loopback that adds X-Forwarded-For, the header is still the proxy's."""
    forwarded = {**USER, "X-Forwarded-For": "203.0.113.9"}
    with httpx.Client(base_url=locked, timeout=60) as client:
        for headers in ({"Authorization": "Bearer k-one"}, USER, forwarded):
            for path in ("/", "/config", "/embed", f"/api/sources/{SEED.name}"):
                assert client.get(path, headers=headers).status_code == 200, (path, headers)
            answer = client.post("/api/ask", json={"question": BUDVA_QUESTION}, headers=headers)
            assert answer.status_code == 200 and not answer.json()["refused"]
            for path in SAVED:  # past the door: no such saved answer or conversation
                assert client.get(path, headers=headers).status_code == 404, (path, headers)


def test_routes_the_chat_does_not_use_are_closed_to_everyone(locked: str) -> None:
    with httpx.Client(base_url=locked, timeout=60) as client:
        for path in ("/gradio_api/call/respond", "/gradio_api/run/respond", "/gradio_api/upload"):
            response = client.post(path, json={"data": [BUDVA_QUESTION]}, headers=USER)
            assert response.status_code == 404, path
        assert client.get("/monitoring/summary", headers=USER).status_code == 404


# Routes Gradio serves to anyone (it checks a login only on some of its own), and the API's
# description: behind the door too, before any body is read.
GRADIO_OPEN = (
    ("GET", "/gradio_api/heartbeat/probe"),  # a stream that never ends
    ("POST", "/gradio_api/cancel"),
    ("POST", "/gradio_api/reset"),
    ("GET", "/gradio_api/startup-events"),
    ("GET", "/gradio_api/app_id"),
    ("GET", "/gradio_api/stream/probe/1/2/playlist.m3u8"),
    ("GET", "/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/api/openapi.json"),
)


def _status(client: httpx.Client, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    """The status line only (a heartbeat that is let in streams for ever)."""
    with client.stream(method, path, headers=headers, json={} if method == "POST" else None) as response:
        return response.status_code


def test_routes_gradio_leaves_open_need_a_credential_too(locked: str) -> None:
    with httpx.Client(base_url=locked, timeout=60) as client:
        for method, path in GRADIO_OPEN:
            assert _status(client, method, path) == 401, path
        malformed = client.post("/api/ask", content=b"{{", headers={"Content-Type": "application/json"})
        assert malformed.status_code == 401, "the door answers before the body is read"
        for path in ("/api/health", "/theme.css", "/robots.txt"):
            assert client.get(path).status_code == 200, path
        key = {"Authorization": "Bearer k-one"}
        for path in ("/gradio_api/heartbeat/probe", "/api/openapi.json", "/openapi.json"):
            assert _status(client, "GET", path, key) == 200, path


def test_with_the_chats_own_login_only_the_login_page_is_open(tmp_path: Path) -> None:
    with clean_environment():
        settings = build_web_index(
            tmp_path, ui_auth=("ana:s3cret",), embedding_model="hash-256", cross_lingual=False
        )
    with (
        ServerThread(settings, free_port()) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        page = client.get("/")
        assert page.status_code == 200 and "auth_required" in page.text, "Gradio's login page"
        for method, path in (*GRADIO_OPEN, ("POST", "/api/ask"), ("GET", "/config")):
            assert _status(client, method, path) == 401, path
        assert client.post("/login", data={"username": "ana", "password": "s3cret"}).status_code == 200
        for path in ("/config", "/gradio_api/heartbeat/probe", "/api/openapi.json"):
            assert _status(client, "GET", path) == 200, path


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An open server with room for three questions, two per client, and a 2 s body deadline."""
    with clean_environment():
        settings: Settings = build_web_index(
            tmp_path_factory.mktemp("limits"),
            max_pending_questions=3,
            max_questions_per_client=2,
            body_timeout_s=2,
        )
        with ServerThread(settings, free_port()) as server:
            yield server.url.rstrip("/")


def test_clients_that_trickle_a_body_hold_no_question_slot(small: str) -> None:
    """Connections that send headers and then nothing (more than the server's slots) do not
    make other users wait: they get 408 and the next question is answered."""
    host, port = small.removeprefix("http://").split(":")
    head = (
        f"POST /api/ask HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Content-Length: 200\r\n\r\n{"
    ).encode()
    stalled = []
    for _ in range(6):
        connection = socket.create_connection((host, int(port)))
        connection.sendall(head)
        stalled.append(connection)
    try:
        with httpx.Client(base_url=small, timeout=60) as client:
            answer = client.post("/api/ask", json={"question": BUDVA_QUESTION})
            assert answer.status_code == 200, answer.text
        stalled[0].settimeout(30)
        reply = stalled[0].recv(4096).decode()
        assert reply.startswith("HTTP/1.1 408"), reply[:80]
    finally:
        for connection in stalled:
            connection.close()


def _burst(url: str, forwarded_for: list[str | None]) -> list[int]:
    """Questions asked at once, each with its X-Forwarded-For (None: none); their statuses."""

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            asks = [
                client.post("/api/ask", json={"question": BUDVA_QUESTION}, headers=_forwarded(address))
                for address in forwarded_for
            ]
            return [r.status_code for r in await asyncio.gather(*asks)]

    return asyncio.run(burst())


def _forwarded(address: str | None) -> dict[str, str]:
    return {"X-Forwarded-For": address} if address else {}


def test_one_client_cannot_take_every_question_slot(small: str) -> None:
    statuses = _burst(small, [None] * 6)
    assert 200 in statuses and 429 in statuses and set(statuses) <= {200, 429}, statuses


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(small: str) -> None:
    """nginx on loopback (a trusted proxy) passes each user's address in X-Forwarded-For: users
    behind it do not share one client's limit, and one of them is still held to it."""
    one = _burst(small, ["203.0.113.7"] * 4)
    assert 429 in one and set(one) <= {200, 429}, one
    three = _burst(small, ["198.51.100.9, 203.0.113.1", "203.0.113.2", "203.0.113.3"])
    assert three == [200, 200, 200], three


def test_forwarded_addresses_are_believed_only_from_trusted_proxies() -> None:
    from starlette.requests import HTTPConnection

    from ui.door import Door

    door = Door(trusted_proxies=(ipaddress.ip_network("10.0.0.5"),))

    def address(peer: str, forwarded: str) -> str:
        headers = [(b"x-forwarded-for", forwarded.encode())]
        return door.client(HTTPConnection({"type": "http", "client": (peer, 4000), "headers": headers}))

    assert address("10.0.0.5", "198.51.100.9, 203.0.113.4") == "203.0.113.4"  # the last, as nginx saw it
    assert address("10.0.0.5", "203.0.113.4, 10.0.0.5") == "203.0.113.4"  # past another trusted proxy
    assert address("192.0.2.1", "203.0.113.4") == "192.0.2.1"  # anyone can write the header
    assert address("10.0.0.5", "not-an-address") == "10.0.0.5"


def test_a_question_slot_is_free_before_the_answers_last_byte_leaves() -> None:
    """A client that asks again as soon as it has read a whole answer (a stream's last chunk,
    then the next question, as LangChain's ChatOpenAI does) is not refused as still asking."""
    from starlette.types import Message, Receive, Scope, Send

    from ui._middleware import AdmissionLimitMiddleware
    from ui.door import Door

    async def streamed_answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for chunk, more in ((b"data: one\n\n", True), (b"data: [DONE]\n\n", False)):
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
        await asyncio.sleep(0)  # the server's own clean-up after the last byte

    admission = AdmissionLimitMiddleware(
        streamed_answer, limit=4, paths=("/v1/chat/completions",), door=Door(), per_client=1
    )
    held_when_sent: list[tuple[bool, int]] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            held_when_sent.append((message["more_body"], admission.in_flight))

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "path": "/v1/chat/completions", "client": ("127.0.0.1", 4000), "headers": []}
    asyncio.run(admission(scope, receive, send))

    assert held_when_sent == [(True, 1), (False, 0)], held_when_sent
    assert admission.by_client == {} and admission.in_flight == 0
