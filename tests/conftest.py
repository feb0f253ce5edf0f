"""Shared fixtures: real Chroma on disk, the real embedder; every test runs with outbound sockets refused."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from assistant import Assistant, load_settings

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "us-japan-cyberattack-armed-attack-article-5.txt"
LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # unix socket path
        return True
    host = str(address[0])
    return host.startswith(LOOPBACK)


@pytest.fixture(autouse=True)
def no_outbound_network(monkeypatch):
    """Any connection off this machine fails the test that makes it (tests/test_offline.py proves it at start-up)."""
    original = socket.socket.connect

    def guarded(self, address):
        if not _is_local(address):
            raise AssertionError(f"outbound connection attempted to {address!r}")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def make_settings(tmp: Path, **overrides):
    values = {
        "index_dir": tmp / "index",
        "home": tmp / "home",
        "docs_dir": tmp / "documents",
        "seeds_dir": REPO / "seeds",
        "llm": "extractive",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def seed_assistant(tmp_path_factory):
    """One indexed copy of the seed corpus, shared by read-only tests (indexing is the slow part)."""
    tmp = tmp_path_factory.mktemp("seed")
    assistant = Assistant(make_settings(tmp))
    assistant.ingest()
    return assistant


@pytest.fixture
def corpus(tmp_path):
    """A writable folder holding a copy of the seed article."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder
