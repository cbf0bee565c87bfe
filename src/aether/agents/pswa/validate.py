"""One validator for every writer's script: does it read as people talking, and (offline) is every fact sourced?

`check(script, request)` returns the problems found, each naming the line (`segments[i].lines[j]`):

* `same_speaker`: a host speaks two lines in a row (scripts with two or more hosts). A line that opens
  with an ellipsis ("…" or "...") is a deliberate continuation of the line before and is allowed.
* `repeated_phrase`: the hosts' own words (everything that is not a source sentence) reduced to their
  skeleton, with headlines, keyphrases, names, numbers and the show's own words taken out, are the same
  in two lines: a stock phrase ("Right.", "Here's another detail.", "Thanks, {name}.") said twice.
* `dangling_opener`: a sentence opens with a pronoun or connective ("It", "This", "They", "Also", ...) or
  ends with "as well" / "too", and what it refers to is not spoken just before it. For a source sentence
  that is the sentence before it in the same source (or, without a known order, a sentence of the same
  source); for the hosts' own words it is anything at all in the same segment.
* `unsourced` (checked for the offline writer, whose facts must all be source sentences): a line with
  sources that speaks none of them or cites a URL it does not speak, or a number or a name in the hosts'
  own words that appears nowhere in the request.

`measure(script, request)` sums them up the way bench/writer.py reports them.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from aether.agents.pswa.script import FactIn, Script, ScriptRequest, SnippetIn
from aether.text import sentence_key, split_sentences, words

Kind = Literal["same_speaker", "repeated_phrase", "dangling_opener", "unsourced"]

CONTINUATION = ("…", "...")
# Openings that lean on what was said before (lower case, longest first when matched).
DEPENDENT_OPENERS = (
    "as a result",
    "as well",
    "at the same time",
    "by contrast",
    "even so",
    "for that reason",
    "in addition",
    "in contrast",
    "in turn",
    "on top of that",
    "once there",
    "the other",
    "the same",
    "what's more",
    "also",
    "and",
    "another",
    "besides",
    "both",
    "but",
    "furthermore",
    "he",
    "hence",
    "her",
    "here",
    "his",
    "however",
    "it",
    "it's",
    "its",
    "likewise",
    "meanwhile",
    "moreover",
    "neither",
    "others",
    "otherwise",
    "she",
    "similarly",
    "so",
    "still",
    "such",
    "that",
    "their",
    "then",
    "there",
    "therefore",
    "these",
    "they",
    "this",
    "those",
    "thus",
    "too",
    "which",
    "yet",
)
DEPENDENT_ENDINGS = ("as well", "too", "either")
_COUNT = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
NUMBER_WORDS = frozenset(
    (
        *_COUNT,
        *("thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty"),
        *("forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "billion"),
        *("trillion", "dozen", "half", "quarter"),
    )
)
_OPENER = re.compile(
    r"^[\"'“‘(]*(" + "|".join(re.escape(o) for o in sorted(DEPENDENT_OPENERS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_ENDING = re.compile(r"[\s,]+(" + "|".join(DEPENDENT_ENDINGS) + r")[\"'”’)]*[.!?]*[\"'”’)]*$", re.IGNORECASE)
_SLOT = "{x}"
_FIRST_PERSON = frozenset({"i", "i'm", "i’m", "i've", "i'll", "i'd"})


def dependent(sentence: str) -> bool:
    """True when the sentence leans on the one before it: a pronoun or connective first, or "as well"/"too" last."""
    text = sentence.strip()
    match = _OPENER.match(text)
    if match:
        rest = text[match.end() :]
        # "There, ..." leans on a place said before; "There is/are ..." does not.
        return not (match.group(1).lower() == "there" and re.match(r"^\s+(is|are|was|were|will|has|have)\b", rest))
    return bool(_ENDING.search(text))


def is_continuation(text: str) -> bool:
    return text.lstrip().startswith(CONTINUATION)


@dataclass(frozen=True)
class Problem:
    kind: Kind
    segment: int
    line: int
    message: str

    def __str__(self) -> str:
        return f"segments[{self.segment}].lines[{self.line}]: {self.message}"


@dataclass(frozen=True)
class SourceFact:
    """A source sentence of the request: which story, which URL, and where it stood in its source."""

    story: int
    text: str
    url: str | None
    order: tuple[int, int] | None


@dataclass(frozen=True)
class Spoken:
    """One spoken sentence: where it is, the source sentence it speaks (if any) and the hosts' words around it."""

    segment: int
    line: int
    fact: SourceFact | None
    own: str  # the hosts' own words in this sentence ("" for a bare source sentence)
    text: str
    first_in_segment: bool


class Material:
    """What a request gives the writer: its source sentences and every word it may speak as a fact."""

    def __init__(self, request: ScriptRequest) -> None:
        self.request = request
        self.facts: dict[str, SourceFact] = {}
        self.by_order: dict[tuple[int, str | None, int, int], SourceFact] = {}
        texts: list[str] = [request.show_title, *(h.name for h in request.hosts)]
        texts += [t for t in (request.intro, request.outro) if t]
        phrases: list[str] = []
        for index, snippet in enumerate(request.snippets):
            texts += [snippet.headline, snippet.summary, *snippet.keywords]
            phrases += [snippet.headline.rstrip(".!?"), *snippet.keywords]
            texts += [str(src.get(k) or "") for src in snippet.sources for k in ("title", "publication")]
            for fact in facts_of(snippet):
                texts += [fact.text, fact.publication or "", fact.source_title or ""]
                self._add(index, fact)
        self.tokens = {w.lower() for t in texts for w in words(t)}
        own_lines = [request.frame_line("intro"), request.frame_line("outro")]
        self.show_lines = {sentence_key(s) for line in own_lines if line for s in split_sentences(line)}
        names = [request.show_title, *(h.name for h in request.hosts)]
        names += [f.publication for s in request.snippets for f in s.facts if f.publication]
        names += [str(src.get("publication")) for s in request.snippets for src in s.sources if src.get("publication")]
        phrases += names
        ordered = sorted({p for p in phrases if p.strip()}, key=len, reverse=True)
        self._phrases = (
            re.compile("|".join(re.escape(p) for p in ordered), re.IGNORECASE) if ordered else re.compile("(?!)")
        )

    def _add(self, story: int, fact: FactIn) -> None:
        key = sentence_key(fact.text)
        if not key or key in self.facts:
            return
        order = (fact.order[0], fact.order[1]) if fact.order and len(fact.order) >= 2 else None
        source = SourceFact(story, fact.text, fact.source_url, order)
        self.facts[key] = source
        if order is not None:
            self.by_order[(story, fact.source_url, *order)] = source

    def antecedent(self, fact: SourceFact) -> SourceFact | None:
        """The sentence before `fact` in its source, when the request has it."""
        if fact.order is None:
            return None
        return self.by_order.get((fact.story, fact.url, fact.order[0], fact.order[1] - 1))

    def split(self, sentence: str) -> tuple[str, SourceFact | None]:
        """(the hosts' own words, the source sentence) of a sentence: the longest source sentence it ends with."""
        tokens = words(sentence.lower())
        for start in range(len(tokens)):
            fact = self.facts.get(" ".join(tokens[start:]))
            if fact is not None:
                return _prefix(sentence, start), fact
        return sentence, None

    def skeleton(self, own: str) -> str:
        """The hosts' own words with everything taken from the material (and every number) as a slot."""
        text = self._phrases.sub(" ZZSLOTZZ ", own)
        out: list[str] = []
        for index, word in enumerate(words(text)):
            lower = word.lower()
            if word == "ZZSLOTZZ" or _numeric(lower) or (index > 0 and word[0].isupper() and lower in self.tokens):
                token = _SLOT
            else:
                token = lower
            if not (token == _SLOT and out and out[-1] == _SLOT):
                out.append(token)
        return " ".join(out)

    def unknown_facts(self, own: str, allowed: set[str]) -> list[str]:
        """Numbers and names in the hosts' own words that the request does not contain."""
        found: list[str] = []
        for sentence in split_sentences(own):
            for index, word in enumerate(words(sentence)):
                lower = re.sub(r"['’]s$", "", word.lower())
                fact_like = any(c.isdigit() for c in word) or lower in NUMBER_WORDS or (index > 0 and word[0].isupper())
                if fact_like and lower not in self.tokens and lower not in allowed and lower not in _FIRST_PERSON:
                    found.append(word)
        return found


def facts_of(snippet: SnippetIn) -> list[FactIn]:
    """A snippet's source sentences: its facts, or (without any) its summary's sentences, credited to its
    first source with a URL."""
    if snippet.facts or not snippet.summary:
        return list(snippet.facts)
    first = next((s for s in snippet.sources if isinstance(s.get("url"), str)), {})
    return [
        FactIn(text=t, source_url=first.get("url"), publication=first.get("publication"), order=[0, i])
        for i, t in enumerate(split_sentences(snippet.summary))
    ]


def _numeric(word: str) -> bool:
    return any(c.isdigit() for c in word) or all(part in NUMBER_WORDS for part in word.split("-"))


def _prefix(sentence: str, start: int) -> str:
    """The text of `sentence` before its `start`-th word token."""
    if start == 0:
        return ""
    matches = list(re.finditer(r"[^\W_]+(?:['’][^\W_]+)*(?:[-.][^\W_]+)*", sentence))
    return sentence[: matches[start].start()].strip()


def spoken(script: Script, material: Material) -> list[Spoken]:
    """Every sentence of the script in speaking order, matched to the source sentence it speaks."""
    out: list[Spoken] = []
    for s_index, segment in enumerate(script.segments):
        first = True
        for l_index, line in enumerate(segment.lines):
            for sentence in split_sentences(line.text.lstrip("…. ")) or [line.text]:
                own, fact = material.split(sentence)
                out.append(Spoken(s_index, l_index, fact, own, sentence, first))
                first = False
    return out


def check(script: Script, request: ScriptRequest, *, sourced_only: bool | None = None) -> list[Problem]:
    """Every problem of the script; `sourced_only` (default: the offline writer's scripts) checks facts too."""
    material = Material(request)
    sentences = spoken(script, material)
    problems = _speakers(script) + _repeats(sentences, material) + _dangling(sentences, material)
    if sourced_only if sourced_only is not None else script.writer == "offline":
        problems += _unsourced(script, sentences, material)
    return sorted(problems, key=lambda p: (p.segment, p.line, p.kind))


def _speakers(script: Script) -> list[Problem]:
    if len(script.hosts) < 2:
        return []
    problems: list[Problem] = []
    previous: str | None = None
    for s_index, segment in enumerate(script.segments):
        for l_index, line in enumerate(segment.lines):
            if line.speaker == previous and not is_continuation(line.text):
                problems.append(Problem("same_speaker", s_index, l_index, f"{line.speaker} speaks two lines in a row"))
            previous = line.speaker
    return problems


def _repeats(sentences: list[Spoken], material: Material) -> list[Problem]:
    seen: dict[str, tuple[int, int]] = {}
    problems: list[Problem] = []
    for sentence in sentences:
        if not sentence.own or sentence_key(sentence.text) in material.show_lines:
            continue
        skeleton = material.skeleton(sentence.own)
        if not skeleton.replace(_SLOT, "").strip():
            continue
        where = (sentence.segment, sentence.line)
        if skeleton not in seen:
            seen[skeleton] = where
            continue
        first = seen[skeleton]
        problems.append(
            Problem(
                "repeated_phrase",
                *where,
                f"the stock phrase {sentence.own!r} repeats segments[{first[0]}].lines[{first[1]}]",
            )
        )
    return problems


def _dangling(sentences: list[Spoken], material: Material) -> list[Problem]:
    problems: list[Problem] = []
    for index, sentence in enumerate(sentences):
        text = sentence.fact.text if sentence.fact is not None else sentence.text
        if not dependent(text) or sentence_key(sentence.text) in material.show_lines:
            continue
        before = sentences[index - 1] if index > 0 and not sentence.first_in_segment else None
        if sentence.fact is None:
            ok = before is not None
        elif before is None or before.fact is None or sentence.own:
            ok = False
        else:
            antecedent = material.antecedent(sentence.fact)
            if sentence.fact.order is None or antecedent is None:
                ok = before.fact.url == sentence.fact.url and before.fact.story == sentence.fact.story
            else:
                ok = before.fact == antecedent
        if not ok:
            problems.append(
                Problem(
                    "dangling_opener",
                    sentence.segment,
                    sentence.line,
                    f"{_opening(text)!r} leans on a sentence that is not spoken just before it",
                )
            )
    return problems


def _opening(text: str) -> str:
    cut = text.split()
    return " ".join(cut[:6]) + (" …" if len(cut) > 6 else "")


def _unsourced(script: Script, sentences: list[Spoken], material: Material) -> list[Problem]:
    problems: list[Problem] = []
    topics = sum(1 for s in script.segments if s.kind == "topic")
    allowed = {_count_word(topics), _count_word(len(script.hosts))}
    by_line: dict[tuple[int, int], list[Spoken]] = {}
    for sentence in sentences:
        by_line.setdefault((sentence.segment, sentence.line), []).append(sentence)
        unknown = material.unknown_facts(sentence.own, allowed)
        if unknown:
            problems.append(
                Problem(
                    "unsourced",
                    sentence.segment,
                    sentence.line,
                    f"{', '.join(unknown)} in {sentence.own!r} is not in the sources",
                )
            )
    for s_index, segment in enumerate(script.segments):
        for l_index, line in enumerate(segment.lines):
            facts = [s.fact for s in by_line.get((s_index, l_index), []) if s.fact is not None]
            spoken_urls = {f.url for f in facts if f.url}
            if line.sources and not facts:
                problems.append(Problem("unsourced", s_index, l_index, "cites sources but speaks no source sentence"))
            elif set(line.sources) - spoken_urls:
                extra = ", ".join(sorted(set(line.sources) - spoken_urls))
                problems.append(Problem("unsourced", s_index, l_index, f"cites {extra} without speaking from it"))
            elif spoken_urls - set(line.sources):
                missing = ", ".join(sorted(spoken_urls - set(line.sources)))
                problems.append(Problem("unsourced", s_index, l_index, f"speaks from {missing} without citing it"))
    return problems


def _count_word(n: int) -> str:
    return _COUNT[n] if n < len(_COUNT) else str(n)


@dataclass(frozen=True)
class Measure:
    """What bench/writer.py prints for a script."""

    lines: int
    speaker_changes: float  # share of consecutive line pairs with another speaker
    repeated_phrases: int
    dangling_openers: int
    same_speaker: int
    unsourced: int


def measure(script: Script, request: ScriptRequest) -> Measure:
    """The figures of one script (facts-from-sources checked for the offline writer only, as in `check`)."""
    problems = check(script, request)
    counts = Counter(p.kind for p in problems)
    speakers = [line.speaker for segment in script.segments for line in segment.lines]
    pairs = max(1, len(speakers) - 1)
    changes = sum(1 for a, b in itertools.pairwise(speakers) if a != b)
    return Measure(
        lines=len(speakers),
        speaker_changes=changes / pairs,
        repeated_phrases=counts["repeated_phrase"],
        dangling_openers=counts["dangling_opener"],
        same_speaker=counts["same_speaker"],
        unsourced=counts["unsourced"],
    )
