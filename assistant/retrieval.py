"""Hybrid retrieval: BM25 (the on-disk lexical mirror, lexical.py) and dense search (Chroma) over the same committed
chunks, fused, overlapping chunks merged.

Fusion is a convex combination of min-max normalised scores, BM25 weighted 0.55 (tuned on SciFact's train split
only, eval/bench_retrieval.py). On the 300 SciFact test queries it scores nDCG@10 0.732 (BM25 with FTS5's bm25()
scores, the same with SQLite FTS5 itself and with the in-memory bm25s used before) against 0.722 for
reciprocal-rank fusion (k=60), 400 candidates per list (eval/reports/scifact). RRF stays selectable
(``fusion="rrf"``) for comparison.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import locations
from .store import Index
from .types import Passage

RRF_C = 60  # the constant of Cormack et al. 2009; damps the head of each list
WEIGHTS = (0.45, 0.55)  # (dense, BM25)


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

    def bm25(self, question: str, k: int, sources: list[str] | None = None) -> list[tuple[str, float]]:
        return self.index.lexical.search(question, k, sources)

    def dense(self, query_vector: list[float], k: int,
              sources: list[str] | None = None) -> list[tuple[str, float, dict, str]]:
        where = None if sources is None else {"source": {"$in": sources}}  # Chroma filters before ranking
        hits = self.index.vectorstore.similarity_search_by_vector_with_relevance_scores(query_vector, k=k, filter=where)
        # readers only see committed document versions: the hits' sources looked up in the mirror, not the manifest
        committed = self.index.lexical.committed(d.metadata.get("source") for d, _ in hits)
        # langchain_chroma returns cosine *distance* here
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
        lexical = self.bm25(question, self.fetch_k, sources)
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
