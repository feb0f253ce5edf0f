"""The chat: question box, evidence at once, the streamed draft, the verified answer with linked [n] markers,
thumbs up/down with an optional comment, Stop, examples that fit the index (or, with nothing indexed, an offer
to upload)."""

from __future__ import annotations

import copy
from contextlib import closing

import gradio as gr

from ..api import EmptyIndexError, QuestionError, clean_question
from ..documents import SUPPORTED_SUFFIXES
from ..llm import LLMError
from ..scope import ScopeError
from ..store import IndexBusy
from ..types import Answer, Evidence
from .conversations import history, new_conversation, new_turn, with_turn
from .examples import Examples
from .page import CHANGED, INDEX_CHANGED, OPENED, PRIVATE, QUICK, Page
from .render import CURSOR, STOPPED, chat_messages, inline, turn_answer
from .scope import patterns

USER_ERRORS = (QuestionError, ScopeError, EmptyIndexError, IndexBusy, LLMError)
PLACEHOLDER = "Ask about the indexed documents, or pick an example."
FEEDBACK = {True: "up", False: "down"}  # Gradio's LikeData.liked -> our rating
SHOWN_RATING = {"up": "Like", "down": "Dislike"}


def _message_text(message: dict) -> str:
    """A chat message's text: the page sends content back as a list of typed parts."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def _evidence_dict(evidence: Evidence) -> dict:
    return Answer(text="", citations=evidence.citations, passages=evidence.passages).to_dict()


class ChatPanel:
    def __init__(self, page: Page):
        self.page = page
        self.assistant = page.assistant
        self.examples = Examples(self.assistant.index)

    def build(self) -> None:
        empty = not self.assistant.index.documents()
        self.chatbot = gr.Chatbot(
            elem_id="chat",
            height=560,
            show_label=False,
            layout="bubble",
            examples=self._examples(),
            placeholder=self._placeholder(empty, editor=True),
            feedback_options=("Like", "Dislike"),
            buttons=["copy"],
            latex_delimiters=[],
        )
        # With nothing indexed the chat offers an upload instead of examples (wired by the documents panel).
        self.empty_upload = gr.UploadButton(
            "Add documents", file_count="multiple", file_types=list(SUPPORTED_SUFFIXES), variant="primary",
            visible=empty, elem_id="empty-upload",
        )
        with gr.Row(visible=False, elem_id="feedback-comment") as self.comment_row:
            self.comment = gr.Textbox(placeholder="What was wrong, or right? (optional)", show_label=False,
                                      container=False, scale=6, max_lines=3, elem_id="feedback-text")
            self.send_comment = gr.Button("Send", size="sm", scale=1, min_width=70, elem_id="feedback-send")
        self.rated_turn = gr.State(None)  # the turn the comment box is about
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

    def _examples(self) -> list[dict] | None:
        return [{"text": q} for q in self.examples.for_index()] or None

    @staticmethod
    def _placeholder(empty: bool, editor: bool) -> str:
        if not empty:
            return PLACEHOLDER
        if editor:
            return ("### No documents yet\nAdd some to ask about: "
                    f"{', '.join(SUPPORTED_SUFFIXES)}. Answers come only from them, every claim quoted.")
        return "### No documents yet\nAn editor has to add documents before there is anything to ask about."

    # --- event handlers ---------------------------------------------------------------------------------------

    def show_index(self, request: gr.Request):
        """Examples that fit the index, or the empty state (an upload offer for those who may upload)."""
        empty = not self.assistant.index.documents()
        editor = self.page.can_edit(request)
        return (gr.Chatbot(examples=self._examples(), placeholder=self._placeholder(empty, editor)),
                gr.UploadButton(visible=empty and editor))

    @staticmethod
    def show_conversation(conversation: dict):
        return gr.Chatbot(value=chat_messages(conversation["turns"]),
                          feedback_value=[SHOWN_RATING.get(t["rating"]) for t in conversation["turns"]])

    def check_question(self, question: str, messages: list):
        """Shown on the text box itself, before anything is sent to the model."""
        try:
            clean_question(question, self.page.settings.max_question_chars)
        except QuestionError as exc:
            return gr.validate(False, str(exc)), gr.validate(True, "")
        return gr.validate(True, ""), gr.validate(True, "")

    def take_question(self, question: str, messages: list):
        question = clean_question(question, self.page.settings.max_question_chars)
        # The sources tab comes forward as the question is taken: its evidence shows there within a second. (Done
        # when the answer's first state arrived, it was missed when a quick answer's states came in one update.)
        return "", messages + [{"role": "user", "content": inline(question)}], question, gr.Tabs(selected="sources")

    def respond(self, question: str, conversation: dict, chosen: list[str] | None):
        """Streams one turn: evidence as soon as it is found, the draft, then the verified answer. The chat is
        drawn from the conversation every time, so a question the queue turned away leaves no trace."""
        if not conversation.get("id"):
            conversation = new_conversation()
        asked_with = history(conversation)
        turn = new_turn(question, chosen or None)
        conversation = with_turn(conversation, turn)
        yield chat_messages(conversation["turns"]), conversation
        draft = ""
        try:
            # Stop closes this generator; closing the stream with it releases the model at once.
            stream = self.assistant.stream(question, history=asked_with, sources=patterns(chosen))
            with closing(stream) as pieces:
                for item in pieces:
                    if isinstance(item, Evidence):
                        turn["evidence"] = _evidence_dict(item)
                    elif isinstance(item, Answer):
                        turn.update(status="answered", answer=item.to_dict(), evidence=None)
                        draft = ""
                    else:
                        draft += item
                        yield chat_messages(conversation["turns"][:-1] + [turn], draft), gr.skip()
                        continue
                    conversation = with_turn(conversation, turn)
                    yield chat_messages(conversation["turns"], draft), conversation
        except USER_ERRORS as exc:
            turn.update(status="error", error=str(exc))
            conversation = with_turn(conversation, turn)
            yield chat_messages(conversation["turns"]), conversation

    @staticmethod
    def mark_stopped(messages: list, conversation: dict):
        """The draft stays on screen marked as stopped; the turn is kept as stopped (its draft is not: it was
        never verified)."""
        text = _message_text(messages[-1]) if messages and messages[-1].get("role") == "assistant" else ""
        if CURSOR in text:
            messages[-1] = {"role": "assistant", "content": text.replace(CURSOR, STOPPED)}
        turns = conversation.get("turns") or []
        if not turns or turns[-1]["status"] != "pending":
            return messages, gr.skip()
        stopped = {**turns[-1], "status": "stopped"}
        return messages, {**conversation, "turns": [*turns[:-1], stopped]}

    @staticmethod
    def clear():
        """The bin icon starts a new conversation; the old one stays in the list."""
        return new_conversation()

    @staticmethod
    def pick_example(evt: gr.SelectData) -> str:
        return evt.value["text"]

    def rate(self, conversation: dict, evt: gr.LikeData, request: gr.Request):
        """A thumbs up or down is written at once; the comment box then opens for that answer."""
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        number = index // 2  # two messages per turn
        turns = conversation.get("turns") or []
        rating = FEEDBACK.get(evt.liked) if isinstance(evt.liked, bool) else None
        if number >= len(turns) or turn_answer(turns[number]) is None or rating is None:
            return gr.skip(), gr.skip(), gr.skip()
        conversation = copy.deepcopy(conversation)
        turn = conversation["turns"][number]
        self._record(conversation, number, rating, turn.get("comment", ""), request)
        return conversation, gr.Row(visible=True), number

    def add_comment(self, comment: str, conversation: dict, number: int | None, request: gr.Request):
        if number is None or number >= len(conversation.get("turns") or []):
            return gr.skip(), "", gr.Row(visible=False)
        conversation = copy.deepcopy(conversation)
        self._record(conversation, number, conversation["turns"][number]["rating"], comment.strip(), request)
        gr.Info("Thank you: noted with the answer.")
        return conversation, "", gr.Row(visible=False)

    def _record(self, conversation: dict, number: int, rating: str, comment: str, request: gr.Request) -> None:
        """One feedback row per answer (a later thumb or comment supersedes it), noted on the turn too."""
        turn = conversation["turns"][number]
        earlier = {**conversation, "turns": conversation["turns"][:number]}
        row = self.assistant.record_feedback(
            turn["question"], turn_answer(turn), rating, comment=comment, history=history(earlier),
            sources=turn["scope"], user=(request.username if request is not None else None) or "",
            id=turn.get("feedback_id") or None,
        )
        turn.update(rating=rating, comment=comment, feedback_id=row.id)

    def subscribe(self) -> None:
        self.page.subscribe(OPENED, self.show_conversation, [self.page.conversation], [self.chatbot])
        self.page.subscribe(INDEX_CHANGED, self.show_index, None, [self.chatbot, self.empty_upload])

    def wire(self) -> None:
        page = self.page
        answering = {"concurrency_id": "answer", **PRIVATE}
        taking = {"validator": self.check_question, "show_progress": "hidden", **PRIVATE}  # validators run in the queue
        take = (self.take_question, [self.question, self.chatbot],
                [self.question, self.chatbot, self.pending, page.tabs])
        respond = (self.respond, [self.pending, page.conversation, page.scope], [self.chatbot, page.conversation])
        asked = [trigger(*take, **taking).success(*respond, **answering)
                 for trigger in (self.question.submit, self.send.click)]
        picked = self.chatbot.example_select(self.pick_example, None, self.question, **QUICK)
        asked.append(picked.then(*take, **taking).success(*respond, **answering))
        page.publish(CHANGED, page.conversation)  # as the answer streams (the one queued event that changes it)
        stopped = self.stop.click(self.mark_stopped, [self.chatbot, page.conversation],
                                  [self.chatbot, page.conversation], cancels=asked, **QUICK)
        rated = self.chatbot.like(self.rate, page.conversation,
                                  [page.conversation, self.comment_row, self.rated_turn], **QUICK)
        commented = (self.add_comment, [self.comment, page.conversation, self.rated_turn],
                     [page.conversation, self.comment, self.comment_row])
        for changed in (stopped, rated, self.send_comment.click(*commented, **QUICK),
                        self.comment.submit(*commented, **QUICK)):
            page.publish(CHANGED, changed)
        page.publish(OPENED, self.chatbot.clear(self.clear, None, page.conversation, **QUICK))
