"""BM25 on disk: SQLite FTS5 over the committed chunks, a local mirror of the store that catches up incrementally.

Chroma has no ranked lexical search outside its cloud, so BM25 lives beside it. The mirror holds, for every
committed document version, its chunks' BM25 terms (FTS5, ranked by its built-in ``bm25()``) and the version's
sha256 (which also answers "is this dense hit committed?" without reading the manifest). It records the manifest
generation it reflects and that generation's sequence number; manifest entries carry the sequence number of the
commit that wrote them, so catching up reads only the entries changed since, and only the chunks of versions it
does not have yet (``catch_up``).

Crash safety: the manifest stays the single commit point. A catch-up is one SQLite transaction, so the mirror is
always exactly some committed generation's state; a kill before or during it leaves the previous generation's,
and the next reader or writer catches up from there. A writer catches up right after each commit with the texts it
just embedded, so a new process finds the mirror current and answers at once.

Where it lives: ``<index_dir>/lexical.sqlite3`` beside a local Chroma folder; with a Chroma server, one per
machine under ``<home>/lexical/`` (processes on one machine share it; SQLite serialises their catch-ups).
Why FTS5 rather than a saved bm25s index: eval/reports/scale/lexical.md.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import bm25s
import Stemmer

from .chunking import chunk_id

if TYPE_CHECKING:
    from .store import Index

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (source TEXT PRIMARY KEY, sha256 TEXT NOT NULL, chunks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunk (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunk_source ON chunk (source);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5 (terms, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'");
"""
VARS = 900  # parameters per IN (...) list, under SQLite's limit on every build


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25 terms: lower-cased words, English stop words removed, stemmed (measured: eval/bench_retrieval.py).
    A stemmer per call, as PyStemmer's are not thread-safe and searches run on several threads."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False,
                          show_progress=False)


def _chunks(items: list, size: int = VARS) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LexicalIndex:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()  # one connection per thread: searches run on several
        self._db().executescript(SCHEMA)  # idempotent; safe when several processes open a new mirror together

    # --- connections -------------------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # autocommit mode; transactions are explicit (BEGIN IMMEDIATE), so a catch-up is all or nothing
            db = sqlite3.connect(self.path, timeout=120, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode = WAL")  # readers never wait for a catch-up in progress
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

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # --- reading -----------------------------------------------------------------------------------------

    def _meta(self, db: sqlite3.Connection) -> dict[str, str]:
        return dict(db.execute("SELECT key, value FROM meta"))

    def generation(self) -> str:
        row = self._db().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return row[0] if row else ""

    def search(self, query: str, k: int, sources: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first; FTS5's bm25() is negative, lower is better, so it is negated.
        With ``sources``, only those documents' chunks are ranked (filtered inside the query, before LIMIT)."""
        terms = tokenize([query])[0]
        if not terms:
            return []  # only stop words: BM25 has nothing to say
        match = " OR ".join(f'"{t}"' for t in terms)  # each term quoted: query words are never FTS5 syntax
        within, params = "", [match]
        if sources is not None:
            within = " AND rowid IN (SELECT rowid FROM chunk WHERE source IN (SELECT value FROM json_each(?)))"
            params.append(json.dumps(list(sources)))
        rows = self._db().execute(
            f"SELECT chunk.id, -hits.rank FROM (SELECT rowid, rank FROM fts WHERE fts MATCH ?{within} ORDER BY rank "
            "LIMIT ?) AS hits JOIN chunk ON chunk.rowid = hits.rowid ORDER BY hits.rank",
            (*params, k),
        ).fetchall()
        return [(chunk_id_, score) for chunk_id_, score in rows if score > 0]

    def committed(self, sources: Iterable[str]) -> dict[str, str]:
        """source -> sha256 of its committed version, for the given sources that have one."""
        return self._versions_of(self._db(), list(dict.fromkeys(sources)))

    def has_documents(self) -> bool:
        return self._db().execute("SELECT 1 FROM versions LIMIT 1").fetchone() is not None

    def chunk_ids(self) -> set[str]:
        return {row[0] for row in self._db().execute("SELECT id FROM chunk")}

    def versions(self) -> dict[str, str]:
        return dict(self._db().execute("SELECT source, sha256 FROM versions"))

    # --- catching up -------------------------------------------------------------------------------------

    def catch_up(self, index: Index, known: dict[str, str] | None = None) -> None:
        """Bring the mirror to the store's current generation. ``known``: chunk id -> text the caller already has
        (a writer's freshly embedded chunks), so only the rest is read from the store."""
        generation, seq = index.generation_record()
        if self.generation() == generation:
            return
        store_id = index.store_id()
        with self._transaction() as db:
            meta = self._meta(db)
            if meta.get("generation") == generation:
                return  # another process caught up while this one waited for the lock
            local_seq = int(meta.get("seq", -1))
            if meta.get("store") != store_id or local_seq > seq:  # a different or re-created store: start over
                for table in ("fts", "chunk", "versions", "meta"):
                    db.execute(f"DELETE FROM {table}")
                local_seq = -1
            changes = index.manifest_changes(None if local_seq < 0 else local_seq)
            current = self._versions_of(db, list(changes))
            drop = [s for s, entry in changes.items() if s in current and current[s] != entry["sha256"]]
            add = {s: entry for s, entry in changes.items() if entry["sha256"] and current.get(s) != entry["sha256"]}
            ids = {s: [chunk_id(s, e["sha256"], i) for i in range(e["chunks"])] for s, e in add.items()}
            texts = {i: known[i] for part in ids.values() for i in part if known and i in known}
            texts.update(index.chunk_texts([i for part in ids.values() for i in part if i not in texts]))
            # A version whose chunks are gone was superseded after the generation was read: leave it to the next
            # catch-up, which re-reads its entry (the stored seq stays below it).
            incomplete = {s for s, part in ids.items() if any(i not in texts for i in part)}
            self._drop(db, drop)
            self._add(db, {s: e for s, e in add.items() if s not in incomplete}, ids, texts)
            if incomplete:
                seq, generation = min(int(changes[s].get("seq", 0)) for s in incomplete) - 1, ""
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                           [("generation", generation), ("seq", str(seq)), ("store", store_id)])

    @staticmethod
    def _versions_of(db: sqlite3.Connection, sources: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for part in _chunks(sources):
            found.update(db.execute(
                f"SELECT source, sha256 FROM versions WHERE source IN ({','.join('?' * len(part))})", part))
        return found

    def _drop(self, db: sqlite3.Connection, sources: list[str]) -> None:
        for source in sources:
            db.execute("DELETE FROM fts WHERE rowid IN (SELECT rowid FROM chunk WHERE source = ?)", (source,))
            db.execute("DELETE FROM chunk WHERE source = ?", (source,))
            db.execute("DELETE FROM versions WHERE source = ?", (source,))

    def _add(self, db: sqlite3.Connection, entries: dict[str, dict], ids: dict[str, list[str]],
             texts: dict[str, str]) -> None:
        rowid = db.execute("SELECT coalesce(max(rowid), 0) FROM chunk").fetchone()[0]
        rows = [(source, chunk) for source in entries for chunk in ids[source]]
        for part in _chunks(rows, 5000):
            terms = tokenize([texts[chunk] for _, chunk in part])
            numbered = [(rowid + n, chunk, source, " ".join(words))
                        for n, ((source, chunk), words) in enumerate(zip(part, terms), start=1)]
            rowid += len(part)
            db.executemany("INSERT INTO chunk (rowid, id, source) VALUES (?, ?, ?)", [r[:3] for r in numbered])
            db.executemany("INSERT INTO fts (rowid, terms) VALUES (?, ?)", [(r[0], r[3]) for r in numbered])
        db.executemany("INSERT OR REPLACE INTO versions (source, sha256, chunks) VALUES (?, ?, ?)",
                       [(s, e["sha256"], e["chunks"]) for s, e in entries.items()])
