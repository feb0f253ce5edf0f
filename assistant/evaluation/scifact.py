"""BEIR SciFact through the project's own retriever: dense only, BM25 only, and the hybrid the app uses.

The abstracts are indexed like any document (title, blank line, text; chunked), so a ranking of passages is
mapped back to abstract ids, each kept at its first rank. Scores are trec_eval's (metrics.ndcg_at_k), on the
300 test queries, so they sit beside published numbers for the same split.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from ..config import Settings
from ..documents import SourceDocument
from ..retrieval import RRF_C, Retriever
from ..store import Index
from .metrics import ndcg_at_k, recall_at_k
from .pipeline import mean, progress, read_jsonl, sync_with_progress

ROOT = "bench:scifact"
DEPTH = 100  # abstracts ranked per query (recall@100)
CHUNK_DEPTH = 400  # chunks fetched per list so that DEPTH distinct abstracts remain after mapping back

# Published nDCG@10 / recall on this split (../shared/bench/README.md).
BASELINES = {
    "BM25 flat (Anserini)": {"ndcg@10": 0.6789, "recall@10": None, "recall@100": 0.9253},
    "all-MiniLM-L6-v2 dense (MTEB)": {"ndcg@10": 0.6451, "recall@10": 0.7833, "recall@100": 0.925},
}
MODES = {
    "dense": "dense only (Chroma, all-MiniLM-L6-v2)",
    "bm25": "BM25 only (segment on disk + delta, FTS5's bm25() formula, stemmed)",
    "hybrid": f"hybrid, min-max convex fusion (Retriever.search), pool {CHUNK_DEPTH} chunks per list",
    "hybrid-rrf": f"hybrid, reciprocal-rank fusion (k={RRF_C}, equal weights), pool {CHUNK_DEPTH} chunks per list",
    "hybrid-app": "hybrid as the app runs it (Retriever's default pool of {fetch_k}), top 10 only",
}


def load_corpus(data: Path) -> list[SourceDocument]:
    docs = []
    for row in read_jsonl(data / "corpus.jsonl"):
        title = str(row.get("title") or "").strip()
        text = f"{title}\n\n{row['text']}" if title else str(row["text"])
        docs.append(SourceDocument(source=str(row["_id"]), title=title or str(row["_id"]), text=text,
                                   sha256=hashlib.sha256(text.encode()).hexdigest(), root=ROOT))
    return docs


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    return qrels


def first_ranks(sources: list[str], depth: int = DEPTH) -> list[str]:
    """Abstract ids in rank order, each at the rank of its best passage."""
    return list(dict.fromkeys(sources))[:depth]


class Rankers:
    """The ways the project can rank abstracts for a query, all over the same index."""

    def __init__(self, index: Index):
        self.index = index
        self.deep = Retriever(index, fetch_k=CHUNK_DEPTH)
        self.rrf = Retriever(index, fetch_k=CHUNK_DEPTH, fusion="rrf", weights=(1.0, 1.0))
        self.app = Retriever(index)
        self.source_of = {c.id: c.metadata["source"] for c in index.live_chunks()}

    def rank(self, query: str) -> dict[str, list[str]]:
        vector = self.index.embeddings.embed_query(query)
        dense = self.deep.dense(vector, CHUNK_DEPTH)
        lexical = self.deep.bm25(query, CHUNK_DEPTH)
        return {
            "dense": first_ranks([meta["source"] for _, _, meta, _ in dense]),
            "bm25": first_ranks([self.source_of[chunk_id] for chunk_id, _ in lexical]),
            "hybrid": first_ranks([p.source for p in self.deep.search(query, k=DEPTH)]),
            "hybrid-rrf": first_ranks([p.source for p in self.rrf.search(query, k=DEPTH)]),
            "hybrid-app": first_ranks([p.source for p in self.app.search(query, k=10)], depth=10),
        }


def score_ranking(ranked: list[str], relevant: dict[str, int], depth: int) -> dict[str, float | None]:
    return {
        "ndcg@10": ndcg_at_k(ranked, relevant, 10),
        "recall@10": recall_at_k(ranked, [d for d, r in relevant.items() if r > 0], 10),
        "recall@100": recall_at_k(ranked, [d for d, r in relevant.items() if r > 0], 100) if depth >= 100 else None,
    }


def run(settings: Settings, *, data: Path, limit: int | None) -> dict:
    docs = load_corpus(data)
    queries = {str(q["_id"]): str(q["text"]) for q in read_jsonl(data / "queries.jsonl")}
    qrels = load_qrels(data / "qrels" / "test.tsv")
    query_ids = [q for q in qrels if q in queries][:limit]
    index = Index(settings)
    sync = sync_with_progress(index, docs, ROOT, "index scifact")
    rankers = Rankers(index)
    per_query = []
    for qid in progress(query_ids, "scifact"):
        rankings = rankers.rank(queries[qid])
        per_query.append({
            "id": qid,
            "relevant": qrels[qid],
            **{mode: {**score_ranking(ranked, qrels[qid], 10 if mode == "hybrid-app" else DEPTH),
                      "top10": ranked[:10]}
               for mode, ranked in rankings.items()},
        })
    return {
        "suite": "scifact",
        "data": str(data),
        "index_dir": str(settings.index_dir),
        "indexed": sync.summary(),
        "embed_model": settings.embed_model,
        "embed_backend": settings.embed_backend,
        "n_docs": len(docs),
        "n_chunks": len(rankers.source_of),
        "n_queries": len(per_query),
        "modes": {mode: {"description": description.format(fetch_k=rankers.app.fetch_k),
                         **{m: mean(q[mode][m] for q in per_query) for m in ("ndcg@10", "recall@10", "recall@100")}}
                  for mode, description in MODES.items()},
        "baselines": BASELINES,
        "queries": per_query,
    }
