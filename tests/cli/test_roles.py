"""The process roles as a user runs them: `aether api` (one process, or several on one port)."""

from __future__ import annotations

import subprocess

from tests.support import answers, free_port, run_aether, start_aether, wait_for


def test_api_serves_on_the_given_port(cli_env: dict[str, str]) -> None:
    import httpx

    port = free_port()
    process = start_aether(["api", "--port", str(port)], cli_env)
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/openapi.json"), timeout=60, what="aether api")
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_api_workers_share_the_port_and_are_restarted(cli_env: dict[str, str]) -> None:
    """`aether api --workers 2`: two processes on one port, connections spread over both (SO_REUSEPORT);
    a worker that dies is replaced; SIGTERM stops them all."""
    import signal
    import socket

    import httpx
    import psutil

    port = free_port()
    process = start_aether(["api", "--port", str(port), "--workers", "2"], cli_env)
    parent = psutil.Process(process.pid)

    def workers() -> list[psutil.Process]:
        """The live worker processes (a killed one is a zombie until the supervisor reaps it)."""
        found = []
        for p in parent.children():
            try:
                if "spawn" in " ".join(p.cmdline()):
                    found.append(p)
            except (psutil.ZombieProcess, psutil.NoSuchProcess):
                continue
        return found

    def serving(pids: set[int]) -> bool:
        """Every worker in `pids` holds a listening socket on the port."""
        listening = {
            p.pid
            for p in workers()
            if p.pid in pids
            for c in p.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        }
        return listening == pids

    try:
        first = wait_for(lambda: {p.pid for p in workers()} if len(workers()) == 2 else None, timeout=60)
        wait_for(lambda: serving(first), timeout=90, what="both workers to listen")
        # 32 keep-alive connections: the kernel hashes them over both workers' sockets
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) for _ in range(32)]
        try:
            assert all(c.get("/healthz").status_code == 200 for c in clients)
            holders = {
                p.pid
                for p in workers()
                for c in p.net_connections("tcp")
                if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
            }
            assert holders == first
        finally:
            for c in clients:
                c.close()

        victim = sorted(first)[0]
        psutil.Process(victim).send_signal(signal.SIGKILL)
        second = wait_for(
            lambda: (
                {p.pid for p in workers()} if len(workers()) == 2 and victim not in {p.pid for p in workers()} else None
            ),
            timeout=60,
            what="a new worker",
        )
        wait_for(lambda: serving(second), timeout=90, what="the new worker to listen")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in second)
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_api_refuses_a_port_in_use(cli_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = run_aether(["api", "--port", str(port), "--workers", "2"], cli_env, timeout=120)
    assert r.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr and "Traceback" not in r.stderr


def test_api_workers_stop_quietly_on_ctrl_c(cli_env: dict[str, str]) -> None:
    """Ctrl-C in a terminal signals the whole process group: supervisor and workers end without a traceback."""
    import os
    import signal

    port = free_port()
    process = start_aether(
        ["api", "--port", str(port), "--workers", "2"],
        cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz"), timeout=90, what="aether api --workers 2")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
