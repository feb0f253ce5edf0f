"""Offline document question answering with verified citations.

    from assistant import answer
    result = answer("What does Article 5 cover?")
    print(result.text, result.citations)
"""

from .config import Settings, load_settings
from .types import Answer, Citation, Evidence, Passage
from .api import Assistant, EmptyIndexError, QuestionError, answer, stream

__all__ = ["Answer", "Assistant", "Citation", "EmptyIndexError", "Evidence", "Passage", "QuestionError", "Settings", "answer", "load_settings", "stream"]
