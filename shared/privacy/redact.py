"""PCI/PII redaction of transcript text: card numbers (Luhn), CVVs and expiry dates near them, NI/SSN numbers,
emails and phone numbers, written or spoken, replaced by typed placeholders and counted.

Each speaker's segments are read as one stream of words (`shared.privacy.spoken`), so a card number said across two
segments ("four one one one, one one one one" … pause … "one one one one …") is found and each piece replaced.
Detectors run in order, and a word already redacted is never claimed twice:

    [CARD]    13-19 digits starting 2-6 that pass the Luhn check (spoken, written, grouped or not)
    [EXPIRY]  a date after "expiry"/"expires"/"valid until"…, or MM/YY, within `NEAR_CARD_WORDS` of a card
    [CVV]     3-4 digits after "security code"/"CVV"/"on the back"…, or right after a card, near a card
    [SSN]     ddd-dd-dddd, or 9 digits after "social security"/"SSN"
    [NI]      a UK National Insurance number (AB 12 34 56 C), written or spelt out
    [EMAIL]   name@domain.tld, or spoken "name dot name at domain dot com"
    [PHONE]   a valid phone number (`phonenumbers`, regions GB and US), written, or spoken as ≥ 10 digits

Negatives by construction: order numbers fail Luhn or the length, amounts and times are said with tens ("forty
nine", "eleven thirty") which end a digit run, and short numbers are only a CVV next to a card.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

from shared.privacy.spoken import Digits, Token, digit_runs, joined, tokenize

NEAR_CARD_WORDS = 40
REGIONS = ("GB", "US")


class Kind(StrEnum):
    """What was redacted; the placeholder is `[KIND]`."""

    CARD = "CARD"
    EXPIRY = "EXPIRY"
    CVV = "CVV"
    SSN = "SSN"
    NI = "NI"
    EMAIL = "EMAIL"
    PHONE = "PHONE"

    @property
    def placeholder(self) -> str:
        return f"[{self.value}]"


@dataclass(frozen=True)
class Found:
    """Tokens `first`..`last` of a stream are one `kind` of secret."""

    kind: Kind
    first: int
    last: int


@dataclass(frozen=True)
class Span:
    """Characters `start`..`end` of segment `segment` replaced by `kind`'s placeholder."""

    segment: int
    start: int
    end: int
    kind: Kind


@dataclass(frozen=True)
class Redacted:
    """Texts after redaction, what was replaced where, counts per kind (a secret split over segments counts once)."""

    texts: list[str]
    spans: list[Span]
    counts: dict[str, int]


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a card number."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_CARD_LENGTHS = (16, 15, 14, 13, 19, 18, 17)
_CVV_WORDS = {"cvv", "cvc", "cv2", "cvv2", "security", "code", "back"}
_EXPIRY_WORDS = {"expiry", "expires", "expire", "expiration", "exp", "valid", "until", "thru", "through"}
_MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}  # fmt: skip
_TENS = {"ten", "eleven", "twelve", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
_SSN_WORDS = {"social", "ssn"}
_TLDS = {"com", "net", "org", "io", "co", "uk", "de", "fr", "info", "biz", "edu", "gov", "me", "us", "ie", "eu"}
_NOT_A_NAME = {"is", "it's", "its", "address", "email", "e-mail", "mail", "me", "send", "to", "was", "and", "or"}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_NI = re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", re.IGNORECASE)
_MMYY = re.compile(r"(0?[1-9]|1[0-2]) ?/ ?(\d{2}|\d{4})")


class _Stream:
    """One speaker's words and the detections made so far (no token is claimed twice)."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.tokens = tokenize(texts)
        self.runs = digit_runs(self.tokens)
        self.found: list[Found] = []
        self.claimed: set[int] = set()

    def free(self, first: int, last: int) -> bool:
        return not any(i in self.claimed for i in range(first, last + 1))

    def claim(self, kind: Kind, first: int, last: int) -> bool:
        if not self.free(first, last):
            return False
        self.found.append(Found(kind, first, last))
        self.claimed.update(range(first, last + 1))
        return True

    def words_before(self, index: int, n: int) -> set[str]:
        return {t.word for t in self.tokens[max(0, index - n) : index]}

    def near(self, kind: Kind, index: int) -> bool:
        return any(f.kind is kind and abs(f.first - index) <= NEAR_CARD_WORDS for f in self.found)

    def regex(self, pattern: re.Pattern[str], kind: Kind, accept: Callable[[re.Match[str], int], bool]) -> None:
        """Claim the tokens under each match of `pattern` in each segment that `accept(match, first token)` takes."""
        for n, text in enumerate(self.texts):
            for match in pattern.finditer(text):
                inside = [
                    i
                    for i, t in enumerate(self.tokens)
                    if t.segment == n and t.start < match.end() and t.end > match.start()
                ]
                if inside and accept(match, inside[0]):
                    self.claim(kind, inside[0], inside[-1])


def _cards(stream: _Stream) -> None:
    for run in stream.runs:
        start = 0
        while start < len(run):
            hit = _card_at(run, start)
            if hit is None:
                start += 1
                continue
            end = hit
            stream.claim(Kind.CARD, run[start].first, run[end].last)
            start = end + 1


def _card_at(run: list[Digits], start: int) -> int | None:
    """The last unit of the card number starting at `run[start]`, preferring the commonest lengths."""
    if run[start].digits[0] not in "23456":
        return None
    ends: dict[int, int] = {}
    total = ""
    for end in range(start, len(run)):
        total += run[end].digits
        if len(total) > 19:
            break
        if len(total) >= 13 and luhn_valid(total):
            ends.setdefault(len(total), end)
    for length in _CARD_LENGTHS:
        if length in ends:
            return ends[length]
    return None


def _expiries(stream: _Stream) -> None:
    tokens = stream.tokens
    for i, token in enumerate(tokens):
        if token.word.rstrip(":") not in _EXPIRY_WORDS or not stream.near(Kind.CARD, i):
            continue
        j, last = i + 1, None
        while j < len(tokens) and j <= i + 8:
            word = tokens[j].word
            datey = word in _MONTHS or word in _TENS or re.fullmatch(r"[\d/.-]+", word) or word in ("oh", "o")
            datey = datey or word in _SPOKEN_DIGITS
            if datey:
                last = j
            elif word not in ("is", "the", "on", "of", "in", "date", "it", "it's", "and") or last is not None:
                break
            j += 1
        if last is not None:
            first = next(k for k in range(i + 1, last + 1) if tokens[k].word not in _FILLER)
            stream.claim(Kind.EXPIRY, first, last)
    stream.regex(_MMYY, Kind.EXPIRY, lambda _m, first: stream.near(Kind.CARD, first))


_SPOKEN_DIGITS = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "double"}
_FILLER = {"is", "the", "on", "of", "in", "date", "it", "it's", "and"}


def _unclaimed_runs(stream: _Stream) -> list[list[Digits]]:
    """The digit runs cut where earlier detectors claimed units ("4111 1111 1111 1111 737": the card, then 737)."""
    pieces: list[list[Digits]] = []
    for run in stream.runs:
        current: list[Digits] = []
        for unit in run:
            if stream.free(unit.first, unit.last):
                current.append(unit)
            elif current:
                pieces.append(current)
                current = []
        if current:
            pieces.append(current)
    return pieces


def _cvvs(stream: _Stream) -> None:
    cards = [f for f in stream.found if f.kind is Kind.CARD]
    for run in _unclaimed_runs(stream):
        digits = joined(run)
        first, last = run[0].first, run[-1].last
        if len(digits) not in (3, 4) or not stream.free(first, last) or not stream.near(Kind.CARD, first):
            continue
        asked = bool(stream.words_before(first, 8) & _CVV_WORDS)
        after_card = any(0 < first - c.last <= 3 for c in cards)
        if asked or after_card:
            stream.claim(Kind.CVV, first, last)


def _ssns(stream: _Stream) -> None:
    stream.regex(_SSN, Kind.SSN, lambda _m, _first: True)
    for run in _unclaimed_runs(stream):
        if len(joined(run)) == 9 and stream.words_before(run[0].first, 8) & _SSN_WORDS:
            stream.claim(Kind.SSN, run[0].first, run[-1].last)


def _nis(stream: _Stream) -> None:
    stream.regex(_NI, Kind.NI, lambda _m, _first: True)
    tokens = stream.tokens
    for run in stream.runs:  # spelt out: "Q Q one two three four five six C" / "QQ 12 34 56 C"
        first, last = run[0].first, run[-1].last
        if len(joined(run)) != 6 or last + 1 >= len(tokens) or not re.fullmatch(r"[a-d]", tokens[last + 1].word):
            continue
        before = [t.word for t in tokens[max(0, first - 2) : first]]
        letters = "".join(w for w in before if re.fullmatch(r"[a-z]{1,2}", w))[-2:]
        if len(letters) == 2:
            width = 1 if len(before[-1]) == 2 else 2
            stream.claim(Kind.NI, first - width, last + 1)


def _emails(stream: _Stream) -> None:
    stream.regex(_EMAIL, Kind.EMAIL, lambda _m, _first: True)
    tokens = stream.tokens
    for i, token in enumerate(tokens):
        if token.word != "at" or i == 0:
            continue
        end = _dotted(tokens, i + 1, +1)
        if end is None or tokens[end].word not in _TLDS or end == i + 1:
            continue
        start = _dotted(tokens, i - 1, -1)
        if start is None or tokens[i - 1].word in _NOT_A_NAME:
            continue
        stream.claim(Kind.EMAIL, start, end)


def _dotted(tokens: list[Token], i: int, step: int) -> int | None:
    """From word `i`, the far end of "word dot word dot …" going `step`; None when `i` is no word."""
    if not 0 <= i < len(tokens) or not re.fullmatch(r"[\w-]+", tokens[i].word):
        return None
    end = i
    while 0 <= end + 2 * step < len(tokens) and tokens[end + step].word in ("dot", "underscore", "hyphen", "dash"):
        if not re.fullmatch(r"[\w-]+", tokens[end + 2 * step].word):
            break
        if step < 0 and tokens[end + 2 * step].word in _NOT_A_NAME:
            break
        end += 2 * step
    return end


def _phones(stream: _Stream) -> None:
    for n, text in enumerate(stream.texts):
        for region in REGIONS:
            for match in phonenumbers.PhoneNumberMatcher(text, region):
                inside = [
                    i
                    for i, t in enumerate(stream.tokens)
                    if t.segment == n and t.start < match.end and t.end > match.start
                ]
                if inside:
                    stream.claim(Kind.PHONE, inside[0], inside[-1])
    for run in _unclaimed_runs(stream):
        digits = joined(run)
        first, last = run[0].first, run[-1].last
        plus = first > 0 and stream.tokens[first - 1].word == "plus"
        if not 10 <= len(digits) <= 13 or not stream.free(first, last):
            continue
        if _valid_phone(("+" if plus else "") + digits):
            stream.claim(Kind.PHONE, first - 1 if plus else first, last)


def _valid_phone(number: str) -> bool:
    for region in REGIONS:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


DETECTORS: tuple[Callable[[_Stream], None], ...] = (_cards, _expiries, _cvvs, _ssns, _nis, _emails, _phones)


def redact_texts(texts: Sequence[str]) -> Redacted:
    """Redact one speaker's consecutive texts (segments), read as one stream."""
    stream = _Stream(list(texts))
    for detect in DETECTORS:
        detect(stream)
    spans: list[Span] = []
    for found in stream.found:
        pieces: dict[int, tuple[int, int]] = {}
        for token in stream.tokens[found.first : found.last + 1]:
            start, end = pieces.get(token.segment, (token.start, token.end))
            pieces[token.segment] = (min(start, token.start), max(end, token.end))
        spans.extend(Span(seg, start, end, found.kind) for seg, (start, end) in pieces.items())
    out = list(texts)
    for span in sorted(spans, key=lambda s: (s.segment, -s.start)):
        text = out[span.segment]
        out[span.segment] = text[: span.start] + span.kind.placeholder + text[span.end :]
    counts = Counter(f.kind.value for f in stream.found)
    return Redacted(out, sorted(spans, key=lambda s: (s.segment, s.start)), dict(sorted(counts.items())))


def redact_text(text: str) -> tuple[str, dict[str, int]]:
    """Redact one text on its own."""
    result = redact_texts([text])
    return result.texts[0], result.counts
