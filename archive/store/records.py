"""The plain records the stores read and write (named tuples, like archive.models: cheap to
define, so a query command starts fast), and the counting both stores share."""

# Annotations are evaluated here (no ``from __future__ import annotations``): a NamedTuple's
# string annotations are compiled one by one at import, a cost every command pays.

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from archive.models import Article, ParsedArticle, Source, plain_tag
from archive.search.snippets import snippet_parts
from archive.sorts import SORTS as SORTS  # re-exported: the stores name them from here
from archive.sorts import Sort as Sort
from archive.store.keys import fold_name as fold_name  # re-exported: how values compare, as the stores name it
from archive.store.keys import fold_tag as fold_tag
from archive.store.keys import name_keys as name_keys
from archive.store.keys import tag_keys as tag_keys

if TYPE_CHECKING:  # a read never imports the stories' signatures
    from archive.stories.signature import Signature


def build_filters(*, authors: Sequence[str] = (), tags: Sequence[str] = (), sites: Sequence[str] = (),
                  since: dt.date | None = None, until: dt.date | None = None, include_deleted: bool = False,
                  names: tuple[str, str] = ("since", "until")) -> "Filters":
    """The filters of a request, from the CLI or the web alike: a range that ends before it starts
    is a UsageError naming the two (``names``: how the caller spells them, ``--since``...)."""
    if since and until and since > until:
        from archive.errors import UsageError

        raise UsageError(f"{names[0]} {since} is after {names[1]} {until}")
    return Filters(authors=tuple(authors), tags=tuple(tags), sites=tuple(sites), since=since, until=until,
                   include_deleted=include_deleted)


class Filters(NamedTuple):
    """The SPEC filters shared by search, list, export and stats."""

    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    include_deleted: bool = False
    path_prefix: str | None = None
    # Keyset paging of date-sorted lists: only rows after this (published or None, id) in the
    # order being read (``after_ascending`` says which); see keyset_after().
    after: tuple[str | None, str] | None = None
    after_ascending: bool = False

    @property
    def authors_folded(self) -> list[str]:
        return [fold_name(a) for a in self.authors]

    @property
    def tags_folded(self) -> list[str]:
        return [fold_tag(t) for t in self.tags]


class UpsertItem(NamedTuple):
    """A parsed file to store at ``source.path``; ``move_from`` is the id of an
    article whose file moved here (its identity is kept); ``reparse``: the file was read again
    though its bytes are those stored (``--reparse``), and what this parser makes of it replaces
    the stored fields where they differ."""

    parsed: ParsedArticle
    source: Source
    move_from: str | None = None
    signature: "Signature | None" = None  # the body's signature (archive.stories), if computed
    reparse: bool = False


# "reparsed": the same bytes, read again by a parser that makes other fields of them (no revision:
# the file did not change).
Outcome = Literal["new", "updated", "unchanged", "moved", "undeleted", "reparsed"]


class UpsertResult(NamedTuple):
    path: str
    id: str
    outcome: Outcome
    revision: int


class StoryMember(NamedTuple):
    """One article of a story: how like the first-seen article it is, and why it is there."""

    article: Article
    similarity: float
    reason: str  # near-duplicate or same-url

    def to_doc(self) -> dict[str, Any]:
        a = self.article
        return {"id": a.id, "path": a.source.path, "title": a.title, "site": a.site,
                "published": a.published.isoformat() if a.published else None,
                "similarity": self.similarity, "reason": self.reason}


class Story(NamedTuple):
    """Articles that tell one story, the first seen first (its id is that article's)."""

    id: str
    members: list[StoryMember]

    def to_doc(self) -> dict[str, Any]:
        return {"id": self.id, "size": len(self.members), "articles": [m.to_doc() for m in self.members]}


def assemble_stories(ids: Sequence[str], rows: Iterable[tuple[str, StoryMember, str]]) -> list[Story]:
    """Stories ``ids`` in that order from their articles' rows (story id, member, Peer.seen): each
    story's first-seen article first, then by when they were seen; a story with fewer than two
    live articles is left out (both stores list through this)."""
    found: dict[str, list[tuple[tuple[bool, str, str], StoryMember]]] = {}
    for story, m, seen in rows:
        found.setdefault(story, []).append(((m.article.id != story, seen, m.article.id), m))
    members = {s: [m for _, m in sorted(ms, key=lambda x: x[0])] for s, ms in found.items()}
    return [Story(i, members[i]) for i in ids if len(members.get(i, ())) >= 2]


class KnownFile(NamedTuple):
    """What the store remembers of a file, enough to skip it when unchanged."""

    id: str
    path: str
    sha256: str
    size: int
    mtime: float
    inode: int | None
    device: int | None
    deleted: bool


class Hit(NamedTuple):
    """One search result."""

    article: Article
    score: float
    snippet: str

    def to_doc(self) -> dict[str, Any]:
        """The document as ``export`` writes it, with ``score`` and ``snippet`` (matches in ``**…**``)."""
        plain = "".join(f"**{t}**" if match else t for t, match in snippet_parts(self.snippet))
        return {**self.article.to_doc(), "score": self.score, "snippet": plain}


class Facets(NamedTuple):
    """What a query matches, counted by value: the sidebar of a search page."""

    total: int
    authors: list[tuple[str, int]]
    tags: list[tuple[str, int]]
    sites: list[tuple[str, int]]
    years: list[tuple[str, int]]
    months: list[tuple[str, int]]  # "YYYY-MM", oldest first

    def to_doc(self) -> dict[str, Any]:
        return {
            "total": self.total,
            **{k: [{"value": v, "count": c} for v, c in getattr(self, k)]
               for k in ("authors", "tags", "sites", "years", "months")},
        }


def count_facets(articles: Iterable[Article], limit: int) -> Facets:
    """Facets counted from the matching articles themselves (any backend)."""
    from collections import Counter

    from archive.store.keys import display_names, site_key

    total = 0
    authors: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    sites: Counter[str] = Counter()  # by archive.store.keys' key, shown by the name most give
    site_names: Counter[tuple[str, str]] = Counter()
    months: Counter[str] = Counter()
    for a in articles:
        total += 1
        for name in a.authors:
            spelled.setdefault("a" + fold_name(name), name)
        authors.update(name_keys(a.authors))  # an article counts once for each of its authors
        for t in a.tags:
            spelled.setdefault("t" + fold_tag(t), plain_tag(t))
        tags.update(tag_keys(a.tags))
        if a.site and (key := site_key(a.site, a.url)):
            sites[key] += 1
            site_names[(key, a.site)] += 1
        months[a.published.strftime("%Y-%m") if a.published else "unknown"] += 1
    top = sorted_counts
    shown = display_names((k, name, n) for (k, name), n in site_names.items())
    by_month = sorted((m, c) for m, c in months.items() if m != "unknown")
    return Facets(total=total, authors=[(spelled["a" + k], c) for k, c in top(authors)[:limit]],
                  tags=[(spelled["t" + k], c) for k, c in top(tags)[:limit]],
                  sites=[(shown[k], c) for k, c in sorted(sites.items(), key=lambda kc: (-kc[1], kc[0]))[:limit]],
                  years=years_of(by_month), months=by_month)


def years_of(months: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Per-year counts, oldest first, from ``("YYYY-MM", count)`` pairs."""
    years: dict[str, int] = {}
    for m, c in months:
        years[m[:4]] = years.get(m[:4], 0) + c
    return sorted(years.items())


def sorted_counts(counts: Any) -> list[tuple[str, int]]:
    """Most frequent first, ties by value."""
    return sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0].casefold()))


class Stats(NamedTuple):
    """What ``archive stats`` reports."""

    articles: int
    deleted: int
    failures: int
    revisions: int
    words: int
    authors: list[tuple[str, int]]
    years: list[tuple[str, int]]
    tags: list[tuple[str, int]]
    sites: list[tuple[str, int]]

    def to_doc(self, limit: int | None = None) -> dict[str, Any]:
        """The JSON form (``stats --format json``, ``/api/stats``); ``limit`` authors, tags and sites."""
        return {
            "articles": self.articles, "deleted": self.deleted, "failures": self.failures,
            "revisions": self.revisions, "words": self.words,
            "authors": [{"name": n, "articles": c} for n, c in self.authors[:limit]],
            "years": [{"year": y, "articles": c} for y, c in self.years],
            "tags": [{"tag": n, "articles": c} for n, c in self.tags[:limit]],
            "sites": [{"site": n, "articles": c} for n, c in self.sites[:limit]],
        }
