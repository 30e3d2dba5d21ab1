"""The chat's languages: one message catalogue per language, and which one a browser gets.

A catalogue is `ui/messages/<code>.json`, a flat object of message keys to text with
`str.format` placeholders (`{count}`); adding a language is adding one file. English is
complete: `en.json` holds the interface's strings and `assistant.notices.SERVICE_TEXTS` the
service's (the refusal, its reasons, the notices), so each English sentence has one
definition. Another catalogue may be partial: a message it lacks is said in English.
`language.name` and `language.dir` (`ltr` | `rtl`) describe the language itself.

Catalogues are read on first use, once. The API keeps saying the service's sentences in
English; only the chat says them through `Messages.service`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from assistant.notices import SERVICE_TEXTS

DEFAULT_LANGUAGE = "en"
_FIELD = re.compile(r"\{(\w+)\}")
_LANGUAGE_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


@cache
def languages() -> tuple[str, ...]:
    """The codes of the catalogues shipped, English first."""
    found = sorted(
        p.name.removesuffix(".json") for p in files("ui.messages").iterdir() if p.name.endswith(".json")
    )
    return (DEFAULT_LANGUAGE, *(code for code in found if code != DEFAULT_LANGUAGE))


@cache
def catalogue(code: str) -> dict[str, str]:
    """The messages of one language as shipped (English with the service's sentences added)."""
    text = files("ui.messages").joinpath(f"{code}.json").read_text(encoding="utf-8")
    messages = {str(k): str(v) for k, v in json.loads(text).items()}
    return {**messages, **SERVICE_TEXTS} if code == DEFAULT_LANGUAGE else messages


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The language to show: the one chosen with the switch when it is shipped, else the first
    of the browser's Accept-Language (by q) that is, matching `fr-FR` to `fr`; else English."""
    shipped = languages()
    if chosen and chosen in shipped:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        match = _LANGUAGE_RANGE.match(part)
        if not match or match.group(1) == "*":
            continue
        try:
            weight = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        if weight > 0:
            ranked.append((-weight, position, match.group(1).lower()))
    for _, _, tag in sorted(ranked):
        for candidate in (tag, tag.split("-")[0]):
            if candidate in shipped:
                return candidate
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Messages:
    """The messages of one language: `messages("status.answered_many", count=3)`."""

    code: str = DEFAULT_LANGUAGE

    def __call__(self, key: str, **params: object) -> str:
        text = catalogue(self.code).get(key) or catalogue(DEFAULT_LANGUAGE)[key]
        return text.format(**params) if params else text

    @property
    def direction(self) -> str:
        """`rtl` or `ltr`, for the page's `dir`."""
        return "rtl" if self("language.dir") == "rtl" else "ltr"

    def service(self, text: str) -> str:
        """One of the service's English sentences (or the refusal followed by its reason) said in
        this language; any other text (the documents' own) as it is."""
        if self.code == DEFAULT_LANGUAGE:
            return text
        for key, pattern in _service_patterns():
            if match := pattern.fullmatch(text):
                return self(key, **match.groupdict())
        refusal = SERVICE_TEXTS["refusal"]
        if text.startswith(refusal + " "):
            return f"{self('refusal')} {self.service(text[len(refusal) + 1 :])}"
        return text


@cache
def _service_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each service sentence as a pattern whose groups are its placeholders."""
    patterns = []
    for key, template in SERVICE_TEXTS.items():
        parts = _FIELD.split(template)  # text, field, text, field, ...
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        patterns.append((key, re.compile(regex, re.DOTALL)))
    return tuple(patterns)
