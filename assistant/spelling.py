"""Words matched by their spelling: inflected names and cognates ("Gramshit" -> gramsh,
"binacional" -> binational), for question words that no meaning gloss covers.

Two words match when they share at least half of their letter trigrams (Dice); short words are
left alone, as they share trigrams by chance. Not thread-safe: the cross-lingual bridge calls it
with its lock held.
"""

from __future__ import annotations

from collections.abc import Iterable

MIN_SHARED = 0.5
MIN_LETTERS = 5


def trigrams(word: str) -> set[str]:
    """The letter trigrams of a word, its start and end marked: "vlora" -> #vl, vlo, lor, ora, ra#."""
    marked = f"#{word}#"
    return {marked[i : i + 3] for i in range(len(marked) - 2)}


class SpellingIndex:
    """The documents' words by their letter trigrams."""

    def __init__(self) -> None:
        self._by_trigram: dict[str, set[str]] = {}
        self._sizes: dict[str, int] = {}  # word -> how many trigrams it has

    def add(self, words: Iterable[str]) -> None:
        for word in words:
            if word in self._sizes:
                continue
            own = trigrams(word)
            self._sizes[word] = len(own)
            for trigram in own:
                self._by_trigram.setdefault(trigram, set()).add(word)

    def closest(self, word: str) -> tuple[str, float] | None:
        """The indexed word sharing the most trigrams with `word` (Dice), if enough do."""
        if len(word) < MIN_LETTERS:
            return None
        own = trigrams(word)
        shared: dict[str, int] = {}
        for trigram in own:
            for other in self._by_trigram.get(trigram, ()):
                shared[other] = shared.get(other, 0) + 1
        best: tuple[str, float] | None = None
        for other, count in sorted(shared.items()):
            dice = 2 * count / (len(own) + self._sizes[other])
            if dice >= MIN_SHARED and (best is None or dice > best[1]):
                best = (other, round(dice, 3))
        return best
