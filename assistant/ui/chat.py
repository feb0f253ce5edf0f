"""The chat: question box, streamed answers with linked [n] markers, Stop, examples."""

from __future__ import annotations

from contextlib import closing

import gradio as gr

from ..api import QuestionError, clean_question
from ..llm import LLMError
from ..store import IndexBusy
from ..types import Answer
from .page import PRIVATE, Page
from .render import CURSOR, Turn, answer_html, draft_html, error_html, inline

EXAMPLES = [
    "What does Article 5 cover?",
    "Could a cyberattack count as an armed attack?",
    "Who took part in the 2+2 meeting?",
    "What did Iwaya say about deterrence?",
]
USER_ERRORS = (QuestionError, IndexBusy, LLMError)


def chat_history(turns: list[Turn]) -> list[dict]:
    """Completed, verified turns only: a stopped draft never feeds a follow-up."""
    history: list[dict] = []
    for t in turns:
        history += [{"role": "user", "content": t.question}, {"role": "assistant", "content": t.answer.text}]
    return history


def _message_text(message: dict) -> str:
    """A chat message's text: the page sends content back as a list of typed parts."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


class ChatPanel:
    def __init__(self, page: Page):
        self.page = page
        self.assistant = page.assistant

    def build(self) -> None:
        self.chatbot = gr.Chatbot(
            elem_id="chat",
            height=560,
            show_label=False,
            layout="bubble",
            examples=[{"text": q} for q in EXAMPLES],
            placeholder="Ask about the indexed documents, or pick an example.",
            feedback_options=None,
            buttons=["copy"],
            latex_delimiters=[],
        )
        with gr.Row(elem_id="composer"):
            self.question = gr.Textbox(
                label="Question",
                placeholder="Ask a question about the documents\u2026",
                show_label=False,
                container=False,
                scale=8,
                max_lines=4,
                autofocus=True,
                elem_id="question",
            )
            self.send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="send")
            self.stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="stop")
        self.pending = gr.State("")

    # --- event handlers ---------------------------------------------------------------------------------------

    def check_question(self, question: str, messages: list):
        """Shown on the text box itself, before anything is sent to the model."""
        try:
            clean_question(question, self.page.settings.max_question_chars)
        except QuestionError as exc:
            return gr.validate(False, str(exc)), gr.validate(True, "")
        return gr.validate(True, ""), gr.validate(True, "")

    def take_question(self, question: str, messages: list):
        question = clean_question(question, self.page.settings.max_question_chars)
        return "", messages + [{"role": "user", "content": inline(question)}], question

    def respond(self, question: str, messages: list, turns: list[Turn]):
        turn = len(turns)
        messages = messages + [{"role": "assistant", "content": CURSOR}]
        yield messages, gr.skip()
        draft = ""
        try:
            # Stop closes this generator; closing the stream with it releases the model at once.
            with closing(self.assistant.stream(question, history=chat_history(turns))) as pieces:
                for item in pieces:
                    if isinstance(item, Answer):
                        messages[-1] = {"role": "assistant", "content": answer_html(item, turn)}
                        yield messages, turns + [Turn(question, item)]
                    else:
                        draft += item
                        messages[-1] = {"role": "assistant", "content": draft_html(draft)}
                        yield messages, gr.skip()
        except USER_ERRORS as exc:
            messages[-1] = {"role": "assistant", "content": error_html(str(exc))}
            yield messages, gr.skip()

    @staticmethod
    def pick_example(evt: gr.SelectData) -> str:
        return evt.value["text"]

    @staticmethod
    def mark_stopped(messages: list):
        text = _message_text(messages[-1]) if messages and messages[-1].get("role") == "assistant" else ""
        if CURSOR in text:
            messages[-1] = {"role": "assistant", "content": text.replace(CURSOR, ' <em class="stopped">(stopped)</em>')}
        return messages

    def wire(self) -> None:
        turns = self.page.turns
        answering = {"concurrency_id": "answer", **PRIVATE}
        taking = {"validator": self.check_question, "show_progress": "hidden", **PRIVATE}  # validators run in the queue
        take = (self.take_question, [self.question, self.chatbot], [self.question, self.chatbot, self.pending])
        respond = (self.respond, [self.pending, self.chatbot, turns], [self.chatbot, turns])
        asked = [trigger(*take, **taking).success(*respond, **answering)
                 for trigger in (self.question.submit, self.send.click)]
        picked = self.chatbot.example_select(self.pick_example, None, self.question, queue=False, **PRIVATE)
        asked.append(picked.then(*take, **taking).success(*respond, **answering))
        self.stop.click(self.mark_stopped, self.chatbot, self.chatbot, cancels=asked, queue=False, **PRIVATE)
        self.chatbot.clear(lambda: [], None, turns, queue=False, **PRIVATE)
