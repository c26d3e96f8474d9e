"""The embedded store's counts: stats and facets, from the counts its triggers keep
(sqlite_tallies) for the whole store, from the search index's aggregations for a query or the
filters it holds, else from the side tables' rows (never the articles' bodies)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from archive.models import plain_tag
from archive.search.query import parse_query
from archive.store import records
from archive.store import sqlite_tallies as tallies
from archive.store.records import Facets, Filters, Stats, fold_name, years_of

if TYPE_CHECKING:
    from archive.store.sqlite_search import SQLiteSearch

_DELETED_NS = "SELECT n FROM articles WHERE deleted_at IS NOT NULL"


class CountsHost(Protocol):
    """What the counts read of the store that owns them."""

    fulltext: SQLiteSearch

    def _where(self, f: Filters, ordered: bool = False) -> tuple[str, list[Any]]: ...
    def _read(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor: ...


class SQLiteCounts:
    """Stats and facets of one SQLite store (which owns it: ``store.counts``)."""

    def __init__(self, host: CountsHost) -> None:
        self.host = host

    def _read(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.host._read(sql, args)

    def _where(self, f: Filters) -> tuple[str, list[Any]]:
        return self.host._where(f)

    @property
    def fulltext(self) -> SQLiteSearch:
        return self.host.fulltext

    def facets(self, text: str, filters: Filters, limit: int = 10) -> Facets:
        q = parse_query(text)
        if q.empty and filters == Filters():
            return self._tallied_facets(limit)
        if (keys := self.fulltext.key_counts(text, filters, limit)) is not None:
            return Facets(total=keys.total, authors=self._spelled_keys("authors", keys.authors),
                          tags=self._spelled_keys("tags", keys.tags), sites=self._site_shown(keys.sites),
                          years=years_of(keys.months), months=keys.months)
        if not q.empty:
            # A query's matches (the last of the arguments: a JSON list) with no filter but the live one
            plain = filters == Filters() and q.has_positive
            return self._facets_of_matches(*self.fulltext._match_where_of(q, filters), limit, plain)
        where, args = self._where(filters)
        # Every count reads the matching rowids once (a covering index when there is no query)
        # and the small side tables, never the article rows: their bodies are long.
        member, margs = self._members(filters)
        month_where = (where + " AND " if where else " WHERE ") + "a.published IS NOT NULL"
        months = [(r[0], int(r[1])) for r in self._read(
            f"SELECT substr(a.published, 1, 7) AS m, count(*) FROM articles a{month_where} GROUP BY m ORDER BY m",
            args)]
        total = int(self._read(f"SELECT count(*) FROM articles a{where}", args).fetchone()[0])
        return self._counted(total, months, member, margs, limit)

    def _tallied_facets(self, limit: int) -> Facets:
        """Facets of every live article, from the counts the writers keep (sqlite_tallies)."""
        months = tallies.months(self._read)
        return Facets(total=tallies.total(self._read, tallies.LIVE), authors=self._tallied("authors", limit),
                      tags=self._tallied("tags", limit),
                      sites=self._site_shown(tallies.site_counts(self._read, limit)),
                      years=years_of(months), months=months)

    def _tallied(self, kind: str, limit: int | None) -> list[tuple[str, int]]:
        """Authors or tags of every live article, from the kept counts."""
        return self._spelled_keys(kind, tallies.counts(
            self._read, tallies.AUTHOR if kind == "authors" else tallies.TAG, limit))

    def _spelled_keys(self, kind: str, counted: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
        """(folded key, count) of authors or tags, each in the spelling of the first live article
        that has it (of any article, when no live one has)."""
        table, col = {"authors": ("article_authors", "name"), "tags": ("article_tags", "tag")}[kind]
        first = (f"SELECT coalesce((SELECT x.n FROM {table} x WHERE x.{col} = ?1 AND x.n NOT IN ({_DELETED_NS})"
                 f" ORDER BY x.n LIMIT 1), (SELECT min(n) FROM {table} WHERE {col} = ?1))")
        return self._spelled(kind, [(key, c, (self._read(first, (key,)).fetchone() or (0,))[0])
                                    for key, c in counted])

    def _facets_of_matches(self, where: str, args: list[Any], limit: int, plain: bool) -> Facets:
        """Facets of a query's matches: their rowids (the index's, as a JSON list, the last of
        ``args``, with the filters in ``where``) are written once to a temporary table of this
        connection (even a read-only file's), which every count then reads; each count read the
        list again (a common word at 100,000 articles: 265 ms, then 161). ``plain``: the rowids
        are the matches themselves, with no filter but the live one, which the few deleted
        articles' own index answers without reading a row of the others (59 ms of the 161)."""
        self._read("CREATE TEMP TABLE IF NOT EXISTS facet_ns (n INTEGER PRIMARY KEY)")
        self._read("DELETE FROM temp.facet_ns")
        if plain:
            self._read("INSERT INTO temp.facet_ns SELECT value FROM json_each(?)", args[-1:])
            self._read("DELETE FROM temp.facet_ns WHERE n IN (SELECT n FROM articles WHERE deleted_at IS NOT NULL)")
        else:
            self._read(f"INSERT INTO temp.facet_ns SELECT a.n FROM articles a{where}", args)
        member = "{n} IN (SELECT n FROM temp.facet_ns)"
        # The dates from their own index (date and rowid), never the article rows.
        months = [(r[0], int(r[1])) for r in self._read(
            "SELECT substr(a.published, 1, 7) AS m, count(*) FROM articles a INDEXED BY articles_published"
            f" WHERE a.published IS NOT NULL AND {member.replace('{n}', 'a.n')} GROUP BY m ORDER BY m")]
        total = int(self._read("SELECT count(*) FROM temp.facet_ns").fetchone()[0])
        facets = self._counted(total, months, member, [], limit)
        self._read("DELETE FROM temp.facet_ns")
        return facets

    def _members(self, filters: Filters) -> tuple[str, list[Any]]:
        """The condition on a rowid column (``{n}``) that selects the articles ``filters`` allow.
        For every live article it sets the few deleted ones aside rather than listing every live
        one (each count built a list of every rowid first: at 100,000 articles the authors' count
        took 107 ms, now 17)."""
        if filters == Filters():
            return f"{{n}} NOT IN ({_DELETED_NS})", []
        where, args = self._where(filters)
        return f"{{n}} IN (SELECT a.n FROM articles a{where})", args

    def _counted(self, total: int, months: list[tuple[str, int]], member: str, args: list[Any],
                 limit: int) -> Facets:
        """Facets of the articles ``member`` (see _members) selects, their total and months counted."""
        return Facets(total=total, authors=self._name_counts("authors", member, args, limit),
                      tags=self._name_counts("tags", member, args, limit),
                      sites=self._site_counts(member, args, limit), years=years_of(months), months=months)

    def _name_counts(self, kind: str, member: str, args: list[Any], limit: int | None) -> list[tuple[str, int]]:
        """Authors or tags of the articles ``member`` (see _members) selects, most frequent first,
        counted from the small side table (never the article rows: their bodies are long), each in
        the spelling of one article that has it rather than the folded key."""
        table, col = {"authors": ("article_authors", "name"), "tags": ("article_tags", "tag")}[kind]
        rows = self._read(
            f"SELECT x.{col}, count(*), min(x.n) FROM {table} x WHERE {member.replace('{n}', 'x.n')}"
            f" GROUP BY x.{col} ORDER BY count(*) DESC, x.{col} LIMIT ?", [*args, -1 if limit is None else limit],
        ).fetchall()
        return self._spelled(kind, rows)

    def _spelled(self, kind: str, rows: Sequence[tuple[str, int, int]]) -> list[tuple[str, int]]:
        """(folded key, count) of authors or tags, each key in the spelling article ``n`` gives it."""
        lists: dict[int, list[str]] = {}
        ns = sorted({r[2] for r in rows})
        for k in range(0, len(ns), 500):  # one article per value, read in chunks
            chunk = ns[k : k + 500]
            lists.update((n, json.loads(v)) for n, v in self._read(
                f"SELECT n, {kind} FROM articles WHERE n IN ({','.join('?' * len(chunk))})", chunk))
        fold = records.fold_tag if kind == "tags" else fold_name
        return [(next((plain_tag(v) for v in lists.get(n, []) if fold(v) == key), key), int(c)) for key, c, n in rows]

    def _site_counts(self, member: str, args: list[Any], limit: int | None) -> list[tuple[str, int]]:
        # The partial index holds every site key and rowid: the rows are never read.
        return self._site_shown([(r[0], int(r[1])) for r in self._read(
            "SELECT site_key, count(*) FROM articles INDEXED BY articles_site_key WHERE site_key IS NOT NULL"
            f" AND {member.replace('{n}', 'n')}"
            " GROUP BY site_key ORDER BY count(*) DESC, site_key LIMIT ?", [*args, -1 if limit is None else limit])])

    def _site_shown(self, counted: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
        """(site key, count) as (the name most of the site's articles give, count)."""
        from archive.store.keys import display_names

        shown = display_names(tallies.site_names(self._read)) if counted else {}
        return [(shown.get(k, k), c) for k, c in counted]

    def site_filter_keys(self, sites: Sequence[str]) -> list[str]:
        """The site keys a filter by ``sites`` selects (archive.store.keys.filter_keys)."""
        from archive.store.keys import filter_keys

        return filter_keys(sites, [(k, name) for k, name, _ in tallies.site_names(self._read)])

    def stats(self, filters: Filters) -> Stats:
        live = filters._replace(include_deleted=False)
        if live == Filters():
            return self._tallied_stats()
        if (keys := self.fulltext.key_counts("", live, None, totals=True)) is not None:
            # What the filters select, counted by the index's aggregations (at 1,000,000 articles
            # stats since a year read 833,000 rows in the table: 4.8 s warm, 40 s cold).
            return Stats(
                articles=keys.total, words=keys.words, deleted=keys.deleted,
                failures=int(self._read("SELECT count(*) FROM failures").fetchone()[0]),
                revisions=tallies.total(self._read, tallies.REVISIONS),
                authors=self._spelled_keys("authors", keys.authors), tags=self._spelled_keys("tags", keys.tags),
                sites=self._site_shown(keys.sites), years=self._years(keys.months, keys.total))
        where, args = self._where(filters._replace(include_deleted=True))
        lwhere, largs = self._where(filters._replace(include_deleted=False))
        row = self._read(f"SELECT count(*), coalesce(sum(word_count),0) FROM articles a{lwhere}", largs).fetchone()
        dwhere = (where + " AND " if where else " WHERE ") + "a.deleted_at IS NOT NULL"
        member, margs = self._members(filters._replace(include_deleted=False))
        return Stats(
            articles=int(row[0]), words=int(row[1]),
            deleted=int(self._read(f"SELECT count(*) FROM articles a{dwhere}", args).fetchone()[0]),
            failures=int(self._read("SELECT count(*) FROM failures").fetchone()[0]),
            revisions=tallies.total(self._read, tallies.REVISIONS),
            authors=self._name_counts("authors", member, margs, None),
            tags=self._name_counts("tags", member, margs, None),
            sites=self._site_counts(member, margs, None),
            years=sorted((r[0] or "unknown", int(r[1])) for r in self._read(  # "unknown" last, as MongoDB's
                f"SELECT substr(a.published,1,4) AS y, count(*) FROM articles a{lwhere} GROUP BY y", largs)),
        )

    @staticmethod
    def _years(months: list[tuple[str, int]], articles: int) -> list[tuple[str, int]]:
        """Per year, oldest first, from the dated articles' months; "unknown" (last) for the rest."""
        years = dict(years_of(months))
        if undated := articles - sum(c for _, c in months):
            years["unknown"] = undated
        return sorted(years.items())

    def _tallied_stats(self) -> Stats:
        """Stats of the whole store, from the counts the writers keep (sqlite_tallies)."""
        articles = tallies.total(self._read, tallies.LIVE)
        return Stats(
            articles=articles, words=tallies.total(self._read, tallies.WORDS),
            deleted=tallies.total(self._read, tallies.DELETED),
            failures=int(self._read("SELECT count(*) FROM failures").fetchone()[0]),
            revisions=tallies.total(self._read, tallies.REVISIONS),
            authors=self._tallied("authors", None), tags=self._tallied("tags", None),
            sites=self._site_shown(tallies.site_counts(self._read, None)),
            years=self._years(tallies.months(self._read), articles),
        )
