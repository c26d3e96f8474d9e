"""The store interface every backend implements, and the decisions it makes the same way for all."""

import abc
import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from archive.models import Article, Failure, RevisionInfo, Source
from archive.search.analyzer import words as analyzed_words
from archive.search.query import parse_query
from archive.search.snippets import make_snippet
from archive.store.records import (
    Facets,
    Filters,
    Hit,
    KnownFile,
    Sort,
    Stats,
    Story,
    StoryMember,
    UpsertItem,
    UpsertResult,
    assemble_stories,
    count_facets,
)

# Words too common to say what an article is about (for ``similar``'s default).
_COMMON = frozenset((  # noqa: SIM905 - a list of words reads best as words
    "the and for that with was were are has have had this from they their which would there been will "
    "not but his her she its who what when where also said says more than about after into over other "
    "some them then these those only could very just like one two new out all can our any"
).split())


def _date_key(h: Hit) -> tuple[str, str]:
    p = h.article.published
    return (p.isoformat() if p else "", h.article.id)


# ------------------------------------------------------------------ interface


class Store(abc.ABC):
    """What the ingest pipeline, the daemon and the CLI use to read and write articles."""

    kind: str
    display: str  # the store's URI with credentials removed
    # Set by a search whose results may be incomplete (the search index lags or cannot serve):
    # why, for the CLI's stderr, the web page and ``status``.
    search_warning: str | None = None

    def __enter__(self) -> "Store":
        return self

    def interrupt(self) -> None:
        """Ask a query running on another thread to stop soon (the web's time limit); a backend
        that cannot does nothing."""
        return None

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def close(self) -> None: ...

    # --- writes
    @abc.abstractmethod
    def upsert_many(self, items: Sequence[UpsertItem]) -> list[UpsertResult]:
        """Store parsed files in one batch: new / updated / unchanged by sha256 (an update
        keeps the previous revision); clears each path's failure."""

    @abc.abstractmethod
    def touch_many(self, files: Sequence[Source]) -> None:
        """Remember new stat data (size, mtime, inode) for files whose bytes did not change."""

    @abc.abstractmethod
    def mark_deleted(self, paths: Iterable[str]) -> int:
        """Mark the articles at ``paths`` deleted (kept, with ``deleted_at``); failures go."""

    @abc.abstractmethod
    def record_failures(self, failures: Sequence[Failure]) -> None: ...

    @abc.abstractmethod
    def clear_failures(self, paths: Iterable[str]) -> None: ...

    @abc.abstractmethod
    def put_articles(self, articles: Sequence[Article], revisions: Sequence[Article] = ()) -> dict[str, int]:
        """Write whole documents by id (import, migrate): ``{"imported": n, "updated": n}``."""

    # --- reads
    @abc.abstractmethod
    def known_files(self, prefix: str | None = None) -> Iterator[KnownFile]: ...

    @abc.abstractmethod
    def known_at(self, paths: Sequence[str]) -> dict[str, KnownFile]:
        """What the store holds of the files at ``paths`` (by path; no bodies read)."""

    @abc.abstractmethod
    def failures_at(self, paths: Sequence[str]) -> list[Failure]:
        """The failure rows of the files at ``paths``."""

    @abc.abstractmethod
    def move_candidates(self, device: int, inode: int, sha256: str) -> list[KnownFile]:
        """Articles that may be the same file moved: same inode and device, or same sha256."""

    @abc.abstractmethod
    def get(self, id: str) -> Article | None: ...

    @abc.abstractmethod
    def get_by_path(self, path: str) -> Article | None: ...

    @abc.abstractmethod
    def ids_with_prefix(self, prefix: str, limit: int = 20) -> list[tuple[str, str]]:
        """``(id, title)`` of articles whose id starts with ``prefix``."""

    @abc.abstractmethod
    def query(self, filters: Filters, sort: Sort = "-published", limit: int | None = None) -> Iterator[Article]: ...

    @abc.abstractmethod
    def count(self, filters: Filters) -> int: ...

    @abc.abstractmethod
    def search(self, text: str, filters: Filters, limit: int | None = None) -> Iterator[Hit]: ...

    @abc.abstractmethod
    def stories(self, filters: Filters, min_size: int = 2, limit: int | None = None) -> list[Story]:
        """Stories with at least ``min_size`` live articles of which one matches ``filters``:
        the largest first, then the newest (by their newest article's date)."""

    def story(self, id: str) -> Story | None:
        """One story by its id, its live articles first seen first; None when it has ended."""
        found = assemble_stories([id], self._story_rows([id]))
        return found[0] if found else None

    @abc.abstractmethod
    def _story_rows(self, ids: Sequence[str]) -> Iterator[tuple[str, StoryMember, str]]:
        """The live articles of stories ``ids``: (story id, member, Peer.seen)."""

    def similar(self, article: Article, limit: int = 10) -> list[Hit]:
        """The live articles most like ``article`` by content (never itself), best first, with a
        score: a query made of its most distinctive words. This default ORs its most frequent
        words (stop words aside) through ``search``'s ranking one by one; a backend with a
        more-like-this query uses that."""
        from collections import Counter

        words = Counter(w for w in analyzed_words(article.title + " " + article.body)
                        if len(w) > 2 and not w.isdigit() and w not in _COMMON)
        scores: dict[str, float] = {}
        arts: dict[str, Article] = {}
        for w, _ in words.most_common(12):
            for h in self.search(w, Filters(), 50):
                if h.article.id != article.id:
                    scores[h.article.id] = scores.get(h.article.id, 0.0) + h.score
                    arts[h.article.id] = h.article
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [Hit(arts[i], round(sc, 6), make_snippet(arts[i].body, [])) for i, sc in best]

    def suggest(self, text: str) -> str | None:
        """A query like ``text`` with its misspelt words replaced by the closest words the store
        holds (for a search that found nothing); None when there is nothing better to offer."""
        from archive.search.suggest import suggestion

        return suggestion(text, self.words_with_prefix)

    def words_with_prefix(self, prefix: str) -> list[tuple[str, int]]:
        """The indexed words that start with ``prefix``, each with how many articles hold it (a
        backend without a word list returns none: no suggestions)."""
        return []

    def search_by_date(self, text: str, filters: Filters, ascending: bool, limit: int) -> Iterator[Hit]:
        """The first ``limit`` hits of ``text`` by published date (newest first unless
        ``ascending``; undated last when newest first, ids breaking ties), unscored. This
        default builds every hit; a backend that can sort its matches itself does so."""
        hits = sorted(self.search(text, filters, None), key=_date_key, reverse=not ascending)
        return iter(hits[:limit])

    def facets(self, text: str, filters: Filters, limit: int = 10) -> Facets:
        """Counts by author, tag, site, year and month of what ``text`` (or, empty, the filters
        alone) matches; ``limit`` values per facet, the most frequent first."""
        if parse_query(text).empty:
            return count_facets(self.query(filters), limit)
        return count_facets((h.article for h in self.search(text, filters)), limit)

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Many writes follow: a backend may keep resources (the SQLite store's index writer) across them."""
        yield

    def check(self) -> None:
        """Raise StoreReplaced if the store went away under this handle (default: it cannot)."""
        return None

    def search_index(self) -> dict[str, Any] | None:
        """What ``archive status`` says of a search index kept apart from the documents (None: the
        backend has none of its own)."""
        return None

    def deployment(self) -> str | None:
        """What the store runs on, for ``status`` (None: nothing worth saying)."""
        return None

    def data_version(self) -> object | None:
        """A value that changes whenever the stored data may have changed (None: unknown).
        Readers use it to keep derived answers, such as facet counts, while it holds."""
        return None

    def count_matches(self, text: str, filters: Filters) -> int:
        """How many articles ``search(text, filters)`` finds without a limit."""
        return sum(1 for _ in self.search(text, filters))

    def search_counted(self, text: str, filters: Filters, limit: int) -> tuple[list[Hit], int]:
        """The first ``limit`` hits of ``search`` and how many there are in all (a page of results
        and its total: a store that walks every match to rank them counts them on the way)."""
        return list(self.search(text, filters, limit)), self.count_matches(text, filters)

    @abc.abstractmethod
    def revisions(self, id: str) -> list[Article]:
        """Earlier revisions of an article, oldest first (the current one is not included)."""

    @abc.abstractmethod
    def all_revisions(self) -> Iterator[Article]: ...

    @abc.abstractmethod
    def failures(self) -> Iterator[Failure]: ...

    @abc.abstractmethod
    def stats(self, filters: Filters) -> Stats: ...

    @abc.abstractmethod
    def duplicates(self, include_deleted: bool = False) -> list[list[Article]]: ...

    # --- the daemon's record
    @abc.abstractmethod
    def acquire_lock(self, key: str, holder: dict[str, Any], can_take: Any) -> dict[str, Any] | None:
        """Take the daemon lock ``key`` for ``holder``. If another holds it and
        ``can_take(old)`` is false, return the old holder and take nothing."""

    @abc.abstractmethod
    def heartbeat(self, key: str, token: str, data: dict[str, Any]) -> bool:
        """Update the daemon record if ``token`` still holds it; False if it lost the lock."""

    @abc.abstractmethod
    def release_lock(self, key: str, token: str, data: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def daemons(self) -> list[dict[str, Any]]: ...

    # --- derived
    def resolve(self, ref: str) -> Article:
        """An article by id, unique id prefix, or file path."""
        from archive.errors import AmbiguousRef, NotFound

        ref = ref.strip()
        if not ref:
            raise NotFound(ref)
        if art := self.get(ref):
            return art
        # A path: anything that is not an id prefix (a.markdown, page.htm, seeds/x), or that names
        # a file here (a hex-named file "cafe.txt" would be both).
        import os

        hexish = re.fullmatch(r"[0-9a-fA-F]{1,64}", ref) is not None
        if (not hexish or os.path.lexists(ref)) and (art := self.get_by_path(os.path.abspath(ref))):
            return art
        if hexish:
            cands = self.ids_with_prefix(ref.lower())
            if len(cands) == 1:
                got = self.get(cands[0][0])
                if got:
                    return got
            if len(cands) > 1:
                raise AmbiguousRef(ref, cands)
        raise NotFound(ref)

    def history(self, id: str) -> list[RevisionInfo]:
        """Every revision, oldest first, the current one last."""
        cur = self.get(id)
        out = [
            RevisionInfo(revision=a.revision, updated_at=a.updated_at, sha256=a.source.sha256,
                         size=a.source.size, title=a.title, path=a.source.path)
            for a in self.revisions(id)
        ]
        if cur:
            out.append(RevisionInfo(revision=cur.revision, updated_at=cur.updated_at,
                                    sha256=cur.source.sha256, size=cur.source.size,
                                    title=cur.title, path=cur.source.path, current=True))
        return out
