"""The public address of the running server, as the browser sees it (proxies included), the
address of a saved answer (its permalink), and a request's path as the app routes it."""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.requests import HTTPConnection
from starlette.types import Scope

PERMALINK_ROUTE = "/a/{answer_id}"  # a saved answer's page (ui/permalink.py)
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")


def believed_headers(headers: Mapping[str, str], from_trusted_proxy: bool) -> dict[str, str]:
    """The request's headers, lower-cased, without X-Forwarded-* unless a trusted proxy sent
    them (any client can write them: they would rewrite the links the app shows)."""
    return {
        name.lower(): value
        for name, value in headers.items()
        if from_trusted_proxy or not name.lower().startswith("x-forwarded-")
    }


def app_address(request: HTTPConnection, from_trusted_proxy: bool, root_path: str) -> str:
    """The app's public address for a request, for the links it shows: its Host, the forwarded
    headers believed from it, and the configured path prefix (else the one uvicorn was given)."""
    return public_base_url(
        believed_headers(request.headers, from_trusted_proxy),
        request.url.scheme,
        request.headers.get("host", request.url.netloc),
        root_path or request.scope.get("root_path", ""),
    )


def public_base_url(headers: Mapping[str, str], scheme: str, host: str, root_path: str = "") -> str:
    """`scheme://host/prefix/` of the app, honouring X-Forwarded-Proto/Host/Prefix.

    `root_path` (uvicorn's, from a proxy that strips the prefix) wins over
    X-Forwarded-Prefix. Malformed header values are ignored rather than echoed.
    """
    proto = _first(headers.get("x-forwarded-proto"))
    if proto in ("http", "https"):
        scheme = proto
    forwarded_host = _first(headers.get("x-forwarded-host"))
    if forwarded_host and _HOST.match(forwarded_host):
        host = forwarded_host
    if not _HOST.match(host):
        host = "localhost"
    prefix = root_path.rstrip("/")
    if not prefix:
        forwarded_prefix = (_first(headers.get("x-forwarded-prefix")) or "").rstrip("/")
        if _PREFIX.match(forwarded_prefix):
            prefix = forwarded_prefix
    if not _PREFIX.match(prefix):
        prefix = ""
    return f"{scheme}://{host}{prefix}/"


def permalink(base_url: str, answer_id: str) -> str:
    """The address of a saved answer's page, under the app's address `base_url`."""
    return base_url + PERMALINK_ROUTE.removeprefix("/").format(answer_id=answer_id)


def _first(value: str | None) -> str | None:
    """The first of a comma-separated header list (the client-most proxy)."""
    if not value:
        return None
    return value.split(",")[0].strip()


def route_path(scope: Scope) -> str:
    """The request's path without the root_path prefix (as Starlette routes it)."""
    path: str = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path
