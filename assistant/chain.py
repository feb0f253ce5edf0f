"""The LCEL chain: condense a follow-up -> retrieve -> gate -> pick the evidence -> the model's short answer (streamed).

Prompts are files in prompts/ (``NAME.system.txt``, optional few-shot ``NAME.examples.yaml``, ``NAME.user.txt``);
the model's own chat template is applied by its LangChain integration. The fixed part of a prompt (instructions and
examples) comes first and never changes, so llama.cpp reuses its processed state from one question to the next.
The chain only drafts: assistant.answering decides what of the draft is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, FewShotChatMessagePromptTemplate
from langchain_core.runnables import RunnableBranch, RunnableLambda, RunnablePassthrough

from .answering import Scored, format_evidence
from .types import Passage

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
HISTORY_TURNS = 6  # messages of history shown to the condenser; older turns rarely hold the referent


@lru_cache(maxsize=8)
def load_prompt(name: str, prompts_dir: Path = PROMPTS_DIR) -> ChatPromptTemplate:
    system = (prompts_dir / f"{name}.system.txt").read_text(encoding="utf-8").strip()
    user = (prompts_dir / f"{name}.user.txt").read_text(encoding="utf-8").strip()
    messages: list = [("system", system)]
    examples_file = prompts_dir / f"{name}.examples.yaml"
    if examples_file.is_file():
        examples = yaml.safe_load(examples_file.read_text(encoding="utf-8"))
        messages.append(FewShotChatMessagePromptTemplate(
            examples=[{"input": e["input"].strip(), "output": str(e["output"]).strip()} for e in examples],
            example_prompt=ChatPromptTemplate.from_messages([("human", "{input}"), ("ai", "{output}")]),
        ))
    messages.append(("human", user))
    return ChatPromptTemplate.from_messages(messages)


def format_history(history: list[dict]) -> str:
    lines = []
    for turn in history[-HISTORY_TURNS:]:
        role = "User" if turn.get("role") == "user" else "Assistant"
        lines.append(f"{role}: {' '.join(str(turn.get('content', '')).split())[:600]}")
    return "\n".join(lines)


def last_user_turn(history: list[dict] | None) -> str:
    return next((str(t.get("content", "")) for t in reversed(history or []) if t.get("role") == "user"), "")


def build_chain(
    retrieve: Callable[[str, int | None, list[str] | None], list[Passage]],
    select: Callable[[str, list[Passage]], list[Scored]],
    gate: Callable[[str, list[Passage]], str],
    *,
    answer_llm: BaseChatModel | None,
    condense_llm: Callable[[], BaseChatModel] | None = None,
):
    """Input ``{"question", "history", "k", "sources"}``; streams dict chunks with keys standalone, passages, blocked,
    evidence, then draft (``AIMessageChunk`` pieces). Without a model (``answer_llm`` None) there is no draft.
    ``condense_llm`` makes the model that rewrites a follow-up, at the first follow-up: a process that is never
    asked one never loads it (a llama.cpp context takes ~2 s and ~1.8 GB)."""

    def standalone(inputs: dict) -> str:
        if not inputs.get("history") or condense_llm is None:
            return inputs["question"]
        condense = load_prompt("condense") | condense_llm() | StrOutputParser()
        rewritten = condense.invoke({"history": format_history(inputs["history"]), "question": inputs["question"]})
        rewritten = " ".join(rewritten.strip().strip('"').split())
        # a small model sometimes answers instead of rewriting; a rewrite is one question-sized line
        return rewritten if 0 < len(rewritten) <= 3 * len(inputs["question"]) + 200 else inputs["question"]

    def passages(inputs: dict) -> list[Passage]:
        query = inputs["standalone"]
        if condense_llm is None and inputs.get("history"):
            # No model to rewrite a follow-up: the previous question joins the query instead.
            query = f"{last_user_turn(inputs['history'])} {query}".strip()
        return retrieve(query, inputs.get("k"), inputs.get("sources"))

    def evidence(inputs: dict) -> list[Scored]:
        return [] if inputs["blocked"] else select(inputs["standalone"], inputs["passages"])

    steps = (
        RunnablePassthrough.assign(standalone=RunnableLambda(standalone))
        | RunnablePassthrough.assign(passages=RunnableLambda(passages))
        | RunnablePassthrough.assign(blocked=RunnableLambda(lambda x: gate(x["standalone"], x["passages"])))
        | RunnablePassthrough.assign(evidence=RunnableLambda(evidence))
    )
    if answer_llm is None:
        return steps
    generate = (RunnableLambda(lambda x: {"evidence": x["evidence"], "question": x["standalone"]})
                | build_reader(answer_llm))
    # Nothing to answer from: no generation is spent (and the model is not tempted to answer from memory).
    draft = RunnableBranch((lambda x: not x["evidence"], RunnableLambda(lambda x: AIMessageChunk(content=""))),
                           generate)
    return steps | RunnablePassthrough.assign(draft=draft)


def build_reader(llm: BaseChatModel):
    """The model's short answer: input ``{"evidence": [Scored…], "question"}``, output its one-line reply."""
    return (
        RunnableLambda(lambda x: {"evidence": format_evidence(x["evidence"]), "question": x["question"]})
        | load_prompt("answer")
        | llm.bind(stop=["\n"])  # one line: the short answer and its marker
    )


def warm(llm: BaseChatModel, name: str) -> None:
    """Have the model process prompt ``name``'s fixed part (instructions, examples) once, so the first real question
    finds it done (llama.cpp keeps the processed prefix a later prompt shares)."""
    variables = load_prompt(name).input_variables
    (load_prompt(name) | llm.bind(max_tokens=1)).invoke({v: "" for v in variables})


def build_check(llm: BaseChatModel):
    """The model's yes/no check of (question, answer, quote), as a message whose first token carries P(yes)."""
    return load_prompt("check") | llm.bind(max_tokens=1)


def stream_events(chain, question: str, history: list[dict] | None, k: int | None = None,
                  sources: list[str] | None = None) -> Iterator[tuple[str, object]]:
    """(key, value) events in order: standalone, passages, blocked, evidence, then draft pieces (AIMessageChunk);
    ``sources`` limits retrieval to those documents."""
    for chunk in chain.stream({"question": question, "history": history or [], "k": k, "sources": sources}):
        for key in ("standalone", "passages", "blocked", "evidence", "draft"):
            if key in chunk:
                yield key, chunk[key]
