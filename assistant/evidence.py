"""Sentences of retrieved passages as citable evidence, and how well a claim is supported by one.

Shared by the extractive answerer (question -> best sentences) and citation checking (answer sentence -> the
sentences that support it). Support mixes meaning (embedding cosine) with wording (stemmed content-word overlap):
cosine alone rates on-topic-but-different claims too high, overlap alone misses paraphrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pysbd
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from .injection import injected
from .types import Passage

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(STOPWORDS_EN) | {"s", "t", "said", "say", "says", "also", "according", "yes", "no"}
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_MONTHS = {m[:3]: m for m in ("january", "february", "march", "april", "may", "june", "july", "august",
                              "september", "october", "november", "december")} | {"sept": "september"}
LEXICAL_WEIGHT = 0.35  # share of the support score that comes from word overlap (eval/calibrate.py)


@dataclass(frozen=True)
class Sentence:
    """A sentence of passage ``passage`` (0-based index into the passages) at source offsets [start, end)."""

    passage: int
    text: str
    start: int
    end: int


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, whitespace trimmed; always verbatim spans of ``text``."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for block in re.finditer(r"[^\n]+", text):  # a line break always ends a sentence (titles, list items)
        for span in _segmenter().segment(block.group()):
            piece = span.sent.strip()
            if not piece:
                continue
            start = text.find(piece, max(cursor, block.start()))
            if start < 0:
                continue
            spans.append((start, start + len(piece)))
            cursor = start + len(piece)
    return spans


def passage_sentences(passages: list[Passage]) -> list[Sentence]:
    sentences = []
    for i, p in enumerate(passages):
        spans = split_sentences(p.text)
        inert = injected([p.text[s:e] for s, e in spans])  # orders to the model are never evidence (injection.py)
        sentences += [Sentence(i, p.text[s:e], p.start + s, p.start + e) for (s, e), bad in zip(spans, inert) if not bad]
    return sentences


def content_words(text: str) -> set[str]:
    """Stemmed words that carry content; "19th" counts as "19" and "Apr" as "april", as a reader would."""
    words = [_MONTHS.get(w, _ORDINAL.sub(r"\1", w)) for w in _WORD.findall(text.lower()) if w not in _STOP]
    return set(_stemmer().stemWords(words))


def overlap(claim: str, evidence: str) -> float:
    """Share of the claim's content words found in the evidence (0 when the claim has none)."""
    words = content_words(claim)
    return len(words & content_words(evidence)) / len(words) if words else 0.0


def support_matrix(claims: list[str], evidence: list[str], embeddings) -> np.ndarray:
    """support[i, j]: how well evidence j supports claim i, in about [0, 1]."""
    if not claims or not evidence:
        return np.zeros((len(claims), len(evidence)))
    vectors = np.asarray(embeddings.embed_documents(claims + evidence))
    cosine = vectors[: len(claims)] @ vectors[len(claims) :].T
    lexical = np.array([[overlap(c, e) for e in evidence] for c in claims])
    return (1 - LEXICAL_WEIGHT) * cosine + LEXICAL_WEIGHT * lexical
