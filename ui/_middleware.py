"""Pure ASGI middleware of the web app: closed routes, the door, request body limit, admission
limit, security headers."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.door import SIGN_IN, Door
from ui.errors import error_body
from ui.urls import route_path

DEFAULT_MAX_BODY_BYTES = 64 * 1024


# Gradio routes the chat page does not use: its programmatic API (which would answer around the
# HTTP API's limits), uploads and file serving (the chat has no upload), monitoring, and the
# development and run-history tools. They answer 404.
CLOSED_GRADIO_ROUTES = (
    "/gradio_api/call/",
    "/gradio_api/run/",
    "/gradio_api/api/",
    "/gradio_api/upload",
    "/gradio_api/file=",
    "/gradio_api/file/",
    "/gradio_api/proxy=",
    "/gradio_api/info",
    "/gradio_api/openapi.json",
    "/gradio_api/monitoring",
    "/gradio_api/process_recording",
    "/gradio_api/vibe-",
    "/gradio_api/undo-vibe-edit",
    "/gradio_api/run-history",
    "/gradio_api/runs",
    "/gradio_api/dev/",
    "/gradio_api/deep_link",
    "/gradio_api/mcp",
    "/monitoring",
)


class ClosedRoutesMiddleware:
    """404 JSON for paths under `prefixes` (compared after collapsing repeated slashes)."""

    def __init__(self, app: ASGIApp, prefixes: Sequence[str]) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path = re.sub(r"/{2,}", "/", route_path(scope))
            if path.startswith(self.prefixes):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await _send_error(scope, send, 404, "not_found", "no such route")
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Every request body is read whole before the app sees it: 413 JSON past `max_bytes`
    (Content-Length or counted as it arrives), 408 JSON when it takes longer than `seconds`.

    So no route, the chat's included, reads an unbounded body, and a client that trickles one
    holds nothing but its own connection for at most `seconds`.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._too_large(scope, send)
                return
        try:
            messages = await asyncio.wait_for(self._whole_body(receive), self.seconds)
        except TimeoutError:
            detail = f"send the request body within {self.seconds:g} s"
            await _send_error(scope, send, 408, "request_timeout", detail)
            return
        if messages is None:
            await self._too_large(scope, send)
            return
        pending = list(messages)

        async def replay() -> Message:
            return pending.pop(0) if pending else await receive()

        await self.app(scope, replay, send)

    async def _whole_body(self, receive: Receive) -> list[Message] | None:
        """The body's messages up to the last one (or a disconnect); None past the limit."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return None
            if message["type"] != "http.request" or not message.get("more_body", False):
                return messages

    async def _too_large(self, scope: Scope, send: Send) -> None:
        detail = f"the request body is larger than {self.max_bytes // 1024} KB"
        await _send_error(scope, send, 413, "payload_too_large", detail)


class AdmissionLimitMiddleware:
    """Bounds the questions in the server: 503 with Retry-After past `limit`, 429 past
    `per_client` for one client (its user, else its address).

    On 2 cores an answer takes a fraction of a second; without a bound, a burst queues requests
    for minutes. A question is counted only once its whole body has arrived (`BodyLimitMiddleware`
    runs first) and it passes the door: clients that trickle a body or have no key hold no slot.
    Counted until the response's last message is sent (streams included), on the event loop: no
    lock.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        paths: Sequence[str],
        door: Door,
        per_client: int,
        retry_after_s: int = 5,
    ) -> None:
        self.app = app
        self.limit = limit
        self.paths = frozenset(paths)
        self.door = door
        self.per_client = per_client
        self.retry_after_s = retry_after_s
        self.in_flight = 0
        self.by_client: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope).rstrip("/") not in self.paths:
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        if not self.door.admits(connection):  # the route answers 401
            await self.app(scope, receive, send)
            return
        client = self.door.client(connection)
        retry = [(b"retry-after", str(self.retry_after_s).encode())]
        if self.by_client.get(client, 0) >= self.per_client:
            detail = f"{self.per_client} of your questions are being answered; wait for them"
            await _send_error(scope, send, 429, "too_many_questions", detail, headers=retry)
            return
        if self.in_flight >= self.limit:
            detail = f"{self.in_flight} questions are being answered; try again in {self.retry_after_s} s"
            await _send_error(scope, send, 503, "busy", detail, headers=retry)
            return
        self.in_flight += 1
        self.by_client[client] = self.by_client.get(client, 0) + 1
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self.in_flight -= 1
                self.by_client[client] -= 1
                if not self.by_client[client]:
                    del self.by_client[client]

        async def release_then_send_at_end(message: Message) -> None:
            # Freed before the last byte leaves: a client that asks again as soon as it has read
            # a whole answer (a stream's [DONE], then the next question) is not refused.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()
            await send(message)

        try:
            await self.app(scope, receive, release_then_send_at_end)
        finally:
            release()


class DoorGuard:
    """401 JSON (`WWW-Authenticate: Bearer`) for requests the door does not admit, as `/api/*`
    answers, before their body is read; the wrapped app sees only the others. Paths in
    `open_paths` (exact, or every path under one that ends with `/`) pass without a credential;
    a websocket the door does not admit is closed.

    In front of the whole app it covers the routes Gradio leaves open to anyone (its heartbeat
    stream, cancel, startup events ...), not only those it checks itself.
    """

    def __init__(self, app: ASGIApp, door: Door, open_paths: Sequence[str] = ()) -> None:
        self.app = app
        self.door = door
        self.exact = frozenset(p for p in open_paths if not p.endswith("/") or p == "/")
        self.prefixes = tuple(p for p in open_paths if p.endswith("/") and p != "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if (
            kind in ("http", "websocket")
            and not self._open(scope)
            and not self.door.admits(HTTPConnection(scope))
        ):
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            challenge = [(b"www-authenticate", b"Bearer")]
            await _send_error(scope, send, 401, "unauthorized", SIGN_IN, headers=challenge)
            return
        await self.app(scope, receive, send)

    def _open(self, scope: Scope) -> bool:
        path = route_path(scope)
        return path in self.exact or path.startswith(self.prefixes)


async def _send_error(
    scope: Scope,
    send: Send,
    status: int,
    error: str,
    detail: str,
    *,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Answer with the API's JSON error (`{error, detail}`; OpenAI's shape under /v1)."""
    body = json.dumps(error_body(scope, status, error, detail)).encode()
    length = str(len(body)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", length), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    """`X-Content-Type-Options: nosniff` everywhere; CSP `frame-ancestors`, `object-src 'none'` and
    `base-uri 'self'` on pages.

    A response that sets its own Content-Security-Policy (the source files) keeps it.
    """

    def __init__(self, app: ASGIApp, frame_ancestors: Sequence[str], api_prefixes: Sequence[str]) -> None:
        self.app = app
        ancestors = " ".join(frame_ancestors or ("'self'",))
        self.csp = f"frame-ancestors {ancestors}; object-src 'none'; base-uri 'self'"
        self.api_prefixes = tuple(f"{prefix}/" for prefix in api_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_page = not route_path(scope).startswith(self.api_prefixes)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                if is_page and "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = self.csp
            await send(message)

        await self.app(scope, receive, send_with_headers)
