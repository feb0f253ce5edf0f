"""Reading a question: its focus (rarity-weighted), the names it mentions, the answer type it expects."""

from __future__ import annotations

import pytest

from assistant import questions


def test_rare_words_weigh_more_than_common_ones():
    focus = questions.focus("When did the Senkaku dispute begin?")
    assert focus["senkaku"] > focus["disput"] > focus["begin"]
    assert "when" not in focus and "did" not in focus and "the" not in focus


def test_coverage_counts_the_rare_words_missing():
    question = "What did Iwaya say about deterrence?"
    assert questions.coverage(question, "Iwaya told reporters it was significant from the perspective of "
                                        "deterrence.") == pytest.approx(1.0, abs=0.1)
    # the rare word missing costs most of the focus, the common one little
    assert questions.coverage(question, "Iwaya spoke to reporters.") < 0.7
    assert questions.coverage("What is it?", "anything") == 1.0  # no focus: nothing can be missing


@pytest.mark.parametrize("question, names", [
    ("What does Article 9 say about space?", ["Article", "9"]),
    ("Who led Issacs troops to Cyprus?", ["Issacs", "Cyprus"]),
    ("How many people lived in China in the 1300s?", ["China", "1300s"]),
    ("what is the treaty about?", []),
    ("What was Norman Cantor's theory about the IPCC’s role?", ["Norman", "Cantor", "IPCC"]),
    ("U.S. troops are based where in the U.K.?", ["U.S.", "U.K."]),
])
def test_names_are_capitalised_words_past_the_first_and_numbers(question, names):
    assert questions.names(question) == names


def test_a_name_is_found_across_accents_case_plurals_and_acronyms():
    assert questions.mentioned("Czerniakow", "the lake in Czerniaków")
    assert questions.mentioned("UN", "a resolution of the United Nations")
    assert questions.mentioned("22nd", "ranked 22 among cities")
    assert not questions.mentioned("Article 9", "under Article 5 of the treaty")
    assert questions.missing_names("What did Shinzo Abe say about Article 5?",
                                   ["Pompeo spoke of Article 5."]) == ["Shinzo", "Abe"]
    # a possessive or a dotted abbreviation in the question, the plain name in the text (the gate refused these)
    assert questions.missing_names("What was Norman Cantor's theory?", ["Norman Cantor argued it."]) == []
    assert questions.missing_names("What is the UN's treaty?", ["The United Nations treaty."]) == []
    assert questions.missing_names("What affects inequality in the U.S.?", ["In the United States, trade."]) == []
    assert questions.missing_names("What was Norman Cantor's theory?", ["Norman Mailer argued it."]) == ["Cantor"]


@pytest.mark.parametrize("question, kind", [
    ("Who is Japan's foreign minister?", "person"),
    ("When did China announce the zone?", "date"),
    ("In what year was it founded?", "year"),
    ("When was it founded?", "date"),
    ("When people take on debt, it leads to what?", ""),  # "when" as a conjunction asks no date
    ("When Channing eliminated Christianity in his plan what was allowed instead?", ""),
    ("How many ministers met?", "number"),
    ("What does Article 5 cover?", ""),
])
def test_answer_type(question, kind):
    assert questions.answer_type(question) == kind


@pytest.mark.parametrize("kind, answer, fit", [
    ("date", "19 April", 1), ("date", "the East China Sea", -1), ("number", "four", 1),
    ("number", "the ministers", -1), ("person", "Taro Kono", 1), ("person", "the emperor", 0), ("", "x", 0),
    ("year", "2013", 1), ("year", "the 19th century", 1), ("year", "the fifth", 1), ("year", "19 APR", -1),
    ("number", "thousands", 1),  # a day is not the year asked
    ("date", "every Tuesday morning before nine", 1), ("date", "every Tuesday", 1), ("date", "at dawn", 1),
    ("date", "each evening", 1),  # a time of the week or day is a when
])
def test_an_answer_fits_its_type(kind, answer, fit):
    assert questions.fits(kind, answer) == fit


def test_pairs_found_asks_that_the_questions_words_stand_together():
    question = "Which Normans joined Turkish forces?"
    assert questions.pairs_found(question, "Some Normans joined Turkish forces to aid them.") == 1.0
    assert questions.pairs_found(question, "Turkish forces met Normans who later joined.") < 1.0
    assert questions.pairs_found("Who won?", "anything") == 1.0  # no pair to look for


def test_rarest_missing_is_the_most_telling_word_absent():
    question = "Which country administers the Senkaku Islands?"
    assert questions.rarest_missing(question, "The country that administers the Senkaku Islands is Japan.") == 0.0
    without_verb = questions.rarest_missing(question, "China and Japan clash over the Senkaku Islands.")
    without_name = questions.rarest_missing(question, "Japan administers the islands.")
    assert 0.0 < without_verb < without_name <= 1.0


def test_a_typo_in_the_question_reads_as_the_texts_word():
    text = "The Schrodinger equation describes the physics of force, regarding a potential field."
    typed = "What equation currently decribes the physics of force?"
    assert questions.coverage(typed, text) == pytest.approx(questions.coverage(typed.replace("decribes",
                                                                                             "describes"), text))
    assert questions.rarest_missing(typed, text) < 0.5  # not read as a rare name the text lacks
    assert questions.pairs_found("What is the force called rgarding a potential field?", text) == 1.0
    assert questions.missing_names("Was Schrodingr right?", [text]) == []  # a misspelt name is still the name
    # a real word one letter from the text's is another word, not a typo ("north" is not "south")
    assert questions.rarest_missing("What lies north of the sea?", "What lies south of the sea?") > 0.0
    assert questions.missing_names("Who was Wilkins?", ["Wilkinson wrote it."]) == ["Wilkins"]


@pytest.mark.parametrize("a, b, slips", [("decribes", "describes", 1), ("teh", "the", 1), ("deyond", "beyond", 1),
                                          ("reformilate", "reformulate", 1), ("quanton", "quantum", 2),
                                          ("cat", "elephant", 3)])
def test_slips_counts_edits_and_swaps(a, b, slips):
    assert questions._slips(a, b) == slips


@pytest.mark.parametrize("question, text, said", [
    ("Which country was not hit by the embargo?", "The embargo hit the Netherlands.", '"not"'),
    ("Which country wasn't hit by the embargo?", "The embargo hit the Netherlands.", '"n\'t"'),
    ("What is the largest city?", "Lyon is the smallest city.", '"largest" and the evidence says "smallest"'),
    ("When did the war end?", "The war began in 1939.", '"end" and the evidence says "began"'),
    # a denial worded otherwise answers a question with "not"
    ("Which country was not badly hit by the embargo?", "The UK was relatively unaffected by it.", ""),
    ("Which engines have no pistons?", "The Wankel engine is a pistonless rotary engine.", ""),
    ("What is the largest city?", "Paris is the largest city, Lyon the smallest.", ""),  # the word itself is there
    ("How long is the river?", "The river is short.", ""),  # "how long" asks a length, not "long"
    ("Where does the East India Company trade?", "It trades in West Africa.", ""),  # a name, not a direction
])
def test_a_question_turned_around_from_its_text_is_told(question, text, said):
    opposed = questions.opposed(question, text)
    assert (said in opposed and opposed.startswith("it asks ")) if said else opposed == ""
