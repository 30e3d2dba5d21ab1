"""Answering over a real index of the seed article: extractive answers, refusal, follow-ups, bad input."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.errors import IndexUnavailableError, InvalidQuestionError
from assistant.index import Index
from assistant.service import AssistantService
from assistant.settings import Settings, load_settings
from assistant.store import ChunkFilter
from ingest.chunking import ChunkSizing
from ingest.pipeline import IngestOptions, Ingestor
from tests.conftest import SEED

pytestmark = pytest.mark.integration

BUDVA = "When did IOM organize the meeting of the Heads of Border Police in Budva?"


def build_index(settings: Settings, *paths: Path) -> None:
    index = Index.from_settings(settings)
    Ingestor(index, IngestOptions(sizing=ChunkSizing(max_tokens=0), progress=False)).run(list(paths))
    index.manifest.close()


@pytest.fixture(scope="module")
def seed_settings(tmp_path_factory: pytest.TempPathFactory, shared_corpus: Path) -> Settings:
    root = tmp_path_factory.mktemp("seed")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus)
    shutil.copy(
        shared_corpus / "iom" / "IOM_HTCDS_Guidance_Migration_and_International_Protection.md", corpus
    )
    settings = load_settings(index_dir=root / "index", corpus_dir=corpus)
    build_index(settings, corpus)
    return settings


@pytest.fixture(scope="module")
def service(seed_settings: Settings) -> Iterator[AssistantService]:
    svc = AssistantService(seed_settings)
    yield svc
    svc.index.manifest.close()


def test_budva_question_is_answered_with_a_verifiable_citation(service: AssistantService) -> None:
    answer = service.ask(BUDVA)
    assert not answer.refused
    assert "June 14 and 15, 2022" in answer.answer
    assert answer.citations, "an answer without citations"
    cited = [c for c in answer.citations if "June 14 and 15, 2022" in c.quote]
    assert cited and cited[0].source_id == SEED.name
    assert f"[{cited[0].n}]" in answer.answer
    for citation in answer.citations:
        passage_texts = [r.text for r in answer.retrieved if r.source_id == citation.source_id]
        for piece in citation.quote.split(" … "):
            assert any(piece in text for text in passage_texts), "a quote must be passage text"
    assert set(answer.timings_ms) == {"retrieve", "answer", "total"}


def test_every_answer_sentence_is_verbatim_from_its_cited_passage(service: AssistantService) -> None:
    for question in (BUDVA, "Which projects was the meeting organized under?", "Who is a refugee?"):
        answer = service.ask(question)
        if answer.refused:
            continue
        by_n = {c.n: c.quote for c in answer.citations}
        assert by_n
        import re

        for sentence, numbers in re.findall(r"(.+?)\s((?:\[\d+\])+)(?:\s|$)", answer.answer):
            for n in re.findall(r"\d+", numbers):
                assert sentence.strip() in by_n[int(n)]


def test_out_of_corpus_question_is_refused_with_closest_sources(service: AssistantService) -> None:
    answer = service.ask("Who won the 2022 football World Cup?")
    assert answer.refused
    assert answer.answer == "I could not find this in the IOM documents."
    assert answer.citations == []
    assert answer.retrieved, "the closest sources are still shown"


def test_follow_up_question_uses_the_conversation(service: AssistantService) -> None:
    history = [("user", BUDVA), ("assistant", service.ask(BUDVA).answer)]
    answer = service.ask("and who funded it?", history=history)
    assert not answer.refused
    assert "Denmark" in answer.answer
    assert "Border Police" in answer.standalone_question
    assert service.ask("and who funded it?").standalone_question == "and who funded it?"

    history += [("user", "and who funded it?"), ("assistant", answer.answer)]
    third = service.ask("and which border police delegations took part?", history=history)
    assert "Border Police" in third.standalone_question
    assert "North Macedonia" in third.answer


def test_metadata_filter_restricts_sources(service: AssistantService) -> None:
    only_md = ChunkFilter(formats=("markdown",))
    answer = service.ask(BUDVA, filters=only_md)
    assert all(r.source_id.endswith(".md") for r in answer.retrieved)
    assert "June 14 and 15, 2022" not in answer.answer


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("x" * 20_000, "20000 characters"),
        ("When was the meeting?\x00\x07", "control characters"),
        ("?!?", "no words"),
    ],
)
def test_bad_questions_get_a_clear_error(service: AssistantService, question: str, words: str) -> None:
    with pytest.raises(InvalidQuestionError, match=words):
        service.ask(question)


def test_empty_index_says_how_to_ingest(tmp_path: Path) -> None:
    settings = load_settings(index_dir=tmp_path / "empty-index", embedding_model="hash-256")
    with pytest.raises(IndexUnavailableError, match="iom-assistant ingest"):
        AssistantService(settings).ask(BUDVA)


@pytest.mark.unit
def test_sentences_are_told_apart_by_the_kind_of_fact_asked() -> None:
    from assistant.answering.extractive import _holds, _wanted_kind

    count = "How many participants attended the meeting in Budva in June 2022?"
    assert _wanted_kind(count) == "number"
    assert not _holds("number", "On June 14 and 15, 2022, IOM organized a meeting in Budva.", count)
    assert _holds("number", "The meeting brought together 45 participants.", count)
    budget = "What was the budget of the Joint Initiative?"
    assert _wanted_kind(budget) == "amount"
    assert _holds("amount", "Budget: EUR 64.7 million", budget)
    assert not _holds("amount", "The budget covered 2017 to 2022.", budget)
    when = "When did the evaluation start in 2023?"
    assert _wanted_kind(when) == "date"
    assert not _holds("date", "The evaluation of 2023 was led by PPMI.", when), "the question's own year"
    assert _holds("date", "Data collection began on 3 March 2023.", when)
    assert _holds("number", "A hotline in five languages.", "In how many languages does it run?")
    assert _wanted_kind("What credit line must users include when using HTCDS materials?") is None
    assert _wanted_kind("And when was it founded?") == "date"


def test_an_answer_that_lacks_the_asked_kind_of_fact_says_so(service: AssistantService) -> None:
    """The seed article tells when and where the Budva meeting was, not how many attended: the
    closest sentences come with a notice that none of them states a number."""
    counted = service.ask("How many participants attended the Heads of Border Police meeting in Budva?")
    assert not counted.refused, "the topic is in the article: its closest sentences are shown"
    assert any("asks for a number" in n for n in counted.notices), counted.notices
    assert "June 14 and 15, 2022" in counted.answer
    dated = service.ask(BUDVA)
    assert not dated.refused and not any("asks for" in n for n in dated.notices)
