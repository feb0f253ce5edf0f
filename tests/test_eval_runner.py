"""`assistant eval` end to end: real embedder, real Chroma, the extractive backend; small question sets in tmp."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace

import pytest
import yaml

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant import load_settings
from assistant.chain import load_prompt
from assistant.evaluation.judge import Judge
from assistant.evaluation.pipeline import LOSSES, cited_pairs, prediction, where_lost
from assistant.evaluation.runner import run_suite
from assistant.evaluation.seed import find_span
from assistant.retrieval import Retriever
from assistant.store import Index
from assistant.types import Answer, Citation, Passage

from .conftest import REPO, SEED

ARTICLE_5 = "The United States is obligated under Article 5 to help Japan defend its territories in the case of an armed attack."
COUNTERPART = (
    "Pompeo had met with his Japanese counterpart, Foreign Minister Taro Kono, along with U.S. acting Defense "
    "Secretary Patrick Shanahan and Japan Defense Minister Takeshi Iwaya, as part of the U.S.-Japan 2+2 Ministerial Meeting."
)
QUESTIONS = [
    {"id": "article-5", "question": "What does Article 5 cover?", "history": [],
     "answers": ["help Japan defend its territories in the case of an armed attack"], "answerable": True,
     "gold": [{"source": SEED.name, "text": ARTICLE_5}], "kind": "fact"},
    {"id": "follow-up", "question": "Who was his Japanese counterpart?",
     "history": [{"role": "user", "content": "Who was the U.S. Secretary of State at the news conference?"},
                 {"role": "assistant", "content": "The U.S. Secretary of State was Mike Pompeo [1]."}],
     "answers": ["Taro Kono"], "answerable": True, "gold": [{"source": SEED.name, "text": COUNTERPART}],
     "kind": "followup"},
    {"id": "world-cup", "question": "Who won the 2018 World Cup?", "history": [], "answers": [],
     "answerable": False, "gold": [], "kind": "unanswerable"},
]


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    """No config.toml or environment of the person running the tests leaks into the suite."""
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))
    for name in ("ASSISTANT_LLM", "ASSISTANT_INDEX_DIR", "ASSISTANT_CHROMA_URL", "ASSISTANT_K"):
        monkeypatch.delenv(name, raising=False)


def test_seed_suite_end_to_end(tmp_path):
    questions = tmp_path / "questions.yaml"
    questions.write_text(yaml.safe_dump(QUESTIONS), encoding="utf-8")
    out = run_suite("seed", questions=questions, data=REPO / "seeds", out=tmp_path / "out",
                    index_dir=tmp_path / "index", llm="extractive")

    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    rows = {r["id"]: r for r in metrics["questions"]}
    assert (metrics["n"], metrics["n_answerable"], metrics["k"]) == (3, 2, 5)
    article = rows["article-5"]
    assert article["hit@5"] == 1.0 and article["recall@5"] == 1.0 and 0 < article["mrr"] <= 1
    assert article["refused"] is False and article["contains"] == 1.0
    assert article["citation_recall"] == 1.0  # it quotes the gold sentence itself
    assert rows["follow-up"]["history"] is True and rows["follow-up"]["ndcg@10"] is not None
    assert rows["world-cup"]["refused"] is True and rows["world-cup"]["hit@5"] is None
    assert metrics["refusal"]["recall"] == 1.0 and metrics["refusal"]["tp"] == 1
    for name in ("hit@5", "recall@5", "mrr", "ndcg@10"):
        assert 0.0 <= metrics["retrieval"][name] <= 1.0
    assert 0.0 <= metrics["answer"]["f1"] <= 1.0 and metrics["answer"]["em"] in (0.0, 0.5, 1.0)
    assert metrics["latency_total"]["n"] == 3 and metrics["latency_total"]["p50"] > 0
    # no model, so no first token: the first thing shown is the evidence
    assert metrics["latency_first_token"]["n"] == 0
    assert 0 < metrics["latency_evidence"]["p95"] <= metrics["latency_total"]["p95"]
    # each answerable question is placed once on the answer path; the unanswerable one nowhere
    assert article["lost"] == "shown: the best evidence holds it" and "lost" not in rows["world-cup"]
    assert sum(metrics["losses"].values()) == 2 and set(metrics["losses"]) == set(LOSSES)

    report = (out / "report.md").read_text(encoding="utf-8")
    for q in QUESTIONS:
        assert f"| {q['id']} | " in report
    assert "(follow-up) Who was his Japanese counterpart?" in report
    assert "not computed" in report
    assert "| shown: the best evidence holds it | " in report
    # each row says where its answer was shown or lost, the step alone
    assert "| why | shown or lost |" in report
    assert re.search(r"^\| article-5 \|.* \| shown \| ", report, re.MULTILINE)
    assert re.search(r"^\| world-cup \|.* \| refused: [^|]* \|  \| ", report, re.MULTILINE)


def test_where_an_answer_was_lost_is_the_first_step_without_the_gold():
    passage = Passage(chunk_id="c", source="s.txt", text=f"Filler sentence. {ARTICLE_5}", start=0, end=200)
    gold = ["help Japan defend its territories"]

    def answer(text="The documents don't say.", refused=True, backend="llamacpp:default", passages=(passage,),
               **decision):
        return Answer(text=text, refused=refused, passages=list(passages), backend=backend, decision=decision)

    read = {"signals": {"cosine": 0.5}, "evidence": [ARTICLE_5]}
    cases = [
        (answer("help Japan defend its territories [1].", False, kept="answer"), 0),
        (answer(f"\u201c{ARTICLE_5}\u201d [1]", False, kept="evidence"), 1),
        (answer(passages=[replace(passage, text="Filler sentence.")]), 2),
        (answer(reason="no retrieved passage mentions Korea"), 3),
        (answer(signals={"cosine": 0.5}, evidence=["Filler sentence."]), 4),
        (answer(draft="", **read), 5),
        (answer("Article 5 [1].", False, kept="answer", draft="Article 5", **read), 6),
        (answer(draft="help Japan defend its territories", **read), 7),
        (answer(draft="Japan defend its territories", **read), 7),  # close to the gold: right, as calibration counts
        (answer(backend="extractive", **read), 7),
    ]
    assert [where_lost(a, gold) for a, _ in cases] == [LOSSES[i] for _, i in cases]


def test_gold_text_is_found_across_reflowed_whitespace():
    text = SEED.read_text(encoding="utf-8")
    start, end = find_span(ARTICLE_5.replace(" ", "\n", 3), text)
    assert text[start:end] == ARTICLE_5
    assert find_span("a sentence the article does not contain", text) is None


def test_prediction_and_citation_pairs_of_an_answer():
    quote = "Japan and the United States have ignored the designation."
    answer = Answer(text="They ignored the designation [1]. Nothing else", citations=[
        Citation(n=1, source="s.txt", chunk_id="c", quote=quote, start=0, end=len(quote))])
    assert prediction(answer) == "They ignored the designation. Nothing else"
    assert cited_pairs(answer) == [("They ignored the designation", quote), ("Nothing else", "")]
    assert prediction(Answer(text="The documents don't say.", refused=True)) == ""
    # a short answer resting on two sentences cites both at once: one claim, not a second empty one
    before = "Abu al-Qasim al-Zahrawi (Abulcasis) pioneered sublimation."
    two = Answer(text=f"Abulcasis [1][2].\n\n\u201c{before}\u201d [1] \u201c{quote}\u201d [2]", citations=[
        Citation(n=1, source="s.txt", chunk_id="c", quote=before, start=0, end=len(before)),
        Citation(n=2, source="s.txt", chunk_id="c", quote=quote, start=0, end=len(quote))])
    assert cited_pairs(two) == [("Abulcasis", f"{before} {quote}"), (f"\u201c{before}\u201d", before),
                                (f"\u201c{quote}\u201d", quote)]


def _write_scifact(folder):
    docs = [
        {"_id": "plants", "title": "Photosynthesis in plants",
         "text": "Chlorophyll absorbs sunlight and plants convert carbon dioxide and water into glucose."},
        {"_id": "volcano", "title": "Volcanic eruptions",
         "text": "Magma rises through the crust and erupts as lava, ash and volcanic gases."},
        {"_id": "chess", "title": "Chess openings",
         "text": "The Sicilian Defence is a popular reply to the king's pawn opening in chess."},
    ]
    queries = [{"_id": "q1", "text": "How do plants turn sunlight into sugar?"},
               {"_id": "q2", "text": "lava from volcanic eruptions"}]
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    # q2 is judged against the chess abstract on purpose: its score depends on where the retriever ranks it.
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tplants\t1\nq2\tchess\t1\n")
    return queries


def test_scifact_suite_scores_the_retrievers_rankings(tmp_path):
    queries = _write_scifact(tmp_path / "scifact")
    out = run_suite("scifact", data=tmp_path / "scifact", out=tmp_path / "out", index_dir=tmp_path / "index")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert (metrics["n_docs"], metrics["n_queries"]) == (3, 2)
    q1, q2 = metrics["queries"]
    for mode in ("dense", "bm25", "hybrid", "hybrid-rrf", "hybrid-app"):
        assert q1[mode]["top10"][0] == "plants" and q1[mode]["ndcg@10"] == 1.0
        rank = q2[mode]["top10"].index("chess") + 1 if "chess" in q2[mode]["top10"] else None
        assert q2[mode]["ndcg@10"] == (1 / math.log2(rank + 1) if rank else 0.0)
        assert metrics["modes"][mode]["ndcg@10"] == pytest.approx((1.0 + q2[mode]["ndcg@10"]) / 2)
    assert q2["bm25"]["top10"] == ["volcano"]  # no word in common with the chess abstract
    assert q2["dense"]["top10"][0] == "volcano" and 0 < q2["dense"]["ndcg@10"] < 1

    # The ranking scored is the project's retriever's: asking it directly gives the same order.
    index = Index(load_settings(index_dir=tmp_path / "index"))
    direct = list(dict.fromkeys(p.source for p in Retriever(index).search(queries[1]["text"], k=10)))
    assert q2["hybrid-app"]["top10"] == direct
    assert (out / "scifact.png").stat().st_size > 0
    assert "| dense |" in (out / "report.md").read_text(encoding="utf-8")


def test_judge_counts_supported_sentences_and_sets_aside_unclear_verdicts():
    judge = Judge(FakeListChatModel(responses=["Yes.", "No, it adds a date.", "It is hard to say."]), "scripted")
    scored = judge.score([
        ("Article 5 covers armed attacks.", ARTICLE_5),
        ("Article 5 was signed in 1960.", ARTICLE_5),
        ("Kono met Pompeo.", COUNTERPART),
        ("A sentence that cites nothing.", ""),  # unsupported without asking the judge
    ])
    assert scored == {"faithfulness": 1 / 3, "judge_unparsed": 1}
    prompt = load_prompt("judge").format_messages(claim="CLAIM-X", evidence="EVIDENCE-Y")
    assert "CLAIM-X" in prompt[-1].content and "EVIDENCE-Y" in prompt[-1].content


def test_seed_suite_with_a_real_judge(tmp_path):
    questions = tmp_path / "questions.yaml"
    questions.write_text(yaml.safe_dump(QUESTIONS[:1]), encoding="utf-8")
    out = run_suite("seed", questions=questions, data=REPO / "seeds", out=tmp_path / "out",
                    index_dir=tmp_path / "index", llm="extractive", judge="llamacpp:smollm2")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    (row,) = metrics["questions"]
    assert metrics["judge"] == "llamacpp:smollm2" and not row["refused"]
    assert row["judge_unparsed"] == metrics["judge_unparsed"]
    assert row["faithfulness"] == metrics["faithfulness"]
    if row["faithfulness"] is not None:
        assert 0.0 <= row["faithfulness"] <= 1.0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "faithfulness (LLM judge `llamacpp:smollm2`)" in report and "not computed" not in report


def test_judge_is_refused_where_nothing_is_answered(tmp_path):
    with pytest.raises(ValueError, match="--judge"):
        run_suite("scifact", out=tmp_path / "out", judge="llamacpp:smollm2")
