"""Evaluation: the development set, its regression gate, and the metrics themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.errors import ConfigurationError
from assistant.retrieval import RetrievalConfig
from assistant.service import AssistantService
from assistant.settings import Settings
from evaluation.dataset import load_dataset, source_matches, split_of
from evaluation.gate import compare
from evaluation.metrics import contains, key_fact_recall, normalize, retrieval_metrics, token_f1
from evaluation.run import run_evaluation
from tests.conftest import REPO

DEV_SET = REPO / "evaluation" / "datasets" / "iom-dev.jsonl"
BASELINE = REPO / "evaluation" / "baselines" / "iom-dev.metrics.json"
OUTPUT_FILES = ("metrics.json", "predictions.jsonl", "per_question.csv", "report.md", "report.html")


@pytest.mark.unit
def test_normalisation_makes_dates_and_numbers_agree() -> None:
    assert (
        normalize("On June 14th, 2022 the IOM counted 2,429 people.")
        == "on june 14 2022 iom counted 2429 people"
    )
    assert contains("Budva – On June 14 and 15, 2022, IOM met.", "June 14 and 15, 2022")
    assert contains("le 3 juin 2024", "3 June 2024")
    assert not contains("in 20222", "2022")
    assert key_fact_recall("Met in Budva in 2022.", [["Budva"], ["June 14"]]) == 0.5
    assert token_f1("the meeting was in Budva", "Budva") == pytest.approx(2 * (1 / 4) * 1 / (1 / 4 + 1))


@pytest.mark.unit
def test_retrieval_metrics_over_unique_documents() -> None:
    scores = retrieval_metrics([False, True, False, True], n_gold=2)
    assert scores["hit@1"] == 0.0 and scores["hit@5"] == 1.0
    assert scores["mrr@10"] == 0.5 and scores["recall@5"] == 1.0
    assert 0 < scores["ndcg@10"] < 1
    assert source_matches("seed.txt", "corpus/seed.txt") and not source_matches("a/seed.txt", "b/seed.txt")


@pytest.mark.unit
def test_the_gate_forgives_one_question_but_not_two() -> None:
    baseline = {"n_answerable": 100, "n_unanswerable": 19, "correct_refusal_rate": 10 / 19, "hit@5": 0.9}
    baseline["invalid_citation_rate"] = 0.0

    def regressed(**current: float) -> set[str]:
        return {c.metric for c in compare({**baseline, **current}, baseline) if c.regressed}

    assert regressed(correct_refusal_rate=9 / 19) == set()
    assert regressed(correct_refusal_rate=8 / 19) == {"correct_refusal_rate"}
    assert regressed(**{"hit@5": 0.87}) == set()
    assert regressed(**{"hit@5": 0.86}) == {"hit@5"}
    assert regressed(invalid_citation_rate=0.02) == {"invalid_citation_rate"}, "counted per citation: strict"
    assert regressed() == set()


@pytest.mark.unit
def test_judge_grades_are_read_from_the_reply_or_left_unknown() -> None:
    from evaluation.judge import parse_verdict

    verdict = parse_verdict("Faithfulness: 5\ncorrectness: 2")
    assert (verdict.faithfulness, verdict.correctness) == (1.0, 0.25)
    assert parse_verdict("**faithfulness** - 3/5, correctness = 1").correctness == 0.0
    assert parse_verdict("4\n2") == parse_verdict("faithfulness: 4\ncorrectness: 2")
    assert parse_verdict("4 out of 5").faithfulness is None
    unsure = parse_verdict("The answer seems fine. correctness: 7")
    assert unsure.faithfulness is None and unsure.correctness is None, "no grade is not a grade of 0"


@pytest.mark.unit
def test_the_development_set_covers_what_the_issue_asks() -> None:
    from evaluation.corpus import locked_files

    cases = load_dataset(DEV_SET)
    assert len(cases) >= 300
    unanswerable = [c for c in cases if not c.answerable]
    assert len(unanswerable) >= 60
    assert sum("near-miss" in c.tags for c in unanswerable) >= 40
    sources = {Path(s).name for c in cases for s in c.gold_source_ids}
    assert {Path(f.path).name for f in locked_files()} <= sources, "every shared document is asked about"
    assert {"fr", "es", "sq"} <= {c.language for c in cases}
    assert sum(bool(c.history) for c in cases) >= 15, "follow-ups"
    assert sum("table" in c.tags for c in cases) >= 20 and sum("csv" in c.tags for c in cases) >= 20
    assert any(len(c.gold_source_ids) >= 2 for c in cases)


@pytest.mark.unit
def test_a_frozen_test_part_of_about_a_third_fixed_by_the_id() -> None:
    from evaluation.dataset import split_of

    cases = load_dataset(DEV_SET)
    test = [c for c in cases if c.split == "test"]
    assert 0.28 <= len(test) / len(cases) <= 0.4
    assert all(split_of(c.id) == c.split for c in cases), "the split depends on the id alone"
    for part in ("tune", "test"):
        members = [c for c in cases if c.split == part]
        assert sum(not c.answerable for c in members) >= 20, part
        assert {"fr", "es", "sq"} <= {c.language for c in members}, part


@pytest.mark.integration
def test_gold_evidence_quotes_exist_in_the_extracted_text(shared_corpus: Path) -> None:
    from ingest.loaders import load_document

    files = {p.name: p for p in [*shared_corpus.rglob("*"), *(REPO / "corpus").glob("*")] if p.is_file()}
    texts: dict[str, str] = {}
    missing = []
    for case in load_dataset(DEV_SET):
        for evidence in case.gold_evidence:
            name = Path(evidence.source_id).name
            if name not in texts:
                texts[name] = " ".join(load_document(files[name], name).text.split())
            if " ".join(evidence.quote.split()) not in texts[name]:
                missing.append(f"{case.id}: {evidence.quote[:80]!r} not in {name}")
    assert not missing, "\n".join(missing)


@pytest.mark.integration
@pytest.mark.slow
def test_dev_set_holds_the_committed_baseline(full_index: Settings, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    outcome = run_evaluation(full_index, DEV_SET, out, baseline=BASELINE)
    for name in OUTPUT_FILES:
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_questions"] == len(load_dataset(DEV_SET))
    assert "<svg" in (out / "report.html").read_text()
    report = (out / "report.md").read_text()
    assert "| metric | all | tune | test |" in report
    assert "## By language" in report and "| sq |" in report and "## By tag" in report
    listed = re.findall(r"^- \*\*(q-\d+)\*\* \(", report, re.MULTILINE)
    assert listed and {split_of(i) for i in listed} == {"tune"}, "the test part's failures are not listed"
    assert not [c for c in outcome.comparisons if c.part == "test" and c.regressed], outcome.summary()
    assert not outcome.regressed, outcome.summary()


@pytest.mark.integration
@pytest.mark.slow
def test_the_gate_fails_when_retrieval_is_broken(full_index: Settings, tmp_path: Path) -> None:
    broken = AssistantService(full_index, retrieval=RetrievalConfig(k=1, candidates=1, lexical_weight=0.0))
    outcome = run_evaluation(full_index, DEV_SET, tmp_path / "broken", baseline=BASELINE, service=broken)
    assert outcome.regressed
    regressed = {c.metric for c in outcome.comparisons if c.regressed}
    assert regressed & {"hit@5", "recall@5", "evidence_recall@5"}
    assert outcome.regressions, "questions that went from right to wrong are listed"
    assert re.search(r"REGRESSION", (tmp_path / "broken" / "report.md").read_text())


@pytest.mark.unit
def test_thumbs_down_feedback_becomes_draft_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main
    from assistant.feedback import FeedbackStore

    database = tmp_path / "feedback.sqlite3"
    monkeypatch.setenv("IOM_ASSISTANT_FEEDBACK_DB", str(database))
    store = FeedbackStore(database)
    cited = [{"n": 1, "source_id": "seed.txt", "quote": "On June 14 and 15, 2022"}]
    store.add(question="Where was the meeting?", answer="In 2022. [1]", rating="down",
              comment="It asked where, not when.", citations=cited)  # fmt: skip
    store.add(question="Who funded it?", answer="Denmark. [1]", rating="up", comment="Right.")
    store.add(question="When?", answer="2022. [1]", rating="down")  # no comment: nothing to learn from
    exported, drafts = tmp_path / "feedback.jsonl", tmp_path / "drafts.jsonl"

    assert main(["feedback", "export", "--out", str(exported)]) == 0
    assert main(["eval", "--from-feedback", str(exported), "--out-dataset", str(drafts)]) == 0

    lines = [json.loads(line) for line in drafts.read_text().splitlines()]
    assert len(lines) == 1
    assert lines[0]["question"] == "Where was the meeting?"
    assert lines[0]["feedback_comment"] == "It asked where, not when."
    assert lines[0]["cited_source_ids"] == ["seed.txt"]
    assert "1 draft" in capsys.readouterr().out
    with pytest.raises(ConfigurationError, match="needs short_answers and gold_source_ids"):
        load_dataset(drafts)  # a person completes the draft first
    missing = ["eval", "--from-feedback", str(tmp_path / "missing.jsonl"), "--out-dataset", str(drafts)]
    assert main(missing) == 2
    assert "feedback export" in capsys.readouterr().err, "the error says how to make the file"
    assert len(drafts.read_text().splitlines()) == 1, "the drafts already written are kept"


@pytest.mark.unit
def test_csv_cells_that_look_like_formulas_are_shown_as_text() -> None:
    from evaluation.report import spreadsheet_safe

    for formula in ('=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\t=1"):
        assert spreadsheet_safe(formula) == "'" + formula
    assert spreadsheet_safe("When was the meeting?") == "When was the meeting?"
    assert spreadsheet_safe(-0.5) == -0.5, "numbers stay numbers"


@pytest.mark.unit
def test_the_decision_refit_says_when_the_index_gives_nothing_to_fit_on() -> None:
    from evaluation.fit_decision import Row, fit_decision

    cases = load_dataset(DEV_SET)[:6]
    rows = [Row(c, c.answerable, [0.5] * 9) for c in cases]  # only answerable ones answered
    with pytest.raises(SystemExit, match="IOM_ASSISTANT_INDEX_DIR"):
        fit_decision(rows)


@pytest.mark.unit
def test_every_metric_is_named_once_in_the_registry() -> None:
    from evaluation.registry import METRIC_KEYS, QUESTION_SCORES
    from evaluation.scoring import aggregate

    assert len(set(METRIC_KEYS)) == len(METRIC_KEYS)
    assert tuple(aggregate([])) == METRIC_KEYS, "aggregate writes exactly the registered metrics"
    assert "key_fact_recall" in QUESTION_SCORES and "latency_ms_p50" not in QUESTION_SCORES
