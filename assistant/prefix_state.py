"""A llama.cpp context's processed fixed prompt prefix (instructions and examples), kept on disk between processes.

Each role's prompt (answer, check, condense) starts with the same instructions and examples, 390-620 tokens. Within a
process llama.cpp keeps them processed between questions; a new process (an ``assistant ask``, a script calling
``answer()``, the page's start) had to process them again before its first answer: the page's warm-up of the three
roles took 52 s on a slow day here, loading the model included. The first process to use a role saves its context's
sequence state (the tokens and their KV cache, 11-18 MB); later ones restore it in a hundredth of a second.
llama-cpp-python reuses a restored prefix only as far as a new prompt's tokens match it, so an edited prompt file
costs processing time, never a wrong answer.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
from pathlib import Path
from typing import Any


def state_file(directory: Path, model_path: Path, role: str) -> Path:
    """Where ``role``'s prefix state for this model file lives: named for the file's identity and the llama.cpp build,
    whose state format may change."""
    import llama_cpp

    stat = model_path.stat()
    identity = f"{model_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{llama_cpp.__version__}"
    return directory / f"{model_path.stem}.{role}.{hashlib.sha256(identity.encode()).hexdigest()[:16]}.state"


def restore(llama: Any, file: Path) -> list[int]:
    """Load the saved prefix into ``llama``'s still empty context; the tokens restored ([] when there is none, or it
    cannot be read: it is then removed, and the prefix processed as if it had never been saved)."""
    import llama_cpp

    if llama.n_tokens or not file.is_file():
        return []
    capacity = llama.n_ctx()
    tokens = (llama_cpp.llama_token * capacity)()
    count = ctypes.c_size_t(0)
    if not llama_cpp.llama_state_seq_load_file(llama.ctx, os.fsencode(file), 0, tokens, capacity, ctypes.byref(count)):
        file.unlink(missing_ok=True)  # llama.cpp leaves the sequence empty when a load fails
        return []
    llama.input_ids[: count.value] = tokens[: count.value]
    llama.n_tokens = count.value  # what llama-cpp-python compares a new prompt with, to reuse the matching prefix
    return list(tokens[: count.value])


def save(llama: Any, file: Path) -> None:
    """Write ``llama``'s context state to ``file`` (replacing the states of older builds or files of the same model
    and role); a home that cannot be written only means the next process processes the prefix itself."""
    import llama_cpp

    tokens = (llama_cpp.llama_token * llama.n_tokens)(*llama.input_ids[: llama.n_tokens])
    partial = file.with_name(f"{file.name}.{os.getpid()}.partial")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        if llama_cpp.llama_state_seq_save_file(llama.ctx, os.fsencode(partial), 0, tokens, llama.n_tokens):
            os.replace(partial, file)  # a crash mid-write leaves a .partial file, never a half-written state
        for stale in file.parent.glob(f"{file.name.rsplit('.', 2)[0]}.*.state"):
            if stale != file:
                stale.unlink(missing_ok=True)
    except OSError:
        pass
    finally:
        partial.unlink(missing_ok=True)
