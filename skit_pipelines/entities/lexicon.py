"""Text folding, tokenising and the word tables the in-process parsers share.

Why hand-written tables here: voicebot transcripts are short, code-mixed (Hinglish, Tanglish) and often
romanised, which no maintained library covers: ``number-parser`` knows Devanagari Hindi and Spanish number
words but not ``paanch hazaar``, ``dedh`` or ``lakh``; ``dateparser`` knows month names in 200 locales but not
``agle somvar`` or ``parso``. The tables below hold only those gaps, for the languages our clients speak
(English, Hindi in both scripts, Tamil, Spanish); the libraries cover the rest.

All tables are merged across languages on purpose: a Hinglish caller says ``next somvar`` and ``do
thousand``, so the words of every language are understood whatever the turn's language is. Keys are stored
folded (see :func:`fold`), so a transcript matches whether or not the ASR kept accents, nuktas or
chandrabindus.
"""

from __future__ import annotations

import re
import unicodedata

_LATIN_ACCENTS = str.maketrans("áàâäãéèêëíìîïóòôöõúùûüñç", "aaaaaeeeeiiiiooooouuuunc")
_NUKTA = "\u093c"
_CHANDRABINDU, _ANUSVARA = "\u0901", "\u0902"
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\ufeff"))

CURRENCY_SYMBOLS = "₹$£€"
_KEEP = frozenset(CURRENCY_SYMBOLS + ".:")


def fold(text: str) -> str:
    """Lower-case, NFC, Latin accents dropped, Devanagari nukta dropped and chandrabindu → anusvara.

    ``"Mañana"`` → ``"manana"``, ``"हज़ार"`` → ``"हजार"``, ``"पाँच"`` → ``"पांच"``. Tamil and Devanagari vowel
    signs are kept (they are letters there, not accents). ``~`` (an annotation-tool artefact) is dropped.
    """
    text = unicodedata.normalize("NFC", str(text)).lower().translate(_LATIN_ACCENTS).translate(_ZERO_WIDTH)
    return text.replace(_NUKTA, "").replace(_CHANDRABINDU, _ANUSVARA).replace("~", " ")


def tokenize(text: str) -> list[str]:
    """Folded tokens: digits split from letters (``"5k"`` → ``5 k``), thousands commas removed (``5,000``),
    decimals and clock times kept (``2.5``, ``5:30``), currency symbols as their own tokens (``₹5000``)."""
    text = fold(text)
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)  # a.m. / p.m.
    text = re.sub(r"(?<=\d),(?=\d)", "", text)
    text = re.sub(rf"([{CURRENCY_SYMBOLS}])", r" \1 ", text)
    text = re.sub(r"(?<=\d)(?=[^\s\d.:,])|(?<=[^\s\d.:,])(?=\d)", " ", text)
    text = re.sub(r"(?<!\d)[.:]|[.:](?!\d)", " ", text)
    text = text.replace("'", "").replace("\u2019", "")  # o'clock → oclock
    # Punctuation and symbols become spaces; letters and combining vowel signs (Devanagari, Tamil) stay.
    text = "".join(" " if unicodedata.category(c)[0] in "PS" and c not in _KEEP else c for c in text)
    return text.split()


def folded_table(table: dict[str, object]) -> dict[str, object]:
    """A word table with folded keys; ``"a|b"`` keys list spelling variants of one word."""
    out: dict[str, object] = {}
    for key, value in table.items():
        for variant in key.split("|"):
            out[fold(variant)] = value
    return out


# --------------------------------------------------------------------------------------------------------
# Numbers (values the libraries lack: romanised Hindi, Tamil, fractions, Indian scales)
# --------------------------------------------------------------------------------------------------------

NUMBER_WORDS: dict[str, object] = folded_table(
    {
        # English (number-parser knows these too; kept here so English works without a language hint).
        "zero|oh|nil": 0,
        "one": 1,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "eight": 8,
        "nine": 9,
        "ten": 10,
        "eleven": 11,
        "twelve": 12,
        "thirteen": 13,
        "fourteen": 14,
        "fifteen": 15,
        "sixteen": 16,
        "seventeen": 17,
        "eighteen": 18,
        "nineteen": 19,
        "twenty": 20,
        "thirty": 30,
        "forty": 40,
        "fourty": 40,
        "fifty": 50,
        "sixty": 60,
        "seventy": 70,
        "eighty": 80,
        "ninety": 90,
        "half": 0.5,
        # Romanised Hindi.
        "shunya|shoonya|sifar|sunya": 0,
        "ek": 1,
        "do|doh": 2,
        "teen|tin": 3,
        "char|chaar": 4,
        "paanch|panch|paach|paanchh": 5,
        "chhe|chhah|chah|chheh|chhey|chhai": 6,
        "saat": 7,
        "aath|aat": 8,
        "nau": 9,
        "das|dus": 10,
        "gyarah|gyara|gyaarah": 11,
        "barah|bara|baarah": 12,
        "terah|tera": 13,
        "chaudah|chauda": 14,
        "pandrah|pandra": 15,
        "solah|sola": 16,
        "satrah|satra": 17,
        "atharah|athara": 18,
        "unnis|unees|unnees": 19,
        "bees|bis": 20,
        "pachchees|pachees|pachis": 25,
        "tees|tis": 30,
        "chalis|chaalis|chalees": 40,
        "pachas|pachaas|pachaas": 50,
        "saath": 60,
        "sattar|sattar": 70,
        "assi|assee": 80,
        "nabbe|nabbe|nabbey": 90,
        "dedh|dedhh|derh|डेढ": 1.5,
        "dhai|dhaai|adhai|ढाई": 2.5,
        "aadha|aadhi|adha|aadhe|आधा|आधी|आधे": 0.5,
        # Devanagari words number-parser spells differently.
        "छः|छे": 6,
        # Tamil (number-parser has no Tamil).
        "பூஜ்ஜியம்|பூஜ்யம்": 0,
        "ஒன்று|ஒன்னு|ஒரு": 1,
        "இரண்டு|ரெண்டு": 2,
        "மூன்று|மூணு": 3,
        "நான்கு|நாலு": 4,
        "ஐந்து|அஞ்சு": 5,
        "ஆறு": 6,
        "ஏழு": 7,
        "எட்டு": 8,
        "ஒன்பது": 9,
        "பத்து": 10,
        "இருபது": 20,
        "முப்பது": 30,
        "ஐம்பது": 50,
        "இருநூறு": 200,
        "முந்நூறு|முன்னூறு": 300,
        "நானூறு": 400,
        "ஐநூறு|ஐந்நூறு": 500,
        "இரண்டாயிரம்|ரெண்டாயிரம்": 2000,
        "மூவாயிரம்": 3000,
        "நாலாயிரம்|நான்காயிரம்": 4000,
        "ஐந்தாயிரம்|அஞ்சாயிரம்": 5000,
        "ஆறாயிரம்": 6000,
        "ஏழாயிரம்": 7000,
        "எட்டாயிரம்": 8000,
        "ஒன்பதாயிரம்": 9000,
        "பத்தாயிரம்": 10000,
        # Spanish articles (number-parser covers the number words).
        "un|una|uno": 1,
    }
)

#: "hundred" multiplies what precedes it and keeps counting; larger scales close a group.
HUNDRED_WORDS = frozenset(fold(w) for w in ("hundred", "sau", "सौ", "நூறு", "cien", "ciento"))
SCALE_WORDS: dict[str, object] = folded_table(
    {
        "thousand|k|hazaar|hazar|hajar|hajaar|hazzar|हजार|ஆயிரம்|mil": 1_000,
        "lakh|lakhs|lac|lacs|laakh|लाख|லட்சம்": 100_000,
        "crore|crores|cr|karod|karor|करोड|கோடி": 10_000_000,
        "million|millions|millon|millones": 1_000_000,
        "billion|billions": 1_000_000_000,
    }
)
#: Hindi quarter/half modifiers of the next number: saade teen = 3.5, sava do = 2.25, paune teen = 2.75.
NUMBER_MODIFIERS: dict[str, object] = folded_table(
    {
        "saade|sade|saadhe|साढे": 0.5,
        "sava|sawa|savaa|सवा": 0.25,
        "paune|pone|paune|पौने": -0.25,
    }
)
#: Words that may stand for "one" only before a unit or scale ("a hundred", "an hour", "ek saal").
ARTICLES = frozenset({"a", "an", "one", "ek", "un", "una", "uno", "ஒரு", "एक"})
NUMBER_FILLERS = frozenset(
    fold(w)
    for w in (
        "and",
        "aur",
        "or",
        "y",
        "only",
        "just",
        "sirf",
        "bas",
        "about",
        "around",
        "approximately",
        "approx",
        "roughly",
        "lagbhag",
        "karib",
        "takriban",
        "लगभग",
        "सिर्फ",
        "केवल",
        "की",
        "के",
        "ka",
        "ki",
        "ke",
        "no",
        "number",
        "num",
        "nos",
        "th",
        "st",
        "nd",
        "rd",
        "unos",
        "unas",
        "como",
    )
)

# --------------------------------------------------------------------------------------------------------
# Currencies
# --------------------------------------------------------------------------------------------------------

CURRENCY_WORDS: dict[str, object] = folded_table(
    {
        "₹|rs|inr|rupee|rupees|rupaye|rupaiye|rupiya|rupiye|rupaye|rupya|rupay|रुपये|रुपए|रुपया|रुपयों|रुपयो|"
        "ரூபாய்|ரூ": "INR",
        "$|usd|dollar|dollars|buck|bucks|dolar|dolares": "USD",
        "£|gbp|pound|pounds|quid|libra|libras": "GBP",
        "€|eur|euro|euros": "EUR",
    }
)
#: Duckling's own currency names for symbols (its ``unit`` field) mapped to ISO 4217.
DUCKLING_UNITS = {"$": "USD", "£": "GBP", "€": "EUR", "₹": "INR", "rs": "INR", "rs.": "INR"}

# --------------------------------------------------------------------------------------------------------
# Durations and calendar units
# --------------------------------------------------------------------------------------------------------

SECOND, MINUTE, HOUR, DAY, WEEK = 1, 60, 3600, 86_400, 604_800
#: Duckling's normalised lengths: a month is 30 days, a quarter 3 months, a year 365 days.
MONTH, QUARTER, YEAR = 2_592_000, 7_776_000, 31_536_000
UNIT_SECONDS = {
    "second": SECOND,
    "minute": MINUTE,
    "hour": HOUR,
    "day": DAY,
    "week": WEEK,
    "month": MONTH,
    "quarter": QUARTER,
    "year": YEAR,
}

UNIT_WORDS: dict[str, object] = folded_table(
    {
        "second|seconds|sec|secs|sekand|सेकंड|सेकेंड|நொடி|segundo|segundos": "second",
        "minute|minutes|min|mins|minat|minit|मिनट|நிமிடம்|நிமிஷம்|minuto|minutos": "minute",
        "hour|hours|hr|hrs|ghanta|ghante|ghanton|घंटा|घंटे|घंटों|மணிநேரம்|hora|horas": "hour",
        "day|days|din|dino|dinon|दिन|दिनों|நாள்|நாட்கள்|நாளு|dia|dias": "day",
        "week|weeks|wk|wks|hafta|hafte|hafton|saptah|हफ्ता|हफ्ते|हफ्तों|सप्ताह|வாரம்|வாரங்கள்|semana|semanas": "week",
        "fortnight|fortnights|quincena|quincenas": "fortnight",
        "month|months|mahina|mahine|mahino|mahinon|महीना|महीने|महीनों|மாசம்|மாதம்|மாதங்கள்|mes|meses": "month",
        "quarter|quarters|trimestre|trimestres": "quarter",
        "year|years|yr|yrs|saal|sal|saalon|varsh|baras|साल|सालों|वर्ष|बरस|வருடம்|வருஷம்|ஆண்டு|ano|anos": "year",
    }
)
UNIT_SECONDS["fortnight"] = 2 * WEEK
DURATION_FILLERS = frozenset(
    fold(w)
    for w in (
        "for",
        "over",
        "about",
        "around",
        "approximately",
        "approx",
        "roughly",
        "within",
        "in",
        "the",
        "next",
        "another",
        "more",
        "of",
        "ke",
        "liye",
        "mein",
        "me",
        "tak",
        "lagbhag",
        "karib",
        "takriban",
        "के",
        "लिए",
        "में",
        "तक",
        "लगभग",
        "por",
        "durante",
        "en",
        "unos",
        "unas",
        "como",
        "mas",
        "and",
        "aur",
        "y",
        "lo",
        "just",
        "only",
        "sirf",
        "बस",
        "सिर्फ",
        "ல",
    )
)

# --------------------------------------------------------------------------------------------------------
# Calendar words
# --------------------------------------------------------------------------------------------------------

WEEKDAY_WORDS: dict[str, object] = folded_table(
    {
        "monday|mon|somvar|somwar|somvaar|सोमवार|திங்கள்கிழமை|திங்கள்|திங்கட்கிழமை|lunes": 0,
        "tuesday|tue|tues|mangalvar|mangalwar|mangal|मंगलवार|செவ்வாய்க்கிழமை|செவ்வாய்|martes": 1,
        "wednesday|wed|budhvar|budhwar|budh|बुधवार|புதன்கிழமை|புதன்|miercoles": 2,
        "thursday|thu|thur|thurs|guruvar|guruwar|brihaspativar|veervar|virvar|गुरुवार|बृहस्पतिवार|"
        "வியாழக்கிழமை|வியாழன்|jueves": 3,
        "friday|fri|shukravar|shukrawar|shukra|शुक्रवार|வெள்ளிக்கிழமை|வெள்ளி|viernes": 4,
        "saturday|sat|shanivar|shaniwar|shani|शनिवार|சனிக்கிழமை|சனி|sabado": 5,
        "sunday|sun|ravivar|raviwar|itvar|itwar|etvar|रविवार|इतवार|ஞாயிற்றுக்கிழமை|ஞாயிறு|domingo": 6,
    }
)
MONTH_WORDS: dict[str, object] = folded_table(
    {
        "january|jan|enero|जनवरी|ஜனவரி": 1,
        "february|feb|febrero|फरवरी|பிப்ரவரி": 2,
        "march|mar|marzo|मार्च|மார்ச்": 3,
        "april|apr|abril|अप्रैल|ஏப்ரல்": 4,
        "may|mayo|मई|மே": 5,
        "june|jun|junio|जून|ஜூன்": 6,
        "july|jul|julio|जुलाई|ஜூலை": 7,
        "august|aug|agosto|अगस्त|ஆகஸ்ட்": 8,
        "september|sep|sept|septiembre|setiembre|सितंबर|सितम्बर|செப்டம்பர்": 9,
        "october|oct|octubre|अक्टूबर|அக்டோபர்": 10,
        "november|nov|noviembre|नवंबर|नवम्बर|நவம்பர்": 11,
        "december|dec|diciembre|दिसंबर|दिसम्बर|டிசம்பர்": 12,
    }
)
#: Day offsets from today. Hindi "kal"/"parso" mean both directions; like Duckling we read the future.
DAY_WORDS: dict[str, object] = folded_table(
    {
        "today|tonight|aaj|aj|आज|இன்று|இன்னைக்கு|இன்னிக்கு|hoy": 0,
        "tomorrow|tomorow|tommorow|tommorrow|tmrw|tmr|kal|कल|நாளை|நாளைக்கு|manana": 1,
        "parso|parson|parsho|परसों|परसो": 2,
        "narso|narson|नरसों": 3,
        "yesterday|நேற்று|நேத்து|ayer": -1,
        "anteayer|antier": -2,
    }
)
NOW_WORDS = frozenset(fold(w) for w in ("now", "abhi", "अभी", "இப்போ", "இப்போது", "ahora"))
#: Modifiers of a weekday or a calendar unit.
MODIFIER_WORDS: dict[str, object] = folded_table(
    {
        "next|coming|agle|agla|agli|अगले|अगला|अगली|அடுத்த|proximo|proxima": "next",
        "this|is|iss|इस|இந்த|este|esta": "this",
        "last|previous|past|pichle|pichhle|pichla|pichhla|pichli|pichhli"  # (implicit concatenation)
        "|पिछले|पिछला|पिछली|போன|கடந்த|pasado|pasada": "prev",
    }
)
#: After a number and a unit: "2 days ago", "do din pehle", "hace 2 dias" (before), "2 நாள் முன்பு".
AGO_WORDS = frozenset(
    fold(w)
    for w in (
        "ago",
        "back",
        "before",
        "pehle",
        "pahle",
        "pehele",
        "पहले",
        "முன்பு",
        "முன்னாடி",
        "hace",
    )
)
DATE_FILLERS = frozenset(
    fold(w)
    for w in (
        "on",
        "at",
        "the",
        "by",
        "of",
        "for",
        "around",
        "about",
        "in",
        "after",
        "later",
        "from",
        "hence",
        "within",
        "till",
        "until",
        "upto",
        "up",
        "to",
        "ko",
        "को",
        "tak",
        "तक",
        "ki",
        "ke",
        "ka",
        "की",
        "के",
        "का",
        "se",
        "से",
        "mein",
        "me",
        "में",
        "baad",
        "bad",
        "बाद",
        "el",
        "la",
        "las",
        "los",
        "de",
        "del",
        "a",
        "para",
        "por",
        "en",
        "dentro",
        "tarikh",
        "tareekh",
        "tarik",
        "तारीख",
        "தேதி",
        "date",
        "அன்று",
        "அன்னைக்கு",
        "கழித்து",
        "அப்புறம்",
        "ல",
        "th",
        "st",
        "nd",
        "rd",
        "approximately",
        "approx",
        "roughly",
        "como",
        "sobre",
        "lagbhag",
        "karib",
        "takriban",
        "लगभग",
        "தோராயமா",
    )
)
