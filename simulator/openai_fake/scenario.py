"""The true analysis of a simulated call, read from its transcript with the simulator's own dialogue corpus.

Every simulated call is built from `simulator.wxcc.dialogue`: one topic, one of that topic's problems, question/answer
pairs, maybe a hold for a consult, and (unless the call is cut short) one of the topic's resolutions and a closing.
Those lines are distinct, so the transcript in the prompt tells which scenario was played, and the analysis follows
from it: the reason and topics of the problem, resolved when a resolution was said, the customer's sentiment from
what they said (frustration, thanks) and how it ended, QA flags quoting the very lines that support them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from simulator.wxcc.dialogue import _CLOSING, _HOLD, _OUTBOUND_REPLY, TOPICS

# Per topic, per problem line (same order as `TOPICS[topic].problem`): the reason for the call and its topics.
PROBLEMS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "billing": (
        ("Charged twice for the subscription this month; wants the duplicate charge refunded", ("billing", "refund")),
        ("Latest invoice much higher than usual because of new fees", ("billing", "invoice")),
        ("Billed again after cancelling the plan", ("billing", "cancellation")),
    ),
    "technical": (
        ("Internet connection drops every evening", ("technical support", "connectivity")),
        ("Mobile app crashes at login since the last update", ("technical support", "mobile app")),
        ("Cannot connect a new printer to the home wireless network", ("technical support", "wifi")),
    ),
    "orders": (
        ("Order delayed: tracking has not moved for four days", ("orders", "delivery")),
        ("Received the wrong size and wants an exchange", ("orders", "exchange")),
        ("An item was missing from the delivered parcel", ("orders", "missing item")),
    ),
    "account": (
        ("Locked out of the account after too many password attempts", ("account", "login")),
        ("Wants to change the email address on the account", ("account", "profile change")),
        ("Suspects someone else logged into the account", ("account", "security")),
    ),
}
ACTIONS: dict[str, tuple[str, ...]] = {  # per topic, per resolution line
    "billing": (
        "Refund the duplicate charge within five business days",
        "Credit the removed late fee on the next invoice",
    ),
    "technical": ("Engineer visit booked for Thursday morning", "Customer to update the app to get the crash fix"),
    "orders": (
        "Ship the replacement by express delivery and email tracking",
        "Ship the exchange once the return is scanned",
    ),
    "account": (
        "Customer to set a new password from the emailed link",
        "Two-step verification turned on; every device signed out",
    ),
}
UNCLEAR_REASON = "Unknown: the call was cut off before the customer explained"
FRUSTRATED = "Thanks, it has been quite frustrating."
APOLOGY = "I am sorry about the trouble this has caused."
VERIFICATION = ("Can you confirm your date of birth for me?", "I am sending a verification code to your phone now.")

_OUTBOUND_REPLY_PREFIX = _OUTBOUND_REPLY.split("{")[0]
_LINE = re.compile(r"^\[[\d:]+\]\s*(?P<speaker>[\w-]+):\s*(?P<text>.+)$")


@dataclass(frozen=True)
class Said:
    speaker: str
    text: str


def _lines(dialogue: str) -> list[Said]:
    found = (_LINE.match(line.strip()) for line in dialogue.splitlines())
    return [Said(m["speaker"], m["text"].strip()) for m in found if m]


def _said(lines: list[Said], text: str) -> Said | None:
    """The line that says `text`, as it is or within a longer line (an outbound call's "Yes, go ahead. {problem}")."""
    return next((line for line in lines if text in line.text), None)


def _cut_short(lines: list[Said], text: str) -> Said | None:
    """The line that says the first words of `text` (a very short call's two lines are cut and end with '.')."""
    for line in lines:
        stem = line.text.removeprefix(_OUTBOUND_REPLY_PREFIX).rstrip(".").strip()
        if len(stem.split()) >= 2 and text.startswith(stem):
            return line
    return None


def _scenario(lines: list[Said]) -> tuple[str, int, Said] | Literal["unclear"] | None:
    """The topic, the problem's index and the line that states it; "unclear" when the call was cut so short that its
    first words fit several problems; None when no line is one of the simulator's problems."""
    problems = [(topic, index, text) for topic, corpus in TOPICS.items() for index, text in enumerate(corpus.problem)]
    for match in (_said, _cut_short):
        found = [(topic, index, line) for topic, index, text in problems if (line := match(lines, text)) is not None]
        if len(found) == 1:
            return found[0]
        if found:
            return "unclear"
    return None


def _unclear(lines: list[Said]) -> dict[str, Any]:
    """A call cut off after a few words: nothing to analyse but that."""
    return {
        "summary": "The call ended after a few words, before the customer could explain the reason for calling.",
        "reason_for_call": UNCLEAR_REASON,
        "topics": ["short call"],
        "resolved": False,
        "customer_sentiment": "neutral",
        "agent_sentiment": "neutral",
        "action_items": ["Call the customer back to find out why they called"],
        "qa_flags": [{"flag": "call_ended_unresolved", "severity": "warning", "evidence": lines[-1].text}],
        "language": "en",
    }


def true_analysis(dialogue: str) -> dict[str, Any] | None:
    """The analysis (the fields of `shared.analysis.CallAnalysis`) of the simulated call in `dialogue`; None when
    the transcript is not one of the simulator's calls."""
    lines = _lines(dialogue)
    scenario = _scenario(lines)
    if scenario is None:
        return None
    if scenario == "unclear":
        return _unclear(lines)
    topic, index, problem_line = scenario
    reason, topics = PROBLEMS[topic][index]
    resolution = next(
        ((i, line) for i, text in enumerate(TOPICS[topic].resolution) if (line := _said(lines, text)) is not None),
        None,
    )
    resolved = resolution is not None
    frustrated = _said(lines, FRUSTRATED)
    thanked = _said(lines, _CLOSING[1])
    hold = _said(lines, _HOLD[0])
    consulted = any(line.speaker == "agent2" for line in lines)

    if resolved:
        customer = "neutral" if frustrated else ("very_positive" if thanked else "positive")
    else:
        customer = "very_negative" if frustrated else ("neutral" if thanked else "negative")
    flags: list[dict[str, str]] = []
    if topic == "account":
        check = next((line for text in VERIFICATION if (line := _said(lines, text)) is not None), None)
        if check is None:
            flags.append({"flag": "identity_not_verified", "severity": "critical", "evidence": problem_line.text})
        else:
            flags.append({"flag": "identity_verified", "severity": "info", "evidence": check.text})
    if hold is not None:
        flags.append({"flag": "customer_put_on_hold", "severity": "info", "evidence": hold.text})
    if (apology := _said(lines, APOLOGY)) is not None:
        flags.append({"flag": "agent_apologised", "severity": "info", "evidence": apology.text})
    if resolution is None:
        flags.append({"flag": "call_ended_unresolved", "severity": "warning", "evidence": lines[-1].text})

    actions = (
        [ACTIONS[topic][resolution[0]]]
        if resolution is not None
        else [f"Call the customer back: {reason[:1].lower()}{reason[1:]}"]
    )
    outcome = resolution[1].text if resolution is not None else "The call ended before the issue was resolved."
    summary = f"{reason}. {'The agent consulted a colleague while the customer held. ' if consulted else ''}{outcome}"
    return {
        "summary": summary,
        "reason_for_call": reason,
        "topics": list(topics) + (["consult"] if consulted else []),
        "resolved": resolved,
        "customer_sentiment": customer,
        "agent_sentiment": "positive" if resolved else "neutral",
        "action_items": actions,
        "qa_flags": flags,
        "language": "en",
    }


def answer(schema: dict[str, Any], dialogue: str) -> dict[str, Any] | None:
    """The true analysis when `schema` asks for exactly its fields (the analyze stage's structured output)."""
    truth = true_analysis(dialogue)
    if truth is None or set(schema.get("properties", {})) != set(truth):
        return None
    return truth
