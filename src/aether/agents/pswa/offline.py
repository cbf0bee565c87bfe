"""The offline script writer: deterministic, built only from the snippets' source sentences.

Every line that states something about the world is a source sentence, word for word, with the URL it
came from in `line.sources`; the hosts' own words are fixed phrases (welcome, transitions, reactions,
attribution, closing) that carry no facts. Sentences are chosen round-robin across topics, best ranked
first, until the word budget (minutes × words per minute) is reached without passing it by more than 5 %;
within a topic they are read in source order. The same request always gives the same script.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aether.agents.pswa.script import FactIn, Host, Line, Script, ScriptRequest, Segment, SnippetIn, SourceRef
from aether.errors import ValidationFailed
from aether.text import content_tokens, count_words, sentence_key, split_sentences

WRITER = "offline"
PROMPT_VERSION = "offline-1"
OVERSHOOT = 1.05
SHORTFALL = 0.85
REPEAT_OVERLAP = 0.6

# ---- the hosts' own words (no facts in any of them) ---------------------------------------------------
WELCOME = "Hello and welcome to {show}. I'm {host}."
COHOST_HELLO = "And I'm {cohost}. Today we have {count} for you."
SOLO_HELLO = "Today I have {count} for you."
PREVIEW = "Coming up: {headlines}."
FIRST_TOPIC = "Let's start with our first story: {headline}"
NEXT_TOPIC = (
    "Next up: {headline}",
    "Moving on. Our next story: {headline}",
    "Let's turn to another story: {headline}",
)
LAST_TOPIC = "And our last story today: {headline}"
THANKS = (
    "Thanks, {cohost}.",
    "Thanks for walking us through that, {cohost}.",
    "Good summary, {cohost}. Thank you.",
)
ATTRIBUTION = (
    "This comes from {source}. ",
    "{source} has the details. ",
    "Here's the report from {source}. ",
)
OTHER_SOURCE = "Another source, {source}, adds this. "
REACTIONS = ("", "Right. ", "Yes, and there's more. ", "Here's another detail. ", "Also worth knowing. ", "")
GOODBYE = "That's all for today's episode of {show}."
COHOST_GOODBYE = "Thanks for listening. Links to every source are in the episode notes."
SEE_YOU = "See you next time."
SOLO_GOODBYE = "That's all for today's episode of {show}. Thanks for listening, and see you next time."

FRAME_TEMPLATES = (
    WELCOME,
    COHOST_HELLO,
    SOLO_HELLO,
    PREVIEW,
    FIRST_TOPIC,
    *NEXT_TOPIC,
    LAST_TOPIC,
    *THANKS,
    GOODBYE,
    COHOST_GOODBYE,
    SEE_YOU,
    SOLO_GOODBYE,
)
FACT_PREFIXES = (*ATTRIBUTION, OTHER_SOURCE, *REACTIONS)

_NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]


@dataclass(frozen=True)
class Material:
    headline: str
    topic_id: str | None
    facts: list[FactIn]


def _pick(options: tuple[str, ...], *keys: object) -> str:
    """A deterministic choice: the same keys always pick the same option."""
    digest = hashlib.sha256("|".join(str(k) for k in keys).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _end(headline: str) -> str:
    return headline if headline[-1] in ".!?" else f"{headline}."


def _count(n: int) -> str:
    word = _NUMBERS[n - 1] if n <= len(_NUMBERS) else str(n)
    return f"{word} {'story' if n == 1 else 'stories'}"


def material(snippet: SnippetIn, used: set[str]) -> Material:
    """A snippet's facts, best first, without sentences another topic already uses."""
    facts = list(snippet.facts)
    if not facts and snippet.summary:
        first = next((s for s in snippet.sources if isinstance(s.get("url"), str)), {})
        facts = [
            FactIn(text=t, source_url=first.get("url"), publication=first.get("publication"))
            for t in split_sentences(snippet.summary)
        ]
    kept: list[FactIn] = []
    for fact in facts:
        key = sentence_key(fact.text)
        if key and key not in used:
            used.add(key)
            kept.append(fact)
    return Material(snippet.headline, snippet.topic_id or snippet.id, kept)


def _topic_lines(index: int, total: int, topic: Material, facts: list[FactIn], hosts: list[Host]) -> list[Line]:
    lead = hosts[0].name
    others = [h.name for h in hosts[1:]] + [lead] if len(hosts) > 1 else [lead]
    if index == 0:
        opener = FIRST_TOPIC
    elif index == total - 1:
        opener = LAST_TOPIC
    else:
        opener = _pick(NEXT_TOPIC, topic.headline, index)
    lines = [Line(speaker=lead, text=_end(opener.format(headline=topic.headline)))]
    ordered = sorted(facts, key=lambda f: tuple(f.order or [0, 0]))
    previous_source: str | None = None
    for j, fact in enumerate(ordered):
        speaker = others[j % len(others)]
        name = fact.publication
        if j == 0 and name:
            prefix = _pick(ATTRIBUTION, topic.headline, "source").format(source=name)
        elif name and name != previous_source and previous_source is not None:
            prefix = OTHER_SOURCE.format(source=name)
        elif len(hosts) > 1 and j > 0:
            prefix = _pick(REACTIONS, topic.headline, j)
        else:
            prefix = ""
        previous_source = name or previous_source
        lines.append(
            Line(speaker=speaker, text=f"{prefix}{fact.text}", sources=[fact.source_url] if fact.source_url else [])
        )
    if len(hosts) > 1 and ordered and lines[-1].speaker != lead:
        thanks = _pick(THANKS, topic.headline, "thanks").format(cohost=lines[-1].speaker)
        lines.append(Line(speaker=lead, text=thanks))
    return lines


def render(request: ScriptRequest, topics: list[Material], chosen: list[list[FactIn]], notes: list[str]) -> Script:
    hosts = request.hosts
    show = request.show_title
    lead = hosts[0].name
    headlines = [t.headline for t in topics]
    intro = [Line(speaker=lead, text=WELCOME.format(show=show, host=lead))]
    if len(hosts) > 1:
        intro.append(
            Line(speaker=hosts[1].name, text=COHOST_HELLO.format(cohost=hosts[1].name, count=_count(len(topics))))
        )
    else:
        intro.append(Line(speaker=lead, text=SOLO_HELLO.format(count=_count(len(topics)))))
    if len(topics) > 1:
        listed = "; ".join(h.rstrip(".!?") for h in headlines[:-1]) + f"; and {headlines[-1].rstrip('.!?')}"
        intro.append(Line(speaker=lead, text=PREVIEW.format(headlines=listed)))
    segments = [Segment(kind="intro", title="Welcome", lines=intro)]
    for index, topic in enumerate(topics):
        lines = _topic_lines(index, len(topics), topic, chosen[index], hosts)
        segments.append(Segment(kind="topic", title=topic.headline, topic_id=topic.topic_id, lines=lines))
    if len(hosts) > 1:
        outro = [
            Line(speaker=lead, text=GOODBYE.format(show=show)),
            Line(speaker=hosts[1].name, text=COHOST_GOODBYE),
            Line(speaker=lead, text=SEE_YOU),
        ]
    else:
        outro = [Line(speaker=lead, text=SOLO_GOODBYE.format(show=show))]
    segments.append(Segment(kind="outro", title="Goodbye", lines=outro))

    refs: dict[str, SourceRef] = {}
    for facts in chosen:
        for fact in facts:
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


def _repeats(fact: FactIn, chosen: list[FactIn]) -> bool:
    """True when most of the fact's words were said already by a chosen fact (another source's retelling)."""
    words = set(content_tokens(fact.text))
    for other in chosen:
        theirs = set(content_tokens(other.text))
        if words and theirs and len(words & theirs) / min(len(words), len(theirs)) >= REPEAT_OVERLAP:
            return True
    return False


def _words(index: int, topics: list[Material], facts: list[FactIn], request: ScriptRequest) -> int:
    lines = _topic_lines(index, len(topics), topics[index], facts, request.hosts)
    return sum(count_words(line.text) for line in lines)


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
    cursor = [0] * len(topics)
    budget = target * OVERSHOOT
    total = render(request, topics, chosen, notes).word_count
    segment_words = [_words(i, topics, chosen[i], request) for i in range(len(topics))]
    while True:
        added = False
        for i in sorted(range(len(topics)), key=lambda k: (segment_words[k], k)):
            while cursor[i] < len(topics[i].facts):
                fact = topics[i].facts[cursor[i]]
                cursor[i] += 1
                if _repeats(fact, chosen[i]):
                    continue
                trial_words = _words(i, topics, [*chosen[i], fact], request)
                if total - segment_words[i] + trial_words <= budget:
                    chosen[i] = [*chosen[i], fact]
                    total += trial_words - segment_words[i]
                    segment_words[i] = trial_words
                    added = True
                    break
            if added:
                break
        if not added:
            break
    script = render(request, topics, chosen, notes)
    if script.word_count < target * SHORTFALL:
        script.notes.append(
            f"the sources hold material for {script.word_count} of the {target} words asked for "
            f"({request.minutes:g} minutes at {request.words_per_minute} words a minute)"
        )
    return script
