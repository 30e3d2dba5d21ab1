"""Answer-quality metrics, computed without an LLM.

Text is normalised the SQuAD way (lower case, punctuation and articles removed) and
further: accents folded, thousands separators and ordinals removed, month names
spelled out, so "14th June 2022" and "14 june, 2022" agree.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from assistant.text import ENGLISH_MONTHS, MONTHS, fold

_ARTICLES = re.compile(r"\b(a|an|the|le|la|les|l|un|une|des|el|los|las|una|unos)\b")
# Month names and abbreviations read as the English name ("juin", "jun", "junio" -> "june"), so a
# date matches however it is written (the text is folded first: "août" is "aout").
_MONTH_NAMES = {name: ENGLISH_MONTHS[number - 1] for name, number in MONTHS.items() if name == fold(name)}


def normalize(text: str) -> str:
    """Lower case, accents folded, numbers unified, punctuation and articles removed."""
    text = fold(text)
    text = re.sub(r"(?<=\d)[,\u202f\u00a0 ](?=\d{3}\b)", "", text)  # 2,429 / 2 429 -> 2429
    text = re.sub(r"(\d)(st|nd|rd|th|er|e)\b", r"\1", text)  # 14th / 1er -> 14
    text = re.sub(r"(\d)\s*(%|per cent|percent|pour cent)", r"\1 percent", text)
    text = re.sub(r"[^\w\s]", " ", text)
    text = _ARTICLES.sub(" ", text)
    words = [_MONTH_NAMES.get(w, w) for w in text.split()]
    return " ".join(words)


def contains(answer: str, alias: str) -> bool:
    """Whether a normalised alias stands in the normalised answer as whole words."""
    needle = normalize(alias)
    if not needle:
        return False
    return f" {needle} " in f" {normalize(answer)} "


def key_fact_recall(answer: str, short_answers: Sequence[Sequence[str]]) -> float | None:
    """Share of key-fact groups with at least one alias in the answer."""
    if not short_answers:
        return None
    found = sum(any(contains(answer, alias) for alias in group) for group in short_answers)
    return found / len(short_answers)


def token_f1(prediction: str, reference: str | None) -> float | None:
    """SQuAD token F1 between the answer and the reference answer."""
    if reference is None:
        return None
    pred, gold = normalize(prediction).split(), normalize(reference).split()
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if not pred or not gold or same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def retrieval_metrics(is_gold: Sequence[bool], n_gold: int) -> dict[str, float]:
    """hit@k, recall@5, MRR@10 and nDCG@10 over unique ranked documents."""
    first = next((i for i, g in enumerate(is_gold) if g), None)
    out = {f"hit@{k}": float(first is not None and first < k) for k in (1, 5, 10)}
    out["recall@5"] = sum(is_gold[:5]) / n_gold if n_gold else 0.0
    out["mrr@10"] = 1.0 / (first + 1) if first is not None and first < 10 else 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, g in enumerate(is_gold[:10]) if g)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(n_gold, 10)))
    out["ndcg@10"] = dcg / ideal if ideal else 0.0
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile, or None for no values."""
    return float(np.percentile(values, q)) if values else None


def mean(values: Sequence[float | None]) -> float | None:
    """Mean of the values that could be computed; None when none could."""
    known = [v for v in values if v is not None]
    return float(sum(known) / len(known)) if known else None


def bootstrap_ci(values: Sequence[float], rounds: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """95% bootstrap confidence interval of the mean."""
    if len(values) < 2:
        return None
    rng = np.random.default_rng(seed)
    data = np.asarray(values, dtype=np.float64)
    means = data[rng.integers(0, len(data), size=(rounds, len(data)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))
