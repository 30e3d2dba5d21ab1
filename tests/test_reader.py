"""The sentence reader over hand-made passages (the deterministic hash embedder)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answering.reader import ReaderConfig, Selection, SentenceReader
from assistant.crosslingual import Gloss
from assistant.documents import Chunk
from assistant.embedder import HashEmbedder
from assistant.lexical import LexicalIndex
from assistant.retrieval import Passage

pytestmark = pytest.mark.unit

RECORD = (
    "Title: Climate Security in the Pacific Project\n"
    "File URL: https://evaluation.iom.int/sites/docs/Final%20Evaluation_Climate%20Security.pdf\n"
    "Countries Covered: Kiribati, Marshall Islands\n"
    "Evaluation Period From Date: 2021-03-01"
)


REPORT = (
    "The evaluation of accountability to affected populations was led by Melissa Andrade Costa. "
    "It drew on a document review and on consultations in three countries. "
    "The consultations in the country offices entailed 12 interviews with key informants."
)


MEETING = (
    "Budva – On June 14 and 15, 2022, IOM organized a regional meeting of the Heads of Border Police "
    "in the Western Balkans. "
    "The meeting was organized within two regional projects funded by the Ministry of Foreign "
    "Affairs of Denmark."
)


def read(
    question: str, text: str = RECORD, config: ReaderConfig | None = None, asked: str | None = None
) -> list[str]:
    return [s.text for s in select(question, text, config, asked).sentences]


def select(
    question: str,
    text: str = RECORD,
    config: ReaderConfig | None = None,
    asked: str | None = None,
    form: str = "csv",
) -> Selection:
    chunk = Chunk(chunk_id="c", source_id=f"export.{form}", text=text, title="", format=form, ordinal=0)
    lexical = LexicalIndex()
    lexical.add([chunk])
    embedder = HashEmbedder()
    reader = SentenceReader(embedder, lexical, config)
    vector = np.asarray(embedder.embed([question])[0])
    follow_up = asked is not None
    return reader.select(
        question, [Passage(chunk, 0, 0.5)], vector, Gloss(question), asked=asked, follow_up=follow_up
    )


def test_a_follow_up_is_read_by_its_own_words_as_much_as_by_the_earlier_question() -> None:
    standalone = "Who funded them? (When and where did IOM organize the meeting of the Border Police)"
    assert "Denmark" in read(standalone, MEETING, asked="Who funded them?")[0]


def test_a_line_of_web_addresses_answers_only_a_question_asking_for_a_link() -> None:
    assert not any(
        "https://" in s
        for s in read("Which countries did the Climate Security in the Pacific evaluation cover?")
    )
    assert any(
        "https://" in s for s in read("Where can I download the Climate Security in the Pacific evaluation?")
    )


def test_a_record_line_answers_the_question_that_names_its_field() -> None:
    """The question need not say every word of the field's name ("Evaluation Period From Date"),
    only the words that weigh most: "period"."""
    assert read("What period did the Climate Security in the Pacific evaluation cover?")[0].startswith(
        "Evaluation Period"
    )


def test_a_question_asking_two_things_gets_a_sentence_for_each() -> None:
    one = ReaderConfig(max_sentences=1)
    both = read("Who led the evaluation, and how many interviews were held?", REPORT, one)
    assert any("Melissa" in s for s in both) and any("12 interviews" in s for s in both)
    assert len(read("How many interviews were held in the evaluation?", REPORT, one)) == 1


def test_a_records_lines_are_weighed_for_the_decision_as_the_whole_record() -> None:
    """ "Countries Covered: Kiribati" holds none of the question's words, but its record does:
    the decision reads the record's coverage and meaning, a prose sentence's its own."""
    question = "Which countries did the Climate Security in the Pacific evaluation cover?"
    record = select(question)
    assert record.sentences[0].text.startswith("Countries Covered")
    assert record.evidence is not None
    assert record.evidence.sentence_coverage == record.evidence.passage_coverage > 0.5
    assert record.evidence.meaning == 0.5  # the record's retrieval score
    prose = select(question, RECORD.replace("\n", ". "), form="txt")
    assert prose.evidence is not None
    assert prose.evidence.sentence_coverage < prose.evidence.passage_coverage


def test_a_records_title_line_answers_only_a_question_asking_for_a_title() -> None:
    """The title says what the record is about, which the question already names."""
    about = select("What does the export hold on the Climate Security in the Pacific Project?")
    assert about.answers and not about.sentences[0].text.startswith("Title")
    title = select("What is the full title of the Climate Security in the Pacific evaluation?")
    assert title.answers and title.sentences[0].text.startswith("Title")


def test_a_question_in_the_passage_is_not_an_answer() -> None:
    text = (
        "How adequate are the quality assurance tools developed by the division? "
        "Evaluation managers found the quality assurance tools adequate but long."
    )
    chosen = select("How adequate are the quality assurance tools of the division?", text, form="txt")
    assert chosen.answers and chosen.sentences[0].text.startswith("Evaluation managers")
