"""`aether sources|topics|script ...` run as a user runs them, against a real database and feed server."""

from __future__ import annotations

import json

import pytest

from tests.agents.feed_server import FeedServer
from tests.support import run_aether

pytestmark = pytest.mark.slow


def _env(cli_env: dict[str, str]) -> dict[str, str]:
    return {**cli_env, "AETHER_TDA_HOST_INTERVAL": "0", "AETHER_TDA_FETCH_TIMEOUT": "2", "AETHER_POOL_MIN_SIZE": "1"}


def test_help_of_every_new_command() -> None:
    for args in (
        ["sources", "--help"],
        ["sources", "add", "--help"],
        ["topics", "--help"],
        ["topics", "discover", "--help"],
        ["topics", "add", "--help"],
        ["script", "write", "--help"],
    ):
        result = run_aether(args, {"PATH": "/usr/bin:/bin"})
        assert result.returncode == 0 and "Usage" in result.stdout, (args, result.stderr)


def test_sources_add_list_remove(cli_env: dict[str, str], feed_server: FeedServer) -> None:
    env = _env(cli_env)
    url = feed_server.url("/rss2.xml")
    added = run_aether(["sources", "add", url], env)
    assert added.returncode == 0 and "added source" in added.stdout, added.stderr
    listed = run_aether(["sources", "list", "--json"], env)
    assert [s["url"] for s in json.loads(listed.stdout)] == [url]

    for wrong in ("feeds.example/rss", "http://exa mple.com/feed", "https://example.com:99999/feed"):
        bad = run_aether(["sources", "add", wrong], env)
        assert bad.returncode == 1, (wrong, bad.stdout)
        assert "url must be an http:// or https:// URL with a host, without spaces" in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr
    assert [s["url"] for s in json.loads(run_aether(["sources", "list", "--json"], env).stdout)] == [url]

    assert run_aether(["sources", "remove", url], env).returncode == 0
    assert json.loads(run_aether(["sources", "list", "--json"], env).stdout) == []
    missing = run_aether(["sources", "remove", url], env)
    assert missing.returncode == 1 and "no source" in missing.stderr


def test_private_addresses_are_refused_by_default(cli_env: dict[str, str], feed_server: FeedServer) -> None:
    """Without AETHER_FETCH_ALLOW_PRIVATE, `sources add` refuses a private address (one line naming the
    field) and discovery refuses to fetch a loopback feed: a source failure with the reason, no request."""
    env = {k: v for k, v in _env(cli_env).items() if k != "AETHER_FETCH_ALLOW_PRIVATE"}
    for url in ("http://169.254.169.254/latest/meta-data/", "http://0x7f000001/feed.xml", feed_server.url("/rss2.xml")):
        refused = run_aether(["sources", "add", url], env)
        assert refused.returncode == 1, refused.stdout
        assert refused.stderr.strip().startswith("aether: error: url: ") and "address" in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert "Traceback" not in refused.stderr
    assert json.loads(run_aether(["sources", "list", "--json"], env).stdout) == []
    fetched = run_aether(["topics", "discover", "--feed", feed_server.url("/rss2.xml")], env)
    assert fetched.returncode == 1 and "refused: 127.0.0.1 is a loopback address" in fetched.stderr, fetched.stderr
    assert "Traceback" not in fetched.stderr
    assert feed_server.requests == []


def test_topics_discover_list_and_broken_feeds(cli_env: dict[str, str], feed_server: FeedServer) -> None:
    env = _env(cli_env)
    found = run_aether(
        [
            "topics",
            "discover",
            "--feed",
            feed_server.url("/rss2.xml"),
            "--feed",
            feed_server.url("/atom.xml"),
            "--json",
        ],
        env,
    )
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert result["topics"][0]["title"] == "Harbor City council approves tidal energy plant"
    assert [s["status"] for s in result["sources"]] == ["ok", "ok"]
    # httpx's per-request INFO lines stay out of a command's output
    assert "HTTP Request" not in found.stderr and "httpx" not in found.stderr, found.stderr

    listed = run_aether(["topics", "list", "--json"], env)
    assert len(json.loads(listed.stdout)) == 4
    table = run_aether(["topics", "list"], env)
    assert "tidal energy plant" in table.stdout

    broken = run_aether(["topics", "discover", "--feed", feed_server.url("/missing.xml")], env)
    assert broken.returncode == 1 and "HTTP 404" in broken.stderr


def test_manual_topic_then_a_script_then_the_cache(cli_env: dict[str, str], feed_server: FeedServer) -> None:
    env = _env(cli_env)
    added = run_aether(
        [
            "topics",
            "add",
            "Solar sail spacecraft",
            "--url",
            feed_server.url("/articles/solar-sail.html"),
            "--text",
            "The Lumen-2 team published its flight data on Monday.",
            "--json",
        ],
        env,
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["topic"]["origin"] == "manual"

    first = run_aether(["script", "write", "--topic", "solar sail spacecraft", "--minutes", "1", "--json"], env)
    assert first.returncode == 0, first.stderr
    written = json.loads(first.stdout)
    assert written["cache_hit"] is False and written["writer"] == "offline"
    lines = [line["text"] for seg in written["script"]["segments"] for line in seg["lines"]]
    assert any("Lumen-2" in text for text in lines)

    second = run_aether(["script", "write", "--topic", "solar sail spacecraft", "--minutes", "1"], env)
    assert second.returncode == 0 and "from the cache" in second.stdout
    assert "Alex:" in second.stdout and "Sam:" in second.stdout

    unknown = run_aether(["script", "write", "--topic", "zebra migration"], env)
    assert unknown.returncode == 1 and "nothing matches 'zebra migration'" in unknown.stderr
