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
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from archive.errors import IndexDamaged, StoreBusy, StoreError, StoreUnavailable
from archive.search.match import matches
from archive.search.query import SearchQuery, parse_query
from archive.search.snippets import make_snippet
from archive.store.records import Filters, Hit, Sort

if TYPE_CHECKING:
    from pathlib import Path

    from archive.models import Article
    from archive.search.index import KeyCounts, TextIndex, Within



def _log() -> Any:
    import logging  # not on the read path: it costs a search command ~4 ms to import

    return logging.getLogger("archive.store")

INDEX_BUSY = "search index busy"
# How long a write waits for another process's index writer. The holder lets it go at its next
# write or heartbeat (both find the SQLite lock this writer holds meanwhile), within seconds.
INDEX_WAIT = 15.0
PROGRESS_EVERY = 5.0  # seconds between progress lines of a long (re)indexing
# A reader checks the files written since a writer last verified the index, up to this many bytes.
READER_VERIFY_BYTES = 8 << 20
_CHUNK = 500


def _still_matches(q: SearchQuery, art: Article) -> bool:
    return matches(q, [art.title, ", ".join(art.authors), " ".join(art.tags), art.body])


def _folder_fault(folder: object, exc: BaseException) -> StoreUnavailable:
    """A fault of the index's folder (permissions, a full or read-only disk) as the store's."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return StoreUnavailable(str(folder), f"search index: {reason}")


# The condition of a query's matches when the index gives them: its rowids, a JSON list.
IN_MATCHES = "a.n IN (SELECT value FROM json_each(?))"


class IndexUnusable(Exception):
    """A reader cannot use the index (missing where it cannot be built, damaged, unreadable): search
    answers by reading the table instead, and says so."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

BULK_COMMIT_EVERY = 2.0  # seconds between index commits inside bulk(): what readers wait at most


def _trim_memory() -> None:
    """glibc keeps what the index writer's threads freed (~100 MB after a bulk load) in their
    arenas; malloc_trim hands it back. Elsewhere (musl, macOS) this does nothing."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)


class IndexHost(Protocol):
    """What the search index needs of the store it serves (SQLiteStore)."""

    db: sqlite3.Connection
    path: Path
    readonly: bool
    reads_only: bool  # opened by a read command: never repairs an index it can read
    _busy: float

    def _write(self, index: bool = True) -> contextlib.AbstractContextManager[None]: ...
    def _where(self, f: Filters) -> tuple[str, list[Any]]: ...
    def _articles_by_n(self, ns: Sequence[int], live_only: bool) -> dict[int, Article]: ...
    def _articles_where(self, where: str, args: list[Any], sort: Sort, limit: int | None) -> Iterator[Article]: ...
    def _read(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor: ...
    def site_filter_keys(self, sites: Sequence[str]) -> list[str]: ...


class SQLiteSearch:
    """The SQLite store's search: its tantivy index kept in step with the articles table (the
    store's write transactions call the ``_index_*`` hooks), and the queries answered from it.
    Owned by one SQLiteStore (its ``host``), whose connection and reads it uses."""

    def __init__(self, host: IndexHost) -> None:
        self.host = host
        self._ix: TextIndex | None = None
        self._writer: Any = None
        self._bulk_depth = 0
        self._indexed_to: int | None = None  # the watermark this process last wrote (it knows that index state)
        self._store_id = ""
        self._pending_top: int | None = None  # handed to the writer and committed in SQLite, not yet in the index
        self._last_commit = 0.0
        self._unusable: str | None = None  # why a reader cannot use the index (it searches the table then)
        self._pending: frozenset[int] | set[int] = frozenset()  # rowids changed since a reader's index was committed
        self.search_warning: str | None = None
        # how long to wait for another process's index writer (None: the store's busy timeout)
        self._index_wait: float | None = None

    # ------------------------------------------------------------ opening
    def _index_folder(self) -> Path:
        from archive.search.index import folder_for

        return folder_for(self.host.path)

    def _index(self) -> TextIndex:
        """The open index; a writable store builds or repairs it first. A read command opens it as
        it is (writers repair), notes in ``search_warning`` what it lacks, and raises
        IndexUnusable when it cannot serve at all (then search reads the table instead)."""
        if self._ix is not None:
            return self._ix
        if self._unusable is not None:
            raise IndexUnusable(self._unusable)
        if self.host.readonly or self.host.reads_only:
            from archive.search.index import TextIndex

            folder = self._index_folder()
            try:
                ix: TextIndex | None = TextIndex(folder, readonly=True)
                assert ix is not None
                why = self._distrust(ix)
                if why is None:
                    ix.verify(budget=READER_VERIFY_BYTES)
            except FileNotFoundError:
                ix, why = None, "it is missing"
            except IndexDamaged as exc:
                if ix is not None:
                    ix.mark_damaged(exc.detail)
                ix, why = None, f"it is damaged ({exc.detail})"
            except OSError as exc:
                ix, why = None, f"it cannot be read ({exc.strerror or exc})"
            if ix is not None and why is None:
                self._ix = ix
                self._note_lag(ix)
                return ix
            if self.host.readonly:
                self._unusable = (f"{self.host.path} has no usable search index ({folder}: {why}); open the store"
                                  " once where it can be written to build it")
                raise IndexUnusable(self._unusable)
            try:  # the file can be written: build the index now, as a writer would
                self.open_index()
            except (StoreError, OSError) as exc:
                self._unusable = f"the search index {folder} is not usable ({why}) and could not be rebuilt now ({exc})"
                raise IndexUnusable(self._unusable) from None
            assert self._ix is not None
            return self._ix
        self.open_index()
        assert self._ix is not None
        return self._ix

    def _note_lag(self, ix: TextIndex) -> None:
        """What a reader's index lacks, for ``search_warning``: changes logged above its watermark
        (a writer stopped between its two commits), or fewer documents than it last committed."""
        pending = self._unindexed(ix)
        docs, want = ix.num_docs(), ix.docs_at_watermark()
        if pending:
            self._pending = {int(n) for (n,) in self.host._read(
                "SELECT DISTINCT n FROM search_log WHERE seq > ?", (ix.watermark()[1],))}
            self.search_warning = (f"the search index lacks {pending:,} change{'s' if pending != 1 else ''} "
                                   "(a writer stopped before indexing them): results may be incomplete until "
                                   "a writer (archive sync, ingest or watch) runs")
        elif want is not None and docs != want:
            self.search_warning = (f"the search index holds {docs:,} documents where its last commit had "
                                   f"{want:,}: results may be incomplete until a writer rebuilds it")

    def _index_failed(self, exc: BaseException) -> None:
        """A read met damage: a reader marks the index for the next writer and stops using it; a
        writer rebuilds it at its next write. (IndexUnusable: already known, nothing to do.)"""
        if isinstance(exc, IndexUnusable):
            return
        reason = exc.detail if isinstance(exc, IndexDamaged) else str(exc)
        if self._ix is not None:
            self._ix.mark_damaged(reason)
        _log().warning("search index %s damaged (%s): the next writer rebuilds it", self._index_folder(), reason)
        self._ix = None
        self._drop_writer(rollback=True)
        self._unusable = f"{self._index_folder()} is damaged ({reason}); the next writer rebuilds it"

    def _read_store_id(self) -> str:
        return str(self.host.db.execute("SELECT v FROM store_meta WHERE k='id'").fetchone()[0])

    def _distrust(self, ix: TextIndex) -> str | None:
        """The one test of whether ``ix`` may serve this store (readers use it as it is, writers
        rebuild it when not): None when it may, else why not."""
        store_id = self._read_store_id()
        top = self.host.db.execute("SELECT seq FROM sqlite_sequence WHERE name='search_log'").fetchone()
        return ix.distrust(store_id, top[0] if top else 0)

    def open_index(self) -> None:
        """Open the index for writing and index what a crash left above its watermark."""
        self._ensure_index(in_txn=False)

    def _ensure_index(self, *, in_txn: bool) -> None:
        """Open the index for writing: rebuild it if it is missing, damaged, another store's, ahead
        of the table (an older copy of the file came back) or short of the table's articles;
        outside a transaction, also index what is logged above the watermark. A fault of the
        index's folder (permissions, a full or read-only disk) is the store's: StoreUnavailable."""
        from archive.search.index import TextIndex

        self._store_id = self._read_store_id()
        self._unusable = None
        folder = self._index_folder()
        try:
            fresh = not (folder / "meta.json").exists()
        except OSError as exc:  # a folder this user may not enter
            raise _folder_fault(folder, exc) from None
        why: str | None = None
        if self._ix is not None and not in_txn:
            ix = self._ix  # this process made it inside its first write (a schema upgrade)
        else:
            opened: TextIndex | None = None
            try:
                opened = TextIndex(folder, readonly=False)
                why = self._distrust(opened)
                if why is None:
                    opened.verify()
            except IndexDamaged as exc:
                why = exc.detail
            except PermissionError as exc:
                raise _folder_fault(folder, exc) from None
            except (OSError, ValueError) as exc:
                why = f"it is unreadable ({exc})"
            if why is not None:
                ix, why = self._new_index(opened, folder, why, quiet=fresh)
            else:
                assert opened is not None
                ix = opened
        self._ix = ix
        relog = ("DELETE FROM search_log", "INSERT INTO search_log (n, op) SELECT n, 'u' FROM articles ORDER BY n")
        if in_txn:
            if why is not None:
                for sql in relog:
                    self.host.db.execute(sql)
            return
        from archive.search.index import IndexBusy

        with contextlib.suppress(IndexBusy, ValueError, OSError):
            ix.writer(0).garbage_collect_files()  # files a killed writer left (unless one is writing now)
        if why is None and (short := self._short_of_table(ix)):
            ix, why = self._new_index(ix, folder, short, quiet=False)
            self._ix = ix
        if why is not None or self.host.db.execute("SELECT 1 FROM search_log WHERE seq > ? LIMIT 1",
                                              (ix.watermark()[1],)).fetchone():
            # Its commit indexes what is logged above the watermark. If another process holds the
            # index's writer, that process indexes it (a writer takes everything above the mark).
            self._index_wait = 0.5 if why is None else None
            started = time.monotonic()
            try:
                with self.host._write():
                    if why is not None:
                        for sql in relog:
                            self.host.db.execute(sql)
            except StoreUnavailable as exc:
                if why is None and isinstance(exc, StoreBusy):
                    _log().debug("search index being written by another process: it indexes the rest")
                else:
                    raise
            finally:
                self._index_wait = None
            if why is not None and not fresh and ix.num_docs():
                _log().warning("search index %s rebuilt: %s articles in %.1f s", folder,
                               f"{ix.num_docs():,}", time.monotonic() - started)

    def _new_index(self, ix: TextIndex | None, folder: Path, why: str, *,
                   quiet: bool) -> tuple[TextIndex, str | None]:
        """An empty index in place of one that cannot serve, and why (the caller then relogs every
        article). An index that opens is emptied holding its writer; if another process holds
        that, the index is that writer's (it checked the index when it opened) and stays as it
        is (why None). One that does not open is removed and made again."""
        from archive.search.index import DAMAGED, IndexBusy, TextIndex

        rows = int(self.host.db.execute("SELECT count(*) FROM articles").fetchone()[0])
        if ix is not None:
            try:
                w = ix.writer(0.5)
            except IndexBusy:
                _log().debug("search index %s (%s) is being written by another process: left to it", folder, why)
                return ix, None
            except (OSError, ValueError):
                w = None
            if w is not None and not ix.schema_current():
                del w  # an older format's fields: made again below (this writer held it meanwhile)
                w = None
                ix = None
            elif w is not None:
                if rows and not quiet:
                    _log().warning("search index %s cannot be trusted (%s): rebuilding it from %s articles",
                                   folder, why, f"{rows:,}")
                try:
                    w.delete_all_documents()
                    w.commit()
                    w.wait_merging_threads()
                    ix.set_watermark(self._read_store_id(), 0, 0)
                    (folder / DAMAGED).unlink(missing_ok=True)
                    return ix, why
                except (OSError, ValueError) as exc:
                    raise _folder_fault(folder, exc) from None
                finally:
                    del w
        if rows:
            _log().warning("search index %s cannot be used (%s): rebuilding it from %s articles", folder, why,
                           f"{rows:,}")
        TextIndex.remove(folder)
        try:
            return TextIndex(folder, readonly=False), why
        except (OSError, ValueError) as exc:
            raise _folder_fault(folder, exc) from None

    def _short_of_table(self, ix: TextIndex) -> str | None:
        """Whether the index lacks articles the table has, decided from the two themselves. Holding
        the write lock, with nothing logged above the watermark, every committed article is in the
        index (another writer between its two commits leaves log rows above the mark): the index
        must hold exactly the table's count of documents. None when it does (or cannot say now)."""
        try:
            with self.host._write(index=False):
                if self.host.db.execute("SELECT 1 FROM search_log WHERE seq > ? LIMIT 1",
                                   (ix.watermark()[1],)).fetchone():
                    return None
                rows = int(self.host.db.execute("SELECT count(*) FROM articles").fetchone()[0])
                docs = ix.num_docs()
        except StoreUnavailable:
            return None  # another writer is busy: it checked the index when it opened
        return None if docs == rows else f"it holds {docs:,} documents for {rows:,} articles"

    # ------------------------------------------------------------ writing (called by _Txn)
    def _index_before_commit(self) -> int | None:
        """Inside the write transaction: hand the logged changes above the watermark to the index's
        writer. Returns the highest log seq handed over, None when there is nothing to do."""
        if self.host.readonly:
            return None
        if self._ix is None:
            self._ensure_index(in_txn=True)  # a writer's first write
            assert self._ix is not None
        wm = self._handed_mark()
        top = self.host.db.execute("SELECT max(seq) FROM search_log").fetchone()[0]
        if top is None or top <= wm:
            return None
        from archive.search.index import IndexBusy

        if self._writer is None:
            try:
                self._writer = self._ix.writer(max(self.host._busy, INDEX_WAIT) if self._index_wait is None
                                               else self._index_wait)
            except IndexBusy as exc:
                raise StoreBusy(str(self._index_folder()), f"{INDEX_BUSY}: {exc}") from None
            except BaseException as exc:  # noqa: BLE001 - tantivy panics too; _index_fault sorts them
                raise self._index_fault(exc) from None
            # Read again holding the writer (its lock is the index's): another process may have
            # indexed, and moved the watermark, while this one waited for it.
            wm = self._handed_mark()
        try:
            self._hand_over(wm)
        except BaseException as exc:  # noqa: BLE001 - tantivy panics too; _index_fault sorts them
            raise self._index_fault(exc) from None
        return int(top)

    def _hand_over(self, wm: int) -> None:
        """Give the writer every article logged above ``wm``: deleted, then added as it is now."""
        from archive.search.index import TextIndex

        w = self._writer
        ops: dict[int, set[str]] = {}
        for n, op in self.host.db.execute("SELECT n, op FROM search_log WHERE seq > ?", (wm,)):
            ops.setdefault(n, set()).add(op)
        known = self._indexed_to == wm  # this process indexed up to there: nothing above it is in the index
        ns = sorted(ops)
        for n in ns:
            if not known or ops[n] != {"i"}:
                w.delete_documents_by_term("n", n)
        said = time.monotonic()
        for k in range(0, len(ns), _CHUNK):
            chunk = ns[k : k + _CHUNK]
            for r in self.host.db.execute(
                "SELECT n, deleted_at IS NULL, title, authors_text, tags_text, body, published, authors_key, tags_key,"
                " site_key, word_count FROM articles"
                f" WHERE n IN ({','.join('?' * len(chunk))})", chunk):
                w.add_document(TextIndex.document(*r))
            if time.monotonic() - said >= PROGRESS_EVERY:  # a rebuild of a large store
                said = time.monotonic()
                _log().info("search index: %s of %s articles indexed", f"{k + len(chunk):,}", f"{len(ns):,}")

    def _index_fault(self, exc: BaseException) -> BaseException:
        """What a fault of the index's writer becomes: the store's fault (StoreUnavailable: the
        caller keeps its work and retries), never a file's. A panic or damage also marks the index
        for a rebuild. Anything else (a KeyboardInterrupt, a bug) is returned as it is."""
        from archive.search.index import _panic

        if isinstance(exc, StoreUnavailable):
            return exc
        if isinstance(exc, IndexDamaged) or _panic(exc):
            self._index_failed(exc)
        elif isinstance(exc, (OSError, ValueError)):
            self._drop_writer(rollback=True)
        else:
            return exc
        return _folder_fault(self._index_folder(), exc)

    def _handed_mark(self) -> int:
        """The log seq up to which the index has everything: the watermark, or (holding the writer,
        which no other process can then move) what this process handed its writer since."""
        assert self._ix is not None
        _, wm = self._ix.watermark()
        if wm:
            self.host.db.execute("DELETE FROM search_log WHERE seq <= ?", (wm,))
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
            self._ix.set_watermark(self._store_id, self._pending_top, self._ix.num_docs())
        except BaseException as exc:  # noqa: BLE001 - tantivy panics too; _index_fault sorts them
            # The table has the batch; the log keeps it for the index's next commit. The caller
            # hears a store fault and backs off (a full or read-only disk under the index).
            raise self._index_fault(exc) from None
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
        the memory its threads used back to the system. A failed index commit here is only logged
        (the log keeps the changes for the next writer)."""
        try:
            self._commit_index()
        except StoreUnavailable as exc:
            _log().warning("%s: the next writer indexes the rest", exc)
        w, self._writer = self._writer, None
        if w is not None:
            with contextlib.suppress(ValueError, OSError):
                w.wait_merging_threads()
            del w
            _trim_memory()
            self._verify_written()

    def _verify_written(self) -> None:
        """Checksum the segments this writer committed or merged while they are in the page
        cache, so that readers, which verify only what is not stamped yet, find them stamped (a
        reader's check otherwise reads every new segment file again on every search)."""
        if self._ix is None:
            return
        try:
            self._ix.verify()
        except (IndexDamaged, OSError) as exc:
            # Not marked damaged: another writer may have merged and removed files since this
            # one let go. The next writer's full check when it opens the index decides.
            _log().info("search index %s not stamped after a write: %s", self._ix.folder, exc)

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

    def _restrict(self, filters: Filters) -> list[int] | Within | None:
        """What limits a query to what ``filters`` allow: None when the index's live flag is all
        they say; the index's own fields when they are dates, authors, tags and sites (a year at
        100,000 articles was a list of 3,300 rowids, 8 ms; an author at a million, 95 ms at p99),
        unless articles changed since they were indexed; else the rowids they allow."""
        if self._index_alone(filters):
            return None
        if (within := self._within(filters)) is not None:
            return within
        where, args = self.host._where(filters)
        return [r[0] for r in self.host._read(f"SELECT a.n FROM articles a{where}", args)]

    def _within(self, filters: Filters) -> Within | None:
        """``filters`` as the index's own fields say them; None when they say more (a folder, a
        page) or articles changed since they were indexed (the table decides those)."""
        if self._pending or not self._index_alone(
                filters._replace(since=None, until=None, authors=(), tags=(), sites=())):
            return None
        import datetime as dt

        from archive.search.index import Within

        sites = tuple(self.host.site_filter_keys(filters.sites)) if filters.sites else ()
        return Within(filters.since.toordinal() if filters.since else 1, (filters.until or dt.date.max).toordinal(),
                      tuple(filters.authors_folded), tuple(filters.tags_folded),
                      sites or ("",) if filters.sites else ())  # "": no site's key, when none is named so

    def key_counts(self, text: str, filters: Filters, limit: int | None, totals: bool = False) -> KeyCounts | None:
        """What the facets of ``text``'s matches (every article's, when it is empty) under
        ``filters`` count, by the index's aggregations (with ``totals``, for stats of ``filters``
        alone: also their words and the deleted articles they select); None when the index cannot
        say it alone (filters by folder or page, articles changed since indexed, an index out of
        use)."""
        q = parse_query(text)
        try:
            ix = self._index()
            if self._pending:  # the table decides what changed since indexed
                return None
            restrict = None if self._index_alone(filters) else self._within(filters)
            if restrict is None and not self._index_alone(filters):
                return None
            with ix.guard():
                searcher = ix.searcher()
                live_only = not filters.include_deleted
                query = ix.query(searcher, q, restrict, live_only) if not q.empty else ix.every(restrict, live_only)
                keys = ix.key_counts(searcher, query, limit, words=totals)
                if totals:  # the deleted articles the same filters select
                    keys = keys._replace(deleted=ix.count(searcher, ix.every(restrict, False)) - keys.total)
                return keys
        except (IndexUnusable, IndexDamaged) as exc:
            self._index_failed(exc)
            return None

    def search(self, text: str, filters: Filters, limit: int | None = None,
               total: list[int] | None = None) -> Iterator[Hit]:
        """Hits best first; ``total``, when given, gets how many match in all when the index
        counted them while it ranked (the matches are walked for the ranking anyway)."""
        q = parse_query(text)
        if q.empty:
            return
        try:
            ix = self._index()
            searcher = ix.searcher()
            if not q.has_positive:  # only exclusions: the rest, newest first
                yield from self._by_date(q, filters, False, limit, searcher)
                return
            restrict = self._restrict(filters)
            live_only = not filters.include_deleted
            with ix.guard():
                query = ix.query(searcher, q, restrict, live_only)
                want = limit if limit is not None else ix.count(searcher, query)
                first = ix.top(searcher, query, min(64, want), 0, count=total is not None and not self._pending)
            if total is not None and first[1] is not None:
                total.append(first[1])
        except (IndexUnusable, IndexDamaged) as exc:
            yield from self._search_by_scan(q, filters, limit, exc)
            return
        words = q.highlight_words()
        done, offset, page = 0, 0, 64
        ranked = first[0]
        while True:
            if not ranked:
                return
            offset += len(ranked)
            rows = self.host._articles_by_n([n for n, _ in ranked], live_only)
            for n, score in ranked:
                art = rows.get(n)
                if art is None:  # indexed, but not (or no longer) in the table: never shown
                    continue
                if n in self._pending and not _still_matches(q, art):
                    continue  # changed since it was indexed, and no longer has the words
                done += 1
                yield Hit(art, round(score, 6), make_snippet(art.body, words))
                if done >= want:
                    return
            page = 256
            try:
                with ix.guard():
                    ranked, _ = ix.top(searcher, query, min(page, want - done), offset)
            except IndexDamaged as exc:
                self._index_failed(exc)
                raise StoreError(self._unusable or str(exc)) from None

    def words_with_prefix(self, prefix: str) -> list[tuple[str, int]]:
        """The index's words of titles and bodies with ``prefix``, and how many articles hold each
        (deleted ones included: the index's counts); none when the index cannot serve."""
        try:
            ix = self._index()
            with ix.guard():
                searcher = ix.searcher()
                found: dict[str, int] = {}
                for field in ("title", "body"):
                    for term, df in searcher.terms_with_prefix(field, prefix):
                        found[term] = max(found.get(term, 0), int(df))
        except (IndexUnusable, IndexDamaged):
            return []
        return list(found.items())

    def similar(self, article: Article, limit: int = 10) -> list[Hit]:
        """tantivy's more-like-this query over ``article``'s own text (its most distinctive words
        by term and document frequency, per field with the fields' weights), the article itself and
        deleted ones left out; best first."""
        import tantivy

        from archive.search.analyzer import index_text

        n = self.host._read("SELECT n FROM articles WHERE id = ?", (article.id,)).fetchone()
        try:
            ix = self._index()
            with ix.guard():
                searcher = ix.searcher()
                fields = {"title": [index_text(article.title)], "body": [index_text(article.body)],
                          "tags": [index_text(" ".join(article.tags))]}
                mlt = tantivy.Query.more_like_this_document_fields_query(
                    ix.schema, fields, min_doc_frequency=1, min_term_frequency=1, max_query_terms=40,
                    min_word_length=3)
                clauses = [(tantivy.Occur.Must, mlt)]
                if n is not None:
                    clauses.append((tantivy.Occur.MustNot, tantivy.Query.term_query(ix.schema, "n", int(n[0]))))
                query = ix._limited(clauses, None, True)
                ranked, _ = ix.top(searcher, query, limit)
        except (IndexUnusable, IndexDamaged) as exc:
            self._index_failed(exc)
            from archive.store.base import Store

            return Store.similar(self.host, article, limit)  # type: ignore[arg-type]  # the table-read fallback
        rows = self.host._articles_by_n([k for k, _ in ranked], True)
        return [Hit(rows[k], round(score, 6), make_snippet(rows[k].body, [])) for k, score in ranked if k in rows]

    def search_by_date(self, text: str, filters: Filters, ascending: bool, limit: int) -> Iterator[Hit]:
        """Matches by date, then id, cut to ``limit`` before any hit or snippet is built: the index
        gives the first ``limit`` by its date field (and the ties at the last date), which are read
        and ordered here; a common word costs a page, not every match. Where the index lags the
        table (or cannot serve) the table sorts every match."""
        q = parse_query(text)
        if not q.empty:
            yield from self._by_date(q, filters, ascending, limit)

    def _by_date(self, q: SearchQuery, filters: Filters, ascending: bool, limit: int | None,
                 searcher: Any = None) -> Iterator[Hit]:
        arts: Iterable[Article] | None = (self._first_by_date(q, filters, ascending, limit)
                                          if limit is not None else None)
        if arts is None:
            where, args = self._match_where_of(q, filters, searcher)
            arts = self.host._articles_where(where, args, "published" if ascending else "-published", limit)
        words = q.highlight_words()
        for art in arts:
            yield Hit(art, 0.0, make_snippet(art.body, words))

    def _first_by_date(self, q: SearchQuery, filters: Filters, ascending: bool, limit: int) -> list[Article] | None:
        """The first ``limit`` matches in the table's order (date, then id; undated first ascending,
        as SQLite sorts NULL) from the index's date field; None when the index cannot say."""
        import datetime as dt

        live_only = not filters.include_deleted
        try:
            ix = self._index()
            if self._pending:  # changed since indexed: the table decides
                return None
            searcher = ix.searcher()
            restrict = self._restrict(filters)
            with ix.guard():
                ns = ix.by_date(searcher, ix.query(searcher, q, restrict, live_only), limit, ascending)
        except (IndexUnusable, IndexDamaged) as exc:
            self._index_failed(exc)
            return None
        rows = self.host._articles_by_n(ns, live_only).values()
        return sorted(rows, key=lambda a: (a.published is not None, a.published or dt.date.min, a.id),
                      reverse=not ascending)[:limit]

    def _search_by_scan(self, q: SearchQuery, filters: Filters, limit: int | None,
                        exc: BaseException) -> Iterator[Hit]:
        """Search without the index (it cannot serve: see ``search_warning``): every article the
        filters allow is read and checked with the query's rules; newest first, unranked."""
        self._index_failed(exc)
        self.search_warning = (f"{self._unusable}: these results come from reading every article"
                               " (slower, unranked)")
        where, args = self._scan_where(q, filters)
        for art in self.host._articles_where(where, args, "-published", limit):
            yield Hit(art, 0.0, make_snippet(art.body, q.highlight_words()))

    def _scan_where(self, q: SearchQuery, filters: Filters) -> tuple[str, list[Any]]:
        """A WHERE clause over ``articles a`` for what ``q`` matches under ``filters``, decided by
        reading the articles (for when the index cannot serve)."""
        where, args = self.host._where(filters)
        ns = [int(r[0]) for r in self.host._read(
            f"SELECT a.n, a.title, a.authors_text, a.tags_text, a.body FROM articles a{where}", args)
            if matches(q, r[1:])]
        cond = IN_MATCHES
        return (f"{where} AND {cond}" if where else f" WHERE {cond}"), [*args, json.dumps(ns)]

    def _match_where_of(self, q: SearchQuery, filters: Filters, searcher: Any = None) -> tuple[str, list[Any]]:
        """A WHERE clause over ``articles a`` for what ``q`` matches under ``filters``: the index's
        rowids as one JSON parameter (or, when the index cannot serve, the articles read)."""
        try:
            ix = self._index()
            with ix.guard():
                searcher = searcher or ix.searcher()
                live_only = not filters.include_deleted
                if q.has_positive:
                    ns = ix.rowids(searcher, ix.query(searcher, q, None, live_only))
                    cond = IN_MATCHES
                else:
                    ns = ix.rowids(searcher, ix.any_query(searcher, q.negative, None, False))
                    cond = "a.n NOT IN (SELECT value FROM json_each(?))"
        except (IndexUnusable, IndexDamaged) as exc:
            self._index_failed(exc)
            return self._scan_where(q, filters)
        if self._pending:  # changed since indexed: the stored text decides
            keep = set(ns)
            for n, *fields in self.host._read("SELECT n, title, authors_text, tags_text, body FROM articles"
                                         " WHERE n IN (SELECT value FROM json_each(?))",
                                         (json.dumps(sorted(self._pending)),)):
                hit = matches(q, fields) if q.has_positive else any(
                    matches(SearchQuery((t,), ()), fields) for t in q.negative)
                (keep.add if hit else keep.discard)(int(n))
            ns = sorted(keep)
        where, args = self.host._where(filters)
        return (f"{where} AND {cond}" if where else f" WHERE {cond}"), [*args, json.dumps(ns)]

    def count_matches(self, text: str, filters: Filters) -> int:
        q = parse_query(text)
        if q.empty:
            return 0
        if q.has_positive and self._index_alone(filters) and not self._pending:
            try:
                ix = self._index()
                with ix.guard():
                    searcher = ix.searcher()
                    return ix.count(searcher, ix.query(searcher, q, None, not filters.include_deleted))
            except (IndexUnusable, IndexDamaged) as exc:
                self._index_failed(exc)
        where, args = self._match_where_of(q, filters)
        return int(self.host._read(f"SELECT count(*) FROM articles a{where}", args).fetchone()[0])

    def search_index(self) -> dict[str, Any] | None:
        """The index folder, how many live articles it finds, how many logged changes it lacks,
        and (``warning``) why search results may be incomplete."""
        folder = self._index_folder()
        doc: dict[str, Any] = {"path": str(folder)}
        try:
            ix = self._index()
            with ix.guard():
                searcher = ix.searcher()
                doc["articles"] = ix.live_count(searcher)
            doc["pending"] = self._unindexed(ix)
            doc["bytes"] = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
        except IndexUnusable as exc:
            doc["error"] = exc.reason
        except (StoreError, OSError, ValueError) as exc:
            doc["error"] = str(exc)
        if self.search_warning:
            doc["warning"] = self.search_warning
        return doc

    # ------------------------------------------------------------ checks
    def index_consistent(self) -> bool:
        """True if the search index holds exactly the table's articles, each live or not as the
        table says (after a writer's repair: nothing is left above the watermark)."""
        ix = self._index()
        got = sorted(ix.every_rowid())
        rows = self.host.db.execute("SELECT n, deleted_at IS NULL FROM articles")
        want = sorted((int(n), bool(live)) for n, live in rows)
        return got == want and self._unindexed(ix) == 0

    def _unindexed(self, ix: TextIndex) -> int:
        """Logged changes above the index's watermark."""
        return int(self.host._read("SELECT count(*) FROM search_log WHERE seq > ?", (ix.watermark()[1],)).fetchone()[0])
