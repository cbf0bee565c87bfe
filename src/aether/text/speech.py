"""The text as a voice should say it: numbers, dates, money, units and abbreviations written out.

`speech_text(text, language=..., lexicon=...)` is what the speech engine gets; the transcript keeps the
text as written. First the show's pronunciation lexicon (whole words, case-sensitive, longest entry
first, `text` replaced by `say`); then, for English:

* dates: "2026-12-03", "3 Dec 2026", "December 3, 2026", "3 December" -> "December third, twenty twenty-six";
* times: "10:30" -> "ten thirty", "9:05" -> "nine oh five", "7:00" -> "seven o'clock";
* money: "$4.5 million" -> "four point five million dollars", "€20" -> "twenty euros", "£3.50" -> "three
  pounds fifty", "¥100" -> "one hundred yen";
* percentages ("3.5%" -> "three point five percent"), ranges ("2020-2024" -> "... to ..."), ordinals
  ("21st" -> "twenty-first"), decades ("1990s" -> "nineteen nineties");
* years: a four-digit number from 1100 to 2099 is read as a year ("1999" -> "nineteen ninety-nine",
  "2026" -> "twenty twenty-six", "2005" -> "two thousand five") unless a unit or a plural noun follows
  ("1500 people" stays a count);
* numbers: "1,250" -> "one thousand two hundred fifty", "3.5" -> "three point five", "-4" -> "minus four";
* units after a number ("5 km", "12kWh", "20 °C"), and abbreviations: "e.g.", "i.e.", "etc.", "vs.",
  "approx.", "Dr.", "Mr.", "Mrs.", "Prof.", "No. 5", "&", and dotted initials ("U.S." -> "U S");
  capitalised acronyms ("AI", "NASA") are left for the voice.

Other languages get the lexicon only; their numbers pass through unchanged (the voice reads them). Pure
Python, no dependency: the English number speller is here (`cardinal`, `ordinal`, `year`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_MONTH_INDEX = {m.lower(): i for i, m in enumerate(MONTHS)} | {m[:3].lower(): i for i, m in enumerate(MONTHS)}
_MONTH_INDEX["sept"] = 8
_MONTH = (
    r"(?P<month>(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?)(?!\w))"
)
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents")}
_CURRENCIES |= {"£": ("pound", "pounds", "penny", "pence"), "¥": ("yen", "yen", "", "")}
_CURRENCY_CODES = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_SCALE_WORDS = {"thousand": "thousand", "million": "million", "billion": "billion", "trillion": "trillion"}
_SCALE_WORDS |= {"k": "thousand", "m": "million", "bn": "billion", "tn": "trillion"}
UNITS = {
    "km": ("kilometre", "kilometres"),
    "m": ("metre", "metres"),
    "cm": ("centimetre", "centimetres"),
    "mm": ("millimetre", "millimetres"),
    "kg": ("kilogram", "kilograms"),
    "g": ("gram", "grams"),
    "t": ("tonne", "tonnes"),
    "mi": ("mile", "miles"),
    "mph": ("mile per hour", "miles per hour"),
    "km/h": ("kilometre per hour", "kilometres per hour"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "MWh": ("megawatt hour", "megawatt hours"),
    "GWh": ("gigawatt hour", "gigawatt hours"),
    "W": ("watt", "watts"),
    "kW": ("kilowatt", "kilowatts"),
    "MW": ("megawatt", "megawatts"),
    "GW": ("gigawatt", "gigawatts"),
    "V": ("volt", "volts"),
    "Hz": ("hertz", "hertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "KB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "ms": ("millisecond", "milliseconds"),
    "s": ("second", "seconds"),
    "h": ("hour", "hours"),
    "min": ("minute", "minutes"),
    "l": ("litre", "litres"),
    "ml": ("millilitre", "millilitres"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
}
ABBREVIATIONS = (
    (r"\be\.g\.", "for example"),
    (r"\bi\.e\.", "that is"),
    (r"\betc\.", "et cetera"),
    (r"\bvs\.?(?=\s)", "versus"),
    (r"\bapprox\.", "approximately"),
    (r"\bDr\.(?=\s+[A-Z])", "Doctor"),
    (r"\bMr\.(?=\s)", "Mister"),
    (r"\bMrs\.(?=\s)", "Missus"),
    (r"\bMs\.(?=\s)", "Miz"),
    (r"\bProf\.(?=\s)", "Professor"),
    (r"\bSt\.(?=\s+[A-Z])", "Saint"),
    (r"\bNo\.(?=\s*\d)", "number"),
    (r"\s&\s", " and "),
)
_YEAR_CUES = frozenset(
    [
        "in",
        "since",
        "by",
        "from",
        "until",
        "till",
        "of",
        "year",
        "before",
        "after",
        "around",
        "circa",
        "during",
        "to",
        "and",
        "or",
        "between",
    ]
)


def cardinal(n: int) -> str:
    """An integer in English words: 1250 -> "one thousand two hundred fifty", -4 -> "minus four"."""
    if n < 0:
        return f"minus {cardinal(-n)}"
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {cardinal(rest)}" if rest else "")
    for size, name in _SCALES:
        if n >= size:
            if n >= size * 1000 and size == _SCALES[0][0]:
                return " ".join(_ONES[int(d)] for d in str(n))  # beyond the trillions: digit by digit
            high, rest = divmod(n, size)
            return f"{cardinal(high)} {name}" + (f" {cardinal(rest)}" if rest else "")
    raise AssertionError("unreachable")


def ordinal(n: int) -> str:
    """21 -> "twenty-first", 100 -> "one hundredth"."""
    words = cardinal(n)
    head, sep, last = words.rpartition("-") if "-" in words.split()[-1] else words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{last}"


def year(n: int) -> str:
    """A year as said: 1999 -> "nineteen ninety-nine", 2026 -> "twenty twenty-six", 2005 -> "two thousand five",
    1905 -> "nineteen oh five", 1900 -> "nineteen hundred"."""
    if not 1000 <= n <= 9999 or 2000 <= n <= 2009:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {cardinal(low)}"
    return f"{cardinal(high)} {cardinal(low)}"


def decimal(text: str) -> str:
    """A written number ("1,250", "3.5", "0.25") in words; digits after the point one by one."""
    whole, _, fraction = text.replace(",", "").partition(".")
    said = cardinal(int(whole or "0"))
    if fraction:
        said += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return said


def _plural(value: str) -> bool:
    return value.replace(",", "") not in ("1", "1.0")


def speech_text(text: str, *, language: str = "en", lexicon: Sequence[tuple[str, str]] = ()) -> str:
    """What the voice should say for `text` (see the module docstring); the transcript is never changed."""
    said = apply_lexicon(text, lexicon)
    if not language.lower().startswith("en"):
        return said
    for pattern, replacement in ABBREVIATIONS:
        said = re.sub(pattern, replacement, said)
    said = _INITIALS.sub(_initials, said)
    said = _ISO_DATE.sub(_iso_date, said)
    said = _DAY_MONTH.sub(_day_month, said)
    said = _MONTH_DAY.sub(_month_day, said)
    said = _MONTH_YEAR.sub(lambda m: f"{_month(m['month'])} {year(int(m['year']))}", said)
    said = _TIME.sub(_time, said)
    said = _CODE_MONEY.sub(lambda m: f"{_CURRENCY_CODES[m['code']]}{m['amount']}", said)
    said = _MONEY.sub(_money, said)
    said = _PERCENT.sub(lambda m: f"{decimal(m['n'])} percent", said)
    said = _RANGE.sub(lambda m: f"{m['a']} to {m['b']}", said)
    said = _ORDINAL.sub(lambda m: ordinal(int(m["n"].replace(",", ""))), said)
    said = _DECADE.sub(_decade, said)
    said = _UNIT.sub(_unit, said)
    said = _YEAR.sub(_year, said)
    said = _NUMBER.sub(_number, said)
    return re.sub(r"[ \t]+", " ", said).strip()


def apply_lexicon(text: str, lexicon: Sequence[tuple[str, str]]) -> str:
    """`text` with every whole-word, case-sensitive occurrence of an entry's text replaced by its `say`,
    the longest entry first (so "New York Times" wins over "New York"); one pass, no re-replacing."""
    entries = {t: s for t, s in lexicon if t}
    if not entries:
        return text
    ordered = sorted(entries, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w])(?:" + "|".join(re.escape(t) for t in ordered) + r")(?![\w])")
    return pattern.sub(lambda m: entries[m.group(0)], text)


# ---- the patterns, in the order speech_text applies them ----------------------------------------------

_INITIALS = re.compile(r"\b(?:[A-Z]\.){2,}")
_ISO_DATE = re.compile(r"\b(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])-(?P<day>0[1-9]|[12]\d|3[01])\b")
_DAY_MONTH = re.compile(rf"\b(?P<day>[12]?\d|3[01])(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+(?P<year>\d{{4}}))?(?!\w)")
_MONTH_DAY = re.compile(
    rf"\b{_MONTH}\s+(?P<day>[12]?\d|3[01])(?:st|nd|rd|th)?(?!\d)(?:,?\s+(?P<year>\d{{4}}))?(?![\w:])"
)
_MONTH_YEAR = re.compile(rf"\b{_MONTH}\s+(?P<year>1[1-9]\d\d|20\d\d)\b")
_TIME = re.compile(r"\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)\b")
_AMOUNT = r"(?P<amount>\d[\d,]*(?:\.\d+)?)"
_CODE_MONEY = re.compile(rf"\b(?P<code>USD|EUR|GBP|JPY)\s?{_AMOUNT}")
_MONEY = re.compile(rf"(?P<symbol>[$€£¥])\s?{_AMOUNT}(?:\s?(?P<scale>thousand|million|billion|trillion|bn|tn|[mk])\b)?")
_PERCENT = re.compile(r"(?<![\w.])(?P<n>-?\d[\d,]*(?:\.\d+)?)\s?(?:%|per ?cent\b)")
_RANGE = re.compile(r"(?<![\w.])(?P<a>\d[\d,.]*)\s?[–—-]\s?(?P<b>\d[\d,.]*)(?![\w-])")
_ORDINAL = re.compile(r"\b(?P<n>\d[\d,]*)(?:st|nd|rd|th)\b")
_UNIT = re.compile(
    r"(?<![\w.])(?P<n>\d[\d,]*(?:\.\d+)?)\s?(?P<unit>"
    + "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
    + r")(?![\w/])"
)
_DECADE = re.compile(r"\b(?P<n>1[1-9]\d0|20\d0)['’]?s\b")
_YEAR = re.compile(r"(?<![\w.,$€£¥-])(?P<n>1[1-9]\d\d|20\d\d)(?![\w.,]\d)(?!%)(?P<after>\s+(?P<next>[\w-]+))?")
_NUMBER = re.compile(r"(?<![\w.])(?P<minus>[-−](?=\d))?(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w])")


def _initials(m: re.Match[str]) -> str:
    """ "U.S." -> "U S" (with the full stop kept where it also ended the sentence)."""
    letters = " ".join(m.group(0).replace(".", ""))
    rest = m.string[m.end() :]
    return f"{letters}." if not rest.strip() or re.match(r"\s+[A-Z]", rest) else letters


def _month(name: str) -> str:
    return MONTHS[_MONTH_INDEX[name.rstrip(".").lower()[: 4 if name.lower().startswith("sept") else 3]]]


def _date(month: str, day: str, year_: str | None) -> str:
    said = f"{month} {ordinal(int(day))}"
    return f"{said}, {year(int(year_))}" if year_ else said


def _iso_date(m: re.Match[str]) -> str:
    return _date(MONTHS[int(m["month"]) - 1], m["day"], m["year"])


def _day_month(m: re.Match[str]) -> str:
    return _date(_month(m["month"]), m["day"], m["year"])


def _month_day(m: re.Match[str]) -> str:
    return _date(_month(m["month"]), m["day"], m["year"])


def _time(m: re.Match[str]) -> str:
    hours, minutes = int(m["h"]), int(m["m"])
    if minutes == 0:
        return f"{cardinal(hours)} o'clock"
    if minutes < 10:
        return f"{cardinal(hours)} oh {cardinal(minutes)}"
    return f"{cardinal(hours)} {cardinal(minutes)}"


def _money(m: re.Match[str]) -> str:
    one, many, small_one, _ = _CURRENCIES[m["symbol"]]
    amount = m["amount"]
    scale = m["scale"]
    if scale:
        return f"{decimal(amount)} {_SCALE_WORDS[scale]} {many}"
    whole, _, cents = amount.replace(",", "").partition(".")
    said = f"{cardinal(int(whole))} {one if whole == '1' else many}"
    if cents and len(cents) == 2 and small_one:
        if int(cents):
            said += f" {cardinal(int(cents))}"
        return said
    if cents:
        return f"{decimal(amount)} {many}"
    return said


def _unit(m: re.Match[str]) -> str:
    one, many = UNITS[m["unit"]]
    return f"{decimal(m['n'])} {many if _plural(m['n']) else one}"


def _decade(m: re.Match[str]) -> str:
    said = year(int(m["n"]))
    return said[:-1] + "ies" if said.endswith("y") else f"{said}s"


def _year(m: re.Match[str]) -> str:
    after = m["after"] or ""
    following = (m["next"] or "").lower()
    counted = following.endswith("s") and not following.endswith("'s") and following not in _YEAR_CUES
    if counted or following in {"people", "men", "women", "children"}:
        return f"{cardinal(int(m['n']))}{after}"
    return f"{year(int(m['n']))}{after}"


def _number(m: re.Match[str]) -> str:
    said = decimal(m["n"])
    return f"minus {said}" if m["minus"] else said
