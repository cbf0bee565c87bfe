"""Speech text: numbers, years, dates, times, money, percentages, units and abbreviations as a voice says
them in English, the show's lexicon (whole words, case-sensitive, longest first), and other languages
left alone but for the lexicon."""

from __future__ import annotations

import pytest

from aether.text.speech import apply_lexicon, cardinal, decimal, ordinal, speech_text, year


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (20, "twenty"),
        (21, "twenty-one"),
        (99, "ninety-nine"),
        (100, "one hundred"),
        (101, "one hundred one"),
        (250, "two hundred fifty"),
        (1000, "one thousand"),
        (1250, "one thousand two hundred fifty"),
        (10_001, "ten thousand one"),
        (999_999, "nine hundred ninety-nine thousand nine hundred ninety-nine"),
        (1_000_000, "one million"),
        (3_400_000, "three million four hundred thousand"),
        (2_000_000_005, "two billion five"),
        (7 * 10**12, "seven trillion"),
        (-4, "minus four"),
    ],
)
def test_cardinal(n: int, words: str) -> None:
    assert cardinal(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (4, "fourth"),
        (5, "fifth"),
        (8, "eighth"),
        (9, "ninth"),
        (11, "eleventh"),
        (12, "twelfth"),
        (20, "twentieth"),
        (21, "twenty-first"),
        (42, "forty-second"),
        (100, "one hundredth"),
        (103, "one hundred third"),
        (1000, "one thousandth"),
    ],
)
def test_ordinal(n: int, words: str) -> None:
    assert ordinal(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1999, "nineteen ninety-nine"),
        (2026, "twenty twenty-six"),
        (2000, "two thousand"),
        (2005, "two thousand five"),
        (2010, "twenty ten"),
        (1905, "nineteen oh five"),
        (1900, "nineteen hundred"),
        (1066, "ten sixty-six"),
        (800, "eight hundred"),
    ],
)
def test_year(n: int, words: str) -> None:
    assert year(n) == words


@pytest.mark.parametrize(
    ("text", "words"),
    [("3.5", "three point five"), ("0.25", "zero point two five"), ("1,250", "one thousand two hundred fifty")],
)
def test_decimal(text: str, words: str) -> None:
    assert decimal(text) == words


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # numbers
        ("It cost 1,250 euros.", "It cost one thousand two hundred fifty euros."),
        ("Growth was 3.5 this year.", "Growth was three point five this year."),
        ("About 3,000,000 people", "About three million people"),
        ("It fell to -4 overnight.", "It fell to minus four overnight."),
        ("We counted 42 boats.", "We counted forty-two boats."),
        ("the 21st century", "the twenty-first century"),
        ("She came 2nd and he came 3rd of 11.", "She came second and he came third of eleven."),
        ("the 100th visitor", "the one hundredth visitor"),
        # years and decades
        ("It opened in 1999.", "It opened in nineteen ninety-nine."),
        ("By 2026, prices fell.", "By twenty twenty-six, prices fell."),
        ("2026 will be busy.", "twenty twenty-six will be busy."),
        ("Since 2005 the line runs.", "Since two thousand five the line runs."),
        ("music of the 1990s", "music of the nineteen nineties"),
        ("the 2020s", "the twenty twenties"),
        ("1500 people came", "one thousand five hundred people came"),
        ("from 2020-2024", "from twenty twenty to twenty twenty-four"),
        ("pages 10–12", "pages ten to twelve"),
        # dates and times
        ("on 3 Dec 2026", "on December third, twenty twenty-six"),
        ("on 2026-12-03", "on December third, twenty twenty-six"),
        ("on December 3, 2026", "on December third, twenty twenty-six"),
        ("on 1 January", "on January first"),
        ("on Sept. 21st", "on September twenty-first"),
        ("until March 2027", "until March twenty twenty-seven"),
        ("at 10:30", "at ten thirty"),
        ("at 9:05", "at nine oh five"),
        ("at 7:00", "at seven o'clock"),
        # money
        ("$4.5 million", "four point five million dollars"),
        ("a $1.2bn deal", "a one point two billion dollars deal"),
        ("€20 a month", "twenty euros a month"),
        ("£3", "three pounds"),
        ("£3.50", "three pounds fifty"),
        ("$1", "one dollar"),
        ("$5m", "five million dollars"),
        ("¥100", "one hundred yen"),
        ("USD 30", "thirty dollars"),
        # percentages and units
        ("up 12%", "up twelve percent"),
        ("a 3.5 % rise", "a three point five percent rise"),
        ("50 per cent", "fifty percent"),
        ("5 km away", "five kilometres away"),
        ("1 km away", "one kilometre away"),
        ("a 12kWh battery", "a twelve kilowatt hours battery"),
        ("800 W panels", "eight hundred watts panels"),
        ("at 90 km/h", "at ninety kilometres per hour"),
        ("20 °C outside", "twenty degrees Celsius outside"),
        ("2 GB of memory", "two gigabytes of memory"),
        # abbreviations
        ("tools, e.g. drills", "tools, for example drills"),
        ("one, i.e. the first", "one, that is the first"),
        ("drills, ladders etc.", "drills, ladders et cetera"),
        ("Dr. Kofi Mensah said", "Doctor Kofi Mensah said"),
        ("Mr. Lee and Mrs. Lee", "Mister Lee and Missus Lee"),
        ("AI models run locally.", "AI models run locally."),
        ("the U.S. and the U.K. agreed", "the U S and the U K agreed"),
        ("They met in the U.S.", "They met in the U S."),
        ("No. 5 won", "number five won"),
        ("cats & dogs", "cats and dogs"),
        ("kWh prices rose", "kWh prices rose"),  # a unit without a number stays
        # nothing to do
        ("Plain words stay as they are.", "Plain words stay as they are."),
    ],
)
def test_english_speech_text(text: str, said: str) -> None:
    assert speech_text(text) == said


def test_the_lexicon_replaces_whole_words_case_sensitively_longest_first() -> None:
    lexicon = [("Lindqvist", "Lind-kvist"), ("New York", "New Yawk"), ("New York Times", "the Times"), ("AI", "A I")]
    text = "Lindqvist read the New York Times in New York; Lindqvists and lindqvist differ. AIR and AI."
    assert apply_lexicon(text, lexicon) == (
        "Lind-kvist read the the Times in New Yawk; Lindqvists and lindqvist differ. AIR and A I."
    )
    assert speech_text("Lindqvist paid $3.", lexicon=[("Lindqvist", "Lind-kvist")]) == "Lind-kvist paid three dollars."
    assert apply_lexicon("a b", []) == "a b" and apply_lexicon("a b", [("", "x")]) == "a b"


def test_the_lexicon_is_one_pass() -> None:
    assert apply_lexicon("Anna met Bo.", [("Anna", "Bo"), ("Bo", "Anna")]) == "Bo met Anna."


def test_the_lexicon_wins_over_the_abbreviations() -> None:
    assert speech_text("Dr. Who is on.", lexicon=[("Dr.", "Doctor")]) == "Doctor Who is on."
    assert speech_text("Elm St. 5", lexicon=[("St.", "Street")]) == "Elm Street five"


@pytest.mark.parametrize("language", ["de", "nb-NO", "fr"])
def test_other_languages_get_the_lexicon_only(language: str) -> None:
    text = "Am 3 Dec 2026 kostete es 1,250 € (z.B. Lindqvist)."
    said = speech_text(text, language=language, lexicon=[("Lindqvist", "Lindkvist")])
    assert said == "Am 3 Dec 2026 kostete es 1,250 € (z.B. Lindkvist)."


@pytest.mark.parametrize("language", ["en", "en-GB", "EN-us"])
def test_english_in_any_region(language: str) -> None:
    assert speech_text("It cost $2.", language=language) == "It cost two dollars."
