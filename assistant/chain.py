"""The LCEL retrieval chain: condense a follow-up -> retrieve -> pack passages -> prompt -> generate (streamed).

Prompts are files in prompts/ (``NAME.system.txt`` + ``NAME.user.txt``); the model's own chat template is applied
by its LangChain integration. The chain only drafts; assistant.citations decides what of the draft is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableBranch, RunnableLambda, RunnablePassthrough

from .types import Passage

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
DECLINED = "I don't know."
HISTORY_TURNS = 6  # messages of history shown to the condenser; older turns rarely hold the referent


@lru_cache(maxsize=8)
def load_prompt(name: str, prompts_dir: Path = PROMPTS_DIR) -> ChatPromptTemplate:
    system = (prompts_dir / f"{name}.system.txt").read_text(encoding="utf-8").strip()
    user = (prompts_dir / f"{name}.user.txt").read_text(encoding="utf-8").strip()
    return ChatPromptTemplate.from_messages([("system", system), ("human", user)])


def format_history(history: list[dict]) -> str:
    lines = []
    for turn in history[-HISTORY_TURNS:]:
        role = "User" if turn.get("role") == "user" else "Assistant"
        lines.append(f"{role}: {' '.join(str(turn.get('content', '')).split())[:600]}")
    return "\n".join(lines)


def format_passages(passages: list[Passage]) -> str:
    return "\n\n".join(f"[{i}] (from {p.source})\n{p.text.strip()}" for i, p in enumerate(passages, start=1))


def pack(passages: list[Passage], budget_tokens: int, count_tokens: Callable[[str], int]) -> list[Passage]:
    """Whole passages in rank order while they fit the budget; a passage is never cut mid-way."""
    packed, used = [], 0
    for passage in passages:
        cost = count_tokens(passage.text) + 12  # the "[n] (from …)" header
        if used + cost <= budget_tokens:
            packed.append(passage)
            used += cost
    return packed


def build_chain(
    llm: BaseChatModel,
    retrieve: Callable[[str, int | None], list[Passage]],
    *,
    relevant: Callable[[list[Passage]], bool],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
):
    """Input ``{"question", "history", "k"}``; streams dict chunks with keys standalone, passages, answer (text pieces)."""
    condense = load_prompt("condense") | llm | StrOutputParser()

    def standalone(inputs: dict) -> str:
        if not inputs.get("history"):
            return inputs["question"]
        rewritten = condense.invoke({"history": format_history(inputs["history"]), "question": inputs["question"]})
        rewritten = " ".join(rewritten.strip().strip('"').split())
        # a small model sometimes answers instead of rewriting; a rewrite is one question-sized line
        return rewritten if 0 < len(rewritten) <= 3 * len(inputs["question"]) + 200 else inputs["question"]

    def passages(inputs: dict) -> list[Passage]:
        return pack(retrieve(inputs["standalone"], inputs.get("k")), budget_tokens, count_tokens)

    generate = (
        RunnableLambda(lambda x: {"passages": format_passages(x["passages"]), "question": x["standalone"]})
        | load_prompt("answer")
        | llm
        | StrOutputParser()
    )
    # Nothing relevant retrieved: decline without spending a generation (and without tempting the model).
    answer = RunnableBranch((lambda x: not relevant(x["passages"]), RunnableLambda(lambda x: DECLINED)), generate)
    return (
        RunnablePassthrough.assign(standalone=RunnableLambda(standalone))
        | RunnablePassthrough.assign(passages=RunnableLambda(passages))
        | RunnablePassthrough.assign(answer=answer)
    )


def stream_draft(chain, question: str, history: list[dict] | None, k: int | None = None) -> Iterator[tuple[str, object]]:
    """(key, value) events: ("standalone", str), ("passages", list), then ("answer", piece) per generated piece."""
    for chunk in chain.stream({"question": question, "history": history or [], "k": k}):
        for key in ("standalone", "passages", "answer"):
            if key in chunk:
                yield key, chunk[key]
