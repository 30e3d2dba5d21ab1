"""The MCP server (#13 point 3), called with the official `mcp` SDK's own client: over streamable
HTTP at `/mcp` on a real server (uvicorn on loopback), behind the same door as `/api/*`, and over
stdio by launching `iom-assistant mcp` as a subprocess. The index holds the seed article and a
restricted HR note (tests/test_access.py), so a leak of the note shows in any answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from _web_corpus import BUDVA_DATE, BUDVA_QUESTION
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult

from assistant.settings import ENV_PREFIX, Settings, load_settings
from tests.conftest import REPO, SEED, ServerThread, clean_environment, free_port
from tests.test_access import FACT, HR_KEY, PLAIN_KEY, QUESTION, RESTRICTED, restricted_index

pytestmark = [pytest.mark.integration, pytest.mark.server]

Call = tuple[str, dict[str, Any]]  # a tool's name and arguments
TIMEOUT = 120  # seconds: a busy CI machine answers slowly


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The seed article and the HR note (group `hr`), and keys with and without the group."""
    with clean_environment():
        yield restricted_index(tmp_path_factory.mktemp("mcp"))


@pytest.fixture(scope="module")
def mcp_url(index: Settings) -> Iterator[str]:
    with ServerThread(index, free_port()) as running:
        yield f"{running.url}mcp"


async def _over_http(url: str, headers: dict[str, str], calls: list[Call]) -> list[CallToolResult]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=TIMEOUT) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = {tool.name for tool in (await session.list_tools()).tools}
        assert {"search_documents", "ask"} <= tools, tools
        return [await session.call_tool(name, arguments) for name, arguments in calls]


def _http(url: str, key: str, *calls: Call) -> list[CallToolResult]:
    """The calls' results, over one connection of the SDK's client with `key`."""
    return anyio.run(_over_http, url, {"Authorization": f"Bearer {key}"}, list(calls))


def _structured(result: CallToolResult) -> Any:
    """The tool's value: its structured content (a list comes wrapped as `result`)."""
    assert not result.is_error, result.content
    content = result.structured_content
    return content["result"] if set(content) == {"result"} else content


def _search(query: str, **filters: Any) -> Call:
    return "search_documents", {"query": query, "filters": filters} if filters else {"query": query}


def _ask(question: str) -> Call:
    return "ask", {"question": question}


def _assert_budva(answer: dict[str, Any]) -> None:
    """The seed question's answer cites the seed article with the meeting's dates."""
    assert not answer["refused"] and "[1]" in answer["answer"], answer
    assert answer["citations"][0]["source_id"] == SEED.name, answer["citations"]
    assert any(BUDVA_DATE in c["quote"] for c in answer["citations"]), answer["citations"]
    assert {"n", "source_id", "title", "page", "url", "quote", "score"} <= set(answer["citations"][0])
    assert isinstance(answer["notices"], list)


# -- streamable HTTP: the door and the tools ---------------------------------------------------


def test_over_http_ask_cites_the_seed_article_and_search_ranks_its_passage_first(mcp_url: str) -> None:
    answer, passages, filtered = (
        _structured(result)
        for result in _http(
            mcp_url,
            PLAIN_KEY,
            _ask(BUDVA_QUESTION),
            _search(BUDVA_QUESTION),
            _search(BUDVA_QUESTION, source_ids=["no-such-document.txt"]),
        )
    )
    _assert_budva(answer)
    assert len(answer["answer_id"]) == 32, "an answer over HTTP carries the id that rates it"
    top = passages[0]
    assert top["source_id"] == SEED.name and BUDVA_DATE in top["text"], top
    assert {"text", "source_id", "title", "page", "url", "score", "chunk_id"} <= set(top)
    assert top["chunk_id"] == answer["citations"][0]["chunk_id"]
    assert filtered == []  # the filters reach retrieval


def test_over_http_a_key_without_the_group_never_sees_the_restricted_document(mcp_url: str) -> None:
    denied_answer, denied_search = (
        _structured(r) for r in _http(mcp_url, PLAIN_KEY, _ask(QUESTION), _search(QUESTION))
    )
    assert FACT not in json.dumps(denied_answer) and "Zephyr" not in json.dumps(denied_search)
    assert RESTRICTED not in {p["source_id"] for p in denied_search + denied_answer["retrieved"]}

    allowed_answer, allowed_search = (
        _structured(r) for r in _http(mcp_url, HR_KEY, _ask(QUESTION), _search(QUESTION))
    )
    assert FACT in allowed_answer["answer"] and not allowed_answer["refused"], allowed_answer
    assert allowed_answer["citations"][0]["source_id"] == RESTRICTED
    assert allowed_search[0]["source_id"] == RESTRICTED


def test_over_http_the_answer_id_rates_the_answer_through_api_feedback(mcp_url: str) -> None:
    (result,) = _http(mcp_url, PLAIN_KEY, _ask(BUDVA_QUESTION))
    answer = _structured(result)
    feedback = mcp_url.removesuffix("mcp") + "api/feedback"
    headers = {"Authorization": f"Bearer {PLAIN_KEY}"}

    def rate(answer_id: str) -> httpx.Response:
        body = {
            "answer_id": answer_id,
            "question": answer["question"],
            "answer": answer["answer"],
            "rating": "up",
        }
        return httpx.post(feedback, json=body, headers=headers, timeout=TIMEOUT)

    assert rate(answer["answer_id"]).status_code == 201
    made_up = rate("f" * 32)
    assert made_up.status_code == 422 and made_up.json()["error"] == "unknown_answer"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_over_http_a_request_without_a_valid_key_gets_401(mcp_url: str, headers: dict[str, str]) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    response = httpx.post(mcp_url, json=body, headers=headers | accept, timeout=TIMEOUT)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"
    with pytest.raises(ExceptionGroup) as failure:  # the SDK's client cannot even initialize
        anyio.run(_over_http, mcp_url, headers, [_ask(BUDVA_QUESTION)])
    assert failure.group_contains(MCPError, depth=2), failure.value


def test_over_http_a_bad_question_is_a_tool_error_that_says_why(mcp_url: str) -> None:
    (result,) = _http(mcp_url, PLAIN_KEY, _ask("   "))
    assert result.is_error and "question" in result.content[0].text.lower(), result.content  # type: ignore[union-attr]


# -- stdio: `iom-assistant mcp`, the local user ------------------------------------------------


async def _over_stdio(settings: Settings, calls: list[Call]) -> list[CallToolResult]:
    environment = {
        f"{ENV_PREFIX}INDEX_DIR": str(settings.index_dir),
        f"{ENV_PREFIX}CORPUS_DIR": str(settings.corpus_dir),
        f"{ENV_PREFIX}FEEDBACK_DB": str(settings.feedback_db),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    command = StdioServerParameters(
        command=sys.executable, args=["-m", "assistant.cli", "mcp"], env=environment, cwd=REPO
    )
    with anyio.fail_after(TIMEOUT):
        async with stdio_client(command) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return [await session.call_tool(name, arguments) for name, arguments in calls]


def test_over_stdio_the_local_user_gets_cited_answers_from_every_document(index: Settings) -> None:
    results = anyio.run(_over_stdio, index, [_ask(BUDVA_QUESTION), _search(BUDVA_QUESTION), _ask(QUESTION)])
    budva, passages, restricted = (_structured(r) for r in results)
    _assert_budva(budva)
    assert budva["answer_id"] == "", "no web app, no /api/feedback to rate it"
    assert passages[0]["source_id"] == SEED.name and BUDVA_DATE in passages[0]["text"], passages[0]
    # Like the CLI, the local user reads the whole index, the restricted note included.
    assert FACT in restricted["answer"] and restricted["citations"][0]["source_id"] == RESTRICTED


def test_the_mcp_command_keeps_stdout_for_the_protocol(tmp_path: Path) -> None:
    """`--help` lists the command; an empty index fails a call with a message, not the process."""
    listed = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        timeout=TIMEOUT,
    )
    assert "mcp" in listed.stdout
    empty = load_settings(index_dir=tmp_path / "index", corpus_dir=tmp_path, feedback_db=tmp_path / "f.db")
    (result,) = anyio.run(_over_stdio, empty, [_ask(BUDVA_QUESTION)])
    assert result.is_error and "ingest" in result.content[0].text, result.content  # type: ignore[union-attr]
