"""Demo content: on a new, empty installation `aether up` creates a demo show and starts its first
episode, so the home page is never empty: until an episode is published it shows the demo episode's
progress in words, or why it failed (`demo_episode`)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from aether.agents.tda.fetch import SAMPLES_FEED
from aether.config import Settings
from aether.db import AsyncConnection, Database, load_queries
from aether.podcasts import episodes, shows
from aether.podcasts.models import EpisodeIn
from aether.podcasts.plan import public_url
from aether.security import accounts

log = logging.getLogger(__name__)
Q = load_queries(__file__, "demo.sql")


DEMO_EMAIL = "demo@aether.invalid"
# What the demo episode is about: a subject the bundled sample articles cover, so it finds its stories.
DEMO_TOPIC = "Small language models that run on ordinary laptops"
DEMO_SLUG = "aether-demo"


async def ensure_demo_content(db: Database, settings: Settings) -> str | None:
    """Create the demo show and its first episode when the installation has no show at all; returns the
    demo episode's id (None when nothing was created)."""
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock(4707092)")
        cur = await conn.execute(shows.Q.count_shows)
        row = await cur.fetchone()
        if row is not None and row["n"] > 0:
            return None
        cur = await conn.execute(accounts.Q.user_for_login, {"email": DEMO_EMAIL})
        user = await cur.fetchone()
        if user is None:
            created = await accounts.register(conn, DEMO_EMAIL, secrets.token_urlsafe(24), "Aether demo", role="user")
            await conn.execute("UPDATE users SET is_active = FALSE WHERE id = %(id)s", {"id": created["id"]})
            user_id = created["id"]
        else:
            user_id = user["id"]
        base = public_url(settings)
        show = await shows.create_show(
            conn,
            user_id,
            {
                "title": "Aether Demo",
                "description": "A demo show made by Aether's agents: topics in, a podcast episode out.",
                "author": "Aether",
                "owner_email": None,
                "language": "en",
                "category": "Technology",
                "explicit": False,
                "hosts": ["Alex", "Sam"],
                "sources": [SAMPLES_FEED],  # read from the package: any port, offline
                "schedule": None,
            },
            base_url=base,
            explicit_slug=DEMO_SLUG,
            settings=settings,
        )
        body = EpisodeIn(
            topic=DEMO_TOPIC,
            title="Welcome to Aether",
            description="The first episode of the demo show: how Aether's agents work together.",
            episode_minutes=2,
        )
        try:
            episode = await episodes.start_episode(conn, user_id, {}, show["id"], body)
        except Exception as exc:  # the workflow may not be registered in a partial installation
            log.warning("demo show created without an episode: %s", exc)
            return None
    log.info("created the demo show %s and its first episode %s", DEMO_SLUG, episode["id"])
    return str(episode["id"])


async def demo_episode(conn: AsyncConnection) -> dict[str, Any] | None:
    """The demo show's newest episode with its progress (`said`, `error`), or None without a demo show."""
    cur = await conn.execute(Q.latest_demo_episode, {"slug": DEMO_SLUG})
    row = await cur.fetchone()
    if row is None:
        return None
    episode = dict(row)
    state = await episodes.progress(conn, episode)
    return episode | {"said": state["said"], "error": state.get("error")}
