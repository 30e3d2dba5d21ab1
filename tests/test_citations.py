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
