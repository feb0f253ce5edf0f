"""Sentence-aware chunks that are verbatim spans of the document, with offsets and stable ids."""

from __future__ import annotations

import hashlib
import threading
from bisect import bisect_left, bisect_right

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from .documents import SourceDocument
from .locations import METADATA_KEY, encode

# MiniLM reads at most 256 word pieces; 200 leaves room for special tokens and tokenizer drift.
CHUNK_TOKENS = 200
OVERLAP_TOKENS = 40
# Paragraphs first, then sentence ends, then clauses: a chunk boundary falls mid-sentence only as a last resort.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ": ", ", ", " ", ""]


class TokenCounter:
    """Word pieces in a piece of the current document, read off one tokenization of the whole document: the splitter
    measures every piece at least twice (to split, then to merge), and tokenizing each piece was 7 % of ingest.
    The embedder's tokenizer normalises, splits words and cuts word pieces word by word, so a piece that starts and
    ends between words has the tokens of its span; a piece cut inside a word is tokenized on its own."""

    def __init__(self, tokenizer):  # a tokenizers.Tokenizer without truncation or padding
        self._tokenizer = tokenizer
        self.use("")

    def use(self, text: str) -> None:
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        self._text, self._cursor = text, 0
        self._starts = [start for start, _ in encoding.offsets]
        self._ends = [end for _, end in encoding.offsets]
        self._words = encoding.word_ids

    def _between_words(self, token: int, at: int) -> bool:
        """Whether offset ``at``, before token number ``token``, is a word boundary that no token crosses."""
        if 0 < token and self._ends[token - 1] > at:
            return False
        if token < len(self._starts) and self._starts[token] < at:
            return False
        return token in (0, len(self._words)) or self._words[token] != self._words[token - 1]

    def __call__(self, piece: str) -> int:
        if not piece:
            return 0
        # pieces come mostly in document order; the splitter goes back when it recurses into a long part
        start = self._text.find(piece, self._cursor)
        if start < 0:
            start = self._text.find(piece)
        if start >= 0:
            self._cursor = start
            first = bisect_left(self._starts, start)
            after = bisect_right(self._ends, start + len(piece))
            if self._between_words(first, start) and self._between_words(after, start + len(piece)):
                return after - first
        return len(self._tokenizer.encode(piece, add_special_tokens=False).ids)


class Chunker:
    """LangChain's recursive splitter, measuring in the embedder's tokens."""

    def __init__(self, tokenizer):
        self._lock = threading.Lock()  # the counter holds the document being split
        self.count_tokens = TokenCounter(tokenizer)
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=CHUNK_TOKENS,
            chunk_overlap=OVERLAP_TOKENS,
            length_function=self.count_tokens,
            separators=SEPARATORS,
            keep_separator="end",
            add_start_index=True,
        )

    def chunk(self, doc: SourceDocument) -> list[Document]:
        with self._lock:
            self.count_tokens.use(doc.text)
            return chunk_document(doc, self.splitter)


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
