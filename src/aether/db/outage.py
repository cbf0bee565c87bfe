"""What one process knows of its database's health, so that requests fail fast during an outage.

Without it, every request of an outage waits the pool's whole timeout (AETHER_POOL_TIMEOUT, 30 s) before
its 503. With it (`Database.connection`, one `Outage` per pool):

* a checkout that waits `PROBE_AFTER_S` probes the server with one fresh connection (at most
  `PROBE_TIMEOUT_S`; one probe at a time, shared by every waiter): unreachable means down at once;
* a connection that breaks (server gone, restart, fail-over, a terminated backend) makes the server
  suspect: the next checkout probes first;
* a failed probe means down: requests fail at once for `FAIL_FAST_S`; the next one after that probes,
  and a probe that connects ends the outage (the pool's idle connections are checked then, broken ones
  replaced).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

FAIL_FAST_S = 2.0
PROBE_AFTER_S = 1.0
PROBE_TIMEOUT_S = 3.0


class Outage:
    """The health of one pool's server, as this process last saw it."""

    def __init__(self, probe: Callable[[], Awaitable[None]]) -> None:
        self._probe = probe  # connects and disconnects; raises when the server cannot be reached
        self.down_until = 0.0  # monotonic time until which requests fail at once (0: not down)
        self.up_at = -math.inf  # monotonic time of the last successful probe
        self._probing: asyncio.Future[bool] | None = None

    @property
    def failing_fast(self) -> bool:
        return time.monotonic() < self.down_until

    @property
    def recovering(self) -> bool:
        """Known down, and the fail-fast window is over: the next caller must probe first."""
        return self.down_until > 0 and not self.failing_fast

    def mark_down(self) -> None:
        self.down_until = time.monotonic() + FAIL_FAST_S

    def suspect(self) -> None:
        """A connection broke: probe before the next checkout (no fail-fast window yet)."""
        self.down_until = max(self.down_until, time.monotonic())

    def mark_up(self) -> None:
        self.down_until = 0.0
        self.up_at = time.monotonic()

    async def reachable(self) -> bool:
        """Whether the server accepts a connection now (a probe, shared by concurrent callers; one that
        succeeded within PROBE_AFTER_S counts)."""
        if time.monotonic() - self.up_at < PROBE_AFTER_S and not self.down_until:
            return True
        if self._probing is None or self._probing.done():
            self._probing = asyncio.ensure_future(self._run_probe())
        return await asyncio.shield(self._probing)

    async def _run_probe(self) -> bool:
        try:
            await asyncio.wait_for(self._probe(), PROBE_TIMEOUT_S)
        except Exception:
            self.mark_down()
            return False
        self.mark_up()
        return True
