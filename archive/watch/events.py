"""What the operating system tells the daemon: watchdog's observers and their events, and the
signs that events were lost (a queue overflow, the watched folder deleted or re-made), which call
for a reconcile rather than trust."""

from __future__ import annotations

import errno
import logging
import os
import stat as stat_mod
import threading
from typing import Any

from archive.ingest import Rules
from archive.watch.tracker import CLOSE_SETTLE, Tracker

log = logging.getLogger("archive.watch")

NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "virtiofs", "fuse.grpcfuse",
              "fakeowner", "fuse.osxfs", "vboxsf", "afs", "ceph", "glusterfs", "fuse.rclone", "drvfs"}


def filesystem_type(path: str) -> str | None:
    """The type of the filesystem holding ``path`` (Linux ``/proc/mounts``), if known."""
    try:
        with open("/proc/mounts") as fh:
            mounts = [line.split() for line in fh]
    except OSError:
        return None
    real = os.path.realpath(path)
    best, kind = "", None
    for m in mounts:
        if len(m) >= 3 and (real == m[1] or real.startswith(m[1].rstrip("/") + "/")) and len(m[1]) >= len(best):
            best, kind = m[1], m[2]
    return kind


def make_handler(tracker: Tracker, root: str, rules: Rules, inotify: bool) -> Any:
    """A watchdog handler that only records paths in the tracker (the daemon's loop does the work)."""
    from watchdog.events import FileSystemEventHandler

    def wanted(path: str) -> bool:
        return rules.wanted_file(path, root)

    def under_root(path: str) -> bool:
        rel = os.path.relpath(path, root)
        return not rel.startswith("..") and not any(rules.ignored_name(p) for p in rel.split(os.sep))

    class Handler(FileSystemEventHandler):  # type: ignore[misc]
        def on_any_event(self, event: Any) -> None:
            kind = event.event_type
            src = os.fsdecode(event.src_path)
            dest = os.fsdecode(event.dest_path) if getattr(event, "dest_path", "") else ""
            if event.is_directory:
                if kind in ("moved", "deleted", "created"):
                    for p in (src, dest):
                        if p and under_root(p) and os.path.abspath(p) != root:
                            tracker.add(p, is_dir=True)
                return
            if kind == "closed":
                if wanted(src):
                    tracker.add(src, delay=min(CLOSE_SETTLE, tracker.settle))
            elif kind in ("created", "modified"):
                if wanted(src):
                    # Only a regular file is ever "being written" (a FIFO gets no close event).
                    tracker.add(src, writing=inotify and _regular(src))
            elif kind == "deleted":
                if wanted(src):
                    tracker.add(src, delay=min(CLOSE_SETTLE, tracker.settle))
            elif kind == "moved":
                if wanted(src):
                    tracker.add(src, delay=min(CLOSE_SETTLE, tracker.settle))
                if dest and wanted(dest):
                    tracker.add(dest, delay=min(CLOSE_SETTLE, tracker.settle))

    return Handler()


def _regular(path: str) -> bool:
    try:
        return stat_mod.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


class LostEvents(logging.Handler):
    """Notices when the kernel dropped events. watchdog (7.x) handles an inotify queue overflow by
    logging "Inotify queue overflowed" and re-adding its watches; it tells its handlers nothing.
    Listening to that log line turns it into an immediate reconcile."""

    LOGGERS = ("watchdog.observers.inotify_c", "watchdog.observers.inotify", "watchdog.observers.inotify_buffer")

    def __init__(self, on_lost: Any) -> None:
        super().__init__(logging.WARNING)
        self.on_lost = on_lost

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in str(record.msg).lower():
            self.on_lost("the kernel's event queue overflowed")

    def install(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)

    def remove(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)


def folder_identity(path: str) -> tuple[int, int] | None:
    """``(device, inode)`` of a folder, or None when it is gone (or is no folder)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if os.path.isdir(path) else None


def start_observer(mode: str, root: str, tracker: Tracker, rules: Rules, poll_interval: float) -> tuple[Any, str]:
    """A started observer on ``root`` and the mode it runs in (native falls back to polling when
    the inotify limits are reached)."""
    from watchdog.observers.polling import PollingObserver

    if mode == "polling":
        obs: Any = PollingObserver(timeout=poll_interval)
    else:
        from watchdog.observers import Observer

        obs = Observer()
    handler = make_handler(tracker, root, rules, inotify=type(obs).__name__ == "InotifyObserver")
    obs.schedule(handler, root, recursive=True)
    try:
        obs.start()
    except OSError as exc:
        if mode != "polling" and exc.errno in (errno.ENOSPC, errno.EMFILE):
            log.error(
                "inotify limit reached (%s): raise it with 'sysctl fs.inotify.max_user_watches=524288' "
                "(and fs.inotify.max_user_instances); falling back to polling", exc.strerror or exc)
            return start_observer("polling", root, tracker, rules, poll_interval)
        raise
    name = type(obs).__name__.replace("Observer", "").lower() or "native"
    log.info("watching %s with the %s observer (%s)", root, mode, name, extra={"event": "observer", "mode": mode})
    return obs, mode


def stop_observer(obs: Any) -> None:
    if obs is None:
        return
    try:
        obs.stop()
        if obs is not threading.current_thread():
            obs.join(timeout=3)
    except Exception:  # noqa: BLE001 - it may be dead already
        pass
