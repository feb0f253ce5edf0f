"""Token log-probabilities, read and written in OpenAI's ``logprobs`` shape so one reader serves every backend:
the llama.cpp logits processor that records them, and the readers the answer path uses (the first token's
alternatives, the probability of each token of a reply)."""

from __future__ import annotations

import math

TOP_LOGPROBS = 20  # alternatives reported for a reply's first token (OpenAI's top_logprobs)


class TokenScores:
    """A llama.cpp logits processor that keeps the distribution of a reply's first token and the log-probability of
    each token chosen (the most likely one: greedy decoding, our temperature 0). llama.cpp reports logprobs only for
    models loaded with logits for every prompt token, which costs a vocabulary-sized row per token; read as
    OpenAI-style ``logprobs`` so one reader serves every backend."""

    def __init__(self, llama):
        self.llama = llama
        self.scores = None
        self.chosen: list[float] = []

    def __call__(self, input_ids, scores):
        import numpy as np

        if self.scores is None:  # the whole distribution only for the first token; later ones need one number
            self.scores = _log_softmax(scores)
        # the chosen (most likely) token's log-probability: its logit minus log-sum-exp, i.e. -log sum exp(l - max)
        self.chosen.append(-float(np.log(np.exp(scores - scores.max()).sum(dtype=np.float64))))
        return scores

    def first(self) -> dict:
        import numpy as np

        top = np.argpartition(-self.scores, TOP_LOGPROBS)[:TOP_LOGPROBS]
        top = top[np.argsort(-self.scores[top])]
        tokens = [{"token": self.llama.detokenize([int(i)]).decode("utf-8", errors="replace"),
                   "logprob": float(self.scores[i])} for i in top]
        return {**tokens[0], "top_logprobs": tokens}

    def logprobs(self, start: int = 0) -> dict | None:
        """The chosen tokens from ``start`` on in OpenAI's shape; the first token's entry also lists its
        alternatives."""
        if self.scores is None:
            return None
        content = [{"token": "", "logprob": lp} for lp in self.chosen[start:]]
        if start == 0 and content:
            content[0] = self.first()
        return {"content": content}


def _log_softmax(scores):
    import numpy as np

    logits = scores.astype(np.float64)
    return logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))


def _logprob_content(message) -> list[dict]:
    """The per-token entries of OpenAI-style ``logprobs`` in a message's metadata (what our llama.cpp model reports,
    and OpenAI-compatible servers with logprobs on); empty when not reported."""
    logprobs = (getattr(message, "response_metadata", None) or {}).get("logprobs") or {}
    return (logprobs.get("content") if isinstance(logprobs, dict) else None) or []


def first_token_probabilities(message) -> dict[str, float] | None:
    """Token -> probability for the first token of a reply; None when not reported."""
    content = _logprob_content(message)
    if not content:
        return None
    probabilities: dict[str, float] = {}
    for item in content[0].get("top_logprobs") or []:
        probabilities[item["token"]] = probabilities.get(item["token"], 0.0) + math.exp(item["logprob"])
    return probabilities or None


def token_logprobs(message) -> list[float]:
    """Log-probabilities of the tokens of a reply (or of one streamed piece of it), in order; empty when not
    reported."""
    return [float(item["logprob"]) for item in _logprob_content(message)]
