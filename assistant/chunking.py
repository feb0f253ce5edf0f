"""Sentence-aware chunks that are verbatim spans of the document, with offsets and stable ids."""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache

import numpy as np
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from .documents import SourceDocument
from .locations import METADATA_KEY, encode

# MiniLM reads at most 256 word pieces; 200 leaves room for special tokens and tokenizer drift.
CHUNK_TOKENS = 200
OVERLAP_TOKENS = 40
WINDOW_CHARS = 100_000  # characters tokenized at a time when counting a document's tokens
# Paragraphs first, then sentence ends, then clauses: a chunk boundary falls mid-sentence only as a last resort.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ": ", ", ", " ", ""]


class TokenCounter:
    """Word pieces in a piece of the current document, read off one tokenization of the whole document: the splitter
    measures every piece at least twice (to split, then to merge), and tokenizing each piece was 7 % of ingest.
    The embedder's tokenizer normalises, splits words and cuts word pieces word by word, so a piece that starts and
    ends between words has the tokens of its span; a piece cut inside a word is tokenized on its own."""

    def __init__(self, tokenizer):  # a tokenizers.Tokenizer without truncation or padding
        self._tokenizer = tokenizer
        # the splitter measures a piece again when it merges pieces, by then behind the place it has reached
        self.count = lru_cache(maxsize=4096)(self._count)
        self.use("")

    def use(self, text: str) -> None:
        """Tokenize ``text`` a window at a time, each cut at whitespace (so between words): a 50 MB file is not one
        tokenizer call holding every token's strings."""
        starts, ends, words = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        at = next_word = 0  # word numbers go on across windows
        while at < len(text):
            cut = min(len(text), at + WINDOW_CHARS)
            while cut < len(text) and not text[cut].isspace():
                cut += 1
            encoding = self._tokenizer.encode(text[at:cut], add_special_tokens=False)
            offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2) + at
            starts.append(offsets[:, 0])
            ends.append(offsets[:, 1])
            words.append(np.asarray(encoding.word_ids, dtype=np.int64) + next_word)
            next_word += max(encoding.word_ids, default=-1) + 1
            at = cut
        self._text, self._cursor = text, 0
        self._starts, self._ends, self._words = np.concatenate(starts), np.concatenate(ends), np.concatenate(words)

    def _between_words(self, token: int, at: int) -> bool:
        """Whether offset ``at``, before token number ``token``, is a word boundary that no token crosses."""
        if 0 < token and self._ends[token - 1] > at:
            return False
        if token < len(self._starts) and self._starts[token] < at:
            return False
        return token in (0, len(self._words)) or self._words[token] != self._words[token - 1]

    def __call__(self, piece: str) -> int:
        return self.count(piece) if piece else 0

    def _count(self, piece: str) -> int:
        # pieces come in document order, but for the ones measured again (cached)
        start = self._text.find(piece, self._cursor)
        if start < 0:
            start = self._text.find(piece)
        if start >= 0:
            self._cursor = start
            first = int(np.searchsorted(self._starts, start, "left"))
            after = int(np.searchsorted(self._ends, start + len(piece), "right"))
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
    for text in splitter.split_text(doc.text):
        # Chunks come in order, each starting after the last one's start. Not the splitter's add_start_index: it
        # skips ahead by the overlap counted in characters (ours is in tokens), so in a document that repeats a
        # passage it found a later copy, and every chunk after that one failed to be found.
        start = doc.text.find(text, cursor)
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
