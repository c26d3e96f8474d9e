"""Retrying an unavailable store: exponential backoff with jitter, logged once per outage."""

from __future__ import annotations

import logging
import random
import time

log = logging.getLogger("archive.watch")


class Backoff:
    """When to try the store again, and whether it is away now."""

    def __init__(self, *, first: float = 1.0, cap: float = 60.0) -> None:
        self.first, self.cap = first, cap
        self.since: float | None = None  # monotonic time the store went away
        self.retries = 0
        self.next_try = 0.0

    @property
    def away(self) -> bool:
        return self.since is not None

    def failed(self, reason: str, pending: int) -> None:
        """The store refused (``reason``: the whole message, "store unavailable (where): why"): wait
        longer before the next try (1 s, 2 s, 4 s … 60 s, jittered)."""
        now = time.monotonic()
        if self.since is None:
            self.since = now
            log.error("%s; retrying with backoff, nothing is lost (%d paths pending)",
                      reason, pending, extra={"event": "store-unavailable"})
        delay = min(self.cap, self.first * 2.0 ** self.retries) * random.uniform(0.5, 1.0)
        self.retries += 1
        self.next_try = now + max(self.first, delay)

    def succeeded(self, pending: int) -> None:
        if self.since is not None:
            log.info("store is back after %.1f s; draining %d pending paths", time.monotonic() - self.since,
                     pending, extra={"event": "store-back"})
        self.since = None
        self.retries = 0

    def wait_left(self) -> float:
        return max(0.0, self.next_try - time.monotonic())
