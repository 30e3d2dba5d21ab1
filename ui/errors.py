"""Errors of the HTTP API: every one is JSON `{error, detail}`: 4xx for bad input, 401 without a
valid key, 404 for unknown sources, 503 while the index cannot serve, and a logged 500 without a
traceback for anything unexpected."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import (
    AssistantError,
    ConfigurationError,
    IndexUnavailableError,
    InvalidQuestionError,
)

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered as JSON `{error, detail}` with `status`."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers


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


_SERVER_SIDE = {
    "index_unavailable": "the document index is not ready: the administrator runs `iom-assistant ingest`",
    "not_configured": "this answering backend is not configured on the server; the details are in its log",
    "unavailable": "the answering backend is unavailable; try again later (details in the server log)",
}


def public_detail(exc: AssistantError) -> str:
    """What a caller is told of a failure: a bad question's own message; for a server-side
    failure, whose message may name files, endpoints or settings, a sentence that says what to do
    (the message itself goes to the log)."""
    return str(exc) if _status(exc) < 500 else _SERVER_SIDE[error_code(exc)]


def _status(exc: AssistantError) -> int:
    return 400 if isinstance(exc, InvalidQuestionError) else 503


def _json(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> tuple[int, str, str]:
    problems = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            return 400, "invalid_json", "the request body is not valid JSON"
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return 422, "invalid_request", "; ".join(problems[:10])


def install_error_handlers(app: FastAPI) -> None:
    """Turn every failure under /api into JSON `{error, detail}` (never a traceback)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.error, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, error, detail = _validation_detail(exc)
        return _json(status, error, detail)

    @app.exception_handler(AssistantError)
    async def _assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        if _status(exc) >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return _json(_status(exc), error_code(exc), public_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        names = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 413: "payload_too_large"}
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return _json(exc.status_code, names.get(exc.status_code, "http_error"), detail, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _json(500, "internal", "the server failed to answer; the error is in its log")
