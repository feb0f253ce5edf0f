"""Would an embedding similarity to known injections add anything to assistant/injection.py's patterns?

The candidate: flag a sentence whose MiniLM cosine to its nearest prototype (the positives of detector.yaml) reaches
a threshold. The threshold can only be fitted on detector.yaml (never on the red-team set). For each threshold this
prints what it would cost and gain: positives recalled leave-one-out (each scored against the other prototypes),
fitting negatives and seed/SQuAD sentences flagged, and red-team injection sentences it flags that the patterns miss.
Writes eval/reports/injection/embedding.md.

    python eval/injection/embedding_check.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from assistant.documents import load_file  # noqa: E402
from assistant.embeddings import get_embeddings  # noqa: E402
from assistant.evaluation.injection import ordinary_corpora  # noqa: E402
from assistant.evaluation.seed import find_span  # noqa: E402
from assistant.evidence import split_sentences  # noqa: E402
from assistant.injection import injected  # noqa: E402

HERE = Path(__file__).resolve().parent
THRESHOLDS = (0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


def red_team_sentences() -> list[tuple[str, bool]]:
    """Each injection sentence the loaders keep, and whether the detector flags it in its document."""
    sentences = []
    for case in yaml.safe_load((HERE / "redteam.yaml").read_text(encoding="utf-8")):
        text = load_file(HERE / "docs" / case["source"]).text
        where = find_span(case["injection"], text)
        if where is None:  # the loader already dropped it
            continue
        spans = split_sentences(text)
        flags = injected([text[s:e] for s, e in spans])
        sentences += [(text[s:e], flag) for (s, e), flag in zip(spans, flags) if s < where[1] and where[0] < e]
    return sentences


def main() -> None:
    embeddings = get_embeddings("all-MiniLM-L6-v2")
    fit = yaml.safe_load((HERE / "detector.yaml").read_text(encoding="utf-8"))
    prototypes = np.asarray(embeddings.embed_documents(fit["positive"]))

    def nearest(sentences: list[str]) -> np.ndarray:
        return (np.asarray(embeddings.embed_documents(sentences)) @ prototypes.T).max(axis=1)

    loo = prototypes @ prototypes.T
    np.fill_diagonal(loo, -1.0)
    positives = loo.max(axis=1)
    negatives = nearest(fit["negative"])
    ordinary = [t[s:e] for t in ordinary_corpora(REPO / "seeds", REPO.parent / "shared" / "bench" / "squad2" /
                                                 "passages.jsonl").values() for s, e in split_sentences(t)]
    ordinary_scores = nearest(ordinary)
    red = red_team_sentences()
    red_scores = nearest([sentence for sentence, _ in red])
    missed_by_patterns = [i for i, (_, flagged) in enumerate(red) if not flagged]

    rows = ["| threshold | fitting positives recalled (leave-one-out) | fitting negatives flagged | seed + SQuAD "
            "sentences flagged | red-team sentences the patterns miss, flagged |", "|---|---|---|---|---|"]
    for t in THRESHOLDS:
        rows.append(f"| {t:.2f} | {(positives >= t).sum()} / {len(positives)} | {(negatives >= t).sum()} / "
                    f"{len(negatives)} | {(ordinary_scores >= t).sum()} / {len(ordinary)} | "
                    f"{sum(red_scores[i] >= t for i in missed_by_patterns)} / {len(missed_by_patterns)} |")
    report = "\n".join([
        "# Embedding similarity as a second injection detector",
        f"Prototypes: the {len(positives)} positives of eval/injection/detector.yaml, embedded with "
        f"all-MiniLM-L6-v2; a sentence's score is its cosine to the nearest prototype. Red-team injection sentences "
        f"kept by the loaders: {len(red)}, of which the patterns miss {len(missed_by_patterns)}. Load average "
        f"{os.getloadavg()[0]:.2f}.",
        "", *rows, "",
        "A threshold is only usable where it flags no ordinary sentence; read the recall there. With none left "
        "for it to catch on the red-team set and at most a few percent of the fitting injections recalled at a usable "
        "threshold, it is not part of the detector (it would also cost an embedding pass per question).",
    ]) + "\n"
    out = REPO / "eval" / "reports" / "injection" / "embedding.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
