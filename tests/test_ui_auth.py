"""A page a team can share: several logins (plain pairs or a file of hashed passwords), editors alone change the
documents (refused by the server, not only hidden), failed logins slowed down."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from dataclasses import replace

import httpx
import pytest

from assistant import Assistant
from assistant.ui.app import build_ui, serve
from assistant.ui.auth import Accounts, LoginThrottle, hash_password, load_accounts, set_password, verify_password
from tests.conftest import SEED, make_settings
from tests.servers import free_port

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


def test_passwords_are_hashed_with_scrypt_and_checked_in_constant_time():
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse", stored) and not verify_password("wrong", stored)
    assert hash_password("correct horse") != stored  # salted
    assert not verify_password("x", "scrypt$garbage")


def test_auth_as_pairs_or_a_file_of_hashes(tmp_path):
    assert load_accounts("") is None
    pairs = load_accounts("ann:pa:ss, bob:secret", editors="ann")
    assert pairs.check("ann", "pa:ss") and pairs.check("bob", "secret") and not pairs.check("bob", "pa:ss")
    assert not pairs.check("carol", "secret")
    assert pairs.can_edit("ann") and not pairs.can_edit("bob") and not pairs.can_edit(None)
    assert load_accounts("ann:x,bob:y").can_edit("bob")  # no editors named: every user may edit

    logins = tmp_path / "logins"
    set_password(logins, "ann", "first")
    set_password(logins, "bob", "second")
    set_password(logins, "ann", "changed")  # replaces ann's line
    assert oct(logins.stat().st_mode & 0o777) == "0o600"
    from_file = load_accounts(str(logins), editors="ann")
    assert from_file.check("ann", "changed") and not from_file.check("ann", "first") and from_file.check("bob", "second")
    assert all(line.split(":", 1)[1].startswith("scrypt$") for line in logins.read_text().splitlines())

    (tmp_path / "plain").write_text("ann:plaintext\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not hashed"):
        load_accounts(str(tmp_path / "plain"))
    with pytest.raises(ValueError, match="no such file"):
        load_accounts(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="without a login: carol"):
        load_accounts("ann:x", editors="carol")
    with pytest.raises(ValueError, match='expected "user:password"'):
        load_accounts("ann:x,bob")


def test_the_throttle_refuses_an_address_after_repeated_failures_then_lets_it_try_again():
    now = [0.0]

    async def gradio_login(scope, receive, send):  # stands in for Gradio's /login: 400 unless the body says "ok"
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 200 if body == b"ok" else 400, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    throttle = LoginThrottle(gradio_login, max_failures=3, window=60, clock=lambda: now[0])

    def login(body: bytes, client="10.0.0.1") -> int:
        sent = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/login/", "client": (client, 5000), "headers": []}
        asyncio.run(throttle(scope, receive, send))
        return sent[0]["status"]

    assert [login(b"bad") for _ in range(3)] == [400, 400, 400]
    assert login(b"ok") == 429  # even the right password waits
    assert login(b"ok", client="10.0.0.2") == 200  # another address is not affected
    now[0] = 61.0
    assert login(b"ok") == 200  # the window passed
    assert login(b"bad") == 400 and login(b"bad") == 400 and login(b"ok") == 200  # a success clears the record
    assert login(b"bad") == 400


# --- a live page with two users: ann edits, bob reads ------------------------------------------------------------


@pytest.fixture(scope="module")
def team_page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("team")
    settings = replace(make_settings(tmp), auth="ann:ann-pw,bob:bob-pw", editors="ann")
    assistant = Assistant(settings)
    assistant.ingest([SEED])
    accounts = load_accounts(settings.auth, settings.editors)
    port = free_port()
    demo = serve(build_ui(assistant, accounts), settings, accounts, port=port, prevent_thread_lock=True)
    yield demo, f"http://127.0.0.1:{port}", assistant
    demo.close()
    assistant.close()


def logged_in(url: str, user: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120)
    assert client.post("/login", data={"username": user, "password": password}).status_code == 200
    return client


def fn_index(demo, name: str) -> int:
    return next(i for i, fn in demo.fns.items() if fn.name == name)


def call_event(client: httpx.Client, demo, name: str, data: list) -> dict:
    """What the page's JavaScript does for an event, done by hand: join the queue, read the result."""
    session = uuid.uuid4().hex
    joined = client.post("/gradio_api/queue/join", json={"data": data, "fn_index": fn_index(demo, name),
                                                          "session_hash": session, "event_data": None})
    assert joined.status_code == 200, joined.text
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as events:
        for line in events.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the event never completed")


def upload(client: httpx.Client, name: str, text: str) -> dict:
    got = client.post("/gradio_api/upload", files={"files": (name, text.encode(), "text/markdown")})
    assert got.status_code == 200, got.text
    return {"path": got.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def test_a_reader_is_refused_by_the_server_an_editor_is_not(team_page):
    demo, url, assistant = team_page
    source = next(iter(assistant.index.committed()))
    bob = logged_in(url, "bob", "bob-pw")
    refused = call_event(bob, demo, "remove_document", [source])
    assert not refused["success"] and "Only editors" in refused["output"]["error"]
    assert source in assistant.index.committed()

    note = "# Bob's note\n\nThe ferry to Rebun leaves at 07:10.\n"
    refused = call_event(bob, demo, "ingest_uploads", [[upload(bob, "bob.md", note)]])
    assert not refused["success"] and "Only editors" in refused["output"]["error"]
    assert not any(s.endswith("bob.md") for s in assistant.index.committed())

    ann = logged_in(url, "ann", "ann-pw")
    added = call_event(ann, demo, "ingest_uploads", [[upload(ann, "ann.md", note)]])
    assert added["success"], added
    assert any(s.endswith("ann.md") for s in assistant.index.committed())
    assistant.remove_document(next(s for s in assistant.index.committed() if s.endswith("ann.md")))


def test_failed_logins_are_rate_limited_on_the_live_page(team_page):
    _, url, _ = team_page
    with httpx.Client(base_url=url, timeout=60) as client:
        statuses = [client.post("/login", data={"username": "bob", "password": f"guess{i}"}).status_code
                    for i in range(6)]
        assert statuses == [400] * 5 + [429]
        right = client.post("/login", data={"username": "bob", "password": "bob-pw"})
        assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
        assert "Too many failed logins" in right.json()["detail"]


def test_assistant_passwd_writes_a_hashed_line(tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO

    logins = tmp_path / "logins"
    done = subprocess.run([sys.executable, "-m", "assistant", "passwd", "ann", "--file", str(logins)],
                          input="s3cret\n", cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert load_accounts(str(logins)).check("ann", "s3cret")
    printed = subprocess.run([sys.executable, "-m", "assistant", "passwd", "bob"], input="pw\n", cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    user, stored = printed.stdout.strip().split(":", 1)
    assert user == "bob" and verify_password("pw", stored)
