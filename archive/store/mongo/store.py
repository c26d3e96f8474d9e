"""The MongoDB store: opening, indexes, writes and reads (search and the daemon lock are mixins)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pymongo
from pymongo import ASCENDING, DESCENDING, InsertOne, ReadPreference, ReplaceOne, UpdateOne, WriteConcern
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

from archive.config import redact
from archive.errors import StoreMissing, StoreUnavailable
from archive.models import Article, Failure, Source, utcnow
from archive.store.base import (
    Filters,
    KnownFile,
    Sort,
    Stats,
    Store,
    UpsertItem,
    UpsertResult,
    fold_name,
    next_revision,
)
from archive.store.mongo.conn import classify, client_options, database_name, hosts_of
from archive.store.mongo.docs import _SORTS, TITLE_ORDER, _int64, _known, from_mongo, source_doc, to_mongo
from archive.store.mongo.lock import LockMixin
from archive.store.mongo.search import TEXT_INDEX, SearchMixin

SCHEMA_VERSION = 3

class MongoStore(SearchMixin, LockMixin, Store):
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

