"""Sentence-aware chunks that are verbatim spans of the document, with offsets and stable ids."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from .documents import SourceDocument
from .locations import METADATA_KEY, encode

# MiniLM reads at most 256 word pieces; 200 leaves room for special tokens and tokenizer drift.
CHUNK_TOKENS = 200
OVERLAP_TOKENS = 40
# Paragraphs first, then sentence ends, then clauses: a chunk boundary falls mid-sentence only as a last resort.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ": ", ", ", " ", ""]


def make_splitter(count_tokens: Callable[[str], int]) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_TOKENS,
        chunk_overlap=OVERLAP_TOKENS,
        # the splitter measures each piece twice (to split, then to merge): tokenizing was 10 % of ingest
        length_function=lru_cache(maxsize=4096)(count_tokens),
        separators=SEPARATORS,
        keep_separator="end",
        add_start_index=True,
    )


def chunk_id(source: str, doc_sha256: str, index: int) -> str:
    # Same file version -> same ids, so re-ingesting upserts instead of duplicating; a new version gets new ids,
    # so its chunks can be written beside the old version's before the switch-over.
    return hashlib.sha256(f"{source}\0{doc_sha256}\0{index}".encode()).hexdigest()[:32]


def chunk_document(doc: SourceDocument, splitter: RecursiveCharacterTextSplitter) -> list[Document]:
    chunks: list[Document] = []
    cursor = 0
    for piece in splitter.create_documents([doc.text]):
        text = piece.page_content
        start = piece.metadata.get("start_index", -1)
        if start < 0 or doc.text[start : start + len(text)] != text:
            start = doc.text.find(text, cursor)  # the splitter's own offset is a best guess
        if start < 0:
            raise AssertionError(f"chunk of {doc.source} is not a verbatim span")
        cursor = start + 1
        index = len(chunks)
        metadata = {
            "source": doc.source,
            "title": doc.title,
            "chunk_index": index,
            "start": start,
            "end": start + len(text),
            "doc_sha256": doc.sha256,
            "content_sha256": hashlib.sha256(text.encode()).hexdigest(),
        }
        locations = doc.locations(start, start + len(text))
        if locations:
            metadata[METADATA_KEY] = encode(locations)
        chunks.append(Document(id=chunk_id(doc.source, doc.sha256, index), page_content=text, metadata=metadata))
    return chunks
