"""Scheduled shows: a show's `schedule` (cron, UTC) starts its episodes by itself.

The periodic task `shows.tick` (every minute, created by migration 0010; task type `shows.tick`, agent
"shows") looks at every show with a schedule. A show is due when a tick of its cron fell after
`shows.schedule_fired_at` (the last tick it ran for; setting or changing the schedule sets it to that
moment, so a new schedule first fires at its next tick; missed ticks fire once, not once each). For a
due show the tick

1. reads the show's feeds (TDA discovery; a broken feed never stops the run),
2. in one transaction: claims the tick (a conditional UPDATE of `schedule_fired_at`, so two schedulers
   or two overlapping ticks start one episode, never two), picks the best-ranked topics discovered since
   the show's last episode and covered by none of its episodes, and starts the episode the way
   `POST /v1/shows/{id}/episodes` does (`aether.podcasts.episodes.start_episode`): the episodes row and
   the whole `podcast_episode` workflow on those topics, publishing to the show's targets.

With no new topic the tick is still claimed (and reported as `no_topics`): the show waits for its next
tick. A crash before the commit leaves the tick unclaimed, so the next look runs it.

A schedule may not fire more often than AETHER_SCHEDULE_MIN_INTERVAL_MINUTES: `check_interval` measures the
shortest gap between its next `GAP_SAMPLE` fire times (422 naming `schedule` when it is shorter).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import CroniterBadCronError, croniter

from aether.agents.tda import discover as tda
from aether.config import Settings
from aether.db import AsyncConnection, Database, load_queries
from aether.errors import ValidationFailed
from aether.podcasts.episodes import start_episode
from aether.podcasts.models import EpisodeIn
from aether.queue.periodic import latest_tick
from aether.queue.tasks import JSON, Blueprint, TaskContext

Q = load_queries(__file__, "schedule.sql")
log = logging.getLogger(__name__)

TICK_TASK = "shows.tick"
AGENT = "shows"
TOPICS_PER_EPISODE = 3  # as many as the discover step of podcast_episode hands on
DESCRIPTION_MAX = 4000
GAP_SAMPLE = 400  # fire times looked at: a day's pattern and the turns of days and months show up in them

CpuRunner = Callable[..., Awaitable[Any]]


tasks = Blueprint()


@dataclass
class ScheduledRun:
    show_id: int
    tick_at: str
    outcome: str  # started | no_topics | taken (another scheduler ran this tick) | error (tried again)
    episode_id: str | None = None
    error: str | None = None
    workflow_id: str | None = None
    topic_ids: list[str] = field(default_factory=list)


def due_tick(cron: str, fired_at: datetime | None, now: datetime) -> datetime | None:
    """The latest tick of `cron` after `fired_at` and not after `now` (None: not due)."""
    if fired_at is None:
        return None  # the schedule's start is recorded when it is set (trigger of migration 0010)
    try:
        return latest_tick(cron, fired_at, now)
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        log.error("show schedule %r is not a valid cron expression: %s", cron, exc)
        return None


def shortest_gap(cron: str, start: datetime, *, fires: int = GAP_SAMPLE, floor: timedelta | None = None) -> timedelta:
    """The shortest time between two of the next `fires` fire times of `cron` after `start` (stops early once a
    gap is under `floor`). ValueError when the expression never fires (e.g. '0 0 31 2 *')."""
    it = croniter(cron, start)
    previous: datetime = it.get_next(datetime)
    shortest = timedelta.max
    for _ in range(fires - 1):
        current: datetime = it.get_next(datetime)
        shortest = min(shortest, current - previous)
        if floor is not None and shortest < floor:
            break
        previous = current
    return shortest


def check_interval(cron: str, min_minutes: int, *, now: datetime | None = None) -> None:
    """Refuse (422, field `schedule`) a schedule that runs a show more often than every `min_minutes`."""
    floor = timedelta(minutes=min_minutes)
    try:
        gap = shortest_gap(cron, now or datetime.now(UTC).replace(tzinfo=None), floor=floor)
    except (CroniterBadCronError, ValueError) as exc:
        raise ValidationFailed(f"schedule {cron!r} never fires: {exc}", field="schedule") from None
    if gap < floor:
        raise ValidationFailed(
            f"schedule {cron!r} would start a run {int(gap.total_seconds() // 60)} minutes after the one before; "
            f"the shortest interval allowed is {min_minutes} minutes (AETHER_SCHEDULE_MIN_INTERVAL_MINUTES)",
            field="schedule",
        )


async def discover_feeds(db: Database, settings: Settings, feeds: list[str], cpu: CpuRunner | None) -> None:
    """Read the show's own feeds (a show without sources reads nothing); failures are logged only."""
    if not feeds:
        return
    try:
        await tda.discover(db, settings, feeds=feeds, limit=TOPICS_PER_EPISODE, cpu=cpu)
    except Exception as exc:  # a broken feed or no feed at all: pick from what is already known
        log.warning("reading the feeds of a scheduled show failed: %s", exc)


async def pick_topics(
    conn: AsyncConnection, show_id: int, feeds: list[str], limit: int = TOPICS_PER_EPISODE
) -> list[dict[str, Any]]:
    cur = await conn.execute(Q.pick_topics, {"show_id": show_id, "feeds": feeds, "limit": limit})
    return [dict(r) for r in await cur.fetchall()]


def episode_request(topics: list[dict[str, Any]], *, video: bool = False) -> Any:
    """The body POST /v1/shows/{id}/episodes would get for these topics (the best one names the episode)."""
    lead = " ".join(str(topics[0]["title"]).split())
    title = lead[:300]
    lines = [f"- {' '.join(str(t['title']).split())}" for t in topics]
    description = "In this episode:\n" + "\n".join(lines)
    return EpisodeIn(
        topic=lead[:500] if len(lead) >= 3 else f"News: {lead}",
        title=title,
        description=description[:DESCRIPTION_MAX],
        video=video,
    )


async def run_show(db: Database, settings: Settings, show: dict[str, Any], tick_at: datetime) -> ScheduledRun:
    """Claim this tick of the show and start its episode, in one transaction."""
    run = ScheduledRun(show["id"], tick_at.isoformat(), "taken")
    feeds = [str(f) for f in show["sources"] or []]
    async with db.transaction() as conn:
        cur = await conn.execute(Q.claim_run, {"id": show["id"], "cron": show["schedule"], "tick_at": tick_at})
        if await cur.fetchone() is None:
            return run
        if not feeds:
            run.outcome = "no_sources"
            log.warning("show %s: scheduled run at %s skipped: the show has no sources", show["id"], tick_at)
            return run
        topics = await pick_topics(conn, show["id"], feeds)
        if not topics:
            run.outcome = "no_topics"
            log.info("show %s: scheduled run at %s found no new topic", show["id"], tick_at)
            return run
        run.topic_ids = [t["id"] for t in topics]
        row = await start_episode(
            conn,
            show["user_id"],
            {},
            show["id"],
            episode_request(topics),
            settings=settings,
            topic_ids=run.topic_ids,
            trigger="schedule",
        )
    run.outcome = "started"
    run.episode_id = str(row["id"])
    run.workflow_id = str(row["workflow_id"])
    log.info(
        "show %s: scheduled run at %s started episode %s on %d topic(s)",
        show["id"],
        tick_at,
        run.episode_id,
        len(topics),
        extra={"workflow_id": run.workflow_id},
    )
    return run


async def run_due(
    db: Database, settings: Settings, *, now: datetime | None = None, cpu: CpuRunner | None = None
) -> list[ScheduledRun]:
    """Start the episode of every show whose schedule fired since its last run. `now`: naive UTC."""
    shows = [dict(r) for r in await db.fetch_all(Q.scheduled_shows)]
    runs: list[ScheduledRun] = []
    for show in shows:
        tick_at = due_tick(show["schedule"], show["schedule_fired_at"], now or show["db_now"])
        if tick_at is None:
            continue
        await discover_feeds(db, settings, [str(f) for f in show["sources"] or []], cpu)
        try:
            runs.append(await run_show(db, settings, show, tick_at))
        except Exception as exc:  # one show's trouble never stops the others; its tick stays unclaimed
            log.exception("show %s: the scheduled run at %s failed", show["id"], tick_at)
            runs.append(ScheduledRun(show["id"], tick_at.isoformat(), "error", error=str(exc)[:500]))
    return runs


@tasks.task(TICK_TASK, agent=AGENT)
async def tick_handler(ctx: TaskContext, payload: JSON) -> JSON:
    runs = await run_due(ctx.db, ctx.settings, cpu=ctx.run_cpu)
    return {"runs": [asdict(r) for r in runs]}
