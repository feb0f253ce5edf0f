"""Citations: an evidence sentence, numbered, resolved to its exact span of a source (and its page and section), and
the answer's text built from them: the short answer in its quotes' words, its markers, then the quotes.

Every quote is the sentence as it stands in the source, so ``quote == source_text[start:end]`` always holds; what
is cited, and whether anything is, is decided in assistant.answering.
"""

from __future__ import annotations

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
