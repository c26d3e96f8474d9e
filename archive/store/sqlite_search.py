"""Search for the SQLite store: keeping its tantivy index (textindex.py) in step with the articles
table, and answering queries from it.

Writes: triggers log every inserted, edited and deleted article in ``search_log``. Before a write
transaction commits, the logged articles above the index's watermark are added to the index's
writer; after SQLite commits, the index commits and the watermark moves. A writer opening the
store (and every later write) indexes whatever a crash left above the watermark; an index that is
missing, unreadable, of another store or ahead of the table is rebuilt from the table.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from archive.errors import StoreError, StoreUnavailable
from archive.store.base import Filters, Hit, SearchQuery, Sort, make_snippet, parse_query

if TYPE_CHECKING:
    from pathlib import Path

    from archive.models import Article
    from archive.store.textindex import TextIndex



def _log() -> Any:
    import logging  # not on the read path: it costs a search command ~4 ms to import

    return logging.getLogger("archive.store")

_CHUNK = 500
BULK_COMMIT_EVERY = 2.0  # seconds between index commits inside bulk(): what readers wait at most


def _trim_memory() -> None:
    """glibc keeps what the index writer's threads freed (~100 MB after a bulk load) in their
    arenas; malloc_trim hands it back. Elsewhere (musl, macOS) this does nothing."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)


class SearchIndexMixin:
    """The index half of SQLiteStore (which provides ``db``, ``path``, ``readonly``, ``_busy``,
    ``_write()``, ``_where()``, ``_articles_by_n()`` and ``_articles_where()``)."""

    db: sqlite3.Connection
    path: Path
    readonly: bool
    reads_only: bool  # opened by a read command: never repairs an index it can read
    _busy: float
    _ix: TextIndex | None = None
    _writer: Any = None
    _bulk_depth = 0
    _indexed_to: int | None = None  # the watermark this process last wrote (it knows that index state)
    _store_id = ""
    _pending_top: int | None = None  # handed to the writer and committed in SQLite, not yet in the index
    _last_commit = 0.0
    _counted: tuple[str, Filters, int] | None = None  # (query, filters, matches) of the last search
    _index_wait: float | None = None  # how long to wait for another process's index writer (None: busy timeout)

    if TYPE_CHECKING:
        def _write(self) -> contextlib.AbstractContextManager[None]: ...
        @staticmethod
        def _where(f: Filters) -> tuple[str, list[Any]]: ...
        def _articles_by_n(self, ns: Sequence[int], live_only: bool) -> dict[int, Article]: ...
        def _articles_where(self, where: str, args: list[Any], sort: Sort, limit: int | None) -> Iterator[Article]: ...
        def _read(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor: ...

    # ------------------------------------------------------------ opening
    def _index_folder(self) -> Path:
        from archive.store.textindex import folder_for

        return folder_for(self.path)

    def _index(self) -> TextIndex:
        """The open index; a writable store builds or repairs it first, a read-only one says
        what is missing."""
        if self._ix is not None:
            return self._ix
        if self.readonly or self.reads_only:
            # A read command opens the index as it is (no writer, no repair: writers repair),
            # unless it is missing or not this store's and the file can be written.
            from archive.store.textindex import TextIndex

            try:
                ix = TextIndex(self._index_folder(), readonly=True)
                ok = self._trusts(ix)
            except (OSError, ValueError) as exc:
                why, ok = str(exc), False
            else:
                why = "not this store's index"
            if ok:
                self._ix = ix
                return ix
            if self.readonly:
                raise StoreError(f"{self.path} has no usable search index ({self._index_folder()}: {why}); open the"
                                 " store once where it can be written to build it") from None
        self.open_index()
        assert self._ix is not None
        return self._ix

    def _read_store_id(self) -> str:
        return str(self.db.execute("SELECT v FROM store_meta WHERE k='id'").fetchone()[0])

    def _trusts(self, ix: TextIndex) -> bool:
        """The one test of whether ``ix`` may serve this store (readers use it as it is, writers
        rebuild it when not)."""
        store_id = self._read_store_id()
        top = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name='search_log'").fetchone()
        return ix.trusted_by(store_id, top[0] if top else 0)

    def open_index(self) -> None:
        """Open the index for writing and index what a crash left above its watermark."""
        self._ensure_index(in_txn=False)

    def _ensure_index(self, *, in_txn: bool) -> None:
        """Open the index for writing: rebuild it if it is missing, unreadable, another store's or
        ahead of the table (an older copy of the file came back); outside a transaction, also index
        what is logged above the watermark."""
        from archive.store.textindex import TextIndex

        self._store_id = self._read_store_id()
        folder = self._index_folder()
        ix: TextIndex | None = None
        try:
            ix = TextIndex(folder, readonly=False)
            stale = not self._trusts(ix)
            if stale:
                _log().warning("search index %s is of another store or state: rebuilding it", folder)
        except (OSError, ValueError) as exc:
            _log().warning("search index %s unreadable (%s): rebuilding it", folder, exc)
            stale = True
        if stale:
            TextIndex.remove(folder)
            ix = TextIndex(folder, readonly=False)
        assert ix is not None
        self._ix = ix
        relog = ("DELETE FROM search_log", "INSERT INTO search_log (n, op) SELECT n, 'u' FROM articles ORDER BY n")
        if in_txn:
            if stale:
                for sql in relog:
                    self.db.execute(sql)
            return
        from archive.store.textindex import IndexBusy

        with contextlib.suppress(IndexBusy, ValueError, OSError):
            ix.writer(0).garbage_collect_files()  # files a killed writer left (unless one is writing now)
        if stale or self.db.execute("SELECT 1 FROM search_log WHERE seq > ? LIMIT 1", (ix.watermark()[1],)).fetchone():
            # Its commit indexes what is logged above the watermark. If another process holds the
            # index's writer, that process indexes it (a writer takes everything above the mark).
            self._index_wait = 0.5
            try:
                with self._write():
                    if stale:
                        for sql in relog:
                            self.db.execute(sql)
            except StoreUnavailable as exc:
                if not stale and "search index busy" in str(exc):
                    _log().debug("search index being written by another process: it indexes the rest")
                else:
                    raise
            finally:
                self._index_wait = None

    # ------------------------------------------------------------ writing (called by _Txn)
    def _index_before_commit(self) -> int | None:
        """Inside the write transaction: hand the logged changes above the watermark to the index's
        writer. Returns the highest log seq handed over, None when there is nothing to do."""
        if self.readonly:
            return None
        if self._ix is None:
            self._ensure_index(in_txn=True)  # a writer's first write
            assert self._ix is not None
        wm = self._handed_mark()
        top = self.db.execute("SELECT max(seq) FROM search_log").fetchone()[0]
        if top is None or top <= wm:
            return None
        from archive.store.textindex import IndexBusy, TextIndex

        if self._writer is None:
            try:
                self._writer = self._ix.writer(self._busy if self._index_wait is None else self._index_wait)
            except IndexBusy as exc:
                raise StoreUnavailable(str(self._index_folder()), f"search index busy: {exc}") from None
            # Read again holding the writer (its lock is the index's): another process may have
            # indexed, and moved the watermark, while this one waited for it.
            wm = self._handed_mark()
        w = self._writer
        ops: dict[int, set[str]] = {}
        for n, op in self.db.execute("SELECT n, op FROM search_log WHERE seq > ?", (wm,)):
            ops.setdefault(n, set()).add(op)
        known = self._indexed_to == wm  # this process indexed up to there: nothing above it is in the index
        ns = sorted(ops)
        for n in ns:
            if not known or ops[n] != {"i"}:
                w.delete_documents_by_term("n", n)
        for k in range(0, len(ns), _CHUNK):
            chunk = ns[k : k + _CHUNK]
            for r in self.db.execute(
                "SELECT n, deleted_at IS NULL, title, authors_text, tags_text, body FROM articles"
                f" WHERE n IN ({','.join('?' * len(chunk))})", chunk):
                w.add_document(TextIndex.document(*r))
        return int(top)

    def _handed_mark(self) -> int:
        """The log seq up to which the index has everything: the watermark, or (holding the writer,
        which no other process can then move) what this process handed its writer since."""
        assert self._ix is not None
        _, wm = self._ix.watermark()
        if wm:
            self.db.execute("DELETE FROM search_log WHERE seq <= ?", (wm,))
        if self._writer is not None and self._indexed_to is not None and self._indexed_to > wm:
            return self._indexed_to
        return wm

    def _index_after_commit(self, top: int | None) -> None:
        """After SQLite committed: commit the index and move the watermark (in a bulk load, every
        few seconds and at its end: fewer, larger segments). A failure here loses nothing (the log
        still holds the changes); it is logged and the next write retries."""
        if top is not None and self._writer is not None:
            self._pending_top = self._indexed_to = top
            if not self._bulk_depth or time.monotonic() - self._last_commit >= BULK_COMMIT_EVERY:
                self._commit_index()
        if not self._bulk_depth:
            self.release_writer()

    def _commit_index(self) -> None:
        if self._writer is None or self._pending_top is None or self._ix is None:
            return
        try:
            self._writer.commit()
            self._ix.set_watermark(self._store_id, self._pending_top)
        except (OSError, ValueError) as exc:
            _log().warning("search index %s not updated (%s): the next write retries", self._index_folder(), exc)
            self._drop_writer(rollback=True)
            return
        self._pending_top = None
        self._last_commit = time.monotonic()

    def _index_rollback(self) -> None:
        """SQLite rolled back: what the writer was handed must not reach a later commit."""
        self._drop_writer(rollback=True)

    def _drop_writer(self, rollback: bool) -> None:
        w, self._writer = self._writer, None
        self._indexed_to = self._pending_top = None
        if w is not None and rollback:
            with contextlib.suppress(ValueError, OSError):
                w.rollback()

    def release_writer(self) -> None:
        """Let other processes write the index: finish merging, free the writer's lock, and give
        the memory its threads used back to the system."""
        self._commit_index()
        w, self._writer = self._writer, None
        if w is not None:
            with contextlib.suppress(ValueError, OSError):
                w.wait_merging_threads()
            del w
            _trim_memory()

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Keep the index's writer (and its background merges) across the writes inside."""
        self._bulk_depth += 1
        try:
            yield
        finally:
            self._bulk_depth -= 1
            if not self._bulk_depth:
                self.release_writer()

    # ------------------------------------------------------------ reading
    @staticmethod
    def _index_alone(filters: Filters) -> bool:
        """Whether the index's own live flag says all ``filters`` say."""
        return filters in (Filters(), Filters(include_deleted=True))

    def _restrict(self, filters: Filters) -> list[int] | None:
        """The rowids ``filters`` allow, or None when the index alone can apply them."""
        if self._index_alone(filters):
            return None
        where, args = self._where(filters)
        return [r[0] for r in self._read(f"SELECT a.n FROM articles a{where}", args)]

    def search(self, text: str, filters: Filters, limit: int | None = None) -> Iterator[Hit]:
        q = parse_query(text)
        if q.empty:
            return
        ix = self._index()
        searcher = ix.searcher()
        if not q.has_positive:
            yield from self._search_excluding(q, searcher, filters, limit)
            return
        restrict = self._restrict(filters)
        live_only = not filters.include_deleted
        from archive.store.textindex import stem

        query = ix.query(searcher, q, restrict, live_only)
        words = q.highlight_words()
        if limit is None:  # every match: count them once, up front
            want = ix.count(searcher, query)
            self._counted = (text, filters, want)
        else:
            want = limit
        done, offset, page = 0, 0, 64
        while done < want:
            ranked, total = ix.top(searcher, query, min(page, want - done), offset,
                                   count=limit is not None and not offset)
            if total is not None:  # for count_matches right after ("50 of 9,157 shown")
                self._counted = (text, filters, total)
            if not ranked:
                return
            offset += len(ranked)
            rows = self._articles_by_n([n for n, _ in ranked], live_only)
            for n, score in ranked:
                art = rows.get(n)
                if art is None:  # indexed, but not (or no longer) in the table: never shown
                    continue
                done += 1
                yield Hit(art, round(score, 6), make_snippet(art.body, words, stem=stem))
            page = 256

    def _search_excluding(self, q: SearchQuery, searcher: Any, filters: Filters,
                          limit: int | None) -> Iterator[Hit]:
        """Only exclusions: the articles without those words, newest first."""
        where, args = self._match_where_of(q, filters, searcher)
        for art in self._articles_where(where, args, "-published", limit):
            yield Hit(art, 0.0, make_snippet(art.body, []))

    def _match_where_of(self, q: SearchQuery, filters: Filters, searcher: Any = None) -> tuple[str, list[Any]]:
        """A WHERE clause over ``articles a`` for what ``q`` matches under ``filters``: the index's
        rowids as one JSON parameter."""
        ix = self._index()
        searcher = searcher or ix.searcher()
        where, args = self._where(filters)
        live_only = not filters.include_deleted
        if q.has_positive:
            ns = ix.rowids(searcher, ix.query(searcher, q, None, live_only))
            cond = "a.n IN (SELECT value FROM json_each(?))"
        else:
            ns = ix.rowids(searcher, ix.any_query(searcher, q.negative, None, False))
            cond = "a.n NOT IN (SELECT value FROM json_each(?))"
        return (f"{where} AND {cond}" if where else f" WHERE {cond}"), [*args, json.dumps(ns)]

    def _match_where(self, text: str, filters: Filters) -> tuple[str, list[Any]] | None:
        q = parse_query(text)
        return None if q.empty else self._match_where_of(q, filters)

    def count_matches(self, text: str, filters: Filters) -> int:
        counted, self._counted = self._counted, None
        if counted is not None and counted[:2] == (text, filters):
            return counted[2]  # the search just made counted them
        q = parse_query(text)
        if q.empty:
            return 0
        if q.has_positive and self._index_alone(filters):
            ix = self._index()
            searcher = ix.searcher()
            return ix.count(searcher, ix.query(searcher, q, None, not filters.include_deleted))
        where, args = self._match_where_of(q, filters)
        return int(self._read(f"SELECT count(*) FROM articles a{where}", args).fetchone()[0])

    def search_index(self) -> dict[str, Any] | None:
        """The index folder, how many live articles it finds, and how many logged changes it lacks."""
        folder = self._index_folder()
        doc: dict[str, Any] = {"path": str(folder)}
        try:
            ix = self._index()
            searcher = ix.searcher()
            doc["articles"] = ix.live_count(searcher)
            doc["pending"] = self._unindexed(ix)
            doc["bytes"] = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
        except (StoreError, OSError, ValueError) as exc:
            doc["error"] = str(exc)
        return doc

    # ------------------------------------------------------------ checks
    def index_consistent(self) -> bool:
        """True if the search index holds exactly the table's articles, each live or not as the
        table says (after a writer's repair: nothing is left above the watermark)."""
        ix = self._index()
        got = sorted(ix.every_rowid())
        want = sorted((int(n), bool(live)) for n, live in self.db.execute("SELECT n, deleted_at IS NULL FROM articles"))
        return got == want and self._unindexed(ix) == 0

    def _unindexed(self, ix: TextIndex) -> int:
        """Logged changes above the index's watermark."""
        return int(self._read("SELECT count(*) FROM search_log WHERE seq > ?", (ix.watermark()[1],)).fetchone()[0])
