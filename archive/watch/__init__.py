"""``archive watch``: the daemon, in parts with one job each: ``tracker`` (when a file is
stable), ``events`` (what the OS reports, and signs that events were lost), ``batch`` (what to
do with due paths), ``backoff`` (an unavailable store), ``lease`` (one daemon per folder, the
heartbeat, what ``status`` reads) and ``daemon`` (the loop).

Names are loaded on first use: ``archive status`` reads ``lease`` without loading the daemon."""

from __future__ import annotations

from typing import Any

__all__ = ["Daemon", "Tracker", "daemon_state", "lock_key", "pid_alive"]
_WHERE = {"Daemon": "daemon", "Tracker": "tracker", "daemon_state": "lease", "lock_key": "lease", "pid_alive": "lease"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"archive.watch.{_WHERE[name]}"), name)
    raise AttributeError(name)
