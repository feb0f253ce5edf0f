"""Real servers on loopback for tests: a free port, start, wait until healthy, kill, stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.llm import resolve_gguf


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One server process; ``start`` returns once ``health_url`` answers 200, or fails the test with its log."""

    def __init__(self, args: list[str], health_url: str, log: Path, timeout: float = 120,
                 env: dict[str, str] | None = None, cwd: Path | None = None):
        self.args, self.health_url, self.log, self.timeout = args, health_url, log, timeout
        self.env, self.cwd = env, cwd
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd)
        deadline = time.monotonic() + self.timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"{self.args[:3]} exited {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.health_url, timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{self.args[:3]} not ready after {self.timeout} s:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.25)

    def kill(self) -> None:
        """SIGKILL: no goodbye on open connections, like a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class LlamaServer(Server):
    """`python -m llama_cpp.server` with SmolLM2 on one loopback port (restartable on the same port)."""

    def __init__(self, log: Path, port: int | None = None):
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        gguf = resolve_gguf("llamacpp:smollm2", log.parent)
        super().__init__(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", "4096", "--n_threads", "2"],
            f"{self.base_url}/models", log,
        )  # fmt: skip


class ChromaServer(Server):
    """`chroma run`, the server that ships in the chromadb wheel, on a loopback port."""

    def __init__(self, chroma: str, folder: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([chroma, "run", "--path", str(folder / "data"), "--host", "127.0.0.1",
                          "--port", str(self.port)], f"{self.url}/api/v2/heartbeat", folder / "server.log", 60)
