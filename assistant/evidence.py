"""Sentences of retrieved passages as citable evidence, each a verbatim span of its source.

Sentences that address the reader's model are left out: they are never evidence of anything, so they never reach
a prompt and are never quoted. Which sentences answer a question is assistant.answering's business.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pysbd

from .injection import injected
from .types import Passage



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


@lru_cache(maxsize=4096)  # the same chunks come back question after question
def split_sentences(text: str) -> tuple[tuple[int, int], ...]:
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
    return tuple(spans)


def passage_sentences(passages: list[Passage]) -> list[Sentence]:
    sentences = []
    for i, p in enumerate(passages):
        spans = split_sentences(p.text)
        inert = injected([p.text[s:e] for s, e in spans])  # orders to the model are never evidence (injection.py)
        sentences += [Sentence(i, p.text[s:e], p.start + s, p.start + e) for (s, e), bad in zip(spans, inert) if not bad]
    return sentences


class VectorCache:
    """Embeddings of recently seen sentences: the same passages come back question after question, and embedding
    them again was most of the time to the first evidence. Bounded, least recently used out first."""

    def __init__(self, embeddings, size: int = 20_000):
        self.embeddings = embeddings
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, np.asarray(self.embeddings.embed_documents(missing))))
        with self._lock:
            for t in dict.fromkeys(texts):
                self._vectors[t] = known[t]
                self._vectors.move_to_end(t)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return np.stack([known[t] for t in texts])
