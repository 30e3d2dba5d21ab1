"""The saved-conversation store (assistant/saved_conversations.py): owners never see each other's
conversations, answers come back exactly as given, rename and delete, limits, retention, and a
schema that only ever grows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from assistant import saved_conversations
from assistant.errors import ConfigurationError, ConversationError
from assistant.saved_conversations import MAX_TITLE_CHARS, ConversationStore
from assistant.settings import load_settings

pytestmark = pytest.mark.unit

ALICE, BOB = "user:alice", "browser:0f3a"


def answer_object(question: str = "When was the Budva meeting?", **changes: Any) -> dict[str, Any]:
    """An answer object as the service gives it (with the characters JSON must keep)."""
    answer = {
        "answer": "It took place on June 14 and 15, 2022 [1]. It was in “Budva” [1, 2].",
        "refused": False,
        "citations": [
            {"n": 1, "source_id": "a.txt", "title": "Heads of <Border> Police", "page": None,
             "url": None, "quote": "June 14 and 15, 2022 … Budva", "score": 0.8123, "chunk_id": "c1"},
            {"n": 2, "source_id": "dir/b.pdf", "title": "Brief é", "page": 3, "url": "https://example.org/b",
             "quote": "Budva, Montenegro", "score": 0.5, "chunk_id": "c2"},
        ],
        "retrieved": [{"rank": 1, "chunk_id": "c1", "source_id": "a.txt", "text": "x" * 50}],
        "notices": ["One sentence was removed."],
        "provider": "extractive",
        "question": question,
        "answer_id": "",
    }  # fmt: skip
    return {**answer, **changes}


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    return ConversationStore(tmp_path / "conversations.sqlite3", retention_days=90)


def _rows(store: ConversationStore) -> tuple[int, int]:
    with sqlite3.connect(store.path) as db:
        conversations = db.execute("SELECT count(*) FROM conversation").fetchone()[0]
        answers = db.execute("SELECT count(*) FROM saved_answer").fetchone()[0]
    return conversations, answers


def test_an_answer_starts_a_conversation_named_after_its_question_and_comes_back_as_given(
    store: ConversationStore,
) -> None:
    given = answer_object()
    passages = [{"rank": 1, "source_id": "a.txt", "page": None, "text": "The meeting … <b>Budva</b>"}]
    first = store.save_answer(ALICE, None, given, passages)
    follow_up = answer_object("and who funded it?", refused=True)
    second = store.save_answer(ALICE, first.conversation_id, follow_up)

    [conversation] = store.conversations(ALICE)
    assert conversation.id == first.conversation_id and conversation.answers == 2
    assert conversation.title == "When was the Budva meeting?"
    answers = store.answers(ALICE, conversation.id)
    assert [a.id for a in answers] == [first.id, second.id] and [a.position for a in answers] == [0, 1]
    kept = answers[0]
    assert kept.question == given["question"] and kept.answer == given["answer"] and not kept.refused
    assert kept.citations == given["citations"]  # exactly, floats and quotes included
    assert kept.notices == given["notices"] and kept.passages == passages and kept.provider == "extractive"
    assert kept.answer_object()["retrieved"] == passages and answers[1].refused
    assert first.id != first.conversation_id and len(first.id) == 22  # 128 random bits, URL-safe
    assert store.shared_answer(first.id) == kept


def test_one_owner_never_sees_reads_renames_nor_deletes_anothers_conversation(
    store: ConversationStore,
) -> None:
    saved = store.save_answer(ALICE, None, answer_object())
    other = store.save_answer(BOB, None, answer_object("Bob's own question?"))

    assert [c.id for c in store.conversations(ALICE)] == [saved.conversation_id]
    assert [c.id for c in store.conversations(BOB)] == [other.conversation_id]
    for attempt in (
        lambda: store.answers(BOB, saved.conversation_id),
        lambda: store.conversation(BOB, saved.conversation_id),
        lambda: store.rename(BOB, saved.conversation_id, "mine now"),
        lambda: store.delete(BOB, saved.conversation_id),
        lambda: store.save_answer(BOB, saved.conversation_id, answer_object()),
    ):
        with pytest.raises(ConversationError) as refused:
            attempt()
        assert refused.value.problem == "unknown"
    assert store.conversation(ALICE, saved.conversation_id).title == "When was the Budva meeting?"
    assert store.conversation(ALICE, saved.conversation_id).answers == 1
    assert store.conversations("user:alice2") == [] and store.conversations("") == []


def test_rename_takes_a_clean_name_and_a_bad_one_changes_nothing(store: ConversationStore) -> None:
    saved = store.save_answer(ALICE, None, answer_object())
    renamed = store.rename(ALICE, saved.conversation_id, "  Budva\n meeting\x00 notes ")
    assert renamed.title == "Budva meeting notes" == store.conversations(ALICE)[0].title

    for bad in ("", "   \n\t", "x" * (MAX_TITLE_CHARS + 1)):
        with pytest.raises(ConversationError) as refused:
            store.rename(ALICE, saved.conversation_id, bad)
        assert refused.value.problem == "bad_name" and refused.value.limit == MAX_TITLE_CHARS
    assert store.conversations(ALICE)[0].title == "Budva meeting notes"


def test_delete_removes_the_conversation_and_its_answers_rows(store: ConversationStore) -> None:
    kept = store.save_answer(ALICE, None, answer_object("Kept question?"))
    gone = store.save_answer(ALICE, None, answer_object())
    store.save_answer(ALICE, gone.conversation_id, answer_object("Follow-up?"))
    assert _rows(store) == (2, 3)

    store.delete(ALICE, gone.conversation_id)

    assert _rows(store) == (1, 1)
    assert [c.id for c in store.conversations(ALICE)] == [kept.conversation_id]
    assert store.shared_answer(gone.id) is None and store.shared_answer(kept.id) is not None
    with pytest.raises(ConversationError):
        store.delete(ALICE, gone.conversation_id)


def test_the_latest_used_conversation_comes_first(store: ConversationStore) -> None:
    older = store.save_answer(ALICE, None, answer_object("First?"))
    newer = store.save_answer(ALICE, None, answer_object("Second?"))
    assert [c.id for c in store.conversations(ALICE)] == [newer.conversation_id, older.conversation_id]
    store.save_answer(ALICE, older.conversation_id, answer_object("Back to the first?"))
    assert [c.id for c in store.conversations(ALICE)] == [older.conversation_id, newer.conversation_id]


def test_a_bad_answer_is_refused_whole_and_stores_nothing(store: ConversationStore) -> None:
    saved = store.save_answer(ALICE, None, answer_object())
    for bad in (
        answer_object(question=""),
        answer_object(question="x" * 20_001),
        answer_object(answer=None),
        answer_object(citations=[{"n": "1", "source_id": "a.txt"}]),
        answer_object(citations="[1]"),
        answer_object(notices=[3]),
        answer_object(answer="y" * (saved_conversations.MAX_ANSWER_BYTES + 1)),
    ):
        with pytest.raises(ConversationError) as refused:
            store.save_answer(ALICE, saved.conversation_id, bad)
        assert refused.value.problem == "bad_answer"
        with pytest.raises(ConversationError):
            store.save_answer(ALICE, None, bad)
    assert _rows(store) == (1, 1)


def test_limits_refuse_a_new_conversation_or_answer_and_keep_what_is_stored(
    store: ConversationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saved_conversations, "MAX_CONVERSATIONS", 2)
    monkeypatch.setattr(saved_conversations, "MAX_ANSWERS", 3)
    first = store.save_answer(ALICE, None, answer_object())
    store.save_answer(ALICE, None, answer_object("Second?"))
    with pytest.raises(ConversationError) as full:
        store.save_answer(ALICE, None, answer_object("Third?"))
    assert full.value.problem == "too_many_conversations" and full.value.limit == 2
    store.save_answer(BOB, None, answer_object())  # the limit is each owner's own

    store.save_answer(ALICE, first.conversation_id, answer_object("More?"))
    store.save_answer(ALICE, first.conversation_id, answer_object("Even more?"))
    with pytest.raises(ConversationError) as long:
        store.save_answer(ALICE, first.conversation_id, answer_object("Too many?"))
    assert long.value.problem == "too_many_answers" and long.value.limit == 3
    assert [a.question for a in store.answers(ALICE, first.conversation_id)][-1] == "Even more?"
    assert _rows(store) == (3, 5)


def test_retention_deletes_conversations_untouched_for_its_days_and_zero_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    store = ConversationStore(path, retention_days=30)
    old = store.save_answer(ALICE, None, answer_object("Old?"))
    recent = store.save_answer(BOB, None, answer_object("Recent?"))
    with sqlite3.connect(path) as db:  # Alice's conversation was last used 31 days ago
        month_ago = (datetime.now(UTC) - timedelta(days=31)).isoformat(timespec="microseconds")
        db.execute("UPDATE conversation SET updated_at = ? WHERE id = ?", (month_ago, old.conversation_id))

    assert ConversationStore(path, retention_days=0).forget_expired() == 0  # 0: kept until deleted
    assert _rows(store) == (2, 2)
    reopened = ConversationStore(path, retention_days=30)  # retention applies when the store opens
    assert reopened.conversations(ALICE) == [] and reopened.shared_answer(old.id) is None
    assert [c.id for c in reopened.conversations(BOB)] == [recent.conversation_id]
    assert _rows(store) == (1, 1)

    later = datetime.now(UTC) + timedelta(days=31)
    assert reopened.forget_expired(now=later) == 1 and _rows(store) == (0, 0)


def test_retention_also_applies_on_every_save(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3", retention_days=1)
    stale = store.save_answer(ALICE, None, answer_object())
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE conversation SET updated_at = '2000-01-01T00:00:00.000000+00:00'")
    store.save_answer(BOB, None, answer_object())  # the running store applies it on the next save
    assert store.shared_answer(stale.id) is None and _rows(store) == (1, 1)


def test_the_schema_is_versioned_kept_on_reopening_and_a_newer_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    saved = ConversationStore(path).save_answer(ALICE, None, answer_object())
    with sqlite3.connect(path) as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
    assert version == len(saved_conversations._MIGRATIONS) >= 1

    again = ConversationStore(path)  # a restart (or another replica) migrates nothing twice
    assert again.shared_answer(saved.id) == saved

    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {version + 1}")
    with pytest.raises(ConfigurationError, match=r"newer IOM Assistant.*CONVERSATIONS_DB"):
        ConversationStore(path).conversations(ALICE)
    with sqlite3.connect(path) as db:  # refused, not changed
        assert db.execute("PRAGMA user_version").fetchone()[0] == version + 1
        assert db.execute("SELECT count(*) FROM saved_answer").fetchone()[0] == 1


def test_a_permalink_id_that_is_not_one_is_not_looked_up(store: ConversationStore) -> None:
    saved = store.save_answer(ALICE, None, answer_object())
    for junk in ("", "../etc", saved.id + "x", saved.id[:-1], "' OR 1=1 --aaaaaaaaaaaa"):
        assert store.shared_answer(junk) is None


def test_the_store_lives_beside_the_feedback_unless_named(tmp_path: Path) -> None:
    beside = load_settings(feedback_db=tmp_path / "data" / "feedback.sqlite3")
    assert beside.conversations_path == tmp_path / "data" / ".iom-conversations.sqlite3"
    assert beside.conversation_retention_days == 90
    named = load_settings(conversations_db=tmp_path / "c.sqlite3", conversation_retention_days=0)
    assert named.conversations_path == tmp_path / "c.sqlite3" and named.conversation_retention_days == 0
    with pytest.raises(ConfigurationError, match="CONVERSATION_RETENTION_DAYS"):
        load_settings(conversation_retention_days=-1)
