"""Ingest throughput: Index.sync_documents against a bare fp32 SentenceTransformer.encode (torch) of the same chunk
texts, and the cost of re-ingesting an unchanged corpus. Writes eval/reports/perf/ingest.{md,json} (with another
backend than the default: ingest-<backend>.{md,json}), and with --out DIR also DIR/metrics.json with
ingest_chunks_per_s and baseline_fp32_encode_chunks_per_s at its top level.

    python eval/bench_ingest.py [--out DIR] [--embed-backend openvino|torch-bf16|torch|onnx|onnx-int8] [--docs 300]
                                [--slice-docs 100] [--repeats 3] [--data ../shared/bench/scifact] [--profile] [--profile-docs 300]

Ingest embeds with the configured backend (--embed-backend, default the settings'); the baseline is always the
torch fp32 model, so with openvino, torch-bf16 or onnx-int8 the ratio says how much faster ingest got than the old
path's bare encode.

Load on the shared cores changes within minutes, so the two sides are measured interleaved: the documents are
cut into slices, and for each slice, in alternating order,
  ingest     Index.sync_documents of the slice into the repeat's fresh temporary index (it grows slice by slice)
  encode     the fp32 torch SentenceTransformer.encode of exactly that slice's chunk texts in one call, with the
             app's batch size and normalisation: the baseline (with the torch backend, the embedding work alone,
             which ingest cannot beat)
  as called  the same texts in the same encode calls ingest makes, on ingest's own embedder (its LangChain
             embed_documents, bf16 autocast included; calls recorded by an unmeasured warm-up ingest): the
             embedding alone, so the gap to ingest is everything else ingest does
then the whole corpus is ingested again unchanged (re-ingest). Ratios are of the sums over slices within one
repeat; the median over repeats is reported.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from assistant.config import Settings, load_settings
from assistant.documents import SourceDocument
from assistant.embeddings import BACKENDS, get_embeddings
from assistant.evaluation.runner import bench_name
from assistant.evaluation.scifact import ROOT, load_corpus
from assistant.store import Index

REPO = Path(__file__).resolve().parents[1]
PERF = REPO / "eval" / "reports" / "perf"
DEFAULT_DATA = REPO.parent / "shared" / "bench" / "scifact"
# ingest chunks/s as a fraction of bare fp32 encode chunks/s, by the backend ingest embeds with (issue 12: >= 2.0)
THROUGHPUT_TARGETS = {"torch-bf16": 2.0, "torch": 0.85, "onnx": 0.85, "onnx-int8": 2.0, "openvino": 2.0}
REINGEST_TARGET = 0.02  # re-ingest of an unchanged corpus as a fraction of the first ingest


# --- shared with bench_latency.py ----------------------------------------------------------------------------


def load_average() -> float:
    """1-minute load average: on 2 shared cores every timing needs it beside it."""
    return round(os.getloadavg()[0], 2)


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def bench_settings(index_dir: Path) -> Settings:
    # a local throw-away folder always: a benchmark must not write into a configured Chroma server
    return replace(load_settings(), chroma_url="", index_dir=index_dir, home=index_dir)


def median(values) -> float:
    return statistics.median(values)


def headline(ingest: dict) -> dict:
    """An ingest run's rates at the top level of a metrics.json: ingest_chunks_per_s and
    baseline_fp32_encode_chunks_per_s (the keys the scale issue asks for), their ratio and each repeat's load."""
    summary = ingest["summary"]
    return {
        "ingest_chunks_per_s": summary["ingest_chunks_per_s"],
        "baseline_fp32_encode_chunks_per_s": summary["encode_chunks_per_s"],
        "ratio": summary["throughput_ratio"],
        "embed_backend": ingest["embed_backend"],
        "loads": {k: [r[k] for r in ingest["repeats"]] for k in ("ingest_load", "encode_load")},
        "started": ingest["started"], "command": ingest["command"], "chunks": ingest["chunks"],
    }


def publish(name: str, metrics: dict, render, started: datetime) -> None:
    """Stamp the run's duration, write ``<name>.md/.json``, rebuild the folder's report.md and metrics.json from
    every part present (the default embedder's ingest rates also at its top level), and print the report."""
    metrics["seconds"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)
    markdown = render(metrics)
    PERF.mkdir(parents=True, exist_ok=True)
    (PERF / f"{name}.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    (PERF / f"{name}.md").write_text(markdown, encoding="utf-8")
    others = sorted(p.stem for p in PERF.glob("ingest-*.json"))  # other embedders' runs
    parts = [p for p in ("ingest", *others, "latency", "cold") if (PERF / f"{p}.json").is_file()]
    combined = {p: json.loads((PERF / f"{p}.json").read_text(encoding="utf-8")) for p in parts}
    combined = {**(headline(combined["ingest"]) if "ingest" in combined else {}), **combined}
    (PERF / "metrics.json").write_text(json.dumps(combined, indent=2) + "\n", encoding="utf-8")
    body = "\n\n".join((PERF / f"{p}.md").read_text(encoding="utf-8").strip() for p in parts)
    (PERF / "report.md").write_text(
        "# Performance\n\nWritten by eval/bench_ingest.py, eval/bench_latency.py and eval/bench_cold.py; each section "
        "is one run of one script. The machine is 2 CPU cores shared with other jobs, so absolute times are noisy: "
        "read the ratios (both sides measured in the same run) and the load average beside each timing.\n\n"
        + body.replace("\n# ", "\n## ") + "\n",
        encoding="utf-8",
    )
    print(markdown)
    print(f"report: {PERF / f'{name}.md'}", file=sys.stderr)


def source_line(func, needle: str) -> str:
    """``path:line`` of the first line of ``func`` containing ``needle``, so advice stays right if code moves."""
    lines, first = inspect.getsourcelines(func)
    path = Path(inspect.getsourcefile(func)).resolve().relative_to(REPO).as_posix()
    for offset, line in enumerate(lines):
        if needle in line:
            return f"{path}:{first + offset}"
    return f"{path}:{first}"


# --- measurements ------------------------------------------------------------------------------------------


def chunk_texts(docs: list[SourceDocument], index: Index) -> list[str]:
    """The chunk texts ingest will embed, in its order (the same splitter, so the same texts)."""
    return [c.page_content for doc in docs for c in index._chunker.chunk(doc)]


def timed(fn) -> tuple[float, float, object]:
    """(seconds, load average just before, result)."""
    load = load_average()
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, load, result


@contextmanager
def recording_calls(model, calls: list[list[str]]):
    """Append the texts of every ``model.encode`` call to ``calls``, in the order ingest passed them."""
    original = model.encode

    def encode(sentences, *args, **kwargs):
        calls.append(list(sentences))
        return original(sentences, *args, **kwargs)

    model.encode = encode  # an instance attribute shadows the method
    try:
        yield
    finally:
        del model.encode


@dataclass
class Slice:
    docs: list[SourceDocument]
    texts: list[str]  # their chunk texts in document order
    calls: list[list[str]]  # the encode calls ingest makes for them, texts as passed (recorded by the warm-up ingest)


def encode(model, texts: list[str], batch_size: int):
    return model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)


def warm_up(docs: list[SourceDocument], model, slice_docs: int) -> list[Slice]:
    """An unmeasured ingest of every slice (imports, thread pools, SQLite), recording the encode calls it makes."""
    slices = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-warm-") as scratch:
        index = Index(bench_settings(Path(scratch)))
        try:
            for start in range(0, len(docs), slice_docs):
                part = docs[start : start + slice_docs]
                calls: list[list[str]] = []
                with recording_calls(model, calls):
                    index.sync_documents(part, roots=[])
                texts = chunk_texts(part, index)
                # langchain's HuggingFaceEmbeddings turns newlines into spaces before encoding
                if sorted(t for call in calls for t in call) != sorted(t.replace("\n", " ") for t in texts):
                    raise AssertionError(f"ingest encoded {sum(map(len, calls))} texts for {len(texts)} chunks")
                slices.append(Slice(part, texts, calls))
        finally:
            index.close()
    return slices


def measure_repeat(slices: list[Slice], embeddings, baseline, baseline_batch_size: int, flip: bool) -> dict:
    """One repeat into a fresh index: per slice, ingest / encode / encode as called, in alternating order."""
    seconds = {"ingest": 0.0, "encode": 0.0, "as_called": 0.0}
    loads: dict[str, list[float]] = {k: [] for k in seconds}
    all_docs = [d for part in slices for d in part.docs]
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as scratch:
        index = Index(bench_settings(Path(scratch)))
        try:
            for k, part in enumerate(slices):
                steps = {
                    # roots=[]: a slice must not remove the documents earlier slices wrote
                    "ingest": lambda: index.sync_documents(part.docs, roots=[]),
                    "encode": lambda: encode(baseline, part.texts, baseline_batch_size),
                    "as_called": lambda: [embeddings.embed_documents(call) for call in part.calls],
                }
                order = list(steps) if (k + flip) % 2 == 0 else list(steps)[::-1]
                for name in order:
                    took, load, result = timed(steps[name])
                    seconds[name] += took
                    loads[name].append(load)
                    if name == "ingest" and result.chunks_written != len(part.texts):
                        raise AssertionError(f"ingest wrote {result.summary()}, expected {len(part.texts)} chunks")
            again, load_again, report = timed(lambda: index.sync_documents(all_docs, roots=[ROOT]))
            if report.chunks_written or report.removed or len(report.unchanged) != len(all_docs):
                raise AssertionError(f"re-ingest of an unchanged corpus did work: {report.summary()}")
        finally:
            index.close()
    return {
        **{f"{name}_s": value for name, value in seconds.items()},
        **{f"{name}_load": f"{min(v)}-{max(v)}" for name, v in loads.items()},
        "reingest_s": again,
        "reingest_load": str(load_again),
    }


def padded_tokens(model, calls: list[list[str]], batch_size: int) -> int:
    """Tokens encode runs through the model, padding included: within a call it orders texts by length (in
    characters) and pads each batch to its longest text; so how texts are split into calls decides the padding."""
    total = 0
    for call in calls:
        ordered = sorted(call, key=len, reverse=True)
        lengths = [len(ids) for ids in
                   model.tokenizer(ordered, truncation=True, max_length=model.max_seq_length)["input_ids"]]
        for i in range(0, len(lengths), batch_size):
            batch = lengths[i : i + batch_size]
            total += max(batch) * len(batch)
    return total


# --- profile -----------------------------------------------------------------------------------------------

# Disjoint stages of one ingest, by the function whose cumulative time is the stage (encode is inside add_texts).
STAGES = {
    "embed (encode)": (("sentence_transformers/", "assistant/embeddings.py"), "encode"),  # torch, or OnnxEncoder
    "add_texts incl. embed": (("langchain_chroma/vectorstores.py",), "add_texts"),
    "chunking (Chunker.chunk)": (("assistant/chunking.py",), "chunk"),
    "manifest entries (Index._set_entries)": (("assistant/store.py",), "_set_entries"),
    "generation bumps (Index._bump_generation)": (("assistant/store.py",), "_bump_generation"),
    "stale-chunk deletes (Index._drop_stale_chunks)": (("assistant/store.py",), "_drop_stale_chunks"),
    "recovery + manifest read (Index._recover)": (("assistant/store.py",), "_recover"),
}


def profile_ingest(docs: list[SourceDocument]) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-prof-") as scratch:
        index = Index(bench_settings(Path(scratch)))
        profiler = cProfile.Profile()
        load = load_average()
        try:
            profiler.enable()
            report = index.sync_documents(docs, roots=[ROOT])
            profiler.disable()
        finally:
            index.close()
    stats = pstats.Stats(profiler)
    total = report.seconds

    def cumulative(path_parts: tuple[str, ...], name: str) -> tuple[float, int]:
        # the outermost match: a wrapper and the function it wraps may share a name
        found = [(v[3], v[1]) for (path, _, func), v in stats.stats.items()
                 if func == name and any(part in path for part in path_parts)]
        return max(found, default=(0.0, 0))

    raw = {stage: cumulative(*key) for stage, key in STAGES.items()}
    embed_s, embed_calls = raw.pop("embed (encode)")
    add_s, add_calls = raw.pop("add_texts incl. embed")
    stages = {
        "embed (encode)": (embed_s, embed_calls),
        "Chroma chunk upserts (add_texts minus embed)": (add_s - embed_s, add_calls),
        **raw,
    }
    stages["other"] = (total - sum(s for s, _ in stages.values()), 0)
    top = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:15]
    return {
        "docs": len(docs),
        "chunks": report.chunks_written,
        "seconds": total,
        "load": load,
        "stages": {k: {"seconds": s, "share": s / total, "calls": n} for k, (s, n) in stages.items()},
        "top_self_time": [
            {"function": f"{Path(path).name}:{line}({func})", "self_s": v[2], "calls": v[1]}
            for (path, line, func), v in top
        ],
    }


# --- report ------------------------------------------------------------------------------------------------


def suggestions(profile: dict, summary: dict, call_sizes: list[int], batch_size: int) -> list[str]:
    """What the measurements say to change, each pointing at the line that pays the cost."""
    stages, total, chunks = profile["stages"], profile["seconds"], profile["chunks"]
    as_called_ratio, throughput_ratio = summary["as_called_ratio"], summary["throughput_ratio"]
    padding = summary["padded_tokens_as_called"] / summary["padded_tokens_one_call"]
    embed = stages["embed (encode)"]
    writes = {k: v for k, v in stages.items() if k.startswith(("Chroma", "manifest", "generation", "stale"))}
    writes_s = sum(v["seconds"] for v in writes.values())
    writes_n = sum(v["calls"] for v in writes.values())
    out = []
    if writes_s / total >= 0.1:
        out.append(
            f"Store writes are {writes_s / total:.0%} of ingest ({writes_s:.1f}s of {total:.1f}s): {writes_n} Chroma "
            f"write calls for {chunks} chunks, ~{1000 * writes_s / max(writes_n, 1):.0f} ms each on this machine. "
            f"They are made in `Index._write` (`{source_line(Index._write, 'def _write')}`); larger groups "
            f"(BATCH, `{source_line(Index._write, 'BATCH')}`) amortise the fixed cost per call."
        )
    drops = stages["stale-chunk deletes (Index._drop_stale_chunks)"]
    if drops["share"] >= 0.02:
        out.append(
            f"Skip the stale-chunk delete for documents that had no manifest entry "
            f"(`{source_line(Index._write, '_drop_stale_chunks')}`; {drops['calls']} calls, {drops['seconds']:.1f}s, "
            f"{drops['share']:.0%}): they cannot have older chunks, since a killed sync leaves a dirty entry that "
            "`_recover` cleans first."
        )
    if padding > 1.05:  # below that, a lower as-called ratio is timing noise: the same tokens go through the model
        small = sum(1 for n in call_sizes if n < batch_size)
        out.append(
            f"Encode calls are too small: the {len(call_sizes)} calls ingest makes run at {as_called_ratio:.2f}x the "
            f"speed of one call per slice. encode orders texts by length only within a call, so these calls "
            f"push x{padding:.2f} the tokens (padding included) through the model, and {small} of them are "
            f"remainders smaller than one batch of {batch_size}. Larger groups (BATCH, "
            f"`{source_line(Index._write, 'BATCH')}`) let encode sort more texts together; a group's chunks in "
            f"one `add_documents` call (`{source_line(Index._write, 'add_documents')}`) instead of BATCH-sized "
            "slices avoids the remainder calls."
        )
    if not out:
        out.append(
            f"Nothing big left: embedding is {embed['share']:.0%} of ingest and ingest reaches "
            f"{throughput_ratio:.2f} of bare encode throughput."
        )
    return out


def render(metrics: dict) -> str:
    s = metrics["summary"]
    rows = metrics["repeats"]
    target = metrics["targets"]["throughput_ratio"]
    lines = [
        "# Ingest throughput",
        "",
        f"{metrics['docs']:,} SciFact abstracts ({metrics['data']}) -> {metrics['chunks']:,} chunks "
        f"(embedder {metrics['embed_model']} on {metrics.get('embed_backend', 'torch')}, batches of "
        f"{metrics['batch_size']}; baseline: bare fp32 torch encode, batches of "
        f"{metrics.get('baseline_batch_size', metrics['batch_size'])}; normalised), in slices of "
        f"{metrics['slice_docs']} documents, ingest and bare encode alternating slice by slice; {metrics['repeats_n']} "
        f"repeats, medians reported; started {metrics['started']}.",
        "",
        "| measurement | median | target | verdict |",
        "|---|---|---|---|",
        f"| ingest throughput / bare fp32 encode throughput | {s['throughput_ratio']:.2f} | >= {target} | "
        f"{'met' if s['throughput_ratio'] >= target else 'MISSED'} |",
        f"| re-ingest of unchanged corpus / first ingest time | {s['reingest_fraction']:.2%} | < {REINGEST_TARGET:.0%} | "
        f"{'met' if s['reingest_fraction'] < REINGEST_TARGET else 'MISSED'} |",
        f"| ingest's embedder alone, in ingest's own calls / bare fp32 encode (throughput) | "
        f"{s['as_called_ratio']:.2f} | | |",
        "",
        f"Median ingest {s['ingest_chunks_per_s']:.1f} chunks/s, bare encode {s['encode_chunks_per_s']:.1f} chunks/s, "
        f"re-ingest {s['reingest_s']:.2f}s.",
        "",
        f"Ingest made {len(s['encode_calls'])} encode calls for {metrics['chunks']} chunks, of sizes "
        f"{s['encode_calls']}. Tokens through the model, padding included: {s['padded_tokens_as_called']:,} in those "
        f"calls against {s['padded_tokens_one_call']:,} in one call per slice "
        f"(x{s['padded_tokens_as_called'] / s['padded_tokens_one_call']:.2f}).",
        "",
        "Seconds summed over slices; in brackets the range of the 1-minute load average (it includes this process) "
        "before each slice's step.",
        "",
        "| repeat | ingest s (load) | encode s (load) | encode as called s (load) | re-ingest s (load) | ratio | re-ingest |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rows, start=1):
        lines.append(
            f"| {i} | {r['ingest_s']:.1f} ({r['ingest_load']}) | {r['encode_s']:.1f} ({r['encode_load']}) | "
            f"{r['as_called_s']:.1f} ({r['as_called_load']}) | {r['reingest_s']:.2f} ({r['reingest_load']}) | "
            f"{r['throughput_ratio']:.2f} | {r['reingest_fraction']:.2%} |"
        )
    profile = metrics.get("profile")
    if profile:
        lines += [
            "",
            f"## Where ingest time goes (cProfile, {profile['docs']} documents, {profile['chunks']} chunks, "
            f"{profile['seconds']:.1f}s, load {profile['load']})",
            "",
            "| stage | seconds | share | calls |",
            "|---|---|---|---|",
        ]
        for stage, v in profile["stages"].items():
            lines.append(f"| {stage} | {v['seconds']:.2f} | {v['share']:.0%} | {v['calls'] or ''} |")
        lines += ["", "Highest self time:", "", "| function | self s | calls |", "|---|---|---|"]
        lines += [f"| `{t['function']}` | {t['self_s']:.2f} | {t['calls']} |" for t in profile["top_self_time"]]
        lines += ["", "### Suggestions", ""]
        lines += [f"{i}. {text}" for i, text in enumerate(metrics["suggestions"], start=1)]
    lines += ["", f"Command: `{metrics['command']}`", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="BEIR SciFact folder")
    parser.add_argument("--docs", type=int, default=300, help="abstracts to ingest (the first N of the corpus)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slice-docs", type=int, default=100,
                        help="documents per slice: ingest and encode alternate slice by slice")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one ingest (done anyway when the throughput target is missed)")
    parser.add_argument("--profile-docs", type=int, default=300, help="abstracts in the profiled ingest")
    parser.add_argument("--embed-backend", help="the embedder ingest uses (default: settings)", choices=BACKENDS)
    parser.add_argument("--out", type=Path, help="also write metrics.json (the summary's rates) into this folder")
    args = parser.parse_args()
    if args.embed_backend:
        os.environ["ASSISTANT_EMBED_BACKEND"] = args.embed_backend  # read by bench_settings' load_settings

    started = datetime.now(timezone.utc)
    settings = load_settings()
    docs = load_corpus(args.data)[: args.docs]
    embeddings = get_embeddings(settings.embed_model, settings.embed_backend)
    model = embeddings._client
    fp32 = get_embeddings(settings.embed_model, "torch")  # fp32 sentence-transformers, at the app's batch size
    baseline, baseline_batch_size = fp32._client, fp32.encode_kwargs["batch_size"]
    batch_size = embeddings.encode_kwargs["batch_size"]
    slices = warm_up(docs, model, args.slice_docs)
    texts = [t for part in slices for t in part.texts]
    calls = [call for part in slices for call in part.calls]
    n_chunks = len(texts)
    print(f"{len(docs)} documents, {n_chunks} chunks in {len(slices)} slices; load {load_average()}", file=sys.stderr)

    repeats = []
    for i in range(args.repeats):
        row = measure_repeat(slices, embeddings, baseline, baseline_batch_size, flip=bool(i % 2))
        row["throughput_ratio"] = row["encode_s"] / row["ingest_s"]  # same chunks on both sides
        row["reingest_fraction"] = row["reingest_s"] / row["ingest_s"]
        repeats.append(row)
        print(f"repeat {i + 1}: {row}", file=sys.stderr)

    summary = {
        "throughput_ratio": median(r["throughput_ratio"] for r in repeats),
        "reingest_fraction": median(r["reingest_fraction"] for r in repeats),
        "as_called_ratio": median(r["encode_s"] / r["as_called_s"] for r in repeats),
        "ingest_chunks_per_s": median(n_chunks / r["ingest_s"] for r in repeats),
        "encode_chunks_per_s": median(n_chunks / r["encode_s"] for r in repeats),
        "reingest_s": median(r["reingest_s"] for r in repeats),
        "encode_calls": [len(call) for call in calls],
        "padded_tokens_one_call": padded_tokens(baseline, [p.texts for p in slices], batch_size),
        "padded_tokens_as_called": padded_tokens(baseline, calls, batch_size),  # the same tokenizer on both
    }
    metrics = {
        "benchmark": "ingest",
        "started": started.isoformat(timespec="seconds"),
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": machine(),
        "data": str(args.data),
        "docs": len(docs),
        "chunks": n_chunks,
        "embed_model": settings.embed_model,
        "embed_backend": settings.embed_backend,
        "batch_size": batch_size,
        "baseline_batch_size": baseline_batch_size,
        "repeats_n": args.repeats,
        "slice_docs": args.slice_docs,
        "targets": {"throughput_ratio": THROUGHPUT_TARGETS[settings.embed_backend], "reingest_fraction": REINGEST_TARGET},
        "summary": summary,
        "repeats": repeats,
    }
    if args.profile or summary["throughput_ratio"] < THROUGHPUT_TARGETS[settings.embed_backend]:
        print("profiling one ingest", file=sys.stderr)
        metrics["profile"] = profile_ingest(docs[: args.profile_docs])
        metrics["suggestions"] = suggestions(metrics["profile"], summary, summary["encode_calls"], batch_size)
    publish(bench_name("ingest", settings), metrics, render, started)  # the default embedder's stays the reference
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        if args.out.resolve() != PERF.resolve():  # there publish wrote it, with the headline on top
            (args.out / "metrics.json").write_text(json.dumps(headline(metrics), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
