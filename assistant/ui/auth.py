"""Who may use the page: logins (``ASSISTANT_AUTH``), who may change the documents (``ASSISTANT_EDITORS``), and a
brake on password guessing.

``ASSISTANT_AUTH`` is either ``user:password`` pairs separated by commas (a password may hold ``:`` but not
``,``), or the path of a file with one ``user:HASH`` line per user, HASH made by ``assistant passwd USER``
(scrypt; plain passwords are refused in a file). Without it the page has no login and whoever reaches it may
add and remove documents. With it, every user may ask; if ``ASSISTANT_EDITORS`` names users, only they may add
or remove documents, and the server refuses anyone else, whatever the page shows.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import JSONResponse

SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # about 50 ms and 16 MiB per check: slow to guess, cheap to log in
MAX_FAILURES = 5  # failed logins from one address within WINDOW before it has to wait
WINDOW = 300.0  # seconds


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    key = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${b64(salt)}${b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    if not stored.startswith("scrypt$"):
        return hmac.compare_digest(password.encode(), stored.encode())
    try:
        _, n, r, p, salt, key = stored.split("$")
        expected = base64.b64decode(key)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


@functools.cache
def _decoy() -> str:
    return hash_password("")


@dataclass(frozen=True)
class Accounts:
    users: dict[str, str]  # user -> password, or its scrypt hash
    editors: frozenset[str]  # empty: every user may edit

    def check(self, user: str, password: str) -> bool:
        """Gradio's login callback; an unknown user costs the same time as a wrong password."""
        stored = self.users.get(user)
        ok = verify_password(password, stored if stored is not None else _decoy())
        return stored is not None and ok

    def can_edit(self, user: str | None) -> bool:
        return not self.editors or user in self.editors


def _pair(entry: str, where: str) -> tuple[str, str]:
    user, sep, password = entry.strip().partition(":")
    user = user.strip()
    if not sep or not user or not password:
        raise ValueError(f'{where}: expected "user:password", got {entry.strip()!r}')
    return user, password


def load_accounts(auth: str, editors: str = "") -> Accounts | None:
    """None when ``auth`` is empty (no login)."""
    if not auth.strip():
        if editors.strip():
            raise ValueError("ASSISTANT_EDITORS needs ASSISTANT_AUTH: without logins there is no one to name")
        return None
    users: dict[str, str] = {}
    if ":" in auth:
        for entry in filter(str.strip, auth.split(",")):
            user, password = _pair(entry, "ASSISTANT_AUTH")
            users[user] = password
    else:
        path = Path(auth).expanduser()
        if not path.is_file():
            raise ValueError(f"ASSISTANT_AUTH: no such file {path} (or give user:password pairs)")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            user, stored = _pair(line, f"{path}, line {number}")
            if not stored.startswith("scrypt$"):
                raise ValueError(f"{path}, line {number}: the password of {user!r} is not hashed; "
                                 f"make the line with `assistant passwd {user}`")
            users[user] = stored
    named = frozenset(e.strip() for e in editors.split(",") if e.strip())
    unknown = named - set(users)
    if unknown:
        raise ValueError(f"ASSISTANT_EDITORS names users without a login: {', '.join(sorted(unknown))}")
    return Accounts(users=users, editors=named)


class LoginThrottle:
    """ASGI middleware in front of Gradio's ``POST /login``: after ``max_failures`` failed logins from one client
    address within ``window`` seconds, that address is answered 429 (with Retry-After) until the oldest failure
    ages out; a successful login clears its record. Behind a proxy every user shares the proxy's address, so
    the proxy should do its own limiting (X-Forwarded-For is not trusted: anyone can send it)."""

    def __init__(self, app, max_failures: int = MAX_FAILURES, window: float = WINDOW, clock=time.monotonic):
        self.app = app
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, list[float]] = {}

    async def __call__(self, scope, receive, send):
        is_login = scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/login")
        if not is_login:
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown",))[0]
        now = self.clock()
        recent = [t for t in self._failures.get(client, []) if now - t < self.window]
        if len(recent) >= self.max_failures:
            wait = int(self.window - (now - recent[0])) + 1
            refused = JSONResponse({"detail": f"Too many failed logins: try again in {wait} s."}, status_code=429,
                                   headers={"Retry-After": str(wait)})
            return await refused(scope, receive, send)
        status: dict[str, int] = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status.get("code") == 200:
            self._failures.pop(client, None)
        elif status.get("code") == 400:  # Gradio's answer to wrong credentials
            self._failures[client] = [*recent, now]


def set_password(path: Path, user: str, password: str) -> None:
    """Add ``user`` to a logins file, or replace their line; the file is readable by its owner only."""
    if not user or ":" in user or "," in user or user != user.strip():
        raise ValueError(f"{user!r}: a user name has no ':' or ',' and no surrounding spaces")
    if not password:
        raise ValueError("the password is empty")
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    kept = [line for line in lines if line.partition(":")[0].strip() != user]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join([*kept, f"{user}:{hash_password(password)}"]) + "\n")
