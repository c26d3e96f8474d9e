"""The embedded store: one SQLite file (WAL) and its full-text index (textindex.py)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.errors import StoreBusy, StoreError, StoreMissing, StoreReplaced, StoreUnavailable
from archive.models import Article, Failure, Source, iso, parse_iso, utcnow
from archive.store import records
from archive.store import sqlite_tallies as tallies
from archive.store.base import Store
from archive.store.decide import import_change, upsert_change
from archive.store.records import (
    Facets,
    Filters,
    Hit,
    KnownFile,
    Sort,
    Stats,
    UpsertItem,
    UpsertResult,
)
from archive.store.sqlite_counts import SQLiteCounts
from archive.store.sqlite_rows import A_COLS, COLS, INSERT, PATH_COL, UPDATE, row_article, write_values
from archive.store.sqlite_search import SQLiteSearch
from archive.store.sqlite_stories import SCHEMA as STORIES_SCHEMA
from archive.store.sqlite_stories import SKETCH_SCHEMA, StoryReads, backfill_sketches
from archive.store.sqlite_stories import backfill as stories_backfill
from archive.store.sqlite_stories import keeper as stories_keeper
from archive.store.sqlite_tallies import SCHEMA as TALLIES_SCHEMA

if TYPE_CHECKING:
    from archive.stories.signature import Signature

SCHEMA_VERSION = 9
# WAL pages before a commit checkpoints them into the file. SQLite's default, 1,000 (4 MB), is less
# than one 500-article batch, so a bulk load checkpointed (and synced) at nearly every commit.
BULK_CHECKPOINT_PAGES = 10_000
BULK_CHECKPOINT_AFTER = 1_000  # rows changed, triggers' included (~300 articles): a small event batch never

_V1 = """
CREATE TABLE articles (
    n            INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    path         TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    authors      TEXT NOT NULL,          -- JSON list, byline order
    authors_text TEXT NOT NULL,          -- what full-text search sees
    authors_key  TEXT NOT NULL,          -- JSON list of folded names, for --author
    published    TEXT,
    word_count   INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    mtime        REAL NOT NULL,
    inode        INTEGER,
    device       INTEGER,
    revision     INTEGER NOT NULL,
    ingested_at  TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    deleted_at   TEXT,
    body         TEXT NOT NULL           -- last: reading the other columns never walks its overflow pages
);
CREATE INDEX articles_published ON articles(published);
CREATE INDEX articles_updated ON articles(updated_at);
CREATE INDEX articles_sha ON articles(sha256);
CREATE INDEX articles_inode ON articles(device, inode);
CREATE INDEX articles_deleted ON articles(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE TABLE article_authors (n INTEGER NOT NULL, name TEXT NOT NULL);
CREATE INDEX article_authors_name ON article_authors(name, n);
CREATE INDEX article_authors_n ON article_authors(n);
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, authors_text, body,
    content='articles', content_rowid='n',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, authors_text, body)
        VALUES (new.n, new.title, new.authors_text, new.body);
    INSERT INTO article_authors(n, name) SELECT new.n, value FROM json_each(new.authors_key);
END;
CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, authors_text, body)
        VALUES ('delete', old.n, old.title, old.authors_text, old.body);
    DELETE FROM article_authors WHERE n = old.n;
END;
CREATE TRIGGER articles_au_text AFTER UPDATE OF title, authors_text, body ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, authors_text, body)
        VALUES ('delete', old.n, old.title, old.authors_text, old.body);
    INSERT INTO articles_fts(rowid, title, authors_text, body)
        VALUES (new.n, new.title, new.authors_text, new.body);
END;
CREATE TRIGGER articles_au_authors AFTER UPDATE OF authors_key ON articles BEGIN
    DELETE FROM article_authors WHERE n = old.n;
    INSERT INTO article_authors(n, name) SELECT new.n, value FROM json_each(new.authors_key);
END;
CREATE TABLE revisions (
    article_id TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    doc        TEXT NOT NULL,
    PRIMARY KEY (article_id, revision)
) WITHOUT ROWID;
CREATE TABLE failures (
    path      TEXT PRIMARY KEY,
    code      TEXT NOT NULL,
    reason    TEXT NOT NULL,
    size      INTEGER,
    mtime     REAL,
    sha256    TEXT,
    failed_at TEXT NOT NULL
);
CREATE TABLE daemons (key TEXT PRIMARY KEY, token TEXT NOT NULL, doc TEXT NOT NULL);
"""

_V2 = """
-- Counts, sums and per-year groups of live articles read this index, not the table.
CREATE INDEX articles_live ON articles(deleted_at, published, word_count);
"""

_V3 = """
-- Articles from the web: where they were published, the site, tags, what the file was parsed as.
ALTER TABLE articles ADD COLUMN url TEXT;
ALTER TABLE articles ADD COLUMN site TEXT;
ALTER TABLE articles ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';       -- JSON list, as the file says
ALTER TABLE articles ADD COLUMN tags_key TEXT NOT NULL DEFAULT '[]';   -- JSON list of folded tags, for --tag
ALTER TABLE articles ADD COLUMN tags_text TEXT NOT NULL DEFAULT '';    -- what full-text search sees
ALTER TABLE articles ADD COLUMN format TEXT NOT NULL DEFAULT 'text';
ALTER TABLE articles ADD COLUMN description TEXT;
CREATE INDEX articles_site ON articles(site) WHERE site IS NOT NULL;
CREATE TABLE article_tags (n INTEGER NOT NULL, tag TEXT NOT NULL);
CREATE INDEX article_tags_tag ON article_tags(tag, n);
CREATE INDEX article_tags_n ON article_tags(n);
-- Search sees tags too: the index gets a column, and is rebuilt from the table once.
DROP TRIGGER articles_ai;
DROP TRIGGER articles_ad;
DROP TRIGGER articles_au_text;
DROP TABLE articles_fts;
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, authors_text, tags_text, body,
    content='articles', content_rowid='n',
    tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO articles_fts(articles_fts) VALUES ('rebuild');
CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, authors_text, tags_text, body)
        VALUES (new.n, new.title, new.authors_text, new.tags_text, new.body);
    INSERT INTO article_authors(n, name) SELECT new.n, value FROM json_each(new.authors_key);
    INSERT INTO article_tags(n, tag) SELECT new.n, value FROM json_each(new.tags_key);
END;
CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, authors_text, tags_text, body)
        VALUES ('delete', old.n, old.title, old.authors_text, old.tags_text, old.body);
    DELETE FROM article_authors WHERE n = old.n;
    DELETE FROM article_tags WHERE n = old.n;
END;
CREATE TRIGGER articles_au_text AFTER UPDATE OF title, authors_text, tags_text, body ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, authors_text, tags_text, body)
        VALUES ('delete', old.n, old.title, old.authors_text, old.tags_text, old.body);
    INSERT INTO articles_fts(rowid, title, authors_text, tags_text, body)
        VALUES (new.n, new.title, new.authors_text, new.tags_text, new.body);
END;
CREATE TRIGGER articles_au_tags AFTER UPDATE OF tags_key ON articles BEGIN
    DELETE FROM article_tags WHERE n = old.n;
    INSERT INTO article_tags(n, tag) SELECT new.n, value FROM json_each(new.tags_key);
END;
"""

_V4 = """
-- Full-text search moves to a tantivy index beside the file (textindex.py), derived from this
-- table through a change log: every article once now, then each insert, edit and deletion.
DROP TRIGGER articles_ai;
DROP TRIGGER articles_ad;
DROP TRIGGER articles_au_text;
DROP TABLE articles_fts;
CREATE TABLE store_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
INSERT INTO store_meta (k, v) VALUES ('id', lower(hex(randomblob(16))));
-- op: i(nserted), u(pdated), d(eleted); a row only ever inserted needs no delete in the index.
CREATE TABLE search_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, op TEXT NOT NULL);
INSERT INTO search_log (n, op) SELECT n, 'u' FROM articles ORDER BY n;
CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
    INSERT INTO search_log (n, op) VALUES (new.n, 'i');
    INSERT INTO article_authors(n, name) SELECT new.n, value FROM json_each(new.authors_key);
    INSERT INTO article_tags(n, tag) SELECT new.n, value FROM json_each(new.tags_key);
END;
CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
    INSERT INTO search_log (n, op) VALUES (old.n, 'd');
    DELETE FROM article_authors WHERE n = old.n;
    DELETE FROM article_tags WHERE n = old.n;
END;
CREATE TRIGGER articles_au_text AFTER UPDATE OF title, authors_text, tags_text, body, deleted_at ON articles BEGIN
    INSERT INTO search_log (n, op) VALUES (new.n, 'u');
END;
"""

_V5 = """
-- Where each article's date was read: its text, front matter, a saved page's metadata, or its path.
ALTER TABLE articles ADD COLUMN date_source TEXT;
"""

_V7 = """
-- Tags compare without a hashtag's '#' ('#Donald Trump' is 'donald trump'): their keys made again
-- (the article_tags trigger follows; the search index is not touched).
UPDATE articles SET tags_key = (SELECT json_group_array(ltrim(value, '#')) FROM json_each(articles.tags_key))
    WHERE tags_key LIKE '%"#%';
"""

_V8 = """
-- A page of a list by title or by the time stored reads the first rows of an index, not every row
-- sorted (200 ms at 100,000 articles); updated and path have theirs already.
CREATE INDEX IF NOT EXISTS articles_title ON articles(title COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS articles_ingested ON articles(ingested_at);
"""

_V9 = """
-- The site each article is grouped by (archive.store.keys: the address's registrable domain, else
-- the name folded), set by the writer (the rows stored before are given theirs by _migrate).
ALTER TABLE articles ADD COLUMN site_key TEXT;
DROP INDEX IF EXISTS articles_site;
CREATE INDEX articles_site_key ON articles(site_key) WHERE site_key IS NOT NULL;
-- Each folded author and tag once per article (an article with "Ann Lee" and "ANN LEE" counted
-- twice for her); the side tables follow by their triggers.
UPDATE articles SET authors_key = (SELECT json_group_array(value) FROM (SELECT value, min(key) AS k
        FROM json_each(articles.authors_key) GROUP BY value ORDER BY k))
    WHERE json_array_length(authors_key) > (SELECT count(DISTINCT value) FROM json_each(articles.authors_key));
UPDATE articles SET tags_key = (SELECT json_group_array(value) FROM (SELECT value, min(key) AS k
        FROM json_each(articles.tags_key) GROUP BY value ORDER BY k))
    WHERE json_array_length(tags_key) > (SELECT count(DISTINCT value) FROM json_each(articles.tags_key));
"""


def _site_keys(db: sqlite3.Connection) -> None:
    """Give each stored article with a site the key it is grouped by (archive.store.keys)."""
    from archive.store.keys import site_key

    rows = db.execute("SELECT n, site, url FROM articles WHERE site IS NOT NULL").fetchall()
    db.executemany("UPDATE articles SET site_key = ? WHERE n = ?", [(site_key(s, u), n) for n, s, u in rows])


def _body_last(db: sqlite3.Connection) -> None:
    """Make the articles table again with the same rows, its body the last column. Columns added
    by ALTER TABLE since version 1 (url, site, tags, story, ...) went after the body, so reading any
    of them walked the body's overflow pages (~100 µs an article for the story keeper's candidates).
    The new table is declared from the old one (types, NOT NULL, defaults, single-column UNIQUE);
    its indexes and triggers, dropped with it, are made again as they were; rowids are kept, so the
    search index and the story tables still point at the same articles."""
    cols = db.execute("PRAGMA table_info(articles)").fetchall()  # cid, name, type, notnull, default, pk
    if cols[-1][1] == "body":
        return
    unique = {db.execute(f"PRAGMA index_info('{ix[1]}')").fetchone()[2]
              for ix in db.execute("PRAGMA index_list(articles)") if ix[3] == "u"}  # seq, name, unique, origin
    defs = [" ".join(filter(None, [name, type_, "PRIMARY KEY" if pk else "", "NOT NULL" if notnull else "",
                                   f"DEFAULT {default}" if default is not None else "",
                                   "UNIQUE" if name in unique else ""]))
            for _, name, type_, notnull, default, pk in sorted(cols, key=lambda c: c[1] == "body")]
    again = [r[0] for r in db.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'articles' AND type IN ('index', 'trigger') AND sql IS NOT NULL"
        " ORDER BY type, name")]
    db.execute(f"CREATE TABLE articles_v8 ({', '.join(defs)})")
    names = ", ".join(c[1] for c in cols)
    db.execute(f"INSERT INTO articles_v8 ({names}) SELECT {names} FROM articles")
    db.execute("DROP TABLE articles")
    db.execute("ALTER TABLE articles_v8 RENAME TO articles")
    for sql in again:
        db.execute(sql)


# Forward migrations: MIGRATIONS[v] takes a store from version v to v + 1 (step 7 is finished in
# Python by _migrate: the table made again, the sketches made; step 8: the site keys, then the
# counts; and _migrate places a store's articles in stories once the tables are today's).
MIGRATIONS: dict[int, str] = {0: _V1, 1: _V2, 2: _V3, 3: _V4, 4: _V5, 5: STORIES_SCHEMA, 6: _V7,
                              7: SKETCH_SCHEMA + _V8, 8: _V9}

def _under(folder: str) -> tuple[str, str]:
    """The range of paths under ``folder`` ("/a/" up to "/a0": "0" follows "/")."""
    p = folder.rstrip("/") + "/"
    return p, p[:-1] + "0"


_ORDER = {
    # SQLite sorts NULL first: undated articles come last when newest-first. Ties by id: a total
    # order, so that a page can start after a (published, id) key (keyset paging).
    "-published": "a.published DESC, a.id DESC",
    "published": "a.published ASC, a.id ASC",
    "-updated": "a.updated_at DESC, a.n DESC",
    "updated": "a.updated_at ASC, a.n ASC",
    "-ingested": "a.ingested_at DESC, a.n DESC",
    "ingested": "a.ingested_at ASC, a.n ASC",
    "title": "a.title COLLATE NOCASE ASC, a.n ASC",
    "path": "a.path ASC, a.n ASC",
}


_KNOWN = "SELECT id, path, sha256, size, mtime, inode, device, deleted_at IS NOT NULL FROM articles"
_FAILURE = "SELECT path, code, reason, size, mtime, sha256, failed_at FROM failures"


def _known(r: Sequence[Any]) -> KnownFile:
    """A row of ``_KNOWN``."""
    return KnownFile(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]))


def _failure(r: Sequence[Any]) -> Failure:
    """A row of ``_FAILURE``."""
    return Failure(path=r[0], code=r[1], reason=r[2], size=r[3], mtime=r[4], sha256=r[5], failed_at=parse_iso(r[6]))


class SQLiteStore(Store):
    """The embedded store (default)."""

    kind = "sqlite"

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0, create: bool = True) -> None:
        """Open (and with ``create``, make) the store at ``path``. Without ``create`` a missing
        store is an error, and a store that cannot be written (read-only media, no permission)
        is opened read-only."""
        self.path = Path(path).expanduser().absolute()
        self.story_reads = StoryReads(self._read, self._where)
        self.fulltext = SQLiteSearch(self)  # the search index, kept in step by this store's writes
        self.counts = SQLiteCounts(self)  # stats and facets
        self.display = str(self.path)
        self._busy = busy_timeout
        self.readonly = False
        self.reads_only = not create
        self._staged: list[tuple[Any, ...]] = []  # new rows of the batch being written
        # Articles of the batch to place in their stories: (article, its story before, band keys)
        self._placing: list[tuple[Article, str | None, Signature | None]] = []
        if not create:
            if not self.path.is_file():
                raise StoreMissing(str(self.path))
            self.readonly = not _writable(self.path)
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not self.path.exists():
                    fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                    os.close(fd)
            # check_same_thread off: `archive serve` answers from its worker thread; a store is
            # still used by one thread at a time (the web app serialises its calls).
            self.db = self._connect_readonly() if self.readonly else sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError as exc:
            raise self._unavailable(exc) from None
        except OSError as exc:
            raise StoreError(f"cannot open {self.path}: {exc.strerror or exc}") from None
        try:
            st = os.stat(self.path)
            self._ident = (st.st_dev, st.st_ino)
        except OSError as exc:
            raise StoreError(f"cannot open {self.path}: {exc.strerror or exc}") from None
        if self.readonly:
            self._check_version_readonly()
            return
        # Switching a new file to WAL needs it to ourselves, and SQLite does not always wait for
        # that: two processes opening a fresh store at once would see "database is locked".
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                # A writer's bulk loads keep their index pages in 8 MiB (32 MiB measured no faster at
                # 20,000 articles and held 25 MB more at a daemon's peak); a reader (a query command,
                # each of archive serve's store threads) needs far less, and SQLite keeps what it
                # cached for as long as the connection lives.
                self.db.execute(f"PRAGMA cache_size={-2048 if self.reads_only else -8192}")
                self._migrate()
                break
            except (sqlite3.OperationalError, StoreUnavailable) as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    self.db.close()
                    raise exc if isinstance(exc, StoreUnavailable) else self._unavailable(exc) from None
                time.sleep(0.05)
        if create:
            self.fulltext.open_index()  # a writer repairs the search index before anything else

    def _connect_readonly(self) -> sqlite3.Connection:
        """A read-only connection. A WAL store needs its -shm file: where that cannot be made
        (read-only media), the file is read as it is (``immutable``)."""
        from urllib.parse import quote

        base = "file:" + quote(str(self.path))
        last: sqlite3.Error | None = None
        for extra in ("?mode=ro", "?mode=ro&immutable=1"):
            db = sqlite3.connect(base + extra, uri=True, timeout=self._busy, isolation_level=None,
                                 check_same_thread=False)
            try:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return db
            except sqlite3.Error as exc:
                last = exc
                db.close()
        raise sqlite3.OperationalError(str(last))

    def _check_version_readonly(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            self.db.close()
            raise StoreError(
                f"{self.path} is read-only and has schema version {version}, this archive needs "
                f"{SCHEMA_VERSION}: open it once where it can be written to upgrade it"
            )

    # ------------------------------------------------------------ plumbing
    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        cls = StoreBusy if _is_busy(exc) else StoreUnavailable
        return cls(str(self.path), str(exc))

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}; this archive knows {SCHEMA_VERSION}: upgrade archive"
            )
        if version == SCHEMA_VERSION:
            return
        with self._write():
            version = start = self.db.execute("PRAGMA user_version").fetchone()[0]
            while version < SCHEMA_VERSION:
                for stmt in _split_sql(MIGRATIONS[version]):
                    self.db.execute(stmt)
                if version == 7:
                    _body_last(self.db)
                    backfill_sketches(self.db)
                if version == 8:
                    _site_keys(self.db)
                    for stmt in _split_sql(TALLIES_SCHEMA):
                        self.db.execute(stmt)
                version += 1
                self.db.execute(f"PRAGMA user_version={version}")
            if start <= 5:  # stories of the articles stored before they were kept, in today's tables
                stories_backfill(self.db)
        self._give_back_free_pages()

    def _give_back_free_pages(self) -> None:
        """After an upgrade that made a table again (the old one's pages left free: a store twice
        its size), give them back to the file system, if no one else has the store open (VACUUM
        needs it alone: 4 s at 100,000 articles); otherwise later writes reuse them."""
        free, pages = (self.db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("freelist_count", "page_count"))
        if free * 4 < pages:
            return
        self.db.execute("PRAGMA busy_timeout = 0")  # someone else has it open: no waiting for them
        try:
            self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {int(self._busy * 1000)}")

    def _write(self, index: bool = True) -> _Txn:
        """A write transaction; ``index=False`` for writes no search sees (failures, daemons),
        which then never wait for the search index's writer."""
        return _Txn(self, index)

    def _read(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, args)
        except sqlite3.DatabaseError as exc:
            if is_store_fault(exc):
                raise self._unavailable(exc) from None
            raise

    def check(self) -> None:
        """Raise StoreReplaced when the store's file was removed or replaced under us (its inode
        changed): writing on would go into a file nobody can open again."""
        try:
            st = os.stat(self.path)
        except OSError:
            raise StoreReplaced(str(self.path), "the store file was removed") from None
        if (st.st_dev, st.st_ino) != self._ident:
            raise StoreReplaced(str(self.path), "the store file was replaced by another file")

    def backup_to(self, dest: Path) -> None:
        """A consistent copy of the file at ``dest`` (SQLite's online backup API: one snapshot,
        whatever other processes write meanwhile). The search index is not copied: it is derived,
        and the first writer of the copy builds it."""
        try:
            target = sqlite3.connect(dest)
            try:
                self.db.backup(target)
            finally:
                target.close()
        except sqlite3.Error as exc:
            with contextlib.suppress(OSError):
                dest.unlink()
            raise self._unavailable(exc) from None

    def interrupt(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.interrupt()

    # ------------------------------------------------------------ search (archive.store.sqlite_search)
    @property
    def search_warning(self) -> str | None:  # type: ignore[override]  # the index's own note
        return self.fulltext.search_warning

    def search(self, text: str, filters: Filters, limit: int | None = None) -> Iterator[Hit]:
        return self.fulltext.search(text, filters, limit)

    def search_by_date(self, text: str, filters: Filters, ascending: bool, limit: int) -> Iterator[Hit]:
        return self.fulltext.search_by_date(text, filters, ascending, limit)

    def count_matches(self, text: str, filters: Filters) -> int:
        return self.fulltext.count_matches(text, filters)

    def search_counted(self, text: str, filters: Filters, limit: int) -> tuple[list[Hit], int]:
        total: list[int] = []
        hits = list(self.fulltext.search(text, filters, limit, total))
        return hits, total[0] if total else self.count_matches(text, filters)

    def words_with_prefix(self, prefix: str) -> list[tuple[str, int]]:
        return self.fulltext.words_with_prefix(prefix)

    def similar(self, article: Article, limit: int = 10) -> list[Hit]:
        return self.fulltext.similar(article, limit)

    def search_index(self) -> dict[str, Any] | None:
        return self.fulltext.search_index()

    def index_consistent(self) -> bool:
        return self.fulltext.index_consistent()

    def close(self) -> None:
        self.fulltext.release_writer()
        try:
            self.db.close()
        except sqlite3.Error:  # closing twice is harmless
            pass

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Many writes follow: keep the index's writer, and let the WAL grow to ~40 MB before a
        commit checkpoints it, instead of checkpointing at every batch. A load that wrote more
        than one batch's worth checkpoints once at its end, so that neither the next small write
        (the daemon's next event) nor closing the store carries it."""
        outer = not self.fulltext._bulk_depth and not self.readonly
        changes = self._changes() if outer else None
        if outer:
            self._checkpoint_every(BULK_CHECKPOINT_PAGES)
        try:
            with self.fulltext.bulk():
                yield
        finally:
            if outer:
                self._checkpoint_every(1000)  # SQLite's default
                now = self._changes()
                if changes is not None and now is not None and now - changes >= BULK_CHECKPOINT_AFTER:
                    with contextlib.suppress(sqlite3.Error):
                        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    # A connection closed (or replaced) inside a bulk load: its writes report the fault; these
    # settings and counts must not hide it.
    def _checkpoint_every(self, pages: int) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.execute(f"PRAGMA wal_autocheckpoint={pages}")

    def _changes(self) -> int | None:
        try:
            return self.db.total_changes
        except sqlite3.Error:
            return None

    # ------------------------------------------------------------ writes
    def upsert_many(self, items: Sequence[UpsertItem]) -> list[UpsertResult]:
        out: list[UpsertResult] = []
        now = utcnow()
        with self._write():
            rows: dict[str, Any] = {}
            rows.update((r[PATH_COL], r) for r in self._where_in(
                f"SELECT {COLS} FROM articles", "path", [i.source.path for i in items], self.db))
            seen: set[str] = set()
            self._staged = []
            self._placing = []
            for item in items:
                path = item.source.path
                if path in seen:
                    # A path seen before in this batch may have been written since: read it again.
                    self._flush_staged()
                    row = self._row_at(path)
                else:
                    row = rows.get(path)
                seen.add(path)
                out.append(self._upsert_one(item, now, row))
            self._flush_staged()
            self._place_stories()
            if items:
                self.db.executemany("DELETE FROM failures WHERE path = ?", [(i.source.path,) for i in items])
        return out

    def _place_stories(self) -> None:
        """Put the batch's new, changed and returning articles in their stories (after every row
        of the batch is in the table: two copies may arrive together)."""
        if not self._placing:
            return
        from archive.stories.keeper import peer_of

        stories_keeper(self.db).place_batch((peer_of(a), story, sig) for a, story, sig in self._placing)
        self._placing = []

    def _flush_staged(self) -> None:
        """Insert the batch's new articles in one executemany (a later read of a path written in
        the same batch needs them in the table first)."""
        if not self._staged:
            return
        self.db.executemany(INSERT, self._staged)
        self._staged = []

    def _row_at(self, path: str) -> Any:
        return self.db.execute(f"SELECT {COLS} FROM articles WHERE path = ?", (path,)).fetchone()

    def _upsert_one(self, item: UpsertItem, now: Any, row: Any) -> UpsertResult:
        src = item.source
        if row is None and item.move_from:
            row = self.db.execute(f"SELECT {COLS} FROM articles WHERE id = ?", (item.move_from,)).fetchone()
        c = upsert_change(row_article(row) if row is not None else None, item, now)
        art = c.article
        if c.outcome == "new":
            self._staged.append(write_values(art))
        elif c.keep is None and not c.fields:  # the same bytes: only the file's data changes
            self.db.execute(
                "UPDATE articles SET path=?, size=?, mtime=?, inode=?, device=?, deleted_at=NULL, updated_at=?"
                " WHERE id=?", (src.path, src.size, src.mtime, src.inode, src.device, iso(art.updated_at), art.id))
        else:
            if (old := c.keep) is not None:  # new bytes: the old revision is kept (a file read again keeps none)
                self.db.execute(
                    "INSERT OR REPLACE INTO revisions (article_id, revision, sha256, doc) VALUES (?,?,?,?)",
                    (old.id, old.revision, old.source.sha256, json.dumps(old.to_doc(), ensure_ascii=False)),
                )
            self.db.execute(UPDATE, (*write_values(art)[1:], art.id))
        if c.place:
            self._placing.append((art, c.story_of, item.signature))
        return UpsertResult(src.path, art.id, c.outcome, art.revision)

    def touch_many(self, files: Sequence[Source]) -> None:
        if not files:
            return
        with self._write(index=False):
            self.db.executemany(
                "UPDATE articles SET size=?, mtime=?, inode=?, device=? WHERE path=? AND sha256=?",
                [(f.size, f.mtime, f.inode, f.device, f.path, f.sha256) for f in files],
            )

    def mark_deleted(self, paths: Iterable[str]) -> int:
        rows = [(iso(utcnow()), p) for p in paths]
        if not rows:
            return 0
        with self._write():
            gone = [r for _, p in rows for r in self.db.execute(
                "SELECT id, story FROM articles WHERE path=? AND deleted_at IS NULL", (p,))]
            changed = self.db.executemany(  # rowcount: the rows updated, not what triggers did
                "UPDATE articles SET deleted_at=?, updated_at=?1 WHERE path=? AND deleted_at IS NULL", rows
            ).rowcount
            k = stories_keeper(self.db)
            for id, story in gone:
                k.remove(id, story)
            self.db.executemany("DELETE FROM failures WHERE path=?", [(p,) for _, p in rows])
        return changed

    def record_failures(self, failures: Sequence[Failure]) -> None:
        if not failures:
            return
        with self._write(index=False):
            self.db.executemany(
                "INSERT OR REPLACE INTO failures (path, code, reason, size, mtime, sha256, failed_at)"
                " VALUES (?,?,?,?,?,?,?)",
                [(f.path, f.code, f.reason, f.size, f.mtime, f.sha256, iso(f.failed_at or utcnow())) for f in failures],
            )

    def clear_failures(self, paths: Iterable[str]) -> None:
        rows = [(p,) for p in paths]
        if rows:
            with self._write(index=False):
                self.db.executemany("DELETE FROM failures WHERE path=?", rows)

    def put_articles(self, articles: Sequence[Article], revisions: Sequence[Article] = ()) -> dict[str, int]:
        counts = {"imported": 0, "updated": 0, "unchanged": 0, "conflict": 0}
        with self._write():
            self._placing = []
            for a in articles:
                row = self.db.execute(f"SELECT {COLS} FROM articles WHERE id=?", (a.id,)).fetchone()
                old = row_article(row) if row is not None else None
                owner = self.db.execute("SELECT id FROM articles WHERE path=?", (a.source.path,)).fetchone()
                outcome, a = import_change(a, old, owner[0] if owner else None)
                counts[outcome] += 1
                if outcome in ("unchanged", "conflict"):
                    continue
                if old is None:
                    self.db.execute(INSERT, write_values(a))
                else:
                    self.db.execute(UPDATE, (*write_values(a)[1:], a.id))
                if a.deleted_at is None:
                    self._placing.append((a, a.story, None))
                elif old is not None:
                    stories_keeper(self.db).remove(a.id, a.story)
            self._place_stories()
            for r in revisions:
                self.db.execute(
                    "INSERT OR REPLACE INTO revisions (article_id, revision, sha256, doc) VALUES (?,?,?,?)",
                    (r.id, r.revision, r.source.sha256, json.dumps(r.to_doc(), ensure_ascii=False)),
                )
        return counts

    # ------------------------------------------------------------ reads
    def _where_in(self, sql: str, column: str, values: Sequence[Any], db: sqlite3.Connection | None = None
                  ) -> Iterator[Any]:
        """The rows of ``sql`` whose ``column`` is one of ``values`` (asked 500 at a time), read on
        the reading connection or ``db`` (a writer's, inside its transaction)."""
        for k in range(0, len(values), 500):
            chunk = list(values[k:k + 500])
            q = f"{sql} WHERE {column} IN ({','.join('?' * len(chunk))})"
            yield from (db.execute(q, chunk) if db is not None else self._read(q, chunk))

    def known_files(self, prefix: str | None = None) -> Iterator[KnownFile]:
        sql = _KNOWN
        args: tuple[str, ...] = ()
        if prefix:
            sql += " WHERE path >= ? AND path < ?"
            p = prefix.rstrip("/") + "/"
            args = (p, p[:-1] + "0")  # "0" sorts right after "/"
        for r in self._read(sql, args):
            yield _known(r)

    def known_at(self, paths: Sequence[str]) -> dict[str, KnownFile]:
        return {k.path: k for k in map(_known, self._where_in(_KNOWN, "path", paths))}

    def failures_at(self, paths: Sequence[str]) -> list[Failure]:
        return [_failure(r) for r in self._where_in(_FAILURE, "path", paths)]

    def move_candidates(self, device: int, inode: int, sha256: str) -> list[KnownFile]:
        rows = self._read(f"{_KNOWN} WHERE (device=? AND inode=?) OR sha256=?", (device, inode, sha256)).fetchall()
        return [_known(r) for r in rows]

    def get(self, id: str) -> Article | None:
        row = self._read(f"SELECT {COLS} FROM articles WHERE id=?", (id,)).fetchone()
        return row_article(row) if row else None

    def get_by_path(self, path: str) -> Article | None:
        row = self._read(f"SELECT {COLS} FROM articles WHERE path=?", (path,)).fetchone()
        return row_article(row) if row else None

    def ids_with_prefix(self, prefix: str, limit: int = 20) -> list[tuple[str, str]]:
        hi = prefix + "\uffff"
        rows = self._read(
            "SELECT id, title FROM articles WHERE id >= ? AND id < ? ORDER BY id LIMIT ?", (prefix, hi, limit)
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def _where(self, f: Filters, ordered: bool = False) -> tuple[str, list[Any]]:
        """The WHERE clause of ``f`` over ``articles a``; ``ordered``: for a list in an order other
        than by date, whose own index should drive (the one on deleted_at, which also orders by
        date, would make SQLite sort every live article)."""
        parts: list[str] = []
        args: list[Any] = []
        if not f.include_deleted:
            # With an author or a tag, their articles decide ("+": not the index on deleted_at,
            # with which SQLite walked every live article: 12 ms at 100,000, now 1).
            parts.append("+a.deleted_at IS NULL" if f.authors or f.tags or ordered else "a.deleted_at IS NULL")
        if f.since:
            parts.append("a.published >= ?")
            args.append(f.since.isoformat())
        if f.until:
            parts.append("a.published <= ?")
            args.append(f.until.isoformat())
        if f.authors:
            marks = ",".join("?" * len(f.authors))
            parts.append(f"a.n IN (SELECT n FROM article_authors WHERE name IN ({marks}))")
            args.extend(f.authors_folded)
        if f.sites:
            keys = self.site_filter_keys(f.sites)
            parts.append(f"a.site_key IN ({','.join('?' * len(keys))})")
            args.extend(keys)
        if f.tags:
            marks = ",".join("?" * len(f.tags))
            parts.append(f"a.n IN (SELECT n FROM article_tags WHERE tag IN ({marks}))")
            args.extend(f.tags_folded)
        if f.path_prefix:
            parts.append("a.path >= ? AND a.path < ?")
            args.extend(_under(f.path_prefix))
        if f.after is not None:
            pub, id0 = f.after
            if f.after_ascending:  # NULLs first, then dates up
                if pub is None:
                    parts.append("((a.published IS NULL AND a.id > ?) OR a.published IS NOT NULL)")
                    args.append(id0)
                else:
                    parts.append("(a.published > ? OR (a.published = ? AND a.id > ?))")
                    args.extend([pub, pub, id0])
            elif pub is None:  # newest first: NULLs come last
                parts.append("(a.published IS NULL AND a.id < ?)")
                args.append(id0)
            else:
                parts.append("(a.published < ? OR (a.published = ? AND a.id < ?) OR a.published IS NULL)")
                args.extend([pub, pub, id0])
        return (" WHERE " + " AND ".join(parts)) if parts else "", args

    def query(self, filters: Filters, sort: Sort = "-published", limit: int | None = None) -> Iterator[Article]:
        where, args = self._where(filters, ordered=sort not in ("-published", "published"))
        return self._articles_where(where, args, sort, limit)

    def _articles_where(self, where: str, args: list[Any], sort: Sort, limit: int | None) -> Iterator[Article]:
        """The articles a WHERE clause over ``articles a`` selects, in ``sort`` order."""
        sql = f"SELECT {A_COLS} FROM articles a{where} ORDER BY {_ORDER[sort]}"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        cur = self._read(sql, args)
        while rows := cur.fetchmany(256):
            for r in rows:
                yield row_article(r)

    def stories(self, filters: Filters, min_size: int = 2, limit: int | None = None) -> list[records.Story]:
        return self.story_reads.stories(filters, min_size, limit)

    def _story_rows(self, ids: Sequence[str]) -> Iterator[tuple[str, records.StoryMember, str]]:
        return self.story_reads.story_rows(ids)

    def count(self, filters: Filters) -> int:
        if filters == Filters():
            return tallies.total(self._read, tallies.LIVE)
        if filters.path_prefix and filters._replace(path_prefix=None, include_deleted=False) == Filters():
            # Every article under a folder from the path index alone, less its deleted ones from
            # theirs: the live ones' rows are never read (at 1,000,000 articles the daemon's
            # start-up count read each row for its deleted_at: 2.7 s warm, 15.6 s cold).
            under = _under(filters.path_prefix)
            every = int(self._read("SELECT count(*) FROM articles WHERE path >= ? AND path < ?", under).fetchone()[0])
            if filters.include_deleted:
                return every
            return every - int(self._read(
                "SELECT count(*) FROM articles WHERE deleted_at IS NOT NULL AND +path >= ? AND +path < ?",
                under).fetchone()[0])
        where, args = self._where(filters)
        return int(self._read(f"SELECT count(*) FROM articles a{where}", args).fetchone()[0])

    def _articles_by_n(self, ns: Sequence[int], live_only: bool) -> dict[int, Article]:
        """The rows of rowids ``ns`` (live ones only, with ``live_only``)."""
        if not ns:
            return {}
        # "+": by rowid, never by the index on deleted_at (which would walk every live article)
        cond = " AND +a.deleted_at IS NULL" if live_only else ""
        return {r[0]: row_article(r[1:]) for r in self._read(
            f"SELECT a.n, {A_COLS} FROM articles a WHERE a.n IN ({','.join('?' * len(ns))}){cond}", list(ns))}

    def data_version(self) -> object | None:
        # Changes when another connection commits (the daemon, an ingest); this one only reads
        # when it asks (the web page).
        return (int(self._read("PRAGMA data_version").fetchone()[0]), self.db.total_changes)

    def facets(self, text: str, filters: Filters, limit: int = 10) -> Facets:
        return self.counts.facets(text, filters, limit)

    def stats(self, filters: Filters) -> Stats:
        return self.counts.stats(filters)

    def site_filter_keys(self, sites: Sequence[str]) -> list[str]:
        return self.counts.site_filter_keys(sites)

    def revisions(self, id: str) -> list[Article]:
        rows = self._read("SELECT doc FROM revisions WHERE article_id=? ORDER BY revision", (id,)).fetchall()
        return [Article.from_stored(json.loads(r[0])) for r in rows]

    def all_revisions(self) -> Iterator[Article]:
        cur = self._read("SELECT doc FROM revisions ORDER BY article_id, revision")
        while rows := cur.fetchmany(256):
            for r in rows:
                yield Article.from_stored(json.loads(r[0]))

    def failures(self) -> Iterator[Failure]:
        for r in self._read(f"{_FAILURE} ORDER BY failed_at DESC, path"):
            yield _failure(r)

    def duplicates(self, include_deleted: bool = False) -> list[list[Article]]:
        cond = "" if include_deleted else " WHERE deleted_at IS NULL"
        shas = [r[0] for r in self._read(
            f"SELECT sha256 FROM articles{cond} GROUP BY sha256 HAVING count(*) > 1 ORDER BY sha256"
        ).fetchall()]
        groups = []
        for sha in shas:
            extra = "" if include_deleted else " AND deleted_at IS NULL"
            rows = self._read(f"SELECT {COLS} FROM articles WHERE sha256=?{extra} ORDER BY path", (sha,)).fetchall()
            groups.append([row_article(r) for r in rows])
        return groups

    # ------------------------------------------------------------ daemon
    def acquire_lock(self, key: str, holder: dict[str, Any], can_take: Any) -> dict[str, Any] | None:
        with self._write(index=False):
            row = self.db.execute("SELECT doc FROM daemons WHERE key=?", (key,)).fetchone()
            if row is not None:
                old = json.loads(row[0])
                if not old.get("stopped_at") and not can_take(old):
                    return dict(old)
            self.db.execute(
                "INSERT OR REPLACE INTO daemons (key, token, doc) VALUES (?,?,?)",
                (key, holder["token"], json.dumps(holder)),
            )
        return None

    def heartbeat(self, key: str, token: str, data: dict[str, Any]) -> bool:
        with self._write(index=False):
            row = self.db.execute("SELECT doc FROM daemons WHERE key=? AND token=?", (key, token)).fetchone()
            if row is None:
                return False
            doc = {**json.loads(row[0]), **data}
            self.db.execute("UPDATE daemons SET doc=? WHERE key=?", (json.dumps(doc), key))
        return True

    def release_lock(self, key: str, token: str, data: dict[str, Any]) -> None:
        self.heartbeat(key, token, data)

    def daemons(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._read("SELECT doc FROM daemons ORDER BY key")]


class _Txn:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; a locked database becomes StoreUnavailable."""

    def __init__(self, store: SQLiteStore, index: bool = True) -> None:
        self.store = store
        self.index = index

    def __enter__(self) -> None:
        deadline = time.monotonic() + self.store._busy
        while True:
            try:
                self.store.db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise self.store._unavailable(exc) from None
                # Another process writes, and may be waiting for the search index's writer.
                self.store.fulltext.release_writer()
                time.sleep(0.05)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        db = self.store.db
        if exc_type is None:
            try:
                top = self.store.fulltext._index_before_commit() if self.index else None
                db.execute("COMMIT")
            except sqlite3.Error as err:
                _rollback(db)
                self.store.fulltext._index_rollback()
                raise self.store._unavailable(err) from None
            except BaseException:
                _rollback(db)
                self.store.fulltext._index_rollback()
                raise
            if self.index:
                self.store.fulltext._index_after_commit(top)
            return
        _rollback(db)  # nothing was handed to the index yet
        if is_store_fault(exc):
            # Disk full, read-only, I/O error, locked, a vanished file: the store's fault, never
            # the document's. The caller keeps its paths and tries again later.
            raise self.store._unavailable(exc) from None


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back whatever is open; SQLite may have rolled back already (a full disk does that)."""
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def is_store_fault(exc: BaseException | None) -> bool:
    """True for SQLite errors that come from the store and its disk, not from what was written:
    everything but constraint, data and programming errors."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    return not isinstance(exc, (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.ProgrammingError,
                                sqlite3.NotSupportedError))


def _writable(path: Path) -> bool:
    """Whether SQLite can write ``path``: the file and its folder (for -wal, -shm, journals)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _is_busy(exc: Exception) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _split_sql(script: str) -> list[str]:
    """Split a schema script into statements (triggers contain semicolons)."""
    out, buf = [], []
    for line in script.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        buf.append(line)
        stmt = "\n".join(buf)
        if sqlite3.complete_statement(stmt):
            out.append(stmt)
            buf = []
    return out
