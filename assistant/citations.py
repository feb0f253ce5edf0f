"""Citations: an evidence sentence, numbered, resolved to its exact span of a source (and its page and section).

Every quote is the sentence as it stands in the source, so ``quote == source_text[start:end]`` always holds; what
is cited, and whether anything is, is decided in assistant.answering.
"""

from __future__ import annotations

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
