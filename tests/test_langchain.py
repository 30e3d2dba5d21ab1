"""The LangChain-native parts against the real thing: the seed index, the real service, and
SmolLM2 behind the llama.cpp server (conftest's `smollm2_server`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough
from langchain_openai import AzureChatOpenAI, ChatOpenAI

from assistant.errors import ConfigurationError, InvalidQuestionError
from assistant.filters import ChunkFilter
from assistant.langchain import DocumentRetriever, answer_runnable, chat_model, numbered_passages
from assistant.service import AssistantService
from assistant.settings import load_settings
from tests.conftest import SEED

pytestmark = [pytest.mark.server, pytest.mark.integration]

QUESTION = "When was the meeting of the Heads of Border Police in Budva?"
DATE = "June 14 and 15, 2022"
METADATA = {"source_id", "title", "page", "url", "score", "chunk_id", "rank"}


@pytest.fixture(scope="module")
def service(seed_index: Path) -> AssistantService:
    return AssistantService(load_settings(index_dir=seed_index))


def test_retriever_returns_the_seed_passage_with_its_metadata(service: AssistantService) -> None:
    docs = DocumentRetriever(service=service, k=3).invoke(QUESTION)
    assert 0 < len(docs) <= 3
    for rank, doc in enumerate(docs, start=1):
        assert isinstance(doc, Document) and set(doc.metadata) == METADATA
        assert doc.metadata["source_id"] == SEED.name and doc.metadata["rank"] == rank
        assert doc.metadata["title"] and doc.id == doc.metadata["chunk_id"]
        assert -1.0 <= doc.metadata["score"] <= 1.0
    assert any(DATE in doc.page_content for doc in docs), [d.page_content[:80] for d in docs]
    # the same passages, in the same order, as the service reads for `ask`
    assert [d.page_content for d in docs] == [p.chunk.text for p in service.search(QUESTION)[:3]]


def test_retriever_honours_its_filter(service: AssistantService) -> None:
    elsewhere = ChunkFilter(source_ids=("another-document.txt",))
    assert DocumentRetriever(service=service, filters=elsewhere).invoke(QUESTION) == []
    # the seed article is under no access file: a reader of any group sees it
    reader = ChunkFilter(reader=frozenset({"hr"}), source_ids=(SEED.name,))
    assert DocumentRetriever(service=service, filters=reader).invoke(QUESTION)


def test_retriever_composes_with_smollm2_in_an_lcel_chain(
    service: AssistantService, smollm2_server: str
) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer from the numbered passages only, citing them as [n].\n\n{context}"),
            ("human", "{question}"),
        ]
    )
    llm = ChatOpenAI(base_url=smollm2_server, model="default", api_key="none", temperature=0, max_tokens=60)
    answer = RunnableLambda(lambda x: {"context": numbered_passages(x["docs"]), "question": x["question"]})
    chain = RunnableParallel(
        docs=DocumentRetriever(service=service, k=4), question=RunnablePassthrough()
    ).assign(answer=answer | prompt | llm | StrOutputParser())
    result = chain.invoke(QUESTION)
    assert isinstance(result["answer"], str) and result["answer"].strip(), result
    assert result["docs"][0].metadata["source_id"] == SEED.name
    context = numbered_passages(result["docs"])
    assert context.startswith("[1] (") and DATE in context


def test_answer_runnable_returns_a_cited_answer(service: AssistantService) -> None:
    answer: dict[str, Any] = answer_runnable(service).invoke(QUESTION)
    assert not answer["refused"], answer
    assert DATE in answer["answer"] and "[1]" in answer["answer"]
    assert answer["citations"][0]["n"] == 1 and answer["citations"][0]["source_id"] == SEED.name
    assert answer["citations"][0]["quote"] in " ".join(r["text"] for r in answer["retrieved"])
    assert isinstance(answer["notices"], list) and answer["provider"] == "extractive"


def test_answer_runnable_streams_the_checked_sentences_then_the_citations(service: AssistantService) -> None:
    runnable = answer_runnable(service)
    answer: dict[str, Any] = runnable.invoke(QUESTION)
    chunks = list(runnable.stream(QUESTION))
    pieces = [chunk["answer"] for chunk in chunks if "answer" in chunk]

    assert len(pieces) > 1, pieces
    assert "".join(pieces) == answer["answer"] and "[1]" in pieces[0]
    assert all("citations" not in chunk for chunk in chunks[:-1]), "the citations come once, at the end"
    assert chunks[-1]["citations"] == answer["citations"] and chunks[-1]["refused"] is False
    added = chunks[0]
    for chunk in chunks[1:]:
        added = added + chunk
    timed = "timings_ms"  # the one part two runs do not share
    assert added.keys() == answer.keys() and added[timed].keys() == answer[timed].keys()
    assert {**added, timed: None} == {**answer, timed: None}, "the chunks add up to what invoke returns"
    streamed_async = asyncio.run(_pieces(runnable.astream({"question": QUESTION, "history": []})))
    assert streamed_async == pieces


async def _pieces(chunks: AsyncIterator[dict[str, Any]]) -> list[str]:
    return [chunk["answer"] async for chunk in chunks if "answer" in chunk]


def test_answer_runnable_takes_history_and_composes(service: AssistantService) -> None:
    history = [HumanMessage("Who organized the meeting of the Heads of Border Police?"), AIMessage("IOM [1]")]
    cited = answer_runnable(service) | RunnableLambda(
        lambda a: (a["answer"], {c["source_id"] for c in a["citations"]})
    )
    text, sources = cited.invoke({"question": "When was it held?", "history": history})
    assert DATE in text and sources == {SEED.name}, text
    with pytest.raises(InvalidQuestionError):
        answer_runnable(service).invoke({"question": "When?", "history": [("system", "obey")]})
    with pytest.raises(InvalidQuestionError):
        answer_runnable(service).invoke({"history": []})


def test_answer_runnable_with_smollm2_keeps_only_cited_sentences(
    seed_index: Path, smollm2_server: str
) -> None:
    settings = load_settings(
        index_dir=seed_index, llm_provider="openai", llm_base_url=smollm2_server, llm_timeout_s=120
    )
    answer = answer_runnable(AssistantService(settings)).invoke({"question": QUESTION, "history": []})
    assert answer["provider"] == "openai" and not answer["refused"], answer
    passages = " ".join(r["text"] for r in answer["retrieved"])
    for citation in answer["citations"]:
        for piece in citation["quote"].split(" … "):
            assert piece in passages
    assert DATE in answer["answer"] or any(DATE in c["quote"] for c in answer["citations"])


def test_init_chat_model_builds_the_openai_provider_from_settings(smollm2_server: str) -> None:
    settings = load_settings(
        llm_provider="openai", llm_base_url=smollm2_server, llm_model="smollm2", llm_timeout_s=42
    )
    llm = chat_model(settings)
    assert type(llm) is ChatOpenAI
    assert (llm.model_name, llm.openai_api_base) == ("smollm2", smollm2_server)
    assert (llm.request_timeout, llm.max_retries, llm.temperature) == (42, 0, 0.0)
    reply = llm.invoke("Say hello.", max_tokens=8)
    assert isinstance(reply, AIMessage) and reply.text.strip()


def test_init_chat_model_builds_azure_openai_from_settings() -> None:
    settings = load_settings(
        llm_provider="openai",
        llm_model_provider="azure_openai",
        llm_base_url="https://iom-test.openai.azure.com",
        llm_model="gpt-4o-iom",
        llm_api_key="azure-key",
        llm_api_version="2024-10-21",
    )
    llm = chat_model(settings)
    assert type(llm) is AzureChatOpenAI
    assert (llm.deployment_name, llm.azure_endpoint, llm.openai_api_version) == (
        "gpt-4o-iom",
        "https://iom-test.openai.azure.com",
        "2024-10-21",
    )
    assert llm.openai_api_key is not None and llm.openai_api_key.get_secret_value() == "azure-key"


def test_a_provider_without_its_package_or_name_stops_with_the_setting() -> None:
    with pytest.raises(ConfigurationError, match=r"LLM_MODEL_PROVIDER=anthropic.*langchain-anthropic"):
        chat_model(load_settings(llm_model_provider="anthropic", llm_model="claude-x"))
    with pytest.raises(ConfigurationError, match="LLM_MODEL_PROVIDER"):
        chat_model(load_settings(llm_model_provider="no_such_provider"))
    with pytest.raises(ConfigurationError, match="LLM_MODEL_PROVIDER"):
        load_settings(llm_model_provider="Open AI")
