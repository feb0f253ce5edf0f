"""BM25 from a segment on disk plus a delta: the same ranking and scores as SQLite FTS5's bm25() over the committed
chunks, whatever part of them the segment, its dead rows or the delta hold, through merges and changes committed
during a merge. Real Chroma and the real embedder; FTS5 is the reference."""

from __future__ import annotations

import sqlite3
import threading

import pytest

import assistant.lexical as lexical
from assistant import Assistant
from assistant.store import Index

from .conftest import SEED, make_settings

QUERIES = ["Article 5 cyberattack", "Japan United States defense treaty armed attack", "Senkaku Islands",
           "lighthouse keepers log ships", "ferry island", "melatonin night shift sleep"]
EXTRA = {
    "keepers.md": "# Keepers\n\nMost lighthouse keepers kept a log of every passing ship and wrote home weekly.\n",
    "ferry.md": "# Ferry\n\nThe ferry to Rebun island leaves at nine; the island ferry returns at six.\n",
    "trial.md": "# Trial\n\nA low dose of melatonin before daytime sleep helped nurses on night shift sleep.\n",
}


def fts5_ranking(index: Index, query: str, k: int, sources: list[str] | None = None) -> list[tuple[str, float]]:
    """The reference: FTS5's bm25() over the committed chunks' terms, filtered inside the query."""
    live = index.live_chunks()
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5 (terms, id UNINDEXED, source UNINDEXED, "
               "tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")")
    db.executemany("INSERT INTO fts (terms, id, source) VALUES (?, ?, ?)",
                   [(" ".join(terms), d.id, d.metadata["source"])
                    for d, terms in zip(live, lexical.tokenize([d.page_content for d in live]))])
    match = " OR ".join(f'"{t}"' for t in lexical.tokenize([query])[0])
    within = "" if sources is None else f" AND source IN ({','.join('?' * len(sources))})"
    return [(i, -rank) for i, rank in db.execute(
        f"SELECT id, rank FROM fts WHERE fts MATCH ?{within} ORDER BY rank LIMIT ?", [match, *(sources or []), k])]


def assert_same_ranking(index: Index, k: int = 20, sources: list[str] | None = None) -> None:
    for query in QUERIES:
        got, want = index.lexical.search(query, k, sources), fts5_ranking(index, query, k, sources)
        assert [round(s, 9) for _, s in got] == [round(s, 9) for _, s in want], query
        # equal scores may come in either order; the chunks with each score must be the same
        assert sorted((round(s, 9), i) for i, s in got) == sorted((round(s, 9), i) for i, s in want), query


@pytest.fixture
def documents(corpus):
    paragraphs = [p for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    for i in range(0, len(paragraphs), 2):
        (corpus / f"part{i:02d}.txt").write_text("\n\n".join(paragraphs[i : i + 2]), encoding="utf-8")
    for name, text in EXTRA.items():
        (corpus / name).write_text(text, encoding="utf-8")
    return corpus


def _all_parts(index: Index) -> lexical.State:
    state = index.lexical.state()
    assert state.segment is not None and state.dead_rows and state.delta_docs, "segment, dead rows and delta"
    return state


def test_segment_delta_and_dead_rows_rank_as_fts5_does(tmp_path, documents, monkeypatch):
    assistant = Assistant(make_settings(tmp_path))
    monkeypatch.setattr(lexical, "MERGE_MIN", 1)  # every ingest below writes a segment
    assistant.ingest([documents])
    monkeypatch.setattr(lexical, "MERGE_MIN", 10_000)  # from here on, changes stay in the delta
    (documents / "keepers.md").write_text(EXTRA["keepers.md"] + "\nKeepers also logged the ferry.\n", encoding="utf-8")
    (documents / "ferry.md").unlink()
    (documents / "harbour.md").write_text("# Harbour\n\nThe harbour master inspects the lighthouse.\n",
                                          encoding="utf-8")
    assistant.ingest([documents])
    index = assistant.index
    _all_parts(index)
    assert index.lexical.chunk_ids() == set(index.live_chunk_ids())
    assert_same_ranking(index)
    # the source filter ranks inside the chosen documents, over the segment and the delta alike
    chosen = [s for s in index.committed() if s.endswith(("keepers.md", "part00.txt", "harbour.md"))]
    assert_same_ranking(index, k=5, sources=chosen)
    assert {i for q in QUERIES for i, _ in index.lexical.search(q, 50, chosen)} <= set(index.live_chunk_ids(chosen))


def test_a_merge_keeps_every_score_even_when_documents_change_while_it_runs(tmp_path, documents, monkeypatch):
    assistant = Assistant(make_settings(tmp_path))
    monkeypatch.setattr(lexical, "MERGE_MIN", 1)
    assistant.ingest([documents])
    monkeypatch.setattr(lexical, "MERGE_MIN", 10_000)
    (documents / "ferry.md").write_text(EXTRA["ferry.md"] + "\nIn winter the ferry leaves at ten.\n", encoding="utf-8")
    (documents / "trial.md").unlink()
    assistant.ingest([documents])
    index = assistant.index
    before = _all_parts(index)

    # While the merge writes its segment (from a snapshot), another commit removes one document and changes another.
    write = lexical.seg.write

    def write_then_commit(*args, **kwargs):
        write(*args, **kwargs)
        (documents / "keepers.md").unlink()
        (documents / "part00.txt").write_text("A new first part about the Senkaku Islands.\n", encoding="utf-8")
        index.sync([documents])

    monkeypatch.setattr(lexical.seg, "write", write_then_commit)
    monkeypatch.setattr(lexical, "MERGE_MIN", 1)
    assert index.lexical.merge(wait=False)  # as a reader starts it: in a background thread
    for thread in threading.enumerate():
        if thread.name == "lexical-merge":
            thread.join(timeout=300)
    monkeypatch.setattr(lexical.seg, "write", write)

    after = index.lexical.state()
    assert after.segment.folder != before.segment.folder
    assert not any(s.endswith("keepers.md") for s in index.committed())
    assert index.lexical.chunk_ids() == set(index.live_chunk_ids())
    assert_same_ranking(index)
    # only the current segment and the one it replaced are kept
    folders = {f.name for f in index.lexical.segments.iterdir() if f.is_dir()}
    assert after.segment.folder.name in folders and len(folders) <= 2


def test_a_mirror_in_the_old_fts5_layout_is_rebuilt(tmp_path, documents):
    settings = make_settings(tmp_path)
    Assistant(settings).ingest([documents])
    path = settings.index_dir / "lexical.sqlite3"
    db = sqlite3.connect(path)
    for table in ("dead", "delta_doc", "delta_posting"):
        db.execute(f"DROP TABLE {table}")
    db.execute("DELETE FROM meta WHERE key = 'format'")  # what an FTS5 mirror's meta looks like: generation, seq
    db.execute("CREATE VIRTUAL TABLE fts USING fts5 (terms)")
    db.commit()
    db.close()
    reopened = Assistant(settings)
    assert reopened.retrieve("Senkaku Islands")[0].source.endswith(".txt")
    assert reopened.index.lexical.chunk_ids() == set(reopened.index.live_chunk_ids())
    assert_same_ranking(reopened.index)


def test_a_segment_folder_deleted_by_hand_is_rebuilt(tmp_path, documents, monkeypatch):
    settings = make_settings(tmp_path)
    monkeypatch.setattr(lexical, "MERGE_MIN", 1)
    Assistant(settings).ingest([documents])
    for folder in (settings.index_dir / "lexical-segments").glob("seg-*"):
        lexical.seg.remove(folder)
    reopened = Assistant(settings)
    assert reopened.retrieve("Senkaku Islands")[0].source.endswith(".txt")
    assert_same_ranking(reopened.index)


def test_connections_opening_a_new_mirror_together_all_open_it(tmp_path):
    """SQLite answers "locked" at once, without waiting, to a WAL switch while another connection writes: two
    processes (or threads) opening a new mirror together made one fail (CI: a page starting on an empty home)."""
    failures: list[Exception] = []

    def open_mirror(path):
        try:
            lexical.LexicalIndex(path).close()
        except sqlite3.OperationalError as error:
            failures.append(error)

    for i in range(60):
        threads = [threading.Thread(target=open_mirror, args=(tmp_path / f"m{i}" / "lexical.sqlite3",))
                   for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not failures


def test_threads_asking_for_the_index_together_share_one(tmp_path):
    """The page's warm-up thread and the building of its first panel both ask for the index at start-up."""
    assistant = Assistant(make_settings(tmp_path))
    start = threading.Barrier(3)
    got: list[Index] = []

    def ask():
        start.wait()
        got.append(assistant.index)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(got) == 3 and all(index is got[0] for index in got)
    finally:
        assistant.close()
