"""Gateway benchmark: the public feed (cached, revalidated by ETag) and the episode list.

Starts PostgreSQL (embedded in a temporary AETHER_HOME unless AETHER_DATABASE_URL is set), migrates,
creates a show with 50 published episodes, runs `aether api` on 127.0.0.1 (its default: one worker process
per core; `--workers N` to choose), then loads it from this process with 64 concurrent keep-alive
connections:

* feed: `GET /shows/{slug}/feed.xml` with `If-None-Match` (what podcast apps send; 1 in 10 without it);
* list: `GET /v1/shows/{id}/episodes?limit=20` with a bearer token.

Last line: `feed_rps=N feed_p99_ms=X list_rps=N list_p99_ms=X`.
Targets on the 2-core machine: feed p99 < 50 ms and > 1,500 requests/s; list p99 < 100 ms.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds queue.py, which must not shadow the standard library's queue module
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402

CONNECTIONS = 64


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(url: str, body: dict[str, object] | None = None, token: str | None = None) -> dict[str, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, object] = json.loads(response.read())
        return result


def seed_episodes(database_url: str, show_id: int, count: int) -> None:
    import psycopg

    with psycopg.connect(database_url) as conn, conn.transaction():
        for i in range(count):
            asset = conn.execute(
                "INSERT INTO assets (name, type, path, metadata) VALUES (%s, 'audio', %s, %s::jsonb) RETURNING id",
                (
                    f"ep{i}.mp3",
                    f"/srv/bench/ep{i}.mp3",
                    json.dumps({"bytes": 1_000_000 + i, "mime_type": "audio/mpeg"}),
                ),
            ).fetchone()
            assert asset is not None
            episode_id = uuid.uuid4()
            conn.execute(
                "INSERT INTO episodes (id, show_id, guid, title, description, status, episode_number, "
                "duration_seconds, audio_asset_id, published_at, created_at) VALUES "
                "(%s, %s, %s, %s, %s, 'published', %s, %s, %s, LOCALTIMESTAMP - make_interval(hours => %s), "
                "LOCALTIMESTAMP - make_interval(hours => %s))",
                (
                    episode_id,
                    show_id,
                    f"bench-{episode_id}",
                    f"Episode {i}",
                    "A benchmark episode. " * 10,
                    i + 1,
                    600 + i,
                    asset[0],
                    count - i,
                    count - i,
                ),
            )


async def worker(
    host: str,
    port: int,
    request: bytes,
    until: float,
    latencies: list[float],
    counts: dict[str, int],
    alternate: bytes | None = None,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    n = 0
    try:
        while time.perf_counter() < until:
            payload = alternate if alternate is not None and n % 10 == 9 else request
            n += 1
            start = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            counts[str(status)] = counts.get(str(status), 0) + 1
    finally:
        writer.close()


def run_load(
    host: str, port: int, request: bytes, seconds: float, alternate: bytes | None = None
) -> tuple[float, float, float, dict[str, int]]:
    async def main() -> tuple[float, float, float, dict[str, int]]:
        latencies: list[float] = []
        counts: dict[str, int] = {}
        # warm-up
        warm_until = time.perf_counter() + 1.0
        await asyncio.gather(*(worker(host, port, request, warm_until, [], {}, alternate) for _ in range(CONNECTIONS)))
        start = time.perf_counter()
        until = start + seconds
        await asyncio.gather(
            *(worker(host, port, request, until, latencies, counts, alternate) for _ in range(CONNECTIONS))
        )
        elapsed = time.perf_counter() - start
        latencies.sort()
        p50 = latencies[len(latencies) // 2] * 1000 if latencies else float("nan")
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
        return len(latencies) / elapsed, p50, p99, counts

    try:
        import uvloop

        return uvloop.run(main())
    except ImportError:
        return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="Measured seconds per endpoint.")
    parser.add_argument(
        "--workers", type=int, default=None, help="`aether api --workers` (default AETHER_API_WORKERS)."
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="aether-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AETHER_") or k == "AETHER_DATABASE_URL"}
    env["AETHER_HOME"] = str(home)
    env["AETHER_LOG_LEVEL"] = "WARNING"
    aether = [sys.executable, "-m", "aether.cli"]
    subprocess.run([*aether, "db", "migrate"], env=env, check=True, capture_output=True)
    database_url = subprocess.run(
        [*aether, "db", "url"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    if "****" in database_url:
        database_url = env["AETHER_DATABASE_URL"]

    port = free_port()
    workers = ["--workers", str(args.workers)] if args.workers is not None else []
    server = subprocess.Popen([*aether, "api", "--port", str(port), *workers], env=env, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/openapi.json", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the gateway did not start") from None
                time.sleep(0.2)
        email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
        http_json(f"{base}/v1/users", {"email": email, "password": "benchmark password"})
        token = str(http_json(f"{base}/v1/sessions", {"email": email, "password": "benchmark password"})["token"])
        show = http_json(f"{base}/v1/shows", {"title": f"Bench {uuid.uuid4().hex[:6]}"}, token)["show"]
        assert isinstance(show, dict)
        seed_episodes(database_url, int(show["id"]), 50)

        feed_path = f"/shows/{show['slug']}/feed.xml"
        with urllib.request.urlopen(base + feed_path, timeout=30) as response:
            etag = response.headers["ETag"]
            feed_bytes = len(response.read())
        host_header = f"127.0.0.1:{port}"
        conditional = (
            f"GET {feed_path} HTTP/1.1\r\nHost: {host_header}\r\nIf-None-Match: {etag}\r\nUser-Agent: bench\r\n\r\n"
        ).encode()
        full = f"GET {feed_path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: bench\r\n\r\n".encode()
        list_request = (
            f"GET /v1/shows/{show['id']}/episodes?limit=20 HTTP/1.1\r\nHost: {host_header}\r\n"
            f"Authorization: Bearer {token}\r\nUser-Agent: bench\r\n\r\n"
        ).encode()

        feed_rps, feed_p50, feed_p99, feed_counts = run_load(
            "127.0.0.1", port, conditional, args.seconds, alternate=full
        )
        print(
            f"feed: {feed_rps:.0f} req/s, p50 {feed_p50:.1f} ms, p99 {feed_p99:.1f} ms, statuses {feed_counts}, "
            f"full feed {feed_bytes} bytes"
        )
        list_rps, list_p50, list_p99, list_counts = run_load("127.0.0.1", port, list_request, args.seconds)
        print(f"list: {list_rps:.0f} req/s, p50 {list_p50:.1f} ms, p99 {list_p99:.1f} ms, statuses {list_counts}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if "AETHER_DATABASE_URL" not in env:
            subprocess.run([*aether, "db", "stop"], env=env, capture_output=True)
    print(f"feed_rps={feed_rps:.0f} feed_p99_ms={feed_p99:.1f} list_rps={list_rps:.0f} list_p99_ms={list_p99:.1f}")


if __name__ == "__main__":
    main()
