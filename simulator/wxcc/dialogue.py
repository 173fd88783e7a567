"""What the parties of a simulated call say: contact-centre dialogue lines per topic, chosen to fill a target length."""

from __future__ import annotations

import random
from dataclasses import dataclass

COMPANY = "Northwind"
SECONDS_PER_WORD = 0.36
"""Speaking rate the timings assume (about 165 words a minute)."""
TURN_OVERHEAD_S = 1.1
"""Per turn: its DTMF code, the pause after it, and the average silence before the next turn."""


@dataclass(frozen=True)
class Topic:
    """The lines of one kind of call: the customer's problem, question/answer pairs, resolutions, a consult."""

    problem: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    resolution: tuple[str, ...]
    consult: tuple[str, str]


TOPICS: dict[str, Topic] = {
    "billing": Topic(
        problem=(
            "Hi, I was charged twice for my subscription this month and I would like a refund for the extra charge.",
            "Hello, my last invoice is much higher than usual and I do not understand the new fees on it.",
            "Hi, I cancelled my plan last month but I still got billed again on the first.",
        ),
        pairs=(
            ("Which payment method did you use for that charge?", "It was my visa card ending in four two one."),
            ("Can you tell me the amount of the second charge?", "It was forty nine dollars and ninety nine cents."),
            ("When did you first notice the charge on your statement?", "I saw it on Monday morning."),
            ("Did you receive a confirmation email for the cancellation?", "Yes, I still have it in my inbox."),
            ("I can see the duplicate payment on your account now.", "Okay good, so it was a mistake on your side."),
        ),
        resolution=(
            "I have issued a refund for the duplicate charge, it should reach your card within five business days.",
            "I removed the late fee and applied a credit to your next invoice.",
        ),
        consult=(
            "Hi, I have a customer who was billed twice, can I refund the second charge directly?",
            "Yes, if it is within sixty days you can refund it from the payments screen.",
        ),
    ),
    "technical": Topic(
        problem=(
            "Hi, my internet keeps dropping every evening and the router lights turn orange.",
            "Hello, the mobile app crashes every time I try to log in since the last update.",
            "Hi, I cannot connect my new printer to the wireless network at home.",
        ),
        pairs=(
            (
                "Could you restart the router and tell me what the lights show?",
                "Okay, it is restarting, now it is green.",
            ),
            ("Which version of the app do you have installed?", "It says version three point two point one."),
            ("Have you tried reinstalling the app?", "Yes, twice, and it still crashes."),
            ("Is the device close to the router?", "It is in the next room, maybe five meters away."),
            ("I am running a line test from here, one moment.", "Sure, take your time."),
        ),
        resolution=(
            "I found a fault on the line and booked an engineer for Thursday morning.",
            "We pushed a fix for that crash, please update the app and it should work again.",
        ),
        consult=(
            "Hi, I have a customer whose connection drops every evening, is there a known outage in that area?",
            "There is planned maintenance there this week, the engineer visit is still the right step.",
        ),
    ),
    "orders": Topic(
        problem=(
            "Hi, my order was supposed to arrive yesterday but the tracking has not moved for four days.",
            "Hello, I received the wrong size and I would like to exchange it.",
            "Hi, one item was missing from the box that arrived this morning.",
        ),
        pairs=(
            ("Can I have your order number please?", "Yes, it is seven seven three, one two nine."),
            ("Which item is missing from the parcel?", "The blue jacket, the shoes were there."),
            ("What address should we send the replacement to?", "The same address as the original order."),
            ("Do you still have the original packaging?", "Yes, I kept the box and the label."),
            ("I can see the parcel is at the local depot.", "Oh, so it is not lost then."),
        ),
        resolution=(
            "I have sent a replacement with express delivery, you will get a tracking link by email.",
            "I created a return label for you and the exchange will ship as soon as we scan it.",
        ),
        consult=(
            "Hi, a customer is missing an item from a parcel, can we ship a replacement before the return?",
            "Yes, for orders under two hundred dollars we can send it right away.",
        ),
    ),
    "account": Topic(
        problem=(
            "Hi, I am locked out of my account after too many password attempts.",
            "Hello, I would like to change the email address on my account.",
            "Hi, I think someone else logged into my account last night.",
        ),
        pairs=(
            ("Can you confirm your date of birth for me?", "Sure, it is the twelfth of March."),
            ("What email address is on the account at the moment?", "It is my old work address."),
            ("Did you receive a security alert from us?", "Yes, at about eleven at night."),
            ("I am sending a verification code to your phone now.", "Okay, I got it, the code is four eight one."),
            ("Do you remember changing any settings recently?", "No, I have not changed anything."),
        ),
        resolution=(
            "I unlocked your account and sent you a link to set a new password.",
            "I secured the account, signed out every device and turned on two step verification.",
        ),
        consult=(
            "Hi, I have a customer with a suspicious login, should I reset the account or escalate it?",
            "Reset it now and open a security ticket so the fraud team can review it.",
        ),
    ),
}

_GENERIC_PAIRS = (
    ("Could I have your full name please?", "Yes, it is Alex Morgan."),
    ("And can you confirm the postcode on the account?", "It is nine four one zero seven."),
    ("Thank you, I have found your account.", "Great."),
    ("Let me just look into that for you, it will take a moment.", "Okay, thanks."),
    ("I am sorry about the trouble this has caused.", "Thanks, it has been quite frustrating."),
    ("Is the best number to reach you the one you are calling from?", "Yes, that is my mobile."),
    ("I am adding a note to your account so the team can see this.", "Okay, that sounds good."),
    ("Would you like a confirmation by email?", "Yes please, to the usual address."),
)

SENSITIVE_PAIRS = (
    (
        "Can I take the long number on the card please?",
        "Yes, it is four one one one, one one one one, one one one one,",
    ),
    ("Go on.", "one one one one."),
    (
        "And the expiry date and the security code on the back?",
        "It expires oh four twenty eight, the code is seven three seven.",
    ),
    ("What email address should we use?", "It is alex dot morgan at example dot com."),
    ("And the best phone number for you?", "It is oh seven nine one one, one two three, four five six."),
)
"""What a customer with `sensitive` lines reads out: a test card number split over two turns (Luhn-valid), its
expiry and CVV, an email and a phone number — the pipeline must redact all of them before storing or analysing."""

_GREETING = "Thank you for calling {company}, my name is {agent}. How can I help you today?"
_OUTBOUND_OPEN = ("Hello?", "Hi, this is {agent} calling from {company} about your recent request. Is now a good time?")
_OUTBOUND_REPLY = "Yes, go ahead. " + "{problem}"
_HOLD = ("Let me check that with a colleague, could you hold for a moment please?", "Sure, no problem.")
_BACK = "Thank you for holding, I have checked with my colleague."
_CLOSING = (
    "Is there anything else I can help you with today?",
    "No, that is all. Thank you very much for your help, goodbye.",
)
_CONSULT_CLOSE = ("Great, thanks for your help.", "No problem, bye.")


@dataclass(frozen=True)
class Line:
    """One thing one party says; `hold_after` marks where the consult call happens (the customer waits on hold)."""

    speaker: str  # "agent" | "customer" | "colleague"
    text: str
    hold_after: bool = False


def estimate_s(lines: list[Line]) -> float:
    """How long the lines take to say, with the per-turn overhead."""
    return sum(TURN_OVERHEAD_S + max(1, len(line.text.split())) * SECONDS_PER_WORD for line in lines)


def _trim(text: str, words: int) -> str:
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words]).rstrip(",.") + "."


def main_dialogue(
    rng: random.Random,
    *,
    topic: str,
    outbound: bool,
    agent: str,
    target_s: float,
    consult: bool,
    sensitive: bool = False,
) -> list[Line]:
    """Lines between agent and customer filling about `target_s`; with `consult`, one marked where the hold starts;
    with `sensitive`, the customer reads out card, email and phone details (`SENSITIVE_PAIRS`) after the opening."""
    corpus = TOPICS[topic]
    problem = rng.choice(corpus.problem)
    fill = {"company": COMPANY, "agent": agent, "problem": problem}
    if outbound:
        opening = [
            Line("customer", _OUTBOUND_OPEN[0]),
            Line("agent", _OUTBOUND_OPEN[1].format(**fill)),
            Line("customer", _OUTBOUND_REPLY.format(**fill)),
        ]
    else:
        opening = [Line("agent", _GREETING.format(**fill)), Line("customer", problem)]
    resolution = Line("agent", rng.choice(corpus.resolution))
    closing = [resolution, Line("agent", _CLOSING[0]), Line("customer", _CLOSING[1])]

    if estimate_s(opening + closing) > target_s:  # a short call: fewer closing lines, or two short turns
        for shorter in (opening + closing[1:], opening + closing[2:], opening):
            if estimate_s(shorter) <= target_s:
                return shorter
        first, second = (opening[1], opening[2]) if outbound else (opening[0], opening[1])
        words = max(2, int((target_s / 2 - TURN_OVERHEAD_S) / SECONDS_PER_WORD))
        return [Line(first.speaker, _trim(first.text, words)), Line(second.speaker, _trim(second.text, words))]

    middle: list[Line] = []
    pool: list[tuple[str, str]] = []
    while True:
        if not pool:  # every pair once before any repeats
            pool = list(corpus.pairs + _GENERIC_PAIRS)
            rng.shuffle(pool)
        question, answer = pool.pop()
        more = [Line("agent", question), Line("customer", answer)]
        if estimate_s(opening + middle + more + closing) > target_s:
            break
        middle += more
    if consult and middle:
        cut = 2 * rng.randint(1, len(middle) // 2)  # after a question/answer pair
        hold = [Line("agent", _HOLD[0]), Line("customer", _HOLD[1], hold_after=True), Line("agent", _BACK)]
        middle = middle[:cut] + hold + middle[cut:]
    if sensitive:
        middle = [Line(who, text) for q, a in SENSITIVE_PAIRS for who, text in (("agent", q), ("customer", a))] + middle
    return opening + middle + closing


def consult_dialogue(topic: str) -> list[Line]:
    """The agent's side call to a colleague while the customer holds."""
    question, answer = TOPICS[topic].consult
    return [
        Line("agent", question),
        Line("colleague", answer),
        Line("agent", _CONSULT_CLOSE[0]),
        Line("colleague", _CONSULT_CLOSE[1]),
    ]
