"""BM25 on disk: a local mirror of the store's committed chunks that catches up incrementally and answers in
milliseconds at any size.

Chroma has no ranked lexical search outside its cloud, so BM25 lives beside it, in two parts:
- the segment (segment.py): an immutable inverted index of most chunks in numpy files opened with mmap. A query
  reads only its own terms' postings, so a new process answers at once. (SQLite FTS5's bm25(), used before, ranks
  every row that matches any query term: its cost grew with the index, 109 ms p50 at 20k chunks.)
- the delta, in SQLite: the chunks of versions committed since the segment was written (``delta_doc``,
  ``delta_posting``), and the segment's versions that are no longer committed (``dead``: masked out of its
  results).
Both parts score with one set of statistics: the live chunk count, their average length and each term's live
document frequency (the segment's postings minus dead rows, plus the delta's). These are the numbers a single index
of the committed chunks would have, so a score does not depend on when the segment was last rewritten, and it is
the score SQLite FTS5's bm25() gives the same chunks (tests/test_lexical.py checks both).

When the delta and the dead rows outgrow a fraction of the segment (``merge_due``), a merge writes a new segment
from the old one and the delta and swaps it in; a reader merges in a background thread, a writer right away.

Catching up: the mirror records the manifest generation it reflects and that generation's sequence number;
manifest entries carry the sequence number of the commit that wrote them, so a catch-up reads only the entries
changed since, and only the chunks of versions it does not have yet. A catch-up that would bring more chunks than
a merge allows in the delta (a new machine's first one) writes a new segment directly.

Crash safety: the manifest stays the single commit point. A catch-up is one SQLite transaction, so the mirror is
always exactly some committed generation's state; a kill before or during it leaves the previous generation's,
and the next reader or writer catches up from there. A writer catches up right after each commit with the texts it
just embedded, so a new process finds the mirror current and answers at once. A segment is written into a new
folder and flushed to disk before a transaction points the mirror at it; a kill before that transaction leaves an
unused folder, one after it the replaced folder, and the next segment write removes either.

Where it lives: ``<index_dir>/lexical.sqlite3`` and ``lexical-segments/`` beside a local Chroma folder; with a
Chroma server, one per machine under ``<home>/lexical/`` (processes on one machine share it; SQLite serialises
their catch-ups).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import bm25s
import numpy as np
import Stemmer
from filelock import FileLock, Timeout

from . import segment as seg
from .chunking import chunk_id

if TYPE_CHECKING:
    from .store import Index

log = logging.getLogger(__name__)

FORMAT = "segments-1"  # a mirror in another layout (the FTS5 one) is rebuilt from the store
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (source TEXT PRIMARY KEY, sha256 TEXT NOT NULL, chunks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead (source TEXT PRIMARY KEY, start INTEGER NOT NULL, stop INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS delta_doc (row INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, source TEXT NOT NULL,
                                      sha256 TEXT NOT NULL, length INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS delta_doc_source ON delta_doc (source);
CREATE TABLE IF NOT EXISTS delta_posting (term TEXT NOT NULL, row INTEGER NOT NULL, tf INTEGER NOT NULL,
                                          PRIMARY KEY (term, row)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delta_posting_row ON delta_posting (row);
"""
TOKENIZE_BATCH = 20_000  # texts tokenised at a time when writing a segment (bounds the token lists in memory)
CONNECT_TIMEOUT_S = 120  # how long a connection waits for another process's write to finish

# A merge is due when the delta's chunks plus the segment's dead rows pass this many: a fraction of the segment,
# at least MERGE_MIN (below that the delta alone is fast), at most MERGE_MAX (a delta posting costs a SQLite row
# read per query, a segment one a few array reads). Merging costs about a second per 50k chunks.
MERGE_MIN, MERGE_FRACTION, MERGE_MAX = 2_000, 0.1, 20_000


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25 terms: lower-cased words, English stop words removed, stemmed (measured: eval/bench_retrieval.py).
    A stemmer per call, as PyStemmer's are not thread-safe and searches run on several threads."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False,
                          show_progress=False)


def tokenize_ids(texts: list[str]) -> tuple[list[list[int]], dict[str, int]]:
    """The same terms as ``tokenize``, as ids into a vocabulary (each distinct word stemmed once: fast in bulk)."""
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=True,
                            show_progress=False)
    return tokens.ids, tokens.vocab


def merge_threshold(segment_rows: int) -> int:
    return max(MERGE_MIN, min(int(MERGE_FRACTION * segment_rows), MERGE_MAX))


@dataclass
class State:
    """What a search needs besides the query's postings, cached until the mirror's revision changes."""

    revision: str
    segment: seg.Segment | None
    dead: np.ndarray | None  # over the segment's rows: True where its version is no longer committed
    dead_rows: int
    dead_length: int
    delta_docs: int
    delta_length: int

    @property
    def documents(self) -> int:
        return (self.segment.size if self.segment else 0) - self.dead_rows + self.delta_docs

    @property
    def average_length(self) -> float:
        total = (self.segment.total_length if self.segment else 0) - self.dead_length + self.delta_length
        return total / self.documents if total else 1.0

    def merge_due(self) -> bool:
        return self.delta_docs + self.dead_rows > merge_threshold(self.segment.size if self.segment else 0)


def _enter_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL, retrying while another connection holds the file: SQLite answers "locked" to this pragma at
    once, without the busy wait other statements get, so two processes opening a new mirror together raced."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class SegmentMissing(RuntimeError):
    pass


class LexicalIndex:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.segments = self.path.with_name(f"{self.path.stem}-segments")
        self.segments.mkdir(exist_ok=True)
        self._local = threading.local()  # one connection per thread: searches run on several
        self._state_lock = threading.Lock()
        self._state: State | None = None
        self._merging = threading.Lock()  # one merge at a time in this process
        self._upgrade()

    # --- connections -------------------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # autocommit mode; transactions are explicit (BEGIN IMMEDIATE), so a catch-up is all or nothing
            db = sqlite3.connect(self.path, timeout=CONNECT_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            _enter_wal(db)  # readers never wait for a catch-up in progress
            db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a power cut may lose the last catch-up, never corrupt
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self):
        db = self._db()
        db.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def _snapshot(self):
        """A read transaction: everything read inside it is one committed state of the mirror."""
        db = self._db()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def _upgrade(self) -> None:
        """Create the tables; a mirror in an older layout is emptied, and the next catch-up rebuilds it."""
        db = self._db()
        db.executescript("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
        if self._meta(db).get("format") == FORMAT:
            return
        with self._transaction() as db:
            if self._meta(db).get("format") == FORMAT:
                return  # another process upgraded it meanwhile
            for table in ("fts", "chunk", "versions", "dead", "delta_doc", "delta_posting"):
                db.execute(f"DROP TABLE IF EXISTS {table}")
            db.execute("DELETE FROM meta")
            for statement in SCHEMA.split(";"):  # not executescript: it would commit this transaction
                db.execute(statement)
            db.execute("INSERT INTO meta (key, value) VALUES ('format', ?)", (FORMAT,))

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
        if self._state and self._state.segment:
            self._state.segment.close()

    # --- reading -----------------------------------------------------------------------------------------

    @staticmethod
    def _meta(db: sqlite3.Connection) -> dict[str, str]:
        return dict(db.execute("SELECT key, value FROM meta"))

    def generation(self) -> str:
        row = self._db().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return row[0] if row else ""

    def _segment_folder(self, name: str) -> Path:
        return self.segments / name

    def state(self, db: sqlite3.Connection | None = None) -> State:
        """The state of a read snapshot (``db`` inside ``_snapshot``, or a new one), cached until the mirror's
        revision changes. Inside a write transaction use ``_read_state``: what it reads may still roll back."""
        if db is None:
            with self._snapshot() as db:
                return self.state(db)
        meta = self._meta(db)
        with self._state_lock:
            if self._state is None or self._state.revision != self._revision(meta):
                self._state = self._read_state(db, meta)
            return self._state

    @staticmethod
    def _revision(meta: dict[str, str]) -> str:
        return f"{meta.get('segment', '')}:{meta.get('revision', '0')}"

    def _open_segment(self, name: str) -> seg.Segment | None:
        if not name:
            return None
        cached = self._state.segment if self._state else None
        if cached is not None and cached.folder.name == name:
            return cached
        try:
            return seg.Segment(self._segment_folder(name))
        except FileNotFoundError as exc:  # replaced twice since this snapshot was taken, or deleted by hand
            raise SegmentMissing(name) from exc

    def _read_state(self, db: sqlite3.Connection, meta: dict[str, str] | None = None) -> State:
        meta = meta if meta is not None else self._meta(db)
        segment = self._open_segment(meta.get("segment", ""))
        dead, dead_rows, dead_length = None, 0, 0
        ranges = db.execute("SELECT start, stop FROM dead").fetchall()
        if ranges and segment is not None:
            dead = np.zeros(segment.size, dtype=bool)
            for start, stop in ranges:
                dead[start:stop] = True
            dead_rows = int(dead.sum())
            dead_length = int(np.asarray(segment.lengths)[dead].sum())
        docs, length = db.execute("SELECT count(*), coalesce(sum(length), 0) FROM delta_doc").fetchone()
        return State(self._revision(meta), segment, dead, dead_rows, dead_length, docs, length)

    def search(self, query: str, k: int, sources: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first. With ``sources``, only those documents' chunks are ranked (the
        statistics stay the whole index's, as a filter inside the query leaves them)."""
        terms = tokenize([query])[0]
        if not terms:
            return []  # only stop words: BM25 has nothing to say
        for attempt in range(3):
            try:
                with self._snapshot() as db:
                    return self._search(db, Counter(terms), k, sources)
            except SegmentMissing:
                if attempt == 2:
                    raise

    def _search(self, db: sqlite3.Connection, counts: Counter, k: int,
                sources: list[str] | None) -> list[tuple[str, float]]:
        state = self.state(db)
        if state.documents == 0 or k <= 0:
            return []
        terms = list(counts)
        delta = db.execute(
            "SELECT p.term, p.row, p.tf, d.length FROM delta_posting AS p JOIN delta_doc AS d ON d.row = p.row "
            "WHERE p.term IN (SELECT value FROM json_each(?))", (json.dumps(terms),)).fetchall()
        by_term: dict[str, list[tuple[int, int, int]]] = {}
        for term, row, tf, length in delta:
            by_term.setdefault(term, []).append((row, tf, length))
        segment = state.segment
        postings = segment.postings(terms) if segment else {}
        average = state.average_length
        seg_rows, seg_scores, delta_rows, delta_scores = [], [], [], []
        for term in terms:
            rows, tfs = postings.get(term, (np.empty(0, np.int32), np.empty(0, np.uint16)))
            if state.dead is not None and len(rows):
                live = ~state.dead[rows]
                rows, tfs = rows[live], tfs[live]
            mine = np.asarray(by_term.get(term, []), dtype=np.int64).reshape(-1, 3)
            frequency = len(rows) + len(mine)
            if not frequency:
                continue
            weight = counts[term] * float(seg.idf(state.documents, frequency))  # a word asked twice counts twice
            if len(rows):
                seg_rows.append(np.asarray(rows))
                seg_scores.append(weight * seg.bm25(np.asarray(tfs), segment.lengths[rows], average))
            if len(mine):
                delta_rows.append(mine[:, 0])
                delta_scores.append(weight * seg.bm25(mine[:, 1], mine[:, 2], average))
        found: list[tuple[float, str]] = []
        if seg_rows:
            scores = np.bincount(np.concatenate(seg_rows), weights=np.concatenate(seg_scores))
            candidates = np.flatnonzero(scores)
            if sources is not None:
                allowed = np.zeros(len(scores), dtype=bool)
                for _, start, stop in segment.versions(list(sources)).values():
                    allowed[start:stop] = True
                candidates = candidates[allowed[candidates]]
            if len(candidates) > k:
                candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
            found += zip(scores[candidates].tolist(), segment.chunk_ids(candidates))
        if delta_rows:
            rows, inverse = np.unique(np.concatenate(delta_rows), return_inverse=True)
            scores = np.bincount(inverse, weights=np.concatenate(delta_scores))
            wanted = dict(zip(rows.tolist(), scores.tolist()))
            within = ("" if sources is None else
                      " AND source IN (SELECT value FROM json_each(?))")
            params = [json.dumps(list(wanted))] + ([] if sources is None else [json.dumps(list(sources))])
            found += [(wanted[row], id_) for row, id_ in db.execute(
                f"SELECT row, id FROM delta_doc WHERE row IN (SELECT value FROM json_each(?)){within}", params)]
        found.sort(key=lambda hit: (-hit[0], hit[1]))
        return [(id_, score) for score, id_ in found[:k]]

    def committed(self, sources: Iterable[str]) -> dict[str, str]:
        """source -> sha256 of its committed version, for the given sources that have one."""
        return self._versions_of(self._db(), list(dict.fromkeys(sources)))

    def has_documents(self) -> bool:
        return self._db().execute("SELECT 1 FROM versions LIMIT 1").fetchone() is not None

    def chunk_ids(self) -> set[str]:
        """Every chunk BM25 ranks (the segment's live rows and the delta's)."""
        with self._snapshot() as db:
            state = self.state(db)
            ids = {row[0] for row in db.execute("SELECT id FROM delta_doc")}
        if state.segment is not None:
            rows = np.arange(state.segment.size)
            ids.update(state.segment.chunk_ids(rows if state.dead is None else rows[~state.dead]))
        return ids

    def versions(self) -> dict[str, str]:
        return dict(self._db().execute("SELECT source, sha256 FROM versions"))

    # --- catching up -------------------------------------------------------------------------------------

    def catch_up(self, index: Index, known: dict[str, str] | None = None) -> None:
        """Bring the mirror to the store's current generation. ``known``: chunk id -> text the caller already has
        (a writer's freshly embedded chunks), so only the rest is read from the store."""
        generation, seq = index.generation_record()
        if self.generation() == generation and self._segment_present():
            return
        store_id = index.store_id()
        with self._transaction() as db:
            meta = self._meta(db)
            if meta.get("generation") == generation and self._segment_present(meta):
                return  # another process caught up while this one waited for the lock
            local_seq = int(meta.get("seq", -1))
            # a different or re-created store, or a segment folder gone (deleted by hand): start over
            if meta.get("store") != store_id or local_seq > seq or not self._segment_present(meta):
                self._reset(db, meta)
                local_seq = -1
            changes = index.manifest_changes(None if local_seq < 0 else local_seq)
            current = self._versions_of(db, list(changes))
            drop = [s for s, entry in changes.items() if s in current and current[s] != entry["sha256"]]
            add = {s: entry for s, entry in changes.items() if entry["sha256"] and current.get(s) != entry["sha256"]}
            self._drop(db, drop)
            ids = {s: [chunk_id(s, e["sha256"], i) for i in range(e["chunks"])] for s, e in add.items()}
            texts = {i: known[i] for part in ids.values() for i in part if known and i in known}
            texts.update(index.chunk_texts([i for part in ids.values() for i in part if i not in texts]))
            # A version whose chunks are gone was superseded after the generation was read: leave it to the next
            # catch-up, which re-reads its entry (the stored seq stays below it).
            incomplete = {s for s, part in ids.items() if any(i not in texts for i in part)}
            complete = {s: e for s, e in add.items() if s not in incomplete}
            segment = self._open_segment(meta.get("segment", "")) if local_seq >= 0 else None
            if sum(len(ids[s]) for s in complete) > merge_threshold(segment.size if segment else 0):
                batch, _ = self._delta_batch(db, self._batch(complete, ids, texts))
                self._write_segment(db, batch)  # too many for the delta (a new machine's first catch-up)
            else:
                self._add(db, complete, ids, texts)
            db.executemany("INSERT OR REPLACE INTO versions (source, sha256, chunks) VALUES (?, ?, ?)",
                           [(s, e["sha256"], e["chunks"]) for s, e in complete.items()])
            if incomplete:
                seq, generation = min(int(changes[s].get("seq", 0)) for s in incomplete) - 1, ""
            self._set_meta(db, generation=generation, seq=str(seq), store=store_id)

    def _set_meta(self, db: sqlite3.Connection, **values: str) -> None:
        revision = int(self._meta(db).get("revision", 0)) + 1  # every write changes it: readers re-read state
        db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                       [*values.items(), ("revision", str(revision))])

    def _segment_present(self, meta: dict[str, str] | None = None) -> bool:
        name = (meta if meta is not None else self._meta(self._db())).get("segment", "")
        return not name or self._segment_folder(name).is_dir()

    def _reset(self, db: sqlite3.Connection, meta: dict[str, str]) -> None:
        for table in ("versions", "dead", "delta_doc", "delta_posting"):
            db.execute(f"DELETE FROM {table}")
        self._set_meta(db, segment="", retired=meta.get("segment", ""), generation="", seq="-1")

    @staticmethod
    def _versions_of(db: sqlite3.Connection, sources: list[str]) -> dict[str, str]:
        # json_each, as the searches do: one parameter for any number of sources
        return dict(db.execute("SELECT source, sha256 FROM versions WHERE source IN (SELECT value FROM json_each(?))",
                               (json.dumps(sources),)))

    def _drop(self, db: sqlite3.Connection, sources: list[str]) -> None:
        """The committed versions of ``sources`` are no longer committed: out of the delta, or dead in the segment."""
        segment = self._open_segment(self._meta(db).get("segment", ""))
        held = segment.versions(sources) if segment and sources else {}
        for source in sources:
            db.execute("DELETE FROM delta_posting WHERE row IN (SELECT row FROM delta_doc WHERE source = ?)", (source,))
            db.execute("DELETE FROM delta_doc WHERE source = ?", (source,))
            db.execute("DELETE FROM versions WHERE source = ?", (source,))
        db.executemany("INSERT OR IGNORE INTO dead (source, start, stop) VALUES (?, ?, ?)",
                       [(s, start, stop) for s, (_, start, stop) in held.items()])

    def _add(self, db: sqlite3.Connection, entries: dict[str, dict], ids: dict[str, list[str]],
             texts: dict[str, str]) -> None:
        """New versions into the delta."""
        for source, entry in entries.items():
            for chunk, terms in zip(ids[source], tokenize([texts[i] for i in ids[source]])):
                row = db.execute("INSERT INTO delta_doc (id, source, sha256, length) VALUES (?, ?, ?, ?)",
                                 (chunk, source, entry["sha256"], len(terms))).lastrowid
                db.executemany("INSERT INTO delta_posting (term, row, tf) VALUES (?, ?, ?)",
                               [(term, row, tf) for term, tf in Counter(terms).items()])

    # --- segments ----------------------------------------------------------------------------------------

    @staticmethod
    def _batch(entries: dict[str, dict], ids: dict[str, list[str]], texts: dict[str, str]) -> seg.Batch:
        """New versions for a segment, tokenised a slice of texts at a time."""
        batch = seg.Batch()
        for source, entry in entries.items():
            batch.add_version(source, entry["sha256"], ids[source])
        for start in range(0, len(batch.ids), TOKENIZE_BATCH):
            tokens, vocab = tokenize_ids([texts[i] for i in batch.ids[start : start + TOKENIZE_BATCH]])
            batch.add_tokens(start, tokens, vocab)
        return batch

    @staticmethod
    def _delta_batch(db: sqlite3.Connection, batch: seg.Batch | None = None) -> tuple[seg.Batch, int]:
        """The delta's versions appended to ``batch`` (or a new one), and the last delta row they include."""
        batch = batch or seg.Batch()
        docs = db.execute("SELECT row, id, source, sha256, length FROM delta_doc ORDER BY row").fetchall()
        if not docs:
            return batch, 0
        rows = np.array([d[0] for d in docs], dtype=np.int64)
        first = len(batch)
        start = 0
        for end in range(1, len(docs) + 1):  # a version's chunks were inserted together: consecutive rows
            if end == len(docs) or docs[end][2:4] != docs[start][2:4]:
                batch.add_version(docs[start][2], docs[start][3], [d[1] for d in docs[start:end]])
                start = end
        batch.set_lengths(np.arange(first, first + len(docs)), np.array([d[4] for d in docs]))
        postings = db.execute("SELECT term, row, tf FROM delta_posting").fetchall()
        if postings:
            terms, where, tfs = zip(*postings)
            batch.add_postings(list(terms), first + np.searchsorted(rows, np.array(where)), np.array(tfs))
        return batch, int(rows[-1])

    def _new_folder(self) -> Path:
        """A segment being written is named after its writer's process, so a clean-up spares it while it lives."""
        return self._segment_folder(f"build-{os.getpid()}-{uuid.uuid4().hex}")

    def _write_segment(self, db: sqlite3.Connection, batch: seg.Batch) -> None:
        """Inside a catch-up's transaction: the current segment's live rows and ``batch`` (the delta included)
        become the new segment; the delta and dead rows are emptied."""
        dead = {s for (s,) in db.execute("SELECT source FROM dead")}
        folder = self._new_folder()
        seg.write(folder, self._open_segment(self._meta(db).get("segment", "")), dead, batch)
        name = self._install(folder)
        db.execute("DELETE FROM delta_posting")
        db.execute("DELETE FROM delta_doc")
        db.execute("DELETE FROM dead")
        self._set_meta(db, segment=name, retired=self._meta(db).get("segment", ""))
        self._collect(keep={name, self._meta(db)["retired"]})

    def _install(self, folder: Path) -> str:
        name = f"seg-{uuid.uuid4().hex}"
        folder.rename(self._segment_folder(name))
        fd = os.open(self.segments, os.O_RDONLY)  # the rename itself on disk before anything points at it
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return name

    def _collect(self, keep: set[str]) -> None:
        """Remove segment folders nothing uses: not the current one, not the one just replaced (a reader may be
        opening it), not one another live process is still writing. Runs inside a write transaction."""
        for folder in self.segments.iterdir():
            if not folder.is_dir() or folder.name in keep:
                continue
            if folder.name.startswith("build-"):
                pid = int(folder.name.split("-")[1])
                if pid != os.getpid() and _alive(pid):
                    continue
            seg.remove(folder)

    def merge_due(self) -> bool:
        return self.state().merge_due()

    def merge(self, wait: bool = True) -> bool:
        """If a merge is due, write a new segment from the current one and the delta, outside any transaction,
        then swap it in; changes committed meanwhile stay valid (their versions are checked at the swap). With
        ``wait=False`` it runs in a background thread. Returns whether a merge started."""
        if not self.merge_due() or not self._merging.acquire(blocking=False):
            return False
        if wait:
            try:
                self._merge()
            finally:
                self._merging.release()
            return True

        def run() -> None:
            try:
                self._merge()
            except Exception:  # a failed merge loses nothing: the delta stays, the next one retries
                log.exception("lexical index: background merge failed")
            finally:
                self._merging.release()
                self.close()  # this thread's connections

        threading.Thread(target=run, name="lexical-merge", daemon=True).start()
        return True

    def _merge(self) -> None:
        try:
            lock = FileLock(self.segments / "merge.lock", timeout=0)
            lock.acquire()
        except Timeout:
            return  # another process on this machine is merging
        try:
            with self._snapshot() as db:
                state = self.state(db)
                if not state.merge_due():
                    return
                base = self._meta(db).get("segment", "")
                dead = {s for (s,) in db.execute("SELECT source FROM dead")}
                batch, merged_rows = self._delta_batch(db)
            folder = self._new_folder()
            seg.write(folder, state.segment, dead, batch)
            self._swap(self._install(folder), base, merged_rows)
        finally:
            lock.release()

    def _swap(self, name: str, base: str, merged_rows: int) -> None:
        """Point the mirror at the new segment. Versions changed after the merge's snapshot: a segment version
        that is no longer committed, or that was committed again into the delta, is dead."""
        db = self._db()
        db.execute("ATTACH DATABASE ? AS fresh", (str(self._segment_folder(name) / "dict.sqlite3"),))
        try:
            with self._transaction() as db:
                meta = self._meta(db)
                if meta.get("segment", "") != base:  # a catch-up wrote a segment meanwhile: this one is stale
                    self._collect(keep={meta.get("segment", ""), meta.get("retired", "")})
                    return
                db.execute("DELETE FROM delta_posting WHERE row <= ?", (merged_rows,))
                db.execute("DELETE FROM delta_doc WHERE row <= ?", (merged_rows,))
                db.execute("DELETE FROM dead")
                db.execute("""
                    INSERT INTO dead (source, start, stop)
                    SELECT s.source, s.start, s.stop FROM fresh.source AS s LEFT JOIN versions AS v ON v.source = s.source
                    WHERE v.sha256 IS NOT s.sha256 OR EXISTS (SELECT 1 FROM delta_doc AS d WHERE d.source = s.source)
                """)
                self._set_meta(db, segment=name, retired=base)
                self._collect(keep={name, base})
        finally:
            db.execute("DETACH DATABASE fresh")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
