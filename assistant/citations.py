"""Citations: verified, not trusted.

Every sentence of a model's draft is checked against the passages' sentences. A sentence is kept only with the
evidence sentence that supports it best, preferring the passage it cited; markers pointing nowhere are dropped,
missing markers added, and sentences nothing supports are removed (and reported). Each kept sentence gets a
fresh marker ``[n]`` whose ``Citation`` quotes the supporting sentence verbatim at its source offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .evidence import Sentence, content_words, passage_sentences, split_sentences, support_matrix
from .types import Citation, Passage

REFUSAL = "The documents don't say. None of the indexed passages answers this question."
# Support an answer sentence needs from one evidence sentence to be kept (eval/calibrate.py).
CLAIM_THRESHOLD = 0.55
CITED_MARGIN = 0.05
NOVEL_COVERAGE = 0.6  # share of a claim's new content words its passage must contain
_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_DECLINE = re.compile(
    r"\b(i don'?t know|i do not know|not (?:mentioned|stated|provided|specified|given)|no information|"
    r"(?:do|does) not (?:say|mention|contain|specify|provide)|cannot (?:be )?(?:determine|answer)|unknown)\b",
    re.IGNORECASE,
)


@dataclass
class Verified:
    text: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # draft sentences removed for lack of support

    @property
    def empty(self) -> bool:
        return not self.citations


def cite(sentences: list[Sentence], passages: list[Passage], first: int = 1) -> list[Citation]:
    """Number the evidence sentences from ``first``; each quote is the sentence as it stands in the source."""
    return [
        Citation(
            n=first + i,
            source=passages[s.passage].source,
            chunk_id=passages[s.passage].chunk_id,
            quote=s.text,
            start=s.start,
            end=s.end,
        )
        for i, s in enumerate(sentences)
    ]


def is_decline(draft: str) -> bool:
    return not draft.strip() or bool(_DECLINE.search(draft))


def parse_claims(draft: str, n_passages: int) -> list[tuple[str, list[int]]]:
    """(sentence without markers, 0-based passages it cites) per sentence; markers beyond range are dropped."""
    claims = []
    for start, end in split_sentences(draft):
        sentence = draft[start:end]
        cited = [int(n) - 1 for group in _MARKER.findall(sentence) for n in group.split(",")]
        text = _MARKER.sub("", sentence).strip()
        if re.search(r"\w", text):
            claims.append((text, sorted({i for i in cited if 0 <= i < n_passages})))
        elif claims:  # a marker split off as its own "sentence" belongs to the one before
            claims[-1][1].extend(i for i in cited if 0 <= i < n_passages)
    return claims


def grounded(claim: str, question: str, passage_text: str) -> bool:
    """What the claim adds to the question must come from the passage: its numbers all, most of its words.

    Catches a fluent sentence that borrows the passage's topic but not its facts ("signed on 19 April")."""
    novel = content_words(claim) - content_words(question)
    if not novel:
        return True
    found = content_words(passage_text)
    numbers = {w for w in novel if any(ch.isdigit() for ch in w)}
    return numbers <= found and len(novel & found) / len(novel) >= NOVEL_COVERAGE


def verify(draft: str, passages: list[Passage], embeddings, question: str = "") -> Verified:
    claims = parse_claims(draft, len(passages))
    evidence = passage_sentences(passages)
    if not claims or not evidence:
        return Verified(text="", unsupported=[c for c, _ in claims])
    # Scored as "question + claim", as calibrated: a short answer ("Patrick Shanahan.") means little alone.
    support = support_matrix([f"{question} {c}".strip() for c, _ in claims], [e.text for e in evidence], embeddings)
    # Grounded in what may be evidence, not the raw passage: an injected sentence must not vouch for its own echo.
    evidence_text = {i: " ".join(e.text for e in evidence if e.passage == i) for i in range(len(passages))}
    kept: list[tuple[str, Sentence]] = []
    unsupported: list[str] = []
    for row, (claim, cited) in enumerate(claims):
        if any(claim == seen for seen, _ in kept):
            continue  # a small model sometimes repeats itself
        best = max(range(len(evidence)), key=lambda j: support[row, j])
        if support[row, best] < CLAIM_THRESHOLD or not grounded(claim, question, evidence_text[evidence[best].passage]):
            unsupported.append(claim)
            continue
        # The model's own citation stands when it is about as good as the best; otherwise it is re-attributed.
        in_cited = [j for j in range(len(evidence)) if evidence[j].passage in cited]
        own = max(in_cited, key=lambda j: support[row, j], default=None)
        if own is not None and support[row, own] >= max(CLAIM_THRESHOLD, support[row, best] - CITED_MARGIN):
            best = own
        kept.append((claim, evidence[best]))
    citations = cite([e for _, e in kept], passages)
    text = " ".join(with_marker(claim, c.n) for (claim, _), c in zip(kept, citations))
    return Verified(text=text, citations=citations, unsupported=unsupported)


def with_marker(sentence: str, n: int) -> str:
    """The marker goes before a sentence's closing punctuation, as a reader expects: 'It is so [1].'"""
    body = sentence.rstrip()
    match = re.search(r"[.!?]+[\"'”’]*$", body)
    if match:
        return f"{body[: match.start()]} [{n}]{body[match.start():]}"
    return f"{body} [{n}]"
