"""Latency: Retriever.search at ~10k and ~100k chunks, BM25 build time, and answer latency / time to first token
per answer backend. Writes eval/reports/perf/latency.{md,json}.

    python eval/bench_latency.py [--sizes 10000 100000] [--queries 50] [--passes 3] [--skip-retrieval]
                                 [--backends extractive llamacpp] [--questions 12] [--label current]

The lexical index is timed twice per size: built from nothing by catching up with the store, and caught up after a
one-document ingest.

Retrieval indexes are built without embedding anything (scaled_index.py). Queries are SciFact test queries, asked
alternately of both sizes so load changes hit both alike; p50/p95 per pass, median over passes.

Answers are asked through Assistant.stream against an index of seeds/: first evidence (the new path yields the best
quoted sentences before its model answers), first token, total, and the tokens each question made llama.cpp process.
Two unmeasured questions per backend load the model and show which prompt prefix every question shares. llama.cpp
reuses the longest prefix a prompt shares with the one before; the product relies on that for its fixed
instructions, but the seed corpus is one article, so questions often share passages too. Before each measured
question every context is cut back to the shared prefix: reuse of instructions counts, reuse of passages does not.
The reference is the same model evaluating 512 prompt tokens and generating 32 in a fresh context, timed right after
each question; the ratio is the median of each question's total over the reference timed after it, so the machine's
drift (other jobs on its two cores) cancels. A run with PYTHONPATH at an older checkout and --label before times
the old path beside the new one.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from assistant import llm
from assistant.api import Assistant
from assistant.types import Answer
from assistant.config import load_settings
from assistant.evaluation.metrics import percentile
from assistant.evaluation.pipeline import read_jsonl
from assistant.evaluation.scifact import load_qrels
from assistant.evaluation.seed import load_questions
from assistant.documents import SourceDocument
from assistant.lexical import LexicalIndex
from assistant.retrieval import FETCH_K, Retriever
from assistant.store import Index
from bench_ingest import DEFAULT_DATA, PERF, REPO, load_average, machine, median, publish, source_line
from scaled_index import build_scaled_index, real_chunks, scaled_rows

K = 5
STAGES = ("embed_query", "dense", "dense_chroma", "bm25", "search")


# --- retrieval measurements --------------------------------------------------------------------------------


def bm25_build(index: Index, repeats: int) -> dict:
    """The lexical index (lexical.LexicalIndex) built from nothing by catching up with the store (what an index from
    before it, or a new machine's worker, pays once), then its catch-up after a one-document ingest by another
    process (what every other machine's worker pays per ingest); the document is removed again afterwards."""
    full, update, loads = [], [], []
    text = next((REPO / "seeds").glob("*.txt")).read_text(encoding="utf-8")
    for i in range(repeats):
        loads.append(load_average())
        with tempfile.TemporaryDirectory(prefix="bench-lexical-") as scratch:
            mirror = LexicalIndex(Path(scratch) / "lexical.sqlite3")
            started = time.perf_counter()
            mirror.catch_up(index)
            full.append(time.perf_counter() - started)
            doc = SourceDocument(source=f"bench-extra-{i}", title="extra", text=text, root="bench:extra",
                                 sha256=hashlib.sha256(text.encode()).hexdigest())
            index.sync_documents([doc], roots=[])
            started = time.perf_counter()
            mirror.catch_up(index)
            update.append(time.perf_counter() - started)
            mirror.close()
        index.remove(doc.source)
    return {"full_s": median(full), "update_s": median(update), "runs_full_s": full, "runs_update_s": update,
            "loads": loads}


def stage_times(retriever: Retriever, question: str) -> dict[str, float]:
    """One query split into its stages (each timed on its own call, so they do not add up exactly to search)."""
    t = {}
    started = time.perf_counter()
    vector = retriever.index.embeddings.embed_query(question)
    t["embed_query"] = time.perf_counter() - started
    started = time.perf_counter()
    retriever.index.vectorstore.similarity_search_by_vector_with_relevance_scores(vector, k=retriever.fetch_k)
    t["dense_chroma"] = time.perf_counter() - started
    started = time.perf_counter()
    retriever.dense(vector, retriever.fetch_k)
    t["dense"] = time.perf_counter() - started
    started = time.perf_counter()
    retriever.bm25(question, retriever.fetch_k)
    t["bm25"] = time.perf_counter() - started
    started = time.perf_counter()
    retriever.search(question, K)
    t["search"] = time.perf_counter() - started
    return t


def retrieval_latency(retrievers: dict[int, Retriever], queries: list[str], passes: int) -> dict:
    sizes = list(retrievers)
    per_pass = []
    for p in range(passes):
        times = {n: [] for n in sizes}
        load = load_average()
        for qi, query in enumerate(queries):
            order = sizes if (qi + p) % 2 == 0 else sizes[::-1]
            for n in order:
                started = time.perf_counter()
                retrievers[n].search(query, K)
                times[n].append(time.perf_counter() - started)
        per_pass.append({
            "load_before": load,
            "load_after": load_average(),
            **{str(n): {"p50": percentile(times[n], 50), "p95": percentile(times[n], 95)} for n in sizes},
        })
        print(f"pass {p + 1}: " + ", ".join(f"{n}: p50 {per_pass[-1][str(n)]['p50'] * 1000:.0f} ms" for n in sizes),
              file=sys.stderr)
    rows = {n: [] for n in sizes}
    for query in queries:
        for n in sizes:
            rows[n].append(stage_times(retrievers[n], query))
    stages = {str(n): {s: percentile([r[s] for r in rows[n]], 50) for s in STAGES} for n in sizes}
    small, large = str(sizes[0]), str(sizes[-1])
    return {
        "passes": per_pass,
        "median": {str(n): {q: median(pp[str(n)][q] for pp in per_pass) for q in ("p50", "p95")} for n in sizes},
        "growth": {q: median(pp[large][q] / pp[small][q] for pp in per_pass) for q in ("p50", "p95")},
        "stage_p50": stages,
        "stage_load": load_average(),
    }


def committed_lookup_cost(index: Index, repeats: int = 20) -> float:
    """Seconds for one Index.committed() call as a search makes it (Retriever.dense, once per search): the first
    call after a commit rebuilds the cache, so it is made before timing."""
    index.committed()
    started = time.perf_counter()
    for _ in range(repeats):
        index.committed()
    return (time.perf_counter() - started) / repeats


# --- answer latency ----------------------------------------------------------------------------------------

REFERENCE_PROMPT = 512  # tokens: the reference is the same model evaluating this many prompt tokens...
REFERENCE_GENERATED = 32  # ...and generating this many, in the same run (issue 10's yardstick)


def pick_questions(n_max: int) -> tuple[list[str], list[str]]:
    """Varied answerable single-turn seed questions spread over the file, and two others to warm up with."""
    pool = [q.question for q in load_questions(REPO / "eval" / "questions.yaml") if q.answerable and not q.history]
    warmup = [pool.pop(), pool.pop(0)]
    step = len(pool) / n_max
    return [pool[int(i * step)] for i in range(min(n_max, len(pool)))], warmup


def contexts() -> list:
    """The loaded llama.cpp contexts (one per role with the new answer path, one in all before it)."""
    return [loaded.llama for loaded in llm._LOADED.values()]


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def keep_only_fixed_prefix(fixed: dict[int, int]) -> None:
    """Let each context reuse only the part of its prompt that is the same for every question (instructions and
    examples), never evidence or passages a previous question happened to share: one article's questions often
    retrieve the same passages, which would flatter the numbers."""
    for llama in contexts():
        llama.n_tokens = min(llama.n_tokens, fixed.get(id(llama), 0))


def tokens_in(llama) -> list[int]:
    return [int(t) for t in llama.input_ids[: llama.n_tokens]]


@contextmanager
def evaluated_tokens() -> Iterator[list[int]]:
    """Count the tokens llama.cpp evaluates (prompt tokens processed and tokens generated) over every call: a
    second prompt in one context, such as the model's reread of a sentence, leaves only its own in n_tokens."""
    from llama_cpp import Llama

    counted, original = [0], Llama.eval

    def counting(self, tokens):
        counted[0] += len(tokens)
        return original(self, tokens)

    Llama.eval = counting
    try:
        yield counted
    finally:
        Llama.eval = original


def ask(assistant: Assistant, question: str, fixed: dict[int, int]) -> dict:
    keep_only_fixed_prefix(fixed)
    load = load_average()
    started = time.perf_counter()
    pieces, first_evidence = 0, None
    with evaluated_tokens() as new_tokens:
        for item in assistant.stream(question):
            if isinstance(item, Answer):
                answer = item
            elif isinstance(item, str):
                pieces += 1
            elif first_evidence is None:  # assistant.Evidence (the new answer path yields it before the draft)
                first_evidence = time.perf_counter() - started
    t = answer.timings
    processed = {id(c): c.n_tokens for c in contexts()}
    return {
        "question": question, "load": load, "evidence_s": first_evidence, "first_token_s": t.get("first_token"),
        "total_s": t["total"], "retrieve_s": t.get("retrieve"), "pieces": pieces,
        "context_tokens": {str(k): v for k, v in processed.items()}, "tokens_processed": new_tokens[0],
        "refused": answer.refused, "backend": answer.backend, "answer": answer.text[:200],
    }


@contextmanager
def reference_model(model_path: Path) -> Iterator[Callable[[], float]]:
    """A timer for the yardstick: the same model in a fresh context evaluating REFERENCE_PROMPT prompt tokens, then
    generating REFERENCE_GENERATED, different tokens each call (no reuse). Timed right after each question, so a
    drift in the machine's speed (other jobs on its cores) moves a question and its yardstick alike."""
    from llama_cpp import Llama

    llama = Llama(model_path=str(model_path), n_ctx=2048, n_batch=512, n_threads=llm.LLAMA_THREADS,
                  n_threads_batch=llm.LLAMA_THREADS, seed=llm.SEED, verbose=False)
    words = (REPO / "seeds" / "us-japan-cyberattack-armed-attack-article-5.txt").read_text(encoding="utf-8").split()
    calls = itertools.count()

    def timed() -> float:
        r = next(calls) * 37 % len(words)
        prompt = llama.tokenize(" ".join(words[r:] + words[:r]).encode("utf-8"))
        while len(prompt) < REFERENCE_PROMPT:
            prompt = prompt + prompt
        llama.reset()
        started = time.perf_counter()
        out = llama.create_completion(prompt[:REFERENCE_PROMPT], max_tokens=REFERENCE_GENERATED, temperature=0.0,
                                      logit_bias={llama.token_eos(): float("-inf")})
        seconds = time.perf_counter() - started
        assert out["usage"]["completion_tokens"] == REFERENCE_GENERATED
        return seconds

    try:
        yield timed
    finally:
        llama.close()


def answer_prompts(assistant: Assistant, questions: list[str]) -> list[list[dict]]:
    """The answer prompt each question gets, as chat messages (the new answer path only)."""
    from assistant.answering import format_evidence, select_evidence
    from assistant.chain import load_prompt

    prompts = []
    for question in questions:
        evidence = select_evidence(question, assistant.retrieve(question), assistant.vectors)
        messages = load_prompt("answer").format_messages(evidence=format_evidence(evidence), question=question)
        roles = {"system": "system", "human": "user", "ai": "assistant"}
        prompts.append([{"role": roles[m.type], "content": m.content} for m in messages])
    return prompts


def prefix_strategies(model_path: Path, prompts: list[list[dict]]) -> dict:
    """Time to the first token of the same answer prompts three ways: processed whole; after the fixed prefix kept
    in the context (what the product does: one context per role); after restoring a state saved with the prefix
    processed (Llama.save_state/load_state)."""
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llama = Llama(model_path=str(model_path), n_ctx=4096, n_batch=512, n_threads=llm.LLAMA_THREADS,
                  n_threads_batch=llm.LLAMA_THREADS, seed=llm.SEED, verbose=False)
    template = Jinja2ChatFormatter(template=llama.metadata["tokenizer.chat_template"],
                                   eos_token=llama.detokenize([llama.token_eos()]).decode(),
                                   bos_token=llama.detokenize([llama.token_bos()]).decode())
    tokens = [llama.tokenize(template(messages=m).prompt.encode("utf-8"), add_bos=False, special=True)
              for m in prompts]
    fixed = min(common_prefix(tokens[0], t) for t in tokens[1:]) if len(tokens) > 1 else 0

    def timed(prepare, rest) -> float:
        prepare()
        started = time.perf_counter()
        llama.eval(rest)
        return time.perf_counter() - started

    llama.reset()
    llama.eval(tokens[0][:fixed])
    state = llama.save_state()
    whole, kept, restored, loads = [], [], [], []
    for t in tokens:
        loads.append(load_average())
        whole.append(timed(llama.reset, t))
        kept.append(timed(lambda: (llama.reset(), llama.eval(t[:fixed])), t[fixed:]))
        started = time.perf_counter()
        llama.load_state(state)
        restored.append(time.perf_counter() - started + timed(lambda: None, t[fixed:]))
    del llama
    return {
        "prompts": len(tokens), "prompt_tokens_median": median(len(t) for t in tokens), "fixed_prefix_tokens": fixed,
        "whole_s": median(whole), "prefix_kept_s": median(kept), "state_restored_s": median(restored),
        "state_mb": round(state.llama_state_size / 1e6 + state.scores.nbytes / 1e6, 1), "loads": loads,
    }


def answer_latency(backends: list[str], n_questions: int, scratch: Path) -> dict:
    questions, warmup = pick_questions(n_questions)
    base = replace(load_settings(), chroma_url="", index_dir=scratch / "seed-index", home=load_settings().home,
                   seeds_dir=REPO / "seeds")
    results = {}
    for backend in backends:
        model = llm.resolve_gguf(backend, base.model_dir) if backend.startswith("llamacpp") else None
        with Assistant(replace(base, llm=backend)) as assistant, \
                (reference_model(model) if model else nullcontext()) as reference:
            assistant.ensure_indexed()
            # Two unmeasured questions: load the model(s), and find each context's fixed prompt prefix.
            cold = ask(assistant, warmup[0], {})
            first = {id(c): tokens_in(c) for c in contexts()}
            ask(assistant, warmup[1], {})
            fixed = {id(c): common_prefix(first.get(id(c), []), tokens_in(c)) for c in contexts()}
            rows = []
            for question in questions:
                rows.append(ask(assistant, question, fixed))
                if reference:
                    rows[-1]["reference_s"] = reference()
                print(f"{backend}: evidence {rows[-1]['evidence_s']}, first token {rows[-1]['first_token_s']}, "
                      f"total {rows[-1]['total_s']:.2f}s, {rows[-1]['tokens_processed']} tokens, reference "
                      f"{rows[-1].get('reference_s')} (load {rows[-1]['load']})", file=sys.stderr)
            prompts = None
            if model and hasattr(assistant, "vectors"):  # the new answer path
                prompts = answer_prompts(assistant, questions)
        prefix = prefix_strategies(model, prompts) if prompts else None
        total = median(r["total_s"] for r in rows)
        references = [r["reference_s"] for r in rows if "reference_s" in r]
        results[backend] = {
            "cold": cold,
            "fixed_prefix_tokens": sorted(fixed.values()),
            "questions": rows,
            "median_evidence_s": median(r["evidence_s"] for r in rows) if all(r["evidence_s"] for r in rows) else None,
            "median_first_token_s": median(r["first_token_s"] for r in rows if r["first_token_s"] is not None)
            if any(r["first_token_s"] is not None for r in rows) else None,
            "median_total_s": total,
            "max_total_s": max(r["total_s"] for r in rows),
            "median_tokens_processed": median(r["tokens_processed"] for r in rows),
            "reference": {"seconds": references, "median_s": median(references)} if references else None,
            # each question over the yardstick timed right after it, then the median: the machine's drift cancels
            "ratio_to_reference": median(r["total_s"] / r["reference_s"] for r in rows) if references else None,
            "ratio_of_medians": total / median(references) if references else None,
            "prefix": prefix,
        }
    return results


# --- report ------------------------------------------------------------------------------------------------


def _s(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def render(m: dict) -> str:
    lines = ["# Latency", "", f"{m['machine']['cpus']} CPUs shared with other jobs. Each section says when it ran: a run "
             "that skips a section keeps the previous run's.", ""]
    r = m.get("retrieval")
    if r:
        sizes = [str(s["chunks"]) for s in r["indexes"]]
        small, large = sizes[0], sizes[-1]
        lines += [
            "## Retrieval (Retriever.search, k=5)",
            "",
            f"Run {r['started']}: `{r['command']}`",
            "",
            f"Real chunks: {r['real_chunks']:,} from {r['real_docs']:,} abstracts, read from {r['origin']}. "
            + (f"Synthetic copies: vector noise sigma {r['noise']} per dimension (mean cosine to the original "
               f"{r['noise_cosine']:.3f}), ~10 % adjacent word pairs swapped. " if r["noise_cosine"] else "")
            + f"{r['queries']} SciFact test queries, {len(r['latency']['passes'])} passes, sizes interleaved; "
            "medians over passes.",
            "",
            "| chunks | documents | real chunks | build (load) | p50 | p95 | BM25 first build | BM25 update after a "
            "1-document ingest (load) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for s in r["indexes"]:
            n = str(s["chunks"])
            b = s["bm25_build"]
            lines.append(
                f"| {s['chunks']:,} | {s['documents']:,} | {s['real_chunks']:,} | {s['build_s']:.0f} s ({s['build_load']}) | "
                f"{ms(r['latency']['median'][n]['p50'])} | {ms(r['latency']['median'][n]['p95'])} | "
                f"{b['full_s']:.1f} s | {b['update_s']:.1f} s ({b['loads'][0]}) |"
            )
        g = r["latency"]["growth"]
        lines += [
            "",
            f"**Cost growth {large}/{small} chunks: p50 x{g['p50']:.2f}, p95 x{g['p95']:.2f}** "
            f"(for {int(large) / int(small):.0f}x the chunks; ratios taken within each pass, then the median).",
            "",
            "| pass | load before -> after | " + " | ".join(f"{n} p50 / p95" for n in sizes) + " |",
            "|---|---|" + "---|" * len(sizes),
        ]
        for i, p in enumerate(r["latency"]["passes"], start=1):
            lines.append(f"| {i} | {p['load_before']} -> {p['load_after']} | "
                         + " | ".join(f"{ms(p[n]['p50'])} / {ms(p[n]['p95'])}" for n in sizes) + " |")
        lines += [
            "",
            f"Stages, p50 over the same queries (each timed on its own; load {r['latency']['stage_load']}):",
            "",
            "| stage | " + " | ".join(sizes) + " |",
            "|---|" + "---|" * len(sizes),
        ]
        names = {
            "embed_query": "embed the question",
            "dense_chroma": f"Chroma vector query (fetch_k={FETCH_K})",
            "dense": "Retriever.dense (Chroma query + committed-version filter)",
            "bm25": f"BM25 search (fetch_k={FETCH_K})",
            "search": "Retriever.search total",
        }
        for stage, label in names.items():
            lines.append(f"| {label} | " + " | ".join(ms(r["latency"]["stage_p50"][n][stage]) for n in sizes) + " |")
        lines.append("| one Index.committed() call | "
                     + " | ".join(ms(s["committed_call_s"]) for s in r["indexes"]) + " |")
        lines += ["", f"Where it grows: {r['where']}"]
    for label, a in sorted((m.get("answers") or {}).items()):
        lines += [
            "",
            f"## Answers: {label} (Assistant.stream on the seed index)",
            "",
            f"Run {a['started']}: `{a['command']}`",
            "",
            f"Reference: the same model in a fresh context evaluating a {REFERENCE_PROMPT}-token prompt and generating "
            f"{REFERENCE_GENERATED} tokens, timed right after each question. The ratio is the median over questions "
            "of the question's total over the reference timed after it (the machine's drift cancels); the ratio of "
            "the two medians is shown beside it. Each context may reuse only the part of its prompt that every "
            "question shares (instructions, examples), never passages a previous question retrieved too.",
            "",
            "| backend | questions | first evidence p50 | first token p50 | total p50 | total max | tokens processed "
            "p50 (prompt + generated) | fixed prefix kept | reference p50 | **total / reference, p50** | "
            "total p50 / reference p50 | load during |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for backend, b in a["backends"].items():
            loads = [q["load"] for q in b["questions"]]
            ref = b["reference"]
            ratio = f"{b['ratio_to_reference']:.2f}" if b["ratio_to_reference"] else "—"
            of_medians = f"{b['ratio_of_medians']:.2f}" if b.get("ratio_of_medians") else "—"
            lines.append(
                f"| {backend} | {len(b['questions'])} | {_s(b['median_evidence_s'])} | "
                f"{_s(b['median_first_token_s'])} | {b['median_total_s']:.2f} s | {b['max_total_s']:.2f} s | "
                f"{b['median_tokens_processed']:.0f} | {', '.join(map(str, b['fixed_prefix_tokens'])) or '—'} | "
                f"{_s(ref['median_s']) if ref else '—'} | "
                f"**{ratio}** | {of_medians} | "
                f"{min(loads)}-{max(loads)} |"
            )
        prefixes = {b: v["prefix"] for b, v in a["backends"].items() if v.get("prefix")}
        if prefixes:
            lines += ["", "Keeping the fixed instructions processed (time to the first token of the same answer prompts, "
                      "median; prompt processing only):", "",
                      "| backend | prompts | prompt tokens p50 | fixed prefix | processed whole | prefix kept in the context "
                      "(used) | state restored (save_state/load_state) | state size |", "|---|---|---|---|---|---|---|---|"]
            for backend, x in prefixes.items():
                lines.append(f"| {backend} | {x['prompts']} | {x['prompt_tokens_median']:.0f} | {x['fixed_prefix_tokens']} "
                             f"| {x['whole_s']:.2f} s | {x['prefix_kept_s']:.2f} s | {x['state_restored_s']:.2f} s | "
                             f"{x['state_mb']} MB |")
        lines += ["", "Per question:", "",
                  "| backend | question | load | evidence | first token | total | tokens processed "
                  "| reference after it | total / reference | refused |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for backend, b in a["backends"].items():
            for q in b["questions"]:
                lines.append(f"| {backend} | {q['question']} | {q['load']} | {_s(q['evidence_s'])} | "
                             f"{_s(q['first_token_s'])} | {q['total_s']:.2f} s | {q['tokens_processed']} | "
                             f"{_s(q.get('reference_s'))} | "
                             + (f"{q['total_s'] / q['reference_s']:.2f}" if q.get("reference_s") else "—")
                             + f" | {q['refused']} |")
    return "\n".join([*lines, ""])


def where_it_grows(latency: dict, indexes: list[dict]) -> str:
    small, large = indexes[0], indexes[-1]
    st = latency["stage_p50"]
    delta = {s: st[str(large["chunks"])][s] - st[str(small["chunks"])][s] for s in STAGES}
    text = (
        f"from {small['chunks']:,} to {large['chunks']:,} chunks the stages' p50s change by: Chroma vector query "
        f"{ms(delta['dense_chroma'])}, the committed-version filter in Retriever.dense "
        f"{ms(delta['dense'] - delta['dense_chroma'])}, BM25 search {ms(delta['bm25'])}, question embedding "
        f"{ms(delta['embed_query'])} (the same work at both sizes: its change is noise); Retriever.search "
        f"{ms(delta['search'])} in all."
    )
    committed = large["committed_call_s"]
    if committed >= 0.1 * st[str(large["chunks"])]["search"]:
        text += (
            f" `Index.committed()` (`{source_line(Index.committed, 'return')}`) costs {ms(committed)} per call at "
            f"{large['chunks']:,} chunks ({large['documents']:,} manifest entries), and Retriever.dense calls it per "
            "search: look at what its cache misses."
        )
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="BEIR SciFact folder (queries, corpus)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="chunk counts, smallest first")
    parser.add_argument("--queries", type=int, default=50, help="SciFact test queries per pass")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--noise", type=float, default=0.015, help="Gaussian noise per vector dimension of a copy")
    parser.add_argument("--real-index", type=Path,
                        help="index to read real chunks and vectors from (default: <home>/bench-index/scifact)")
    parser.add_argument("--embed-docs", type=int, default=1000,
                        help="abstracts to embed when that index is missing or unreadable")
    parser.add_argument("--backends", nargs="*", default=["extractive", "llamacpp"],
                        help="answer backends to time (none: skip answers)")
    parser.add_argument("--questions", type=int, default=12, help="measured questions per backend")
    parser.add_argument("--label", default="current",
                        help="name of this answers run in the report (e.g. 'before' with PYTHONPATH at an older "
                             "checkout, so both paths are timed in the same session)")
    parser.add_argument("--skip-retrieval", action="store_true")
    args = parser.parse_args()

    started = datetime.now(timezone.utc)
    settings = load_settings()
    metrics: dict = {
        "benchmark": "latency",
        "started": started.isoformat(timespec="seconds"),
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": machine(),
    }
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as scratch:
        scratch = Path(scratch)
        if not args.skip_retrieval:
            rows, vectors, origin = real_chunks(args.real_index or settings.home / "bench-index" / "scifact",
                                                args.data, args.embed_docs)
            print(f"{len(rows)} real chunks from {origin}; load {load_average()}", file=sys.stderr)
            queries_by_id = {str(q["_id"]): str(q["text"]) for q in read_jsonl(args.data / "queries.jsonl")}
            queries = [queries_by_id[q] for q in load_qrels(args.data / "qrels" / "test.tsv") if q in queries_by_id]
            queries = queries[: args.queries]
            indexes, retrievers, cosines = [], {}, []
            for size in args.sizes:
                scaled = scaled_rows(rows, vectors, size, args.noise)
                if scaled.noise_cosine is not None:
                    cosines.append(scaled.noise_cosine)
                load = load_average()
                index, build_s = build_scaled_index(scratch / f"scale-{size}", scaled)
                print(f"{len(scaled.rows)} chunks indexed in {build_s:.0f}s", file=sys.stderr)
                retriever = Retriever(index)
                retriever.search(queries[0], K)  # builds BM25 and warms Chroma's caches: not measured
                retrievers[len(scaled.rows)] = retriever
                indexes.append({
                    "target": size, "chunks": len(scaled.rows), "documents": len(scaled.manifest),
                    "real_chunks": scaled.real, "copies": scaled.copies, "build_s": build_s, "build_load": load,
                    "bm25_build": bm25_build(index, args.passes),
                    "committed_call_s": committed_lookup_cost(index),
                })
            latency = retrieval_latency(retrievers, queries, args.passes)
            metrics["retrieval"] = {
                "started": started.isoformat(timespec="seconds"), "command": metrics["command"],
                "origin": origin, "real_chunks": len(rows), "real_docs": len({r["meta"]["source"] for r in rows}),
                "noise": args.noise, "noise_cosine": median(cosines) if cosines else None,
                "queries": len(queries), "indexes": indexes, "latency": latency,
                "where": where_it_grows(latency, indexes),
            }
            for retriever in retrievers.values():
                retriever.index.close()
        if args.backends:
            metrics["answers"] = {args.label: {
                "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": metrics["command"],
                "backends": answer_latency(args.backends, args.questions, scratch),
            }}
    previous = PERF / "latency.json"
    if previous.is_file():  # a section (or answers label) this run skipped keeps the last run's
        kept = json.loads(previous.read_text(encoding="utf-8"))
        if "retrieval" not in metrics and "started" in kept.get("retrieval", {}):
            metrics["retrieval"] = kept["retrieval"]
        old_answers = {k: v for k, v in (kept.get("answers") or {}).items() if isinstance(v, dict) and "backends" in v}
        metrics["answers"] = {**old_answers, **metrics.get("answers", {})}
    publish("latency", metrics, render, started)


if __name__ == "__main__":
    main()
