"""Redaction of card numbers, CVVs, expiry dates, NI/SSN numbers, emails and phone numbers, spoken and written."""

from __future__ import annotations

import pytest

from shared.privacy.redact import luhn_valid, redact_text, redact_texts
from shared.privacy.spoken import digit_runs, joined, tokenize
from shared.privacy.transcript import redact_transcript
from shared.transcripts import Segment, Transcript
from simulator.openai_fake.pci import card_numbers

SECRETS = [
    # cards: spoken, written, grouped, split, double/triple/oh, other brands
    ("Yes, it is four one one one, one one one one, one one one one, one one one one.", "CARD", "four"),
    ("the card is 4111 1111 1111 1111", "CARD", "1111"),
    ("card number 4111-1111-1111-1111 thanks", "CARD", "4111"),
    ("it's 4111111111111111", "CARD", "4111"),
    ("five five five five, five five five five, double five five five, four four four four", "CARD", "five"),
    ("four triple one, one one one one, one one one one, one one one one", "CARD", "triple"),
    ("three seven eight two, eight two two four, six three one oh, double oh five", "CARD", "seven"),
    ("Four Zero Zero Zero Zero Five Six Six Five Five Six Six Five Five Five Six", "CARD", "Zero"),
    ("6011 1111 1111 1117 is my discover", "CARD", "6011"),
    ("2223 0031 2200 3222", "CARD", "2223"),
    ("the number is four oh oh oh, oh five six six, five five six six, five five five six", "CARD", "oh"),
    # CVV and expiry near a card
    ("4111 1111 1111 1111, security code seven three seven", "CVV", "seven three"),
    ("4111 1111 1111 1111 and the CVV is 123", "CVV", "123"),
    ("4111 1111 1111 1111 737", "CVV", "737"),
    ("4111 1111 1111 1111 expiry 04/28", "EXPIRY", "04/28"),
    ("4111 1111 1111 1111, it expires oh four twenty eight", "EXPIRY", "twenty"),
    ("4111 1111 1111 1111 valid until March twenty twenty seven", "EXPIRY", "March"),
    # emails
    ("It is alex dot morgan at example dot com.", "EMAIL", "morgan"),
    ("send it to a.b+x@example.co.uk please", "EMAIL", "example"),
    ("my email is jsmith at gmail dot com", "EMAIL", "jsmith"),
    # phones
    ("call me on oh seven nine one one, one two three, four five six", "PHONE", "nine one one"),
    ("my number is +44 20 7946 0958", "PHONE", "7946"),
    ("(415) 555-2671 is my cell", "PHONE", "555"),
    ("it is plus four four seven nine one one one two three four five six", "PHONE", "plus"),
    ("020 7946 0958", "PHONE", "7946"),
    # national numbers
    ("my NI number is QQ 12 34 56 C", "NI", "QQ"),
    ("it's AB123456D", "NI", "AB123456D"),
    ("q q one two three four five six c", "NI", "three"),
    ("social security number one two three four five six seven eight nine", "SSN", "five"),
    ("SSN 123-45-6789", "SSN", "6789"),
]

NEGATIVES = [
    "Yes, it is seven seven three, one two nine.",  # order number
    "order number 1234567812345678",  # 16 digits, Luhn fails
    "reference 4111 1111 1111 1112",  # Luhn fails
    "It was forty nine dollars and ninety nine cents.",
    "It cost $1,249.99 in total",
    "I saw it at eleven thirty on Monday",
    "the meeting is at 10:30 tomorrow",
    "Okay, I got it, the code is four eight one.",  # a code, but no card anywhere near
    "It was my visa card ending in four two one.",
    "Oh, so it is not lost then.",
    "It is nine four one zero seven.",  # a postcode
    "It says version three point two point one.",
    "Yes, at about eleven at night.",
    "we met at the office dot com launch",  # "at" without a name before it
    "12345678",
]


@pytest.mark.parametrize(("text", "kind", "gone"), SECRETS)
def test_each_secret_is_replaced_by_its_placeholder(text: str, kind: str, gone: str) -> None:
    redacted, counts = redact_text(text)
    assert f"[{kind}]" in redacted, redacted
    assert counts.get(kind) == 1, counts
    assert gone not in redacted, redacted
    assert not card_numbers(redacted), redacted


@pytest.mark.parametrize("text", NEGATIVES)
def test_order_numbers_times_and_amounts_are_kept(text: str) -> None:
    assert redact_text(text) == (text, {})


def test_a_card_split_across_segments_is_found_and_counted_once() -> None:
    result = redact_texts(["Yes, it is four one one one, one one one one,", "one one one one, one one one one."])
    assert result.texts == ["Yes, it is [CARD],", "[CARD]."]
    assert result.counts == {"CARD": 1}
    assert [s.segment for s in result.spans] == [0, 1]


def test_a_transcript_is_redacted_per_speaker_stream_with_time_spans() -> None:
    transcript = Transcript(
        task_id="t1",
        model="m",
        segments=[
            Segment(speaker="customer", start=1, end=3, text="it is four one one one, one one one one,"),
            Segment(speaker="agent", start=3, end=4, text="Go on."),
            Segment(speaker="customer", start=4, end=6, text="one one one one, one one one one."),
            Segment(speaker="customer", start=7, end=9, text="and it is alex at example dot com"),
        ],
    )
    redacted, spans = redact_transcript(transcript)
    assert [s.text for s in redacted.segments] == ["it is [CARD],", "Go on.", "[CARD].", "and it is [EMAIL]"]
    assert redacted.redactions == {"CARD": 1, "EMAIL": 1}
    assert {(s.speaker, s.leg) for s in spans} == {("customer", "main")}
    card = sorted(spans, key=lambda s: s.start)[:2]
    assert card[0].start < 2 and card[0].end >= 3 and card[1].start <= 4 and card[1].end >= 5.9


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112") and not luhn_valid("41x1")


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("four one one one", ["4111"]),
        ("double four, triple oh", ["44000"]),
        ("oh seven nine", ["079"]),
        ("Oh, so it is not lost", []),  # a lone "oh" is a word
        ("forty nine", ["9"]),  # tens end a run: only the "nine" is a digit
        ("1234-5678 and 99", ["12345678", "99"]),
        ("double", []),
        ("one.\ntwo", ["12"]),
    ],
)
def test_spoken_digit_runs(text: str, digits: list[str]) -> None:
    assert [joined(run) for run in digit_runs(tokenize([text]))] == digits


def test_the_fakes_second_reading_sees_a_spoken_card() -> None:
    assert card_numbers("[00:12] customer: it is four one one one, one one one one, one one one one, one one one one")
    assert not card_numbers("[00:12] customer: it is seven seven three, one two nine. [00:15] agent: thanks")
