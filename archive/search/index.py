"""The SQLite store's full-text index: a tantivy index in a folder beside the database file.

The articles table is the truth; the index is derived from it through a change log that triggers
fill (``search_log``: one row per inserted, edited or deleted article, numbered by an
AUTOINCREMENT ``seq``). A writer indexes the logged articles inside its SQLite write transaction,
commits SQLite, then commits the index and writes the highest ``seq`` it indexed (the watermark)
to a file in the folder. A crash between the two commits leaves log rows above the watermark:
the next writer indexes them again (indexing is idempotent: delete by ``n``, add the row as it is).
Readers take only ``n`` and a score from the index and read the rows from the table, so they
never show an article the table lacks.

tantivy ranks the top hits exactly (BM25 per field, title above authors above tags above body)
without scoring every match, which FTS5 cannot: a common word at 100,000 articles is ~1 ms here
against ~80 ms.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import tantivy

from archive.errors import IndexDamaged
from archive.fields import SEARCH_WEIGHTS
from archive.search.analyzer import index_text, stem, stem_head, words_analyzer
from archive.search.match import term_words
from archive.search.query import SearchQuery, Term

FORMAT = 5  # bump to rebuild every index from its table (2: words unstemmed; 3: CJK characters, C++, U.S.;
# 4: each article's publication date, for date-sorted search; 5: folded authors and tags, site and month,
# for filters and facets the index answers alone)
FIELDS = ("title", "authors", "tags", "body")
# What filters and facets read, one value each as the store keeps it (folded names and tags, the site's
# key: archive.store.keys), in the order of Within's fields.
KEYS = ("author", "tag", "site")
MAX_KEY = 1_000  # bytes: a longer value is not indexed as a key (no facet, no filter by the index)
_EVERY = 2**31 - 1  # an aggregation's "all of them"
BOOSTS = {f: SEARCH_WEIGHTS[f] for f in FIELDS}  # the document's search weights (archive.fields)
ANALYZER = "archive"
WATERMARK = "archive-watermark.json"
WRITER_HEAP = 24_000_000  # a full arena flushes a segment early; more only holds more memory
WRITER_THREADS = 1  # unstemmed words index at ~10,000 articles/s on one thread
MAX_PHRASES = 64  # combinations of a phrase's word variants tried, at most


DAMAGED = "archive-damaged"  # a marker: a reader met damage it could not repair; the next writer rebuilds
VERIFIED = ".archive-verified.json"  # files whose checksums were verified: name -> [size, mtime_ns]
_SEGMENT_FILE = re.compile(r"^([0-9a-f]{32})\.(?:\d+\.)?(\w+)$")
_FOOTER_MAGIC = 1337  # tantivy's file footer: JSON {"crc": crc32 of the data, ...}, its length, this
_CORE = ("idx", "term", "store", "fast", "fieldnorm")  # every segment has these files


class IndexBusy(Exception):
    """Another process holds the index's writer lock."""


class Within(NamedTuple):
    """What a query is limited to by the index's own fields: publication days (date ordinals, both
    included), and any of these folded authors, any of these folded tags, any of these sites."""

    first: int = 1
    last: int = 3_652_059  # date.max
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()


class KeyCounts(NamedTuple):
    """What facets count of a query's matches: folded authors and tags, sites (most first, ties by
    value), and the months ("YYYY-MM") of the dated ones, oldest first; for stats also their words
    and how many deleted articles the same filters select."""

    total: int
    authors: list[tuple[str, int]]
    tags: list[tuple[str, int]]
    sites: list[tuple[str, int]]
    months: list[tuple[str, int]]
    words: int = 0
    deleted: int = 0


def _panic(exc: BaseException) -> bool:
    """A Rust panic inside tantivy (pyo3's PanicException is a BaseException, past every
    ``except Exception``)."""
    return type(exc).__name__ == "PanicException"


def folder_for(db_path: Path) -> Path:
    """Where a store's index lives: ``a.db`` → ``a.db-search`` (like SQLite's ``-wal``)."""
    return db_path.with_name(db_path.name + "-search")


def _schema() -> Any:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("n", stored=False, indexed=True, fast=True)
    sb.add_integer_field("live", stored=False, indexed=True, fast=False)
    sb.add_integer_field("pub", stored=False, indexed=False, fast=True)  # date ordinal; 0: undated
    sb.add_integer_field("month", stored=False, indexed=False, fast=True)  # YYYYMM; 0: undated
    sb.add_integer_field("words", stored=False, indexed=False, fast=True)  # word_count, for stats
    for f in FIELDS:
        sb.add_text_field(f, stored=False, tokenizer_name=ANALYZER)
    for k in KEYS:
        sb.add_text_field(k, stored=False, tokenizer_name="raw", fast=True, index_option="basic")
    return sb.build()


def _check_footer(folder: Path, name: str) -> None:
    """Check one index file against the CRC-32 in its tantivy footer."""
    import struct
    import zlib

    path = folder / name
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            if size < 8:
                raise IndexDamaged(folder, f"{name} is truncated")
            f.seek(size - 8)
            length, magic = struct.unpack("<II", f.read(8))
            if magic != _FOOTER_MAGIC or length > size - 8:
                raise IndexDamaged(folder, f"{name} has no valid footer")
            f.seek(size - 8 - length)
            footer = json.loads(f.read(length))
            f.seek(0)
            crc, left = 0, size - 8 - length
            while left > 0:
                block = f.read(min(left, 1 << 20))
                if not block:
                    break
                crc = zlib.crc32(block, crc)
                left -= len(block)
    except (OSError, ValueError, struct.error) as exc:
        if isinstance(exc, PermissionError):
            raise
        raise IndexDamaged(folder, f"{name} unreadable ({exc})") from None
    if not isinstance(footer, dict) or footer.get("crc") != crc:
        raise IndexDamaged(folder, f"{name} fails its checksum")


def _shadow(folder: Path) -> Path:
    """A writable stand-in for an index on read-only media: tantivy takes a lock file even to read,
    so it opens a temporary folder of links to the index's files (removed at exit)."""
    import atexit
    import shutil
    import tempfile

    shadow = Path(tempfile.mkdtemp(prefix="archive-index-"))
    atexit.register(shutil.rmtree, shadow, True)
    for entry in os.listdir(folder):
        if not entry.startswith(".tantivy-"):  # lock files stay behind
            os.symlink(folder / entry, shadow / entry)
    return shadow


class TextIndex:
    """One open index folder; ``readonly`` never creates or changes it."""

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Reading the index: a panic, or an error of its files, is IndexDamaged (one path for
        every kind of damage). A busy lock is not damage and passes through."""
        try:
            yield
        except IndexBusy:
            raise
        except (OSError, ValueError) as exc:
            if isinstance(exc, PermissionError):
                raise
            raise IndexDamaged(self.folder, str(exc) or type(exc).__name__) from None
        except BaseException as exc:
            if _panic(exc):
                raise IndexDamaged(self.folder, f"tantivy panicked: {exc}") from None
            raise

    def __init__(self, folder: Path, *, readonly: bool) -> None:
        self.folder = folder
        self.readonly = readonly
        if (folder / "meta.json").exists():
            where = folder if not readonly or os.access(folder, os.W_OK) else _shadow(folder)
            with self.guard():
                self.index = tantivy.Index.open(str(where))  # a fifth of creating-or-reusing's cost
                self.schema = self.index.schema
        else:
            if readonly:
                raise FileNotFoundError(str(folder))
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.schema = _schema()
            self.index = tantivy.Index(self.schema, path=str(folder), reuse=True)
        self.index.register_tokenizer(ANALYZER, words_analyzer())
        self.index.config_reader("Manual")
        self._live = tantivy.Query.term_query(self.schema, "live", 1)

    def schema_current(self) -> bool:
        """Whether the index has every field this version indexes (an index of an older format
        may lack one: emptying it would keep its schema, so it is made again instead)."""
        try:
            meta = json.loads((self.folder / "meta.json").read_text())
            have = {str(f["name"]) for f in meta.get("schema", [])}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False
        return {"n", "live", "pub", "month", "words", *FIELDS, *KEYS} <= have

    @staticmethod
    def remove(folder: Path) -> None:
        """Delete an index folder (before a rebuild from the table)."""
        import shutil

        shutil.rmtree(folder, ignore_errors=True)

    # ------------------------------------------------------------ watermark
    def _watermark_doc(self) -> dict[str, Any] | None:
        """The watermark file as written; None when there is none; ValueError when unreadable."""
        try:
            doc = json.loads((self.folder / WATERMARK).read_text())
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ValueError(str(exc)) from None
        if not isinstance(doc, dict):
            raise ValueError("not a watermark")
        return doc

    def watermark(self) -> tuple[str | None, int]:
        """(store id, seq) of the last indexed change; (None, 0) when unknown or of another format."""
        try:
            doc = self._watermark_doc()
        except ValueError:
            return None, 0
        if doc is None or doc.get("format") != FORMAT:
            return None, 0
        return str(doc.get("store")), int(doc.get("seq", 0))

    def distrust(self, store_id: str, last_seq: int) -> str | None:
        """Why this index may not serve the store ``store_id`` whose change log has reached
        ``last_seq`` (None when it may): its watermark must be readable, of this format and that
        store, not ahead of the log (an older copy of the file came back), and no reader may have
        marked it damaged. An index without a watermark never had a commit: it is not trusted
        (an empty index says nothing about a table that has articles)."""
        try:
            doc = self._watermark_doc()
        except ValueError as exc:
            return f"its watermark is unreadable ({exc})"
        if doc is None:
            return "it has no watermark"
        if doc.get("format") != FORMAT or not self.schema_current():
            return "it is of an older format"
        if str(doc.get("store")) != store_id:
            return "it belongs to another store"
        if int(doc.get("seq", 0)) > last_seq:
            return "it is ahead of the table (an older copy of the file came back)"
        if (self.folder / DAMAGED).exists():
            return "a reader found it damaged"
        return None

    def docs_at_watermark(self) -> int | None:
        """How many documents the index held when its watermark was written (None: not recorded)."""
        try:
            doc = self._watermark_doc()
        except ValueError:
            return None
        docs = doc.get("docs") if doc else None
        return int(docs) if isinstance(docs, int) else None

    def set_watermark(self, store_id: str, seq: int, docs: int | None = None) -> None:
        tmp = self.folder / (WATERMARK + ".tmp")
        tmp.write_text(json.dumps({"format": FORMAT, "store": store_id, "seq": seq, "docs": docs}))
        os.replace(tmp, self.folder / WATERMARK)

    def mark_damaged(self, reason: str) -> bool:
        """Leave a marker so that the next writer rebuilds the index (False where the folder
        cannot be written: the writer's own checks find the damage then)."""
        try:
            (self.folder / DAMAGED).write_text(reason + "\n")
            return True
        except OSError:
            return False

    def verify(self, budget: int | None = None) -> None:
        """Raise IndexDamaged unless every segment the index's meta.json lists has its files and
        each file passes the checksum tantivy wrote in its footer. Files verified before (same
        name, size and mtime) are not read again: segment files never change once written.
        ``budget``: read at most that many bytes of files not verified yet (a reader's check)."""
        try:
            meta = json.loads((self.folder / "meta.json").read_text())
            segments = {str(seg["segment_id"]).replace("-", "") for seg in meta.get("segments", [])}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IndexDamaged(self.folder, f"meta.json unreadable ({exc})") from None
        try:
            cache = json.loads((self.folder / VERIFIED).read_text())
            if not isinstance(cache, dict):
                cache = {}
        except (OSError, ValueError):
            cache = {}
        seen: dict[str, set[str]] = {seg: set() for seg in segments}
        checked: dict[str, list[int]] = {}
        with os.scandir(self.folder) as entries:
            files = list(entries)
        for entry in files:
            m = _SEGMENT_FILE.match(entry.name)
            if m is None or m.group(1) not in segments:
                continue  # not a file of a committed segment (garbage collection removes those)
            seen[m.group(1)].add(m.group(2))
            st = entry.stat()
            stamp = [st.st_size, st.st_mtime_ns]
            if cache.get(entry.name) != stamp:
                if budget is not None:
                    if st.st_size > budget:
                        continue
                    budget -= st.st_size
                _check_footer(self.folder, entry.name)
            checked[entry.name] = stamp
        for seg, exts in seen.items():
            missing = [e for e in _CORE if e not in exts]
            if missing:
                raise IndexDamaged(self.folder, f"segment {seg} lacks its .{missing[0]} file")
        if checked != cache and not self.readonly:
            with contextlib.suppress(OSError):
                tmp = self.folder / (VERIFIED + ".tmp")
                tmp.write_text(json.dumps(checked))
                os.replace(tmp, self.folder / VERIFIED)

    def num_docs(self) -> int:
        """Documents in the index (live and deleted articles alike)."""
        with self.guard():
            return int(self.searcher().num_docs)

    # ------------------------------------------------------------ writing
    def writer(self, timeout: float) -> Any:
        """The index's one writer; IndexBusy when another process keeps it past ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.index.writer(WRITER_HEAP, WRITER_THREADS)
            except ValueError as exc:
                if "LockBusy" not in str(exc) and "Lock" not in str(exc):
                    raise  # not another writer: a fault of the folder (permissions, disk)
                if time.monotonic() > deadline:
                    raise IndexBusy("another process is writing it") from None
                time.sleep(0.02)

    @staticmethod
    def document(n: int, live: bool, title: str, authors: str, tags: str, body: str,
                 published: str | None = None, authors_key: str = "[]", tags_key: str = "[]",
                 site: str | None = None, word_count: int = 0) -> Any:
        """An article's document: rowid, live flag, publication date (``YYYY-MM-DD``), texts, and
        what filters, facets and stats read (folded authors and tags as JSON lists, the site's key,
        the words)."""
        import datetime as dt

        day = dt.date.fromisoformat(published) if published else None
        doc = tantivy.Document(n=n, live=int(live), pub=day.toordinal() if day else 0,
                               month=day.year * 100 + day.month if day else 0, words=word_count,
                               title=index_text(title),
                               authors=index_text(authors), tags=index_text(tags), body=index_text(body))
        for field, values in (("author", json.loads(authors_key)), ("tag", json.loads(tags_key)),
                              ("site", [site] if site else [])):
            for v in values:
                if len(v.encode()) <= MAX_KEY:
                    doc.add_text(field, v)
        return doc

    # ------------------------------------------------------------ reading
    def searcher(self) -> Any:
        with self.guard():
            self.index.reload()
            return self.index.searcher()

    def _variants(self, searcher: Any, field: str, word: str) -> list[str]:
        """The indexed words of ``field`` with ``word``'s stem (``word`` itself first)."""
        want = stem(word)
        out = [word]
        for term, _ in searcher.terms_with_prefix(field, stem_head(word, want)):
            if term != word and stem(term) == want:
                out.append(term)
        return out

    def _term(self, searcher: Any, t: Term) -> Any:
        """One query term on every field, boosted by field: a word is any indexed word of its
        stem, a phrase any sequence of those, ``word*`` any word it begins."""
        should = tantivy.Occur.Should
        words = term_words(t)
        per_field: list[tuple[Any, Any]] = []
        for f in FIELDS:
            if not words:
                break
            if t.prefix:
                q = tantivy.Query.regex_query(self.schema, f, re.escape(words[0]) + ".*")
            elif len(words) == 1:
                q = tantivy.Query.boolean_query([(should, tantivy.Query.term_query(self.schema, f, v))
                                                 for v in self._variants(searcher, f, words[0])])
            else:
                options = [self._variants(searcher, f, w) for w in words]
                combos = list(itertools.islice(itertools.product(*options), MAX_PHRASES))
                q = tantivy.Query.boolean_query([
                    (should, tantivy.Query.phrase_query(self.schema, f, list(c))) for c in combos])
            per_field.append((should, tantivy.Query.boost_query(q, BOOSTS[f])))
        return tantivy.Query.boolean_query(per_field) if per_field else tantivy.Query.empty_query()

    def query(self, searcher: Any, q: SearchQuery, restrict: Sequence[int] | Within | None, live_only: bool) -> Any:
        """The tantivy query for ``q``'s positive side (with its exclusions), limited to live
        articles and to ``restrict`` when given (rowids, or what the index's fields allow)."""
        must, should = tantivy.Occur.Must, tantivy.Occur.Should
        clauses: list[tuple[Any, Any]] = [(must, self._term(searcher, t)) for t in q.positive]
        clauses += [(must, tantivy.Query.boolean_query([(should, self._term(searcher, t)) for t in g]))
                    for g in q.any_of]
        clauses += [(tantivy.Occur.MustNot, self._term(searcher, t)) for t in q.negative]
        if not clauses or all(occur == tantivy.Occur.MustNot for occur, _ in clauses):
            clauses.append((must, tantivy.Query.all_query()))  # only exclusions: every article but those
        return self._limited(clauses, restrict, live_only)

    def any_query(self, searcher: Any, terms: Sequence[Term], restrict: Sequence[int] | Within | None,
                  live_only: bool) -> Any:
        """Articles that have any of ``terms`` (the side an exclusion-only query leaves out)."""
        inner = tantivy.Query.boolean_query([(tantivy.Occur.Should, self._term(searcher, t)) for t in terms])
        return self._limited([(tantivy.Occur.Must, inner)], restrict, live_only)

    def every(self, restrict: Sequence[int] | Within | None, live_only: bool) -> Any:
        """Every article (live only, with ``live_only``) within ``restrict``."""
        return self._limited([(tantivy.Occur.Must, tantivy.Query.all_query())], restrict, live_only)

    def _limited(self, clauses: list[tuple[Any, Any]], restrict: Sequence[int] | Within | None,
                 live_only: bool) -> Any:
        if live_only:
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(self._live, 0.0)))
        if isinstance(restrict, Within):
            limits = [tantivy.Query.term_set_query(self.schema, k, list(v))
                      for k, v in zip(KEYS, (restrict.authors, restrict.tags, restrict.sites), strict=True) if v]
            if (restrict.first, restrict.last) != (Within().first, Within().last):
                limits.append(tantivy.Query.range_query(self.schema, "pub", tantivy.FieldType.Integer,
                                                        restrict.first, restrict.last))
            clauses += [(tantivy.Occur.Must, tantivy.Query.const_score_query(q, 0.0)) for q in limits]
        elif restrict is not None:
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(
                tantivy.Query.term_set_query(self.schema, "n", list(restrict)), 0.0)))
        return tantivy.Query.boolean_query(clauses)

    @staticmethod
    def top(searcher: Any, query: Any, limit: int, offset: int = 0,
            count: bool = False) -> tuple[list[tuple[int, float]], int | None]:
        """(rowid, score) of the best ``limit`` hits after ``offset``, best first; with ``count``,
        also how many match (nearly free here: the matches are walked for the ranking anyway)."""
        if limit <= 0:
            return [], (TextIndex.count(searcher, query) if count else None)
        res = searcher.search(query, limit, count=count, offset=offset)
        ns = searcher.fast_field_values("n", [a for _, a in res.hits])
        return [(int(n), float(score)) for (score, _), n in zip(res.hits, ns, strict=True)], res.count

    def by_date(self, searcher: Any, query: Any, limit: int, ascending: bool) -> list[int]:
        """The rowids of at least the first ``limit`` matches in publication-date order (undated
        ones first ascending, last descending, as SQLite sorts NULL), ties at the last date
        included whole: the caller orders these few by (date, id) as the table does."""
        res = searcher.search(query, limit, count=False, order_by_field="pub",
                              order=tantivy.Order.Asc if ascending else tantivy.Order.Desc)
        if not res.hits:
            return []
        ns = [int(n) for n in searcher.fast_field_values("n", [a for _, a in res.hits])]
        if len(ns) < limit:
            return ns
        edge = int(res.hits[-1][0])
        inside = [n for (pub, _), n in zip(res.hits, ns, strict=True) if int(pub) != edge]
        same_day = tantivy.Query.range_query(self.schema, "pub", tantivy.FieldType.Integer, edge, edge)
        tie = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, same_day)])
        return inside + self.rowids(searcher, tie)

    @staticmethod
    def key_counts(searcher: Any, query: Any, limit: int | None, words: bool = False) -> KeyCounts:
        """Facets of ``query``'s matches (and, with ``words``, their words), counted by the index's
        aggregations in one walk of the matches. The engine keeps each segment's first few values
        of a field by count (its counts exact only when ``doc_count_error_upper_bound`` is 0) and
        breaks ties its own way: where either may have decided what is shown, every value with at
        least the count at the cut is counted again, exactly, in a second walk."""
        every = {"size": _EVERY, "segment_size": _EVERY}
        first = every if limit is None else {"size": limit + 1}
        aggs: dict[str, Any] = {k: {"terms": {"field": k, **first}} for k in KEYS}
        aggs.update(month={"terms": {"field": "month", **every}}, n={"value_count": {"field": "n"}})
        if words:
            aggs["words"] = {"sum": {"field": "words"}}
        got = dict(searcher.aggregate(query, aggs))
        again = {}
        for k in KEYS:
            b = got[k]["buckets"]
            if not limit or not b:  # every value counted already, or none asked for
                continue
            tie = len(b) > limit and b[limit - 1]["doc_count"] == b[limit]["doc_count"]
            if tie or got[k].get("doc_count_error_upper_bound"):
                # The counts the engine gave are never more than the true ones: every value that
                # belongs before the cut has at least the count shown there.
                cut = int(b[min(limit, len(b)) - 1]["doc_count"])
                again[k] = {"terms": {"field": k, **every, "min_doc_count": cut}}
        if again:
            got.update(searcher.aggregate(query, again))

        def top(k: str) -> list[tuple[str, int]]:
            counted = sorted(((b["key"], int(b["doc_count"])) for b in got[k]["buckets"]),
                             key=lambda kc: (-kc[1], kc[0]))
            return counted if limit is None else counted[:limit]

        months = sorted((f"{int(b['key']) // 100:04d}-{int(b['key']) % 100:02d}", int(b["doc_count"]))
                        for b in got["month"]["buckets"] if int(b["key"]))
        return KeyCounts(int(got["n"]["value"] or 0), top("author"), top("tag"), top("site"), months,
                         int(got["words"]["value"] or 0) if words else 0)

    @staticmethod
    def count(searcher: Any, query: Any) -> int:
        return int(searcher.search(query, 1, count=True).count or 0)

    @staticmethod
    def rowids(searcher: Any, query: Any) -> list[int]:
        """Every matching rowid, ascending."""
        n = max(1, int(searcher.num_docs))
        res = searcher.search(query, n, count=False, order_by_field="n", order=tantivy.Order.Asc)
        return [int(k) for k, _ in res.hits]

    def live_count(self, searcher: Any) -> int:
        return self.count(searcher, tantivy.Query.const_score_query(self._live, 0.0))

    def every_rowid(self) -> Iterator[tuple[int, bool]]:
        """(rowid, live) of every document in the index (for consistency checks)."""
        s = self.searcher()
        live = set(self.rowids(s, tantivy.Query.const_score_query(self._live, 0.0)))
        for n in self.rowids(s, tantivy.Query.all_query()):
            yield n, n in live
