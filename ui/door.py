"""One door: who may use the server, decided in one place for the API, the chat and its pages.

A request comes in with any one of:
- an API key (`Authorization: Bearer <key>`, `API_KEYS`);
- a chat session, from the chat's own login page (`UI_AUTH`);
- a user header set by a sign-in proxy (`TRUSTED_USER_HEADER`), believed only when the request
  comes from one of `TRUSTED_PROXIES` (any client can write a header).
With none of these configured the server is open (local use); `serve` warns when it is bound
beyond loopback.

The door also says what a request may read (assistant/access.py): the groups of its API key
(`key:hr+finance`), of its trusted proxy's groups header (`TRUSTED_GROUPS_HEADER`) or of its chat
user (`USER_GROUPS`). A request with none reads only the documents under no access file.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from assistant.access import group_names
from assistant.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# What a request the door turns away (401) is told.
SIGN_IN = "send a valid API key as `Authorization: Bearer <key>`, or sign in to the chat first"
SessionLookup = Callable[[HTTPConnection], str | None]  # the signed-in chat user, if any


@dataclass
class Door:
    """Checks every request's credentials (see the module docstring)."""

    api_keys: dict[str, frozenset[str]] = field(default_factory=dict)  # key -> the groups it reads
    user_header: str | None = None
    groups_header: str | None = None
    trusted_proxies: tuple[Network, ...] = ()
    chat_login: bool = False
    user_groups: dict[str, frozenset[str]] = field(default_factory=dict)  # chat user -> groups
    sessions: SessionLookup | None = field(default=None, repr=False)  # set once the chat is mounted

    @classmethod
    def from_settings(cls, settings: Settings) -> Door:
        keys = (entry.partition(":") for entry in settings.api_keys)
        users = (entry.partition("=") for entry in settings.user_groups)
        return cls(
            api_keys={key: frozenset(group_names(groups, "API key groups")) for key, _, groups in keys},
            user_header=settings.trusted_user_header,
            groups_header=settings.trusted_groups_header,
            trusted_proxies=tuple(ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies),
            chat_login=bool(settings.ui_auth),
            user_groups={user: frozenset(group_names(groups, user)) for user, _, groups in users},
        )

    @property
    def locked(self) -> bool:
        """Whether any credential is configured (if not, everyone comes in)."""
        return bool(self.api_keys or self.user_header or self.chat_login)

    def user(self, request: HTTPConnection) -> str | None:
        """Who the request comes from, by the first credential that holds; None if none does.
        An API key's user is named by a digest of the key (its limits are its own)."""
        return self._identify(request)[0]

    def reader(self, request: HTTPConnection) -> frozenset[str]:
        """The groups whose documents the request may read (none: only everyone's documents)."""
        return self._identify(request)[1]

    def _identify(self, request: HTTPConnection) -> tuple[str | None, frozenset[str]]:
        if self.api_keys and (key := self._valid_key(request)) is not None:
            return f"key:{hashlib.sha256(key.encode()).hexdigest()[:16]}", self.api_keys[key]
        if self.user_header and self.from_trusted_proxy(request):
            user = request.headers.get(self.user_header) or None
            listed = request.headers.get(self.groups_header, "") if self.groups_header and user else ""
            try:
                return user, frozenset(group_names(listed, "groups header"))
            except ValueError:  # a malformed header reads as no groups
                return user, frozenset()
        if self.chat_login and self.sessions is not None and (user := self.sessions(request)):
            return user, self.user_groups.get(user, frozenset())
        return None, frozenset()

    def client(self, request: HTTPConnection) -> str:
        """Whom per-client limits count the request against: its user, else its address."""
        return self.user(request) or self.address(request)

    def address(self, request: HTTPConnection) -> str:
        """The client's address: the connection's, or, on a connection from a trusted proxy, the
        last X-Forwarded-For entry that is not itself a trusted proxy (the one the proxy saw;
        entries before it are the client's to write). Behind nginx, each user is their own client."""
        host = request.client.host if request.client else ""
        if not self.from_trusted_proxy(request):
            return host
        forwarded = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
        for entry in reversed([e.strip() for e in forwarded if e.strip()]):
            try:
                address = ipaddress.ip_address(entry)
            except ValueError:
                return host  # a malformed list: count the proxy
            if not any(address in network for network in self.trusted_proxies):
                return str(address)
        return host

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

    def _valid_key(self, request: HTTPConnection) -> str | None:
        """The API key the request carries, when it is one of ours."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = token.strip().encode()
        found = None
        for key in self.api_keys:  # compare with every key: no early exit to time
            if hmac.compare_digest(given, key.encode()):
                found = key
        return found if scheme.lower() == "bearer" else None


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
