"""Optional LLM-judged faithfulness, RAGAS-style: for each answer sentence, does the quote it cites support it?

Used only when a judge backend is named (`assistant eval --judge SPEC`); every other metric needs no LLM. A
sentence that cites nothing counts as unsupported; a reply with neither "yes" nor "no" is left out of the mean
and counted, so a judge that cannot follow the format shows up in the report instead of skewing the score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from ..chain import load_prompt
from ..config import Settings
from ..llm import make_chat_model

_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


class Judge:
    def __init__(self, chat_model: BaseChatModel, spec: str = "custom"):
        self.spec = spec
        self._chain = load_prompt("judge") | chat_model | StrOutputParser()

    @classmethod
    def from_spec(cls, spec: str, settings: Settings) -> Judge:
        model = make_chat_model(spec, settings, max_tokens=4, role="judge")
        if model is None:
            raise ValueError("the judge must be an LLM backend (provider:model), not extractive")
        return cls(model, spec)

    def verdict(self, claim: str, evidence: str) -> bool | None:
        """True if the judge says the evidence supports the claim; None if its reply says neither."""
        if not evidence.strip():
            return False
        match = _VERDICT.search(self._chain.invoke({"claim": claim, "evidence": evidence}))
        return None if match is None else match.group(1).lower() == "yes"

    def score(self, pairs: Sequence[tuple[str, str]]) -> dict:
        """Faithfulness of one answer: the share of its (sentence, cited quote) pairs the judge finds supported."""
        verdicts = [self.verdict(claim, evidence) for claim, evidence in pairs]
        known = [v for v in verdicts if v is not None]
        return {"faithfulness": sum(known) / len(known) if known else None,
                "judge_unparsed": len(verdicts) - len(known)}
