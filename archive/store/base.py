"""The store interface every backend implements, and what they share."""

import abc
import contextlib
import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, NamedTuple

from archive.models import (
    CJK_CHAR,
    CJK_CLASS,
    Article,
    Failure,
    ParsedArticle,
    RevisionInfo,
    Source,
    has_cjk_bytes,
)

Sort = Literal["-published", "published", "-updated", "updated", "-ingested", "ingested", "title", "path"]
HL_START, HL_END = "\x02", "\x03"


class Filters(NamedTuple):
    """The SPEC filters shared by search, list, export and stats (records here are named tuples,
    like archive.models: cheap to define, so a query command starts fast)."""

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
        return [fold_name(t.lstrip("#")) for t in self.tags]


class UpsertItem(NamedTuple):
    """A parsed file to store at ``source.path``; ``move_from`` is the id of an
    article whose file moved here (its identity is kept)."""

    parsed: ParsedArticle
    source: Source
    move_from: str | None = None
    signature: tuple[int, ...] | None = None  # the body's band keys (archive.stories), if computed


Outcome = Literal["new", "updated", "unchanged", "moved", "undeleted"]


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


# Words too common to say what an article is about (for ``similar``'s default).
_COMMON = frozenset((  # noqa: SIM905 - a list of words reads best as words
    "the and for that with was were are has have had this from they their which would there been will "
    "not but his her she its who what when where also said says more than about after into over other "
    "some them then these those only could very just like one two new out all can our any"
).split())


def _date_key(h: Hit) -> tuple[str, str]:
    p = h.article.published
    return (p.isoformat() if p else "", h.article.id)


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """A snippet as ``(text, is_match)`` pieces: each output format marks matches its own way."""
    parts = snippet.replace(HL_END, HL_START).split(HL_START)
    return [(p, i % 2 == 1) for i, p in enumerate(parts) if p]


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

    total = 0
    authors: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    sites: Counter[str] = Counter()
    months: Counter[str] = Counter()
    for a in articles:
        total += 1
        for name in a.authors:
            spelled.setdefault("a" + fold_name(name), name)
            authors[fold_name(name)] += 1
        for t in a.tags:
            spelled.setdefault("t" + fold_name(t), t)
            tags[fold_name(t)] += 1
        if a.site:
            sites[a.site] += 1
        months[a.published.strftime("%Y-%m") if a.published else "unknown"] += 1
    top = sorted_counts
    by_month = sorted((m, c) for m, c in months.items() if m != "unknown")
    return Facets(total=total, authors=[(spelled["a" + k], c) for k, c in top(authors)[:limit]],
                  tags=[(spelled["t" + k], c) for k, c in top(tags)[:limit]], sites=top(sites)[:limit],
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


# ---------------------------------------------------------------- search query


class Term(NamedTuple):
    words: tuple[str, ...]
    negated: bool = False
    prefix: bool = False

    @property
    def phrase(self) -> bool:
        return len(self.words) > 1


class SearchQuery(NamedTuple):
    """A user's query: words ANDed, ``"phrases"``, ``-word`` excluded, ``word*`` prefix, and
    ``a OR b`` alternatives (each group in ``any_of`` needs one of its terms)."""

    positive: tuple[Term, ...]
    negative: tuple[Term, ...]
    any_of: tuple[tuple[Term, ...], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.positive and not self.negative and not self.any_of

    @property
    def has_positive(self) -> bool:
        return bool(self.positive or self.any_of)

    def highlight_words(self) -> list[str]:
        """The words a snippet marks; a CJK word (a phrase of its characters) as typed."""
        out: list[str] = []
        for t in (*self.positive, *(t for g in self.any_of for t in g)):
            if len(t.words) > 1 and all(CJK_CHAR.fullmatch(w) for w in t.words):
                out.append("".join(t.words))
            else:
                out.extend(t.words)
        return out


# ------------------------------------------------------------------ what a word is
# The one rule, for the query parser, the Python matcher and (through index_text) the SQLite
# store's search index: a run of letters and digits; each Chinese, Japanese or Korean character
# alone (those scripts put no spaces between words: a word is found as the run of its
# characters, a phrase of one-character words); and a few words that keep their punctuation:
# C++, C#, .NET, and letters with dots (U.S., e.g.). The CJK ranges are archive.models'.
_WORD = re.compile(rf"(?i)\b[a-z]\+\+|(?<![\w#])[a-z]#(?!\w)|\.net\b|\b(?:[a-z]\.){{2,}}"
                   rf"|[{CJK_CLASS}]|[^\W_{CJK_CLASS}]+")
# index_text's rewrites: what tantivy's plain tokenizer (letter-digit runs) then reads as the same words.
_CPP = re.compile(r"\b([A-Za-z])\+\+")
_SHARP = re.compile(r"(?<![\w#])([A-Za-z])#(?!\w)")
_DOTNET = re.compile(r"\.(?i:net)\b")
_NET_HINT = re.compile(r"\.[Nn][Ee][Tt]")
_DOTTED_HINT = re.compile(r"\.[A-Za-z]\.")


def index_text(text: str) -> str:
    """``text`` as the search index is given it, so that a tokenizer that splits at anything not a
    letter or digit finds the words of the rule above: CJK characters spaced apart, ``C++`` →
    ``Cplusplus``, ``C#`` → ``Csharp``, ``.NET`` → ``dotnet``, ``U.S.`` → ``USdotted``. Each
    rewrite runs only where a literal search finds its characters (a few µs for most articles)."""
    if not text.isascii() and has_cjk_bytes(text) and CJK_CHAR.search(text):
        text = CJK_CHAR.sub(r" \g<0> ", text)
    if "++" in text:
        text = _CPP.sub(r"\1plusplus", text)
    if "#" in text and _letter_before(text, "#"):
        text = _SHARP.sub(r"\1sharp", text)
    if _NET_HINT.search(text):
        text = _DOTNET.sub(" dotnet", text)
    if _DOTTED_HINT.search(text):
        text = _undot(text)
    return text


def _letter_before(text: str, ch: str) -> bool:
    """Whether some ``ch`` in ``text`` follows an ASCII letter (``C#``; a heading's ``##`` does not)."""
    i = text.find(ch)
    while i >= 0:
        if i and text[i - 1].isascii() and text[i - 1].isalpha():
            return True
        i = text.find(ch, i + 1)
    return False


def _undot(text: str) -> str:
    """Letters with dots (``U.S.``, ``e.g.``) as one word each (``USdotted``), found from the
    literal ``.X.`` matches: what _DOTTED matches, without scanning every position."""
    out, pos = [], 0
    for m in _DOTTED_HINT.finditer(text):
        start = m.start() - 1
        if start < pos or start < 0 or not (text[start].isascii() and text[start].isalpha()):
            continue
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue  # inside a word: "AU.S." is AU and S
        end = m.end()
        while end + 1 < len(text) and text[end].isascii() and text[end].isalpha() and text[end + 1] == ".":
            end += 2
        out.append(text[pos:start])
        out.append(text[start:end].replace(".", "") + "dotted ")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def parse_query(text: str) -> SearchQuery:
    """Read any text as a query; never raises. Punctuation splits words.

    ``AND`` between words is the default and ignored; ``OR`` (upper case, between two
    terms) makes them alternatives: ``iraq OR iran troops`` is (iraq or iran) and troops.
    """
    clauses: list[list[Term]] = []
    neg: list[Term] = []
    pending_or = last_positive = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        negated = False
        if c == "-" and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            chunk, i = text[i + 1 : end], end + 1
            prefix = False
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            chunk, i = text[i:j], j
            prefix = chunk.endswith("*") and len(chunk) > 1
            if chunk == "AND" and not negated:
                continue  # words are ANDed already: a typed connector is no word
            if chunk == "OR" and not negated and clauses:
                pending_or = last_positive  # after an exclusion it joins nothing
                continue
        words = tuple(_WORD.findall(chunk))
        if not words:
            continue
        term = Term(words=words, negated=negated, prefix=prefix and len(words) == 1)
        if negated:
            neg.append(term)
        elif pending_or:
            clauses[-1].append(term)
        else:
            clauses.append([term])
        pending_or, last_positive = False, not negated
    positive = tuple(c[0] for c in clauses if len(c) == 1)
    any_of = tuple(tuple(c) for c in clauses if len(c) > 1)
    return SearchQuery(positive, tuple(neg), any_of)


# ------------------------------------------------------------------ verifying a match

_STEMMER: Any = None


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """The English (Snowball, porter2) stem of a folded word: what MongoDB's text index and the
    SQLite store's search index use."""
    global _STEMMER
    if _STEMMER is None:
        import snowballstemmer

        _STEMMER = snowballstemmer.stemmer("english")
    return str(_STEMMER.stemWord(word))


def field_tokens(text: str) -> list[str]:
    """A field's words, folded (case and diacritics), as the query parser splits them."""
    return _WORD.findall(fold(text))


def matches(q: SearchQuery, fields: Sequence[str]) -> bool:
    """Whether an article's fields (title, authors, tags, body) satisfy ``q`` with SQLite's
    semantics: every positive term, one term of each ``OR`` group, no excluded term; a word
    matches its stem, ``word*`` any word it starts, a phrase consecutive words of one field.
    Backends that can only find candidates (MongoDB's ``$text`` ORs words, drops stop words and
    matches phrases as substrings) check each candidate with this."""
    toks = [field_tokens(f) for f in fields]
    stems = [[stem(t) for t in ts] for ts in toks]
    every = {s for ss in stems for s in ss}

    def has(t: Term) -> bool:
        want = [fold(w) for w in t.words]
        if t.prefix:
            return any(tok.startswith(want[0]) for ts in toks for tok in ts)
        ws = [stem(w) for w in want]
        if len(ws) == 1:
            return ws[0] in every
        for ss in stems:
            for i in range(len(ss) - len(ws) + 1):
                if ss[i : i + len(ws)] == ws:
                    return True
        return False

    return (all(has(t) for t in q.positive) and all(any(has(t) for t in g) for g in q.any_of)
            and not any(has(t) for t in q.negative))


# ------------------------------------------------------------------ folding

_FOLD_TABLE: dict[int, str] = {}
for _cp in range(0x00C0, 0x0250):
    _ch = chr(_cp)
    _base = unicodedata.normalize("NFKD", _ch)[:1]
    if _base and _base != _ch and _base.isascii():
        _FOLD_TABLE[_cp] = _base
_FOLD_TABLE.update({ord("ß"): "s", ord("æ"): "a", ord("ø"): "o", ord("Æ"): "A", ord("Ø"): "O"})


def fold(text: str) -> str:
    """Lower case without diacritics, one character for one (offsets are kept)."""
    return text.translate(_FOLD_TABLE).lower()


def fold_name(name: str) -> str:
    """How author names compare: case-insensitive, spaces collapsed."""
    return " ".join(name.split()).casefold()


_VARIANTS: dict[str, str] = {}
for _cp, _b in _FOLD_TABLE.items():
    _VARIANTS.setdefault(_b.lower(), _b.lower())
    _VARIANTS[_b.lower()] += chr(_cp) + chr(_cp).upper() + chr(_cp).lower()


def accent_insensitive_pattern(word: str) -> str:
    """A regex for ``word`` that also matches its accented forms (for regex backends)."""
    out = []
    for ch in fold(word):
        variants = _VARIANTS.get(ch)
        out.append("[" + re.escape("".join(sorted(set(variants + ch.upper())))) + "]" if variants else re.escape(ch))
    return "".join(out)


def stem_head(word: str, stem_of_word: str) -> str:
    """A prefix every word with this stem starts with: the stem's last letters may be rewritten
    (happy → happi, sensible → sensibl ← sensibility), so two letters less than what the word and
    its stem share. Search expands a query word from it; snippets find candidates with it."""
    k = 0
    while k < min(len(word), len(stem_of_word)) and word[k] == stem_of_word[k]:
        k += 1
    return word[: max(1, k - 2)]


# Letters fold() changes other than by case: a text without any is folded by lower() alone.
_ACCENTED = re.compile("[\u00c0-\u024f]")


class _Matcher(NamedTuple):
    """What make_snippet looks for: a regex of the candidate words' heads over lower-cased text
    (a literal scan), one over the text itself for texts with accented letters (case- and
    accent-blind, compiled when first needed: its character classes cost ~2 ms to compile); and
    the prefixes (three letters or more) and stems a candidate is then checked against."""

    heads: tuple[str, ...]
    plain: re.Pattern[str]
    wanted: tuple[str, ...]
    stems: frozenset[str]
    cjk: tuple[str, ...]  # CJK words: marked as typed, wherever they are in a run of characters


@functools.lru_cache(maxsize=256)
def _snippet_matcher(words: tuple[str, ...], stem: Callable[[str], str]) -> _Matcher | None:
    wanted = [w for w in (fold(w) for w in words if w) if w]
    if not wanted:
        return None
    heads = tuple(sorted({stem_head(w, stem(w)) for w in wanted}, key=len, reverse=True))
    # No look-behind for the word start: it makes the engine try every position (5x slower);
    # found() checks the character before each (rare) match instead.
    plain = re.compile("(?:" + "|".join(re.escape(h) for h in heads) + r")\w*")
    return _Matcher(heads, plain, tuple(w for w in wanted if len(w) > 2), frozenset(stem(w) for w in wanted),
                    tuple(sorted((w for w in wanted if CJK_CHAR.match(w)), key=len, reverse=True)))


@functools.lru_cache(maxsize=256)
def _accent_blind(heads: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("(?:" + "|".join(accent_insensitive_pattern(h) for h in heads) + r")\w*", re.IGNORECASE)


def make_snippet(text: str, words: Sequence[str], width: int = 32, stem: Callable[[str], str] = stem) -> str:
    """About ``width`` words of ``text`` around the first match, matches wrapped in markers.
    A word matches what search matched: the same ``stem``, or (three letters or more) a prefix.
    Only the few candidate words a regex finds are stemmed: a snippet costs tens of µs."""
    if not text:
        return ""
    matcher = _snippet_matcher(tuple(words), stem)
    # Without accented letters, fold() is lower(), which then keeps every offset (the one letter
    # it lengthens, U+0130, is accented).
    if matcher is None:
        hay, pattern = text, None
    elif text.isascii() or _ACCENTED.search(text) is None:
        hay, pattern = text.lower(), matcher.plain
    else:
        hay, pattern = text, _accent_blind(matcher.heads)

    def found(lo: int, hi: int) -> Iterator[tuple[int, int]]:
        if matcher is None or pattern is None:
            return
        for m in pattern.finditer(hay, lo, hi):
            s = m.start()
            if matcher.cjk and CJK_CHAR.match(hay, s):
                tok = fold(m.group())
                w = next((w for w in matcher.cjk if tok.startswith(w)), None)
                if w is not None:
                    yield s, s + len(w)
                continue
            if s and (hay[s - 1].isalnum() or hay[s - 1] == "_"):
                continue  # inside a word: only words that start with a head are candidates
            tok = fold(m.group())
            if stem(tok) in matcher.stems or any(tok.startswith(w) for w in matcher.wanted):
                yield m.span()

    first = next(found(0, len(text)), (0, 0))[0]
    # The window: a third of the words before the first match, the rest after, read from slices
    # around it rather than by splitting the whole text.
    before = text[max(0, first - 40 * width):first].split()
    keep = before[-(width // 3):] if width // 3 else []
    lo = first
    for w in reversed(keep):
        lo = text.rindex(w, 0, lo)
    after_text = text[first:first + 60 * width]
    after = after_text.split()
    n_after = max(1, width - len(keep))
    hi = first
    for w in after[:n_after]:
        hi = text.index(w, hi) + len(w)
    at_start = not text[:lo].strip()
    at_end = not text[hi:].strip()
    out, pos = [], lo
    for s, e in found(lo, hi):
        out.append(text[pos:s] + HL_START + text[s:e] + HL_END)
        pos = e
    out.append(text[pos:hi])
    snippet = " ".join("".join(out).split())
    return ("" if at_start else "…") + snippet + ("" if at_end else "…")


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

        words = Counter(w for w in field_tokens(article.title + " " + article.body)
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


def next_revision(old: Article, parsed: ParsedArticle, source: Source, now: dt.datetime) -> Article:
    """The article after its file changed: +1 revision, new content, same identity."""
    return Article(
        id=old.id,
        title=parsed.title,
        authors=list(parsed.authors),
        published=parsed.published,
        body=parsed.body,
        word_count=parsed.word_count,
        source=source,
        revision=old.revision + 1,
        ingested_at=old.ingested_at,
        updated_at=now,
        deleted_at=None,
        url=parsed.url,
        site=parsed.site,
        tags=list(parsed.tags),
        format=parsed.format,  # type: ignore[arg-type]
        description=parsed.description,
        date_source=parsed.date_source,
    )
