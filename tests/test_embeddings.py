"""The two embedder backends: int8 ONNX agrees with torch, and an index refuses an embedder that did not build it."""

from __future__ import annotations

import numpy as np
import pytest

from assistant import Assistant
from assistant.embeddings import get_embeddings, identity
from assistant.store import EmbedderMismatch, Index

from .conftest import SEED, make_settings


def test_onnx_int8_embeds_like_torch():
    """Exported once from the packaged weights; each text's int8 vector points where torch's fp32 one does."""
    texts = [SEED.read_text(encoding="utf-8")[:1200], "What does Article 5 cover?",
             "The ferry to Rebun island leaves at nine.", "Cyberattack on Japan"]
    torch_vectors = np.asarray(get_embeddings("all-MiniLM-L6-v2", "torch").embed_documents(texts))
    onnx = get_embeddings("all-MiniLM-L6-v2", "onnx-int8")
    onnx_vectors = np.asarray(onnx.embed_documents(texts))
    assert onnx_vectors.shape == torch_vectors.shape
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-4)
    assert (onnx_vectors * torch_vectors).sum(axis=1).min() >= 0.98
    # dynamic quantization scales activations per batch, so a text's vector depends a little on its batchmates
    assert float(np.dot(onnx.embed_query(texts[1]), onnx_vectors[1])) >= 0.99


def test_an_index_refuses_another_embedder(tmp_path, corpus):
    torch_settings = make_settings(tmp_path)
    with Assistant(torch_settings) as built:
        built.ingest([corpus])
        assert built.index.chunks.metadata["embedder"] == identity("all-MiniLM-L6-v2", "torch")
    onnx_settings = make_settings(tmp_path, embed_backend="onnx-int8")
    with pytest.raises(EmbedderMismatch, match=r"built with the embedder all-MiniLM-L6-v2 \(torch\).*re-ingest"):
        Index(onnx_settings)
    Index(torch_settings).close()  # the one that built it still opens it


def test_an_empty_index_adopts_the_configured_embedder(tmp_path, corpus):
    Index(make_settings(tmp_path)).close()  # created with torch, nothing embedded
    onnx_settings = make_settings(tmp_path, embed_backend="onnx-int8")
    with Assistant(onnx_settings) as assistant:
        assistant.ingest([corpus])
        assert assistant.index.chunks.metadata["embedder"] == identity("all-MiniLM-L6-v2", "onnx-int8")
        assert assistant.retrieve("Senkaku Islands")[0].source.endswith(SEED.name)
    with pytest.raises(EmbedderMismatch):
        Index(make_settings(tmp_path))
