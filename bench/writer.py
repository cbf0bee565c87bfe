"""Both script writers on the bundled samples: how much they read like two people talking.

The sample feed and its three articles (src/aether/samples) are read the way the pipeline reads them
(aether.agents.tda.fetch serves the bundled samples; the article text is extracted, split into source
sentences and ranked as sca.snippets does), then made into episodes of a few story mixes and lengths.
Each script goes through aether.agents.pswa.validate; per writer the figures are summed:

* speaker_changes: the share of consecutive lines spoken by another host (1.0: they always alternate);
* repeated_phrases: stock phrases said a second (third, ...) time in the same episode;
* dangling_openers: sentences opening with "It", "This", "Also", ... whose antecedent was not just said;
* same_speaker: consecutive lines of one host (the speaker-change share counts the same thing per line);
* unsourced: facts not from the sources (checked for the offline writer only, as the validator does).

The LLM writer runs against the local OpenAI-compatible stand-in of the tests (tests/providers): its first
reply is what a careless model writes (sentences dealt out in turns, the same stock phrases), and asked
again with the validator's problems it answers with the hosts in turn. Its figures measure the validator
and the retry path (first reply, then the script kept), not a real model's prose.

The last line is the offline writer's:
    writer=offline speaker_changes=X repeated_phrases=N dangling_openers=N

Run: .venv/bin/python -P bench/writer.py
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from aether.agents.pswa import llm as pswa_llm
from aether.agents.pswa import offline as pswa_offline
from aether.agents.pswa.script import Script, ScriptRequest
from aether.agents.pswa.validate import Measure, dependent, measure
from aether.agents.sca import snippets as sca
from aether.agents.tda import feeds, fetch
from aether.agents.tda.topics import extract_keywords
from aether.config import load_settings
from aether.providers.llm import LLMClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # the stand-in server lives with the tests (appended: bench/queue.py must not shadow)

from tests.providers.openai_standin import start_openai_standin  # noqa: E402

MIXES = [(0, 1, 2), (1,), (2, 0), (0,)]
MINUTES = [3, 5]
QUESTIONS = ("What happened with {}?", "Tell us about {}.", "What about {}?", "What's new on {}?")


def sample_snippets() -> list[dict[str, Any]]:
    """The bundled feed's stories as sca.snippets makes them (extractive mode)."""
    served = fetch.sample(f"{fetch.SAMPLES_URL}/feed.xml")
    assert served.body is not None
    parsed = feeds.parse_feed(served.body, content_type=served.content_type or "", url=served.url, max_items=20)
    out: list[dict[str, Any]] = []
    for item in parsed.items:
        page = fetch.sample(item.url)
        text = feeds.extract_article(page.body or b"", url=item.url) or item.text
        documents = [sca.Document(item.url, item.title, text, parsed.title)]
        keywords = [k for k, _ in extract_keywords(f"{item.title}. {text}", "en")]
        ranked = sca.rank_facts(sca.candidate_sentences(documents))
        out.append(
            {
                "id": item.url,
                "topic_id": item.url,
                "headline": sca.headline_of(item.title),
                "summary": " ".join(f.text for f in sca.choose_summary(ranked)),
                "facts": [f.as_dict() for f in ranked],
                "sources": [{"url": item.url, "title": item.title, "publication": parsed.title}],
                "keywords": keywords,
            }
        )
    return out


def _stories(body: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    hosts = re.findall(r"one of: (.+)\.$", body["messages"][0]["content"])[0].split(", ")
    return hosts, json.loads(body["messages"][1]["content"])["stories"]


def naive_reply(body: dict[str, Any]) -> str:
    """The stand-in's first answer, as a careless model writes: sentences dealt out in turns per story,
    the lead opening every story, the same stock phrases again and again."""
    hosts, stories = _stories(body)
    segments = [{"kind": "intro", "title": "Welcome", "lines": [{"speaker": hosts[0], "text": "Welcome back!"}]}]
    for story in stories:
        lines = [{"speaker": hosts[0], "text": f"Next up: {story['headline']}"}]
        for i, fact in enumerate(story["source_sentences"][:5]):
            stock = ("Right. ", "Here's another detail. ", "")[i % 3]
            lines.append({"speaker": hosts[(i + 1) % len(hosts)], "text": stock + fact["text"]})
        segments.append({"kind": "topic", "title": story["headline"], "topic_id": story["topic_id"], "lines": lines})
    segments.append({"kind": "outro", "title": "Bye", "lines": [{"speaker": hosts[-1], "text": "Goodbye!"}]})
    return json.dumps({"episode_title": "Today", "description": "Stories.", "segments": segments})


def careful_reply(body: dict[str, Any]) -> str:
    """The stand-in's answer once the validator's problems are listed: hosts in turn, a question of its
    own per story, sentences that lean on an unsaid one left out."""
    hosts, stories = _stories(body)
    turn = itertools.cycle(hosts)
    segments = [{"kind": "intro", "title": "Welcome", "lines": [{"speaker": next(turn), "text": "Welcome back!"}]}]
    for index, story in enumerate(stories):
        lines = [{"speaker": next(turn), "text": QUESTIONS[index % len(QUESTIONS)].format(story["headline"])}]
        said = [f["text"] for f in story["source_sentences"] if not dependent(f["text"])][:4]
        lines += [{"speaker": next(turn), "text": text} for text in said]
        segments.append({"kind": "topic", "title": story["headline"], "topic_id": story["topic_id"], "lines": lines})
    segments.append({"kind": "outro", "title": "Bye", "lines": [{"speaker": next(turn), "text": "Goodbye!"}]})
    return json.dumps({"episode_title": "Today", "description": "Stories.", "segments": segments})


def total(measures: list[Measure]) -> dict[str, Any]:
    pairs = sum(m.lines - 1 for m in measures)
    changes = sum(m.speaker_changes * (m.lines - 1) for m in measures)
    return {
        "scripts": len(measures),
        "lines": sum(m.lines for m in measures),
        "speaker_changes": round(changes / max(1, pairs), 3),
        "repeated_phrases": sum(m.repeated_phrases for m in measures),
        "dangling_openers": sum(m.dangling_openers for m in measures),
        "same_speaker": sum(m.same_speaker for m in measures),
        "unsourced": sum(m.unsourced for m in measures),
    }


def line(writer: str, figures: dict[str, Any]) -> str:
    return (
        f"writer={writer} speaker_changes={figures['speaker_changes']} repeated_phrases={figures['repeated_phrases']} "
        f"dangling_openers={figures['dangling_openers']}"
    )


def detail(writer: str, figures: dict[str, Any]) -> str:
    return (
        f"  {writer}: same_speaker={figures['same_speaker']} unsourced={figures['unsourced']} "
        f"scripts={figures['scripts']} lines={figures['lines']}"
    )


async def llm_scripts(requests: list[ScriptRequest]) -> list[Script]:
    standin = start_openai_standin(api_key="sk-bench")
    scripts: list[Script] = []
    try:
        async with LLMClient(standin.base_url, "standin", api_key=SecretStr("sk-bench"), max_retries=0) as llm:
            for request in requests:
                standin.replies[:] = [naive_reply, careful_reply, careful_reply]
                script, _ = await pswa_llm.write_llm(llm, request)
                scripts.append(script)
    finally:
        standin.close()
    return scripts


def main() -> None:
    settings = load_settings()
    snippets = sample_snippets()
    requests = [
        ScriptRequest.parse({"snippets": [snippets[i] for i in mix], "minutes": minutes}, settings)
        for mix in MIXES
        for minutes in MINUTES
    ]
    print(f"{len(snippets)} sample stories; {len(requests)} episodes: story mixes {MIXES} x {MINUTES} minutes")
    print(f"offline writer: prompt version {pswa_offline.PROMPT_VERSION}")
    offline = total([measure(pswa_offline.write_offline(r), r) for r in requests])
    print(
        "llm writer: against the local OpenAI-compatible stand-in (tests/providers/openai_standin.py), which "
        "first answers as a careless model would, then, asked again, with hosts in turn: not a real model"
    )
    scripts = asyncio.run(llm_scripts(requests))
    first = total([measure(Script.model_validate(_first(r)), r) for r in requests])
    print(line("llm-first-reply", first))
    print(detail("llm-first-reply", first))
    llm = total([measure(s, r) for s, r in zip(scripts, requests, strict=True)])
    print(line("llm", llm))
    print(detail("llm", llm))
    print(detail("offline", offline))
    print(line("offline", offline))


def _first(request: ScriptRequest) -> dict[str, Any]:
    """The stand-in's first (careless) reply as a Script, measured before any retry."""
    body = {"messages": pswa_llm.messages_for(request)}
    validate = pswa_llm._validator(request, "standin")
    return validate(json.loads(naive_reply(body))).model_dump(mode="json")


if __name__ == "__main__":
    main()
