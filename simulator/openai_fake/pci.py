"""The fake's own PCI check: does a prompt hold a payment card number (written or spoken), Luhn-valid?

Written apart from `shared.privacy` on purpose, so the pipeline's redaction is checked by a second reading.
"""

from __future__ import annotations

import re

_WORDS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
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
_REPEAT = re.compile(r"\b(double|triple)\s+(zero|oh|o|one|two|three|four|five|six|seven|eight|nine|\d)\b", re.I)
_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.I)
_DIGITS = re.compile(r"\d(?:[\s,.\-]*\d)*")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _as_digits(text: str) -> str:
    def repeat(m: re.Match[str]) -> str:
        digit = _WORDS.get(m.group(2).lower(), m.group(2))
        return " ".join(digit * (2 if m.group(1).lower() == "double" else 3))

    text = _REPEAT.sub(repeat, text)
    return _WORD.sub(lambda m: _WORDS[m.group(1).lower()], text)


def card_numbers(text: str) -> list[str]:
    """Every Luhn-valid 13-19 digit stretch (starting 2-6) of the text's digit runs, spoken digits read as digits."""
    found: list[str] = []
    for run in _DIGITS.finditer(_as_digits(text)):
        digits = re.sub(r"\D", "", run.group())
        for start in range(len(digits)):
            if digits[start] not in "23456":
                continue
            for length in range(13, 20):
                window = digits[start : start + length]
                if len(window) == length and _luhn(window):
                    found.append(window)
    return found
