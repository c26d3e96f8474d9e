"""Search on MongoDB with SQLite's semantics: ``$text`` gives candidates and scores, one
backend-neutral verifier (:func:`archive.store.base.matches`) decides what matches."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from pymongo import ASCENDING

from archive.errors import StoreError, StoreUnavailable
from archive.models import CJK_CHAR
from archive.store.base import (
    Filters,
    Hit,
    SearchQuery,
    Term,
    accent_insensitive_pattern,
    fold,
    make_snippet,
    matches,
    parse_query,
)
from archive.store.mongo.docs import from_mongo

TEXT_INDEX = "articles_text"
# Letters and digits of the scripts news is written in, spelled out: a regex means the same on the
# server (PCRE, whose \w is ASCII) as in Python.
WORD_CHAR = ("[0-9A-Za-z_\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff"
             "\u0590-\u05ff\u0600-\u06ff\u0900-\u097f\u1e00-\u1fff\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")
NON_WORD = "[^" + WORD_CHAR[1:]
# MongoDB's English text index drops these words from $text queries (a query of only these is scanned).
STOP_WORDS = frozenset((  # noqa: SIM905 - a list of words reads best as words
    "a about above after again against all am an and any are as at be because been before being below between "
    "both but by can did do does doing down during each few for from further had has have having he her here "
    "hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now "
    "of off on once only or other our ours ourselves out over own same she should so some such than that the "
    "their theirs them themselves then there these they this those through to too under until up very was we "
    "were what when where which while who whom why will with you your yours yourself yourselves"
).split())


class SearchMixin:
    """The search half of :class:`archive.store.mongo.MongoStore`."""

    articles: Any
    _text_ok: bool | None
    _guard: Any
    _iter: Any
    _filter: Any

    def search(self, text: str, filters: Filters, limit: int | None = None) -> Iterator[Hit]:
        """Ranked search with SQLite's semantics. ``$text`` is asked for candidates only, every word
        unquoted (it ORs them and stems them; quoted phrases would be bare substring matches); each
        candidate is then checked with :func:`matches` (AND, phrases, OR groups, exclusions), in
        text-score order with ``_id`` breaking ties. Prefixes, exclusion-only queries, queries of
        stop words only (``$text`` drops them) and servers without the text index use a scan."""
        q = parse_query(text)
        if q.empty or (limit is not None and limit <= 0):
            return
        flt = self._filter(filters)
        terms = (*q.positive, *(t for g in q.any_of for t in g))
        words = [w for t in terms for w in t.words]
        prefix = any(t.prefix for t in terms)
        # $text splits words its own way: CJK runs are one word there, C++ is "c". Those are scanned.
        own_words = any(CJK_CHAR.search(w) or not w.isalnum() for w in words)
        if (words and not prefix and not own_words and self._text_ok is not False
                and not all(fold(w) in STOP_WORDS for w in words)):
            found = self._search_text(q, flt, " ".join(dict.fromkeys(words)), limit)
            if found is not None:
                yield from found
                return
        yield from self._search_fallback(q, flt, limit)

    def _search_text(self, q: SearchQuery, flt: dict[str, Any], search: str,
                     limit: int | None) -> Iterator[Hit] | None:
        """Hits through the text index, or None when the server has none (then a scan answers)."""
        cur = self.articles.find({**flt, "$text": {"$search": search}}, {"score": {"$meta": "textScore"}})
        cur = cur.sort([("score", {"$meta": "textScore"}), ("_id", ASCENDING)])
        try:
            with self._guard():
                first = next(cur, None)
            self._text_ok = True
        except (StoreError, NotImplementedError, TypeError, KeyError) as exc:
            if isinstance(exc, StoreUnavailable):
                raise
            self._text_ok = False
            return None
        return self._verified(q, itertools.chain([first] if first else [], self._iter(cur, lambda d: d)), limit)

    def _verified(self, q: SearchQuery, docs: Iterable[dict[str, Any]], limit: int | None) -> Iterator[Hit]:
        """The documents that really match ``q`` (see :func:`matches`), at most ``limit``."""
        words = q.highlight_words()
        n = 0
        for d in docs:
            fields = (d["title"], " ".join(d.get("authors") or []), " ".join(d.get("tags") or []), d["body"])
            if not matches(q, fields):
                continue
            yield self._hit(d, words, float(d.get("score", 0)))
            n += 1
            if limit is not None and n >= limit:
                return

    def _hit(self, d: dict[str, Any], words: list[str], score: float) -> Hit:
        art = from_mongo(d)
        return Hit(art, round(score, 6), make_snippet(art.body, words))

    def _search_fallback(self, q: SearchQuery, flt: dict[str, Any], limit: int | None) -> Iterator[Hit]:
        """Case- and accent-insensitive word matching, for servers without a text index."""

        def rx(t: Term) -> str:
            # The server's \w is ASCII (PCRE without UCP): "Müller" would match "ller". Word
            # characters are spelled out instead, meaning the same on the server and in Python.
            # CJK characters are words of their own, written without spaces between them.
            cjk = [CJK_CHAR.fullmatch(w) is not None for w in t.words]
            body = accent_insensitive_pattern(t.words[0])
            for i in range(1, len(t.words)):
                sep = NON_WORD + ("*" if cjk[i - 1] or cjk[i] else "+")
                body += sep + accent_insensitive_pattern(t.words[i])
            head = "" if cjk[0] else f"(?<!{WORD_CHAR})"
            tail = "" if t.prefix or cjk[-1] else f"(?!{WORD_CHAR})"
            return head + body + tail

        def any_field(t: Term) -> dict[str, Any]:
            r = {"$regex": rx(t), "$options": "i"}
            return {"$or": [{"title": r}, {"authors": r}, {"tags": r}, {"body": r}]}

        conds: list[dict[str, Any]] = [flt] if flt else []
        conds += [any_field(t) for t in q.positive]
        conds += [{"$or": [any_field(t) for t in g]} for g in q.any_of]
        if q.negative:
            conds.append({"$nor": [any_field(t) for t in q.negative]})
        query = {"$and": conds} if conds else {}
        scored: list[tuple[float, str, dict[str, Any]]] = []
        pats = [re.compile(rx(t), re.I) for t in (*q.positive, *(t for g in q.any_of for t in g))]
        with self._guard():
            for d in self.articles.find(query):
                title, authors, body = fold(d["title"]), fold(" ".join(d.get("authors") or [])), fold(d["body"])
                tags = fold(" ".join(d.get("tags") or []))
                score: float = sum(
                    10 * len(p.findall(title)) + 5 * len(p.findall(authors)) + 3 * len(p.findall(tags))
                    + len(p.findall(body)) for p in pats
                )
                scored.append((float(score) / (1 + len(body) / 5000), d["_id"], d))
        scored.sort(key=lambda x: (-x[0], x[1]))
        yield from self._verified(q, ({**d, "score": score} for score, _, d in scored), limit)

