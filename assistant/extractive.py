"""The no-LLM answerer: the passages' sentences that best answer the question, quoted verbatim and cited."""

from __future__ import annotations

from .citations import REFUSAL, cite, with_marker
from .evidence import passage_sentences, support_matrix
from .types import Answer, Passage

# Support (evidence.support_matrix) the best sentence needs before we answer at all. Calibrated on the seed
# question set by eval/calibrate.py (report in eval/reports/calibration.md); rerun it when the embedder changes.
ANSWER_THRESHOLD = 0.22
# When an LLM declined or said nothing supported, evidence must be this strong to answer anyway (same script).
STRONG_EVIDENCE = 0.75
MAX_SENTENCES = 3
KEEP_WITHIN = 0.9  # further sentences must score at least this share of the best one


def answer_extractive(
    question: str, passages: list[Passage], embeddings, threshold: float = ANSWER_THRESHOLD
) -> Answer:
    sentences = passage_sentences(passages)
    if not sentences:
        return Answer(text=REFUSAL, passages=passages, refused=True, backend="extractive")
    scores = support_matrix([question], [s.text for s in sentences], embeddings)[0]
    ranked = sorted(range(len(sentences)), key=lambda i: scores[i], reverse=True)
    best = scores[ranked[0]]
    if best < threshold:
        return Answer(text=REFUSAL, passages=passages, refused=True, backend="extractive")
    chosen = [i for i in ranked[:MAX_SENTENCES] if scores[i] >= max(threshold, KEEP_WITHIN * best)]
    # Read in document order, not score order, so the quoted sentences flow like the source.
    chosen.sort(key=lambda i: (sentences[i].passage, sentences[i].start))
    citations = cite([sentences[i] for i in chosen], passages)
    text = " ".join(with_marker(c.quote, c.n) for c in citations)
    return Answer(text=text, citations=citations, passages=passages, backend="extractive")
