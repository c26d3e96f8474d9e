"""The watch daemon: reconcile at start, then follow the folder until SIGINT/SIGTERM.

Threads: watchdog's observer only records paths (``Tracker``); the main thread
decides when a file is complete, ingests in batches, retries an unavailable store
with backoff, rescans periodically, restarts a dead observer and writes a heartbeat.
Signal handlers only set an event.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import random
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archive import __version__
from archive.config import Settings
from archive.errors import LockHeld, StoreError, StoreUnavailable, UsageError
from archive.ingest import FileStat, Ingester, Rules, Summary
from archive.models import iso, parse_iso, utcnow
from archive.store import Store, open_store

log = logging.getLogger("archive.watch")

CLOSE_SETTLE = 0.03  # after a close-after-write event the file is complete: a short re-check only
MAX_WRITING_WAIT = 30.0  # a file that keeps changing without a close is taken after this quiet time
NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "virtiofs", "fuse.grpcfuse",
              "fakeowner", "fuse.osxfs", "vboxsf", "afs", "ceph", "glusterfs", "fuse.rclone", "drvfs"}


def stale_after(settings: Settings) -> float:
    """Seconds without a heartbeat after which a daemon counts as stale."""
    return max(30.0, settings.heartbeat_interval * 6)


def daemon_state(doc: dict[str, Any], settings: Settings, now: dt.datetime | None = None) -> str:
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


def _proc_start(pid: int) -> str | None:
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
        now = _proc_start(pid)
        if now is not None and now != start:
            return False
        if os.path.exists(f"/proc/{pid}/stat"):
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return False
    return True


def lock_key(root: str) -> str:
    return "watch:" + os.path.abspath(root)


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


@dataclass
class _Pending:
    due: float
    writing: bool
    last_event: float
    stat: tuple[int, float] | None
    is_dir: bool = False


class Tracker:
    """Paths waiting to be looked at, with the time each is due (thread-safe)."""

    def __init__(self, settle: float) -> None:
        self.settle = settle
        self._lock = threading.Lock()
        self._items: dict[str, _Pending] = {}
        self.wake = threading.Event()
        self.last_event: float | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @staticmethod
    def _stat(path: str) -> tuple[int, float] | None:
        try:
            st = os.stat(path)
            return (st.st_size, st.st_mtime)
        except OSError:
            return None

    def add(self, path: str, *, delay: float | None = None, writing: bool = False, is_dir: bool = False) -> None:
        now = time.monotonic()
        due = now + (self.settle if delay is None else delay)
        st = None if is_dir else self._stat(path)
        with self._lock:
            old = self._items.get(path)
            if old is not None and old.writing and not writing and delay is None:
                writing = True  # a modify after an open write: still writing
            self._items[path] = _Pending(due, writing, now, st, is_dir or (old.is_dir if old else False))
            self.last_event = time.time()
        self.wake.set()

    def take_due(self, limit: int) -> tuple[list[tuple[str, _Pending]], float | None]:
        """Paths that are due (and not still being written), and when the next one is."""
        now = time.monotonic()
        ready: list[tuple[str, _Pending]] = []
        nxt: float | None = None
        with self._lock:
            for path, p in list(self._items.items()):
                quiet = now - p.last_event
                if p.due <= now and (not p.writing or quiet >= MAX_WRITING_WAIT):
                    if len(ready) >= limit:
                        nxt = now
                        continue
                    ready.append((path, p))
                    del self._items[path]
                else:
                    when = p.due if not p.writing else max(p.due, p.last_event + MAX_WRITING_WAIT)
                    nxt = when if nxt is None else min(nxt, when)
        return ready, nxt

    def put_back(self, items: list[tuple[str, _Pending]], due: float) -> None:
        with self._lock:
            for path, p in items:
                if path not in self._items:
                    p.due = due
                    p.writing = False
                    self._items[path] = p


def _make_handler(tracker: Tracker, root: str, rules: Rules, inotify: bool) -> Any:
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
                    tracker.add(src, writing=inotify)
            elif kind == "deleted":
                if wanted(src):
                    tracker.add(src, delay=min(CLOSE_SETTLE, tracker.settle))
            elif kind == "moved":
                if wanted(src):
                    tracker.add(src, delay=min(CLOSE_SETTLE, tracker.settle))
                if dest and wanted(dest):
                    tracker.add(dest, delay=min(CLOSE_SETTLE, tracker.settle))

    return Handler()


class Daemon:
    """``archive watch``: one folder, one store, until stopped."""

    def __init__(self, settings: Settings, root: str, *, store_factory: Callable[[], Store] | None = None) -> None:
        self.settings = settings
        self.root = os.path.abspath(root)
        if not os.path.isdir(self.root):
            raise UsageError(f"cannot watch {self.root}: no such folder")
        self.rules = Rules(settings)
        self.stop = threading.Event()
        self.rescan_now = threading.Event()
        self.tracker = Tracker(settings.settle)
        self._factory = store_factory or (lambda: open_store(settings.db, settings))
        self.store: Store | None = None
        self.ingester: Ingester | None = None
        self.observer: Any = None
        self.mode = "polling" if settings.polling else "native"
        self.token = uuid.uuid4().hex
        self.key = lock_key(self.root)
        self.totals = Summary()
        self.started_at = utcnow()
        self.last_ingest: dt.datetime | None = None
        self.unavailable_since: float | None = None
        self._retries = 0
        self._next_try = 0.0
        self._next_beat = 0.0
        self._next_rescan = 0.0
        self._need_reconcile = True

    # ------------------------------------------------------------ signals
    def install_signal_handlers(self) -> None:
        def _stop(signum: int, frame: Any) -> None:
            self.stop.set()
            self.tracker.wake.set()

        def _rescan(signum: int, frame: Any) -> None:
            self.rescan_now.set()
            self.tracker.wake.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, _rescan)

    # ------------------------------------------------------------ store
    def _connect(self) -> bool:
        """Open the store and take the lock; False while the store is away."""
        if self.store is not None:
            return True
        try:
            store = self._factory()
        except StoreUnavailable as exc:
            self._unavailable(exc)
            return False
        held = store.acquire_lock(self.key, self._holder(), self._can_take)
        if held is not None:
            store.close()
            raise LockHeld(self.root, int(held.get("pid", 0)), str(held.get("host", "?")))
        self.store = store
        self.ingester = Ingester(store, self.settings, log_each=True)
        self.ingester.stop_event = self.stop  # a long scan ends at the next batch on SIGTERM/SIGINT
        self.ingester.offload_html = True
        log.info("store %s (%s); lock taken for %s", store.display, store.kind, self.root)
        return True

    def _holder(self) -> dict[str, Any]:
        now = iso(utcnow())
        return {
            "token": self.token, "pid": os.getpid(), "host": socket.gethostname(), "folder": self.root,
            "mode": self.mode, "version": __version__, "started_at": iso(self.started_at),
            "heartbeat_at": now, "proc_start": _proc_start(os.getpid()), "stopped_at": None,
            "backlog": 0, "last_event_at": None, "last_ingest_at": None, "counts": {},
        }

    def _can_take(self, old: dict[str, Any]) -> bool:
        if old.get("host") == socket.gethostname():
            return not pid_alive(int(old.get("pid", 0)), old.get("proc_start"))
        beat = parse_iso(old.get("heartbeat_at"))
        return beat is None or (utcnow() - beat).total_seconds() > stale_after(self.settings)

    def _unavailable(self, exc: StoreUnavailable) -> None:
        now = time.monotonic()
        if self.unavailable_since is None:
            self.unavailable_since = now
            log.error("store unavailable: %s; retrying with backoff, nothing is lost (%d paths pending)",
                      exc.reason, len(self.tracker), extra={"event": "store-unavailable"})
        delay = min(60.0, 2.0 ** self._retries) * random.uniform(0.5, 1.0)
        self._retries += 1
        self._next_try = now + max(1.0, delay) if self._retries > 1 else now + 1.0

    def _available(self) -> None:
        if self.unavailable_since is not None:
            log.info("store is back after %.1f s; draining %d pending paths",
                     time.monotonic() - self.unavailable_since, len(self.tracker), extra={"event": "store-back"})
        self.unavailable_since = None
        self._retries = 0

    # ------------------------------------------------------------ observer
    def _start_observer(self) -> None:
        from watchdog.observers.polling import PollingObserver

        if self.mode == "polling":
            obs: Any = PollingObserver(timeout=self.settings.poll_interval)
        else:
            from watchdog.observers import Observer

            obs = Observer()
        handler = _make_handler(self.tracker, self.root, self.rules, inotify=type(obs).__name__ == "InotifyObserver")
        obs.schedule(handler, self.root, recursive=True)
        try:
            obs.start()
        except OSError as exc:
            if self.mode != "polling" and exc.errno in (errno.ENOSPC, errno.EMFILE):
                log.error(
                    "inotify limit reached (%s): raise it with 'sysctl fs.inotify.max_user_watches=524288' "
                    "(and fs.inotify.max_user_instances); falling back to polling", exc.strerror or exc)
                self.mode = "polling"
                return self._start_observer()
            raise
        self.observer = obs
        name = type(obs).__name__.replace("Observer", "").lower() or "native"
        log.info("watching %s with the %s observer (%s)", self.root, self.mode, name,
                 extra={"event": "observer", "mode": self.mode})

    def _check_observer(self) -> None:
        if self.observer is not None and not self.observer.is_alive() and not self.stop.is_set():
            log.warning("the %s observer stopped unexpectedly; restarting it and rescanning", self.mode,
                        extra={"event": "observer-restart"})
            try:
                self.observer.stop()
            except Exception:  # noqa: BLE001 - it is dead already
                pass
            self._start_observer()
            self._need_reconcile = True

    # ------------------------------------------------------------ work
    def _reconcile(self) -> None:
        assert self.ingester is not None
        t = time.monotonic()
        s = self.ingester.reconcile(self.root)
        self._count(s)
        self._need_reconcile = False
        self._next_rescan = time.monotonic() + self.settings.rescan_interval
        log.info("scan of %s: %s in %.2f s", self.root, s.line(), time.monotonic() - t,
                 extra={"event": "scan", **{k: getattr(s, k) for k in ("new", "updated", "unchanged", "failed")}})

    def _count(self, s: Summary) -> None:
        self.totals.add(s)
        self.totals.failures.clear()
        if s.changed or s.failed:
            self.last_ingest = utcnow()

    def _process(self, ready: list[tuple[str, _Pending]]) -> None:
        assert self.ingester is not None
        ing = self.ingester
        files: list[FileStat] = []
        gone: list[str] = []
        again: list[tuple[str, _Pending]] = []
        for path, p in ready:
            if p.is_dir:
                if os.path.isdir(path):
                    s = ing.reconcile(path, deletions=True, whole=False)
                else:
                    s = Summary()
                    s.deleted = ing.delete(k.path for k in ing.store.known_files(path) if not k.deleted)
                self._count(s)
                continue
            try:
                st = os.stat(path)
            except OSError:
                gone.append(path)
                continue
            if not os.path.isfile(path) or not self.rules.wanted_file(path, self.root):
                continue
            if p.stat is not None and p.stat != (st.st_size, st.st_mtime):
                again.append((path, p))  # still changing: look again after the settle time
                continue
            files.append(FileStat.of(path, st))
        if again:
            self.tracker.put_back(again, time.monotonic() + max(self.tracker.settle, 0.05))
            for path, p in again:
                p.stat = Tracker._stat(path)
        s = Summary()
        if files:
            known = {k.path: k for k in (ing.store_known(f.path) for f in files) if k}
            todo, same = ing.plan(files, known)
            s.add(ing.process(todo, known))
            s.unchanged += same
        if gone:
            s.deleted += ing.delete(gone)
        self._count(s)

    def _heartbeat(self, final: bool = False) -> None:
        if self.store is None:
            return
        t = self.totals
        data = {
            "heartbeat_at": iso(utcnow()), "mode": self.mode, "backlog": len(self.tracker),
            "last_event_at": iso(dt.datetime.fromtimestamp(self.tracker.last_event, dt.timezone.utc))
            if self.tracker.last_event else None,
            "last_ingest_at": iso(self.last_ingest),
            "counts": {k: getattr(t, k) for k in ("new", "updated", "unchanged", "failed", "moved", "deleted")},
        }
        if final:
            data["stopped_at"] = iso(utcnow())
            self.store.release_lock(self.key, self.token, data)
            return
        if not self.store.heartbeat(self.key, self.token, data):
            log.error("another daemon took over %s; stopping", self.root)
            self.stop.set()
        self._next_beat = time.monotonic() + self.settings.heartbeat_interval

    def _hint_network_fs(self) -> None:
        kind = filesystem_type(self.root)
        if self.mode != "polling" and kind in NETWORK_FS:
            log.warning("%s is on a %s filesystem: change events may never arrive there "
                        "(network shares, Docker bind mounts); use --polling", self.root, kind)

    def step(self) -> None:
        """One turn of the loop (the store is connected)."""
        if self.rescan_now.is_set() or self._need_reconcile or (
            self.settings.rescan_interval > 0 and time.monotonic() >= self._next_rescan
        ):
            self.rescan_now.clear()
            self._reconcile()
        ready, _ = self.tracker.take_due(self.settings.batch_size)
        if ready:
            try:
                self._process(ready)
            except StoreUnavailable:
                self.tracker.put_back(ready, time.monotonic())
                raise

    def run(self, once: bool = False) -> int:
        """Run until stopped (or after one reconcile with ``once``); the exit code."""
        log.info("archive %s watching %s (mode %s, settle %.2f s, rescan every %s)", __version__, self.root,
                 self.mode, self.settings.settle,
                 f"{self.settings.rescan_interval:g} s" if self.settings.rescan_interval else "never")
        try:
            if once:
                return self._run_once()
            self._hint_network_fs()
            self._connect()  # a held lock stops us here, before any watching
            self._start_observer()
            while not self.stop.is_set():
                self._loop_turn()
            return 0
        finally:
            self._shutdown()

    def _run_once(self) -> int:
        for _ in range(3):
            if self._connect():
                self._reconcile()
                return 0
            if self.stop.wait(max(0.0, self._next_try - time.monotonic())):
                return 0
        raise StoreUnavailable(self.settings.db, "gave up after 3 tries")

    def _loop_turn(self) -> None:
        now = time.monotonic()
        self._check_observer()
        if self.store is None or self.unavailable_since is not None:
            if now < self._next_try:
                self.stop.wait(min(0.5, self._next_try - now))
                return
            try:
                if not self._connect():
                    return
                self.step()
                self._available()
            except StoreUnavailable as exc:
                self._unavailable(exc)
            return
        try:
            self.step()
            if time.monotonic() >= self._next_beat:
                self._heartbeat()
        except StoreUnavailable as exc:
            self._unavailable(exc)
            return
        except StoreError as exc:
            log.error("store error: %s", exc.reason)
            self.stop.wait(1.0)
        except Exception:
            log.exception("unexpected error; going on")
            self.stop.wait(1.0)
        _, nxt = self.tracker.take_due(0)
        timeout = 0.5 if nxt is None else min(0.5, max(0.0, nxt - time.monotonic()))
        if self.tracker.wake.wait(timeout):
            self.tracker.wake.clear()

    def _shutdown(self) -> None:
        if self.observer is not None:
            try:
                self.observer.stop()
                self.observer.join(timeout=3)
            except Exception:  # noqa: BLE001
                pass
        if self.ingester is not None:
            self.ingester.close()
        if self.store is not None:
            try:
                self._heartbeat(final=True)
                log.info("stopped: %s; lock released", self.totals.line())
            except StoreError as exc:
                log.warning("could not release the lock: %s", exc.reason)
            self.store.close()
