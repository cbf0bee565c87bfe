"""Recording metrics: `record(conn, "messages_sent", 1, agent="telegram", show_id=3, chat_id="@news")`.

A metric is one `analytics` row: a name, a number, the agent it belongs to and its dimensions in
`metadata` (show, episode, agent, task type ...). The row lands in the partition of its month (see
`aether.analytics.partitions`). Recording runs in the caller's transaction, so a metric recorded with
the side effect it counts commits or rolls back with it.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from aether.db import AsyncConnection, Connection, load_queries
from aether.errors import ValidationFailed

Q = load_queries(__file__, "recording.sql")

# The metrics Aether records (others may be recorded; these are the ones the dashboards read).
VIDEOS_CREATED = "videos_created"
MESSAGES_SENT = "messages_sent"
EPISODES_PUBLISHED = "episodes_published"
EPISODE_DOWNLOADS = "episode_downloads"
TTS_SECONDS = "tts_seconds"
LLM_TOKENS = "llm_tokens"
TASK_DURATION_SECONDS = "task_duration_seconds"
TASK_FAILURES = "task_failures"
FEED_PINGS = "feed_pings"

KNOWN_METRICS = frozenset(
    {
        VIDEOS_CREATED,
        MESSAGES_SENT,
        EPISODES_PUBLISHED,
        EPISODE_DOWNLOADS,
        TTS_SECONDS,
        LLM_TOKENS,
        TASK_DURATION_SECONDS,
        TASK_FAILURES,
        FEED_PINGS,
    }
)

_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_DIMENSION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
Scalar = str | int | float | bool | None


def utc_naive(moment: datetime) -> datetime:
    """analytics.recorded_at is a naive UTC TIMESTAMP: aware times are converted, naive ones taken as UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def metric_row(
    metric_name: str, value: float | int | Decimal, agent: str | None, at: datetime | None, dimensions: dict[str, Any]
) -> dict[str, Any]:
    """Validate one metric and build the parameters of its INSERT; a clear error names the bad field."""
    if not isinstance(metric_name, str) or not _METRIC_NAME.match(metric_name):
        raise ValidationFailed(
            "metric_name must be 1-100 characters of a-z, 0-9 and _, starting with a letter", field="metric_name"
        )
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationFailed(f"value must be a number (got {type(value).__name__})", field="value")
    if not math.isfinite(float(value)):
        raise ValidationFailed("value must be a finite number", field="value")
    if agent is not None and (not isinstance(agent, str) or not agent.strip() or len(agent) > 100):
        raise ValidationFailed("agent must be a non-empty name of at most 100 characters", field="agent")
    metadata: dict[str, Scalar] = {}
    for key, item in dimensions.items():
        if not _DIMENSION_NAME.match(key):
            raise ValidationFailed(f"dimension name {key!r} must be an identifier", field=key)
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ValidationFailed(
                f"dimension {key} must be a string, number, boolean or null (got {type(item).__name__})", field=key
            )
        metadata[key] = item
    if agent is not None:
        metadata.setdefault("agent", agent)
    return {
        "metric_name": metric_name,
        "value": value,
        "agent": agent,
        "metadata": Jsonb(metadata),
        "at": utc_naive(at) if at is not None else None,
    }


def record(
    conn: Connection,
    metric_name: str,
    value: float | int | Decimal,
    agent: str | None = None,
    *,
    at: datetime | None = None,
    **dimensions: Any,
) -> int:
    """Insert one metric in the caller's transaction; returns the row id. `at` defaults to now (UTC)."""
    params = metric_row(metric_name, value, agent, at, dimensions)
    row = conn.execute(Q.insert_metric, params).fetchone()
    assert row is not None
    return int(row["id"])


async def record_async(
    conn: AsyncConnection,
    metric_name: str,
    value: float | int | Decimal,
    agent: str | None = None,
    *,
    at: datetime | None = None,
    **dimensions: Any,
) -> int:
    """`record` for an async connection (workers, gateway)."""
    params = metric_row(metric_name, value, agent, at, dimensions)
    cur = await conn.execute(Q.insert_metric, params)
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])
