"""`assistant status`: what the assistant will use and where it is, read without changing anything.

Like `llm logs path` / `llm models`: the resolved settings and where each came from, the index (documents, chunks,
last commit), the embedder, the answer model's file, the lexical index and the Chroma server if one is configured.
Nothing is created, loaded or indexed to find out.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import asdict
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .config import Settings, config_file, resolve_settings

HEARTBEAT_TIMEOUT = 3.0  # seconds: a server that takes longer than this is reported as not answering


def _heartbeat(url: str) -> dict:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/api/v2/heartbeat", timeout=HEARTBEAT_TIMEOUT) as response:
            response.read()
        return {"url": url, "answers": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return {"url": url, "answers": False, "error": str(getattr(exc, "reason", exc))}


def _embedder(name: str) -> dict:
    from .embeddings import PACKAGED_MODELS, resolve_model_path

    try:
        path = resolve_model_path(name)
    except RuntimeError as exc:
        return {"name": name, "path": None, "present": False, "note": str(exc)}
    package = PACKAGED_MODELS.get(name)
    return {"name": name, "path": path, "present": Path(path).exists(),
            "package": package.replace("_", "-") if package else None}


def _index(settings: Settings, server: dict | None) -> dict:
    from .store import describe

    where = {"path": None if settings.chroma_url else str(Path(settings.index_dir).absolute()),
             "collection": settings.collection}
    if server is not None and not server["answers"]:
        return {**where, "exists": None, "note": "the Chroma server does not answer"}
    held = describe(settings)
    if held is None:
        return {**where, "exists": False, "documents": 0, "chunks": 0, "last_commit": None, "embed_model": None}
    committed = held["last_commit"]
    return {**where, "exists": True, **held,
            "last_commit": datetime.fromtimestamp(committed, timezone.utc).isoformat(timespec="seconds")
            if committed else None}


def _shown(name: str, value):
    if name == "auth":
        return "(set)" if value else ""  # passwords stay out of terminals and logs
    return str(value) if isinstance(value, Path) else value


def gather(**overrides) -> dict:
    """Everything `assistant status` reports, as one JSON-able dict; ``overrides`` are CLI flags."""
    from .llm import model_state

    settings, origins = resolve_settings(**overrides)
    server = _heartbeat(settings.chroma_url) if settings.chroma_url else None
    try:
        package_version = version("assistant")
    except PackageNotFoundError:
        package_version = None
    index = _index(settings, server)
    return {
        "version": package_version,
        "config_file": {"path": str(config_file()), "exists": config_file().is_file()},
        "settings": {name: {"value": _shown(name, value), "origin": origins[name]}
                     for name, value in asdict(settings).items()},
        "index": index,
        "chroma_server": server,
        "embedder": _embedder(settings.embed_model),
        "llm": {"spec": settings.llm, **model_state(settings.llm, settings.model_dir)},
        "lexical": _lexical(settings, index),
    }


def _lexical(settings: Settings, index: dict) -> dict:
    """The BM25 mirror (lexical.py): where it is, and whether it holds the index's last commit (a reader brings it
    up to date at its next search, reading only new chunks)."""
    import sqlite3

    from .lexical import FORMAT
    from .store import lexical_path

    path = lexical_path(settings)
    state = {"kind": "BM25 on disk (mmap'd segment + SQLite delta, stemmed)", "path": str(path),
             "exists": path.is_file()}
    if not path.is_file():
        return {**state, "state": "not built yet: made at the first ingest or search"}
    # read only: opening a LexicalIndex would create its tables, or empty a mirror in an older layout
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        if meta.get("format") != FORMAT:
            return {**state, "chunks": None, "current": False,
                    "state": "older layout: rebuilt from the index at the next search"}
        chunks = db.execute("SELECT coalesce(sum(chunks), 0) FROM versions").fetchone()[0]
    finally:
        db.close()
    current = index.get("generation") is not None and meta.get("generation") == index.get("generation")
    return {**state, "chunks": chunks, "current": current,
            "state": f"{chunks} chunks, " + ("current" if current else "behind the index: caught up at the next search")}


def _size(n: int | None) -> str:
    return "" if n is None else f"{n / 2**30:.2f} GB" if n >= 2**30 else f"{n / 2**20:.1f} MB"


def render(status: dict) -> str:
    """The human-readable form of ``gather()``."""
    settings, index, llm, embedder = status["settings"], status["index"], status["llm"], status["embedder"]
    config = status["config_file"]
    width = max(map(len, settings))
    lines = [f"assistant {status['version'] or '(not installed)'}",
             f"config file: {config['path']}{'' if config['exists'] else ' (none)'}",
             "", "settings (value, origin):"]
    for name, item in settings.items():
        lines.append(f"  {name:<{width}}  {item['value']!s:<40} {item['origin']}")
    lines.append("")
    where = index["path"] or f"collection {index['collection']!r} on {status['chroma_server']['url']}"
    if index.get("exists") is None:
        lines.append(f"index: {where}: unknown ({index['note']})")
    elif not index["exists"]:
        lines.append(f"index: {where}: no index yet (`assistant ingest PATH` creates it)")
    else:
        built = f", embedded with {index['embed_model']}" if index["embed_model"] else ""
        documents = f"{index['documents']} document{'' if index['documents'] == 1 else 's'}"
        lines.append(f"index: {where}: {documents}, {index['chunks']} chunks, "
                     f"last commit {index['last_commit'] or 'unknown'}{built}")
    if status["chroma_server"]:
        server = status["chroma_server"]
        state = f"answers ({server['ms']} ms)" if server["answers"] else f"does not answer ({server['error']})"
        lines.append(f"chroma server: {server['url']}: {state}")
    lines.append(f"embedder: {embedder['name']}: {embedder['path'] or embedder.get('note')}"
                 + ("" if embedder["present"] else " (missing)"))
    if "model_file" in llm:
        if llm["present"]:
            check = {True: "SHA-256 verified", False: "SHA-256 MISMATCH: delete it to re-assemble",
                     None: llm.get("note", "")}[llm["verified"]]
            model = f"{llm['model_file']} ({_size(llm['size_bytes'])}, {check})"
        else:
            model = f"{llm['model_file'] or ''} not present" + (f": {llm['note']}" if llm.get("note") else "")
    else:
        model = llm.get("server") or llm["note"]
        model = f"{llm.get('model', '')} at {model}" if llm.get("server") else model
    lines.append(f"answer backend: {llm['spec']}: {model}")
    lines.append(f"lexical index: {status['lexical']['kind']} at {status['lexical']['path']}: "
                 f"{status['lexical']['state']}")
    return "\n".join(lines)
