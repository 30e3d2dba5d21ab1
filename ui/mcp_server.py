"""The MCP (Model Context Protocol) server: tools `search_documents` and `ask` over the one
`AssistantService`, for AI assistants that call tools. Two transports, one set of tools:

- stdio (`iom-assistant mcp`): a local user, who reads every document, as with the CLI;
- streamable HTTP at `/mcp` on the web app (ui/app.py), behind the same door, body limit and
  question limits as `/api/*`: each call reads only what its caller's groups may read.

Over HTTP the server is stateless and answers in plain JSON: every request carries its own
credentials, so no session outlives the key that opened it, and any replica can answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, replace
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.access import Reader
from assistant.errors import AssistantError
from assistant.filters import ChunkFilter
from assistant.service import AssistantService, retrieved_passage
from ui.door import Door
from ui.receipts import Receipts
from ui.schemas import Filters

MCP_PATH = "/mcp"
_INSTRUCTIONS = (
    "Answers from IOM (International Organization for Migration) documents. Use `ask` for a "
    "cited answer: keep its [n] markers and show its citations. Use `search_documents` to read "
    "the passages themselves."
)
Lifespan = Callable[[Any], AbstractAsyncContextManager[None]]  # an app's lifespan
_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def build_mcp_server(
    service: AssistantService, door: Door | None = None, receipts: Receipts | None = None
) -> MCPServer[Any]:
    """The tools over `service`. With a `door` (HTTP), each call reads what its request's groups
    may read, and a call without a request reads only everyone's documents; without one (stdio),
    the local user reads everything. With the web app's `receipts`, an answer carries the
    `answer_id` that rates it through `/api/feedback`; without (stdio), its `answer_id` is empty."""
    server: MCPServer[Any] = MCPServer("iom-assistant", instructions=_INSTRUCTIONS, log_level="WARNING")

    def reader(ctx: Context[Any, Any]) -> Reader:
        if door is None:
            return None
        request = ctx.request_context.request
        return door.reader(request) if isinstance(request, HTTPConnection) else frozenset()

    @server.tool(annotations=_READ_ONLY)
    def search_documents(
        ctx: Context[Any, Any], query: str, filters: Filters | None = None
    ) -> list[dict[str, Any]]:
        """The passages of the IOM documents that best match `query`, best first: each with its
        text, source_id, title, page, url, score and chunk_id. `filters` restrict the search to
        some documents (source ids, formats, languages, publication dates)."""
        chunk_filter = filters.to_chunk_filter() if filters is not None else ChunkFilter()
        try:
            passages = service.search(query, replace(chunk_filter, reader=reader(ctx)))
        except AssistantError as exc:
            raise ToolError(str(exc)) from exc
        return [asdict(retrieved_passage(passage)) for passage in passages]

    @server.tool(annotations=_READ_ONLY)
    def ask(ctx: Context[Any, Any], question: str) -> dict[str, Any]:
        """Answer a question from the IOM documents: `answer` holds the text with [n] markers,
        `citations` the sources they refer to (n, source_id, title, page, url, quote), `refused`
        is true when the documents do not answer it (then `retrieved` lists the closest
        passages), `notices` what the reader should know; `answer_id`, sent with `question` and
        `answer` unchanged, rates it through the web app's /api/feedback (empty over stdio)."""
        try:
            answer = service.ask(question, filters=ChunkFilter(reader=reader(ctx)))
        except AssistantError as exc:
            raise ToolError(str(exc)) from exc
        return (receipts.signed(answer) if receipts is not None else answer).to_dict()

    return server


def streamable_http(server: MCPServer[Any]) -> tuple[ASGIApp, Lifespan]:
    """The ASGI endpoint of `server` over streamable HTTP (stateless, JSON responses), and the
    lifespan that runs its session manager, for the app that mounts it.

    The SDK's own Host and Origin checks are off: the app's ALLOWED_HOSTS (TrustedHost), CORS and
    door guard every route, `/mcp` included."""
    server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await manager.handle_request(scope, receive, send)

    @asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        async with manager.run():
            yield

    return endpoint, lifespan
