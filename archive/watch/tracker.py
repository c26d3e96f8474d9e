"""The stability tracker: paths waiting to be looked at, each due once its file has settled.

A heap by due time: draining n paths costs n log n, not a scan of every waiting path per batch.
The observer's thread adds; the daemon's loop takes. Thread-safe."""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from dataclasses import dataclass

CLOSE_SETTLE = 0.03  # after a close-after-write event the file is complete: a short re-check only
MAX_WRITING_WAIT = 30.0  # a file that keeps changing without a close is taken after this quiet time


@dataclass
class Pending:
    """One waiting path."""

    due: float
    writing: bool
    last_event: float
    stat: tuple[int, float] | None
    is_dir: bool = False
    version: int = 0

    def ready_at(self) -> float:
        """When it may be taken: its due time, or, while still being written, after a quiet spell."""
        return self.due if not self.writing else max(self.due, self.last_event + MAX_WRITING_WAIT)


class Tracker:
    """Paths waiting to be looked at, with the time each is due."""

    def __init__(self, settle: float) -> None:
        self.settle = settle
        self._lock = threading.Lock()
        self._items: dict[str, Pending] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._versions = itertools.count(1)
        self.wake = threading.Event()
        self.last_event: float | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @staticmethod
    def stat_of(path: str) -> tuple[int, float] | None:
        try:
            st = os.stat(path)
            return (st.st_size, st.st_mtime)
        except OSError:
            return None

    def _push(self, path: str, p: Pending) -> None:
        p.version = next(self._versions)
        heapq.heappush(self._heap, (p.ready_at(), p.version, path))
        if len(self._heap) > 4 * len(self._items) + 1024:  # many events for few paths: drop the stale entries
            self._heap = [(q.ready_at(), q.version, k) for k, q in self._items.items()]
            heapq.heapify(self._heap)

    def add(self, path: str, *, delay: float | None = None, writing: bool = False, is_dir: bool = False) -> None:
        now = time.monotonic()
        due = now + (self.settle if delay is None else delay)
        st = None if is_dir else self.stat_of(path)
        with self._lock:
            old = self._items.get(path)
            if old is not None and old.writing and not writing and delay is None:
                writing = True  # a modify after an open write: still writing
            p = Pending(due, writing, now, st, is_dir or (old.is_dir if old else False))
            self._items[path] = p
            self._push(path, p)
            self.last_event = time.time()
        self.wake.set()

    def take_due(self, limit: int) -> tuple[list[tuple[str, Pending]], float | None]:
        """Up to ``limit`` paths that are due (and not still being written), and when the next is."""
        now = time.monotonic()
        ready: list[tuple[str, Pending]] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now and len(ready) < limit:
                _, version, path = heapq.heappop(self._heap)
                p = self._items.get(path)
                if p is None or p.version != version:
                    continue  # an entry superseded by a later event
                ready.append((path, p))
                del self._items[path]
            nxt = self._heap[0][0] if self._heap else None
        return ready, nxt

    def put_back(self, items: list[tuple[str, Pending]], due: float) -> None:
        """Return paths taken but not handled (the store was away, the file still changing)."""
        with self._lock:
            for path, p in items:
                if path not in self._items:
                    p.due = due
                    p.writing = False
                    self._items[path] = p
                    self._push(path, p)
        self.wake.set()
