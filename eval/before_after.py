"""Ask the squad2 suite's test questions through whichever checkout's package is on PYTHONPATH, for before/after.

    PYTHONPATH=/path/to/older/checkout python eval/before_after.py --limit 100 --out /tmp/before.json
    python eval/before_after.py --limit 100 --out /tmp/after.json

The squad2 suite picks its questions with code that older checkouts do not have (the calibration/test article
split), so an older package cannot run today's suite. This script needs only what every version has, the public
``Assistant`` and the SQuAD metrics, and picks the questions itself the way the suite does (same split, seed and
order; the first --limit of them). It prints and writes the suite's headline numbers for that checkout.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from dataclasses import replace
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "squad2"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_sample(n: int, seed: int = 13, sample: int = 300) -> list[dict]:
    """assistant.evaluation.squad2: split_articles(...)[1], then sample_questions(..., 300), then the first n."""
    questions = read_jsonl(BENCH / "questions.jsonl")
    titles = sorted({q["passage_id"].rsplit("#", 1)[0] for q in questions})
    test = set(titles[1::2])
    pool = [q for q in questions if q["passage_id"].rsplit("#", 1)[0] in test]
    rng = random.Random(seed)
    answerable = [q for q in pool if not q["is_impossible"]]
    impossible = [q for q in pool if q["is_impossible"]]
    chosen = rng.sample(answerable, sample - sample // 2) + rng.sample(impossible, sample // 2)
    rng.shuffle(chosen)
    return chosen[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--llm", default="llamacpp")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import assistant
    from assistant import Assistant, load_settings
    from assistant.evaluation.metrics import contains_gold, token_f1

    settings = replace(load_settings(llm=args.llm), chroma_url="")
    settings = replace(settings, index_dir=settings.home / "bench-index" / "squad2")  # built by the squad2 suite
    rows = []
    with Assistant(settings) as helper:
        for i, q in enumerate(test_sample(args.limit), start=1):
            answer = helper.answer(q["question"])
            golds = [] if q["is_impossible"] else q["answers"]
            text = "" if answer.refused else answer.text
            short = "" if answer.refused else (getattr(answer, "short_answer", "") or text)
            rows.append({"id": q["id"], "answerable": bool(golds), "refused": answer.refused,
                         "contains": float(contains_gold(text, golds)) if golds else None,
                         "short_f1": token_f1(short, golds), "seconds": answer.timings.get("total")})
            print(f"{i}/{args.limit} refused={answer.refused} {answer.timings.get('total', 0):.1f}s", file=sys.stderr)
    has = [r for r in rows if r["answerable"]]
    no = [r for r in rows if not r["answerable"]]
    result = {
        "package": str(Path(assistant.__file__).parent), "llm": args.llm, "n": len(rows),
        "answerable_contains": statistics.mean(r["contains"] for r in has),
        "answerable_short_f1": statistics.mean(r["short_f1"] for r in has),
        "answerable_refused": sum(r["refused"] for r in has),
        "unanswerable_abstained": statistics.mean(float(r["refused"]) for r in no),
        "overall_short_f1": statistics.mean(r["short_f1"] for r in rows),
        "median_seconds": statistics.median(r["seconds"] for r in rows),
        "questions": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "questions"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
