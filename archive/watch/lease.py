"""The daemon's lease: one daemon per folder and store, its heartbeat record, and the state
``archive status`` reads (running / stopped / stale). ``status`` imports only this module."""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

from archive.models import parse_iso, utcnow


def stale_after(settings: Any) -> float:
    """Seconds without a heartbeat after which a daemon counts as stale."""
    return max(30.0, float(settings.heartbeat_interval) * 6)


def daemon_state(doc: dict[str, Any], settings: Any, now: dt.datetime | None = None) -> str:
    """``running``, ``stopped`` or ``stale`` for a daemon record."""
    if doc.get("stopped_at"):
        return "stopped"
    beat = parse_iso(doc.get("heartbeat_at"))
    now = now or utcnow()
    if beat is None or (now - beat).total_seconds() > stale_after(settings):
        return "stale"
    if doc.get("host") == socket.gethostname() and not pid_alive(int(doc.get("pid", 0)), doc.get("proc_start")):
        return "stale"
    return "running"


def proc_start(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def pid_alive(pid: int, start: str | None = None) -> bool:
    """Is ``pid`` a live process (and the same one, when its start time is known)?"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if start is not None:
        now = proc_start(pid)
        if now is not None and now != start:
            return False
        if os.path.exists(f"/proc/{pid}/stat"):
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return False
    return True


def lock_key(root: str) -> str:
    """The lock's name: the folder's real path, so that a second daemon reaching the same folder
    through a symlink (or ``..``) is refused like any other."""
    return "watch:" + os.path.realpath(root)


def daemon_records(store: Any, settings: Any) -> list[dict[str, Any]]:
    """The daemons a store knows, as ``status`` and the web page show them: no lock token, and
    each with its state (running / stopped / stale)."""
    out = []
    for d in store.daemons():
        d = {k: v for k, v in d.items() if k not in ("token", "proc_start")}
        d["state"] = daemon_state(d, settings)
        out.append(d)
    return out


class Lease:
    """This daemon's hold on ``key`` in the store: taken at start, renewed by heartbeats (which also
    publish what ``status`` shows), released at a clean stop."""

    def __init__(self, key: str, record: dict[str, Any], settings: Any) -> None:
        self.key = key
        self.record = record
        self.token = str(record["token"])
        self.settings = settings

    def can_take(self, old: dict[str, Any]) -> bool:
        """Another daemon's record may be taken over unless it is running: the one rule ``status``
        shows (dead on this host, or no heartbeat for ``stale_after``: a hung daemon too, which
        stops when its next heartbeat finds the lease taken)."""
        return daemon_state(old, self.settings) != "running"

    def acquire(self, store: Any) -> dict[str, Any] | None:
        """Take the lease; the other holder's record when it is live (nothing taken then)."""
        held: dict[str, Any] | None = store.acquire_lock(self.key, self.record, self.can_take)
        return held

    def beat(self, store: Any, data: dict[str, Any]) -> bool:
        """Renew; False when another daemon took the lease."""
        return bool(store.heartbeat(self.key, self.token, data))

    def release(self, store: Any, data: dict[str, Any]) -> None:
        store.release_lock(self.key, self.token, data)
