"""SciFact (BEIR test split) through the project's retriever: dense only, BM25 only and hybrid, beside published
baselines. The same as `assistant eval --suite scifact`, printing the table; the report goes to
eval/reports/scifact/ unless --out says otherwise.

    python eval/bench_retrieval.py [--data ../shared/bench/scifact] [--index DIR] [--limit N] [--out DIR]
                                   [--pools 30 100 400]

--pools also scores the app's retriever (top 10 passages) at each candidate pool size, the measurement behind
retrieval.FETCH_K, and writes pools.md beside the report.

The first run embeds the 5,183 abstracts into <ASSISTANT_HOME>/bench-index/scifact (minutes on 2 cores);
later runs reuse that index.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from statistics import mean

from assistant.config import load_settings
from assistant.evaluation.pipeline import read_jsonl
from assistant.evaluation.report import scifact_table, table
from assistant.evaluation.runner import BENCH, run_suite
from assistant.evaluation.scifact import first_ranks, load_qrels, score_ranking
from assistant.retrieval import FETCH_K, Retriever
from assistant.store import Index


def pool_sweep(index_dir: Path, data: Path, pools: list[int], limit: int | None) -> str:
    """nDCG@10 and time per query of Retriever.search(k=10) at each pool size, over the index the suite built."""
    index = Index(replace(load_settings(), chroma_url="", index_dir=index_dir))
    queries = {str(q["_id"]): str(q["text"]) for q in read_jsonl(data / "queries.jsonl")}
    qrels = load_qrels(data / "qrels" / "test.tsv")
    query_ids = [q for q in qrels if q in queries][:limit]
    rows = []
    for pool in pools:
        retriever = Retriever(index, fetch_k=pool)
        retriever.search(queries[query_ids[0]], k=10)  # builds BM25: not timed
        started = time.perf_counter()
        scores = [score_ranking(first_ranks([p.source for p in retriever.search(queries[q], k=10)], depth=10),
                                qrels[q], 10)["ndcg@10"] for q in query_ids]
        rows.append([pool, mean(scores), f"{1000 * (time.perf_counter() - started) / len(query_ids):.0f} ms"])
    index.close()
    return "\n\n".join([
        f"# SciFact: the app's retriever by candidate pool ({len(query_ids)} test queries)",
        f"Retriever.search(k=10) with fetch_k candidates per list; the app's default is {FETCH_K}.",
        table(["candidates per list", "nDCG@10", "time per query"], rows),
    ]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="BEIR SciFact folder (default: ../shared/bench/scifact)")
    parser.add_argument("--index", dest="index_dir", type=Path, help="index folder to build or reuse")
    parser.add_argument("--limit", type=int, help="score only the first N test queries")
    parser.add_argument("--out", type=Path, help="report folder (default: eval/reports/scifact)")
    parser.add_argument("--pools", type=int, nargs="*", default=[], help="candidate pool sizes to sweep")
    args = parser.parse_args()
    out = run_suite("scifact", data=args.data, limit=args.limit, out=args.out, index_dir=args.index_dir)
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    print(scifact_table(metrics))
    if args.pools:
        sweep = pool_sweep(Path(metrics["index_dir"]), Path(args.data or BENCH / "scifact"), args.pools, args.limit)
        (out / "pools.md").write_text(sweep, encoding="utf-8")
        print(sweep)
    print(f"\nreport: {out / 'report.md'}")


if __name__ == "__main__":
    main()
