"""The Chroma store: chunks with their vectors, a manifest of document versions, incremental crash-safe sync.

Crash safety comes from the manifest being the only commit point. A document's new chunks are written beside the
old version's (their ids differ), then its manifest entry switches ``sha256`` to the new version, then the old
chunks are deleted. Readers only see chunks whose ``doc_sha256`` is the committed one, so a kill at any point
leaves an index that opens and answers from whole file versions; the ``dirty`` flag tells the next sync what to
clean up. The same code runs against a local folder or a Chroma server.

Every manifest write carries the sequence number of the generation it belongs to (``seq``), and a removed document
leaves a tombstone entry (no version) instead of vanishing, so a reader can ask what changed since the generation
it has: the lexical mirror (lexical.py) catches up that way, reading only new chunks.

The chunks collection records the embedder that built it; opening it with another is an ``EmbedderMismatch``.
"""

from __future__ import annotations

import hashlib
import itertools
import time
import uuid
from contextlib import contextmanager
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings
from filelock import FileLock, Timeout
from langchain_chroma import Chroma
from langchain_core.documents import Document

from .chunking import Chunker, chunk_id
from .config import Settings
from .documents import SourceDocument, UnreadableFile, find_files, link_name, load_file, source_name
from .embeddings import get_embeddings, identity, tokenizer_of
from .lexical import LexicalIndex

Progress = Callable[[int, int, str], None]  # (done, total, what is happening)
GENERATION_ID = "__generation__"  # manifest record that changes on every commit, so readers can cache cheaply
# Chunks per add_documents call: a multiple of the embedders' batch sizes (32, 64), so no call pads a partial batch;
# few calls, because Chroma's cost per write call is large (eval/bench_ingest.py's profile shows the calls ingest made).
BATCH = 512
GROUP = 2 * BATCH  # chunks written per commit; more texts per group means fewer small remainder calls
PAGE = 5000  # chunks per Chroma read: one get of 100k ids or rows is one huge query
WINDOW = 64  # documents a sync loads ahead to look their entries up in one read (files may be up to max_file_mb)


class IndexBusy(RuntimeError):
    pass


class EmbedderMismatch(RuntimeError):
    """The index was built by another embedder than the configured one: its vectors and the queries' would not
    be comparable."""


def _tombstone(entry: dict) -> bool:
    """A removed document's entry: no version, nothing left to clean up."""
    return not entry["sha256"] and not entry.get("dirty")


def read_entries(manifest, *, where: dict | None = None, ids: list[str] | None = None) -> dict[str, dict]:
    """id -> metadata of manifest records, a page at a time: Chroma fails one get of more than ~32k rows (too many
    SQL variables), which a manifest of a million chunks' documents passes."""
    found: dict[str, dict] = {}
    if ids is not None:
        for start in range(0, len(ids), PAGE):
            got = manifest.get(ids=ids[start : start + PAGE], include=["metadatas"])
            found.update(zip(got["ids"], got["metadatas"]))
        return found
    offset = 0
    while True:
        got = manifest.get(where=where, include=["metadatas"], limit=PAGE, offset=offset)
        found.update(zip(got["ids"], got["metadatas"]))
        if len(got["ids"]) < PAGE:
            return found
        offset += PAGE


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    chunks_written: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.skipped)} skipped; {self.chunks_written} chunks written "
            f"in {self.seconds:.1f}s"
        )


def index_exists(settings: Settings) -> bool:
    """Whether there is an index to read: a local folder holding a Chroma store (a server is asked instead)."""
    return bool(settings.chroma_url) or (Path(settings.index_dir) / "chroma.sqlite3").is_file()


def make_client(settings: Settings):
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    Path(settings.index_dir).mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)


@contextmanager
def opening(settings: Settings):
    """Held while a process opens a local folder: Chroma creates its tables (and we our collections) on first open
    without a lock of its own, and two processes doing so at once fail ("table collections already exists",
    "database is locked"). A server serializes this itself."""
    if settings.chroma_url:
        yield
        return
    Path(settings.index_dir).mkdir(parents=True, exist_ok=True)
    with FileLock(Path(settings.index_dir) / "open.lock"):
        yield


def lexical_path(settings: Settings) -> Path:
    """Where the BM25 mirror of this index lives: beside a local folder, or this machine's copy for a server."""
    if not settings.chroma_url:
        return Path(settings.index_dir) / "lexical.sqlite3"
    key = hashlib.sha256(f"{settings.chroma_url}\0{settings.collection}".encode()).hexdigest()[:16]
    return settings.home / "lexical" / f"{settings.collection}-{key}.sqlite3"


def describe(settings: Settings) -> dict | None:
    """What an index holds, read without loading the embedder or creating anything; None when there is no index.
    For ``assistant status``."""
    from chromadb.errors import NotFoundError

    if not index_exists(settings):
        return None
    with opening(settings):
        client = make_client(settings)
    try:
        try:
            manifest = client.get_collection(f"{settings.collection}-manifest")
            meta = client.get_collection(settings.collection).metadata or {}
            built_with = meta.get("embedder") or meta.get("embed_model")
        except NotFoundError:
            return {"documents": 0, "chunks": 0, "last_commit": None, "embed_model": None, "generation": None}
        entries = read_entries(manifest)
        committed = [e for i, e in entries.items() if i != GENERATION_ID and e.get("sha256")]
        return {
            "documents": len(committed),
            "chunks": sum(e["chunks"] for e in committed),
            "last_commit": entries.get(GENERATION_ID, {}).get("time"),
            "embed_model": built_with,
            "generation": entries.get(GENERATION_ID, {}).get("value"),
        }
    finally:
        client.close()


class Index:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.embedder = identity(settings.embed_model, settings.embed_backend)
        self.embeddings = get_embeddings(settings.embed_model, settings.embed_backend)
        self._chunker = Chunker(tokenizer_of(self.embeddings))
        self._lock_path = (settings.home if settings.chroma_url else Path(settings.index_dir)) / "ingest.lock"
        self._cache: tuple[str, dict[str, dict], dict[str, str]] | None = None  # generation, manifest, committed
        self._open()
        self._seen = self.generation()
        self.lexical = LexicalIndex(lexical_path(settings))

    def _open(self) -> None:
        with opening(self.settings):
            self.client = make_client(self.settings)
            self.vectorstore = Chroma(
                client=self.client,
                collection_name=self.settings.collection,
                embedding_function=self.embeddings,
                collection_configuration={"hnsw": {"space": "cosine"}},
                collection_metadata={"embed_model": self.settings.embed_model, "embedder": self.embedder},
            )
            self._check_embedder()
            # The manifest holds no vectors worth searching; a constant 1-d vector satisfies Chroma's schema.
            self._manifest = self.client.get_or_create_collection(f"{self.settings.collection}-manifest")

    def _check_embedder(self) -> None:
        metadata = self.chunks.metadata or {}
        # indexes from before the embedder was recorded were all built with sentence-transformers on torch
        built_with = metadata.get("embedder") or identity(metadata.get("embed_model", "?"), "torch")
        if built_with == self.embedder:
            return
        if self.chunks.count() == 0:  # nothing embedded yet: the index adopts the configured embedder
            self.chunks.modify(metadata={**metadata, "embedder": self.embedder})
            return
        where = self.settings.chroma_url or self.settings.index_dir
        raise EmbedderMismatch(
            f"the index at {where} (collection {self.settings.collection!r}) was built with the embedder "
            f"{built_with}, but the settings ask for {self.embedder}. Vectors of different embedders do not mix: "
            f"re-ingest into a new index (e.g. `assistant ingest --index NEW_DIR`), or set embed_model/embed_backend "
            f"(ASSISTANT_EMBED_MODEL, ASSISTANT_EMBED_BACKEND) back to what built it."
        )

    def close(self) -> None:
        self.client.close()
        self.lexical.close()

    def refresh(self) -> None:
        """Reopen after another process committed (a local Chroma keeps vectors in memory and would not see them),
        and bring the lexical mirror to the committed generation."""
        generation = self.generation()
        if generation != self._seen:
            if not self.settings.chroma_url:
                self.client.close()
                self._open()
            self._seen = generation
        self.lexical.catch_up(self)
        self.lexical.merge(wait=False)  # when due; searches go on meanwhile

    # --- reading -------------------------------------------------------------------------------------------

    @property
    def chunks(self):
        return self.vectorstore._collection

    def generation_record(self) -> tuple[str, int]:
        """(generation, its sequence number); indexes from before sequence numbers count as 0."""
        got = self._manifest.get(ids=[GENERATION_ID], include=["metadatas"])
        return (got["metadatas"][0]["value"], int(got["metadatas"][0].get("seq", 0))) if got["ids"] else ("", 0)

    def generation(self) -> str:
        return self.generation_record()[0]

    def store_id(self) -> str:
        """Changes when the chunks collection is re-created, so a mirror of the old one starts over."""
        return str(self.chunks.id)

    def manifest_changes(self, since: int | None) -> dict[str, dict]:
        """source -> entry (tombstones included) for entries written after generation ``since``; all if None."""
        entries = read_entries(self._manifest, where=None if since is None else {"seq": {"$gt": since}})
        entries.pop(GENERATION_ID, None)
        return entries

    def _entries(self, **query) -> dict[str, dict]:
        """Documents' entries (tombstones left out) matching a ``read_entries`` query."""
        return {i: m for i, m in read_entries(self._manifest, **query).items() if i != GENERATION_ID and not _tombstone(m)}

    def manifest(self) -> dict[str, dict]:
        """source -> entry (sha256 of the committed version, title, chunks, root, dirty), cached per generation."""
        generation = self.generation()
        if self._cache is None or self._cache[0] != generation:
            entries = self._entries()
            committed = {source: entry["sha256"] for source, entry in entries.items() if entry["sha256"]}
            self._cache = (generation, entries, committed)
        return self._cache[1]

    def committed(self) -> dict[str, str]:
        """source -> sha256 of its committed version; cached with the manifest (every search filters by it)."""
        self.manifest()
        return self._cache[2]

    def live_chunk_ids(self, sources: list[str] | None = None) -> list[str]:
        """Ids of every chunk of every committed version (of ``sources`` only, if given), from the manifest alone
        (ids derive from source, version and position, and the manifest records each version's chunk count)."""
        manifest = self.manifest()
        entries = manifest.items() if sources is None else ((s, manifest[s]) for s in sources if s in manifest)
        return [chunk_id(source, entry["sha256"], i) for source, entry in entries if entry["sha256"]
                for i in range(entry["chunks"])]

    def live_chunks(self) -> list[Document]:
        """Every chunk of every committed document version (what BM25 indexes)."""
        committed = self.committed()
        docs: list[Document] = []
        offset = 0
        while True:
            got = self.chunks.get(include=["documents", "metadatas"], limit=PAGE, offset=offset)
            for id_, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                if committed.get(meta.get("source")) == meta.get("doc_sha256"):
                    docs.append(Document(id=id_, page_content=text, metadata=meta))
            if len(got["ids"]) < PAGE:
                return docs
            offset += PAGE

    def chunk_texts(self, ids: list[str]) -> dict[str, str]:
        """id -> text for the chunks among ``ids`` that exist, read a page at a time."""
        texts: dict[str, str] = {}
        for start in range(0, len(ids), PAGE):
            got = self.chunks.get(ids=ids[start : start + PAGE], include=["documents"])
            texts.update(zip(got["ids"], got["documents"]))
        return texts

    def document_text(self, source: str) -> str | None:
        """The committed version's text rebuilt from its chunks, exact at every chunk's offsets; whitespace the
        splitter trimmed between two chunks comes back as spaces."""
        sha = self.committed().get(source)
        if not sha:
            return None
        got = self.chunks.get(
            where={"$and": [{"source": source}, {"doc_sha256": sha}]}, include=["documents", "metadatas"]
        )
        text = ""
        for body, meta in sorted(zip(got["documents"], got["metadatas"]), key=lambda p: p[1]["start"]):
            text = text[: meta["start"]].ljust(meta["start"]) + body
        return text

    def has_documents(self) -> bool:
        """Whether any document version is committed (from the mirror: no manifest read)."""
        self.refresh()
        return self.lexical.has_documents()

    def documents(self) -> list[dict]:
        return sorted(
            ({"source": s, "title": e["title"], "chunks": e["chunks"]} for s, e in self.manifest().items() if e["sha256"]),
            key=lambda d: d["source"],
        )

    # --- writing -------------------------------------------------------------------------------------------

    def _set_entries(self, entries: dict[str, dict]) -> None:
        """One manifest write for many documents (each entry still flips on its own, to a whole version)."""
        ids = list(entries)
        self._manifest.upsert(ids=ids, embeddings=[[1.0]] * len(ids), metadatas=list(entries.values()), documents=ids)

    def _next_seq(self) -> int:
        """The sequence number of the generation about to be written (entries are written with it before the
        generation record announces it, so a reader that sees the record finds every entry)."""
        return self.generation_record()[1] + 1

    def _bump_generation(self, seq: int) -> None:
        self._seen = uuid.uuid4().hex
        self._manifest.upsert(ids=[GENERATION_ID], embeddings=[[1.0]], documents=[""],  # `assistant status` shows time
                              metadatas=[{"value": self._seen, "seq": seq, "time": time.time()}])

    def _drop_stale_chunks(self, source: str, keep_sha: str) -> None:
        if keep_sha:
            self.chunks.delete(where={"$and": [{"source": source}, {"doc_sha256": {"$ne": keep_sha}}]})
        else:
            self.chunks.delete(where={"source": source})

    def _recover(self) -> None:
        """Finish what a killed sync left: drop chunks of uncommitted versions, forget removed documents."""
        seq = self._next_seq()
        for source, entry in read_entries(self._manifest, where={"dirty": True}).items():
            self._drop_stale_chunks(source, entry["sha256"])
            self._set_entries({source: {**entry, "dirty": False, "seq": seq}})  # a tombstone if no version
        self._bump_generation(seq)
        self.lexical.catch_up(self)

    def _write(self, group: list[tuple[SourceDocument, dict | None, list[Document]]],
               progress: Callable[[int], None]) -> None:
        """Write new versions of several documents with a handful of store transactions, not a few per document
        (measured: per-document writes halved ingest throughput, eval/bench_ingest.py)."""
        seq = self._next_seq()
        entries = {
            doc.source: {"sha256": previous["sha256"] if previous else "", "root": doc.root, "title": doc.title,
                         "chunks": len(chunks), "dirty": True, "seq": seq}
            for doc, previous, chunks in group
        }
        self._set_entries(entries)
        # Longest first, as SentenceTransformer.encode orders texts inside one call: slicing the sorted list gives the
        # same batches as encoding the whole group at once, so little padding (measured: unsorted slices cost x1.26).
        chunks = sorted((c for _, _, doc_chunks in group for c in doc_chunks), key=lambda c: -len(c.page_content))
        for i in range(0, len(chunks), BATCH):
            batch = chunks[i : i + BATCH]
            self.vectorstore.add_documents(batch, ids=[c.id for c in batch])
            progress(len(batch))
        # The commit point. A document new to the index has no older chunks to drop (its entry is written before any
        # chunk, so even a killed sync's chunks are known), so it is committed clean: one manifest write fewer.
        updated = {doc.source: doc.sha256 for doc, previous, _ in group if previous}
        self._set_entries({doc.source: {**entries[doc.source], "sha256": doc.sha256, "dirty": doc.source in updated}
                           for doc, _, _ in group})
        self._bump_generation(seq)
        self.lexical.catch_up(self, known={c.id: c.page_content for c in chunks})
        self.lexical.merge()  # when due: the writer pays for it, not a reader's search
        if updated:
            for source, sha in updated.items():
                self._drop_stale_chunks(source, sha)
            self._set_entries({s: {**entries[s], "sha256": sha, "dirty": False} for s, sha in updated.items()})

    def _remove(self, source: str, entry: dict) -> None:
        seq = self._next_seq()
        self._set_entries({source: {**entry, "sha256": "", "dirty": True, "seq": seq}})  # invisible from here on
        self._bump_generation(seq)
        self.lexical.catch_up(self)
        self._drop_stale_chunks(source, "")
        seq = self._next_seq()
        self._set_entries({source: {**entry, "sha256": "", "chunks": 0, "dirty": False, "seq": seq}})  # tombstone
        self._bump_generation(seq)
        self.lexical.catch_up(self)  # nothing to read: only so a new process finds the mirror current
        self.lexical.merge()

    def remove(self, source: str) -> bool:
        """Forget one document (its file, if any, is left alone)."""
        with self._exclusive():
            self.refresh()
            entry = self.manifest().get(source)
            if entry is None:
                return False
            self._remove(source, entry)
        return True

    @contextmanager
    def _exclusive(self):
        """One writer per index; a second one waits, then fails with a clear message."""
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(self._lock_path, timeout=self.settings.lock_timeout):
                yield
        except Timeout as exc:
            raise IndexBusy(
                f"another ingest holds {self._lock_path}; waited {self.settings.lock_timeout:.0f}s. "
                "Try again when it finishes."
            ) from exc

    def _with_entries(self, loaded: Iterable[tuple]) -> Iterator[tuple]:
        """(doc, skipped, its manifest entry or None) for each loaded (doc, skipped): entries are read for a window
        of documents at a time, never the whole manifest (half a minute to read at a million chunks)."""
        loaded = iter(loaded)
        while window := list(itertools.islice(loaded, WINDOW)):
            entries = self._entries(ids=list(dict.fromkeys(doc.source for doc, _ in window if doc)))
            for doc, skipped in window:
                yield doc, skipped, entries.get(doc.source) if doc else None

    def sync_documents(
        self, docs: Iterable[SourceDocument], *, roots: Iterable[str] = (), progress: Progress | None = None
    ) -> SyncReport:
        """Bring the index in line with ``docs``; documents under ``roots`` that were not seen are removed."""
        return self._sync(((doc, None) for doc in docs), roots=list(roots), total=None, progress=progress)

    def sync(self, paths: Iterable[Path], progress: Progress | None = None, *,
             follow_symlinks: bool = False) -> SyncReport:
        """Incremental ingest of files and folders (links leading out of them are skipped unless followed)."""
        paths = [Path(p) for p in paths]
        files = list(find_files(paths, follow_symlinks=follow_symlinks))
        max_bytes = int(self.settings.max_file_mb * 1024 * 1024)

        def load_all():
            for path, root, outside in files:
                if outside:
                    yield None, (link_name(path), outside)
                    continue
                try:
                    yield load_file(path, root=root, max_bytes=max_bytes), None
                except UnreadableFile as exc:
                    yield None, (source_name(path), exc.reason)

        roots = sorted({root for _, root, _ in files} | {p.as_posix() for p in paths if p.is_dir()})
        return self._sync(load_all(), roots=roots, total=len(files), progress=progress)

    def _sync(self, loaded, *, roots: list[str], total: int | None, progress: Progress | None) -> SyncReport:
        report = SyncReport()
        started = time.perf_counter()
        notify = progress or (lambda done, total, note: None)
        with self._exclusive():
            self.refresh()
            self._recover()
            seen: set[str] = set()
            group: list[tuple[SourceDocument, dict | None, list[Document]]] = []
            chunks_done = 0

            def flush(done: int) -> None:
                def on_batch(n: int) -> None:
                    nonlocal chunks_done
                    chunks_done += n
                    notify(done, total or done, f"embedding ({chunks_done} chunks)")

                self._write(group, on_batch)
                for doc, previous, chunks in group:
                    report.chunks_written += len(chunks)
                    (report.updated if previous else report.added).append(doc.source)
                group.clear()

            done = 0
            for done, (doc, skipped, previous) in enumerate(self._with_entries(loaded), start=1):
                if skipped:
                    seen.add(skipped[0])  # an indexed version of a file that turned unreadable is kept
                    report.skipped.append(skipped)
                    notify(done, total or done, f"skipped {skipped[0]}: {skipped[1]}")
                    continue
                seen.add(doc.source)
                if previous and previous["sha256"] == doc.sha256:
                    report.unchanged.append(doc.source)
                    notify(done, total or done, f"unchanged {doc.source}")
                    continue
                group.append((doc, previous, self._chunker.chunk(doc)))
                if sum(len(chunks) for _, _, chunks in group) >= GROUP:
                    flush(done)
            if group:
                flush(done)
            for source, entry in (self._entries(where={"root": {"$in": roots}}) if roots else {}).items():
                if source not in seen:
                    self._remove(source, entry)
                    report.removed.append(source)
        report.seconds = time.perf_counter() - started
        return report
