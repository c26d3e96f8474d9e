"""Search on MongoDB with the embedded store's analyzer, not the server's.

Every article document carries what the one analyzer (:mod:`archive.search.analyzer`, the one the
SQLite store's index and :func:`archive.search.match.matches` use) makes of it: ``terms`` (the
stems of all its words, multikey-indexed), ``words`` (its words, for ``word*`` prefixes as a range
on their index), and the stems of its title (``t_title``) and of its authors and tags
(``t_meta``) for ranking. A query becomes conditions on those arrays, so the candidates are exactly
the articles with every word's stem (no stop list, no server tokenizer: ``would``, ``O'Brien``,
``foo_bar``, ``résumé``, ``Straße`` mean here what they mean on SQLite); only phrases are checked
on the candidates' text. Ranking is BM25, as the embedded store's (tantivy's) is, and needs no
body: each query stem adds its idf (``ln(1 + (N - df + 0.5) / (df + 0.5))``, df counted on the
index) times its saturated frequency in the body (``tf``, normalised by the body's length ``blen``
against the collection's average, estimated from a sample), plus the title's and the authors' or
tags' weight (archive.fields) where it is there too; ``_id`` breaks ties. The top ``limit`` are
kept in a heap and only those are read whole."""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection

from archive.fields import SEARCH_WEIGHTS
from archive.search.analyzer import stem
from archive.search.match import matches, term_words
from archive.search.query import SearchQuery, Term, parse_query
from archive.search.snippets import make_snippet
from archive.store.mongo.conn import OPERATION_TIMEOUT_MS
from archive.store.mongo.docs import from_mongo
from archive.store.records import Filters, Hit

_RANKING = {"_id": 1, "t_title": 1, "t_meta": 1, "blen": 1}
K1, B = 1.2, 0.75  # BM25's term saturation and length normalisation (tantivy's, Lucene's)
AVG_SAMPLE = 1000  # documents sampled for the average body length
AVG_FOR = 300.0  # seconds an estimate of the average serves a long-lived process (the web)


def _stems(t: Term) -> list[str]:
    return [stem(w) for w in term_words(t)]


_NOTHING: dict[str, Any] = {"_id": {"$in": []}}  # a term without words (all too long) matches nothing
# A stem's weight where it is found: the body's, plus the title's or (authors and tags share an
# array) the authors' weight of the document's fields (archive.fields).
_IN_TITLE, _IN_META = SEARCH_WEIGHTS["title"], SEARCH_WEIGHTS["authors"]


def _cond(t: Term) -> dict[str, Any]:
    """The condition an article meets when it may hold ``t``: exactly, unless ``t`` is a phrase
    (its words' stems are all there; the order is checked on the text)."""
    if t.prefix:
        head = term_words(t)[:1]
        return {"words": {"$regex": "^" + re.escape(head[0])}} if head else _NOTHING
    stems = _stems(t)
    if not stems:
        return _NOTHING
    return {"terms": stems[0]} if len(stems) == 1 else {"terms": {"$all": stems}}


def exact(q: SearchQuery) -> bool:
    """Whether the conditions alone decide ``q`` (no phrase to check on the text)."""
    return not any(t.phrase for t in (*q.positive, *q.negative, *(t for g in q.any_of for t in g)))


def condition(q: SearchQuery, flt: dict[str, Any]) -> dict[str, Any]:
    """The query's conditions with the filters: every positive term, one of each OR group, no
    excluded word (an excluded phrase is checked on the text)."""
    conds: list[dict[str, Any]] = [flt] if flt else []
    conds += [_cond(t) for t in q.positive]
    conds += [{"$or": [_cond(t) for t in g]} for g in q.any_of]
    nots = [_cond(t) for t in q.negative if not t.phrase]
    if nots:
        conds.append({"$nor": nots})
    return {"$and": conds} if len(conds) > 1 else (conds[0] if conds else {})


class MongoSearch:
    """The search half of :class:`archive.store.mongo.MongoStore`, which owns one: the articles'
    search arrays queried with the conditions above, ranked here. Given the collection, the
    store's filter, its error guard and its time limit for a query a person waits for."""

    def __init__(self, articles: Collection[dict[str, Any]], where: Callable[[Filters], dict[str, Any]],
                 guard: Callable[[], AbstractContextManager[None]],
                 bounded: Callable[[], AbstractContextManager[None]]) -> None:
        self.articles = articles
        self._filter = where
        self._guard = guard
        self._bounded = bounded
        self._avg: tuple[float, float] | None = None  # (when, average body length)

    def _idf(self, q: SearchQuery) -> dict[str, float]:
        """Each positive word's stem and its BM25 idf over the collection's index."""
        stems = {s for t in (*q.positive, *(t for g in q.any_of for t in g)) if not t.prefix for s in _stems(t)}
        if not stems:
            return {}
        with self._bounded():
            n = max(1, self.articles.estimated_document_count())
            dfs = {s: min(n, self.articles.count_documents({"terms": s})) for s in stems}
        return {s: math.log(1 + (n - df + 0.5) / (df + 0.5)) for s, df in dfs.items()}

    def _avg_length(self) -> float:
        """The average body length in words, from a sample of AVG_SAMPLE documents (kept AVG_FOR)."""
        import time

        now = time.monotonic()
        if self._avg is None or now - self._avg[0] > AVG_FOR:
            with self._bounded():
                rows = list(self.articles.aggregate([{"$sample": {"size": AVG_SAMPLE}},
                                                     {"$group": {"_id": None, "avg": {"$avg": "$blen"}}}]))
            avg = float(rows[0]["avg"] or 0) if rows else 0.0
            self._avg = (now, max(1.0, avg))
        return self._avg[1]

    def _ranked(self, q: SearchQuery, filters: Filters, limit: int | None) -> list[tuple[float, str]]:
        """(score, id) of the best ``limit`` matches, best first, ``_id`` breaking ties (a heap of
        ``limit`` entries while the candidates stream past)."""
        idf = self._idf(q)
        avg = self._avg_length() if idf else 1.0
        query = condition(q, self._filter(filters))
        check = not exact(q)
        fields = None if check else {**_RANKING, "terms": 1, **{f"tf.{s}": 1 for s in idf}}

        def scored() -> Iterator[tuple[float, str]]:
            for d in self.articles.find(query, fields):
                if check and not matches(q, _text_of(d)):
                    continue
                yield bm25(d, idf, avg), d["_id"]

        def order(x: tuple[float, str]) -> tuple[float, str]:
            return (-x[0], x[1])

        with self._bounded():
            return sorted(scored(), key=order) if limit is None else heapq.nsmallest(limit, scored(), key=order)

    def _hits(self, q: SearchQuery, ranked: Sequence[tuple[float, str]]) -> Iterator[Hit]:
        """The ranked ids as hits, read 100 at a time."""
        words = q.highlight_words()
        for at in range(0, len(ranked), 100):
            chunk = ranked[at : at + 100]
            with self._bounded():
                docs = {d["_id"]: d for d in self.articles.find({"_id": {"$in": [i for _, i in chunk]}})}
            for score, id in chunk:
                d = docs.get(id)
                if d is not None:
                    art = from_mongo(d)
                    yield Hit(art, score, make_snippet(art.body, words))

    def search(self, text: str, filters: Filters, limit: int | None = None) -> Iterator[Hit]:
        """Ranked search with the embedded store's semantics (see the module's docstring)."""
        q = parse_query(text)
        if q.empty or (limit is not None and limit <= 0):
            return
        if not q.has_positive:  # only exclusions: the rest, newest first, as the embedded store lists them
            yield from self.search_by_date(text, filters, False, limit if limit is not None else 2**62)
            return
        yield from self._hits(q, self._ranked(q, filters, limit))

    def words_with_prefix(self, prefix: str) -> list[tuple[str, int]]:
        """The articles' words with ``prefix`` (from the ``words`` index's range), and how many of
        the first 5,000 articles holding one hold each."""
        rx = {"$regex": "^" + re.escape(prefix)}
        with self._bounded():
            rows = self.articles.aggregate([
                {"$match": {"words": rx}}, {"$limit": 5000}, {"$project": {"words": 1}}, {"$unwind": "$words"},
                {"$match": {"words": rx}}, {"$group": {"_id": "$words", "n": {"$sum": 1}}}])
            return [(str(r["_id"]), int(r["n"])) for r in rows]

    def search_by_date(self, text: str, filters: Filters, ascending: bool, limit: int) -> Iterator[Hit]:
        """Matches newest (or oldest) first, sorted on the server by the published/_id index."""
        q = parse_query(text)
        if q.empty or limit <= 0:
            return
        order = ASCENDING if ascending else DESCENDING
        cur = self.articles.find(condition(q, self._filter(filters)), max_time_ms=OPERATION_TIMEOUT_MS).sort(
            [("published", order), ("_id", order)])  # a server time limit: a stream cannot be _bounded
        words = q.highlight_words()
        n = 0
        check = not exact(q)
        for d in self._docs(cur):
            if check and not matches(q, _text_of(d)):
                continue
            art = from_mongo(d)
            yield Hit(art, 0.0, make_snippet(art.body, words))
            n += 1
            if n >= limit:
                return

    def _docs(self, cursor: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The documents of a cursor, its driver errors as archive's."""
        with self._guard():
            yield from cursor

    def count_matches(self, text: str, filters: Filters) -> int:
        q = parse_query(text)
        if q.empty:
            return 0
        query = condition(q, self._filter(filters))
        with self._bounded():
            if exact(q):
                return int(self.articles.count_documents(query))
            return sum(1 for d in self.articles.find(query) if matches(q, _text_of(d)))


def bm25(d: dict[str, Any], idf: dict[str, float], avg: float) -> float:
    """A document's score for the query stems ``idf`` (see the module's docstring), rounded so
    that equal scores tie exactly (``_id`` then decides)."""
    terms = set(d.get("terms") or ())
    title, meta = set(d.get("t_title") or ()), set(d.get("t_meta") or ())
    tf = d.get("tf") or {}
    norm = K1 * (1 - B + B * float(d.get("blen") or 0) / avg)
    score = 0.0
    for s, w in idf.items():
        if s in terms:
            f = float(tf.get(s, 0))
            body = f * (K1 + 1) / (f + norm) if f else 0.0
            score += w * (body + _IN_TITLE * (s in title) + _IN_META * (s in meta))
    return round(score, 6)


def _text_of(d: dict[str, Any]) -> tuple[str, str, str, str]:
    return (d["title"], " ".join(d.get("authors") or []), " ".join(d.get("tags") or []), d["body"])
