"""Ingest stays where it was pointed (issue 13): links that lead out of the folder are skipped with a reason unless
followed on purpose; uploads, which are named one by one, never follow them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from assistant import Assistant
from assistant.documents import find_files

SECRET = "root:x:0:0:root:/root:/bin/bash"


@pytest.fixture
def tree(tmp_path):
    """docs/ with an ordinary file, a subfolder, a link to a file outside, a link to a folder outside, a relative
    ``..`` link, a link inside, and a link back up (a loop)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.txt").write_text(SECRET + "\n", encoding="utf-8")
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "notes.txt").write_text("The Lindholm ferry leaves every 40 minutes.\n", encoding="utf-8")
    (docs / "sub" / "more.txt").write_text("The crossing takes 25 minutes.\n", encoding="utf-8")
    os.symlink(outside / "passwd.txt", docs / "passwd.txt")  # absolute target
    os.symlink("../outside", docs / "etc")  # a folder, relative target
    os.symlink("../../outside/passwd.txt", docs / "sub" / "dotdot.txt")  # a `..` path out
    os.symlink("notes.txt", docs / "alias.txt")  # inside: the same document, once
    os.symlink("..", docs / "sub" / "up")  # a loop
    return docs


def test_links_leading_out_are_skipped_with_a_reason(tree):
    found = list(find_files([tree]))
    readable = sorted(path.resolve().name for path, _, reason in found if not reason)
    assert readable == ["more.txt", "notes.txt"]  # notes.txt once, though alias.txt leads to it too
    skipped = {path.name: reason for path, _, reason in found if reason}
    assert sorted(skipped) == ["dotdot.txt", "etc", "passwd.txt"]
    for name, reason in skipped.items():
        assert "outside" in reason and "--follow-symlinks" in reason, (name, reason)


def test_ingest_indexes_only_the_folder_unless_links_are_followed(tmp_path, tree):
    settings = dict(index_dir=tmp_path / "index", home=tmp_path / "home", llm="extractive")
    with Assistant(**settings) as assistant:
        report = assistant.ingest([tree])
        indexed = assistant.index.committed()
        texts = " ".join(assistant.index.document_text(s) for s in indexed)
    assert SECRET not in texts and len(indexed) == 2
    skipped = dict(report.skipped)
    assert {name.rsplit("/", 1)[-1] for name in skipped} == {"passwd.txt", "etc", "dotdot.txt"}
    assert all("--follow-symlinks" in reason for reason in skipped.values())

    with Assistant(**settings) as assistant:
        followed = assistant.ingest([tree], follow_symlinks=True)
        texts = " ".join(assistant.index.document_text(s) for s in assistant.index.committed())
    assert SECRET in texts and followed.skipped == []
    assert len(followed.added) == 1  # passwd.txt, reached three ways, is one document


def test_a_link_named_directly_is_judged_like_one_found_in_a_folder(tmp_path, tree):
    """The page ingests each upload by name: a link planted in the upload folder leads nowhere."""
    with Assistant(index_dir=tmp_path / "index", home=tmp_path / "home", llm="extractive") as assistant:
        report = assistant.ingest([tree / "passwd.txt", tree / "notes.txt"])
    assert len(report.skipped) == 1 and report.skipped[0][0].endswith("docs/passwd.txt")
    assert report.skipped[0][1].startswith("links to a file outside ")
    assert len(report.added) == 1 and report.added[0].endswith("notes.txt")


def test_cli_follow_symlinks_flag(tmp_path, tree):
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home"), "ASSISTANT_LLM": "extractive"}

    def ingest(*flags):
        return subprocess.run([sys.executable, "-m", "assistant", "ingest", str(tree), "--index",
                               str(tmp_path / "index"), *flags], env=env, capture_output=True, text=True, timeout=600)

    plain = ingest()
    assert plain.returncode == 0 and "2 added" in plain.stdout and "3 skipped" in plain.stdout
    assert "passwd.txt: links to a file outside" in plain.stderr
    followed = ingest("--follow-symlinks")
    assert followed.returncode == 0 and "1 added" in followed.stdout and "0 skipped" in followed.stdout
