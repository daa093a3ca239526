"""Finding person names that a small NER model misses: names said in context, and names said again.

spaCy's small English model finds "John Smith" in "Am I speaking with John Smith?" but not "Emily" in
"Thanks, Emily.", the agent in "this is Marcus from Crestview", or anything in lower-case ASR text
("yes this is emily"). Two rules close those gaps (``redaction.PiiRedactor`` applies them):

- **Context**: the word after an identity phrase ("this is X", "my name is X", "am I speaking with X",
  "may I speak with X", "Mr. X", "is X there", "X speaking"...) is a name, in capitalised and in lower-case
  text. Capitalised text admits more phrases ("Thanks, X", "please ask X to", "a message for X"), because a
  capital letter in mid-sentence is itself evidence. Guards keep ordinary words: a candidate is never a stop
  word, a kinship word ("this is his wife") or an adjective, adverb or verb of the model's dictionary
  ("this is wrong"); a word followed, before the next stop word, by an organisation word ("this is
  Crestview Recovery Services", "this is crestview recovery") is a company, not a person, and is left as
  it is: the agent's company identifies no one.
- **Propagation**: every word of a name found anywhere in a transcript (by the model or by context) is
  replaced everywhere in that transcript, whole words, in any case ("Robert Brown" found once makes the
  later "Thanks, Robert." and "robert" go too). A name that is also an ordinary word ("Will", "May",
  "Grace", "Bill", "Brown") is replaced elsewhere only where it is capitalised in mid-sentence, so that
  "Bill" as a name leaves "your bill" alone.

Pure functions over text and word sets; the redactor passes in the model's stop words and dictionary, so
that importing this module loads nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Scores of the findings (spaCy's own PERSON findings score 0.85).
CAPITALISED_SCORE = 0.85
LOWER_CASE_SCORE = 0.6
PROPAGATED_SCORE = 0.8

_WORD = re.compile(r"(?<![\w'\-])[A-Za-z][A-Za-z'\-]*[A-Za-z]")
_HONORIFICS = r"mr|mrs|ms|miss|mx|dr"
_HONORIFIC = re.compile(rf"^(?:{_HONORIFICS})$", re.IGNORECASE)
#: Identity phrases whose next word is a name, in any case (the text before a candidate ends with one).
_IDENTITY = re.compile(
    r"\b(?:this\s+is|it'?s|it\s+is|i\s+am|i'?m|my\s+name\s+is|my\s+name'?s|name'?s|the\s+name\s+is"
    r"|(?:speaking|talking|speak|talk)\s+(?:with|to)|is\s+this|calling\s+for|looking\s+for|asking\s+for)"
    r",?\s+$",
    re.IGNORECASE,
)
_AFTER_HONORIFIC = re.compile(rf"\b(?:{_HONORIFICS})\.?\s+$", re.IGNORECASE)
#: Phrases before a capitalised name that only capitalised text may use.
_CAPITALISED_ONLY = re.compile(
    r"\b(?:thanks|thank\s+you|hi|hello|hey|dear|bye|goodbye|sorry|tell|ask|let|have|call|reach|know|with"
    r"|for|to|is\s+there\s+an?)[.,]?\s+$",
    re.IGNORECASE,
)
#: "is X there", "X speaking": the name comes before these words.
_AFTER = re.compile(r"^\s+(?:there|home|available|around|speaking)\b", re.IGNORECASE)
_BEFORE_AFTER = re.compile(r"(?:\bis|^|[.,!?:])\s*$", re.IGNORECASE)
_FOLLOWING = re.compile(r"(?:[ \t]+[A-Za-z&'\-]+)*")
#: Last words of an organisation's name: "this is Crestview Recovery Services" is not a person.
ORGANISATION_WORDS = frozenset(
    """recovery services service bank banking finance financial credit capital collections collection
    inc llc ltd limited corp corporation company co group associates partners solutions agency insurance
    mortgage loans loan lending funding utilities energy telecom health healthcare hospital clinic motors
    university college department office team support center centre""".split()
)
#: Words after an identity phrase that are not names, beyond stop words and the dictionary's adjectives,
#: adverbs and verbs: kinship, answers, common call vocabulary.
NOT_NAMES = frozenset(
    """wife husband mother father mom mum dad son daughter brother sister roommate friend neighbour
    neighbor partner boyfriend girlfriend uncle aunt cousin grandma grandpa grandmother grandfather
    nephew niece child kid kids baby family boss manager supervisor landlord tenant caregiver
    yes yeah yep yup nope ok okay sure hello hi hey thanks thank bye goodbye sorry uh um hmm oh ah
    sir madam maam ma'am lady gentleman guy person people man woman somebody someone
    harassment fraud scam spam joke nonsense matter business account balance payment money debt bill
    call number phone line message time day week month year today tomorrow tonight morning afternoon
    evening night moment minute second voicemail machine recording robot bot agent customer
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday""".split()
)
#: First names that are also ordinary English nouns: propagated only where capitalised in mid-sentence.
WORDLIKE_NAMES = frozenset(
    """bill will may june april august march grace hope faith joy rose lily ivy holly iris dawn summer
    autumn winter sky penny ruby amber crystal pearl violet jack frank rob pat sue don ray guy gene dean
    drew chase hunter art max jay sunny brown white black green gray grey young king long little rich cook
    baker page hill wood woods field rice price bell hall ward miles banks bush cash sterling star melody
    harmony destiny chip sandy mark bob""".split()
)


_CONTRACTION = re.compile(r"(?:n't|'re|'ve|'ll|'d|'m)$")
_FILLER = re.compile(r"^(?:u+h+|u+m+|h+m+|m+|e+r+m*|a+h+|o+h+|u+h+-?h+u+h+)$")
_INFLECTIONS = (
    ("ing", ""),
    ("ing", "e"),
    ("ed", ""),
    ("ed", "e"),
    ("ies", "y"),
    ("es", ""),
    ("s", ""),
    ("ly", ""),
)


def _bases(word: str) -> list[str]:
    """``word`` and the dictionary forms it may be inflected from ("calling" -> "call", "making" ->
    "make", "stopped" -> "stop"): the dictionary lists base forms only."""
    bases = [word]
    for suffix, replacement in _INFLECTIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            bases.append(stem + replacement)
            if len(stem) > 3 and stem[-1] == stem[-2]:  # "stopped", "running"
                bases.append(stem[:-1])
    return bases


@dataclass(frozen=True)
class Vocabulary:
    """The ordinary words (the model's stop words and its dictionary's adjectives, adverbs and verbs)."""

    stop_words: frozenset[str]
    dictionary: frozenset[str]

    def is_stop(self, word: str) -> bool:
        return word.lower() in self.stop_words

    def is_ordinary(self, word: str) -> bool:
        """A word that a name after an identity phrase is not ("wrong", "his", "wife", "yes", "calling",
        "isn't", "umm")."""
        lower = word.lower()
        if (
            lower in self.stop_words
            or lower in NOT_NAMES
            or _CONTRACTION.search(lower)
            or _FILLER.match(lower)
        ):
            return True
        return any(base in self.dictionary for base in _bases(lower))

    def is_wordlike(self, word: str) -> bool:
        """A name token that is also an ordinary word: replaced elsewhere only when capitalised."""
        lower = word.lower()
        return lower in self.stop_words or lower in WORDLIKE_NAMES or lower in self.dictionary


def _sentence_start(text: str, start: int) -> bool:
    before = text[max(0, start - 3) : start].rstrip(" \t\"'(")
    return not before or before[-1] in ".!?:\n"


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper() and not word.isupper()


def context_names(
    text: str, vocabulary: Vocabulary, regions: Sequence[tuple[int, int]]
) -> list[tuple[int, int, float]]:
    """``(start, end, score)`` of each word in ``regions`` that an identity phrase marks as a name, and of
    the words of the name that follow it ("this is Sarah Thompson", "is this ana martinez")."""
    found = []
    for lo, hi in regions:
        surname_of: float = 0.0  # the score of the name just before, while its next word may continue it
        for match in _WORD.finditer(text, lo, hi):
            word, (start, end) = match.group(), match.span()
            if word.lower().endswith("'s"):
                word, end = word[:-2], end - 2
            follows, surname_of = surname_of, 0.0
            if len(word) < 2 or _HONORIFIC.match(word) or vocabulary.is_stop(word):
                continue
            score = _context_score(text, lo, start, end, word, vocabulary)
            if not score and follows and text[found[-1][1] : start].strip() == "":
                score = _surname_score(text, start, word, vocabulary, follows)
            if score and not _is_organisation(text, end, word, vocabulary):
                found.append((start, end, score))
                surname_of = score if end == match.end() else 0.0  # "Emily's" ends the name
    return found


def _surname_score(text: str, start: int, word: str, vocabulary: Vocabulary, first: float) -> float:
    """The score of ``word`` right after a name found by context: capitalised after a capitalised name,
    or any word but an ordinary one after a lower-case name."""
    if first == CAPITALISED_SCORE:
        return CAPITALISED_SCORE if _is_capitalised(word) and word.lower() not in NOT_NAMES else 0.0
    return LOWER_CASE_SCORE if not vocabulary.is_ordinary(word) else 0.0


def _context_score(text: str, lo: int, start: int, end: int, word: str, vocabulary: Vocabulary) -> float:
    """The score of ``word`` as a name given what comes before and after it (0: not a name)."""
    before, after = text[max(lo, start - 40) : start], text[end : end + 20]
    capitalised = _is_capitalised(word) and not _sentence_start(text, start)
    if _AFTER_HONORIFIC.search(before):  # "Mr. Brown", "mrs brown": any word but a stop word
        return CAPITALISED_SCORE if capitalised else LOWER_CASE_SCORE
    identity = bool(_IDENTITY.search(before)) or (
        bool(_AFTER.match(after)) and bool(_BEFORE_AFTER.search(before))
    )
    if capitalised and word.lower() not in NOT_NAMES and (identity or _CAPITALISED_ONLY.search(before)):
        return CAPITALISED_SCORE
    if identity and not vocabulary.is_ordinary(word):
        return LOWER_CASE_SCORE
    return 0.0


def _is_organisation(text: str, end: int, word: str, vocabulary: Vocabulary) -> bool:
    """An organisation word, or the first of a run of words (up to the next stop word) that holds one:
    "Crestview Recovery Services", "crestview recovery". spaCy's own ORG label is not used: it calls
    "Marcus" in "this is Marcus from Crestview Recovery Services" an organisation."""
    if word.lower() in ORGANISATION_WORDS:
        return True
    for following in _FOLLOWING.match(text, end).group().split()[:3]:
        following = following.strip(".,!?;:'\"").lower()
        if not following or following in vocabulary.stop_words:
            return False
        if following in ORGANISATION_WORDS:
            return True
    return False


def name_words(names: Iterable[str], vocabulary: Vocabulary) -> set[str]:
    """The words of found names worth propagating: alphabetic, 2+ letters, no honorific or stop word."""
    words = set()
    for name in names:
        for word in re.findall(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]", name):
            word = word[:-2] if word.endswith("'s") else word
            if len(word) >= 2 and not _HONORIFIC.match(word) and not vocabulary.is_stop(word):
                words.add(word)
    return words


def propagate(
    text: str, words: Iterable[str], vocabulary: Vocabulary, regions: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Spans within ``regions`` where one of ``words`` is said again: whole words, any case; a word-like
    name (:meth:`Vocabulary.is_wordlike`) only where capitalised and not at the start of a sentence."""
    plain = sorted({w.lower() for w in words if not vocabulary.is_wordlike(w)})
    wordlike = sorted({w.lower() for w in words if vocabulary.is_wordlike(w)})
    spans = []
    if plain:
        pattern = re.compile(r"(?<![\w'])(?:" + "|".join(map(re.escape, plain)) + r")(?![\w])", re.IGNORECASE)
        for start, end in regions:
            spans += [m.span() for m in pattern.finditer(text, start, end)]
    if wordlike:
        pattern = re.compile(
            r"(?<![\w'])(?:" + "|".join(map(re.escape, wordlike)) + r")(?![\w])", re.IGNORECASE
        )
        for start, end in regions:
            spans += [
                m.span()
                for m in pattern.finditer(text, start, end)
                if _is_capitalised(m.group()) and not _sentence_start(text, m.start())
            ]
    return spans
