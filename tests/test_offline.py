"""No outbound connection, not even a DNS lookup, from a fresh process that imports, ingests and answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from .conftest import REPO

GUARD = """
import json, socket, sys
attempts = []
def _local(host):
    return host is None or str(host).startswith(("127.", "::1", "localhost", "/")) or isinstance(host, bytes)
_connect, _connect_ex, _gai = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
def connect(self, address, _orig=_connect):
    if not isinstance(address, str) and not _local(address[0]):
        attempts.append(f"connect {address!r}")
        raise OSError("blocked by test")
    return _orig(self, address)
def connect_ex(self, address):
    return connect(self, address, _orig=_connect_ex)
def getaddrinfo(host, *args, **kwargs):
    if not _local(host):
        attempts.append(f"dns {host!r}")
        raise OSError("blocked by test")
    return _gai(host, *args, **kwargs)
socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
"""


def run_guarded(body: str, tmp_path) -> dict:
    script = GUARD + textwrap.dedent(body) + "\nprint('RESULT=' + json.dumps({'attempts': attempts, **result}))\n"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "TRANSFORMERS_", "ANONYMIZED_", "GRADIO_"))}  # the package must set them
    env["HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(l for l in done.stdout.splitlines() if l.startswith("RESULT="))
    return json.loads(line[len("RESULT="):])


def test_ingest_and_answer_make_no_outbound_connection(tmp_path):
    result = run_guarded(f"""
        from assistant import Assistant, load_settings
        a = Assistant(load_settings(index_dir={str(tmp_path / 'index')!r}, home={str(tmp_path / 'home')!r},
                                    llm="extractive"))
        a.ingest()
        r = a.answer("What does Article 5 cover?")
        result = {{"refused": r.refused, "citations": len(r.citations)}}
    """, tmp_path)
    assert result["attempts"] == []
    assert not result["refused"] and result["citations"] >= 1


def test_the_guard_notices_an_outbound_attempt(tmp_path):
    # The check above means something only if the guard catches a real attempt.
    result = run_guarded("""
        import urllib.request
        try:
            urllib.request.urlopen("http://example.com/", timeout=2)
        except Exception:
            pass
        result = {}
    """, tmp_path)
    assert result["attempts"], "the guard missed a lookup of example.com"
