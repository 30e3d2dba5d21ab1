"""One FastAPI app: the chat at `/`, the HTTP API under `/api`, its OpenAI-compatible twin under
`/v1`, the MCP server at `/mcp`, the embedding page at `/embed`.

    browser ──> TrustedHost ──> SecurityHeaders ──> CORS ──> ClosedRoutes ──> the door ──> BodyLimit
            ──> Admission(questions) ──> routes ├── /api/*   ui.api (the door: ui.door)
                                                ├── /v1/*    ui.openai_api
                                                ├── /mcp     ui.mcp_server (behind DoorGuard)
                                                ├── /embed   ui.embed
                                                └── /        Gradio (ui.chat)

Behind a reverse proxy that strips a path prefix, set `IOM_ASSISTANT_ROOT_PATH` to that
prefix; `serve` hands it to uvicorn, and every link the app makes carries it.
Over 300 lines: the composition of the web app (routes, middleware order, mounts), which is
read top to bottom as one sequence.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypedDict, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Mount, Route

from assistant.errors import ConfigurationError
from assistant.feedback import FeedbackStore
from assistant.saved_conversations import ConversationStore
from assistant.service import AssistantService
from assistant.settings import Settings
from ui._middleware import (
    CLOSED_GRADIO_ROUTES,
    DEFAULT_MAX_BODY_BYTES,
    AdmissionLimitMiddleware,
    BodyLimitMiddleware,
    ClosedRoutesMiddleware,
    DoorGuard,
    SecurityHeadersMiddleware,
)
from ui.api import API_PREFIX, FEEDBACK_PER_MINUTE, build_api_router
from ui.door import Door, gradio_sessions
from ui.embed import build_embed_router
from ui.errors import answer_unknown_paths, install_error_handlers
from ui.export import build_export_router
from ui.i18n import Messages, languages
from ui.openai_api import build_openai_router
from ui.openai_compat import V1_PREFIX
from ui.owner import BrowserCookieMiddleware
from ui.permalink import build_permalink_router
from ui.ratelimit import RateLimit
from ui.receipts import Receipts

log = logging.getLogger(__name__)
T = TypeVar("T")

# What the door lets through without a credential: the health probe and static assets (a path
# ending in / opens everything under it); with the chat's own login, its login page.
OPEN_PATHS = (
    f"{API_PREFIX}/health",
    f"{API_PREFIX}/docs/assets/",
    "/assets/",
    "/static/",
    "/svelte/",
    "/favicon.ico",
    "/theme.css",
    "/gradio_api/theme.css",
    "/robots.txt",
    "/manifest.json",
    "/pwa_icon",
    "/pwa_icon/",
)
CHAT_LOGIN_PATHS = ("/", "/login", "/login/", "/logout")
API_TITLE = "IOM Assistant API"  # the API speaks English, its docs and errors included


def login_message() -> str:
    """What the chat's login page says, once per language: Gradio draws that page from one
    configuration for every browser."""
    return " · ".join(dict.fromkeys(Messages(code)("login.message") for code in languages()))


def create_app(
    settings: Settings,
    service: AssistantService | None = None,
    feedback: FeedbackStore | None = None,
    conversations: ConversationStore | None = None,
) -> FastAPI:
    """The whole web app over one service (built from `settings` when not given).

    Loads no model and opens no index: the service does that on first use (or `warm_up`).
    """
    import gradio as gr

    from ui.chat import build_chat
    from ui.mcp_server import MCP_PATH, build_mcp_server, streamable_http
    from ui.theme import CSS, HEAD, chat_theme

    service = service or AssistantService(settings)
    feedback = feedback or FeedbackStore(settings.feedback_db)
    conversations = conversations or ConversationStore.from_settings(settings)
    if settings.ui_auth and settings.trusted_user_header:
        raise ConfigurationError(
            "set either IOM_ASSISTANT_UI_AUTH (the chat's own login) or IOM_ASSISTANT_TRUSTED_USER_HEADER "
            "(a login done by the reverse proxy), not both"
        )

    door = Door.from_settings(settings)
    receipts = Receipts(settings.feedback_secret)  # one signer: /api, /v1 and /mcp answers rate alike
    mcp_endpoint, mcp_lifespan = streamable_http(build_mcp_server(service, door, receipts))
    swagger_assets = _swagger_assets()
    app = FastAPI(
        title=API_TITLE,
        version=_version(),
        description="Answers from IOM documents, with citations. Errors are JSON `{error, detail}`.",
        docs_url=None if swagger_assets else f"{API_PREFIX}/docs",
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
        lifespan=mcp_lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.feedback = feedback
    app.state.conversations = conversations
    app.state.door = door
    app.state.receipts = receipts
    app.state.feedback_rate = RateLimit(FEEDBACK_PER_MINUTE)
    install_error_handlers(app)
    app.include_router(build_api_router())
    app.include_router(build_export_router())
    app.include_router(build_openai_router())
    if swagger_assets:
        _serve_docs_offline(app, swagger_assets)
    for prefix in (API_PREFIX, V1_PREFIX):
        answer_unknown_paths(app, prefix)

    app.include_router(build_embed_router(settings, door))
    app.include_router(build_permalink_router(settings, service, conversations, door))
    app.router.routes.append(Route(MCP_PATH, DoorGuard(mcp_endpoint, door), include_in_schema=False))

    # Outermost last: security headers wrap CORS, which wraps the body and admission limits; innermost,
    # on an open server, the cookie by which a browser's saved conversations are its own.
    if not door.locked:
        app.add_middleware(BrowserCookieMiddleware, door=door, skip=(API_PREFIX, V1_PREFIX, MCP_PATH))
    app.add_middleware(
        AdmissionLimitMiddleware,
        limit=settings.max_pending_questions,
        paths=(f"{API_PREFIX}/ask", f"{API_PREFIX}/ask/stream", f"{V1_PREFIX}/chat/completions", MCP_PATH),
        door=door,
        per_client=settings.max_questions_per_client,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=DEFAULT_MAX_BODY_BYTES, seconds=settings.body_timeout_s)
    login = CHAT_LOGIN_PATHS if settings.ui_auth else ()
    app.add_middleware(DoorGuard, door=door, open_paths=(*OPEN_PATHS, *login))
    app.add_middleware(ClosedRoutesMiddleware, prefixes=CLOSED_GRADIO_ROUTES)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_credentials="*" not in settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )
    app.add_middleware(
        SecurityHeadersMiddleware,
        frame_ancestors=settings.frame_ancestors,
        api_prefixes=(API_PREFIX, V1_PREFIX),
    )
    if settings.allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))

    def mount_chat() -> FastAPI:
        # The chat's own login (UI_AUTH) is Gradio's; otherwise, when the door is locked, Gradio
        # asks the door (an API key or a trusted proxy's user header) on every route it guards.
        login = [tuple(pair.split(":", 1)) for pair in settings.ui_auth] or None
        return gr.mount_gradio_app(
            app,
            build_chat(service, feedback, conversations, settings, door),
            path="/",
            auth=login,
            auth_dependency=door.user if door.locked and not login else None,
            auth_message=login_message(),
            root_path=settings.root_path or None,
            footer_links=[],
            ssr_mode=False,
            mcp_server=False,
            pwa=False,
            theme=chat_theme(),
            css=CSS,
            head=HEAD,
        )

    app = _in_event_loop(mount_chat)
    door.sessions = gradio_sessions(_gradio_app(app))
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Build the service, load its models, and serve the app until interrupted."""
    import uvicorn

    check_exposure(settings, host)
    settings = with_allowed_hosts(settings, host)
    service = AssistantService(settings)
    service.warm_up()
    health = service.health()
    if not health["chunks"]:
        log.warning(
            "the index is empty: run `iom-assistant ingest` so the assistant has documents to answer from"
        )
    conversations = ConversationStore.from_settings(settings)
    conversations.forget_expired()  # the retention, now; and a file it cannot read stops us here
    app = create_app(settings, service, conversations=conversations)
    uvicorn.run(app, host=host, port=port, log_level="info", **server_options(settings))


class ServerOptions(TypedDict):
    root_path: str
    proxy_headers: bool
    timeout_graceful_shutdown: int


def server_options(settings: Settings) -> ServerOptions:
    """uvicorn's options for the app (for `serve` and for tests that run a real server)."""
    return {
        "root_path": settings.root_path,
        # The door checks the connection's own address against TRUSTED_PROXIES; uvicorn would
        # replace it with the client's X-Forwarded-For.
        "proxy_headers": False,
        "timeout_graceful_shutdown": 5,
    }


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse a user header believed from any proxy on a public bind; warn when a server bound
    beyond loopback lets everyone in."""
    if _loopback(host):
        return
    if settings.trusted_user_header and "trusted_proxies" not in settings.model_fields_set:
        raise ConfigurationError(
            f"IOM_ASSISTANT_TRUSTED_USER_HEADER is set and the server binds {host}: set "
            "IOM_ASSISTANT_TRUSTED_PROXIES to the address of the proxy that signs users in, "
            "so no other client can claim to be a user"
        )
    if not Door.from_settings(settings).locked:
        log.warning(
            "the server binds %s with no sign-in: anyone who reaches it can ask and read the documents. "
            "Set IOM_ASSISTANT_API_KEYS, IOM_ASSISTANT_UI_AUTH or IOM_ASSISTANT_TRUSTED_USER_HEADER.",
            host,
        )


def with_allowed_hosts(settings: Settings, host: str) -> Settings:
    """Settings whose ALLOWED_HOSTS, when unset, are the loopback names and the bound address
    (a page on another site that rebinds its own name to 127.0.0.1 then gets 400). A server bound
    to every interface cannot know its names: it warns instead."""
    if settings.allowed_hosts:
        return settings
    if host in ("0.0.0.0", "::", ""):
        log.warning(
            "the server binds every interface and IOM_ASSISTANT_ALLOWED_HOSTS is unset: any Host "
            "header is served. Set it to the names users reach the server by."
        )
        return settings
    names = ("localhost", "127.0.0.1", "::1", "[::1]", host)
    return settings.model_copy(update={"allowed_hosts": tuple(dict.fromkeys(names))})


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _gradio_app(app: FastAPI) -> object:
    """The Gradio app mounted at the root (its sessions tell who signed in to the chat)."""
    for route in app.router.routes:
        if isinstance(route, Mount) and route.path == "":
            return route.app
    raise RuntimeError("the chat is not mounted")


def _in_event_loop(build: Callable[[], T]) -> T:
    """Run `build` inside a running event loop.

    Gradio makes each of its asyncio locks with `new_event_loop()` when none is running
    and never closes those loops; built inside a short-lived loop, it leaks nothing
    (locks bind to a loop only when first awaited).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:

        async def inside() -> T:
            return build()

        return asyncio.run(inside())
    return build()


def _swagger_assets() -> Path | None:
    """Swagger UI's files as shipped by the fastapi-offline package, so /api/docs needs no CDN."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    assets = Path(fastapi_offline.__file__).parent / "static"
    return assets if (assets / "swagger-ui-bundle.js").is_file() else None


def _serve_docs_offline(app: FastAPI, assets: Path) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount(f"{API_PREFIX}/docs/assets", StaticFiles(directory=assets), name="swagger-assets")

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{API_PREFIX}/openapi.json",
            title=API_TITLE,
            swagger_js_url=f"{root}{API_PREFIX}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{API_PREFIX}/docs/assets/swagger-ui.css",
            swagger_favicon_url=f"{root}{API_PREFIX}/docs/assets/favicon.png",
        )


def _version() -> str:
    try:
        return version("iom-assistant")
    except PackageNotFoundError:
        return "0"
