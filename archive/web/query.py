"""A request's query string as the CLI's filters, and one page of results. The URL holds the whole
state of a search (query, filters, sort, position), so any page can be bookmarked and shared."""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from archive.errors import UsageError
from archive.models import parse_day
from archive.store.base import Store
from archive.store.records import Filters, Hit, build_filters

PAGE = 20
MAX_PAGE = 100
SORTS = ("relevance", "newest", "oldest")


def whole_number(value: str | None, name: str, default: int, low: int, high: int) -> int:
    """A query parameter that is a whole number in [low, high] (``default`` when absent); a
    UsageError (400) naming the range otherwise: every route refuses alike, none clamps."""
    if not value:
        return default
    try:
        n = int(value)
    except ValueError:
        raise UsageError(f"{name} must be a whole number between {low} and {high}") from None
    if not low <= n <= high:
        raise UsageError(f"{name} must be between {low} and {high}")
    return n


@dataclass
class Request:
    """What a search page or ``/api/search`` was asked for."""

    q: str = ""
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    period: str | None = None  # YYYY or YYYY-MM, from the timeline
    since: dt.date | None = None
    until: dt.date | None = None
    include_deleted: bool = False
    sort: str = "relevance"
    limit: int = PAGE
    offset: int = 0
    after: tuple[str | None, str] | None = None  # keyset position of a date-ordered list

    def filters(self) -> Filters:
        since, until = self.since, self.until
        if self.period:
            lo, hi = period_range(self.period)
            since, until = max(filter(None, (since, lo))), min(filter(None, (until, hi)))
        return build_filters(authors=self.authors, tags=self.tags, sites=self.sites, since=since, until=until,
                             include_deleted=self.include_deleted)

    def params(self, **change: Any) -> list[tuple[str, str]]:
        """The query string of this request with ``change`` applied (a value of None drops it)."""
        state: dict[str, Any] = {
            "q": self.q, "author": list(self.authors), "tag": list(self.tags), "site": list(self.sites),
            "period": self.period, "since": self.since, "until": self.until,
            "deleted": "1" if self.include_deleted else None,
            "sort": None if self.sort == "relevance" else self.sort, "cursor": None,
        }
        state.update(change)
        out: list[tuple[str, str]] = []
        for k, v in state.items():
            for item in v if isinstance(v, list) else [v]:
                if item not in (None, ""):
                    out.append((k, str(item)))
        return out

    def url(self, **change: Any) -> str:
        """``/`` with this request's query string, ``change`` applied."""
        qs = urlencode(self.params(**change))
        return f"/?{qs}" if qs else "/"

    def toggle(self, kind: str, value: str) -> str:
        """The URL with ``value`` added to or removed from the ``kind`` filter (a facet click)."""
        attr = {"author": "authors", "tag": "tags", "site": "sites"}[kind]
        cur = list(getattr(self, attr))
        new = [v for v in cur if v != value] if value in cur else [*cur, value]
        return self.url(**{kind: new})


def period_range(period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of ``YYYY`` or ``YYYY-MM``."""
    try:
        if len(period) == 4:
            y = int(period)
            return dt.date(y, 1, 1), dt.date(y, 12, 31)
        y, m = int(period[:4]), int(period[5:7])
        if len(period) != 7 or period[4] != "-":
            raise ValueError
        return dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1])
    except (ValueError, IndexError):
        raise UsageError(f"period {period!r} is not YYYY or YYYY-MM") from None


def _date(name: str, value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return parse_day(value)
    except ValueError:
        raise UsageError(f"{name} {value!r} is not a date: use YYYY-MM-DD") from None


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def encode_cursor(offset: int) -> str:
    """The position in a ranked result (scores are no key: a page of a search is an offset)."""
    return _b64(f"o{offset}")


def encode_key(published: dt.date | None, id: str) -> str:
    """The position in a date-ordered list: the last row's (published, id), a keyset that new
    articles arriving meanwhile cannot shift."""
    return _b64("k" + json.dumps([published.isoformat() if published else None, id]))


def decode_cursor(cursor: str) -> tuple[int, tuple[str | None, str] | None]:
    """``(offset, keyset)`` from a cursor this server gave out; UsageError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw.startswith("o"):
            return max(0, int(raw[1:])), None
        if raw.startswith("k"):
            pub, id0 = json.loads(raw[1:])
            if (pub is None or isinstance(pub, str)) and isinstance(id0, str):
                return 0, (pub, id0)
        raise ValueError
    except (ValueError, UnicodeDecodeError, TypeError):
        raise UsageError("cursor is not one this server gave out") from None


def parse_request(params: Any) -> Request:
    """Read a query string (a Starlette ``QueryParams`` or a mapping of lists); UsageError for
    values that cannot be read (a 400, never a traceback)."""
    get = params.get
    getlist = params.getlist if hasattr(params, "getlist") else (lambda k: list(params.get(k) or []))
    sort = get("sort") or "relevance"
    if sort not in SORTS:
        raise UsageError(f"sort must be one of {', '.join(SORTS)}")
    limit = whole_number(get("limit"), "limit", PAGE, 1, MAX_PAGE)
    period = get("period") or None
    if period:
        period_range(period)
    offset, after = decode_cursor(get("cursor")) if get("cursor") else (0, None)
    r = Request(
        q=(get("q") or "")[:1000], authors=tuple(getlist("author")), tags=tuple(getlist("tag")),
        sites=tuple(getlist("site")), period=period, since=_date("since", get("since")),
        until=_date("until", get("until")), include_deleted=get("deleted") in ("1", "true", "yes"),
        sort=sort, limit=limit, offset=offset, after=after,
    )
    r.filters()  # checked here, before any store is asked: a range ending before it starts is a 400
    return r


@dataclass
class Page:
    """One page of results and how long it took."""

    hits: list[Hit]
    total: int
    took_ms: float
    next_cursor: str | None
    prev_cursor: str | None
    facets: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None  # why the results may be incomplete (the store's search_warning)
    suggestion: str | None = None  # a search that found nothing: the query with misspelt words corrected


def search_page(store: Store, r: Request, *, with_facets: bool = True, cache: dict[Any, Any] | None = None) -> Page:
    """The hits of one page (and the facets of the whole result) for a request. A list by date
    pages by keyset; ranked (or re-sorted) search results by position."""
    t = time.perf_counter()
    flt = r.filters()
    facets = None
    suggestion: str | None = None
    if with_facets:
        facets = cached_facets(store, r.q, flt, cache) if cache is not None else store.facets(r.q, flt)
    if not r.q.strip():
        ascending = r.sort == "oldest"
        keyed = flt._replace(after=r.after, after_ascending=ascending)
        rows = list(store.query(keyed, sort="published" if ascending else "-published", limit=r.limit + 1))
        last = rows[r.limit - 1] if len(rows) > r.limit else None
        hits = [Hit(a, 0.0, "") for a in rows[: r.limit]]
        next_cursor = encode_key(last.published, last.id) if last else None
        prev_cursor = "" if r.after is not None else None
        total = facets.total if facets is not None else store.count(flt)
    else:
        end = r.offset + r.limit
        if r.sort != "relevance":
            found = list(store.search_by_date(r.q, flt, r.sort == "oldest", end + 1))
            total = facets.total if facets is not None else store.count_matches(r.q, flt)
        elif facets is None:  # the total counted while the matches are ranked
            found, total = store.search_counted(r.q, flt, end + 1)
        else:
            found, total = list(store.search(r.q, flt, end + 1)), facets.total
        hits = found[r.offset : end]
        next_cursor = encode_cursor(end) if len(found) > end else None
        prev_cursor = encode_cursor(max(0, r.offset - r.limit)) if r.offset else None
        suggestion = store.suggest(r.q) if not hits and not r.offset else None
    return Page(hits=hits, total=total, took_ms=(time.perf_counter() - t) * 1000, next_cursor=next_cursor,
                prev_cursor=prev_cursor, facets=facets, warning=store.search_warning,
                suggestion=suggestion)


FACETS_CACHED = 256


def cached_facets(store: Store, q: str, flt: Filters, cache: dict[Any, Any]) -> Any:
    """``store.facets``, kept while the store's data version holds: counting every match is
    the costly part of a search page, and the same searches come back (the home page above all)."""
    version = store.data_version()
    if version is None:
        return store.facets(q, flt)
    key = (q.strip(), flt)
    hit = cache.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    f = store.facets(q, flt)
    if len(cache) >= FACETS_CACHED:
        cache.pop(next(iter(cache)))
    cache[key] = (version, f)
    return f





def collapsed(hits: list[Hit]) -> list[tuple[Hit, list[Hit]]]:
    """A page's hits with each story's later hits folded under its first one (the page lists a
    wire story once, "and 12 more in this story"); order otherwise kept."""
    out: list[tuple[Hit, list[Hit]]] = []
    first: dict[str, list[Hit]] = {}
    for h in hits:
        story = h.article.story
        if story is not None and story in first:
            first[story].append(h)
            continue
        more: list[Hit] = []
        if story is not None:
            first[story] = more
        out.append((h, more))
    return out
