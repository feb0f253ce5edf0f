"""SciFact chunks at any scale without embedding anything, for the retrieval benchmarks (bench_latency.py,
bench_scale.py): 100k chunks would take hours to embed on 2 cores.

The real SciFact chunks and their vectors are read from the SciFact benchmark index (<home>/bench-index/scifact,
built by `assistant eval --suite scifact`; if absent, ``embed_docs`` abstracts are embedded into a scratch index
first). A size takes the real chunks first, then perturbed copies of them as separate documents until the size is
reached: copy r of a document gets source "<id>~copy<r>", its own sha256 and chunk ids, its text with ~10 % of
adjacent word pairs swapped (same length, so start/end stay valid) and each vector plus Gaussian noise (``noise``
per dimension), re-normalised. Chunks go straight into the Chroma collection (Index.chunks.add with the metadata a
real ingest writes); manifest entries go into the manifest collection in the shape Index._set_entry writes, then
Index._bump_generation commits them.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from chromadb.errors import ChromaError

from assistant.chunking import chunk_id
from assistant.evaluation.scifact import ROOT as SCIFACT_ROOT
from assistant.evaluation.scifact import load_corpus
from assistant.store import PAGE, Index
from bench_ingest import bench_settings

SCALE_ROOT = "bench:scale"


# --- the real chunks ---------------------------------------------------------------------------------------


def real_chunks(existing: Path, data: Path, embed_docs: int) -> tuple[list[dict], np.ndarray, str]:
    """Committed SciFact chunks with their vectors, grouped by document in index order."""
    if (existing / "chroma.sqlite3").is_file():
        index = Index(bench_settings(existing))
        try:
            rows, vectors = _read_chunks(index)
            if rows:
                return rows, vectors, f"{existing} (SciFact benchmark index, read only)"
        except ChromaError as exc:  # seen while another process was still writing that index
            print(f"cannot read {existing} ({exc}); embedding instead", file=sys.stderr)
        finally:
            index.close()
    with tempfile.TemporaryDirectory(prefix="bench-latency-embed-") as scratch:
        print(f"embedding {embed_docs} SciFact abstracts", file=sys.stderr)
        index = Index(bench_settings(Path(scratch)))
        index.sync_documents(load_corpus(data)[:embed_docs], roots=[SCIFACT_ROOT])
        rows, vectors = _read_chunks(index)
        index.close()
    return rows, vectors, f"{embed_docs} SciFact abstracts embedded into a scratch index"


def _read_chunks(index: Index) -> tuple[list[dict], np.ndarray]:
    committed = index.committed()
    rows, vectors, offset = [], [], 0
    while True:
        got = index.chunks.get(include=["documents", "metadatas", "embeddings"], limit=PAGE, offset=offset)
        for id_, text, meta, vector in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
            if committed.get(meta["source"]) == meta["doc_sha256"]:
                rows.append({"id": id_, "text": text, "meta": meta})
                vectors.append(vector)
        if len(got["ids"]) < PAGE:
            break
        offset += PAGE
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["meta"]["source"], rows[i]["meta"]["chunk_index"]))
    return [rows[i] for i in order], np.asarray([vectors[i] for i in order], dtype=np.float32)


# --- synthetic scale ---------------------------------------------------------------------------------------


def swap_words(text: str, rng: np.random.Generator, rate: float = 0.1) -> str:
    """Swap ~rate of adjacent word pairs: new word order, same vocabulary, same length (offsets stay valid)."""
    parts = re.split(r"(\s+)", text)  # words at even positions, whitespace at odd ones
    for i in range(0, len(parts) - 2, 2):
        if parts[i] and parts[i + 2] and rng.random() < rate:
            parts[i], parts[i + 2] = parts[i + 2], parts[i]
    return "".join(parts)


@dataclass
class Scaled:
    rows: list[dict]
    vectors: np.ndarray
    manifest: dict[str, dict]  # source -> manifest entry
    real: int  # chunks that are real (the rest are perturbed copies)
    copies: int  # passes over the real documents (1 = no copies)
    noise_cosine: float | None  # mean cosine of a copy's vector to its original


def scaled_documents(rows: list[dict], vectors: np.ndarray, noise: float, seed: int = 0):
    """Whole documents without end: the real ones, then pass after pass of perturbed copies. Yields (source,
    manifest entry, chunk rows, their vectors, the copies' mean cosine to their originals or None). Each pass has its
    own random stream, so a build can stop anywhere and a later one regenerate the same documents."""
    by_doc: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_doc.setdefault(row["meta"]["source"], []).append(i)
    for copy in itertools.count():
        rng = np.random.default_rng([seed, copy])
        for source, members in by_doc.items():
            first = rows[members[0]]["meta"]
            name = source if copy == 0 else f"{source}~copy{copy}"
            sha = (first["doc_sha256"] if copy == 0
                   else hashlib.sha256(f"{first['doc_sha256']}~{copy}".encode()).hexdigest())
            originals = vectors[members]
            if copy == 0:
                texts, doc_vectors, cosine = [rows[i]["text"] for i in members], originals, None
            else:
                texts = [swap_words(rows[i]["text"], rng) for i in members]
                doc_vectors = originals + rng.normal(0.0, noise, originals.shape).astype(np.float32)
                doc_vectors /= np.linalg.norm(doc_vectors, axis=1, keepdims=True)
                cosine = float(np.mean(np.sum(doc_vectors * originals, axis=1)))
            out = []
            for i, text in zip(members, texts):
                meta = {**rows[i]["meta"], "source": name, "doc_sha256": sha,
                        "content_sha256": hashlib.sha256(text.encode()).hexdigest()}
                out.append({"id": chunk_id(name, sha, meta["chunk_index"]), "text": text, "meta": meta})
            entry = {"sha256": sha, "root": SCALE_ROOT, "title": first.get("title", name), "chunks": len(members),
                     "dirty": False}
            yield name, entry, out, doc_vectors, cosine


def scaled_rows(rows: list[dict], vectors: np.ndarray, target: int, noise: float, seed: int = 0) -> Scaled:
    """Whole documents, real ones first, then perturbed copies, until ``target`` chunks are reached."""
    out_rows, out_vectors, manifest, cosines = [], [], {}, []
    for name, entry, doc_rows, doc_vectors, cosine in scaled_documents(rows, vectors, noise, seed):
        if len(out_rows) >= target:
            break
        out_rows += doc_rows
        out_vectors.append(doc_vectors)
        manifest[name] = entry
        if cosine is not None:
            cosines.append(cosine)
    copies = 1 + max((int(n.rsplit("~copy", 1)[1]) for n in manifest if "~copy" in n), default=0)
    return Scaled(out_rows, np.concatenate(out_vectors).astype(np.float32), manifest,
                  real=min(len(rows), len(out_rows)), copies=copies,
                  noise_cosine=float(np.mean(cosines)) if cosines else None)


def write_commit(index: Index, docs: list[tuple[str, dict, list[dict], np.ndarray]], *, upsert: bool = False) -> None:
    """One commit as a sync's writer makes it, without embedding: the chunks with their vectors (in the largest
    batches Chroma takes), then the manifest entries (the commit point) and the generation, then the lexical
    index caught up with the texts just written. ``upsert`` when a killed build may have written some of them."""
    chunks = [row for _, _, doc_rows, _ in docs for row in doc_rows]
    vectors = np.concatenate([v for *_, v in docs]) if docs else np.empty((0, 0), np.float32)
    write = index.chunks.upsert if upsert else index.chunks.add
    batch = min(index.client.get_max_batch_size(), 5000)
    for i in range(0, len(chunks), batch):
        part = chunks[i : i + batch]
        write(ids=[r["id"] for r in part], documents=[r["text"] for r in part],
              metadatas=[r["meta"] for r in part], embeddings=vectors[i : i + batch])
    seq = index._next_seq()
    for i in range(0, len(docs), batch):
        part = docs[i : i + batch]
        # the record shape of Index._set_entries, written in batches (one upsert per document would take minutes)
        index._manifest.upsert(ids=[d[0] for d in part], embeddings=[[1.0]] * len(part), documents=[d[0] for d in part],
                               metadatas=[{**d[1], "seq": seq} for d in part])
    index._bump_generation(seq)
    index.lexical.catch_up(index, known={r["id"]: r["text"] for r in chunks})
    index.lexical.merge()


def build_scaled_index(folder: Path, scaled: Scaled) -> tuple[Index, float]:
    """Write chunks and manifest as one committed sync would leave them; returns the index and seconds taken."""
    started = time.perf_counter()
    index = Index(bench_settings(folder))
    by_source: dict[str, list[int]] = {}
    for i, row in enumerate(scaled.rows):
        by_source.setdefault(row["meta"]["source"], []).append(i)
    write_commit(index, [(name, entry, [scaled.rows[i] for i in by_source[name]], scaled.vectors[by_source[name]])
                         for name, entry in scaled.manifest.items()])
    return index, time.perf_counter() - started
