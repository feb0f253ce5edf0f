"""Hybrid retrieval: BM25 and dense search over the same live chunks, fused, overlapping chunks merged.

Fusion is a convex combination of min-max normalised scores, BM25 weighted 0.55 (tuned on SciFact's train split
only, eval/bench_retrieval.py). On the 300 SciFact test queries it scores nDCG@10 0.732 against 0.723 for
reciprocal-rank fusion (k=60), 400 candidates per list (eval/reports/scifact). RRF stays selectable
(``fusion="rrf"``) for comparison.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import bm25s
import numpy as np
import Stemmer

from . import locations
from .store import Index
from .types import Passage

RRF_C = 60  # the constant of Cormack et al. 2009; damps the head of each list
WEIGHTS = (0.45, 0.55)  # (dense, BM25)


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25 terms: lower-cased words, English stop words removed, stemmed (measured: eval/bench_retrieval.py).
    A stemmer per call, as PyStemmer's are not thread-safe and searches run on several threads."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False,
                          show_progress=False)


class BM25:
    """bm25s over the chunks' tokens."""

    def __init__(self, ids: list[str], tokens: list[list[str]]):
        self.ids = ids
        self._model = bm25s.BM25()
        if ids:
            self._model.index(tokens, show_progress=False)

    def search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` chunks for ``query``; with ``allowed``, among those chunk ids only (scored, not post-filtered)."""
        terms = [t for t in tokenize([query])[0] if t in self._model.vocab_dict] if self.ids else []
        if not terms:
            return []  # only stop words or unseen terms: BM25 has nothing to say
        mask = None if allowed is None else np.fromiter((i in allowed for i in self.ids), np.float32, len(self.ids))
        hits, scores = self._model.retrieve([terms], k=min(k, len(self.ids)), show_progress=False, n_threads=1,
                                            weight_mask=mask)
        return [(self.ids[i], float(s)) for i, s in zip(hits[0], scores[0]) if s > 0]


def reciprocal_rank_fusion(scored: list[dict[str, float]], weights: list[float], c: int = RRF_C) -> dict[str, float]:
    fused: dict[str, float] = {}
    for scores, weight in zip(scored, weights):
        for rank, chunk_id in enumerate(sorted(scores, key=scores.get, reverse=True), start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (c + rank)
    return fused


def convex_fusion(scored: list[dict[str, float]], weights: list[float]) -> dict[str, float]:
    """Min-max normalise each retriever's scores, then a weighted sum; a chunk missing from a list gets 0 there."""
    fused: dict[str, float] = {}
    for scores, weight in zip(scored, weights):
        if not scores:
            continue
        low, high = min(scores.values()), max(scores.values())
        for chunk_id, score in scores.items():
            norm = (score - low) / (high - low) if high > low else 1.0
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight * norm
    return fused


FUSIONS = {"convex": convex_fusion, "rrf": reciprocal_rank_fusion}


def _touches(a: Passage, b: Passage) -> bool:
    return a.source == b.source and a.start <= b.end and b.start <= a.end


def _merge(a: Passage, b: Passage) -> Passage:
    """One passage covering two overlapping spans of a source; keeps the better-ranked one's id and scores."""
    first, second = (a, b) if a.start <= b.start else (b, a)
    text = first.text + second.text[first.end - second.start :] if second.end > first.end else first.text
    return replace(a, text=text, start=first.start, end=max(first.end, second.end),
                   relevance=max(a.relevance, b.relevance), locations=locations.merged(a.locations, b.locations))


def collapse(ranked: list[Passage], k: int) -> list[Passage]:
    """Merge overlapping chunks of one source into a single passage, drop exact duplicates, keep rank order."""
    kept: list[Passage] = []
    seen_texts: set[str] = set()
    for passage in ranked:
        if passage.text in seen_texts:
            continue
        for i, other in enumerate(kept):
            if _touches(other, passage):
                kept[i] = _merge(other, passage)
                break
        else:
            if len(kept) == k:
                continue
            kept.append(passage)
        seen_texts.add(passage.text)
    return kept


# Candidates per list: SciFact nDCG@10 0.715 at 30, 0.722 at 100, 0.725 at 400 (eval/reports/scifact/pools.md).
FETCH_K = 100


class Retriever:
    def __init__(self, index: Index, *, fetch_k: int = FETCH_K, weights: tuple[float, float] = WEIGHTS,
                 fusion: str = "convex"):
        self.index = index
        self.fetch_k = fetch_k
        self.weights = list(weights)  # (dense, bm25)
        self.fuse = FUSIONS[fusion]
        self._bm25: tuple[str, BM25] | None = None
        self._tokens: dict[str, list[str]] = {}  # chunk id -> BM25 tokens, kept between builds
        self._bm25_lock = threading.Lock()

    def bm25(self) -> BM25:
        """Brought up to date when the index's generation changes (another process may have ingested). Only chunks
        new since the last build are read and tokenized; the rest come from the previous build, so an ingest into
        a large index costs a re-index of cached tokens, not a re-read of every chunk (eval/bench_latency.py)."""
        generation = self.index.generation()
        with self._bm25_lock:
            if self._bm25 is None or self._bm25[0] != generation:
                live = self.index.live_chunk_ids()
                tokens = {i: self._tokens[i] for i in live if i in self._tokens}
                new = self.index.chunk_texts([i for i in live if i not in tokens])
                tokens.update(zip(new, tokenize(list(new.values()))))
                self._tokens = tokens
                self._bm25 = (generation, BM25(list(tokens), list(tokens.values())))
            return self._bm25[1]

    def dense(self, query_vector: list[float], k: int,
              sources: list[str] | None = None) -> list[tuple[str, float, dict, str]]:
        where = None if sources is None else {"source": {"$in": sources}}  # Chroma filters before ranking
        hits = self.index.vectorstore.similarity_search_by_vector_with_relevance_scores(query_vector, k=k, filter=where)
        committed = self.index.committed()  # once per search: it reads the manifest
        # langchain_chroma returns cosine *distance* here; readers only see committed document versions
        return [(d.id, 1.0 - dist, d.metadata, d.page_content) for d, dist in hits
                if committed.get(d.metadata.get("source")) == d.metadata.get("doc_sha256")]

    def search(self, question: str, k: int = 5, sources: list[str] | None = None) -> list[Passage]:
        """The ``k`` best passages; with ``sources``, from those documents only. The filter is applied inside both
        searches, so the candidates within the chosen documents are the ones they would get indexed alone."""
        if sources is not None and not sources:
            return []
        self.index.refresh()
        query_vector = self.index.embeddings.embed_query(question)
        dense = self.dense(query_vector, self.fetch_k, sources)
        allowed = None if sources is None else set(self.index.live_chunk_ids(sources))
        lexical = self.bm25().search(question, self.fetch_k, allowed)
        fused = self.fuse([{h[0]: h[1] for h in dense}, dict(lexical)], self.weights)
        order = sorted(fused, key=fused.get, reverse=True)[: self.fetch_k]
        if not order:
            return []
        known = {h[0]: h for h in dense}
        missing = [i for i in order if i not in known]
        if missing:  # BM25-only hits: fetch text and vector so every passage has a comparable relevance
            got = self.index.chunks.get(ids=missing, include=["documents", "metadatas", "embeddings"])
            q = np.asarray(query_vector)
            for i, text, meta, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
                known[i] = (i, float(np.dot(q, vec)), meta, text)
        ranked = [
            Passage(
                chunk_id=i,
                source=known[i][2]["source"],
                text=known[i][3],
                start=known[i][2]["start"],
                end=known[i][2]["end"],
                title=known[i][2].get("title", ""),
                chunk_index=known[i][2].get("chunk_index", 0),
                score=fused[i],
                relevance=known[i][1],
                locations=locations.decode(known[i][2]),
            )
            for i in order
            if i in known
        ]
        return collapse(ranked, k)
