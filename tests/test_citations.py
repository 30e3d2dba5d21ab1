"""The citation marker, defined once: parsed by the guard, linked by the chat, counted by evaluation."""

from __future__ import annotations

import pytest

from assistant.citations import SENTENCE_DONE, cited_numbers, strip_markers
from assistant.grounding import parse_claims
from ui.i18n import Messages
from ui.render import anchor, answer_markdown

pytestmark = pytest.mark.unit


def test_markers_single_grouped_and_after_the_full_stop() -> None:
    text = "The meeting was in Budva [1][2]. Denmark funded it. [3; 4] Costs were [5, 6] high."
    assert cited_numbers(text) == [1, 2, 3, 4, 5, 6]
    assert strip_markers(text) == "The meeting was in Budva. Denmark funded it. Costs were high."
    claims, invalid = parse_claims(text, n_passages=4)
    assert [c.passages for c in claims] == [(0, 1), (2, 3), ()] and invalid == 2
    assert SENTENCE_DONE.search("In 2022. [1] Next").end() == len("In 2022. [1] ")
    doubled, _ = parse_claims("It joined the Division of Response and Recovery.. [1] It grew. [2]", 2)
    assert [c.passages for c in doubled] == [(0,), (1,)], "a quote ending as its document wrote it"
    quoted, _ = parse_claims("It qualifies as “meets requirements.” [1] It grew. [2]", 2)
    assert [c.passages for c in quoted] == [(0,), (1,)]


def test_the_chat_links_every_known_marker_and_leaves_others_as_text() -> None:
    citations = [{"n": n, "source_id": "brief.pdf", "title": "Brief", "page": 1} for n in (1, 2)]
    answer = {"answer": "Budva [1][2] and [7].", "refused": False, "citations": citations}
    markdown = answer_markdown(answer, 3, Messages())
    assert f"(#{anchor(3, 1)} " in markdown and f"(#{anchor(3, 2)} " in markdown
    assert f"#{anchor(3, 7)}" not in markdown and "7" in markdown


def test_citations_are_named_as_they_would_be_out_of_context() -> None:
    """A screen reader lists links out of their sentence: `[2]` says which source and page it is,
    the passage it leads to says whose it is, and a title cannot break out of its attribute."""
    from ui.render import Turn, citation_label, sources_panel

    title = 'Meta-evaluation "brief" <b>'
    citation = {"n": 2, "source_id": "brief.pdf", "title": title, "page": 1, "quote": "q"}
    answer = {"answer": "It rose. [2]", "refused": False, "citations": [citation], "retrieved": []}

    assert citation_label(citation, Messages()) == 'Source 2: Meta-evaluation "brief" <b>, page 1'
    assert '(#iom-src-0-2 "Source 2: Meta-evaluation \\"brief\\" <b>, page 1")' in answer_markdown(
        answer, 0, Messages()
    )
    panel = sources_panel([Turn("Q?", answer)], "/", Messages())
    named = 'aria-label="Source 2: Meta-evaluation &quot;brief&quot; &lt;b&gt;, page 1: open the original'
    assert named in panel
    assert '<div class="iom-passage" tabindex="0" role="region" aria-label="Passage of Source 2: ' in panel
    assert '<a class="iom-back" href="#iom-chat">Back to the answer</a>' in panel


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
    assert (
        len(sources_panel(kept, "/", Messages()))
        < len(sources_panel(turns[-TURNS_WITH_PASSAGES:], "/", Messages())) * 2
    )


def test_an_answer_of_quotes_reads_back_as_the_same_claims() -> None:
    """What the guard kept, composed into the answer's text, is parsed back sentence by sentence
    with its citations: a line without a full stop, a fragment in lower case, a closing quote."""
    from assistant.documents import Chunk
    from assistant.grounding import GroundedClaim, GroundingReport
    from assistant.retrieval import Passage
    from assistant.service import _compose

    kept = [
        "Value: Returnee | Definition: A person who has recently returned.",
        "use HTCDS only for the purpose defined in Section 1.",
        "Budget: EUR 64.7 million",
        "This makes the global region the only one that qualifies as “meets requirements.”",
    ]
    claims = [GroundedClaim(text, (i,), {i: text}, 1.0) for i, text in enumerate(kept)]
    chunks = [
        Chunk(chunk_id=f"c{i}", source_id=f"s{i}", text=t, title="", format="text", ordinal=0)
        for i, t in enumerate(kept)
    ]
    text, _ = _compose(GroundingReport(claims=claims), [Passage(c, i + 1, 0.5) for i, c in enumerate(chunks)])
    read, invalid = parse_claims(text, len(kept))
    assert [c.passages for c in read] == [(0,), (1,), (2,), (3,)] and invalid == 0
