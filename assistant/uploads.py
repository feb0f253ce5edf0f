"""Files added through the page: kept under a sanitised name in the documents folder, then indexed.

The page hands uploads to ``Assistant.add_uploads``; nothing here knows about Gradio. An upload the index cannot
use is not kept, so the folder holds only what the index serves.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .documents import SUPPORTED_SUFFIXES
from .store import Index, Progress, SyncReport

MAX_NAME_CHARS = 100
_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\- ]+")


class UploadRejected(ValueError):
    """An uploaded file that will not be kept; the message says why."""


@dataclass
class UploadReport:
    sync: SyncReport | None = None  # None when no file was kept
    problems: list[str] = field(default_factory=list)  # "name: reason", one per file not added

    @property
    def indexed(self) -> list[str]:
        """Sources the index now holds from this upload (new, updated or unchanged)."""
        return self.sync.added + self.sync.updated + self.sync.unchanged if self.sync else []


def safe_upload_name(name: str) -> str:
    """A plain file name for ``name``: no folders, no hidden files, only word characters, capped in length."""
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").split("/")[-1]
    base = _UNSAFE_NAME_CHARS.sub("_", base).strip(" .")  # leading dots would hide it, trailing ones confuse Windows
    stem, suffix = os.path.splitext(base)
    stem = stem.strip(" ._") or "upload"
    suffix = suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadRejected(
            f"{name}: unsupported type {suffix or '(none)'}; upload one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return stem[: MAX_NAME_CHARS - len(suffix)] + suffix


def store_upload(uploaded: Path, name: str, docs_dir: Path, max_bytes: int) -> Path:
    """Copy an uploaded file into ``docs_dir`` under a sanitised ``name``; nothing is written anywhere else."""
    safe = safe_upload_name(name)
    size = Path(uploaded).stat().st_size
    if size > max_bytes:
        raise UploadRejected(f"{name}: {size / 2**20:.1f} MB is over the {max_bytes / 2**20:.0f} MB limit")
    if size == 0:
        raise UploadRejected(f"{name}: the file is empty")
    folder = Path(docs_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe
    if target.parent != folder:  # belt and braces: safe_upload_name already removed every separator
        raise UploadRejected(f"{name}: not a plain file name")
    # Write beside the target, then rename: a half-copied file is never indexed, a symlink is replaced, not followed.
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    os.close(fd)
    try:
        shutil.copyfile(uploaded, temp)
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)
    return target


def inside(path: Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def add_uploads(index: Index, files: list[tuple[Path, str]], docs_dir: Path, max_bytes: int,
                progress: Progress | None = None) -> UploadReport:
    """Keep each (temporary path, name the user gave) in ``docs_dir`` and index what was kept."""
    report = UploadReport()
    kept = []
    for uploaded, name in files:
        try:
            kept.append(store_upload(Path(uploaded), name, docs_dir, max_bytes))
        except UploadRejected as exc:
            report.problems.append(str(exc))
    if not kept:
        return report
    if progress:
        progress(0, len(kept), "indexing")
    report.sync = index.sync(kept, progress=progress)
    indexed = set(index.committed())
    for file, reason in report.sync.skipped:
        report.problems.append(f"{Path(file).name}: {reason}")
        if file not in indexed and inside(Path(file), docs_dir):
            Path(file).unlink(missing_ok=True)  # the folder holds only what the index can use
    return report


def remove_document(index: Index, source: str, docs_dir: Path) -> bool:
    """Forget ``source``; an uploaded file goes with it, seeds and other folders are left alone."""
    removed = index.remove(source)
    if inside(Path(source), docs_dir):
        Path(source).unlink(missing_ok=True)
    return removed
