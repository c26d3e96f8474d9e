"""The embedded store's counts of every live article, kept by the database as rows change.

``stats`` and the facets of the whole collection (the web's home page) counted every live
article's rows on each call: 0.4-0.8 s at a million articles, growing with the store. Triggers
on ``articles`` and ``revisions`` keep those counts in ``tallies`` instead, in the transaction
that changed the rows, whatever wrote them (the daemon, an import, an upgrade); a read costs one
row per distinct value. Filtered counts still read the rows they filter (sqlite.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# kind: what is counted; key: the value ('' for the totals). Only live articles count, but for
# 'deleted' (articles marked deleted) and 'revisions' (earlier revisions kept).
LIVE, WORDS, DELETED, REVISIONS = "live", "words", "deleted", "revisions"
MONTH, AUTHOR, TAG = "month", "author", "tag"  # undated: the live ones less the dated
# key: the site's key (archive.store.keys), US (\x1f), the name an article gives; a site's count is
# the sum of its names'
SITE_NAME = "site_name"

# Each tallied value of one article row ({r}: NEW or OLD): kind, key, and {s} (1, or -1 to take it away).
_PARTS = (
    f"SELECT '{LIVE}', '', {{s}} WHERE {{r}}.deleted_at IS NULL",
    f"SELECT '{WORDS}', '', {{s}} * {{r}}.word_count WHERE {{r}}.deleted_at IS NULL",
    f"SELECT '{DELETED}', '', {{s}} WHERE {{r}}.deleted_at IS NOT NULL",
    f"SELECT '{MONTH}', substr({{r}}.published, 1, 7), {{s}} WHERE {{r}}.deleted_at IS NULL"
    f" AND {{r}}.published IS NOT NULL",
    f"SELECT '{SITE_NAME}', {{r}}.site_key || char(31) || {{r}}.site, {{s}} WHERE {{r}}.deleted_at IS NULL"
    f" AND {{r}}.site_key IS NOT NULL",
    f"SELECT '{AUTHOR}', value, {{s}} FROM json_each({{r}}.authors_key) WHERE {{r}}.deleted_at IS NULL",
    f"SELECT '{TAG}', value, {{s}} FROM json_each({{r}}.tags_key) WHERE {{r}}.deleted_at IS NULL",
)
_COUNTED = ("deleted_at", "word_count", "published", "site", "site_key", "authors_key", "tags_key")


def _add(row: str, sign: int) -> str:
    """The statement that adds (``sign`` 1) or takes away (-1) one article row's values."""
    parts = " UNION ALL ".join(p.format(r=row, s=sign) for p in _PARTS)
    # An UPSERT after INSERT ... SELECT needs its SELECT to end in WHERE: each part does.
    return f"INSERT INTO tallies (kind, key, n) {parts} ON CONFLICT (kind, key) DO UPDATE SET n = n + excluded.n;"


_CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in _COUNTED)

SCHEMA = f"""
CREATE TABLE tallies (kind TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL,
                      PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TRIGGER tallies_ai AFTER INSERT ON articles BEGIN
    {_add("new", 1)}
END;
CREATE TRIGGER tallies_ad AFTER DELETE ON articles BEGIN
    {_add("old", -1)}
END;
CREATE TRIGGER tallies_au AFTER UPDATE OF {", ".join(_COUNTED)} ON articles WHEN {_CHANGED} BEGIN
    {_add("old", -1)}
    {_add("new", 1)}
END;
-- Before: INSERT OR REPLACE of a revision kept already deletes the old row without a trigger.
CREATE TRIGGER tallies_revision_bi BEFORE INSERT ON revisions WHEN NOT EXISTS (
        SELECT 1 FROM revisions WHERE article_id = new.article_id AND revision = new.revision) BEGIN
    INSERT INTO tallies (kind, key, n) VALUES ('{REVISIONS}', '', 1)
        ON CONFLICT (kind, key) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER tallies_revision_ad AFTER DELETE ON revisions BEGIN
    UPDATE tallies SET n = n - 1 WHERE kind = '{REVISIONS}' AND key = '';
END;
-- A value no live article has any more leaves the counts.
CREATE TRIGGER tallies_zero AFTER UPDATE OF n ON tallies WHEN new.n = 0 BEGIN
    DELETE FROM tallies WHERE kind = new.kind AND key = new.key;
END;
-- The counts of the articles stored before they were kept (authors and tags from their side tables).
INSERT INTO tallies (kind, key, n) SELECT '{LIVE}', '', count(*) FROM articles WHERE deleted_at IS NULL
    HAVING count(*) > 0;
INSERT INTO tallies (kind, key, n) SELECT '{WORDS}', '', sum(word_count) FROM articles WHERE deleted_at IS NULL
    HAVING count(*) > 0;
INSERT INTO tallies (kind, key, n) SELECT '{DELETED}', '', count(*) FROM articles WHERE deleted_at IS NOT NULL
    HAVING count(*) > 0;
INSERT INTO tallies (kind, key, n) SELECT '{REVISIONS}', '', count(*) FROM revisions HAVING count(*) > 0;
INSERT INTO tallies (kind, key, n) SELECT '{MONTH}', substr(published, 1, 7), count(*) FROM articles
    WHERE deleted_at IS NULL AND published IS NOT NULL GROUP BY 2;
INSERT INTO tallies (kind, key, n) SELECT '{SITE_NAME}', site_key || char(31) || site, count(*) FROM articles
    WHERE deleted_at IS NULL AND site_key IS NOT NULL GROUP BY site_key, site;
INSERT INTO tallies (kind, key, n) SELECT '{AUTHOR}', name, count(*) FROM article_authors
    WHERE n NOT IN (SELECT n FROM articles WHERE deleted_at IS NOT NULL) GROUP BY name;
INSERT INTO tallies (kind, key, n) SELECT '{TAG}', tag, count(*) FROM article_tags
    WHERE n NOT IN (SELECT n FROM articles WHERE deleted_at IS NOT NULL) GROUP BY tag;
"""

Read = Callable[..., Any]


def total(read: Read, kind: str) -> int:
    """One of the totals (LIVE, WORDS, DELETED, REVISIONS)."""
    row = read("SELECT n FROM tallies WHERE kind = ? AND key = ''", (kind,)).fetchone()
    return int(row[0]) if row else 0


def months(read: Read) -> list[tuple[str, int]]:
    """The live dated articles per month ("YYYY-MM"), oldest first."""
    return [(r[0], int(r[1])) for r in read("SELECT key, n FROM tallies WHERE kind = ? ORDER BY key", (MONTH,))]


def site_names(read: Read) -> list[tuple[str, str, int]]:
    """(site key, name, live articles that give it) of every site name in the store."""
    out = []
    for key, n in read("SELECT key, n FROM tallies WHERE kind = ?", (SITE_NAME,)):
        site, _, name = str(key).partition("\x1f")
        out.append((site, name, int(n)))
    return out


def site_counts(read: Read, limit: int | None) -> list[tuple[str, int]]:
    """The live articles per site key, most first, ties by key (the sums of its names' counts)."""
    return [(r[0], int(r[1])) for r in read(
        "SELECT substr(key, 1, instr(key, char(31)) - 1) AS site, sum(n) AS c FROM tallies WHERE kind = ?"
        " GROUP BY site ORDER BY c DESC, site LIMIT ?", (SITE_NAME, -1 if limit is None else limit))]


def counts(read: Read, kind: str, limit: int | None) -> list[tuple[str, int]]:
    """The live articles per value of ``kind`` (AUTHOR, TAG key), most first, ties by value."""
    return [(r[0], int(r[1])) for r in read(
        "SELECT key, n FROM tallies WHERE kind = ? ORDER BY n DESC, key LIMIT ?",
        (kind, -1 if limit is None else limit))]
