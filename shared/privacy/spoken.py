"""Spoken-digit normalisation: words of a text as tokens, and runs of digits said as words ("four one one one",
"double four", "oh") or written ("4111-1111"), with where each digit came from.

Speech-to-text writes a card number read aloud in many ways: "four one one one, one one one one", "4111 1111",
"double four", "triple one", "oh" or "o" for zero, split across two segments by a pause. `digit_runs` turns a token
stream into runs of consecutive digit-bearing tokens (punctuation between them is allowed, any other word ends the
run) so that detectors can look at the digits while still knowing which tokens, hence which characters of which
segment, to replace.

Edge cases handled: "double"/"triple" followed by a digit word or a single written digit; "oh"/"o" count as zero only
inside a run that holds at least one other digit (a lone "Oh, so..." is not a number); tens ("twenty", "forty") end a
run, so amounts and times ("forty nine", "eleven thirty") never become digit runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DIGIT_WORDS = {
    "zero": "0",
    "nought": "0",
    "naught": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
WEAK_ZERO = {"oh", "o"}
"""Zero only between other digits: "oh" is also a word."""
REPEAT = {"double": 2, "triple": 3}

_TOKEN = re.compile(r"\S+")
_EDGE = ",.;:!?()\"'"
_WRITTEN = re.compile(r"\d+(?:[-/.]\d+)*")


@dataclass(frozen=True)
class Token:
    """One word of the stream: which segment it is in, its characters there (punctuation around it excluded)."""

    segment: int
    start: int
    end: int
    text: str

    @property
    def word(self) -> str:
        return self.text.lower()


@dataclass(frozen=True)
class Digits:
    """Digits said by tokens `first`..`last` (inclusive) of the stream."""

    first: int
    last: int
    digits: str
    weak: bool = False  # "oh"/"o": zero only inside a run


def tokenize(texts: list[str]) -> list[Token]:
    """The words of consecutive texts (segments) as one stream."""
    tokens: list[Token] = []
    for n, text in enumerate(texts):
        for match in _TOKEN.finditer(text):
            raw = match.group()
            core = raw.strip(_EDGE)
            if not core:
                continue
            start = match.start() + raw.index(core)
            tokens.append(Token(n, start, start + len(core), core))
    return tokens


def _digits_of(word: str) -> str | None:
    if word in DIGIT_WORDS:
        return DIGIT_WORDS[word]
    if _WRITTEN.fullmatch(word):
        return re.sub(r"\D", "", word)
    return None


def digit_units(tokens: list[Token]) -> list[Digits | None]:
    """Per token, the digits it (with a "double"/"triple" before it) says; None for any other word. A repeat word
    and the digit it repeats become one unit on the repeat word's index (the digit's index holds None)."""
    units: list[Digits | None] = [None] * len(tokens)
    i = 0
    while i < len(tokens):
        word = tokens[i].word
        if word in REPEAT and i + 1 < len(tokens):
            nxt = tokens[i + 1].word
            digit = (
                DIGIT_WORDS.get(nxt)
                or ("0" if nxt in WEAK_ZERO else None)
                or (nxt if re.fullmatch(r"\d", nxt) else None)
            )
            if digit is not None:
                units[i] = Digits(i, i + 1, digit * REPEAT[word])
                i += 2
                continue
        if word in WEAK_ZERO:
            units[i] = Digits(i, i, "0", weak=True)
        else:
            digits = _digits_of(word)
            if digits:
                units[i] = Digits(i, i, digits)
        i += 1
    return units


def digit_runs(tokens: list[Token]) -> list[list[Digits]]:
    """Runs of consecutive digit units, each with at least one digit other than "oh"."""
    runs: list[list[Digits]] = []
    current: list[Digits] = []
    units = digit_units(tokens)
    i = 0
    while i <= len(tokens):
        unit = units[i] if i < len(tokens) else None
        if unit is not None:
            current.append(unit)
            i = unit.last + 1
            continue
        if any(not u.weak for u in current):
            runs.append(current)
        current = []
        i += 1
    return runs


def joined(units: list[Digits]) -> str:
    """The digits of consecutive units."""
    return "".join(u.digits for u in units)
