"""Offline document question answering with verified citations.

    from assistant import answer
    result = answer("What does Article 5 cover?")
    print(result.text, result.citations)
"""

from .config import Settings, load_settings
from .types import Answer, Citation, Passage
from .api import Assistant, QuestionError, answer, stream

__all__ = ["Answer", "Assistant", "Citation", "Passage", "QuestionError", "Settings", "answer", "load_settings", "stream"]
