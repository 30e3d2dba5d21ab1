"""One door: who may use the server, decided in one place for the API, the chat and its pages.

A request comes in with any one of:
- an API key (`Authorization: Bearer <key>`, `API_KEYS`);
- a chat session, from the chat's own login page (`UI_AUTH`);
- a user header set by a sign-in proxy (`TRUSTED_USER_HEADER`), believed only when the request
  comes from one of `TRUSTED_PROXIES` (any client can write a header).
With none of these configured the server is open (local use); `serve` warns when it is bound
beyond loopback.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from assistant.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SessionLookup = Callable[[HTTPConnection], str | None]  # the signed-in chat user, if any


@dataclass
class Door:
    """Checks every request's credentials (see the module docstring)."""

    api_keys: tuple[str, ...] = ()
    user_header: str | None = None
    trusted_proxies: tuple[Network, ...] = ()
    chat_login: bool = False
    sessions: SessionLookup | None = field(default=None, repr=False)  # set once the chat is mounted

    @classmethod
    def from_settings(cls, settings: Settings) -> Door:
        return cls(
            api_keys=settings.api_keys,
            user_header=settings.trusted_user_header,
            trusted_proxies=tuple(ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies),
            chat_login=bool(settings.ui_auth),
        )

    @property
    def locked(self) -> bool:
        """Whether any credential is configured (if not, everyone comes in)."""
        return bool(self.api_keys or self.user_header or self.chat_login)

    def user(self, request: HTTPConnection) -> str | None:
        """Who the request comes from, by the first credential that holds; None if none does."""
        if self.api_keys and self._valid_key(request):
            return "api-key"
        if self.user_header and self.from_trusted_proxy(request):
            return request.headers.get(self.user_header) or None
        if self.chat_login and self.sessions is not None:
            return self.sessions(request)
        return None

    def client(self, request: HTTPConnection) -> str:
        """Whom per-client limits count the request against: its user, else its address."""
        return self.user(request) or (request.client.host if request.client else "")

    def admits(self, request: HTTPConnection) -> bool:
        return not self.locked or self.user(request) is not None

    def from_trusted_proxy(self, request: HTTPConnection) -> bool:
        """Whether the connection comes from a proxy whose headers are believed."""
        host = request.client.host if request.client else ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted_proxies)

    def _valid_key(self, request: HTTPConnection) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = token.strip().encode()
        valid = False
        for key in self.api_keys:  # compare with every key: no early exit to time
            valid |= hmac.compare_digest(given, key.encode())
        return scheme.lower() == "bearer" and valid


def gradio_sessions(gradio_app: object) -> SessionLookup:
    """The signed-in user of a Gradio login cookie (Gradio keeps its sessions in `tokens`)."""
    tokens: dict[str, str] = getattr(gradio_app, "tokens")  # noqa: B009 - Gradio's own state
    cookie_id: str = getattr(gradio_app, "cookie_id")  # noqa: B009

    def lookup(request: HTTPConnection) -> str | None:
        token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
            f"access-token-unsecure-{cookie_id}"
        )
        return tokens.get(token) if token else None

    return lookup
