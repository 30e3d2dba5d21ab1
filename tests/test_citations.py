"""The citation marker, defined once: parsed by the guard, linked by the chat, counted by evaluation."""

from __future__ import annotations

import pytest

from assistant.citations import SENTENCE_DONE, cited_numbers, strip_markers
from assistant.grounding import parse_claims
from ui.render import anchor, answer_markdown

pytestmark = pytest.mark.unit


def test_markers_single_grouped_and_after_the_full_stop() -> None:
    text = "The meeting was in Budva [1][2]. Denmark funded it. [3; 4] Costs were [5, 6] high."
    assert cited_numbers(text) == [1, 2, 3, 4, 5, 6]
    assert strip_markers(text) == "The meeting was in Budva. Denmark funded it. Costs were high."
    claims, invalid = parse_claims(text, n_passages=4)
    assert [c.passages for c in claims] == [(0, 1), (2, 3), ()] and invalid == 2
    assert SENTENCE_DONE.search("In 2022. [1] Next").end() == len("In 2022. [1] ")


def test_the_chat_links_every_known_marker_and_leaves_others_as_text() -> None:
    answer = {"answer": "Budva [1][2] and [7].", "refused": False, "citations": [{"n": 1}, {"n": 2}]}
    markdown = answer_markdown(answer, turn=3)
    assert f"(#{anchor(3, 1)})" in markdown and f"(#{anchor(3, 2)})" in markdown
    assert f"(#{anchor(3, 7)})" not in markdown and "7" in markdown


def test_a_long_chat_keeps_the_passages_of_its_latest_answers_only() -> None:
    """22 answered turns: the sources panel re-sent with each answer stays bounded; older turns
    keep their question, answer and quoted citations."""
    from ui.chat import TURNS_WITH_PASSAGES, _forget_passages
    from ui.render import Turn, sources_panel

    passage = "The meeting of the Heads of Border Police took place in Budva. " * 30  # about 2 KB
    answer = {
        "answer": "In Budva. [1]",
        "refused": False,
        "citations": [{"n": 1, "source_id": "seed.txt", "quote": "took place in Budva"}],
        "retrieved": [{"rank": r, "source_id": "seed.txt", "text": passage, "page": None} for r in range(8)],
        "notices": [],
    }
    turns = [Turn(f"Question {i}?", dict(answer)) for i in range(22)]

    kept = _forget_passages(turns)

    assert [t.question for t in kept] == [t.question for t in turns]
    assert all(t.answer is not None and t.answer["citations"] for t in kept)
    with_passages = [t for t in kept if t.answer is not None and t.answer["retrieved"]]
    assert len(with_passages) == TURNS_WITH_PASSAGES - 1  # and the question being asked makes five
    assert len(sources_panel(kept, "/")) < len(sources_panel(turns[-TURNS_WITH_PASSAGES:], "/")) * 2
