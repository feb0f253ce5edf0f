"""The embedder backends: bf16 matmuls, the ONNX export on ONNX Runtime or OpenVINO, and int8 ONNX agree with fp32
torch, and an index refuses an embedder that did not build it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from assistant import Assistant
from assistant.embeddings import get_embeddings, identity, native_bf16
from assistant.store import EmbedderMismatch, Index

from .conftest import REPO, SEED, make_settings


TEXTS = [SEED.read_text(encoding="utf-8")[:1200], "What does Article 5 cover?",
         "The ferry to Rebun island leaves at nine.", "Cyberattack on Japan"]


def test_bf16_matmuls_embed_as_fp32_does():
    """Close enough to share fp32's identity (and its indexes); on a CPU with native bf16 they really ran in bf16."""
    fp32 = np.asarray(get_embeddings("all-MiniLM-L6-v2", "torch").embed_documents(TEXTS))
    bf16 = get_embeddings("all-MiniLM-L6-v2", "torch-bf16")
    vectors = np.asarray(bf16.embed_documents(TEXTS))
    assert (vectors * fp32).sum(axis=1).min() >= 0.9999
    assert np.allclose(np.asarray(bf16.embed_query(TEXTS[1])), vectors[1], atol=1e-3)
    assert identity("all-MiniLM-L6-v2", "torch-bf16") == identity("all-MiniLM-L6-v2", "torch")
    assert native_bf16() == (not np.array_equal(vectors, fp32))


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_the_exported_model_embeds_as_torch_does_without_loading_torch(backend):
    """Same vectors and identity as torch (OpenVINO in bf16 on a CPU that has it); a process that only searches
    never imports torch or sentence-transformers (seconds of its start)."""
    fp32 = np.asarray(get_embeddings("all-MiniLM-L6-v2", "torch").embed_documents(TEXTS))
    exported = get_embeddings("all-MiniLM-L6-v2", backend)
    vectors = np.asarray(exported.embed_documents(TEXTS))
    assert (vectors * fp32).sum(axis=1).min() >= 0.9999
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert float(np.dot(exported.embed_query(TEXTS[1]), vectors[1])) >= 0.9999
    assert identity("all-MiniLM-L6-v2", backend) == identity("all-MiniLM-L6-v2", "torch")
    script = ("import sys; from assistant.embeddings import get_embeddings; "
              f"get_embeddings('all-MiniLM-L6-v2', {backend!r}).embed_query('x'); "
              "print(sorted({'torch', 'sentence_transformers'} & set(sys.modules)))")
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    assert ran.stdout.strip() == "[]"


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_a_failure_half_way_through_a_call_reaches_the_caller_and_spoils_nothing(backend, monkeypatch):
    """Batches already running when a later one fails are waited for; the error is the caller's, and the next call
    embeds as before (ingest retries a group after a failed one)."""
    embeddings = get_embeddings("all-MiniLM-L6-v2", backend)
    encoder = embeddings._client
    texts = [f"{TEXTS[0][:40 + i]} ({i})" for i in range(5 * encoder.batch_size)]
    expected = np.asarray(embeddings.embed_documents(texts))

    class FailsOnThirdBatch:
        def __init__(self, tokenizer):
            self.tokenizer, self.calls = tokenizer, 0

        def encode_batch(self, batch):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("tokenizer broke")
            return self.tokenizer.encode_batch(batch)

    failing = FailsOnThirdBatch(encoder.tokenizer)
    monkeypatch.setattr(encoder, "tokenizer", failing)
    with pytest.raises(RuntimeError, match="tokenizer broke"):
        embeddings.embed_documents(texts)
    assert failing.calls == 3  # two batches had been handed to the runtime when the third failed
    monkeypatch.undo()
    assert np.allclose(np.asarray(embeddings.embed_documents(texts)), expected, atol=1e-6)


def test_onnx_int8_embeds_like_torch():
    """Exported once from the packaged weights; each text's int8 vector points where torch's fp32 one does."""
    torch_vectors = np.asarray(get_embeddings("all-MiniLM-L6-v2", "torch").embed_documents(TEXTS))
    onnx = get_embeddings("all-MiniLM-L6-v2", "onnx-int8")
    onnx_vectors = np.asarray(onnx.embed_documents(TEXTS))
    assert onnx_vectors.shape == torch_vectors.shape
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-4)
    assert (onnx_vectors * torch_vectors).sum(axis=1).min() >= 0.98
    # dynamic quantization scales activations per batch, so a text's vector depends a little on its batchmates
    assert float(np.dot(onnx.embed_query(TEXTS[1]), onnx_vectors[1])) >= 0.99


def test_an_index_refuses_another_embedder(tmp_path, corpus):
    torch_settings = make_settings(tmp_path)
    with Assistant(torch_settings) as built:
        built.ingest([corpus])
        assert built.index.chunks.metadata["embedder"] == identity("all-MiniLM-L6-v2", "torch")
    onnx_settings = make_settings(tmp_path, embed_backend="onnx-int8")
    with pytest.raises(EmbedderMismatch, match=r"built with the embedder all-MiniLM-L6-v2 \(torch\).*re-ingest"):
        Index(onnx_settings)
    Index(torch_settings).close()  # the one that built it still opens it
    Index(make_settings(tmp_path, embed_backend="torch")).close()  # and fp32, whose vectors bf16's match


def test_an_empty_index_adopts_the_configured_embedder(tmp_path, corpus):
    Index(make_settings(tmp_path)).close()  # created with torch, nothing embedded
    onnx_settings = make_settings(tmp_path, embed_backend="onnx-int8")
    with Assistant(onnx_settings) as assistant:
        assistant.ingest([corpus])
        assert assistant.index.chunks.metadata["embedder"] == identity("all-MiniLM-L6-v2", "onnx-int8")
        assert assistant.retrieve("Senkaku Islands")[0].source.endswith(SEED.name)
    with pytest.raises(EmbedderMismatch):
        Index(make_settings(tmp_path))
