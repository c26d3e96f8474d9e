"""One pipeline for ``archive ingest`` and the daemon: walk, stat, skip, read, hash, parse, upsert.

Files whose size, mtime and inode match what the store holds are skipped without
being read. The rest are read and hashed once, parsed (in a process pool for big
backlogs) and written in batches.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archive.config import Settings
from archive.errors import ParseError, StoreBusy, StoreUnavailable
from archive.ingest.reading import NOT_A_FILE, FileStat, Prepared, display, prepare
from archive.ingest.rules import Rules, is_article_file, walk
from archive.models import Failure
from archive.parsing import HTML_EXTENSIONS
from archive.store.base import Store
from archive.store.records import Filters, KnownFile, UpsertItem, UpsertResult
from archive.stories.keeper import SHINGLES

if TYPE_CHECKING:
    from archive.parsepool import ParsePool


log = logging.getLogger("archive.ingest")
POOL_THRESHOLD = 256  # below this many files a process pool costs more than it saves
PROGRESS_EVERY = 5.0  # seconds between progress lines of a long run (the daemon's first scan)
# Files a reconcile walks, plans and writes at a time: 20,000 stat records and their stored
# counterparts (a few MB); the pool drains once between two (a batch's write, ~2% of a chunk's).
RECONCILE_CHUNK = 20_000


def skipped_line(skipped: dict[str, int]) -> str | None:
    """``12 files skipped: .pdf (7), .webarchive (5); ARCHIVE_EXTENSIONS says which are read``."""
    if not skipped:
        return None
    n = sum(skipped.values())
    parts = ", ".join(f"{ext} ({c:,})" for ext, c in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])))
    files = f"{n:,} files skipped for their extension" if n != 1 else "1 file skipped for its extension"
    return f"{files}: {parts}; set ARCHIVE_EXTENSIONS to read them"


@dataclass(slots=True)
class _Run:
    """How far one ``process()`` got, for its progress lines."""

    total: int
    started: float
    done: int = 0
    said: float = 0.0  # when the last progress line was logged

    walking: bool = False  # the walk that finds the files goes on: ``total`` is those found so far

    def line(self, now: float) -> str:
        rate = self.done / max(1e-6, now - self.started)
        if self.walking:
            return f"ingesting: {self.done:,} of {self.total:,} files found so far ({rate:,.0f} files/s)"
        left = _duration((self.total - self.done) / max(rate, 1e-6))
        return f"ingesting: {self.done:,} of {self.total:,} files ({rate:,.0f} files/s, about {left} left)"


def _log_failure(f: Failure) -> None:
    log.warning("failed %s: %s", f.path, f.reason, extra={"event": "failed", "path": f.path, "reason": f.reason})


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


@dataclass
class Summary:
    """What one run did, counted by outcome."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    moved: int = 0
    undeleted: int = 0
    deleted: int = 0
    gone: int = 0  # stored articles whose files ingest found missing (it does not delete them)
    reparsed: int = 0  # files read again (--reparse) whose fields this parser makes otherwise

    def add(self, other: Summary) -> None:
        for k in ("new", "updated", "unchanged", "failed", "moved", "undeleted", "deleted", "gone", "reparsed"):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    @property
    def changed(self) -> int:
        return self.new + self.updated + self.moved + self.undeleted + self.deleted + self.reparsed

    def line(self) -> str:
        """``N new, N updated, N unchanged, N failed`` (and moves or deletions, if any)."""
        s = f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, {self.failed} failed"
        extra = [f"{v} {k}" for k, v in (("moved", self.moved), ("undeleted", self.undeleted),
                                          ("deleted", self.deleted), ("reparsed", self.reparsed)) if v]
        return s + (f" ({', '.join(extra)})" if extra else "")


class Ingester:
    """Brings files into a store. Used by ``archive ingest`` and by the daemon."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        log_each: bool = True,
        progress: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
        log_progress: bool = False,
        patience: float = 0.0,
        reparse: bool = False,
    ) -> None:
        """``progress`` is told how many files are done as they are; ``stop``, once set (the daemon's
        signal handler), ends a long run at the next batch (the next start reconciles the rest);
        ``log_progress`` logs a long run's rate every PROGRESS_EVERY seconds (the daemon); ``patience``
        is how long a batch keeps trying while another process holds the store's write lock (the
        daemon retries on its own, with backoff; ``archive ingest`` waits its turn); ``reparse``
        reads every file again, unchanged ones and failures too, and stores what this parser makes
        of it where that differs (after an upgrade of archive: ``--reparse``)."""
        self.store = store
        self.settings = settings
        self.rules = Rules(settings)
        self.log_each = log_each
        self.progress = progress
        self._pool: ParsePool | None = None
        self._run: _Run | None = None  # how far process() got
        self.log_progress = log_progress
        self.skipped: dict[str, int] = {}  # files walks passed over for their extension, by extension
        self.patience = patience
        self.totals = Summary()  # everything this ingester wrote, for "interrupted after …"
        self.stop_event = stop
        self.reparse = reparse

    def stopping(self) -> bool:
        """True once a stop was asked for: work in progress ends at the next batch."""
        return self.stop_event is not None and self.stop_event.is_set()

    def why_not_article(self, path: str) -> str | None:
        """Why ``path``, named explicitly, is not read as an article (None if it is)."""
        if os.path.isdir(path):
            return None
        if not path.lower().endswith(self.rules.extensions):
            ext = os.path.splitext(path)[1] or "no extension"
            return (f"{ext} is not an article extension ({', '.join(self.rules.extensions)}; "
                    "ARCHIVE_EXTENSIONS)")
        return None

    # ------------------------------------------------------------ pool
    def _get_pool(self) -> ParsePool:
        if self._pool is None:
            from archive.parsepool import ParsePool

            s = self.settings
            self._pool = ParsePool(s.parse_workers, s.parse_timeout, s.max_bytes, s.date_order)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # ------------------------------------------------------------ stages
    def _prepared(self, files: Sequence[FileStat]) -> Iterator[list[Prepared]]:
        """Prepared files in batches; parsing runs ahead in the pool while a batch is written.
        Saved web pages always go to the pool: their parse runs under the time limit there
        (the daemon's own loop never extracts a page)."""
        size = self.settings.batch_size
        heavy = any(f.path.lower().endswith(HTML_EXTENSIONS) for f in files)
        pooled = heavy or (len(files) >= POOL_THRESHOLD and self.settings.parse_workers >= 2)
        if not pooled:
            step = 16  # a person sees the count move: every few files, not every batch
            for i in range(0, len(files), size):
                out: list[Prepared] = []
                end = min(len(files), i + size)
                for k in range(i, end, step):
                    part = files[k : min(k + step, end)]
                    out += [prepare(f, self.settings.max_bytes, self.settings.date_order) for f in part]
                    self._prepared_n(len(part))
                yield out
            return
        yield from self._get_pool().run(files, size, self.stopping, self._prepared_n)

    @property
    def pending(self) -> int:
        """Files of the run in progress not read and parsed yet (0 between runs): part of a
        daemon's backlog while it scans."""
        run = self._run
        return max(0, run.total - run.done) if run is not None else 0

    def _prepared_n(self, n: int) -> None:
        """``n`` more files read and parsed: the progress bar moves; a long run logs its rate (a
        daemon's first scan, off a terminal) every PROGRESS_EVERY seconds."""
        if self.progress:
            self.progress(n)
        run = self._run
        if run is None:
            return
        run.done += n
        now = time.monotonic()
        if self.log_progress and now - run.said >= PROGRESS_EVERY and run.done < run.total:
            run.said = now
            log.info("%s", run.line(now), extra={"event": "progress", "done": run.done, "total": run.total})

    def _move_source(self, p: Prepared, claimed: set[str]) -> KnownFile | None:
        """The article whose file moved to ``p``'s path, if any.

        Same bytes as a vanished file is a move. Same inode and device is a move only
        if the title agrees too: file systems reuse a deleted file's inode at once, so
        an inode alone cannot tell a renamed file from a new one.
        """
        assert p.sha256 is not None and p.parsed is not None
        inode_match: KnownFile | None = None
        for c in self.store.move_candidates(p.stat.device, p.stat.inode, p.sha256):
            if c.id in claimed or c.path == p.stat.path or os.path.lexists(c.path):
                continue
            if c.sha256 == p.sha256:
                return c
            if c.inode == p.stat.inode and c.device == p.stat.device and not c.deleted and inode_match is None:
                old = self.store.get(c.id)
                if old is not None and old.title == p.parsed.title:
                    inode_match = c
        return inode_match

    def apply(
        self, batch: Sequence[Prepared], known: dict[str, KnownFile] | None = None, may_move: bool = True
    ) -> Summary:
        """Write one batch of prepared files: upserts and failures. ``may_move=False`` says no
        known file has vanished, so a new path cannot be a moved file (no look-ups)."""
        s = Summary()
        items: list[UpsertItem] = []
        fails: list[Failure] = []
        moved_from: dict[str, str] = {}  # new path -> old path, for the log line
        claimed: set[str] = set()  # a vanished article moves to one new path at most
        not_files: list[str] = []
        if known is None:  # asked once for the batch, not once a file
            known = self.known_at(p.stat.path for p in batch)
        for p in batch:
            if p.error is not None and p.error.code == NOT_A_FILE:
                not_files.append(p.stat.path)
                continue
            if p.error is not None or p.parsed is None:
                err = p.error or ParseError(p.stat.path, "unknown", "unknown failure")
                fails.append(Failure(path=p.stat.path, code=err.code, reason=err.reason, size=p.stat.size,
                                     mtime=p.stat.mtime, sha256=p.sha256))
                continue
            for w in p.parsed.warnings:
                log.warning("%s: %s", p.stat.path, w, extra={"event": "warning", "path": p.stat.path})
            k = known.get(p.stat.path)
            origin = None if k is not None or not may_move else self._move_source(p, claimed)
            if origin is not None:
                claimed.add(origin.id)
                moved_from[p.stat.path] = origin.path
            items.append(UpsertItem(p.parsed, p.source, origin.id if origin else None, p.signature, self.reparse))
            if p.shingles:  # the worker shingled the body: the story keeper need not again
                SHINGLES.put(p.parsed.body, p.shingles)
        results = self._upsert(items, fails) if items else []
        if fails:
            self.store.record_failures(fails)
        for r in results:
            setattr(s, r.outcome, getattr(s, r.outcome) + 1)
            if self.log_each and r.outcome == "moved" and r.path in moved_from:
                log.info("moved %s -> %s", moved_from[r.path], r.path,
                         extra={"event": "moved", "path": r.path, "from": moved_from[r.path], "id": r.id,
                                "revision": r.revision})
            elif self.log_each and r.outcome != "unchanged":
                log.info("%s %s", r.outcome, r.path, extra={"event": r.outcome, "path": r.path, "id": r.id,
                                                             "revision": r.revision})
        s.failed += len(fails)
        for f in fails:
            _log_failure(f)
        if not_files:
            s.deleted += self.delete(not_files)
        self.totals.add(s)
        return s

    def _upsert(self, items: list[UpsertItem], fails: list[Failure]) -> list[UpsertResult]:
        """Write a batch; if the store refuses it (not merely unavailable), write item by item
        so that one bad document is recorded as a failure and the rest still get in."""
        try:
            return self.store.upsert_many(items)
        except StoreUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - isolate the culprit below
            if len(items) == 1:
                src = items[0].source
                log.error("store refused %s: %s", src.path, exc)
                fails.append(Failure(path=src.path, code="store-error", reason=f"store refused it: {exc}",
                                     size=src.size, mtime=src.mtime, sha256=src.sha256))
                return []
        out: list[UpsertResult] = []
        for item in items:
            out.extend(self._upsert([item], fails))
        return out

    def known_at(self, paths: Iterable[str]) -> dict[str, KnownFile]:
        """What the store holds of ``paths``, in one question (stat data and hash: no bodies). A
        name that is not UTF-8 is never stored (it is a failure instead)."""
        return self.store.known_at([p for p in paths if display(p) == p])

    def process(
        self, files: Sequence[FileStat], known: dict[str, KnownFile] | None = None, may_move: bool = True,
        run: _Run | None = None,
    ) -> Summary:
        """Read, parse and store ``files`` (already known to need it); ``run``: the progress of a
        longer run they are part of (a reconcile's walk, a chunk at a time)."""
        s = Summary()
        if run is None:
            now = time.monotonic()
            run = _Run(0, now, said=now)
        run.total += len(files)
        self._run = run
        try:
            with self.store.bulk():
                for batch in self._prepared(files):
                    s.add(self._apply_in_turn(batch, known, may_move))
                    if self.stopping():
                        break
        finally:
            self._run = None
        return s

    def _apply_in_turn(self, batch: Sequence[Prepared], known: dict[str, KnownFile] | None,
                       may_move: bool) -> Summary:
        """``apply``, waiting (up to ``patience`` seconds, backing off) while another writer holds
        the store: a daemon in its first scan and an ``archive ingest`` take turns."""
        deadline = time.monotonic() + self.patience
        wait, said = 0.1, False
        while True:
            try:
                return self.apply(batch, known, may_move)
            except StoreBusy as exc:
                if time.monotonic() + wait > deadline or self.stopping():
                    raise
                if not said:
                    log.warning("another process is writing the store (%s): waiting for its turn", exc.detail)
                    said = True
                time.sleep(wait)
                wait = min(wait * 2, 2.0)

    # ------------------------------------------------------------ entry points
    @staticmethod
    def unchanged(fs: FileStat, k: KnownFile | None) -> bool:
        return (
            k is not None and not k.deleted and k.size == fs.size and k.mtime == fs.mtime
            and (k.inode is None or k.inode == fs.inode)
        )

    @staticmethod
    def _failed_unchanged(failures: Iterable[Failure]) -> dict[str, tuple[int | None, float | None]]:
        # A store fault recorded against a file by an older archive is retried, never trusted.
        return {f.path: (f.size, f.mtime) for f in failures if f.code != "store-error"}

    def plan(self, files: Iterable[FileStat], known: dict[str, KnownFile],
             failures: Sequence[Failure] | None = None) -> tuple[list[FileStat], int]:
        """Split files into those to read and a count of those unchanged (by stat alone).
        ``failures``: the store's failure rows, when the caller has read them already (else those
        of ``files`` are asked for). With ``reparse`` every file is read."""
        if self.reparse:
            return list(files), 0
        if failures is None:
            files = list(files)
            failures = self.store.failures_at([f.path for f in files if display(f.path) == f.path])
        failed = self._failed_unchanged(failures)
        todo: list[FileStat] = []
        same = 0
        for fs in files:
            if self.unchanged(fs, known.get(fs.path)) or failed.get(fs.path) == (fs.size, fs.mtime):
                same += 1
            else:
                todo.append(fs)
        return todo, same

    def reconcile(self, root: str, *, deletions: bool = True, whole: bool = True) -> Summary:
        """Bring the store in line with the folder ``root``: new, changed, moved and deleted files.

        The folder is walked, planned and written RECONCILE_CHUNK files at a time, so that memory
        stays flat however many files it holds (nothing lists every file, or every stored one).
        ``whole=False`` says ``root`` is part of a larger watched tree: files may have moved in
        from elsewhere, so new paths are always checked against vanished ones."""
        root = os.path.abspath(root)
        under = root.rstrip("/") + "/"
        unreadable: list[tuple[str, str]] = []
        failures = list(self.store.failures())  # read once: for the plans and for clearing stale rows
        failed_at = {f.path for f in failures if f.path.startswith(under)}
        failed_seen: set[str] = set()
        # A new path can only be a moved file if a file the store knows (deleted ones too) is gone;
        # which are gone is known only once the walk ends, so any known file lets new ones be checked.
        may_move = not whole or next(iter(self.store.known_files(root)), None) is not None
        s = Summary()
        live_seen = 0  # walked files that are live articles now: fewer than the store's live ones = some are gone
        now = time.monotonic()
        run = _Run(0, now, said=now, walking=True)
        walked = walk(root, self.rules, unreadable, self.skipped)
        while chunk := list(itertools.islice(walked, RECONCILE_CHUNK)):
            run.walking = len(chunk) == RECONCILE_CHUNK
            failed_seen.update(f.path for f in chunk if f.path in failed_at)
            known = self.known_at(f.path for f in chunk)
            todo, same = self.plan(chunk, known, failures)
            reading = {f.path for f in todo}
            live_seen += sum(1 for f in chunk if f.path not in reading and (k := known.get(f.path)) and not k.deleted)
            if self.progress and same:
                self.progress(same)  # skipped unread: done as far as a progress bar goes
            done = self.process(todo, known, may_move, run)
            live_seen += done.new + done.updated + done.unchanged + done.moved + done.undeleted
            s.add(done)
            s.unchanged += same
            if self.stopping():
                return s  # asked to stop: the next start reconciles the rest
        blind = tuple(d.rstrip("/") + "/" for d, _ in unreadable)
        # Failure rows of files that are gone (or are no longer articles) go: failures lists what is there.
        blind_now = {d for d, _ in unreadable}
        stale = [p for p in failed_at - failed_seen if not p.startswith(blind)
                 and (not os.path.lexists(p) or (os.path.isdir(p) and p not in blind_now))]
        if stale:
            self.store.clear_failures(stale)
        if unreadable:
            # What an unreadable folder holds is unknown, not gone: a failure, never deletions.
            fails = [Failure(path=d, code="unreadable", reason=why) for d, why in unreadable]
            self.store.record_failures(fails)
            s.failed += len(fails)
        if self.store.count(Filters(path_prefix=root)) > live_seen:
            # Some stored file was not walked: gone, or no longer an article file (delete() tells).
            missing = [k.path for k in self.store.known_files(root)
                       if not k.deleted and not k.path.startswith(blind) and not is_article_file(k.path, root)]
            if deletions:
                s.deleted += self.delete(missing, root)
            else:  # archive ingest adds and updates; it says what only a sync would mark deleted
                s.gone += len(missing)
        return s

    def delete(self, paths: Iterable[str], root: str | None = None) -> int:
        """Mark articles deleted whose files are gone, or are no longer regular files (a folder, a
        FIFO, a link out of the tree took their place); paths that are files again are skipped."""
        gone = [p for p in paths if not is_article_file(p, root) and display(p) == p]
        if not gone:
            return 0
        known = self.known_at(gone)
        live = [p for p in gone if (k := known.get(p)) is not None and not k.deleted]
        n = self.store.mark_deleted(live) if live else 0
        if self.log_each:
            for p in live:
                log.info("deleted %s", p, extra={"event": "deleted", "path": p})
        # A failure recorded for a vanished file is no longer interesting.
        self.store.clear_failures(gone)
        return n

    def ingest_paths(self, paths: Iterable[str]) -> Summary:
        """``archive ingest``: files and folders (recursively); deletions are the daemon's business."""
        s = Summary()
        singles: list[FileStat] = []
        unreadable: list[Failure] = []
        for raw in paths:
            p = os.path.abspath(raw)
            if os.path.isdir(p):
                s.add(self.reconcile(p, deletions=False, whole=False))
            elif why := self.why_not_article(p):
                log.debug("skipped %s: %s", p, why)
            else:
                try:
                    singles.append(FileStat.of(p, os.stat(p)))
                except OSError as exc:
                    unreadable.append(Failure(path=p, code="unreadable", reason=f"cannot read: {exc.strerror or exc}"))
        if unreadable:  # recorded like any failure: ``archive failures`` lists them
            self.store.record_failures(unreadable)
            s.failed += len(unreadable)
            for f in unreadable:
                _log_failure(f)
        if singles:
            known = self.known_at(f.path for f in singles)
            todo, same = self.plan(singles, known)
            if self.progress and same:
                self.progress(same)
            s.add(self.process(todo, known))
            s.unchanged += same
        return s

    def count_files(self, paths: Iterable[str]) -> int:
        """How many article files ``paths`` hold (for a progress bar)."""
        n = 0
        for raw in paths:
            p = os.path.abspath(raw)
            n += sum(1 for _ in walk(p, self.rules)) if os.path.isdir(p) else 1
        return n
