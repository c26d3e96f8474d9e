"""The watch daemon's loop: reconcile at start, then follow the folder until SIGINT/SIGTERM.

Threads: watchdog's observer only records paths (the tracker); this loop decides when a file is
complete, ingests in batches, retries an unavailable store with backoff, rescans periodically and
whenever events may have been lost, re-arms the observer, and writes a heartbeat. Signal handlers
only set an event."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from archive import __version__
from archive.config import Settings
from archive.errors import LockHeld, StoreError, StoreOutdated, StoreReplaced, StoreUnavailable, UsageError
from archive.ingest import Ingester, Rules, Summary, skipped_line
from archive.models import iso, utcnow
from archive.store import Store, open_store
from archive.watch import events
from archive.watch.backoff import Backoff
from archive.watch.batch import handle_ready
from archive.watch.lease import Lease, lock_key, proc_start
from archive.watch.tracker import Tracker

log = logging.getLogger("archive.watch")
COUNTS = ("new", "updated", "unchanged", "failed", "moved", "deleted")


class Daemon:
    """``archive watch``: one folder, one store, until stopped."""

    def __init__(self, settings: Settings, root: str, *, store_factory: Callable[[], Store] | None = None,
                 reparse: bool = False) -> None:
        """``reparse``: the start-up reconcile reads every file again (``archive watch --reparse``,
        ``archive sync --reparse``: see Ingester); the rescans after it read changed files only."""
        self.settings = settings
        self.reparse = reparse
        self.root = os.path.abspath(root)
        if not os.path.isdir(self.root):
            raise UsageError(f"cannot watch {self.root}: no such folder")
        self.rules = Rules(settings)
        self.stop = threading.Event()
        self.rescan_now = threading.Event()
        self.ready = threading.Event()  # set once the start-up reconcile is done (tests wait on it)
        self.tracker = Tracker(settings.settle)
        self._factory = store_factory or (lambda: open_store(settings.db, settings))
        self.store: Store | None = None
        self.ingester: Ingester | None = None
        self.observer: Any = None
        self.mode = "polling" if settings.polling else "native"
        self.totals = Summary()
        self.started_at = utcnow()
        self.last_ingest: dt.datetime | None = None
        self.backoff = Backoff()
        self.lease = Lease(lock_key(self.root), self._record(), settings)
        self._root_id = events.folder_identity(self.root)
        self._lost = events.LostEvents(self._events_lost)
        self._next_beat = 0.0
        self._next_rescan = 0.0
        self._next_root_check = 0.0
        self._need_reconcile = True
        self._stopping = False  # a stop signal came (set by the handler itself: no lock)
        self._signal_pipe = (-1, -1)  # signal handlers' bytes to the thread that acts on them

    # ------------------------------------------------------------ control
    def request_stop(self) -> None:
        """Stop at the next batch boundary (the next start reconciles what is left)."""
        self.stop.set()
        self.tracker.wake.set()

    # A signal handler runs in the main thread between two of its steps, perhaps while that thread
    # holds an Event's lock (Event.wait takes it for a moment): Event.set there waits for itself
    # forever (a CI run hung so). The handlers take no lock: they write a byte to a pipe, and a
    # thread of their own reads it and makes the request.
    _STOP, _RESCAN = b"s", b"r"

    def _from_signal(self, what: bytes) -> None:
        with contextlib.suppress(OSError):  # a full pipe already holds a request
            os.write(self._signal_pipe[1], what)

    def _signal_requests(self, fd: int) -> None:
        while chunk := os.read(fd, 64):
            for b in chunk:
                (self.request_stop if bytes([b]) == self._STOP else self.request_rescan)()

    def _on_stop_signal(self, signum: int, frame: Any) -> None:
        """The first SIGTERM/SIGINT stops in order; a second one while that stop is under way
        exits at once (as uvicorn does): nothing is lost (the next start reconciles, and takes over
        the lock of a process that is gone), and the parse workers die with this process."""
        if not self._stopping and not self.stop.is_set():  # is_set reads a flag: no lock
            self._stopping = True
            self._from_signal(self._STOP)
            return
        log.warning("second %s: exiting now, without waiting", signal.Signals(signum).name,
                    extra={"event": "forced-exit"})
        for h in logging.getLogger().handlers + logging.getLogger("archive").handlers:
            with contextlib.suppress(Exception):
                h.flush()
        os._exit(1)

    def request_rescan(self) -> None:
        self.rescan_now.set()
        self.tracker.wake.set()

    def install_signal_handlers(self) -> None:
        r, w = os.pipe()  # never closed: a late signal must not write into a reused descriptor
        os.set_blocking(w, False)
        self._signal_pipe = (r, w)
        threading.Thread(target=self._signal_requests, args=(r,), name="archive-signals", daemon=True).start()
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, lambda *_: self._from_signal(self._RESCAN))

    def _events_lost(self, why: str) -> None:
        log.warning("events were lost (%s): reconciling %s now", why, self.root, extra={"event": "events-lost"})
        self.request_rescan()

    # ------------------------------------------------------------ store
    def _record(self) -> dict[str, Any]:
        now = iso(utcnow())
        return {
            "token": uuid.uuid4().hex, "pid": os.getpid(), "host": socket.gethostname(), "folder": self.root,
            "mode": self.mode, "version": __version__, "started_at": iso(self.started_at),
            "heartbeat_at": now, "proc_start": proc_start(os.getpid()), "stopped_at": None,
            "backlog": 0, "last_event_at": None, "last_ingest_at": None, "counts": {},
        }

    def _connect(self) -> bool:
        """Open the store and take the lease; False while the store is away (or waits for
        ``archive migrate --upgrade``: the files wait with it, as for an unreachable store)."""
        if self.store is not None:
            return True
        try:
            store = self._factory()
            held = self.lease.acquire(store)
        except (StoreUnavailable, StoreOutdated) as exc:  # an older store: the files wait for its upgrade
            self.backoff.failed(str(exc), len(self.tracker))
            return False
        if held is not None:
            store.close()
            raise LockHeld(self.root, int(held.get("pid", 0)), str(held.get("host", "?")))
        self.store = store
        # A long scan ends at the next batch on SIGTERM/SIGINT, and says how far it got.
        self.ingester = Ingester(store, self.settings, log_each=True, progress=self._scanning, stop=self.stop,
                                 log_progress=True, reparse=self.reparse)
        log.info("store %s (%s); lock taken for %s", store.display, store.kind, self.root)
        return True

    def _drop_store(self, exc: StoreReplaced) -> None:
        """The store's file went away: open (re-create) it and reconcile the folder into it."""
        log.error("%s: %s; re-creating it and reconciling %s", exc.where, exc.detail, self.root,
                  extra={"event": "store-replaced"})
        if self.ingester is not None:
            self.ingester.close()
        if self.store is not None:
            self.store.close()
        self.store, self.ingester = None, None
        self._need_reconcile = True

    # ------------------------------------------------------------ the folder
    def _check_root(self) -> None:
        """Notice the watched folder deleted, or deleted and made again: events from the old one
        never come, so re-arm the observer and reconcile."""
        now = time.monotonic()
        if now < self._next_root_check:
            return
        self._next_root_check = now + 1.0
        ident = events.folder_identity(self.root)
        if ident == self._root_id:
            return
        if ident is None:
            log.warning("the watched folder %s is gone; waiting for it to come back", self.root,
                        extra={"event": "root-gone"})
            events.stop_observer(self.observer)
            self.observer = None
        else:
            log.warning("the watched folder %s was made again: watching it afresh and reconciling", self.root,
                        extra={"event": "root-back"})
            self._rearm()
        self._root_id = ident

    def _check_observer(self) -> None:
        if self.observer is not None and not self.observer.is_alive() and not self.stop.is_set():
            log.warning("the %s observer stopped unexpectedly; restarting it and rescanning", self.mode,
                        extra={"event": "observer-restart"})
            self._rearm()

    def _rearm(self) -> None:
        """A new observer on the folder, and a reconcile for what happened meanwhile."""
        events.stop_observer(self.observer)
        self.observer, self.mode = events.start_observer(self.mode, self.root, self.tracker, self.rules,
                                                         self.settings.poll_interval)
        self._need_reconcile = True

    # ------------------------------------------------------------ work
    def _reconcile(self) -> None:
        assert self.ingester is not None
        t = time.monotonic()
        self._need_reconcile = False
        first = not self.ready.is_set()
        self.ingester.skipped = {}
        try:
            s = self.ingester.reconcile(self.root)
        except BaseException:
            self._need_reconcile = True  # nothing is lost: the next turn starts it again
            raise
        self._count(s)
        if self.reparse:  # done once, whole: the rescans after it read changed files only
            self.reparse = self.ingester.reparse = False
        self._next_rescan = time.monotonic() + self.settings.rescan_interval
        log.info("scan of %s: %s in %.2f s", self.root, s.line(), time.monotonic() - t,
                 extra={"event": "scan", **{k: getattr(s, k) for k in ("new", "updated", "unchanged", "failed")}})
        if first and (said := skipped_line(self.ingester.skipped)):
            log.info("%s", said, extra={"event": "skipped", "skipped": self.ingester.skipped})
        self.ready.set()

    def _count(self, s: Summary) -> None:
        self.totals.add(s)
        if s.changed or s.failed:
            self.last_ingest = utcnow()

    def step(self) -> None:
        """One turn of the work (the store is connected)."""
        assert self.store is not None and self.ingester is not None
        self.store.check()
        if self._root_id is not None and (self.rescan_now.is_set() or self._need_reconcile or (
                self.settings.rescan_interval > 0 and time.monotonic() >= self._next_rescan)):
            self.rescan_now.clear()
            self._reconcile()
        ready, _ = self.tracker.take_due(self.settings.batch_size)
        if ready:
            try:
                self._count(handle_ready(self.ingester, self.rules, self.root, self.tracker, ready))
            except StoreUnavailable:
                self.tracker.put_back(ready, time.monotonic())
                raise

    def _scanning(self, n: int) -> None:
        """Progress of a long scan (the first, or a rescan): the heartbeat goes on meanwhile, with
        the files still to read in the backlog (status said 0 while a scan had 800 to go)."""
        if time.monotonic() >= self._next_beat:
            self._heartbeat()

    def _heartbeat(self, final: bool = False) -> None:
        if self.store is None:
            return
        last = self.tracker.last_event
        pending = self.ingester.pending if self.ingester is not None else 0
        data = {
            "heartbeat_at": iso(utcnow()), "mode": self.mode, "backlog": len(self.tracker) + pending,
            "last_event_at": iso(dt.datetime.fromtimestamp(last, dt.UTC)) if last else None,
            "last_ingest_at": iso(self.last_ingest),
            "counts": {k: getattr(self.totals, k) for k in COUNTS},
        }
        if final:
            data["stopped_at"] = iso(utcnow())
            self.lease.release(self.store, data)
            return
        if not self.lease.beat(self.store, data):
            log.error("another daemon took over %s; stopping", self.root)
            self.request_stop()
        self._next_beat = time.monotonic() + self.settings.heartbeat_interval

    def _hint_network_fs(self) -> None:
        kind = events.filesystem_type(self.root)
        if self.mode != "polling" and kind in events.NETWORK_FS:
            log.warning("%s is on a %s filesystem: change events may never arrive there "
                        "(network shares, Docker bind mounts); use --polling", self.root, kind)

    # ------------------------------------------------------------ the loop
    def run(self, once: bool = False) -> int:
        """Run until stopped (or after one reconcile with ``once``); the exit code."""
        log.info("archive %s watching %s (mode %s, settle %.2f s, rescan every %s)", __version__, self.root,
                 self.mode, self.settings.settle,
                 f"{self.settings.rescan_interval:g} s" if self.settings.rescan_interval else "never")
        self._lost.install()
        try:
            if once:
                return self._run_once()
            self._hint_network_fs()
            self._connect()  # a held lock stops us here, before any watching
            self.observer, self.mode = events.start_observer(self.mode, self.root, self.tracker, self.rules,
                                                             self.settings.poll_interval)
            while not self.stop.is_set():
                self._loop_turn()
            return 0
        finally:
            self._lost.remove()
            self._shutdown()

    def _run_once(self) -> int:
        for _ in range(3):
            if self._connect():
                self._reconcile()
                return 0
            if self.stop.wait(self.backoff.wait_left()):
                return 0
        raise StoreUnavailable(self.settings.db, "gave up after 3 tries")

    def _loop_turn(self) -> None:
        self._check_observer()
        self._check_root()
        if (self.store is None or self.backoff.away) and self.backoff.wait_left() > 0:
            self.stop.wait(min(0.5, self.backoff.wait_left()))
            return
        try:
            if not self._connect():
                return
            self.step()
            self.backoff.succeeded(len(self.tracker))
            if time.monotonic() >= self._next_beat:
                self._heartbeat()
        except StoreReplaced as exc:
            self._drop_store(exc)
            return
        except StoreUnavailable as exc:
            self.backoff.failed(str(exc), len(self.tracker))
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
        events.stop_observer(self.observer)
        if self.ingester is not None:
            self.ingester.close()
        if self.store is not None:
            try:
                self._heartbeat(final=True)
                log.info("stopped: %s; lock released", self.totals.line())
            except StoreError as exc:
                log.warning("could not release the lock: %s", exc.reason)
            self.store.close()
