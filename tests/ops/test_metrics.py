"""/metrics through the real gateway: Prometheus text that prometheus_client's parser reads, with the
named figures computed from the database and from this process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pydantic import SecretStr

from aether.config import Settings
from aether.db.pool import connect
from aether.db.stats import STATS
from aether.ops.metrics import gather_sync, render


def _seed(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tasks (task_type, agent_name, status, scheduled_at, created_at) VALUES "
            "('tda.discover', 'tda', 'pending', LOCALTIMESTAMP - INTERVAL '10 minutes', LOCALTIMESTAMP), "
            "('tda.discover', 'tda', 'pending', LOCALTIMESTAMP - INTERVAL '1 minute', LOCALTIMESTAMP), "
            "('tda.discover', 'tda', 'pending', LOCALTIMESTAMP + INTERVAL '1 day', LOCALTIMESTAMP), "
            "('vfa.voice', 'vfa', 'completed', NULL, LOCALTIMESTAMP)"
        )
        conn.execute(
            "UPDATE tasks SET started_at = LOCALTIMESTAMP - INTERVAL '3 seconds', completed_at = LOCALTIMESTAMP "
            "WHERE task_type = 'vfa.voice'"
        )
        conn.execute(
            "INSERT INTO tasks (task_type, agent_name, status, started_at, completed_at) VALUES "
            "('vfa.voice', 'vfa', 'completed', LOCALTIMESTAMP - INTERVAL '20 seconds', LOCALTIMESTAMP), "
            "('vfa.voice', 'vfa', 'failed', LOCALTIMESTAMP - INTERVAL '0.2 seconds', LOCALTIMESTAMP)"
        )
        conn.execute(
            "INSERT INTO workflow_instances (definition_name, status) VALUES "
            "('episode', 'completed'), ('episode', 'completed'), ('episode', 'failed')"
        )
        conn.execute(
            "INSERT INTO backups (id, kind, status, location, started_at, finished_at) VALUES "
            "('b1', 'logical', 'completed', '/nowhere', LOCALTIMESTAMP - INTERVAL '2 hours', "
            "LOCALTIMESTAMP - INTERVAL '2 hours')"
        )
        conn.execute(
            "INSERT INTO maintenance_runs (job, outcome, finished_at, duration_ms) "
            "VALUES ('analyze', 'succeeded', LOCALTIMESTAMP, 12.5)"
        )


def _families(text: str) -> dict[str, list[Sample]]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, samples)
    return found[0]


TOKEN = "scrape-token-0123456789"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})


@pytest.fixture
def scrape(gateway_url: str, database_url: str) -> Iterator[dict[str, list[Sample]]]:
    _seed(database_url)
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    yield _families(response.text)


def test_metrics_parse_with_every_named_figure(scrape: dict[str, list[Sample]]) -> None:
    for name in (
        "aether_database_up",
        "aether_db_pool_size",
        "aether_db_pool_in_use",
        "aether_db_pool_waiting",
        "aether_db_queries",
        "aether_db_query_errors",
        "aether_db_query_duration_seconds",
        "aether_queue_depth",
        "aether_queue_oldest_age_seconds",
        "aether_tasks",
        "aether_task_duration_seconds",
        "aether_task_error_ratio",
        "aether_workflows",
        "aether_database_size_bytes",
        "aether_home_disk_free_bytes",
        "aether_backup_last_success_age_seconds",
        "aether_maintenance_last_run_age_seconds",
    ):
        assert name in scrape, name
    assert _value(scrape["aether_database_up"], "aether_database_up") == 1
    assert _value(scrape["aether_db_pool_size"], "aether_db_pool_size", pool="aether-gateway-primary") >= 1
    assert _value(scrape["aether_db_pool_waiting"], "aether_db_pool_waiting", pool="aether-gateway-primary") == 0
    assert _value(scrape["aether_database_size_bytes"], "aether_database_size_bytes") > 1_000_000
    assert _value(scrape["aether_home_disk_free_bytes"], "aether_home_disk_free_bytes") > 0


def test_queue_tasks_and_workflows(scrape: dict[str, list[Sample]]) -> None:
    # two due tasks; the one scheduled tomorrow is not in the queue yet
    assert _value(scrape["aether_queue_depth"], "aether_queue_depth", task_type="tda.discover", agent="tda") == 2
    age = _value(scrape["aether_queue_oldest_age_seconds"], "aether_queue_oldest_age_seconds", agent="tda")
    assert 590 <= age < 3600
    assert _value(scrape["aether_tasks"], "aether_tasks", task_type="tda.discover", status="pending") == 3
    durations = scrape["aether_task_duration_seconds"]
    assert _value(durations, "aether_task_duration_seconds_count", task_type="vfa.voice") == 3
    assert _value(durations, "aether_task_duration_seconds_bucket", task_type="vfa.voice", le="0.5") == 1
    assert _value(durations, "aether_task_duration_seconds_bucket", task_type="vfa.voice", le="5.0") == 2
    assert _value(durations, "aether_task_duration_seconds_bucket", task_type="vfa.voice", le="+Inf") == 3
    assert _value(durations, "aether_task_duration_seconds_sum", task_type="vfa.voice") == pytest.approx(23.2)
    ratio = _value(scrape["aether_task_error_ratio"], "aether_task_error_ratio", task_type="vfa.voice")
    assert ratio == pytest.approx(1 / 3)
    workflows = scrape["aether_workflows"]
    assert _value(workflows, "aether_workflows", definition="episode", status="completed") == 2
    assert _value(workflows, "aether_workflows", definition="episode", status="failed") == 1


def test_backups_maintenance_and_query_timings(scrape: dict[str, list[Sample]]) -> None:
    age = _value(scrape["aether_backup_last_success_age_seconds"], "aether_backup_last_success_age_seconds")
    assert 7200 <= age < 7300
    ran = _value(
        scrape["aether_maintenance_last_duration_seconds"], "aether_maintenance_last_duration_seconds", job="analyze"
    )
    assert ran == pytest.approx(0.0125)
    latency = scrape["aether_db_query_duration_seconds"]
    count = _value(latency, "aether_db_query_duration_seconds_count", query="metrics_queue")
    assert count >= 1
    assert _value(latency, "aether_db_query_duration_seconds_bucket", query="metrics_queue", le="+Inf") == count
    assert _value(scrape["aether_db_queries"], "aether_db_queries_total", query="metrics_queue") == count


def test_a_snapshot_without_a_database_still_renders(settings: Settings) -> None:
    snapshot = gather_sync(None, settings)
    families = _families(render(snapshot).decode())
    assert _value(families["aether_database_up"], "aether_database_up") == 0
    assert "aether_home_disk_free_bytes" in families


def test_a_missing_table_leaves_the_other_figures(settings: Settings, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE maintenance_runs")
    STATS.reset()
    assert settings.database_url is not None
    with connect(settings.database_url.get_secret_value(), settings, autocommit=True) as conn:
        snapshot = gather_sync(conn, settings)
    assert "maintenance" in snapshot.errors and "database" not in snapshot.errors
    families = _families(render(snapshot).decode())
    assert _value(families["aether_database_up"], "aether_database_up") == 1
    assert "aether_database_size_bytes" in families
