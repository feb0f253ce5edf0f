"""The answer decision with scripted drafts: the model is what a scripted chat model isolates here; the passages,
the embedder and the calibrated decision are real. Each test names the failure it guards against (issue 10)."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant import Answer, Assistant, Evidence, answering, questions
from assistant.citations import concise, verbatim
from assistant.documents import load_file
from assistant.drafts import Draft, parse_draft
from assistant.evidence import Sentence, split_sentences
from assistant.types import Passage

from .conftest import SEED

DEFEND = "The United States is obligated under Article 5 to help Japan defend its territories"


def exact(answer: Answer) -> bool:
    text = load_file(SEED).text
    return all(text[c.start:c.end] == c.quote for c in answer.citations)


def scripted(seed_assistant, *replies: str) -> Assistant:
    return Assistant(seed_assistant.settings, chat_model=FakeListChatModel(responses=list(replies)))


# 1. Right drafts thrown away: a short right answer adds only words of its quote, so it is kept.
@pytest.mark.parametrize("question, reply, expected", [
    ("Who is Japan's defense minister?", "[1] Takeshi Iwaya", "Iwaya"),
    ("On what date did the officials say a cyberattack could be an armed attack?", "[1] 19 APR", "19 APR"),
    ("In which new domains are countries pursuing superiority?",
     "[1] space and cyber and electromagnetic spectrum", "electromagnetic spectrum"),
])
def test_a_short_right_answer_is_kept_with_the_sentence_it_comes_from(seed_assistant, question, reply, expected):
    result = scripted(seed_assistant, reply).answer(question)
    assert not result.refused, result.decision
    assert result.short_answer == reply.split("] ", 1)[1]
    assert result.text.startswith(f"{result.short_answer} [1].")
    assert any(expected in c.quote for c in result.citations) and exact(result)


# What users see, and SQuAD scores, is the cited text: a short answer is shown in its quote's own words.
@pytest.mark.parametrize("short, quote, shown", [
    ("5", "a coup involving five princes", "five"),
    ("6 to 9 percent", "it comprises six to nine percent of GDP", "six to nine percent"),
    ("radicalized the movement", "it helped radicalize the movement.", "radicalize the movement"),
    ("$5 million", "it cost $5 million", "$5 million"),  # already verbatim: kept whole, sign and all
    ("19 APR", "on April 19", "19 APR"),  # not the quote's words in that order: as written
])
def test_a_short_answer_is_shown_in_its_quotes_words(short, quote, shown):
    assert verbatim(short, [quote]) == shown


# The short answer leads with what the question did not already say; its quotes still hold every word.
@pytest.mark.parametrize("short, question, shown", [
    ("violence against the government", "What action was directed against the government?", "violence"),
    ("perpendicular to the velocity vector", "How do the forces act in relation to vectors of velocity?",
     "perpendicular"),
    ("mass and force are fixed", "What are the units of mass and force?", "fixed"),
    ("By adding pulleys", "What can increase the tension?", "adding pulleys"),
    ("hospitals and clinics", "Where did clinics begin?", "hospitals and clinics"),  # cut only at a preposition
    ("the applied force", "What is the force called?", "applied force"),  # never "applied"
    ("in the cyber domain, space and the land", "In which domains?", "cyber domain, space and the land"),
    ("Harvard Library System", "What is the largest library system?", "Harvard Library System"),  # a name, whole
    ("The Institute of Oncology", "Which institution is an oncology institute?", "The Institute of Oncology"),
    ("1,435 mm (4 ft 8 1⁄2 in) of gauge", "To what gauge were lines changed?", "1,435 mm (4 ft 8 1⁄2 in)"),
    ("Article 5", "What does Article 5 cover?", "Article 5"),  # nothing new: as written, not cut to nothing
])
def test_a_short_answer_leads_with_what_the_question_did_not_say(short, question, shown):
    assert concise(short, question) == shown


def test_a_kept_answer_leads_with_what_the_question_did_not_say(seed_assistant):
    question = "What did the officials say a cyberattack could be regarded as under the security treaty?"
    result = scripted(seed_assistant, "[1] an armed attack under the security treaty").answer(question)
    assert not result.refused and result.short_answer == "armed attack", result.decision
    assert result.text.startswith("armed attack [1].") and exact(result)


def test_a_kept_answer_reads_as_its_quote_does(seed_assistant):
    result = scripted(seed_assistant, "[1] taro kono").answer("Who is Japan's foreign minister?")
    assert not result.refused and result.short_answer == "Taro Kono" and result.text.startswith("Taro Kono [1].")
    assert result.decision["draft"] == "taro kono"  # the model's own words stay on record


AFFIRMED = ("international law applies in cyberspace and that a cyberattack could, in certain circumstances, "
            "constitute an armed attack under Article 5 of the U.S.-Japan Security Treaty")


# A kept draft of five words or more is read again from the sentence it rests on alone; a shorter one stands.
@pytest.mark.parametrize("draft, reply, short", [
    (AFFIRMED, "[1] international law applies in cyberspace", "international law applies in cyberspace"),
    (AFFIRMED, "NONE", AFFIRMED),  # nothing read from the sentence: the draft stands
    ("international law applies in cyberspace", "[1] applies in cyberspace", "applies in cyberspace"),  # 5 words
    ("law applies in cyberspace", "[1] cyberspace", "law applies in cyberspace"),
])
def test_a_kept_answer_of_five_words_or_more_is_read_again_from_its_sentence(seed_assistant, draft, reply, short):
    question = "What did the two countries affirm about international law?"
    passages = seed_assistant.retrieve(question)
    evidence = answering.select_evidence(question, passages, seed_assistant.vectors)
    read_from = []

    def read(top):  # the model's reply, scripted, to the answer prompt given only the sentences the draft rests on
        read_from.append([e.sentence.text for e in top])
        return parse_draft(reply, len(top))

    result = answering.decide(question, passages, evidence, Draft(draft, [], False, p_decline=0.1), "scripted",
                              lambda *_: 1.0, read)
    assert result.decision["kept"] == "answer" and result.short_answer == short and exact(result)
    assert result.text.startswith(f"{short} [1].") and result.decision["draft"] == draft
    long = len(draft.split()) >= answering.LONG_ANSWER_WORDS  # a short draft is not asked again
    assert read_from == ([result.decision["support"]] if long else [])


def test_an_answer_citing_the_wrong_sentence_is_attributed_to_the_one_that_grounds_it(seed_assistant):
    result = scripted(seed_assistant, "[3] Taro Kono").answer("Who is Japan's foreign minister?")
    assert not result.refused and all("Taro Kono" in c.quote for c in result.citations) and exact(result)


def test_an_answer_rests_on_the_sentence_that_grounds_all_of_it_not_a_cited_one_that_grounds_part():
    """"Japan Defense Minister [2]": [2] has "Japan" and "defense", enough to ground it alone, but [1] has all three
    words; the answer rests on [1], whose neighbours also name the person asked about."""
    texts = ["Pompeo met Japan Defense Minister Takeshi Iwaya.",
             "Mutual defense matters as China and Japan clash over the islands."]
    evidence = [answering.Scored(Sentence(0, t, 0, len(t)), 0.5, 0.5, 0.5) for t in texts]
    for cited, rests_on in (([1], [0]), ([0], [0]), ([], [0])):
        draft = Draft("Japan Defense Minister", cited, declined=False)
        assert answering.support(draft, "Who is Takeshi Iwaya?", evidence) == rests_on
    partial = Draft("Japan defense", [1], declined=False)  # both ground it fully: the cited one is kept
    assert answering.support(partial, "Who is Takeshi Iwaya?", evidence) == [1]


def test_of_sentences_that_ground_an_answer_alike_it_rests_on_the_one_about_the_question():
    """"space and cyber [2]": both sentences name space and cyber, but only [1] is about Iwaya, who was asked
    about; the answer's signals must read that one."""
    question = "Which new domains did Iwaya name?"
    texts = ["Iwaya said rivals seek superiority in new domains such as space and cyber.",
             "Shanahan spoke of capability in the cyber and space domain."]
    evidence = [answering.Scored(Sentence(0, t, 0, len(t)), 0.5, 0.5, questions.coverage(question, t))
                for t in texts]
    assert answering.support(Draft("space and cyber", [1], declined=False), question, evidence) == [0]


# 2. Off-target sentences: an answer the evidence does not ground is never shown.
def test_an_answer_from_the_models_memory_is_refused(seed_assistant):
    result = scripted(seed_assistant, "[1] 1960").answer("When was the U.S.-Japan Security Treaty signed?")
    assert result.refused and "1960" not in result.text and result.unsupported == ["1960"]


def test_an_answer_that_only_repeats_the_question_is_not_kept(seed_assistant):
    question = "Under what conditions could a cyberattack count as an armed attack under Article 5?"
    result = scripted(seed_assistant, "[1] Article 5").answer(question)
    assert result.short_answer == "" and result.decision["support"] == [], result.decision


def test_an_answer_not_of_the_kind_asked_is_not_kept(seed_assistant):
    """"19 APR" is grounded, and a date, but the question asks for a year the article never gives."""
    result = scripted(seed_assistant, "[1] 19 APR").answer("In what year did the officials say a cyberattack could "
                                                          "be an armed attack?")
    assert result.short_answer == "" and result.decision["reason"] in ("the answer is not a year, as asked",
                                                                      "the evidence holds no year, as asked")
    assert result.decision["support"] == [], result.decision


# SQuAD 2.0's unanswerable questions are mostly answerable ones turned around: a "not" put in, a word swapped for its
# opposite. The rest of the sentence still matches, the model answers, and its check says yes.
@pytest.mark.parametrize("question, turned, reply", [
    ("Who is Japan's foreign minister?", "Who is not Japan's foreign minister?", "Taro Kono"),
    ("In which new domains are countries pursuing superiority?",
     "In which old domains are countries pursuing superiority?", "space and cyber and electromagnetic spectrum"),
])
def test_an_answer_whose_quote_says_the_opposite_of_the_question_is_refused(seed_assistant, question, turned, reply):
    for asked in (question, turned):
        passages = seed_assistant.retrieve(asked)
        evidence = answering.select_evidence(asked, passages, seed_assistant.vectors)
        calls = []
        result = answering.decide(asked, passages, evidence, Draft(reply, [], False, p_decline=0.1), "scripted",
                                  lambda *args: calls.append(args) or 1.0)
        assert result.decision["support"], result.decision  # grounded either way
        if asked == question:
            assert not result.refused and result.short_answer == reply, result.decision
        else:
            assert result.refused and result.decision["reason"].startswith("the evidence says otherwise: it asks")
            assert calls == [], "no check asked: its yes cannot make the quote say the opposite"


# 3. A subject the documents never mention: refused before any model is asked.
@pytest.mark.parametrize("question, missing", [
    ("What did Shinzo Abe say about Article 5?", "Shinzo, Abe"),
    ("What does Article 9 of the treaty say about cyberattacks?", "9"),
])
def test_a_question_about_something_no_passage_mentions_is_refused(seed_assistant, question, missing):
    model = FakeListChatModel(responses=["[1] the United States is obligated to help Japan defend its territories"])
    result = Assistant(seed_assistant.settings, chat_model=model).answer(question)
    assert result.refused and result.decision["reason"] == f"no retrieved passage mentions {missing}"
    assert model.i == 0, "the model was not asked"


# 4. Declines on answerable questions: strong evidence still answers, when the model's check of it agrees.
def test_a_hesitant_decline_with_strong_evidence_is_answered_from_it(seed_assistant):
    question = "What is the United States obligated to do under Article 5?"
    passages = seed_assistant.retrieve(question)
    evidence = answering.select_evidence(question, passages, seed_assistant.vectors)
    asked = []

    def check(*args):  # the model's yes/no check, scripted: it says the best evidence answers the question
        asked.append(args)
        return 0.9

    hesitant = Draft("", [], True, p_decline=0.1)
    result = answering.decide(question, passages, evidence, hesitant, "scripted", check)
    assert not result.refused and result.decision["kept"] == "evidence"
    assert DEFEND in result.citations[0].quote and exact(result)
    assert asked == [(question, result.decision["top"], result.decision["top"])]
    # the same evidence, checked "no": SQuAD 2.0's unanswerable questions have evidence this close
    doubted = answering.decide(question, passages, evidence, hesitant, "scripted", lambda *_: 0.3)
    assert doubted.refused and doubted.decision["p_evidence"] < answering.FALLBACK_THRESHOLD


# The best evidence shown leads with a short answer: the model's, read from that evidence alone, when it grounds it.
@pytest.mark.parametrize("reply, short", [
    ("[1] help Japan defend its territories", "help Japan defend its territories"),
    ("[1] defend Taiwan", ""),  # Taiwan is not in the sentence: the quote is shown alone
    ("NONE", ""),
])
def test_the_best_evidence_shown_leads_with_the_models_reading_of_it(seed_assistant, reply, short):
    question = "What is the United States obligated to do under Article 5?"
    passages = seed_assistant.retrieve(question)
    evidence = answering.select_evidence(question, passages, seed_assistant.vectors)
    read_from = []

    def read(top):  # the model's reply, scripted, to the answer prompt given only the best evidence
        read_from.append([e.sentence for e in top])
        return parse_draft(reply, len(top))

    result = answering.decide(question, passages, evidence, Draft("", [], True, p_decline=0.1), "scripted",
                              lambda *_: 0.9, read)
    assert result.decision["kept"] == "evidence" and result.short_answer == short and exact(result)
    assert read_from == [[evidence[i].sentence for i in answering.best(evidence)]]
    assert result.text.startswith(f"{short} [1].\n\n\u201c" if short else "\u201c")


@pytest.mark.parametrize("reply, short", [("[1] 2013", "2013"), ("[1] the Diaoyu Islands", "")])
def test_the_models_reading_of_the_evidence_shown_must_be_of_the_kind_asked(seed_assistant, reply, short):
    """A place to "when", though its quote holds it, leads nothing: the quote is shown alone."""
    question = "When did China announce an air defense identification zone?"
    passages = seed_assistant.retrieve(question)
    evidence = answering.select_evidence(question, passages, seed_assistant.vectors)
    result = answering.decide(question, passages, evidence, Draft("", [], True, p_decline=0.1), "scripted",
                              lambda *_: 0.9, lambda top: parse_draft(reply, len(top)))
    assert result.decision["kept"] == "evidence" and "2013" in result.decision["top"]
    assert result.short_answer == short and exact(result)


@pytest.mark.parametrize("question, short, asked", [
    # in its quote, but the quote holds little of what is asked: refused whatever the check says
    ("What was the weather like during the meeting?", "crossdomain capability building", False),
    ("Who is Japan's defense minister?", "Takeshi Iwaya", True),  # the check decides
])
def test_an_answer_is_checked_only_when_the_check_can_change_the_decision(seed_assistant, question, short, asked):
    """The check costs a second of the model's time: not spent on a grounded answer kept or refused whatever it
    says."""
    passages = seed_assistant.retrieve(question)
    evidence = answering.select_evidence(question, passages, seed_assistant.vectors)
    calls = []
    result = answering.decide(question, passages, evidence, Draft(short, [], False, p_decline=0.1), "scripted",
                              lambda *args: calls.append(args) or 1.0)
    signals = result.decision["signals"]
    assert signals["grounded"] and bool(calls) == asked
    # the report can tell a check asked from one left at its prior, and shows what the model read
    assert result.decision["asked"] == (["check"] if asked else [])
    assert result.decision["evidence"] == [e.sentence.text for e in evidence]
    yes, no = (answering.probability(answering.KEEP, {**signals, "check": v}) for v in (1.0, 0.0))
    if asked:
        assert calls[0][:2] == (question, short) and not result.refused
        assert no < answering.KEEP_THRESHOLD <= yes
    else:
        assert result.decision["kept"] != "answer" and yes < answering.KEEP_THRESHOLD


def test_the_best_evidence_is_checked_only_when_the_check_can_change_the_decision(seed_assistant):
    """The check costs a second of the model's time: not spent on evidence refused or shown whatever it says."""
    question = "What is the capital of France?"  # on no topic of the article: refused, whatever the check says
    passages = seed_assistant.retrieve(question)
    evidence = answering.select_evidence(question, passages, seed_assistant.vectors)
    asked = []
    result = answering.decide(question, passages, evidence, Draft("", [], True, p_decline=0.9), "scripted",
                              lambda *args: asked.append(args) or 1.0)
    assert result.refused and not asked and result.decision["asked"] == []
    assert answering.probability(answering.FALLBACK, {**result.decision["signals"], "top_check": 1.0}) < \
        answering.FALLBACK_THRESHOLD


def test_evidence_comes_first_then_the_draft_then_the_answer(seed_assistant):
    items = list(scripted(seed_assistant, "[1] help Japan defend its territories").stream("What does Article 5 cover?"))
    kinds = [type(i).__name__ for i in items]
    assert kinds[0] == "Evidence" and kinds[-1] == "Answer" and set(kinds[1:-1]) == {"str"} and len(kinds) > 4
    evidence, final = items[0], items[-1]
    assert any(DEFEND in c.quote for c in evidence.citations) and exact(evidence)
    assert final.timings["evidence"] < final.timings["first_token"] <= final.timings["total"]
    assert not final.refused and final.short_answer == "help Japan defend its territories"


def test_the_extractive_backend_answers_with_its_best_evidence(seed_assistant):
    items = list(seed_assistant.stream("What does Article 5 cover?"))
    assert isinstance(items[0], Evidence) and isinstance(items[-1], Answer)
    final = items[-1]
    assert not final.refused and final.short_answer == "" and final.decision["kept"] == "evidence"
    assert DEFEND in final.citations[0].quote and final.text.startswith("\u201c") and exact(final)


def test_the_best_evidence_shown_alone_keeps_the_sentence_that_says_what_its_it_is():
    """"Its main shaft is 300 metres deep." ranks first, and the sentence before it is brought in (and put first) to
    say what "its" is; shown as the answer, the evidence is both sentences, not just the one brought in."""
    text = "The Santa Rita mine produced copper until 1971. Its main shaft is 300 metres deep."
    passage = Passage(chunk_id="c", source="mine.txt", text=text, start=0, end=len(text), relevance=0.8)
    spans = split_sentences(text)
    evidence = [answering.Scored(Sentence(0, text[s:e], s, e), score, 0.8, 0.8)
                for (s, e), score in zip(spans, (0.9, 1.6))]
    assert answering.best(evidence) == [0, 1]
    result = answering.decide("How deep is the main shaft of the Santa Rita mine?", [passage], evidence, None,
                              "extractive")
    assert not result.refused and "300 metres deep" in result.text
    assert [c.quote for c in result.citations] == [text[s:e] for s, e in spans]


def test_evidence_with_no_number_in_it_is_no_answer_to_how_much(seed_assistant):
    """The sentence about how much Japan spends is close to the question in every way but holds no amount: shown as
    the answer, it would answer a question the article does not (the default model declines here)."""
    question = "How much money does Japan spend to support U.S. military personnel?"
    passages = seed_assistant.retrieve(question)
    evidence = answering.select_evidence(question, passages, seed_assistant.vectors)
    assert "how much money Japan spends" in evidence[0].sentence.text
    result = answering.decide(question, passages, evidence, Draft("", [], True, p_decline=0.1), "scripted")
    assert result.refused and result.decision["reason"] == "the evidence holds no number, as asked", result.decision
    assert result.decision["p_evidence"] >= answering.FALLBACK_THRESHOLD  # close enough to be shown, but no answer
