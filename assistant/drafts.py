"""The model's reply to the answer prompt, read: its short answer, the evidence sentences its markers cite, and how
sure it was (its first token's probability of declining, its answer tokens' probabilities); and a yes/no reply's
P(yes). What the reply means for the answer is decided in assistant.answering."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

DECLINE_WORD = "NONE"  # what the answer prompt tells the model to reply when the evidence does not answer


@dataclass(frozen=True)
class Draft:
    """What the model replied, read: the short answer, the evidence it cites (0-based), and how sure it was."""

    short: str
    cited: list[int]
    declined: bool
    p_decline: float | None = None  # probability of the decline word as its first token, when reported
    confidence: float | None = None  # geometric-mean probability of the short answer's tokens, when reported


_MARKERS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def parse_draft(text: str, n_evidence: int, p_decline: float | None = None, confidence: float | None = None) -> Draft:
    """``Patrick Shanahan [2]`` (or ``[2] Patrick Shanahan``) -> Draft("Patrick Shanahan", [1]); NONE, "I don't know"
    or markers alone decline."""
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    cited = [int(n) - 1 for group in _MARKERS.findall(line) for n in group.split(",")]
    cited = list(dict.fromkeys(i for i in cited if 0 <= i < n_evidence))
    short = _MARKERS.sub(" ", line)
    short = " ".join(short.split()).strip(" .;:-–—\"'“”")
    declined = not re.search(r"\w", short) or short.upper().startswith(DECLINE_WORD) or _declines(short)
    return Draft(short="" if declined else short, cited=cited, declined=declined, p_decline=p_decline,
                 confidence=confidence)


def decline_probability(first_token: dict[str, float] | None) -> float | None:
    """The model's probability of starting its reply with the decline word (None when not reported)."""
    return None if first_token is None else _first_token_mass(first_token, DECLINE_WORD)


def answer_confidence(pieces: list[tuple[str, list[float]]]) -> float | None:
    """How sure the model was of its short answer's words: the geometric mean of their tokens' probabilities, from
    the streamed (text, token log-probabilities) pieces, markers left out. None when not reported. The first
    token's P(decline) says whether it meant to answer; this says whether it knew what (SQuAD 2.0 readers' classic
    no-answer signal)."""
    logprobs: list[float] = []
    inside = False
    for text, piece in pieces:
        if "\n" in text:
            break
        opens, closes = "[" in text, "]" in text
        if not (inside or opens or closes):
            logprobs += piece
        inside = (inside or opens) and not closes
    return math.exp(sum(logprobs) / len(logprobs)) if logprobs else None


def yes_probability(first_token: dict[str, float] | None) -> float | None:
    """P(yes) / (P(yes) + P(no)) of a one-word reply's first token (None when not reported or neither)."""
    if first_token is None:
        return None
    yes, no = _first_token_mass(first_token, "yes"), _first_token_mass(first_token, "no")
    return yes / (yes + no) if yes + no > 0 else None


def _first_token_mass(first_token: dict[str, float], word: str) -> float:
    """The probability of the candidate first tokens that spell ``word``, in any case and spacing."""
    return sum(p for token, p in first_token.items() if token.strip().casefold() == word.casefold())


def _declines(short: str) -> bool:
    return re.search(r"\b(?:i don'?t know|not (?:stated|mentioned|given|specified)|no information|cannot be "
                     r"determined|unanswerable)\b", short, re.IGNORECASE) is not None
