"""The embedded store's part of archive.stories: band keys and addresses in two tables, each
article's story in its own row; every change in the write transaction that caused it."""

from __future__ import annotations

import functools
import sqlite3
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from archive.store.records import Filters, Story, StoryMember, assemble_stories
from archive.stories.reasons import NEAR_DUPLICATE, seen_key, seen_of

if TYPE_CHECKING:  # the keeper writes; a read never imports it
    from archive.stories.keeper import Keeper, Peer, Placement
    from archive.stories.signature import Signature

# Band keys of every live article (the candidates' index) and the keys and address each article
# has there (to remove them again); articles' stories live in their own rows.
SCHEMA = """
ALTER TABLE articles ADD COLUMN story TEXT;
ALTER TABLE articles ADD COLUMN story_reason TEXT;
ALTER TABLE articles ADD COLUMN story_similarity REAL;
CREATE INDEX articles_story ON articles(story) WHERE story IS NOT NULL;
CREATE TABLE story_keys (key INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (key, n)) WITHOUT ROWID;
CREATE TABLE story_sigs (n INTEGER PRIMARY KEY, keys BLOB NOT NULL, url_key TEXT);
CREATE INDEX story_sigs_url ON story_sigs(url_key) WHERE url_key IS NOT NULL;
"""

# Each article's fine sketch beside its band keys (signature.fine_sketch: which candidates are worth
# comparing); NULL for articles indexed before it was kept, which are always compared.
SKETCH_SCHEMA = """
ALTER TABLE story_sigs ADD COLUMN sketch BLOB;
"""

_PEER = ("SELECT a.id, a.story, a.ingested_at, a.mtime, s.url_key, s.sketch"
         " FROM articles a LEFT JOIN story_sigs s ON s.n = a.n")


def _peer(r: Any) -> Peer:
    from archive.stories.keeper import Peer

    return Peer(r[0], r[1], seen_key(r[2], r[3]), None, r[4], r[5] or b"")  # the text read when compared


@functools.cache
def _shared_sql(keys: int) -> str:
    """How many of ``keys`` band keys each article shares, from each key's first MAX_CANDIDATES
    articles (a key shared more widely says little), counted by SQLite."""
    from archive.stories.keeper import MAX_CANDIDATES

    parts = " UNION ALL ".join(
        f"SELECT n FROM (SELECT n FROM story_keys WHERE key = ? LIMIT {MAX_CANDIDATES})" for _ in range(keys))
    return f"SELECT n, count(*) FROM ({parts}) GROUP BY n"


class SQLiteStoryBackend:
    """archive.stories.keeper.StoryBackend over one connection, inside its write transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._last: tuple[str, int | None] | None = None  # a placement asks for its rowid twice

    def _n(self, id: str) -> int | None:
        if self._last is not None and self._last[0] == id:
            return self._last[1]
        row = self.db.execute("SELECT n FROM articles WHERE id=?", (id,)).fetchone()
        self._last = (id, row[0] if row else None)
        return self._last[1]

    def story_peers(self, keys: Sequence[int], url_key: str | None, exclude: str) -> list[Peer]:
        from collections import Counter

        from archive.stories.keeper import choose_candidates

        ns: list[int] = []
        if keys:
            # Each key's first MAX_CANDIDATES articles (a key shared more widely says little),
            # counted: the rowids first, then their rows (in one statement SQLite's planner walked
            # every live article and tested it against the list: 2 ms an article at 20,000).
            shared = Counter(dict(self.db.execute(_shared_sql(len(keys)), list(keys)).fetchall()))
            shared.pop(self._n(exclude), None)  # the article itself (indexed just before)
            ns = choose_candidates(shared)
        if url_key is not None:
            ns += [r[0] for r in self.db.execute("SELECT n FROM story_sigs WHERE url_key = ?", (url_key,))]
        if not ns:
            return []
        # "+": the rowids decide; an index on deleted_at must not (it walks every live article).
        sql = f"{_PEER} WHERE a.n IN ({','.join('?' * len(ns))}) AND +a.deleted_at IS NULL AND a.id <> ?"
        return [_peer(r) for r in self.db.execute(sql, (*ns, exclude))]

    def story_bodies(self, ids: Sequence[str]) -> dict[str, str]:
        return dict(self.db.execute(f"SELECT id, body FROM articles WHERE id IN ({','.join('?' * len(ids))})", ids))

    def story_peer(self, id: str) -> Peer | None:
        row = self.db.execute(f"{_PEER} WHERE a.id = ? AND +a.deleted_at IS NULL", (id,)).fetchone()
        return _peer(row) if row else None

    def story_members(self, story: str) -> list[Peer]:
        return [_peer(r) for r in self.db.execute(f"{_PEER} WHERE a.story = ?", (story,))]

    def story_put(self, id: str, placement: Placement | None) -> None:
        p = placement or (None, None, None)
        self.db.execute("UPDATE articles SET story=?, story_reason=?, story_similarity=? WHERE id=?", (*p, id))

    def story_index(self, id: str, sig: Signature, url_key: str | None) -> None:
        n = self._n(id)
        if n is None:
            return
        old = self.db.execute("SELECT keys FROM story_sigs WHERE n=?", (n,)).fetchone()
        if old is not None:
            old_keys = struct.unpack(f"<{len(old[0]) // 8}q", old[0])
            self.db.executemany("DELETE FROM story_keys WHERE key=? AND n=?", [(k, n) for k in old_keys])
        keys = sig.keys
        if not keys and url_key is None:
            self.db.execute("DELETE FROM story_sigs WHERE n=?", (n,))
            return
        self.db.execute("INSERT OR REPLACE INTO story_sigs (n, keys, url_key, sketch) VALUES (?,?,?,?)",
                        (n, struct.pack(f"<{len(keys)}q", *keys), url_key, sig.sketch or None))
        self.db.executemany("INSERT OR IGNORE INTO story_keys (key, n) VALUES (?,?)", [(k, n) for k in keys])


def keeper(db: sqlite3.Connection) -> Keeper:
    from archive.stories.keeper import Keeper

    return Keeper(SQLiteStoryBackend(db))


def backfill(db: sqlite3.Connection) -> int:
    """Place every live article of a store made before stories were kept (Keeper.place_all)."""
    heads = [(r[0], seen_key(r[1], r[2]), r[3])
             for r in db.execute("SELECT id, ingested_at, mtime, url FROM articles WHERE deleted_at IS NULL")]
    return keeper(db).place_all(heads)


def backfill_sketches(db: sqlite3.Connection) -> int:
    """Give the fine sketch to every article indexed before it was kept (schema 8), 500 texts a
    read: without it an article is compared with every new one that shares its bands."""
    from archive.stories.signature import signature

    ns = [r[0] for r in db.execute("SELECT n FROM story_sigs WHERE sketch IS NULL")]
    for at in range(0, len(ns), 500):
        chunk = ns[at : at + 500]
        rows = db.execute(f"SELECT n, body FROM articles WHERE n IN ({','.join('?' * len(chunk))})", chunk).fetchall()
        db.executemany("UPDATE story_sigs SET sketch = ? WHERE n = ?",
                       [(signature(body).sketch or None, n) for n, body in rows])
    return len(ns)


class StoryReads:
    """The embedded store's story reads (the keeper above writes them): SQLiteStore owns one,
    with its read cursor and its filter clause."""

    def __init__(self, read: Callable[[str, Sequence[Any]], sqlite3.Cursor],
                 where: Callable[[Filters], tuple[str, list[Any]]]) -> None:
        self._read = read
        self._where = where

    def stories(self, filters: Filters, min_size: int = 2, limit: int | None = None) -> list[Story]:
        where, args = self._where(filters)
        # "+deleted_at": the partial index of stories' articles decides, not the index of every
        # live article (which made an unfiltered list read all of them: 250 ms at 100,000).
        where = where.replace("a.deleted_at IS NULL", "+a.deleted_at IS NULL")
        sql = ("SELECT story, count(*) AS members, max(coalesce(published, substr(ingested_at, 1, 10))) AS newest"
               " FROM articles WHERE story IS NOT NULL AND +deleted_at IS NULL"
               f" AND story IN (SELECT a.story FROM articles a {where or 'WHERE 1'} AND a.story IS NOT NULL)"
               " GROUP BY story HAVING members >= ? ORDER BY members DESC, newest DESC, story LIMIT ?")
        ids = [r[0] for r in self._read(sql, [*args, max(min_size, 2), -1 if limit is None else limit])]
        return assemble_stories(ids, self.story_rows(ids))

    def story_rows(self, ids: Sequence[str]) -> Iterator[tuple[str, StoryMember, str]]:
        """Each live member of the stories ``ids``: (story, member, seen), 500 stories a read."""
        from archive.store.sqlite_rows import A_COLS, NCOLS, row_article

        for k in range(0, len(ids), 500):
            chunk = ids[k : k + 500]
            rows = self._read(
                f"SELECT {A_COLS}, a.story_similarity, a.story_reason FROM articles a"
                f" WHERE a.story IN ({','.join('?' * len(chunk))}) AND +a.deleted_at IS NULL", chunk)
            for r in rows:
                art = row_article(r)
                m = StoryMember(art, r[NCOLS] if r[NCOLS] is not None else 0.0, r[NCOLS + 1] or NEAR_DUPLICATE)
                yield art.story or "", m, seen_of(art)
