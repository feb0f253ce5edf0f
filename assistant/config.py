"""Settings: CLI flags > environment (``ASSISTANT_*``) > TOML file > defaults.

The TOML file is ``$ASSISTANT_HOME/config.toml`` (or ``ASSISTANT_CONFIG``); ``ASSISTANT_HOME`` also holds the
assembled model files. Relative paths are taken from the current directory, like git's.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

# Offline and quiet before any library that reads these is imported (huggingface_hub, chromadb, gradio).
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    # loading bars of a 90 MB embedder say nothing to a user; `assistant -v` turns them back on
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    # llama.cpp's busy-waiting threads starve each other on 2 shared cores (measured ~7x slower generation)
    "OMP_WAIT_POLICY": "PASSIVE",
}.items():
    os.environ.setdefault(_name, _value)


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "assistant"


@dataclass(frozen=True)
class Settings:
    index_dir: Path = Path("index")
    docs_dir: Path = Path("documents")  # where files uploaded through the page are kept
    seeds_dir: Path = Path("seeds")  # what `ingest` and first start index when given no path
    home: Path = field(default_factory=_default_home)
    llm: str = "llamacpp"  # provider:model, see assistant.llm
    embed_model: str = "all-MiniLM-L6-v2"  # sentence-transformers name or path
    embed_backend: str = "openvino"  # or "torch-bf16", "torch" (fp32), "onnx", "onnx-int8"; see assistant.embeddings
    chroma_url: str = ""  # when set, a Chroma server is used instead of index_dir
    collection: str = "documents"
    k: int = 5  # passages handed to the answerer
    n_ctx: int = 4096  # context window a local model is loaded with (start llama_cpp.server with the same)
    max_file_mb: float = 50.0
    lock_timeout: float = 60.0  # seconds a second ingest waits for the first before giving up
    max_question_chars: int = 2000
    auth: str = ""  # page logins: "user:password[,user:password...]", or the path of a file of hashed ones
    editors: str = ""  # with auth on, the users (comma-separated) who may add and remove documents
    queue_size: int = 8  # questions that may wait for the model; one more is told "busy, try again" at once

    @property
    def model_dir(self) -> Path:
        return self.home / "models"


_ENV = {f.name: f"ASSISTANT_{f.name.upper()}" for f in fields(Settings)}


def _coerce(name: str, value):
    kind = type(getattr(Settings(), name))
    if isinstance(getattr(Settings(), name), Path):
        return Path(value).expanduser()
    return kind(value)


def config_file() -> Path:
    """The TOML file settings are read from (it need not exist)."""
    return Path(
        os.environ.get("ASSISTANT_CONFIG")
        or Path(os.environ.get("ASSISTANT_HOME") or _default_home()) / "config.toml"
    )


def resolve_settings(**overrides) -> tuple[Settings, dict[str, str]]:
    """Settings merged by precedence, and where each came from: "flag", "env ASSISTANT_X", "config PATH" or
    "default". ``overrides`` are CLI flags (None means not given)."""
    merged: dict = {}
    origins: dict[str, str] = {}
    path = config_file()
    if path.is_file():
        with path.open("rb") as fh:
            from_file = {k: v for k, v in tomllib.load(fh).items() if k in _ENV}
        merged.update(from_file)
        origins.update(dict.fromkeys(from_file, f"config {path}"))
    for name, env in _ENV.items():
        if env in os.environ:
            merged[name] = os.environ[env]
            origins[name] = f"env {env}"
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - set(_ENV)
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    merged.update(given)
    origins.update(dict.fromkeys(given, "flag"))
    settings = replace(Settings(), **{k: _coerce(k, v) for k, v in merged.items()})
    return settings, {name: origins.get(name, "default") for name in _ENV}


def load_settings(**overrides) -> Settings:
    """Merge the sources by precedence; ``overrides`` are CLI flags (None means not given)."""
    return resolve_settings(**overrides)[0]
