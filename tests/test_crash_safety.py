"""kill -9 an ingest at several points: the index still opens, answers only from whole file versions, and the
next ingest leaves exactly the chunk set a clean ingest makes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import assistant.lexical as lexical
from assistant import Assistant
from assistant.documents import load_file
from assistant.store import IndexBusy

from .conftest import REPO, SEED, make_settings

# The child ingests with tiny batches so every stage happens several times, and kills itself (SIGKILL: no
# cleanup, no atexit, like a power cut) at the chosen point of writing the file's new version.
CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import chromadb.api.models.Collection as collection_module
    import langchain_huggingface
    import assistant.embeddings as embeddings
    import assistant.lexical as lexical
    import assistant.store as store
    from assistant import Assistant, load_settings

    point, index_dir, home, corpus = sys.argv[1:5]
    store.BATCH, store.GROUP = 2, 4
    calls = {"n": 0}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def wrap(cls, name, before=None, after=None):
        original = getattr(cls, name)
        def wrapper(self, *args, **kwargs):
            if before and before(self, *args, **kwargs):
                die()
            result = original(self, *args, **kwargs)
            if after and after(self, *args, **kwargs):
                die()
            return result
        setattr(cls, name, wrapper)

    def nth(n):
        def check(*_, **__):
            calls["n"] += 1
            return calls["n"] == n
        return check

    if point == "embedding":  # whichever backend is configured: torch's or the exported model's
        for embedder in (langchain_huggingface.HuggingFaceEmbeddings, embeddings.OnnxEmbeddings):
            wrap(embedder, "embed_documents", before=nth(2))
    elif point == "store-write":
        wrap(collection_module.Collection, "upsert",
             after=lambda self, *a, **k: self.name == "documents" and nth(2)())
    elif point == "manifest-commit":
        # the commit: the entry switches to the new version (still dirty until old chunks are gone)
        wrap(store.Index, "_set_entries", before=lambda self, entries: any(
             e["dirty"] and e["sha256"] not in ("", "%s") for e in entries.values()))
    elif point == "after-commit":
        wrap(store.Index, "_drop_stale_chunks", before=nth(1))
    elif point == "before-lexical":
        # committed and announced, the lexical index not yet brought to that generation
        wrap(lexical.LexicalIndex, "catch_up", before=lambda self, index, known=None: bool(known))
    elif point == "lexical-write":
        # inside the lexical index's transaction: the new version's rows are written but not committed
        wrap(lexical.LexicalIndex, "_add", after=lambda self, db, entries, *a: bool(entries))
    Assistant(load_settings(index_dir=index_dir, home=home, llm="extractive")).ingest([Path(corpus)])
    print("NOT KILLED")
""")

EDIT = "\n\nIn a later statement, the ministers added that satellite links are covered as well.\n"


def _live_chunks(assistant):
    return assistant.index.live_chunks()


def _ids(assistant) -> set[str]:
    return set(assistant.index.chunks.get()["ids"])


@pytest.mark.parametrize("point", ["embedding", "store-write", "manifest-commit", "before-lexical", "lexical-write",
                                   "after-commit"])
def test_kill_during_ingest_loses_nothing(tmp_path, corpus, point):
    settings = make_settings(tmp_path)
    article = corpus / SEED.name
    with Assistant(settings) as first:
        first.ingest([corpus])  # version 1, complete
    v1 = load_file(article)
    article.write_text(v1.text + EDIT, encoding="utf-8")
    v2 = load_file(article)

    child = subprocess.run(
        [sys.executable, "-c", CHILD.replace("%s", v1.sha256), point, str(settings.index_dir), str(settings.home),
         str(corpus)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert child.returncode == -9, f"child was not killed at {point}: {child.stdout[-500:]} {child.stderr[-2000:]}"

    # The index opens and everything a reader can see belongs to one whole version.
    reopened = Assistant(settings)
    (committed,) = reopened.index.committed().values()
    assert committed in (v1.sha256, v2.sha256)
    version = v1 if committed == v1.sha256 else v2
    live = _live_chunks(reopened)
    assert {c.metadata["doc_sha256"] for c in live} == {committed}
    assert len(live) == reopened.index.manifest()[v1.source]["chunks"]
    assert all(version.text[c.metadata["start"]:c.metadata["end"]] == c.page_content for c in live)
    # BM25 holds exactly the committed version: the mirror caught up (or was current), nothing half-written
    reopened.index.refresh()
    assert reopened.index.lexical.chunk_ids() == {c.id for c in live}
    assert reopened.index.lexical.versions() == {v1.source: committed}
    assert bool(reopened.retriever.bm25("satellite links", 5)) == (committed == v2.sha256)
    result = reopened.answer("What does Article 5 cover?")
    assert not result.refused
    assert all(version.text[c.start:c.end] == c.quote for c in result.citations)

    # Re-running ingest completes it: exactly the chunks a clean ingest of version 2 writes.
    report = reopened.ingest([corpus])
    assert report.updated == [v2.source] or (committed == v2.sha256 and report.unchanged == [v2.source])
    clean = Assistant(make_settings(tmp_path / "clean"))
    clean.ingest([corpus])
    assert _ids(reopened) == _ids(clean)


def test_a_second_ingest_waits_then_fails_clearly(tmp_path, corpus):
    settings = make_settings(tmp_path, lock_timeout=1.0)
    first = Assistant(settings)
    first.ingest([corpus])
    holder = threading.Event()
    release = threading.Event()

    def hold_lock():
        with first.index._exclusive():
            holder.set()
            release.wait(30)

    thread = threading.Thread(target=hold_lock)
    thread.start()
    holder.wait(10)
    try:
        started = time.monotonic()
        with pytest.raises(IndexBusy, match="another ingest"):
            Assistant(settings).ingest([corpus])
        assert time.monotonic() - started >= 0.9  # it waited for the lock before giving up
    finally:
        release.set()
        thread.join()
    assert Assistant(settings).ingest([corpus]).unchanged  # and works once the first is done


def test_two_concurrent_ingest_processes_do_not_corrupt(tmp_path, corpus):
    settings = make_settings(tmp_path)
    (corpus / "extra.md").write_text("# Extra\n\nThe ferry to the island leaves at nine.\n", encoding="utf-8")
    env = {**os.environ, "ASSISTANT_HOME": str(settings.home), "ASSISTANT_LLM": "extractive"}
    cmd = [sys.executable, "-m", "assistant", "ingest", str(corpus), "--index", str(settings.index_dir)]
    procs = [subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    summaries = sorted(out for out, _ in outputs)
    assert "2 added" in summaries[1] and "2 unchanged" in summaries[0]  # the second waited, then found work done
    clean = Assistant(make_settings(tmp_path / "clean"))
    clean.ingest([corpus])
    assert _ids(Assistant(settings)) == _ids(clean)


# Opens a fresh index folder at each of the given instants (the embedder is loaded once, before the first).
OPEN_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from assistant.embeddings import get_embeddings
    from assistant.store import Index
    from assistant import load_settings

    root, home, start = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    settings = [load_settings(index_dir=root / str(i), home=home, llm="extractive") for i in range(int(sys.argv[4]))]
    get_embeddings(settings[0].embed_model, settings[0].embed_backend)
    for i, each in enumerate(settings):
        while time.time() < start + i:
            pass
        Index(each).close()
    print("opened")
""")


def test_processes_opening_a_new_index_at_the_same_instant_both_succeed(tmp_path):
    # Chroma creates its tables on a folder's first open without a lock: unguarded, about a third of such pairs
    # fail ("table collections already exists" or "database is locked"), so 8 pairs all but always catch it.
    start = time.time() + 12  # after both children have imported and loaded the embedder
    cmd = [sys.executable, "-c", OPEN_CHILD, str(tmp_path), str(tmp_path / "home"), str(start), "8"]
    procs = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]


# A merge or a segment written by a catch-up, killed at each step: the child edits one of several small documents
# with thresholds so low that its commit is followed by a merge (or, for "bulk-swap", replaced by a catch-up that
# writes a segment itself).
MERGE_CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import assistant.lexical as lexical
    from assistant import Assistant, load_settings

    point, index_dir, home, corpus = sys.argv[1:5]

    def die(*_, **__):
        os.kill(os.getpid(), signal.SIGKILL)

    def wrong_path(*_, **__):
        raise AssertionError("the kill point is on the other path")

    if point == "bulk-swap":  # the new version's 7 chunks are more than a delta may take
        lexical.MERGE_MIN = 1
        lexical.LexicalIndex._merge = wrong_path
    else:  # they go to the delta, which then holds 10 chunks: a merge is due
        lexical.MERGE_MIN = 8
        lexical.LexicalIndex._write_segment = wrong_path

    def after(cls, name, then=die):
        original = getattr(cls, name)
        def wrapper(*args, **kwargs):
            result = original(*args, **kwargs)
            then()
            return result
        setattr(cls, name, wrapper)

    if point == "segment-written":  # files written and flushed, the folder not yet renamed
        after(lexical.seg, "write")
    elif point == "segment-installed":  # renamed, the mirror not yet pointing at it
        lexical.LexicalIndex._install = (lambda install: lambda self, folder: (install(self, folder), die()))(
            lexical.LexicalIndex._install)
    elif point in ("merge-swap", "bulk-swap"):  # inside the transaction that points the mirror at it
        lexical.LexicalIndex._collect = lambda self, keep: die()
    elif point == "merge-done":  # committed; nothing else ran
        after(lexical.LexicalIndex, "_swap")
    Assistant(load_settings(index_dir=index_dir, home=home, llm="extractive")).ingest([Path(corpus)])
    print("NOT KILLED")
""")


@pytest.mark.parametrize("point", ["segment-written", "segment-installed", "merge-swap", "merge-done", "bulk-swap"])
def test_kill_during_a_lexical_merge_loses_nothing(tmp_path, corpus, point, monkeypatch):
    from .test_lexical import assert_same_ranking

    settings = make_settings(tmp_path)
    for i, text in enumerate(["The ferry to Rebun island leaves at nine.", "Keepers logged every passing ship.",
                              "The harbour master inspects the lighthouse on Tuesdays."]):
        (corpus / f"note{i}.md").write_text(f"# Note {i}\n\n{text}\n", encoding="utf-8")
    with Assistant(settings) as first:
        first.ingest([corpus])  # the default thresholds: every chunk in the delta
    article = corpus / SEED.name
    v1 = load_file(article)
    article.write_text(v1.text + EDIT, encoding="utf-8")
    child = subprocess.run([sys.executable, "-c", MERGE_CHILD, point, str(settings.index_dir), str(settings.home),
                            str(corpus)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert child.returncode == -9, f"child was not killed at {point}: {child.stdout[-500:]} {child.stderr[-2000:]}"

    reopened = Assistant(settings)
    reopened.index.refresh()
    lexical_index = reopened.index.lexical
    assert lexical_index.chunk_ids() == set(reopened.index.live_chunk_ids())
    assert lexical_index.versions() == reopened.index.committed()
    assert_same_ranking(reopened.index)
    assert bool(reopened.retriever.bm25("satellite links", 5)) == (
        reopened.index.committed()[v1.source] != v1.sha256)

    # The next segment written leaves no stray folders behind.
    monkeypatch.setattr(lexical, "MERGE_MIN", 1)
    article.write_text(v1.text + EDIT + "\nA third version.\n", encoding="utf-8")
    reopened.ingest([corpus])
    assert lexical_index.chunk_ids() == set(reopened.index.live_chunk_ids())
    assert_same_ranking(reopened.index)
    meta = lexical_index._meta(lexical_index._db())
    folders = {f.name for f in lexical_index.segments.iterdir() if f.is_dir()}
    assert folders <= {meta["segment"], meta.get("retired")}, folders
