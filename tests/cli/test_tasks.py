from __future__ import annotations

import json

from aether.db.pool import Database
from aether.queue import NewTask, enqueue
from tests.support import run_aether


async def test_tasks_commands(db: Database, cli_env: dict[str, str]) -> None:
    async with db.transaction() as conn:
        first, second, third = await enqueue(
            conn,
            [NewTask("t.one", "alpha", {"x": 1}), NewTask("t.two", "beta", {}), NewTask("t.two", "beta", {})],
        )
    await db.execute(
        "UPDATE tasks SET status = 'failed', attempts = 5, last_error = %s WHERE id = %s",
        (json.dumps({"message": "boom", "traceback": "Traceback: line 1"}), first),
    )
    out = run_aether(["tasks", "list", "--json", "--agent", "beta", "--page-size", "1"], cli_env)
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert listed["total"] == 2 and listed["pages"] == 2 and [t["id"] for t in listed["tasks"]] == [third]
    page2 = json.loads(
        run_aether(["tasks", "list", "--json", "--agent", "beta", "--page-size", "1", "--page", "2"], cli_env).stdout
    )
    assert [t["id"] for t in page2["tasks"]] == [second]
    failed = json.loads(run_aether(["tasks", "list", "--json", "--status", "failed"], cli_env).stdout)
    assert [t["id"] for t in failed["tasks"]] == [first]
    assert json.loads(run_aether(["tasks", "list", "--json", "--type", "t.one"], cli_env).stdout)["total"] == 1

    shown = run_aether(["tasks", "show", str(first)], cli_env)
    assert shown.returncode == 0 and "boom" in shown.stdout and "Traceback: line 1" in shown.stdout

    retried = run_aether(["tasks", "retry", str(first)], cli_env)
    assert retried.returncode == 0, retried.stderr
    row = await db.fetch_one("SELECT status, attempts FROM tasks WHERE id = %s", (first,))
    assert row == {"status": "pending", "attempts": 0}
    again = run_aether(["tasks", "retry", str(first)], cli_env)
    assert again.returncode == 1 and "only failed or cancelled" in again.stderr

    cancelled = run_aether(["tasks", "cancel", str(second)], cli_env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert await db.fetch_one("SELECT status FROM tasks WHERE id = %s", (second,)) == {"status": "cancelled"}
    twice = run_aether(["tasks", "cancel", str(second)], cli_env)
    assert twice.returncode == 1 and "cancelled" in twice.stderr

    missing = run_aether(["tasks", "show", "999999"], cli_env)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    bad = run_aether(["tasks", "list", "--status", "done"], cli_env)
    assert bad.returncode == 1 and "status must be one of" in bad.stderr


async def test_add_limits_and_periodic(db: Database, cli_env: dict[str, str]) -> None:
    added = run_aether(["tasks", "add", "t.x", "--agent", "gamma", "--payload", '{"a": 2}', "--priority", "7"], cli_env)
    assert added.returncode == 0, added.stderr
    row = await db.fetch_one("SELECT payload, priority, agent_name FROM tasks WHERE id = %s", (int(added.stdout),))
    assert row == {"payload": {"a": 2}, "priority": 7, "agent_name": "gamma"}
    bad = run_aether(["tasks", "add", "t.x", "--agent", "gamma", "--payload", "[1]"], cli_env)
    assert bad.returncode == 1 and "--payload must be a JSON object" in bad.stderr

    assert run_aether(["tasks", "limits", "set", "3", "--agent", "gamma"], cli_env).returncode == 0
    limits = json.loads(run_aether(["tasks", "limits", "list", "--json"], cli_env).stdout)
    assert limits == [{"scope": "agent", "name": "gamma", "max_running": 3, "running": 0}]
    both = run_aether(["tasks", "limits", "set", "3", "--agent", "a", "--type", "b"], cli_env)
    assert both.returncode == 1 and "exactly one of --agent or --type" in both.stderr
    assert run_aether(["tasks", "limits", "clear", "--agent", "gamma"], cli_env).returncode == 0

    saved = run_aether(
        ["tasks", "periodic", "add", "hourly", "--cron", "0 * * * *", "--type", "t.x", "--agent", "gamma"], cli_env
    )
    assert saved.returncode == 0, saved.stderr
    schedules = json.loads(run_aether(["tasks", "periodic", "list", "--json"], cli_env).stdout)
    assert any(s["name"] == "hourly" and s["cron"] == "0 * * * *" for s in schedules)
    wrong = run_aether(["tasks", "periodic", "add", "x", "--cron", "nope", "--type", "t.x", "--agent", "g"], cli_env)
    assert wrong.returncode == 1 and "cron" in wrong.stderr
    assert run_aether(["tasks", "periodic", "disable", "hourly"], cli_env).returncode == 0
    assert run_aether(["tasks", "periodic", "remove", "hourly"], cli_env).returncode == 0
    gone = run_aether(["tasks", "periodic", "remove", "hourly"], cli_env)
    assert gone.returncode == 1 and "no periodic task" in gone.stderr


def test_worker_refuses_to_start_with_the_wrong_master_key(cli_env: dict[str, str]) -> None:
    import base64
    import os

    sealed = run_aether(
        ["credentials", "add", "--platform", "openai", "--key", "api_key"], cli_env, input="sk-0123456789abcd"
    )
    assert sealed.returncode == 0, sealed.stderr
    wrong = {**cli_env, "AETHER_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}
    started = run_aether(["worker", "--concurrency", "1"], wrong, timeout=60)
    assert started.returncode == 1
    assert "key" in started.stderr.lower() and "Traceback" not in started.stderr
