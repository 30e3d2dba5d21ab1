"""Errors of the HTTP API: every one is JSON `{error, detail}`: 4xx for bad input, 401 without a
valid key, 404 for unknown sources, 503 while the index cannot serve, and a logged 500 without a
traceback for anything unexpected. Under `/v1` the same errors come in OpenAI's shape
(`ui/openai_compat.py`), and a bad body is 400 there, as OpenAI's clients expect."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from assistant.errors import (
    AssistantError,
    ConfigurationError,
    IndexUnavailableError,
    InvalidQuestionError,
)
from ui.i18n import Messages
from ui.openai_compat import V1_PREFIX
from ui.openai_compat import error_body as openai_error_body
from ui.urls import route_path

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered as JSON `{error, detail}` with `status` (`param`: the request field at
    fault, for OpenAI's shape)."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        headers: dict[str, str] | None = None,
        param: str | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers
        self.param = param


def error_code(exc: AssistantError) -> str:
    match exc:
        case InvalidQuestionError():
            return "invalid_question"
        case IndexUnavailableError():
            return "index_unavailable"
        case ConfigurationError():
            return "not_configured"
        case _:
            return "unavailable"


def public_detail(exc: AssistantError, say: Messages | None = None) -> str:
    """What a caller is told of a failure, in `say`'s language (the API's: English): a bad
    question's own message; for a server-side failure, whose message may name files, endpoints or
    settings, the catalogue's `error.<code>`, a sentence that says what to do (the message itself
    goes to the log)."""
    say = say or Messages()
    return say.service(str(exc)) if error_status(exc) < 500 else say(f"error.{error_code(exc)}")


def error_status(exc: AssistantError) -> int:
    """The HTTP status of a failure: 400 for a bad question, 503 for the server's side."""
    return 400 if isinstance(exc, InvalidQuestionError) else 503


def is_openai_route(scope: Scope) -> bool:
    """Whether the request is to the OpenAI-compatible routes (`/v1/*`)."""
    return route_path(scope).startswith(f"{V1_PREFIX}/")


def error_body(
    scope: Scope, status: int, error: str, detail: str, param: str | None = None
) -> dict[str, Any]:
    """The JSON of an error: `{error, detail}`, or OpenAI's error object under `/v1`."""
    if is_openai_route(scope):
        return openai_error_body(status, error, detail, param)
    return {"error": error, "detail": detail}


def guarded_stream(events: Iterator[str], failure: Callable[[int, str, str], str]) -> Iterator[str]:
    """The encoded events of a stream; a failure once it has begun (the status line is sent)
    becomes one last event, `failure(status, error, detail)`."""
    try:
        yield from events
    except AssistantError as exc:
        log.warning("stream failed: %s", exc)
        yield failure(error_status(exc), error_code(exc), public_detail(exc))
    except Exception:
        log.exception("stream failed")
        yield failure(500, "internal", "the answer failed; see the server log")


def _json(
    request: Request,
    status: int,
    error: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    param: str | None = None,
) -> JSONResponse:
    body = error_body(request.scope, status, error, detail, param)
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> tuple[int, str, str, str | None]:
    problems = []
    param = None
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            return 400, "invalid_json", "the request body is not valid JSON", None
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        param = param or where
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return 422, "invalid_request", "; ".join(problems[:10]), param


def install_error_handlers(app: FastAPI) -> None:
    """Turn every failure under /api and /v1 into a JSON error (never a traceback)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _json(request, exc.status, exc.error, exc.detail, headers=exc.headers, param=exc.param)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, error, detail, param = _validation_detail(exc)
        if is_openai_route(request.scope):
            status = 400  # OpenAI's clients expect a bad body to be 400, not 422
        return _json(request, status, error, detail, param=param)

    @app.exception_handler(AssistantError)
    async def _assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        status = error_status(exc)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return _json(request, status, error_code(exc), public_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        names = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 413: "payload_too_large"}
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        error = names.get(exc.status_code, "http_error")
        return _json(request, exc.status_code, error, detail, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _json(request, 500, "internal", "the server failed to answer; the error is in its log")


def answer_unknown_paths(app: FastAPI, prefix: str) -> None:
    """A JSON 404 (405 for a known path) under `prefix`, where the chat would answer a page."""

    @app.api_route(
        f"{prefix}/{{rest:path}}",
        methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
        include_in_schema=False,
    )
    def unknown_path(request: Request, rest: str) -> None:
        for route in request.app.router.routes:
            if route.matches(request.scope)[0] is Match.PARTIAL:
                raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed here")
        raise ApiError(404, "not_found", f"no API route {prefix}/{rest}")
