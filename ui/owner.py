"""Whose saved conversations a request sees (`assistant/saved_conversations.py`).

When the door is locked (`ui/door.py`), the owner is the signed-in user — the chat's login, the
trusted proxy's user header or an API key — and they see the same list in every browser. On an
open server nobody signs in, so the owner is the browser: a random id in an HttpOnly cookie,
`iom-browser`, that `BrowserCookieMiddleware` gives the chat's pages when they come without one.
The store keeps a digest of that id, never the id itself, and a user's name and a browser's id
never meet (`user:...`, `browser:...`). A request with neither has no saved conversations.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.door import Door
from ui.urls import app_address, route_path

BROWSER_COOKIE = "iom-browser"
COOKIE_MAX_AGE_S = 400 * 24 * 3600  # the longest a browser keeps a cookie (Chrome's cap)
_BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def conversation_owner(door: Door, connection: HTTPConnection) -> str | None:
    """The owner of the saved conversations a request sees; None when it has none."""
    if door.locked:
        user = door.user(connection)
        return f"user:{user}" if user else None
    browser = connection.cookies.get(BROWSER_COOKIE, "")
    if not _BROWSER_ID.fullmatch(browser):
        return None
    return "browser:" + hashlib.sha256(browser.encode()).hexdigest()[:32]


class BrowserCookieMiddleware:
    """On an open server, gives a browser that has no id cookie one with the response (every
    route but those under `skip`, the API's, whose clients keep no cookies)."""

    def __init__(self, app: ASGIApp, door: Door, skip: Sequence[str]) -> None:
        self.app = app
        self.door = door
        self.skip = tuple(skip)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = HTTPConnection(scope) if scope["type"] == "http" else None
        if (
            connection is None
            or route_path(scope).startswith(self.skip)
            or _BROWSER_ID.fullmatch(connection.cookies.get(BROWSER_COOKIE, ""))
        ):
            await self.app(scope, receive, send)
            return
        cookie = self._cookie(connection)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, connection: HTTPConnection) -> str:
        address = app_address(connection, self.door.from_trusted_proxy(connection), "")
        path = "/" + address.split("/", 3)[3]  # the app's path prefix, as the browser sees it
        secure = "; Secure" if address.startswith("https:") else ""
        return (
            f"{BROWSER_COOKIE}={secrets.token_urlsafe(32)}; Path={path}; Max-Age={COOKIE_MAX_AGE_S}; "
            f"HttpOnly; SameSite=Lax{secure}"
        )
