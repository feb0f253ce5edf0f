"""An immutable BM25 segment on disk: the inverted index of many chunks, opened with mmap, never changed once written.

The lexical index (lexical.py) is one segment plus a small delta of what was committed since it was written. A new
segment is written from the previous one, its dead rows dropped and new chunks appended (``write``): postings are
merged as arrays, nothing is re-tokenised.

A segment folder holds
  rows.npy (int32), tfs.npy (uint16)   every (term, chunk row) posting and its term frequency, grouped by term,
                                        rows ascending within a term
  offsets.npy (int64, terms + 1)       term id -> the range of its postings
  lengths.npy (int32, one per row)     each chunk's length in terms (BM25's document length)
  ids.npy (bytes, one per row)         each row's chunk id
  dict.sqlite3                         term -> id; source -> sha256 of its version and the range of its rows (a
                                        version's chunks are consecutive rows); the total length
BM25 is computed at query time from these statistics (``bm25``), so a segment and the delta beside it score with
one N, one average length and one document frequency per term, as a single index of the same chunks would.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import numpy as np

K1, B = 1.2, 0.75  # SQLite FTS5's bm25() constants: the ranking SciFact was measured with (eval/reports/scifact)
MAX_TF = np.iinfo(np.uint16).max


def idf(documents: int, frequency: np.ndarray | int) -> np.ndarray:
    """FTS5's: log((N - n + 0.5) / (n + 0.5)), floored at 1e-6 for a term in more than half the chunks."""
    value = np.log((documents - np.asarray(frequency, dtype=np.float64) + 0.5) /
                   (np.asarray(frequency, dtype=np.float64) + 0.5))
    return np.where(value > 0, value, 1e-6)


def bm25(tf: np.ndarray, length: np.ndarray, average_length: float) -> np.ndarray:
    """One term's saturated, length-normalised frequency in each chunk (multiply by the term's idf)."""
    tf = tf.astype(np.float64)
    return tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average_length))


class Batch:
    """Whole document versions to append to a segment, their postings as arrays (term ids into ``vocab``)."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.ids: list[str] = []
        self.versions: list[tuple[str, str, int]] = []  # (source, sha256, chunks), in row order
        self._lengths: list[np.ndarray] = []
        self._postings: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (term ids, rows, tfs)

    def __len__(self) -> int:
        return len(self.ids)

    def add_version(self, source: str, sha256: str, ids: list[str]) -> int:
        """Reserve rows for a version's chunks; returns the first row."""
        first = len(self.ids)
        self.ids.extend(ids)
        self.versions.append((source, sha256, len(ids)))
        return first

    def add_postings(self, terms: list[str], rows: np.ndarray, tfs: np.ndarray) -> None:
        """Postings of rows reserved by ``add_version``: the i-th term occurs tfs[i] times in row rows[i]."""
        ids = np.fromiter((self.vocab.setdefault(t, len(self.vocab)) for t in terms), dtype=np.int64, count=len(terms))
        self._postings.append((ids, np.asarray(rows, dtype=np.int64), np.asarray(tfs, dtype=np.int64)))

    def add_tokens(self, first_row: int, tokens: list[list[int]], vocab: dict[str, int]) -> None:
        """Chunks' token ids (``vocab``: term -> id, as bm25s.tokenize returns them), from ``first_row`` on,
        counted into postings with array operations (a million chunks would take minutes one dict at a time)."""
        mine = np.fromiter((self.vocab.setdefault(t, len(self.vocab)) for t in vocab), dtype=np.int64,
                           count=len(vocab))
        by_id = np.empty(len(vocab), dtype=np.int64)
        by_id[np.fromiter(vocab.values(), dtype=np.int64, count=len(vocab))] = mine
        counts = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
        flat = np.fromiter((i for t in tokens for i in t), dtype=np.int64, count=int(counts.sum()))
        rows = np.arange(first_row, first_row + len(tokens))
        self.set_lengths(rows, counts)
        if len(flat):
            width = len(self.vocab)
            keys, tfs = np.unique(np.repeat(rows, counts) * width + by_id[flat], return_counts=True)
            self._postings.append((keys % width, keys // width, tfs))

    def set_lengths(self, rows: np.ndarray, lengths: np.ndarray) -> None:
        self._lengths.append(np.column_stack([np.asarray(rows, dtype=np.int64), np.asarray(lengths, dtype=np.int64)]))

    def lengths(self) -> np.ndarray:
        out = np.zeros(len(self.ids), dtype=np.int64)
        for part in self._lengths:
            out[part[:, 0]] = part[:, 1]
        return out

    def postings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self._postings:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
        return tuple(np.concatenate(p) for p in zip(*self._postings))


class Segment:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.rows = np.load(self.folder / "rows.npy", mmap_mode="r")
        self.tfs = np.load(self.folder / "tfs.npy", mmap_mode="r")
        self.offsets = np.load(self.folder / "offsets.npy", mmap_mode="r")
        self.lengths = np.load(self.folder / "lengths.npy", mmap_mode="r")
        self.ids = np.load(self.folder / "ids.npy", mmap_mode="r")
        self.size = len(self.lengths)
        self._local = threading.local()
        self.total_length = int(self._db().execute("SELECT value FROM info WHERE key = 'total_length'").fetchone()[0])

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:  # immutable: SQLite takes no locks and trusts no one changes the file
            db = sqlite3.connect(f"file:{self.folder / 'dict.sqlite3'}?mode=ro&immutable=1", uri=True,
                                 check_same_thread=False)
            self._local.db = db
        return db

    def postings(self, terms: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """term -> (rows, tfs) for the terms this segment has; views into the mapped files, nothing copied."""
        found = self._db().execute("SELECT term, id FROM term WHERE term IN (SELECT value FROM json_each(?))",
                                   (json.dumps(terms),))
        out = {}
        for term, tid in found:
            start, stop = int(self.offsets[tid]), int(self.offsets[tid + 1])
            out[term] = (self.rows[start:stop], self.tfs[start:stop])
        return out

    def versions(self, sources: list[str]) -> dict[str, tuple[str, int, int]]:
        """source -> (sha256, first row, end row) for the given sources this segment holds."""
        found = self._db().execute(
            "SELECT source, sha256, start, stop FROM source WHERE source IN (SELECT value FROM json_each(?))",
            (json.dumps(sources),))
        return {source: (sha, start, stop) for source, sha, start, stop in found}

    def all_versions(self) -> dict[str, tuple[str, int, int]]:
        return {s: (sha, a, b) for s, sha, a, b in self._db().execute("SELECT source, sha256, start, stop FROM source")}

    def chunk_ids(self, rows: np.ndarray) -> list[str]:
        return [i.decode() for i in self.ids[rows]]

    def terms(self) -> list[str]:
        return [t for (t,) in self._db().execute("SELECT term FROM term ORDER BY id")]

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def write(folder: Path, base: Segment | None, dead: set[str], batch: Batch) -> None:
    """A new segment in ``folder``: ``base``'s versions except the ``dead`` sources', then ``batch``'s. Rows and
    term ids are renumbered monotonically, so the base's postings stay in order and the batch's are merged in."""
    base_versions = base.all_versions() if base else {}
    keep = np.ones(base.size if base else 0, dtype=bool)
    for source in dead & base_versions.keys():
        _, start, stop = base_versions[source]
        keep[start:stop] = False
    base_terms = base.terms() if base else []
    terms = sorted(set(base_terms).union(batch.vocab))
    term_id = {t: i for i, t in enumerate(terms)}
    row_map = (np.cumsum(keep, dtype=np.int64) - 1).astype(np.int32)
    kept_rows = int(keep.sum())

    if base is not None and base.size:
        tid = np.fromiter((term_id[t] for t in base_terms), dtype=np.int32, count=len(base_terms))
        posting_term = np.repeat(tid, np.diff(np.asarray(base.offsets)))
        rows = np.asarray(base.rows)
        live = keep[rows]
        old_terms, old_rows, old_tfs = posting_term[live], row_map[rows[live]], np.asarray(base.tfs)[live]
        old_lengths, old_ids = np.asarray(base.lengths)[keep], np.asarray(base.ids)[keep]
        del posting_term, rows, live
    else:
        old_terms, old_rows, old_tfs = np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.uint16)
        old_lengths, old_ids = np.empty(0, np.int32), np.empty(0, "S1")

    b_terms, b_rows, b_tfs = batch.postings()
    by_batch_id = np.empty(len(batch.vocab), dtype=np.int32)
    by_batch_id[list(batch.vocab.values())] = [term_id[t] for t in batch.vocab]
    b_terms = by_batch_id[b_terms]
    b_rows = (b_rows + kept_rows).astype(np.int32)
    order = np.lexsort((b_rows, b_terms))
    b_terms, b_rows, b_tfs = b_terms[order], b_rows[order], np.minimum(b_tfs[order], MAX_TF).astype(np.uint16)
    at = np.searchsorted(old_terms, b_terms, side="right")  # after the base's postings of the same term
    all_terms = np.insert(old_terms, at, b_terms)
    all_rows = np.insert(old_rows, at, b_rows)
    all_tfs = np.insert(old_tfs, at, b_tfs)
    del old_terms, old_rows, old_tfs

    counts = np.bincount(all_terms, minlength=len(terms))
    used = counts > 0  # a term whose every posting died is dropped
    offsets = np.concatenate([[0], np.cumsum(counts[used])]).astype(np.int64)
    lengths = np.concatenate([old_lengths, batch.lengths()]).astype(np.int32)
    ids = np.concatenate([old_ids.astype("S"), np.array(batch.ids, dtype="S")]) if batch.ids else old_ids.astype("S")

    versions = [(source, sha, int(row_map[start]), stop - start) for source, (sha, start, stop)
                in base_versions.items() if source not in dead and stop > start]
    row = kept_rows
    for source, sha, n in batch.versions:
        if n:  # a version without chunks has no rows to point at
            versions.append((source, sha, row, n))
        row += n

    folder.mkdir(parents=True)
    for name, array in (("rows", all_rows), ("tfs", all_tfs), ("offsets", offsets), ("lengths", lengths),
                        ("ids", ids)):
        np.save(folder / f"{name}.npy", array)
    db = sqlite3.connect(folder / "dict.sqlite3")
    db.executescript("""
        PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
        CREATE TABLE term (term TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE source (source TEXT PRIMARY KEY, sha256 TEXT NOT NULL, start INTEGER NOT NULL,
                             stop INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """)
    kept_terms = (t for t, u in zip(terms, used) if u)
    db.executemany("INSERT INTO term VALUES (?, ?)", ((t, i) for i, t in enumerate(kept_terms)))
    db.executemany("INSERT INTO source VALUES (?, ?, ?, ?)", ((s, sha, a, a + n) for s, sha, a, n in versions))
    db.execute("INSERT INTO info VALUES ('total_length', ?)", (str(int(lengths.sum())),))
    db.commit()
    db.close()
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Flush every file and the folder itself, so a rename that follows never points at unwritten data."""
    for path in [*folder.iterdir(), folder]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)

