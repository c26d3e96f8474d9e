"""``archive watch``: the daemon, in parts with one job each: ``tracker`` (when a file is
stable), ``events`` (what the OS reports, and signs that events were lost), ``batch`` (what to
do with due paths), ``backoff`` (an unavailable store), ``lease`` (one daemon per folder, the
heartbeat, what ``status`` reads) and ``daemon`` (the loop)."""

from archive.watch.daemon import Daemon
from archive.watch.lease import daemon_state, lock_key, pid_alive
from archive.watch.tracker import Tracker

__all__ = ["Daemon", "Tracker", "daemon_state", "lock_key", "pid_alive"]
