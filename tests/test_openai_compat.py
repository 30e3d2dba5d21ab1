"""The OpenAI-compatible endpoint (`/v1/*`) against the real server (uvicorn on loopback), called
with the official `openai` package and LangChain's `ChatOpenAI`, over the small web index (the
seed article and one more document)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import openai
import pytest
from _web_corpus import BUDVA_DATE, BUDVA_QUESTION, OUT_OF_CORPUS_QUESTION, build_web_index
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI
from openai import OpenAI

from assistant.answer import REFUSAL_TEXT
from assistant.settings import PROVIDERS, Settings
from tests.conftest import ServerThread, clean_environment, free_port
from ui.openai_compat import model_id

pytestmark = [pytest.mark.integration, pytest.mark.server]

KEY = "k-openai"
AUTH = {"Authorization": f"Bearer {KEY}"}
MODEL = model_id("extractive")
FOLLOW_UP = "and who funded it?"
TIMEOUT = 120  # seconds: a busy CI machine answers slowly


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server that takes an API key, with one question at a time per client."""
    with clean_environment():
        settings: Settings = build_web_index(
            tmp_path_factory.mktemp("openai"), api_keys=(KEY,), max_questions_per_client=1
        )
        with ServerThread(settings, free_port()) as running:
            yield running.url.rstrip("/")


@pytest.fixture
def client(server: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{server}/v1", api_key=KEY, max_retries=0, timeout=TIMEOUT) as sdk:
        yield sdk


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _api_ask(server: str, question: str, history: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """The answer object of `/api/ask`, to compare with."""
    body = {"question": question, "history": list(history)}
    response = httpx.post(f"{server}/api/ask", json=body, headers=AUTH, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The OpenAI error object of a response, checked for its shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"] and "Traceback" not in error["message"]
    assert isinstance(error["type"], str) and isinstance(error["code"], str)
    return error


# -- answers --------------------------------------------------------------------------------


def test_models_lists_one_model_per_provider_the_default_first(client: OpenAI) -> None:
    ids = [model.id for model in client.models.list()]

    assert ids[0] == MODEL, "the server's default provider comes first"
    assert sorted(ids) == sorted(model_id(p) for p in PROVIDERS)


def test_a_completion_is_the_api_answer_with_the_same_citations(server: str, client: OpenAI) -> None:
    """Unknown fields (temperature, max_tokens, a vendor's own) are accepted and ignored; a system
    message is not the question."""
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "You are a helpful assistant."}, _user(BUDVA_QUESTION)],
        temperature=0.2,
        max_tokens=5,
        user="someone",
        extra_body={"vendor_option": True},
    )
    api = _api_ask(server, BUDVA_QUESTION)

    message = completion.choices[0].message
    extra = message.model_extra or {}
    assert completion.object == "chat.completion" and completion.model == MODEL
    assert completion.choices[0].finish_reason == "stop"
    assert message.role == "assistant"
    assert "[1]" in (message.content or "")
    assert message.content == api["answer"]
    assert extra["citations"] == api["citations"], "the very citation objects of /api/ask"
    assert any(BUDVA_DATE in c["quote"] for c in extra["citations"])
    assert extra["refused"] is False
    assert extra["notices"] == api["notices"]
    assert (completion.model_extra or {})["citations"] == api["citations"]


def test_text_content_parts_are_read_as_the_question(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": [{"type": "text", "text": BUDVA_QUESTION}]}]
    )

    message = completion.choices[0].message
    assert BUDVA_DATE in (message.content or "") and "[1]" in (message.content or "")


def test_a_question_the_documents_do_not_answer_is_refused_without_citations(client: OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=[_user(OUT_OF_CORPUS_QUESTION)])

    message = completion.choices[0].message
    extra = message.model_extra or {}
    assert (message.content or "").startswith(REFUSAL_TEXT)
    assert extra["refused"] is True
    assert extra["citations"] == []
    assert extra["notices"], "the refusal says where the closest passages are"


def test_streamed_text_is_the_plain_answer_and_the_citations_come_once_at_the_end(client: OpenAI) -> None:
    plain = client.chat.completions.create(model=MODEL, messages=[_user(BUDVA_QUESTION)])
    chunks = list(client.chat.completions.create(model=MODEL, messages=[_user(BUDVA_QUESTION)], stream=True))

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == plain.choices[0].message.content
    assert sum(bool(chunk.choices[0].delta.content) for chunk in chunks) > 3, "the text comes in pieces"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk.id for chunk in chunks}) == 1

    with_sources = [
        i
        for i, chunk in enumerate(chunks)
        if "citations" in (chunk.choices[0].delta.model_extra or {})
        or "citations" in (chunk.model_extra or {})
    ]
    assert with_sources == [len(chunks) - 1], "citations travel once, in the last chunk"
    assert [chunk.choices[0].finish_reason for chunk in chunks] == [None] * (len(chunks) - 1) + ["stop"]
    last = chunks[-1].choices[0].delta.model_extra or {}
    expected = plain.choices[0].message.model_extra or {}
    assert last["citations"] == expected["citations"] and last["citations"]
    assert last["refused"] is False and last["notices"] == expected["notices"]


def test_the_stream_is_server_sent_events_ending_with_done(server: str) -> None:
    body = {"model": MODEL, "messages": [_user(BUDVA_QUESTION)], "stream": True}
    with httpx.stream(
        "POST", f"{server}/v1/chat/completions", json=body, headers=AUTH, timeout=TIMEOUT
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = response.read().decode().strip().split("\n\n")

    assert all(event.startswith("data: ") for event in events), events
    assert events[-1] == "data: [DONE]"
    assert events.count("data: [DONE]") == 1
    assert all(json.loads(event[6:])["object"] == "chat.completion.chunk" for event in events[:-1])


def _rate(server: str, answer_id: str, question: str, answer: str) -> httpx.Response:
    body = {"answer_id": answer_id, "question": question, "answer": answer, "rating": "up"}
    return httpx.post(f"{server}/api/feedback", json=body, headers=AUTH, timeout=TIMEOUT)


def test_the_answer_id_of_a_completion_rates_it_through_api_feedback(server: str, client: OpenAI) -> None:
    """Plain and streamed, the id is /api/ask's own; /api/feedback takes it and still refuses a
    made-up one. The question goes back as the server read it (trimmed)."""
    plain = client.chat.completions.create(model=MODEL, messages=[_user(f"  {BUDVA_QUESTION}\n")])
    chunks = list(client.chat.completions.create(model=MODEL, messages=[_user(BUDVA_QUESTION)], stream=True))
    api = _api_ask(server, BUDVA_QUESTION)

    message = plain.choices[0].message
    extra = message.model_extra or {}
    last = chunks[-1].choices[0].delta.model_extra or {}
    assert extra["question"] == last["question"] == BUDVA_QUESTION
    assert extra["answer_id"] == last["answer_id"] == api["answer_id"] and len(api["answer_id"]) == 32
    assert not any("answer_id" in (c.choices[0].delta.model_extra or {}) for c in chunks[:-1])

    rated = _rate(server, extra["answer_id"], extra["question"], message.content or "")
    assert rated.status_code == 201, rated.text
    made_up = _rate(server, "0" * 32, extra["question"], message.content or "")
    assert made_up.status_code == 422 and made_up.json()["error"] == "unknown_answer"
    edited = _rate(server, extra["answer_id"], extra["question"], f"{message.content} (edited)")
    assert edited.status_code == 422, "the id holds only for the answer as given"


def test_a_follow_up_is_answered_from_the_earlier_messages(server: str, client: OpenAI) -> None:
    first = client.chat.completions.create(model=MODEL, messages=[_user(BUDVA_QUESTION)])
    history = [
        _user(BUDVA_QUESTION),
        {"role": "assistant", "content": first.choices[0].message.content or ""},
    ]

    follow_up = client.chat.completions.create(model=MODEL, messages=[*history, _user(FOLLOW_UP)])
    api = _api_ask(server, FOLLOW_UP, history)

    message = follow_up.choices[0].message
    assert "Denmark" in (message.content or "")
    assert message.content == api["answer"]
    assert (message.model_extra or {})["citations"] == api["citations"]
    alone = client.chat.completions.create(model=MODEL, messages=[_user(FOLLOW_UP)])
    assert alone.choices[0].message.content == _api_ask(server, FOLLOW_UP)["answer"]
    assert alone.choices[0].message.content != message.content, "without history the question differs"


def test_langchain_chat_openai_gets_cited_answers_plain_streamed_and_with_history(server: str) -> None:
    chat = ChatOpenAI(base_url=f"{server}/v1", api_key=KEY, model=MODEL, max_retries=0, timeout=TIMEOUT)

    reply = chat.invoke(BUDVA_QUESTION)
    streamed = "".join(str(chunk.content) for chunk in chat.stream(BUDVA_QUESTION))
    follow_up = chat.invoke([HumanMessage(BUDVA_QUESTION), AIMessage(reply.content), HumanMessage(FOLLOW_UP)])

    assert reply.content == _api_ask(server, BUDVA_QUESTION)["answer"]
    assert "[1]" in str(reply.content) and BUDVA_DATE in str(reply.content)
    assert streamed == reply.content
    assert "Denmark" in str(follow_up.content) and "[1]" in str(follow_up.content)


# -- the door, limits and errors ------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}])
def test_without_a_valid_key_the_v1_routes_are_an_openai_401(server: str, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=server, headers=headers, timeout=TIMEOUT) as raw:
        listing = raw.get("/v1/models")
        asking = raw.post("/v1/chat/completions", json={"model": MODEL, "messages": [_user(BUDVA_QUESTION)]})
        api = raw.post("/api/ask", json={"question": BUDVA_QUESTION})

    for response in (listing, asking):
        error = _openai_error(response, 401)
        assert error["type"] == "authentication_error" and error["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    assert api.status_code == 401 and set(api.json()) == {"error", "detail"}, "/api keeps its own shape"


def test_the_openai_package_raises_its_authentication_error_for_a_wrong_key(server: str) -> None:
    with OpenAI(base_url=f"{server}/v1", api_key="wrong", max_retries=0, timeout=TIMEOUT) as sdk:
        with pytest.raises(openai.AuthenticationError) as raised:
            sdk.chat.completions.create(model=MODEL, messages=[_user(BUDVA_QUESTION)])
        with pytest.raises(openai.AuthenticationError):
            sdk.models.list()

    assert raised.value.status_code == 401
    assert raised.value.code == "unauthorized" and raised.value.type == "authentication_error"


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        (
            {"model": MODEL, "messages": [{"role": "system", "content": "Be brief."}]},
            "no_question",
            "messages",
        ),
        ({"model": "gpt-4o", "messages": [_user(BUDVA_QUESTION)]}, "model_not_found", "model"),
        ({"model": MODEL}, "invalid_request", "messages"),
        ({"model": MODEL, "messages": []}, "invalid_request", "messages"),
        (
            {"model": MODEL, "messages": [{"role": "wizard", "content": "hi"}]},
            "invalid_request",
            "messages.0.role",
        ),
        ({"model": MODEL, "messages": [_user("   ")]}, "invalid_question", None),
        ({"model": MODEL, "messages": [_user("?!.")], "stream": True}, "invalid_question", None),
        (
            {
                "model": MODEL,
                "messages": [_user("x" * 20_001), {"role": "assistant", "content": "a"}, _user("Budva?")],
            },
            "invalid_request",
            "messages",
        ),
    ],
)
def test_bad_requests_are_an_openai_400(
    server: str, body: dict[str, Any], code: str, param: str | None
) -> None:
    response = httpx.post(f"{server}/v1/chat/completions", json=body, headers=AUTH, timeout=TIMEOUT)

    error = _openai_error(response, 400)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code and error["param"] == param, error


def test_a_body_that_is_not_json_is_an_openai_400(client: OpenAI, server: str) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    response = httpx.post(f"{server}/v1/chat/completions", content=b"{not json", headers=headers)
    assert _openai_error(response, 400)["code"] == "invalid_json"

    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[_user(BUDVA_QUESTION)])
    assert raised.value.code == "model_not_found" and raised.value.param == "model"


def test_an_oversized_body_is_an_openai_413(server: str) -> None:
    body = {"model": MODEL, "messages": [_user("x" * 70_000)]}
    response = httpx.post(f"{server}/v1/chat/completions", json=body, headers=AUTH, timeout=TIMEOUT)

    error = _openai_error(response, 413)
    assert error["code"] == "payload_too_large" and error["type"] == "invalid_request_error"


def test_a_provider_that_is_not_configured_is_an_openai_503(client: OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model=model_id("openai"), messages=[_user(BUDVA_QUESTION)])

    assert raised.value.status_code == 503
    assert raised.value.code == "not_configured" and raised.value.type == "server_error"
    assert "IOM_ASSISTANT" not in raised.value.message, "a 5xx names no settings"


def test_one_client_past_its_question_limit_gets_an_openai_429(server: str) -> None:
    """The same per-client cap as /api/ask (one at a time on this server)."""

    async def burst() -> list[int | Exception]:
        async with openai.AsyncOpenAI(
            base_url=f"{server}/v1", api_key=KEY, max_retries=0, timeout=TIMEOUT
        ) as sdk:
            asks = [
                sdk.chat.completions.create(model=MODEL, messages=[_user(BUDVA_QUESTION)]) for _ in range(6)
            ]
            results = await asyncio.gather(*asks, return_exceptions=True)
        return [200 if isinstance(r, openai.types.chat.ChatCompletion) else r for r in results]

    results = asyncio.run(burst())

    limited = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert 200 in results and limited, results
    assert all(r == 200 or isinstance(r, openai.RateLimitError) for r in results), results
    assert all(r.code == "too_many_questions" and r.type == "rate_limit_error" for r in limited)
    assert all(r.response.headers["retry-after"] == "5" for r in limited)


def test_unknown_v1_routes_are_openai_errors(server: str) -> None:
    with httpx.Client(base_url=server, headers=AUTH, timeout=TIMEOUT) as raw:
        assert _openai_error(raw.get("/v1/embeddings"), 404)["code"] == "not_found"
        assert _openai_error(raw.get("/v1/chat/completions"), 405)["code"] == "method_not_allowed"
