"""The parse workers: processes that read, hash and parse files in chunks, each file under a time
limit.

A file's parse may never hang the caller. Each worker arms a timer (``SIGALRM``, whose default
action ends the process, even inside lxml's C code) before each file, and notes in shared memory
which file of which chunk it is on and since when. When a worker dies the pool breaks; the
parent reads the notes: a file in progress past the limit is a failure ``too-slow``, a file in
progress at two breaks is a failure ``parser-crash``, and everything else unfinished runs again in
a new pool. A stop request is honoured between results, whatever a worker is doing: the workers
are killed.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from archive.errors import ParseError

if TYPE_CHECKING:
    from archive.ingest.reading import FileStat, Prepared

_FIELDS = 3  # per worker slot: chunk id, index in the chunk, monotonic start (0: idle)
_MAX_SLOTS = 256  # workers a pool may start over its life (it never replaces one)
_NOTES: tuple[Any, int, float] | None = None  # in a worker: (shared notes, its slot, the limit)


def _worker_init(notes: Any = None, counter: Any = None, limit: float = 0.0) -> None:
    """Parse workers leave Ctrl-C to their parent (which stops them in order: no traceback per
    worker), die with it (a parent killed with -9 leaves no worker behind), and take a slot in the
    shared notes."""
    from archive.procs import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # a parse past the limit ends this process
    die_with_parent()
    global _NOTES
    if notes is not None and counter is not None:
        with counter.get_lock():
            slot = counter.value % _MAX_SLOTS
            counter.value += 1
        _NOTES = (notes, slot, limit)


def prepare_chunk(args: tuple[list[FileStat], int, str, int]) -> list[Prepared]:
    """Run in a worker: prepare each file of chunk ``chunk_id``, each under the time limit."""
    from archive.ingest.reading import prepare

    files, max_bytes, order, chunk_id = args
    out = []
    if _NOTES is None:
        return [prepare(f, max_bytes, order) for f in files]
    notes, slot, limit = _NOTES
    base = slot * _FIELDS
    try:
        for i, f in enumerate(files):
            notes[base], notes[base + 1], notes[base + 2] = chunk_id, i, time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, limit)
            out.append(prepare(f, max_bytes, order))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        notes[base + 2] = 0.0
    return out


def _alive(p: Any) -> bool:
    try:
        return bool(p.is_alive())
    except (OSError, ValueError, AssertionError, AttributeError):
        return False


class ParsePool:
    """A process pool for parsing, with a time limit per file."""

    def __init__(self, workers: int, limit: float, max_bytes: int, order: str = "dmy") -> None:
        self.workers = workers
        self.limit = limit
        self.max_bytes = max_bytes
        self.order = order
        self._pool: cf.ProcessPoolExecutor | None = None
        self._notes: Any = None
        self._strikes: dict[str, int] = {}  # path -> breaks it was in progress at

    def _executor(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            ctx = multiprocessing.get_context("forkserver")
            # Workers need this module only; never re-import the caller's __main__ in them.
            ctx.set_forkserver_preload(["archive.forkserver_preload"])
            self._notes = ctx.RawArray("d", _MAX_SLOTS * _FIELDS)
            counter = ctx.Value("i", 0)
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init,
                                                initargs=(self._notes, counter, self.limit))
        return self._pool

    def close(self, grace: float = 2.0) -> None:
        """Stop the workers: each finishes the file it is on within ``grace`` seconds, or is
        killed (a stop never waits on a slow parse)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        procs = list(getattr(pool, "_processes", {}).values())  # no public way to reach them
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace
        for p in procs:
            with contextlib.suppress(OSError, ValueError, AssertionError, AttributeError):
                p.join(max(0.0, deadline - time.monotonic()))
        stuck = [p for p in procs if _alive(p)]
        for p in stuck:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                p.kill()
        for p in stuck:
            with contextlib.suppress(OSError, ValueError, AssertionError, AttributeError):
                p.join(5)
        if stuck:
            # A worker killed while it wrote a result leaves the pool's manager thread waiting for
            # the rest of that message, and the interpreter's exit joins that thread: closing this
            # process's end of the result pipe gives it end-of-file instead (all other ends died
            # with the workers).
            writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
            if writer is not None:
                with contextlib.suppress(OSError, AttributeError):
                    writer.close()

    def run(self, files: Sequence[FileStat], batch: int, stopping: Callable[[], bool],
            prepared: Callable[[int], None] | None = None) -> Iterator[list[Prepared]]:
        """Prepared files in batches of about ``batch``; parsing runs ahead while a batch is
        written; ``prepared(n)`` hears of each chunk as it comes back. Ends early (workers
        killed) once ``stopping()`` says so."""
        chunk = max(16, min(128, batch // 4))
        chunks = [list(files[i : i + chunk]) for i in range(0, len(files), chunk)]
        window = max(2, self.workers * 4)
        queue = list(range(len(chunks)))
        queue.reverse()  # pop() takes the next chunk in order
        pending: dict[int, cf.Future[list[Prepared]]] = {}
        out: list[Prepared] = []

        def fill() -> None:
            pool = self._executor()
            while queue and len(pending) < window:
                cid = queue.pop()
                pending[cid] = pool.submit(prepare_chunk, (chunks[cid], self.max_bytes, self.order, cid))

        fill()
        while pending:
            cid = min(pending)
            try:
                done = self._result(pending[cid], stopping)
            except BrokenProcessPool:
                failed = self._recover(chunks, pending, queue)
                out.extend(failed)
                if prepared is not None and failed:
                    prepared(len(failed))
                fill()
                continue
            if done is None:  # asked to stop
                self.close()
                return
            del pending[cid]
            out.extend(done)
            if prepared is not None:
                prepared(len(done))
            fill()
            if len(out) >= batch:
                yield out
                out = []
        if out:
            yield out

    @staticmethod
    def _result(fut: cf.Future[list[Prepared]], stopping: Callable[[], bool]) -> list[Prepared] | None:
        while True:
            try:
                return fut.result(timeout=0.25)
            except cf.TimeoutError:
                if stopping():
                    return None

    def _recover(self, chunks: list[list[FileStat]], pending: dict[int, cf.Future[list[Prepared]]],
                 queue: list[int]) -> list[Prepared]:
        """A worker died: fail the files that killed it, and queue the rest of every unfinished
        chunk again (on a new pool)."""
        from archive.ingest.reading import Prepared

        now = time.monotonic()
        notes = self._notes
        in_progress: list[tuple[int, int, float]] = []
        for slot in range(_MAX_SLOTS):
            start = notes[slot * _FIELDS + 2]
            if start:
                in_progress.append((int(notes[slot * _FIELDS]), int(notes[slot * _FIELDS + 1]), start))
        self.close()
        failed: list[Prepared] = []
        drop: dict[int, set[int]] = {}
        for cid, idx, start in in_progress:
            if cid not in pending or idx >= len(chunks[cid]):
                continue
            fs = chunks[cid][idx]
            if now - start >= self.limit * 0.9:
                err = ParseError(fs.path, "too-slow", f"parsing took longer than the limit of {self.limit:g} s "
                                 "(ARCHIVE_PARSE_TIMEOUT)")
            else:
                self._strikes[fs.path] = self._strikes.get(fs.path, 0) + 1
                if self._strikes[fs.path] < 2:
                    continue
                err = ParseError(fs.path, "parser-crash", "the parser crashed on this file twice")
            failed.append(Prepared(fs, None, None, err))
            drop.setdefault(cid, set()).add(idx)
        for cid in sorted(pending, reverse=True):
            gone = drop.get(cid, set())
            chunks[cid] = [f for i, f in enumerate(chunks[cid]) if i not in gone]
            queue.append(cid)
        queue.sort(reverse=True)
        pending.clear()
        return failed
