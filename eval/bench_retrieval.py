"""SciFact (BEIR test split) through the project's retriever: dense only, BM25 only and hybrid, beside published
baselines. The same as `assistant eval --suite scifact`, printing the table; the report goes to
eval/reports/scifact/ unless --out says otherwise.

    python eval/bench_retrieval.py [--data ../shared/bench/scifact] [--index DIR] [--limit N] [--out DIR]

The first run embeds the 5,183 abstracts into <ASSISTANT_HOME>/bench-index/scifact (minutes on 2 cores);
later runs reuse that index.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.evaluation.report import scifact_table
from assistant.evaluation.runner import run_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="BEIR SciFact folder (default: ../shared/bench/scifact)")
    parser.add_argument("--index", dest="index_dir", type=Path, help="index folder to build or reuse")
    parser.add_argument("--limit", type=int, help="score only the first N test queries")
    parser.add_argument("--out", type=Path, help="report folder (default: eval/reports/scifact)")
    args = parser.parse_args()
    out = run_suite("scifact", data=args.data, limit=args.limit, out=args.out, index_dir=args.index_dir)
    print(scifact_table(json.loads((out / "metrics.json").read_text(encoding="utf-8"))))
    print(f"\nreport: {out / 'report.md'}")


if __name__ == "__main__":
    main()
