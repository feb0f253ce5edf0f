"""Citations: an evidence sentence, numbered, resolved to its exact span of a source (and its page and section), and
the answer's text built from them: the short answer in its quotes' words (less the question's own words at its
edges), its markers, then the quotes.

Every quote is the sentence as it stands in the source, so ``quote == source_text[start:end]`` always holds; what
is cited, and whether anything is, is decided in assistant.answering.
"""

from __future__ import annotations

import re

from bm25s.stopwords import STOPWORDS_EN

from . import questions
from .evidence import Sentence
from .locations import located
from .types import Citation, Passage


def cite(sentences: list[Sentence], passages: list[Passage], first: int = 1) -> list[Citation]:
    """Number the evidence sentences from ``first``, each with the page and section where it starts."""
    return [
        located(
            Citation(
                n=first + i,
                source=passages[s.passage].source,
                chunk_id=passages[s.passage].chunk_id,
                quote=s.text,
                start=s.start,
                end=s.end,
            ),
            passages[s.passage],
        )
        for i, s in enumerate(sentences)
    ]


def answer_text(short: str, citations: list[Citation]) -> str:
    """The short answer with its markers, a blank line, then each quote it rests on, cited:
    'Takeshi Iwaya [1].\n\n“… Japan Defense Minister Takeshi Iwaya …” [1]'. Without a short answer, the quotes."""
    quotes = " ".join(f"\u201c{c.quote}\u201d [{c.n}]" for c in citations)
    if not short:
        return quotes
    return f"{short.rstrip('.')} {''.join(f'[{c.n}]' for c in citations)}.\n\n{quotes}"


_PLAIN_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*[,;:]?")  # a word, no bracket or quote mark to keep whole
# A phrase of the question's words is cut only where it joins the answer by one of these: "perpendicular | to the
# velocity vector", "mass and force are | fixed"; never "applied | force" or "hospitals and | clinics".
_PREPOSITIONS = frozenset(
    "about above across after against along among around as at before behind below beneath beside between beyond by "
    "during for from in inside into near of off on onto over per since through throughout to toward towards under "
    "until upon via with within without".split())
_LEFT_JOINS = _PREPOSITIONS | {"a", "an", "the", "is", "are", "was", "were", "be", "been"}


def concise(short: str, question: str) -> str:
    """The short answer without a phrase of the question's own words at its edges: "violence against the
    government" to "…directed what action against the government?" is "violence". What a reader wants first is
    what the question did not already say; the words cut are still in the quotes. Never cut: a capitalised word
    (part of a name: "Institute of Oncology"), a word with a bracket or quote mark, an answer that adds nothing
    new."""
    asked = questions.stems(question)
    found = list(re.finditer(r"\S+", short))
    chunks = [c.group().rstrip(",;:") for c in found]

    def said(i: int) -> bool:
        return chunks[i].lower() in STOPWORDS_EN or questions.stems(chunks[i]) <= asked

    def cuttable(i: int) -> bool:
        named = chunks[i][0].isupper() and chunks[i].lower() not in _PREPOSITIONS  # "By connecting…" is no name
        return bool(_PLAIN_WORD.fullmatch(found[i].group())) and not named and said(i)

    first = 0
    while first < len(chunks) and cuttable(first):
        first += 1
    while first and chunks[first - 1].lower() not in _LEFT_JOINS:
        first -= 1
    last = len(chunks)
    while last > first and cuttable(last - 1):
        last -= 1
    while last < len(chunks) and chunks[last].lower() not in _PREPOSITIONS:
        last += 1
    if (first, last) == (0, len(chunks)) or all(said(i) for i in range(first, last)):
        return short
    return short[found[first].start():found[last - 1].end()].rstrip(",;:")


def verbatim(short: str, quotes: list[str]) -> str:
    """The short answer in its quote's own words ("5" -> "five", "radicalized" -> "radicalize"): the first run of a
    quote's words that reads as the answer's words do (``questions.stems``), else the answer as written. What users
    see, and what SQuAD scores, is then text of the cited sentence."""
    if not short or any(short in quote for quote in quotes):
        return short
    wanted = [stem for *_, stem in questions.word_spans(short)]
    if not wanted:
        return short
    for quote in quotes:
        spans = questions.word_spans(quote)
        for i in range(len(spans) - len(wanted) + 1):
            if [stem for *_, stem in spans[i:i + len(wanted)]] == wanted:
                return quote[spans[i][0]:spans[i + len(wanted) - 1][1]]
    return short
