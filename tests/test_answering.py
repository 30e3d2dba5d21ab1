"""Answering over a real index of the seed article: extractive answers, refusal, follow-ups, bad input."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.conversation import is_follow_up, standalone_question
from assistant.errors import IndexUnavailableError, InvalidQuestionError
from assistant.filters import ChunkFilter
from assistant.index import Index
from assistant.service import AssistantService
from assistant.settings import Settings, load_settings
from ingest.pipeline import IngestOptions, Ingestor
from tests.conftest import SEED

pytestmark = pytest.mark.integration

BUDVA = "When did IOM organize the meeting of the Heads of Border Police in Budva?"


def build_index(settings: Settings, *paths: Path) -> None:
    index = Index.from_settings(settings)
    Ingestor(index, IngestOptions.from_settings(settings, progress=False)).run(list(paths))
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
    assert answer.answer.startswith("I could not find this in the IOM documents.")
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

    # a follow-up of function words only, and a Spanish one opening with "¿Y"
    assert "Border Police" in service.ask("When was it done?", history=history).standalone_question
    assert "Border Police" in service.ask("¿Y quién lo financió?", history=history).standalone_question
    assert "Border Police" in service.ask("Qui l'a financé ?", history=history).standalone_question
    with pytest.raises(InvalidQuestionError):
        service.ask("When was it done?")  # nothing to read it against
    with pytest.raises(InvalidQuestionError):
        service.ask("???", history=history)  # no words at all


@pytest.mark.parametrize(
    ("question", "points_back"),
    [
        ("Who funded them?", True),
        ("Qui l'a financé ?", True),  # the object pronoun before the verb
        ("Quel était son budget ?", True),
        ("¿Quién la dirigió?", True),
        ("¿Cuál fue su presupuesto?", True),
        ("Kush e financoi?", True),
        ("Sa kushtoi projekti i tij?", True),
        ("Who funded the Budva meeting?", False),
        ("Qui a financé le projet binational ?", False),
        ("¿Quién financió el proyecto Voces del Territorio?", False),
        # Albanian repeats a named object before the verb: "e" here points at "nismën"
        ("Kush e financoi nismën e Standardit?", False),
        ("Sa ankesa regjistroi OIM në vitin 2023?", False),  # "sa" asks how many
        # longer questions point back by an opening "and" or a demonstrative before a noun
        ("¿Qué porcentaje de los miembros encuestados dijo sentirse implicado en esos proyectos?", True),
        ("Quel soutien l'OIM a-t-elle réaffirmé à cette occasion en matière de retour ?", True),
        ("And what did the evaluators conclude about the indicators of the Ethiopia case study?", True),
        ("What did the evaluation report that covered Ethiopia recommend on AAP staffing?", False),
        ("How many migrants died this year on the central Mediterranean route?", False),
    ],
)
def test_follow_ups_are_recognised_in_each_language(question: str, points_back: bool) -> None:
    assert is_follow_up(question) is points_back


def test_a_follow_up_naming_its_own_place_or_year_asks_about_it_instead() -> None:
    ethiopia = [("user", "When did the evaluation team visit Ethiopia?"), ("assistant", "In February 2024.")]
    assert standalone_question("And the one in Türkiye?", ethiopia) == (
        "And the one in Türkiye? (When did the evaluation team visit)"
    )
    assert "Ethiopia" in standalone_question("And who funded it?", ethiopia), "nothing named instead"
    asked = "¿Cuántas solicitudes atendió el centro en 2023 en la República Dominicana?"
    requests = [("user", asked), ("assistant", "")]
    assert standalone_question("¿Y en 2024?", requests) == (
        "¿Y en 2024? (¿Cuántas solicitudes atendió el centro en en la República Dominicana)"
    )
    assert "Dominicana" not in standalone_question("¿Y en Haití?", requests)


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
    service = AssistantService(settings)
    with pytest.raises(IndexUnavailableError, match="iom-assistant ingest"):
        service.ask(BUDVA)
    with pytest.raises(IndexUnavailableError, match="iom-assistant ingest"):  # as the refits read it
        service.select(BUDVA)


def test_a_question_the_documents_do_not_answer_is_refused_saying_what_is_missing(
    service: AssistantService,
) -> None:
    """The seed article tells when and where the Budva meeting was, not how many attended, and
    nothing of 2023: the reply says so, and lists the closest passages to check."""
    counted = service.ask("How many participants attended the Heads of Border Police meeting in Budva?")
    assert counted.refused and counted.citations == []
    assert "do not state a number" in counted.answer, counted.answer
    assert counted.retrieved, "the closest passages are listed"
    other_year = service.ask("Where did the Heads of Border Police meet in 2023?")
    assert other_year.refused and "“2023”" in other_year.answer, other_year.answer
    dated = service.ask(BUDVA)
    assert not dated.refused and "June 14 and 15, 2022" in dated.answer


def test_a_spanish_question_finds_the_english_article(service: AssistantService) -> None:
    question = "¿Quién financió los proyectos regionales de la reunión de Budva?"
    assert {"funded", "projects", "meeting"} <= set(service.retriever.gloss(question).added)
    answer = service.ask(question)
    assert not answer.refused, answer.answer
    assert answer.citations[0].source_id == SEED.name
    assert any("Denmark" in r.text for r in answer.retrieved[:2])
