"""The MongoDB store (pymongo): for real deployments, replica sets, sharding, Atlas."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import pymongo
from pymongo import ASCENDING, DESCENDING, InsertOne, ReadPreference, ReplaceOne, UpdateOne, WriteConcern
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
)

from archive.config import redact
from archive.errors import StoreError, StoreMissing, StoreUnavailable
from archive.models import Article, Failure, Source, iso, parse_iso, parse_iso_required, utcnow
from archive.store.base import (
    Filters,
    Hit,
    KnownFile,
    SearchQuery,
    Sort,
    Stats,
    Store,
    Term,
    UpsertItem,
    UpsertResult,
    accent_insensitive_pattern,
    fold,
    fold_name,
    make_snippet,
    matches,
    next_revision,
    parse_query,
)

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
SCHEMA_VERSION = 3
TITLE_ORDER = {"locale": "en", "strength": 2}
OPERATION_TIMEOUT_MS = 60_000
# Server error codes that say "try again": the store's state, never the document's.
TRANSIENT_CODES = frozenset({
    6, 7, 43, 50, 63, 64, 89, 91, 112, 133, 150, 189, 251, 262, 9001, 10107, 11600, 11602, 13388, 13435,
    13436, 8000,  # 8000: Atlas, e.g. over the space quota
})
RETRY_LABELS = ("RetryableWriteError", "TransientTransactionError", "ResumableChangeStreamError")


def client_options(uri: str, timeout: float) -> dict[str, Any]:
    """archive's client defaults, for the options the URI does not set itself."""
    from pymongo.uri_parser import parse_uri

    try:
        given = {k.lower() for k in parse_uri(uri, warn=True)["options"]}
    except Exception:  # noqa: BLE001 - pymongo reports a bad URI better itself (and an SRV one needs DNS)
        given = set()
    ms = int(timeout * 1000)
    opts: dict[str, Any] = {"tz_aware": True, "appname": "archive"}
    for key, value in (("serverSelectionTimeoutMS", ms), ("connectTimeoutMS", ms),
                       ("socketTimeoutMS", OPERATION_TIMEOUT_MS)):
        if key.lower() not in given:
            opts[key] = value
    return opts


def classify(exc: BaseException, where: str) -> StoreError:
    """A driver error as archive's: StoreUnavailable for what retrying can cure (no server, an
    election, a write concern not met, a time limit, a retryable label, an SRV look-up that
    failed), StoreError (with one line) for what it cannot."""
    from pymongo.errors import ConfigurationError, WriteConcernError

    if isinstance(exc, ConnectionFailure):
        return StoreUnavailable(where, connection_reason(exc))
    if isinstance(exc, ConfigurationError):
        text = str(exc)
        if any(w in text for w in ("DNS", "resolution", "resolve", "timed out", "SRV")):
            return StoreUnavailable(where, f"cannot look the servers up: {text.splitlines()[0][:200]}")
        return StoreError(f"MongoDB configuration: {redact(text.splitlines()[0][:300])}")
    if isinstance(exc, WriteConcernError):
        return StoreUnavailable(where, f"the write concern was not met: {str(exc)[:200]}")
    if isinstance(exc, BulkWriteError):
        details = exc.details or {}
        if details.get("writeConcernErrors"):
            return StoreUnavailable(where, "the write concern was not met")
        errors = details.get("writeErrors") or []
        if errors and all(e.get("code") in TRANSIENT_CODES for e in errors):
            return StoreUnavailable(where, f"server busy: {errors[0].get('errmsg', '')[:200]}")
        first = errors[0] if errors else {}
        return StoreError(f"MongoDB at {where} refused {len(errors)} documents (first: code "
                          f"{first.get('code')}, {str(first.get('errmsg', ''))[:200]})")
    if isinstance(exc, OperationFailure):
        code = exc.code
        if code in TRANSIENT_CODES or any(exc.has_error_label(lab) for lab in RETRY_LABELS):
            return StoreUnavailable(where, f"{_first_line(exc)} (code {code})")
        hint = ""
        if code == 18:
            hint = "; if the user was created in the admin database, add ?authSource=admin to the URI"
        elif code == 13:
            hint = "; the user lacks a privilege (read commands need the read role, writers readWrite)"
        return StoreError(f"MongoDB at {where} refused: {_first_line(exc)} (code {code}){hint}")
    return StoreError(f"MongoDB at {where}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    return redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:300]
_SORTS: dict[str, list[tuple[str, int]]] = {
    "-published": [("published", DESCENDING), ("_id", DESCENDING)],
    "published": [("published", ASCENDING), ("_id", ASCENDING)],
    "-updated": [("updated_at", DESCENDING), ("_id", DESCENDING)],
    "updated": [("updated_at", ASCENDING), ("_id", ASCENDING)],
    "-ingested": [("ingested_at", DESCENDING), ("_id", DESCENDING)],
    "ingested": [("ingested_at", ASCENDING), ("_id", ASCENDING)],
    "title": [("title", ASCENDING), ("_id", ASCENDING)],
    "path": [("source.path", ASCENDING)],
}


def database_name(uri: str) -> str:
    """The database named by the URI's path, ``archive`` by default."""
    path = urlsplit(uri).path.lstrip("/")
    return path.split("?")[0] or "archive"


def hosts_of(uri: str) -> str:
    """The host part of a URI without credentials, for messages."""
    netloc = urlsplit(uri).netloc
    return netloc.rsplit("@", 1)[-1] or "localhost"


_CONFIGURED = re.compile(r"\s*\(configured timeouts:[^)]*\)")
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")


def connection_reason(exc: Exception) -> str:
    """What went wrong reaching the server, in plain words: no driver internals (timeouts
    configured, topology description), no host repeated (the message names it already)."""
    text = redact(str(exc)).split(", Timeout:")[0]
    text = _CONFIGURED.sub("", text)
    reasons: list[str] = []
    for part in text.split(","):
        part = part.strip()
        # "host:port: reason" -> "reason"
        host, sep, rest = part.partition(": ")
        if sep and re.fullmatch(r"[\w.\-\[\]:]+", host):
            part = rest
        part = _ERRNO.sub("", part).strip()
        if part and part not in reasons:
            reasons.append(part)
    reason = "; ".join(reasons) or type(exc).__name__
    return reason[:1].lower() + reason[1:]


def _int64(v: int | None) -> int | None:
    """An unsigned 64-bit number (inode, device) as BSON's signed int64, bits kept."""
    return v - (1 << 64) if v is not None and v >= (1 << 63) else v


def _uint64(v: int | None) -> int | None:
    return v + (1 << 64) if v is not None and v < 0 else v


def source_doc(src: Source) -> dict[str, Any]:
    d = src.to_dict()
    d["inode"], d["device"] = _int64(d.get("inode")), _int64(d.get("device"))
    return d


def to_mongo(a: Article) -> dict[str, Any]:
    """The BSON form of an article."""
    return {
        "_id": a.id,
        "title": a.title,
        "authors": list(a.authors),
        "authors_key": [fold_name(x) for x in a.authors],
        "published": a.published.isoformat() if a.published else None,
        "body": a.body,
        "word_count": a.word_count,
        "source": source_doc(a.source),
        "revision": a.revision,
        "ingested_at": a.ingested_at,
        "updated_at": a.updated_at,
        "deleted_at": a.deleted_at,
        "url": a.url,
        "site": a.site,
        "tags": list(a.tags),
        "tags_key": [fold_name(t) for t in a.tags],
        "format": a.format,
        "description": a.description,
    }


def from_mongo(d: dict[str, Any]) -> Article:
    """An article from its BSON form (trusted: no validation)."""
    pub = d.get("published")
    return Article(
        id=d["_id"],
        title=d["title"],
        authors=list(d.get("authors") or []),
        published=dt.date.fromisoformat(pub) if pub else None,
        body=d["body"],
        word_count=d.get("word_count", 0),
        source=Source(**{**d["source"], "inode": _uint64(d["source"].get("inode")),
                                         "device": _uint64(d["source"].get("device"))}),
        revision=d.get("revision", 1),
        ingested_at=parse_iso_required(d.get("ingested_at")),
        updated_at=parse_iso_required(d.get("updated_at")),
        deleted_at=parse_iso(d.get("deleted_at")),
        # Documents written before these fields existed read as plain text articles.
        url=d.get("url"),
        site=d.get("site"),
        tags=list(d.get("tags") or []),
        format=d.get("format") or "text",
        description=d.get("description"),
    )


def _known(d: dict[str, Any]) -> KnownFile:
    s = d["source"]
    return KnownFile(d["_id"], s["path"], s["sha256"], s["size"], s["mtime"], _uint64(s.get("inode")),
                     _uint64(s.get("device")), d.get("deleted_at") is not None)


class MongoStore(Store):
    """MongoDB through pymongo. ``client`` may be injected (mongomock in tests)."""

    kind = "mongodb"

    def __init__(self, uri: str, *, timeout: float = 5.0, client: Any = None, create: bool = True) -> None:
        """Connect. Options in the URI win over archive's defaults (a 5 s server selection, a
        60 s limit per operation). ``create=False`` (read commands) creates nothing: no indexes
        (a user with the ``read`` role can search), and a database without articles is missing."""
        self.display = redact(uri)
        self._where = hosts_of(uri)
        self._text_ok: bool | None = None
        with self._guard():
            self.client = client or pymongo.MongoClient(uri, **client_options(uri, timeout))
        try:
            with self._guard():
                # Read-then-write paths read from the primary and write with a majority.
                db = self.client.get_database(database_name(uri), read_preference=ReadPreference.PRIMARY,
                                              write_concern=WriteConcern(w="majority"))
                self.db = db
                self.articles = db["articles"]
                self.revs = db["revisions"]
                self.fails = db["failures"]
                self.state = db["daemons"]
                self.meta = db["archive_meta"]
                if create:
                    self._ensure_indexes()
                elif "articles" not in db.list_collection_names():
                    raise StoreMissing(self.display)
        except BaseException:
            if client is None:  # ours to close: no socket or monitor thread left behind
                self.client.close()
            raise

    @contextlib.contextmanager
    def _guard(self, passthrough: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
        """Driver errors as archive's (see classify); ``passthrough`` ones are left to the caller."""
        try:
            yield
        except passthrough:
            raise
        except PyMongoError as exc:
            raise classify(exc, self._where) from None

    def _ensure_indexes(self) -> None:
        self.articles.create_index("source.path", unique=True, name="source_path")
        # Every sort archive asks for has its index, the _id tie-breaker included (no in-memory sorts).
        self.articles.create_index([("published", DESCENDING), ("_id", DESCENDING)], name="published_id")
        self.articles.create_index([("ingested_at", DESCENDING), ("_id", DESCENDING)], name="ingested_id")
        self.articles.create_index([("title", ASCENDING), ("_id", ASCENDING)], name="title_id", collation=TITLE_ORDER)
        self.articles.create_index("authors_key", name="authors_key")
        self.articles.create_index("tags_key", name="tags_key")
        self.articles.create_index("site", name="site", sparse=True)
        self.articles.create_index("source.sha256", name="sha256")
        self.articles.create_index([("source.device", 1), ("source.inode", 1)], name="inode")
        self.articles.create_index([("updated_at", DESCENDING), ("_id", DESCENDING)], name="updated_id")
        self.meta.update_one({"_id": "schema"}, {"$max": {"version": SCHEMA_VERSION}}, upsert=True)
        self.revs.create_index([("article_id", 1), ("revision", 1)], unique=True, name="article_revision")
        with contextlib.suppress(OperationFailure, NotImplementedError, TypeError):
            # A collection has one text index: one made before tags were searched is replaced.
            old = self.articles.index_information().get(TEXT_INDEX) or {}
            if old and "tags" not in (old.get("weights") or {}):
                self.articles.drop_index(TEXT_INDEX)
            self.articles.create_index(
                [("title", "text"), ("authors", "text"), ("tags", "text"), ("body", "text")],
                name=TEXT_INDEX,
                weights={"title": 10, "authors": 5, "tags": 3, "body": 1},
                default_language="english",
                # A field we never write: a document field named "language" can't break inserts.
                language_override="_archive_text_language",
            )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    # ------------------------------------------------------------ writes
    def upsert_many(self, items: Sequence[UpsertItem]) -> list[UpsertResult]:
        """New files are inserted in one unordered bulk; changes are written on condition that
        the article is still at the revision and sha256 read (another writer, a second daemon or
        ``archive ingest``, may have written it since): when nothing matched, it is read again
        and the change re-applied, so no revision's content is lost."""
        results: dict[int, UpsertResult] = {}
        todo = list(range(len(items)))
        for _ in range(5):
            if not todo:
                break
            todo = self._upsert_round(items, todo, results)
        if todo:
            raise StoreUnavailable(self._where, f"{len(todo)} documents kept changing under concurrent writers")
        with self._guard():
            self.fails.delete_many({"_id": {"$in": [i.source.path for i in items]}})
        return [results[i] for i in range(len(items))]

    def _upsert_round(self, items: Sequence[UpsertItem], todo: list[int],
                      results: dict[int, UpsertResult]) -> list[int]:
        """One pass over ``todo``; the indexes to try again (a race lost)."""
        now = utcnow()
        again: list[int] = []
        with self._guard():
            paths = [items[i].source.path for i in todo]
            by_path = {d["source"]["path"]: d for d in self.articles.find({"source.path": {"$in": paths}})}
            ids = [items[i].move_from for i in todo if items[i].move_from and items[i].source.path not in by_path]
            by_id = {d["_id"]: d for d in self.articles.find({"_id": {"$in": ids}})} if ids else {}
            inserts: list[tuple[int, Any]] = []
            seen: set[str] = set()
            for i in todo:
                item = items[i]
                src = item.source
                if src.path in seen:  # the same path twice in one batch: the second after the first
                    again.append(i)
                    continue
                seen.add(src.path)
                old_doc = by_path.get(src.path) or (by_id.get(item.move_from) if item.move_from else None)
                if old_doc is None:
                    art = Article.from_parsed(item.parsed, src)
                    inserts.append((i, InsertOne(to_mongo(art))))
                    results[i] = UpsertResult(src.path, art.id, "new", 1)
                    continue
                old = from_mongo(old_doc)
                guard = {"_id": old.id, "revision": old.revision, "source.sha256": old.source.sha256,
                         "source.path": old.source.path}
                try:
                    result = self._write_change(old, item, guard, now)
                except DuplicateKeyError:  # the path was taken meanwhile: read it again
                    result = None
                if result is not None:
                    results[i] = result
                else:
                    again.append(i)  # another writer got there first: read it again
            lost = self._bulk([op for _, op in inserts])
            for k in lost:  # a concurrent insert of the same path: upsert it again, as an update
                i = inserts[k][0]
                results.pop(i, None)
                again.append(i)
        return sorted(again)

    def _write_change(self, old: Article, item: UpsertItem, guard: dict[str, Any], now: Any) -> UpsertResult | None:
        """Write one known file's new state if the article is still as read (None: it was not)."""
        src = item.source
        if old.source.sha256 == src.sha256:
            outcome = "moved" if old.source.path != src.path else ("undeleted" if old.deleted_at else "unchanged")
            upd: dict[str, Any] = {"source": source_doc(src), "deleted_at": None}
            if outcome != "unchanged":
                upd["updated_at"] = now
            res = self.articles.update_one(guard, {"$set": upd})
            return UpsertResult(src.path, old.id, outcome, old.revision) if res.matched_count else None  # type: ignore[arg-type]
        new = next_revision(old, item.parsed, src, now)
        self.revs.replace_one({"_id": f"{old.id}:{old.revision}"}, self._rev_doc(old), upsert=True)
        res = self.articles.replace_one(guard, to_mongo(new))
        return UpsertResult(src.path, old.id, "updated", new.revision) if res.matched_count else None

    def _bulk(self, ops: list[Any]) -> set[int]:
        """Run inserts unordered; the indexes refused with a duplicate key (a race with another
        writer). Every other refusal, write concern errors included, raises."""
        if not ops:
            return set()
        try:
            self.articles.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            details = exc.details or {}
            errors = details.get("writeErrors", [])
            if details.get("writeConcernErrors") or any(e.get("code") != 11000 for e in errors):
                raise classify(exc, self._where) from None
            return {e["index"] for e in errors}
        return set()

    @staticmethod
    def _rev_doc(a: Article) -> dict[str, Any]:
        d = to_mongo(a)
        d["article_id"] = d.pop("_id")
        d["_id"] = f"{a.id}:{a.revision}"
        return d

    def touch_many(self, files: Sequence[Source]) -> None:
        if not files:
            return
        with self._guard():
            self.articles.bulk_write(
                [UpdateOne({"source.path": f.path, "source.sha256": f.sha256}, {"$set": {"source": source_doc(f)}})
                 for f in files],
                ordered=False,
            )

    def mark_deleted(self, paths: Iterable[str]) -> int:
        paths = list(paths)
        if not paths:
            return 0
        now = utcnow()
        with self._guard():
            res = self.articles.update_many(
                {"source.path": {"$in": paths}, "deleted_at": None},
                {"$set": {"deleted_at": now, "updated_at": now}},
            )
            self.fails.delete_many({"_id": {"$in": paths}})
        return int(res.modified_count)

    def record_failures(self, failures: Sequence[Failure]) -> None:
        if not failures:
            return
        with self._guard():
            self.fails.bulk_write(
                [ReplaceOne({"_id": f.path}, {"_id": f.path, **f.to_dict()}, upsert=True) for f in failures],
                ordered=False,
            )

    def clear_failures(self, paths: Iterable[str]) -> None:
        paths = list(paths)
        if paths:
            with self._guard():
                self.fails.delete_many({"_id": {"$in": paths}})

    def put_articles(self, articles: Sequence[Article], revisions: Sequence[Article] = ()) -> dict[str, int]:
        counts = {"imported": 0, "updated": 0, "unchanged": 0, "conflict": 0}
        with self._guard():
            existing = {d["_id"]: d for d in self.articles.find({"_id": {"$in": [a.id for a in articles]}})}
            holders = {
                d["source"]["path"]: d["_id"]
                for d in self.articles.find({"source.path": {"$in": [a.source.path for a in articles]}}, {"source": 1})
            }
            ops: list[Any] = []
            kinds: list[str] = []
            for a in articles:
                doc = to_mongo(a)
                if a.id in existing and from_mongo(existing[a.id]).to_doc() == a.to_doc():
                    counts["unchanged"] += 1
                    continue
                if holders.get(a.source.path, a.id) != a.id:
                    counts["conflict"] += 1  # another document owns that file: never overwrite it
                    continue
                holders[a.source.path] = a.id  # a second document with this path in the batch conflicts
                kinds.append("updated" if a.id in existing else "imported")
                ops.append(ReplaceOne({"_id": a.id}, doc, upsert=True))
            refused = self._bulk(ops)
            for k, kind in enumerate(kinds):
                counts["conflict" if k in refused else kind] += 1
            if revisions:
                self.revs.bulk_write(
                    [ReplaceOne({"_id": f"{r.id}:{r.revision}"}, self._rev_doc(r), upsert=True) for r in revisions],
                    ordered=False,
                )
        return counts

    # ------------------------------------------------------------ reads
    def _iter(self, cursor: Any, conv: Any) -> Iterator[Any]:
        with self._guard():
            for d in cursor:
                yield conv(d)

    def _stream(self, open_cursor: Any, conv: Any) -> Iterator[Any]:
        """Every document of a long read (an export, a migration, an unlimited list) even when the
        reader pauses past the server's 10-minute cursor idle timeout: a cursor the server has
        dropped is opened again at the position reached (the sort is total: ``_id`` breaks ties)."""
        from pymongo.errors import CursorNotFound

        done = 0
        for _ in range(100):
            try:
                with self._guard((CursorNotFound,)):
                    for d in open_cursor(done):
                        yield conv(d)
                        done += 1
                return
            except CursorNotFound:
                continue
        raise StoreUnavailable(self._where, "the server kept dropping the cursor")

    def known_files(self, prefix: str | None = None) -> Iterator[KnownFile]:
        flt: dict[str, Any] = {}
        if prefix:
            flt["source.path"] = {"$regex": "^" + re.escape(prefix.rstrip("/") + "/")}
        proj = {"source": 1, "deleted_at": 1}
        yield from self._iter(self.articles.find(flt, proj), _known)

    def move_candidates(self, device: int, inode: int, sha256: str) -> list[KnownFile]:
        flt = {"$or": [{"source.device": _int64(device), "source.inode": _int64(inode)}, {"source.sha256": sha256}]}
        return list(self._iter(self.articles.find(flt, {"source": 1, "deleted_at": 1}), _known))

    def get(self, id: str) -> Article | None:
        with self._guard():
            d = self.articles.find_one({"_id": id})
        return from_mongo(d) if d else None

    def get_by_path(self, path: str) -> Article | None:
        with self._guard():
            d = self.articles.find_one({"source.path": path})
        return from_mongo(d) if d else None

    def ids_with_prefix(self, prefix: str, limit: int = 20) -> list[tuple[str, str]]:
        flt = {"_id": {"$gte": prefix, "$lt": prefix + "\uffff"}}
        with self._guard():
            return [(d["_id"], d["title"]) for d in self.articles.find(flt, {"title": 1}).sort("_id", 1).limit(limit)]

    @staticmethod
    def _filter(f: Filters) -> dict[str, Any]:
        q: dict[str, Any] = {}
        if not f.include_deleted:
            q["deleted_at"] = None
        rng: dict[str, str] = {}
        if f.since:
            rng["$gte"] = f.since.isoformat()
        if f.until:
            rng["$lte"] = f.until.isoformat()
        if rng:
            q["published"] = rng  # YYYY-MM-DD strings compare like dates
        if f.authors:
            q["authors_key"] = {"$in": [str(a) for a in f.authors_folded]}
        if f.tags:
            q["tags_key"] = {"$in": [str(t) for t in f.tags_folded]}
        if f.sites:
            q["site"] = {"$in": [str(x) for x in f.sites]}
        if f.path_prefix:
            q["source.path"] = {"$regex": "^" + re.escape(f.path_prefix.rstrip("/") + "/")}
        if f.after is not None:
            pub, id0 = f.after
            after: dict[str, Any]
            if f.after_ascending:  # null first, then dates up (BSON orders null before strings)
                if pub is None:
                    after = {"$or": [{"published": None, "_id": {"$gt": id0}}, {"published": {"$ne": None}}]}
                else:
                    after = {"$or": [{"published": {"$gt": pub}}, {"published": pub, "_id": {"$gt": id0}}]}
            else:
                after = ({"published": None, "_id": {"$lt": id0}} if pub is None else
                         {"$or": [{"published": {"$lt": pub}}, {"published": pub, "_id": {"$lt": id0}},
                                  {"published": None}]})
            q = {"$and": [q, after]} if q else after
        return q

    def query(self, filters: Filters, sort: Sort = "-published", limit: int | None = None) -> Iterator[Article]:
        extra: dict[str, Any] = {"allow_disk_use": True}  # an unlimited sort may pass 100 MB (before 6.0)
        if sort == "title":
            extra["collation"] = TITLE_ORDER  # case-insensitive, as SQLite's NOCASE
        if limit is not None and limit <= 0:
            return

        def open_cursor(skip: int) -> Any:
            cur = self.articles.find(self._filter(filters), **extra).sort(_SORTS[sort])
            if skip:
                cur = cur.skip(skip)
            return cur.limit(limit - skip) if limit is not None else cur

        yield from self._stream(open_cursor, from_mongo)

    def count(self, filters: Filters) -> int:
        with self._guard():
            return int(self.articles.count_documents(self._filter(filters)))

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
        if words and not prefix and self._text_ok is not False and not all(fold(w) in STOP_WORDS for w in words):
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
            parts = [accent_insensitive_pattern(w) for w in t.words]
            body = (NON_WORD + "+").join(parts)
            return f"(?<!{WORD_CHAR})" + body + ("" if t.prefix else f"(?!{WORD_CHAR})")

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

    def revisions(self, id: str) -> list[Article]:
        with self._guard():
            docs = list(self.revs.find({"article_id": id}).sort("revision", 1))
        return [from_mongo({**d, "_id": d["article_id"]}) for d in docs]

    def all_revisions(self) -> Iterator[Article]:
        yield from self._stream(
            lambda skip: self.revs.find({}).sort([("article_id", 1), ("revision", 1)]).skip(skip),
            lambda d: from_mongo({**d, "_id": d["article_id"]}))

    def failures(self) -> Iterator[Failure]:
        cur = self.fails.find({}).sort([("failed_at", -1), ("_id", 1)])
        yield from self._iter(cur, lambda d: Failure(**{k: v for k, v in d.items() if k != "_id"}))

    def stats(self, filters: Filters) -> Stats:
        live = self._filter(Filters(**{**filters.__dict__, "include_deleted": False}))
        deleted = {**self._filter(Filters(**{**filters.__dict__, "include_deleted": True})),
                   "deleted_at": {"$ne": None}}
        s = Stats()
        with self._guard():
            s.articles = int(self.articles.count_documents(live))
            s.deleted = int(self.articles.count_documents(deleted))
            s.failures = int(self.fails.count_documents({}))
            s.revisions = int(self.revs.count_documents({}))
            total = {"$group": {"_id": None, "w": {"$sum": "$word_count"}}}
            words = list(self.articles.aggregate([{"$match": live}, total]))
            s.words = int(words[0]["w"]) if words else 0
            per_author = self.articles.aggregate([
                {"$match": live}, {"$unwind": "$authors"},
                {"$group": {"_id": {"$toLower": "$authors"}, "name": {"$first": "$authors"}, "n": {"$sum": 1}}},
            ])
            merged: dict[str, list[Any]] = {}
            for d in per_author:
                key = fold_name(d["name"])
                merged.setdefault(key, [d["name"], 0])[1] += d["n"]
            s.authors = sorted(((v[0], int(v[1])) for v in merged.values()), key=lambda x: (-x[1], fold_name(x[0])))
            years: dict[str, int] = {}
            for d in self.articles.find(live, {"published": 1}):
                y = (d.get("published") or "")[:4] or "unknown"
                years[y] = years.get(y, 0) + 1
            s.years = sorted(years.items())
            per_tag = self.articles.aggregate([
                {"$match": live}, {"$unwind": "$tags"},
                {"$group": {"_id": {"$toLower": "$tags"}, "name": {"$first": "$tags"}, "n": {"$sum": 1}}},
            ])
            tags: dict[str, list[Any]] = {}
            for d in per_tag:
                tags.setdefault(fold_name(d["name"]), [d["name"], 0])[1] += d["n"]
            s.tags = sorted(((v[0], int(v[1])) for v in tags.values()), key=lambda x: (-x[1], fold_name(x[0])))
            per_site = self.articles.aggregate([
                {"$match": {**live, "site": {"$ne": None}}}, {"$group": {"_id": "$site", "n": {"$sum": 1}}},
            ])
            s.sites = sorted(((d["_id"], int(d["n"])) for d in per_site), key=lambda x: (-x[1], x[0]))
        return s

    def duplicates(self, include_deleted: bool = False) -> list[list[Article]]:
        match = {} if include_deleted else {"deleted_at": None}
        with self._guard():
            groups = list(self.articles.aggregate([
                {"$match": match},
                {"$group": {"_id": "$source.sha256", "n": {"$sum": 1}}},
                {"$match": {"n": {"$gt": 1}}},
                {"$sort": {"_id": 1}},
            ]))
            out = []
            for g in groups:
                docs = self.articles.find({**match, "source.sha256": g["_id"]}).sort("source.path", 1)
                out.append([from_mongo(d) for d in docs])
        return out

    # ------------------------------------------------------------ daemon
    def server_now(self) -> dt.datetime:
        """The server's clock (``hello``'s localTime): lock ages are measured on one clock, so a
        daemon whose machine runs fast or slow neither takes a live lock nor keeps a dead one."""
        try:
            with self._guard():
                now = self.db.command("hello").get("localTime")
        except (StoreError, NotImplementedError):  # mongomock has no hello: its clock is ours
            now = None
        if not isinstance(now, dt.datetime):
            return utcnow()
        return now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)

    def _on_our_clock(self, old: dict[str, Any]) -> dict[str, Any]:
        """A lock record whose heartbeat (stamped with the server's time) is moved onto this
        machine's clock, so that ``can_take``'s age is the age the server sees."""
        beat = old.get("beat_at")
        if not isinstance(beat, dt.datetime):
            return old
        beat = beat if beat.tzinfo else beat.replace(tzinfo=dt.timezone.utc)
        age = self.server_now() - beat
        return {**old, "heartbeat_at": iso(utcnow() - age)}

    def acquire_lock(self, key: str, holder: dict[str, Any], can_take: Any) -> dict[str, Any] | None:
        stamp = {"$currentDate": {"beat_at": True}}  # the server's time, a BSON date (a TTL index can use it)
        with self._guard():
            for _ in range(5):
                old = self.state.find_one({"_id": key})
                if old is None:
                    try:
                        self.state.insert_one({"_id": key, **holder})
                        self.state.update_one({"_id": key, "token": holder["token"]}, stamp)
                        return None
                    except DuplicateKeyError:
                        continue
                old.pop("_id", None)
                if not old.get("stopped_at") and not can_take(self._on_our_clock(old)):
                    return {k: v for k, v in old.items() if k != "beat_at"}
                res = self.state.replace_one({"_id": key, "token": old["token"]}, {"_id": key, **holder})
                if res.matched_count:
                    self.state.update_one({"_id": key, "token": holder["token"]}, stamp)
                    return None
        raise StoreError(f"could not take the daemon lock {key}: too much contention")

    def heartbeat(self, key: str, token: str, data: dict[str, Any]) -> bool:
        with self._guard():
            res = self.state.update_one({"_id": key, "token": token},
                                        {"$set": data, "$currentDate": {"beat_at": True}})
        return bool(res.matched_count)

    def release_lock(self, key: str, token: str, data: dict[str, Any]) -> None:
        self.heartbeat(key, token, data)

    def daemons(self) -> list[dict[str, Any]]:
        with self._guard():
            docs = list(self.state.find({}).sort("_id", 1))
        return [{k: v for k, v in self._on_our_clock(d).items() if k not in ("_id", "beat_at")} for d in docs]


__all__ = ["MongoStore", "PyMongoError"]
