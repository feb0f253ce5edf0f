"""Before and after: two runs of the seed or squad2 suite compared question by question.

    python eval/compare.py BEFORE_DIR AFTER_DIR [--out FILE]

Each folder holds one run's metrics.json (`assistant eval --suite ... --out DIR`). For each headline score it gives
both values, the change and the change's 95 % paired bootstrap interval (questions drawn with replacement, each
question's two outcomes kept together: assistant.evaluation.metrics.paired_difference). An interval that holds 0 is
a change the questions drawn could show by chance: on 150 answerable questions, one answer more is 0.007. Then
the questions whose outcome changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.evaluation.metrics import paired_difference, percentile  # noqa: E402
from assistant.evaluation.report import table  # noqa: E402

# (label, which questions, the score of one question)
SCORES = [
    ("answerable: gold in answer", True, lambda q: float(bool(q["contains"]))),
    ("answerable: F1 of the short answer", True, lambda q: float(q["short_f1"])),
    ("answerable: refused", True, lambda q: float(q["refused"])),
    ("unanswerable: refused (abstained)", False, lambda q: float(q["refused"])),
    ("all: refusal right (refused exactly the unanswerable)", None, lambda q: float(q["refused"] != q["answerable"])),
]


def load(folder: Path) -> dict:
    path = folder / "metrics.json"
    if not path.is_file():
        raise SystemExit(f"{path} not found: give the folder a run wrote (assistant eval --out DIR)")
    metrics = json.loads(path.read_text(encoding="utf-8"))
    if not metrics.get("questions") or "short_f1" not in metrics["questions"][0]:
        raise SystemExit(f"{path} has no per-question answers: only the seed and squad2 suites can be compared")
    return metrics


def paired(before: dict, after: dict) -> list[tuple[dict, dict]]:
    a = {q["id"]: q for q in before["questions"]}
    b = {q["id"]: q for q in after["questions"]}
    if a.keys() != b.keys():
        raise SystemExit(f"the runs asked different questions ({len(a.keys() - b.keys())} only before, "
                         f"{len(b.keys() - a.keys())} only after): compare runs of the same suite and sample")
    return [(a[i], b[i]) for i in a]


def compare(pairs: list[tuple[dict, dict]]) -> list[dict]:
    """One row per headline score: its value before and after, the change and the change's 95 % interval."""
    rows = []
    for label, answerable, score in SCORES:
        chosen = [(p, q) for p, q in pairs if answerable is None or p["answerable"] == answerable]
        if not chosen:
            continue
        old, new = [score(p) for p, _ in chosen], [score(q) for _, q in chosen]
        change, low, high = paired_difference(old, new)
        rows.append({"score": label, "n": len(chosen), "before": sum(old) / len(old), "after": sum(new) / len(new),
                     "change": change, "low": low, "high": high, "beyond_chance": low > 0 or high < 0})
    return rows


def _outcome(q: dict) -> str:
    return "refused" if q["refused"] else f"“{q['short_answer'] or '(evidence only)'}”"


def render(before_dir: Path, after_dir: Path, before: dict, after: dict) -> str:
    pairs = paired(before, after)
    scores = [[r["score"], r["n"], r["before"], r["after"], f"{r['change']:+.3f}",
               f"{r['low']:+.3f} to {r['high']:+.3f}" + ("" if r["beyond_chance"] else " (holds 0)")]
              for r in compare(pairs)]
    lines = [f"# {before_dir} -> {after_dir}", "",
             table(["score", "questions", "before", "after", "change", "95 % interval of the change"], scores)]
    times = [[q["seconds"] for q in m["questions"] if q.get("seconds") is not None] for m in (before, after)]
    if all(times):
        p50 = [percentile(t, 50) for t in times]
        lines += ["", f"Latency p50 {p50[0]:.2f} s -> {p50[1]:.2f} s ({p50[1] / p50[0]:.2f}x): each run's own machine "
                      "load, so time both in one sitting (eval/bench_latency.py does)."]
    changed = [(p, q) for p, q in pairs if _outcome(p) != _outcome(q)]
    lines += ["", f"## Questions whose outcome changed ({len(changed)})", "",
              table(["id", "answerable", "before", "after"],
                    [[p["id"], p["answerable"], _outcome(p), _outcome(q)] for p, q in changed])]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    text = render(args.before, args.after, load(args.before), load(args.after))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
