"""What a question is about and what kind of answer it expects, read from its words alone.

- ``focus``: the question's content words, each weighted by how rare it is in English (wordfreq's Zipf scale), so
  "Senkaku" or "cyberattack" count for more than "begin" or "country".
- ``names``: the names and numbers it mentions ("Article 9", "Kono", "1995"): if none of the retrieved text
  mentions one, the documents cannot be about the question's subject.
- A word English does not know ("decribes", "undestanding") is read as the text's word it is one slip of the keys
  from ("describes"): typed questions have typos, and a typo must not read as a rare name the text lacks.
- ``answer_type``: who -> a person, when -> a date, what year -> a year, how many -> a number, where that can be
  told.
- ``opposed``: whether a text says the opposite of the question: it asks what did "not" happen and the text denies
  nothing, or it asks for the "largest" and the text says only "smallest".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from wordfreq import zipf_frequency

# Words that shape a question rather than say what it is about.
_FRAME = frozenset(STOPWORDS_EN) | {
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "does", "did", "do", "has", "have", "had",
    "many", "much", "kind", "type", "name", "named", "called", "call", "one", "some", "other", "can", "could",
    "would", "should", "will", "may", "might", "s", "according", "said", "say", "says", "also", "yes", "no",
    "about", "regarding", "concerning", "mean", "meant",
}
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_PART = re.compile(r"[^'’\-]+")  # a word's parts: "U.S.-Japan" and "Kono's" are read part by part
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*(?:st|nd|rd|th|s)?$")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_MONTH_ABBREVIATIONS = {m[:3]: m for m in _MONTHS} | {"sept": "september"}
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
RARE_CAP = 5.0  # weight of a word wordfreq has never seen (names, coinages)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def fold(text: str) -> str:
    """Lower case without accents, so "Czerniaków" and "Czerniakow" are one word."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _norm(word: str) -> str:
    """"Apr" is "april", "19th" is "19", "three" is "3": as a reader would match them."""
    word = _NUMBER_WORDS.get(word) or _MONTH_ABBREVIATIONS.get(word, _ORDINAL.sub(r"\1", word))
    return _stemmer().stemWord(word)


def words(text: str) -> list[str]:
    """Folded words, hyphenated and apostrophe compounds split into their parts."""
    return [part.group() for w in _WORD.findall(fold(text)) for part in _PART.finditer(w)]


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, stem) of each word of ``text`` as ``stems`` reads it, at offsets of ``text`` itself."""
    return [(w.start() + part.start(), w.start() + part.end(), _norm(fold(part.group())))
            for w in _WORD.finditer(text) for part in _PART.finditer(w.group())]


def stems(text: str) -> set[str]:
    return {_norm(w) for w in words(text)}


@lru_cache(maxsize=65536)
def rarity(word: str) -> float:
    """How much a word says about a question's subject: 6 minus its Zipf frequency, in [0.2, RARE_CAP]."""
    if word.isdigit():
        return RARE_CAP
    return max(0.2, min(RARE_CAP, 6.0 - zipf_frequency(word, "en")))


TYPO_MIN = 5  # letters a word needs before a one-letter slip in it is read as a typo (shorter: too many neighbours)


@lru_cache(maxsize=65536)
def _unknown(word: str) -> bool:
    """A word English does not know, long enough to be a misspelling of one that is near it."""
    return len(word) >= TYPO_MIN and word.isalpha() and zipf_frequency(word, "en") == 0


@lru_cache(maxsize=65536)
def _slips(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b``, counted up to 3."""
    if abs(len(a) - len(b)) > 2:
        return 3
    before, row = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return min(row[-1], 3)


def respelt(word: str, text_words: set[str]) -> str:
    """The word of the text that an unknown word misspells (one slip, two in a word of 8+ letters), or ``word``."""
    if word in text_words or not _unknown(word):
        return word
    limit = 1 if len(word) < 8 else 2
    near = [(_slips(word, w), w) for w in text_words if abs(len(w) - len(word)) <= limit and w[:1].isalpha()]
    return min((n for n in near if n[0] <= limit), default=(0, word))[1]


def _asked(question: str, text: str) -> list[tuple[str, float]]:
    """(stem, weight) of each content word of the question, in order, a typo read as the text's word."""
    asked = [w for w in words(question) if w not in _FRAME]
    if any(_unknown(w) for w in asked):  # the text's words are read only when a word may be a typo
        text_words = set(words(text))
        asked = [respelt(w, text_words) for w in asked]
    return [(_norm(w), rarity(w)) for w in asked]


def focus(question: str, text: str = "") -> dict[str, float]:
    """Stem -> weight for each content word of the question (its typos read against ``text``)."""
    weights: dict[str, float] = {}
    for stem, weight in _asked(question, text):
        weights[stem] = max(weights.get(stem, 0.0), weight)
    return weights


def coverage(question: str, text: str) -> float:
    """Rarity-weighted share of the question's focus found in ``text`` (1.0 for a question with no focus)."""
    weights = focus(question, text)
    if not weights:
        return 1.0
    found = stems(text)
    return sum(w for s, w in weights.items() if s in found) / sum(weights.values())


def pairs_found(question: str, text: str) -> float:
    """Share of the question's adjacent content-word pairs that ``text`` also has together (at most one word
    between): a sentence with "Turkish forces" and "Normans" apart answers a question about neither's relation.
    1.0 when the question has no pair."""
    asked = [stem for stem, _ in _asked(question, text)]
    pairs = {(a, b) for a, b in zip(asked, asked[1:]) if a != b}
    if not pairs:
        return 1.0
    said = [_norm(w) for w in words(text)]
    near = set(zip(said, said[1:])) | set(zip(said, said[2:]))
    return sum(p in near or p[::-1] in near for p in pairs) / len(pairs)


def rarest_missing(question: str, text: str) -> float:
    """The rarity of the question's most telling word that ``text`` lacks, over RARE_CAP (0.0: none lacks): one
    missing name or term can make the question about something else, however much else matches."""
    found = stems(text)
    return max((w for s, w in focus(question, text).items() if s not in found), default=0.0) / RARE_CAP


_NAME_TOKEN = re.compile(r"(?:[A-Z]\.){2,}|" + _WORD.pattern)  # "U.S." is one name, not "U" and "S"
_POSSESSIVE = re.compile(r"['’]s$")


def names(question: str) -> list[str]:
    """Names and numbers the question mentions: capitalised words past its first word, dotted abbreviations, and
    numerals; a possessive is its name ("Cantor's" is "Cantor": the text may never say "Cantor's")."""
    found = []
    for i, token in enumerate(_NAME_TOKEN.findall(question)):
        capitalised = token[:1].isupper() and i > 0 and token.lower() not in _FRAME
        if capitalised or token.endswith(".") or _NUMBER.match(token):
            found.append(_POSSESSIVE.sub("", token))
    return found


def _acronym_in(acronym: str, text: str) -> bool:
    """"UN" in "... the United Nations ...": the initials of consecutive capitalised words."""
    letters = acronym.replace(".", "")
    if not (2 <= len(letters) <= 6 and letters.isupper()):
        return False
    pattern = r"\b" + r"\w*\W+(?:of\W+|the\W+|and\W+|for\W+)?".join(re.escape(c) for c in letters) + r"\w*"
    return re.search(pattern, text) is not None


def mentioned(name: str, text: str, said: set[str] | None = None, present: set[str] | None = None) -> bool:
    """Whether ``text`` mentions ``name`` (accents, case, plural, acronym and a typo aside); ``said`` and
    ``present`` are the text's words and stems when the caller has them."""
    said = said if said is not None else set(words(text))
    present = present if present is not None else {_norm(w) for w in said}
    return {_norm(respelt(w, said)) for w in words(name)} <= present or _acronym_in(name, text)


def missing_names(question: str, texts: list[str]) -> list[str]:
    """The question's names and numbers that none of ``texts`` mentions."""
    joined = "\n".join(texts)
    said = set(words(joined))
    present = {_norm(w) for w in said}
    return [n for n in names(question) if not mentioned(n, joined, said, present)]


_TYPES = (
    ("number", re.compile(r"\bhow (?:many|much|long|far|old|large|big|tall|high|deep|wide)\b|"
                          r"\bwhat (?:percentage|percent|number|amount|proportion|share|fraction)\b")),
    ("year", re.compile(r"\b(?:what|which) (?:year|century|decade)\b")),
    # "when" as the question's first word and its only question word: "When people take on debt, it leads to
    # what?" asks no date
    ("date", re.compile(r"^(?:since |until )?when\b(?![^?]*\b(?:what|which|who|whom|how|where)\b)|"
                        r"\b(?:what|which) (?:date|day|month)\b")),
    ("person", re.compile(r"^(?:who|whom)\b|\bwho (?:is|was|were|are)\b")),
)
_NUMERAL = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
                      r"fifty|hundreds?|thousands?|millions?|billions?|trillions?|dozens?|half|several|few)\b",
                      re.IGNORECASE)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DATE = re.compile(r"\d|\b(?:" + "|".join(_MONTHS + _WEEKDAYS) + r"|century|centuries|decade|era|age|period|reign|"
                   r"dynasty|war|spring|summer|autumn|fall|winter|today|tomorrow|yesterday|tonight|years?|months?|"
                   r"weeks?|days?|hours?|daily|weekly|monthly|yearly|annually|morning|afternoon|evening|night|"
                   r"noon|midnight|dawn|dusk|o'clock)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b\d{3,4}s?\b|\b(?:century|centuries|decade|BC|BCE|AD|CE|first|second|third|fourth|fifth|"
                   r"sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|\d{1,2}(?:st|nd|rd|th))\b", re.IGNORECASE)
_PROPER = re.compile(r"\b[A-Z][\w'’\-]*")


def answer_type(question: str) -> str:
    """"number", "year", "date", "person" or "" when the question does not say."""
    lowered = question.lower().strip()
    return next((kind for kind, pattern in _TYPES if pattern.search(lowered)), "")


def fits(kind: str, answer: str) -> int:
    """1 when the answer has the expected form, -1 when it plainly lacks it, 0 when that can't be told."""
    if kind == "number":
        return 1 if _NUMERAL.search(answer) else -1
    if kind == "year":
        return 1 if _YEAR.search(answer) else -1
    if kind == "date":
        return 1 if _DATE.search(answer) else -1
    if kind == "person":
        return 1 if _PROPER.search(answer) else 0  # "the emperor" or "farmers" can be right too
    return 0


def of_kind(question: str, text: str) -> bool:
    """Whether ``text`` (an answer or a quote) can be of the kind asked, where that can be told: one with no number in
    it answers no "how much", however close it is."""
    return fits(answer_type(question), text) >= 0


# A question can be the text's statement turned around: asked what did *not* happen, or for the "largest" where the
# text says "smallest". SQuAD 2.0's unanswerable questions are mostly written so (Rajpurkar et al. 2018: antonym
# 20 %, negation 9 %), the text matches them word for word but one, and the model answers them all the same.
_DENIAL = re.compile(r"\b(?:not|never|no|none|nor|neither|nobody|nothing|nowhere|cannot|without)\b|n['’]t\b",
                     re.IGNORECASE)
# Read generously in the text (a denial it words otherwise, "rather than", "unaffected", "pistonless", answers it):
# a question turned around is refused only when nothing in the text denies anything.
_DENYING = re.compile(_DENIAL.pattern + r"|\b(?:lack\w*|fail\w*|absen\w*|refus\w*|unable|instead|rather|despite|"
                      r"except\w*|prevent\w*|den(?:y|ied|ies)|reject\w*)\b", re.IGNORECASE)
_AFFIXED = re.compile(r"\b(?:un|non-?|dis)([a-z]{4,})\b|\b([a-z]{4,})less\b", re.IGNORECASE)


def _denies(text: str) -> bool:
    """Whether the text denies anything: a word of denial, or a word that is a known one negated ("unaffected",
    "pistonless"; not "United" or "district")."""
    return _DENYING.search(text) is not None or any(
        zipf_frequency((m.group(1) or m.group(2)).lower(), "en") >= 3.0 for m in _AFFIXED.finditer(text))


_OPPOSITES = (
    "first last|earliest latest|early late|earlier later|before after|largest smallest|biggest smallest|"
    "large small|larger smaller|big small|most least|more less|more fewer|highest lowest|higher lower|high low|"
    "maximum minimum|longest shortest|long short|increase decrease|increase reduce|rise fall|rose fell|gain lose|"
    "win lose|won lost|success failure|succeed fail|successful unsuccessful|major minor|majority minority|"
    "north south|east west|northern southern|eastern western|upper lower|inner outer|inside outside|"
    "internal external|import export|buy sell|start end|begin end|began end|begun end|open close|old new|"
    "oldest newest|young old|youngest oldest|strong weak|positive negative|accept reject|allow prohibit|"
    "legal illegal|possible impossible|likely unlikely|able unable|agree disagree|public private|rich poor|"
    "wealthy poor|heavy light|hot cold|warm cold|wet dry|same different|male female|men women|top bottom|"
    "above below|best worst|better worse|good bad|true false|ancient modern|domestic foreign|birth death|born died|"
    "deep shallow|fast slow|cheap expensive|common rare|include exclude|primary secondary|urban rural|wide narrow|"
    "thick thin|attack defend|offensive defensive|support oppose|friend enemy|ally enemy|victory defeat"
)
_QUESTION_FORM = re.compile(r"\bhow (?:long|high|large|big|old|far|deep|wide|tall|early|late|strong)\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def _opposites() -> dict[str, frozenset[str]]:
    pairs: dict[str, set[str]] = {}
    for pair in _OPPOSITES.split("|"):
        a, b = (_norm(w) for w in pair.split())
        pairs.setdefault(a, set()).add(b)
        pairs.setdefault(b, set()).add(a)
    return {w: frozenset(o) for w, o in pairs.items()}


@lru_cache(maxsize=65536)  # eval/calibrate.py replays the decision for every threshold pair of its grid search
def opposed(question: str, text: str) -> str:
    """How ``text`` says the opposite of what the question asks, or "": the question denies and the text denies
    nothing, or the question has a word the text lacks and the text has its opposite instead. A name ("East
    Timor") or a question's form ("how long") is not read as such a word."""
    asked = _QUESTION_FORM.sub(" ", question)
    denial = _DENIAL.search(asked)
    if denial and not _denies(text):
        return f'it asks "{denial.group().lower()}" and the evidence denies nothing'
    named = {w for name in names(asked) for w in words(name)}
    said = {stem: text[start:end] for start, end, stem in reversed(word_spans(text))}  # stem -> its first word
    question_stems = stems(asked)
    for word in words(asked):
        stem = _norm(word)
        if word in named or stem in said:
            continue
        instead = [said[o] for o in sorted(_opposites().get(stem, ())) if o in said and o not in question_stems]
        if instead:
            return f'it asks "{word}" and the evidence says "{instead[0]}"'
    return ""
