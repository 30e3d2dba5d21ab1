"""Pure ASGI middleware of the web app: closed routes, request body limit, admission limit,
security headers."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
            path = re.sub(r"/{2,}", "/", _route_path(scope))
            if path.startswith(self.prefixes):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                start, body = _json_error(404, "not_found", "no such route")
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class _BodyTooLargeError(Exception):
    pass


def _json_error(
    status: int, error: str, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> tuple[dict[str, object], bytes]:
    body = json.dumps({"error": error, "detail": detail}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }
    return start, body


class BodySizeLimitMiddleware:
    """413 JSON for request bodies over `max_bytes` on paths under `prefixes`.

    Checks Content-Length first, then counts the bytes of a chunked body as they arrive.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES, prefixes: Sequence[str] = ("/",)
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _route_path(scope).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_large = int(value) > self.max_bytes
                except ValueError:
                    too_large = False
                if too_large:
                    await self._reject(send)
                    return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLargeError:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        start, body = _json_error(
            413, "payload_too_large", f"the request body is larger than {self.max_bytes // 1024} KB"
        )
        await send(start)
        await send({"type": "http.response.body", "body": body})


class AdmissionLimitMiddleware:
    """503 JSON with Retry-After once `limit` requests to `paths` are already in the server.

    On 2 cores an answer takes a fraction of a second; without a bound, a burst queues
    requests for minutes. Past the limit a caller learns at once that it should come back,
    and those already admitted are served as fast as before. Counted from the request's
    arrival to the end of its response (streams included), on the event loop: no lock.
    """

    def __init__(self, app: ASGIApp, limit: int, paths: Sequence[str], retry_after_s: int = 5) -> None:
        self.app = app
        self.limit = limit
        self.paths = frozenset(paths)
        self.retry_after_s = retry_after_s
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope).rstrip("/") not in self.paths:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            start, body = _json_error(
                503,
                "busy",
                f"{self.in_flight} questions are being answered; try again in {self.retry_after_s} seconds",
                [(b"retry-after", str(self.retry_after_s).encode())],
            )
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class SecurityHeadersMiddleware:
    """`X-Content-Type-Options: nosniff` everywhere; CSP `frame-ancestors`, `object-src 'none'` and
    `base-uri 'self'` on pages.

    A response that sets its own Content-Security-Policy (the source files) keeps it.
    """

    def __init__(self, app: ASGIApp, frame_ancestors: Sequence[str], api_prefix: str = "/api") -> None:
        self.app = app
        ancestors = " ".join(frame_ancestors or ("'self'",))
        self.csp = f"frame-ancestors {ancestors}; object-src 'none'; base-uri 'self'"
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_page = not _route_path(scope).startswith(self.api_prefix + "/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                if is_page and "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = self.csp
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _route_path(scope: Scope) -> str:
    """The path without the root_path prefix (as Starlette routes it)."""
    path: str = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path
