"""The offline script writer: deterministic, built only from the snippets' source sentences, as a conversation.

Every line that states something about the world speaks source sentences word for word, with the URLs
they came from in `line.sources`; the hosts' own words carry no facts of their own: they frame, react,
attribute and close, and the only things they name (a headline, a keyphrase, a number, a name, a
publication) are taken from the request.

* One host frames each story (a line from its headline, then a question about one of its keyphrases,
  addressed to the next host); the next host answers with its first source sentences; from then on the
  hosts take turns, each line a source sentence, and a line may open with a short reaction to something
  concrete (a number, a name, a place) in the line before it. No host speaks two lines in a row.
* A source sentence that leans on the one before it ("It also means ...", "Rules have been relaxed as
  well.") is spoken in the same line right after that sentence (pulled in when it was not chosen), or
  left out when the request does not hold it (see aether.agents.pswa.validate.dependent).
* Every stock phrase (opener, question, reaction, attribution) is spoken at most once per episode: each
  comes from a pool of variants shuffled by a random generator seeded from the request, so the same
  request always gives the same script; when a pool is used up, the line goes without it.
* The show's own intro and outro (ScriptRequest.intro / outro) replace the writer's welcome and goodbye.
* Sentences are chosen round-robin across topics, best ranked first, until the word budget (minutes ×
  words per minute) is reached without passing it by more than 5 % (OVERSHOOT); within a topic they are
  read in source order. A script under SHORTFALL of the budget says so in its notes.

aether.agents.pswa.validate.check finds no problem in what this writer writes (tests/agents/pswa).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field

from aether.agents.pswa.script import FactIn, Host, Line, Script, ScriptRequest, Segment, SnippetIn, SourceRef
from aether.agents.pswa.validate import NUMBER_WORDS, dependent, facts_of
from aether.errors import ValidationFailed
from aether.text import content_tokens, count_words, sentence_key, split_sentences, words
from aether.text.sentences import STOPWORDS

WRITER = "offline"
PROMPT_VERSION = "offline-2"
OVERSHOOT = 1.05
SHORTFALL = 0.85
REPEAT_OVERLAP = 0.6
PREVIEW_CHARS = 600  # the "Coming up" line lists headlines up to this length, then counts the rest
LINE_CHARS = 3900  # a line (a sentence and the ones it leans on, with the hosts' words) stays under Line's 4000
MAX_CHAIN = 3  # a sentence may pull in at most this many sentences before it

# ---- the hosts' own words (no facts in any of them; each variant spoken at most once an episode) ------
WELCOME = "Hello and welcome to {show}. I'm {host}."
COHOST_HELLO = "And I'm {cohost}. Today we have {count} for you."
SOLO_HELLO = "Today I have {count} for you."
PREVIEW = "Coming up: {headlines}."
GOODBYE = "We're at the end of today's episode of {show}."
COHOST_GOODBYE = "Thanks for listening. Links to every source are in the episode notes."
SEE_YOU = "See you next time."
SOLO_GOODBYE = "We're at the end of today's episode of {show}. Thanks for listening, and see you next time."

FIRST_OPENERS = (
    "Let's start with our first story: {headline}",
    "First up: {headline}",
    "We begin with this story: {headline}",
)
OPENERS = (
    "Next: {headline}",
    "Now to our next story: {headline}",
    "On to another story: {headline}",
    "Let's turn to a new story: {headline}",
    "Moving on: {headline}",
    "A change of subject: {headline}",
    "Switching gears: {headline}",
    "Our next story: {headline}",
    "Time for another story: {headline}",
    "Let's look at a different story: {headline}",
    "Now for something else: {headline}",
    "Up next: {headline}",
)
LAST_OPENERS = (
    "Our last story today: {headline}",
    "Before we go, a last story: {headline}",
    "Last but not least: {headline}",
)
QUESTIONS = (
    "{name}, what's the story with {topic}?",
    "What do we know about {topic}, {name}?",
    "{name}, tell us about {topic}.",
    "What's the news on {topic}, {name}?",
    "{name}, what about {topic}?",
    "What can you tell us about {topic}, {name}?",
    "{name}, fill us in on {topic}.",
    "What's going on with {topic}, {name}?",
    "{name}, what should we know about {topic}?",
    "Where do things stand with {topic}, {name}?",
    "{name}, what's the latest on {topic}?",
    "What's the background on {topic}, {name}?",
)
PLAIN_QUESTIONS = ("{name}, what happened?", "What do we know, {name}?", "{name}, fill us in.")
REACTIONS = (
    "{Ref}, okay.",
    "So, {ref}.",
    "{Ref}? Interesting.",
    "Right, {ref}.",
    "Wait, {ref}?",
    "{Ref}, noted.",
    "Hold on, {ref}?",
    "Huh, {ref}.",
    "{Ref}. Good to know.",
    "Okay, {ref}.",
    "{Ref}, really?",
    "Mm, {ref}.",
    "{Ref}? I did not know that.",
    "Just to be clear: {ref}.",
    "{Ref}. That stands out.",
    "Oh, {ref}.",
)
ATTRIBUTIONS = (
    "{source} reports: ",
    "From {source}: ",
    "Here's what {source} reports: ",
    "{source} has the story: ",
    "Per {source}: ",
    "As {source} puts it: ",
    "{source} writes: ",
    "In the words of {source}: ",
    "{source} tells us: ",
    "Reading from {source}: ",
    "{source} explains: ",
    "Quoting {source}: ",
)
NEW_SOURCES = (
    "Another source, {source}, adds: ",
    "{source} adds: ",
    "And from {source}: ",
    "{source} also reports: ",
    "Over at {source}: ",
    "A second source, {source}, says: ",
)

FRAME_TEMPLATES = (
    WELCOME,
    COHOST_HELLO,
    SOLO_HELLO,
    PREVIEW,
    GOODBYE,
    COHOST_GOODBYE,
    SEE_YOU,
    SOLO_GOODBYE,
)
POOLS = {
    "first": FIRST_OPENERS,
    "opener": OPENERS,
    "last": LAST_OPENERS,
    "question": QUESTIONS,
    "plain_question": PLAIN_QUESTIONS,
    "reaction": REACTIONS,
    "attribution": ATTRIBUTIONS,
    "new_source": NEW_SOURCES,
}

_LONE_WORDS = frozenset({"one", "a one", "zero", "half", "a half", "quarter", "a quarter", "dozen", "a dozen"})
_UNITS = frozenset({"year", "years", "week", "weeks", "day", "days"})
_NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
_NUMBER = r"(?:\d[\d,.]*%?|(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b(?:-\w+)*)"
_AMOUNT = re.compile(
    rf"(?<![\w-])(?:(?:a few|a|about|over|under|some|nearly|almost|more than|less than|up to) )?"
    rf"{_NUMBER}(?:[ -](?:{_NUMBER}|to|and|or))*(?: [a-z][\w-]*)?",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<![.!?:]\s)\b[A-Z][\w’'-]*(?:\s+(?:of\s+|de\s+)?[A-Z][\w’'-]*)*(?:\s+[a-z]{2,}s\b)?")


@dataclass(frozen=True)
class Material:
    headline: str
    topic_id: str | None
    facts: list[FactIn]
    keywords: list[str] = field(default_factory=list)


class Voice:
    """The hosts' stock phrases: each pool shuffled once by the request's seed, each variant given out once."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        self.decks = {name: rng.sample(pool, len(pool)) for name, pool in POOLS.items()}

    def take(self, *pools: str) -> str | None:
        """The next unused variant of the first pool that has one left, or None when all are used."""
        for name in pools:
            if self.decks[name]:
                return self.decks[name].pop(0)
        return None


def _end(text: str) -> str:
    return text if text[-1] in ".!?" else f"{text}."


def _count(n: int) -> str:
    word = _NUMBERS[n - 1] if n <= len(_NUMBERS) else str(n)
    return f"{word} {'story' if n == 1 else 'stories'}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def material(snippet: SnippetIn, used: set[str]) -> Material:
    """A snippet's facts, best first, without sentences another topic already uses."""
    facts = facts_of(snippet)
    kept: list[FactIn] = []
    for fact in facts:
        key = sentence_key(fact.text)
        if key and key not in used:
            used.add(key)
            kept.append(fact)
    return Material(snippet.headline, snippet.topic_id or snippet.id, kept, list(snippet.keywords))


def keyphrase(topic: Material) -> str | None:
    """What the framing question asks about: a keyword of the story that its sources say (as they write it)
    and its headline does not, else the two-word phrase (or plural word) its source sentences repeat most."""
    headline = {t for t in content_tokens(topic.headline)}
    said = " ".join(f.text for f in topic.facts)
    found: list[str] = []
    for keyword in topic.keywords:
        phrase = " ".join(keyword.split())
        if not phrase or set(content_tokens(phrase)) <= headline:
            continue
        if " " not in phrase and not _plural(phrase.lower()):
            continue  # a lone word may be a verb or an adjective ("run", "fast"): nothing to ask about
        if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", said):  # as the sources write it
            found.append(phrase)
        elif re.search(rf"(?<!\w){re.escape(phrase.lower())}(?!\w)", said):
            found.append(phrase.lower())
    if found:  # a plural noun phrase ("public libraries") asks best
        return next((p for p in found if _plural(p.split()[-1].lower())), found[0])
    pairs: Counter[str] = Counter()
    singles: Counter[str] = Counter()
    for fact in topic.facts:
        tokens = words(fact.text)
        for index, word in enumerate(tokens):
            lower = word.lower()
            if _plain(word, index) and lower not in headline and not set(content_tokens(lower)) & headline:
                singles[lower] += 1
                if index + 1 < len(tokens) and _plain(tokens[index + 1], index + 1):
                    pairs[f"{lower} {tokens[index + 1].lower()}"] += 1
    best = [p for p, n in pairs.most_common() if n >= 2]
    if best:
        return best[0]
    common = [w for w, n in singles.most_common() if n >= 2 and _plural(w)]
    return common[0] if common else None


def _plural(word: str) -> bool:
    """Looks like a plural noun ("drills", "renters"): a safe thing to ask about without knowing its grammar."""
    return len(word) >= 5 and word.endswith("s") and not word.endswith(("ss", "ous", "is", "us"))


def _plain(word: str, index: int) -> bool:
    """A lower-case content word (not a name, a number or a stop word): something to ask about."""
    lower = word.lower()
    return (
        word.islower()
        and len(word) >= 4
        and lower not in STOPWORDS
        and lower not in NUMBER_WORDS
        and not any(c.isdigit() for c in word)
    )


_NEXT_WORD = re.compile(r" ([a-z][\w-]*)")


def _whole_noun(found: str, rest: str) -> str:
    """An amount with its whole noun: "twelve pollinator" + " hotels this autumn" -> "twelve pollinator
    hotels" (up to two more lower-case words, ending on a plural or a unit; else as found)."""
    words = found.split()
    extra: list[str] = []
    while len(extra) < 2 and (match := _NEXT_WORD.match(rest)) and match.group(1) not in STOPWORDS:
        extra.append(match.group(1))
        rest = rest[match.end() :]
    candidates = [*words, *extra]

    def noun(word: str) -> bool:
        return (_plural(word.lower()) or word.lower() in _UNITS) and not any(c.isdigit() for c in word)

    if len(words) > 1 and noun(words[-1]):
        return found
    for end in range(len(words) + 1, len(candidates) + 1):
        if noun(candidates[end - 1]):
            return " ".join(candidates[:end])
    return found


def _currency(text: str, start: int) -> str:
    """The currency sign just before an amount ("€2,400"), or nothing."""
    return text[start - 1] if start > 0 and text[start - 1] in "$€£¥" else ""


def reference(text: str) -> str | None:
    """Something concrete in a line to react to: an amount ("eight hundred watts"), else a name or place."""
    for match in _AMOUNT.finditer(text):
        found = match.group(0).strip()
        tail = found.split()[-1].lower()
        if tail in STOPWORDS and tail not in _UNITS and len(found.split()) > 1:
            found = found.rsplit(" ", 1)[0]
        if any(c.isdigit() for c in found) or any(w.lower() in NUMBER_WORDS for w in re.split(r"[ -]", found)):
            if found.lower() in _LONE_WORDS:
                continue  # "a large one": a pronoun, not an amount
            if found.split("-")[0].split()[0].lower() in NUMBER_WORDS | {"a", "about", "over", "under", "some"}:
                found = found[:1].lower() + found[1:]  # "Fifteen-year-old ..." opened its sentence
            if ", " in found:  # "2,400, paid by ...": the amount ends at the comma
                return _currency(text, match.start()) + found.split(", ")[0]
            return _currency(text, match.start()) + _whole_noun(found.rstrip(",."), text[match.end() :])
    for sentence in split_sentences(text):
        for match in _NAME.finditer(sentence):
            found = match.group(0)
            if found.split()[-1] in STOPWORDS or found.endswith(("ss", "us", "is", "was", "has")):
                found = found.rsplit(" ", 1)[0] if " " in found else found
            if match.start() > 0 and found.split()[0] not in {"I"}:
                return found
    return None


# ---- choosing the sentences --------------------------------------------------------------------------


def _order(fact: FactIn) -> tuple[int, ...]:
    return tuple(fact.order or [0, 0])


def _antecedent(fact: FactIn, facts: list[FactIn]) -> FactIn | None:
    """The sentence before `fact` in its source, when the topic has it."""
    if not fact.order or len(fact.order) < 2:
        return None
    want = [fact.order[0], fact.order[1] - 1]
    return next((f for f in facts if f.order == want and f.source_url == fact.source_url), None)


def unit(fact: FactIn, facts: list[FactIn]) -> list[FactIn] | None:
    """`fact` with the sentences it leans on (source order), or None when one of them is missing."""
    chain = [fact]
    while dependent(chain[0].text):
        before = _antecedent(chain[0], facts)
        if before is None or len(chain) > MAX_CHAIN:
            return None
        chain.insert(0, before)
    if sum(len(f.text) + 1 for f in chain) > LINE_CHARS - 300:
        return None
    return chain


def _repeats(fact: FactIn, chosen: list[FactIn]) -> bool:
    """True when most of the fact's words were said already by a chosen fact (another source's retelling)."""
    words_ = set(content_tokens(fact.text))
    for other in chosen:
        theirs = set(content_tokens(other.text))
        if words_ and theirs and len(words_ & theirs) / min(len(words_), len(theirs)) >= REPEAT_OVERLAP:
            return True
    return False


# ---- speaking them -------------------------------------------------------------------------------------


def _next(hosts: list[Host], previous: str | None) -> str:
    names = [h.name for h in hosts]
    if previous not in names:
        return names[0]
    return names[(names.index(previous) + 1) % len(names)]


def _groups(facts: list[FactIn]) -> list[list[FactIn]]:
    """The chosen facts in source order, a sentence that leans on the one before it in the same group."""
    groups: list[list[FactIn]] = []
    for fact in sorted(facts, key=_order):
        if groups and dependent(fact.text) and _antecedent(fact, groups[-1]) is groups[-1][-1]:
            groups[-1].append(fact)
        else:
            groups.append([fact])
    return groups


def _frame(index: int, total: int, topic: Material, hosts: list[Host], answerer: str, voice: Voice) -> str:
    if index == 0:
        pools: tuple[str, ...] = ("first", "opener")
    elif index == total - 1 and total > 1:
        pools = ("last", "opener")
    else:
        pools = ("opener",)
    opener = voice.take(*pools)
    text = _end(opener.format(headline=topic.headline) if opener else topic.headline)
    if len(hosts) > 1:
        asked = keyphrase(topic)
        question = voice.take("question") if asked else voice.take("plain_question")
        if question:
            text += " " + question.format(name=answerer, topic=asked)
    return text


def _topic_lines(
    index: int, total: int, topic: Material, facts: list[FactIn], hosts: list[Host], previous: str | None, voice: Voice
) -> list[Line]:
    framer = _next(hosts, previous)
    answerer = _next(hosts, framer)
    lines = [Line(speaker=framer, text=_frame(index, total, topic, hosts, answerer, voice))]
    speaker = answerer if len(hosts) > 1 else framer
    last_source: str | None = None
    said = ""
    for group in _groups(facts):
        parts: list[str] = []
        if len(hosts) > 1 and said:
            ref = reference(said)
            reaction = voice.take("reaction") if ref else None
            if reaction and ref:
                parts.append(reaction.format(ref=ref, Ref=_cap(ref)) + " ")
        name = group[0].publication
        if name and name != last_source:
            credit = voice.take("attribution") if last_source is None else voice.take("new_source", "attribution")
            if credit:
                parts.append(credit.format(source=name))
            last_source = name
        said = " ".join(f.text for f in group)
        text = "".join(parts) + said
        urls = list(dict.fromkeys(f.source_url for f in group if f.source_url))
        lines.append(Line(speaker=speaker, text=text, sources=urls))
        speaker = _next(hosts, speaker)
    return lines


def _preview(headlines: list[str]) -> str:
    shown: list[str] = []
    for headline in headlines:
        if len("; ".join([*shown, headline])) > PREVIEW_CHARS and shown:
            break
        shown.append(headline.rstrip(".!?"))
    rest = len(headlines) - len(shown)
    listed = "; ".join(shown) + f"; and {rest} more" if rest else "; ".join(shown[:-1]) + f"; and {shown[-1]}"
    return PREVIEW.format(headlines=listed)


def render(request: ScriptRequest, topics: list[Material], chosen: list[list[FactIn]], notes: list[str]) -> Script:
    hosts = request.hosts
    show = request.show_title
    lead = hosts[0].name
    voice = Voice(request.seed)
    headlines = [t.headline for t in topics]
    intro = [Line(speaker=lead, text=request.frame_line("intro") or WELCOME.format(show=show, host=lead))]
    if len(hosts) > 1:
        intro.append(
            Line(speaker=hosts[1].name, text=COHOST_HELLO.format(cohost=hosts[1].name, count=_count(len(topics))))
        )
    else:
        intro.append(Line(speaker=lead, text=SOLO_HELLO.format(count=_count(len(topics)))))
    if len(topics) > 1:
        intro.append(Line(speaker=_next(hosts, intro[-1].speaker), text=_preview(headlines)))
    segments = [Segment(kind="intro", title="Welcome", lines=intro)]
    previous = intro[-1].speaker
    for index, topic in enumerate(topics):
        lines = _topic_lines(index, len(topics), topic, chosen[index], hosts, previous, voice)
        segments.append(Segment(kind="topic", title=topic.headline, topic_id=topic.topic_id, lines=lines))
        previous = lines[-1].speaker
    segments.append(Segment(kind="outro", title="Goodbye", lines=_outro(request, previous)))

    refs: dict[str, SourceRef] = {}
    for facts in chosen:
        for fact in sorted(facts, key=_order):
            if fact.source_url and fact.source_url not in refs:
                refs[fact.source_url] = SourceRef(url=fact.source_url, title=fact.source_title)
    if len(headlines) == 1:
        title = headlines[0]
    elif len(headlines) == 2:
        title = f"{headlines[0].rstrip('.')} and {headlines[1].rstrip('.')}"
    else:
        title = f"{headlines[0].rstrip('.')}, {headlines[1].rstrip('.')} and more"
    if len(title) > 300:
        title = f"{headlines[0][:280].rstrip('.')} and more"
    description = f"In this episode of {show}: " + "; ".join(h.rstrip(".") for h in headlines) + "."
    script = Script(
        show_title=show,
        episode_title=title,
        description=description[:5000],
        language=request.language,
        hosts=hosts,
        target_minutes=request.minutes,
        target_words=request.target_words,
        word_count=0,
        segments=segments,
        sources=list(refs.values()),
        writer=WRITER,
        model=None,
        prompt_version=PROMPT_VERSION,
        notes=list(notes),
    )
    script.word_count = script.spoken_words()
    return script


def _outro(request: ScriptRequest, previous: str) -> list[Line]:
    """Goodbye, never by the host who spoke last; the show's own outro is the lead's (it may name them)."""
    hosts = request.hosts
    lead = hosts[0].name
    own = request.frame_line("outro")
    if len(hosts) == 1:
        return [Line(speaker=lead, text=own or SOLO_GOODBYE.format(show=request.show_title))]
    cohost = hosts[1].name
    if previous != lead:
        return [
            Line(speaker=lead, text=own or GOODBYE.format(show=request.show_title)),
            Line(speaker=cohost, text=COHOST_GOODBYE),
            Line(speaker=lead, text=SEE_YOU),
        ]
    goodbye = own or f"{GOODBYE.format(show=request.show_title)} {SEE_YOU}"
    return [Line(speaker=cohost, text=COHOST_GOODBYE), Line(speaker=lead, text=goodbye)]


def write_offline(request: ScriptRequest) -> Script:
    """The script for this request; deterministic."""
    if not request.language.lower().startswith("en"):
        raise ValidationFailed(
            f"language: the offline writer writes English only (got {request.language!r}); "
            "configure AETHER_LLM_BASE_URL for other languages",
            field="language",
        )
    used: set[str] = set()
    topics = [material(s, used) for s in request.snippets]
    target = request.target_words
    notes: list[str] = []
    chosen: list[list[FactIn]] = [[] for _ in topics]
    while len(topics) > 1 and render(request, topics, chosen, notes).word_count > target * 0.5:
        dropped = topics.pop()
        chosen.pop()
        notes.append(f"left out {dropped.headline!r}: no room in {request.minutes:g} minutes")
    budget = target * OVERSHOOT
    picks = _choose(request, topics, chosen, budget)
    script = render(request, topics, chosen, notes)
    while script.word_count > budget and picks:  # the estimate per topic was short: the latest picks go
        i, group = picks.pop()
        chosen[i] = [f for f in chosen[i] if not any(f is g for g in group)]
        script = render(request, topics, chosen, notes)
    if script.word_count < target * SHORTFALL:
        script.notes.append(
            f"the sources hold material for {script.word_count} of the {target} words asked for "
            f"({request.minutes:g} minutes at {request.words_per_minute} words a minute)"
        )
    return script


def _estimate(request: ScriptRequest, topics: list[Material], i: int, facts: list[FactIn]) -> int:
    """The words of topic i's segment with these facts (its stock phrases as if it were spoken alone)."""
    lines = _topic_lines(i, len(topics), topics[i], facts, request.hosts, None, Voice(request.seed + i))
    return sum(count_words(line.text) for line in lines)


def _choose(
    request: ScriptRequest, topics: list[Material], chosen: list[list[FactIn]], budget: float
) -> list[tuple[int, list[FactIn]]]:
    """Fill `chosen` round-robin (the shortest topic next), best ranked first; the picks in the order made."""
    cursor = [0] * len(topics)
    total = render(request, topics, chosen, []).word_count
    segment_words = [_estimate(request, topics, i, chosen[i]) for i in range(len(topics))]
    picks: list[tuple[int, list[FactIn]]] = []
    while True:
        added = False
        for i in sorted(range(len(topics)), key=lambda k: (segment_words[k], k)):
            while cursor[i] < len(topics[i].facts):
                fact = topics[i].facts[cursor[i]]
                cursor[i] += 1
                if any(fact is f for f in chosen[i]):
                    continue
                group = unit(fact, topics[i].facts)
                if group is None:
                    continue
                new = [f for f in group if not any(f is c for c in chosen[i])]
                if _repeats(fact, chosen[i]):
                    continue
                trial_words = _estimate(request, topics, i, [*chosen[i], *new])
                if total - segment_words[i] + trial_words <= budget:
                    chosen[i] = [*chosen[i], *new]
                    total += trial_words - segment_words[i]
                    segment_words[i] = trial_words
                    picks.append((i, new))
                    added = True
                    break
            if added:
                break
        if not added:
            break
    return picks
