"""The MongoDB store: opening, indexes, upgrades and reads; writes (MongoWrites), search
(MongoSearch), the daemon lock (DaemonLocks) and the story reads (StoryReads) are collaborators it owns."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import pymongo
from bson.errors import InvalidDocument
from pymongo import ASCENDING, DESCENDING, ReadPreference, WriteConcern
from pymongo.errors import CollectionInvalid, OperationFailure, PyMongoError

from archive.errors import StoreError, StoreMissing, StoreOutdated, StoreUnavailable
from archive.models import Article, Failure, Source, plain_tag, utcnow
from archive.redaction import redact
from archive.search.query import parse_query
from archive.store import records
from archive.store.base import Store
from archive.store.mongo.claims import PathClaims
from archive.store.mongo.conn import OPERATION_TIMEOUT_MS, classify, client_options, database_name, hosts_of
from archive.store.mongo.docs import _SORTS, TITLE_ORDER, _int64, _known, after_keys, from_mongo
from archive.store.mongo.lock import DaemonLocks
from archive.store.mongo.search import MongoSearch, condition, exact
from archive.store.mongo.stories import StoryReads, backfill_sketches
from archive.store.mongo.writes import MongoWrites
from archive.store.records import (
    Facets,
    Filters,
    KnownFile,
    Sort,
    Stats,
    UpsertItem,
    UpsertResult,
    fold_name,
    sorted_counts,
    years_of,
)

# 4: paths claimed in their own collection (articles can be sharded); 5: stories; 6: search by the
# embedded store's analyzer (each article's terms), not $text
_REVISION_ORDER = [("article_id", ASCENDING), ("revision", ASCENDING)]
UPGRADE_BATCH = 500  # articles an upgrade rewrites per bulk write
SCHEMA_VERSION = 10  # 7: search arrays made by the one analyzer (ß → ss, Œ → oe, ﬁ → fi, as SQLite);
# 8: tag keys without a hashtag's '#' (as SQLite's schema 7); 9: body term frequencies for BM25; 10: site keys
TEXT_INDEX = "articles_text"  # the $text index of stores before 6: dropped

class MongoStore(Store):
    """MongoDB through pymongo. ``client`` may be injected (mongomock in tests)."""

    kind = "mongodb"

    def __init__(self, uri: str, *, timeout: float = 5.0, client: Any = None, create: bool = True,
                 upgrade: bool = False, progress: Callable[[int], None] | None = None) -> None:
        """Connect. Options in the URI win over archive's defaults (a 5 s server selection, a
        60 s limit per operation). ``create=False`` (read commands) creates nothing: no indexes
        (a user with the ``read`` role can search), and a database without articles is missing.
        A store an older archive wrote is refused (StoreOutdated) unless ``upgrade``: then it is
        upgraded here, step by step, ``progress`` told of each batch of articles done."""
        self.display = redact(uri)
        self._where = hosts_of(uri)
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
                self.paths = db["paths"]
                self.bands = db["story_bands"]
                self.claims = PathClaims(self.paths, self.articles, self.server_now)
                self.locks = DaemonLocks(self.state, lambda: self.server_now(), self._guard)
                self.story_reads = StoryReads(self.articles, self._filter)
                self.searcher = MongoSearch(self.articles, self._filter, self._guard, self._bounded)
                self.writes = MongoWrites(self.client, db, self.claims, self._where, self._guard, False)
                self.upgraded_from: int | None = None  # the schema version an upgrade found
                if create:
                    self.transactions = self._has_transactions()
                    self._ensure_indexes(upgrade, progress)
                elif "articles" not in db.list_collection_names():
                    raise StoreMissing(self.display)
                else:
                    self._check_schema()
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
        except InvalidDocument as exc:  # DocumentTooLarge: that document's error, never the batch's end
            raise StoreError(f"MongoDB at {self._where} cannot store a document: {str(exc)[:200]}") from None

    @contextlib.contextmanager
    def _bounded(self) -> Iterator[None]:
        """A query a person waits for (search, counts, facets, stats, duplicates): every operation
        in it carries the time left of OPERATION_TIMEOUT_MS to the server (``maxTimeMS``), so an
        abandoned query stops there too, not only the client's socket. Never around a stream (an
        export's cursor may rightly live longer) nor a transaction (it has its own lifetime)."""
        with pymongo.timeout(OPERATION_TIMEOUT_MS / 1000), self._guard():
            yield

    def _hello(self) -> dict[str, Any]:
        """The server's ``hello`` reply, or {} when it cannot be had (mongomock has none)."""
        try:
            return dict(self.db.command("hello"))
        except (PyMongoError, NotImplementedError):
            return {}

    def server_now(self) -> dt.datetime:
        """The server's clock (``hello``'s localTime): path claims and daemon locks are aged on
        one clock. Without one (mongomock), this machine's."""
        now = self._hello().get("localTime")
        if not isinstance(now, dt.datetime):
            return utcnow()
        return now if now.tzinfo else now.replace(tzinfo=dt.UTC)

    @property
    def transactions(self) -> bool:
        """Whether writes run in transactions (a replica set or a sharded cluster)."""
        return self.writes.transactions

    @transactions.setter
    def transactions(self, value: bool) -> None:
        self.writes.transactions = value

    # Writes (Store's interface), made by self.writes.
    def upsert_many(self, items: Sequence[UpsertItem]) -> list[UpsertResult]:
        return self.writes.upsert_many(items)

    def touch_many(self, files: Sequence[Source]) -> None:
        self.writes.touch_many(files)

    def mark_deleted(self, paths: Iterable[str]) -> int:
        return self.writes.mark_deleted(paths)

    def record_failures(self, failures: Sequence[Failure]) -> None:
        self.writes.record_failures(failures)

    def clear_failures(self, paths: Iterable[str]) -> None:
        self.writes.clear_failures(paths)

    def put_articles(self, articles: Sequence[Article], revisions: Sequence[Article] = ()) -> dict[str, int]:
        return self.writes.put_articles(articles, revisions)

    # The daemon lock (Store's interface), kept by self.locks.
    def acquire_lock(self, key: str, holder: dict[str, Any], can_take: Any) -> dict[str, Any] | None:
        return self.locks.acquire(key, holder, can_take)

    def heartbeat(self, key: str, token: str, data: dict[str, Any]) -> bool:
        return self.locks.heartbeat(key, token, data)

    def release_lock(self, key: str, token: str, data: dict[str, Any]) -> None:
        self.locks.heartbeat(key, token, data)

    def daemons(self) -> list[dict[str, Any]]:
        return self.locks.records()

    def _has_transactions(self) -> bool:
        """A replica set member or a mongos (``hello`` says so): multi-document transactions."""
        hello = self._hello()
        return bool(hello.get("setName")) or hello.get("msg") == "isdbgrid"

    def deployment(self) -> str | None:
        """``replica set NAME``, ``sharded cluster`` or ``standalone server``, and whether writes
        are transactions there (what ``status`` shows)."""
        hello = self._hello()
        if not hello:
            return None
        if hello.get("msg") == "isdbgrid":
            return "sharded cluster, writes in transactions"
        if hello.get("setName"):
            return f"replica set {hello['setName']}, writes in transactions"
        return "standalone server, no transactions"

    def schema_version(self) -> int:
        """The schema version the store was last written with (0: none recorded); StoreError for a
        store a newer archive wrote."""
        version = int((self.meta.find_one({"_id": "schema"}) or {}).get("version", 0))
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.display} has schema version {version}; this archive knows "
                             f"{SCHEMA_VERSION}: upgrade archive")
        return version

    def _check_schema(self) -> int:
        """The store's schema version (see schema_version); StoreOutdated for an older archive's
        store or one holding articles loaded without archive (mongoimport): both wait for
        ``archive migrate --upgrade``. A new, empty database is version 0 and fine."""
        version = self.schema_version()
        if self.articles.find_one({}, {"_id": 1}) is None:
            return version
        if version < SCHEMA_VERSION:
            raise StoreOutdated(self.display, version, SCHEMA_VERSION, imported=version == 0)
        if self.articles.find_one({"terms": {"$exists": False}}, {"_id": 1}) is not None:
            raise StoreOutdated(self.display, version, SCHEMA_VERSION, imported=True)
        return version

    def upgrade(self, progress: Callable[[int], None] | None = None) -> int:
        """Bring an older store to SCHEMA_VERSION, step by step, each step's version recorded
        when it is done (an interrupted upgrade resumes at the step it was in); give articles
        loaded by mongoimport their search arrays and path claims. Returns the version it found."""
        version = self.schema_version()
        if version < 4:
            # Claims for the articles of an older store: path uniqueness lives in ``paths`` now,
            # so that ``articles`` can be sharded (its unique path index goes in _ensure_indexes).
            self.claims.backfill()
            self._record_schema(4)
        if version < 5:
            from archive.store.mongo.stories import backfill

            backfill(self.articles, self.bands)  # stories of the articles stored before they were kept
            self._record_schema(5)
        if version < 10:
            # Every article's arrays, ranking figures and folded keys made again (7: the analyzer;
            # 8: tag keys without a hashtag's '#'; 9: body term frequencies; 10: site keys).
            self._add_terms(every=True, progress=progress)
            self._record_schema(10)
        else:
            self._add_terms(progress=progress)
        backfill_sketches(self.articles, UPGRADE_BATCH)  # no schema step: the keeper works without them, slower
        self._record_schema(SCHEMA_VERSION)
        return version

    def _record_schema(self, version: int) -> None:
        self.meta.update_one({"_id": "schema"}, {"$max": {"version": version}}, upsert=True)

    def _ensure_indexes(self, upgrade: bool = False, progress: Callable[[int], None] | None = None) -> None:
        if not upgrade:
            self._check_schema()
        # Collections made here, never implicitly by a first write inside a transaction (which
        # MongoDB 4.2 and a sharded cluster refuse).
        have = set(self.db.list_collection_names())
        for coll in (self.articles, self.revs, self.fails, self.state, self.paths, self.bands):
            if coll.name not in have:
                with contextlib.suppress(CollectionInvalid):
                    self.db.create_collection(coll.name)
        self.bands.create_index([("b", 1), ("a", 1)], name="band_article")
        self.bands.create_index("a", name="article")
        self.articles.create_index("story", name="story", sparse=True)
        self.articles.create_index("story_url", name="story_url", sparse=True)
        self.articles.create_index("terms", name="terms")
        self.articles.create_index("words", name="words")
        if upgrade:
            self.upgraded_from = self.upgrade(progress)
        indexes = self.articles.index_information()
        old = indexes.get("source_path") or {}
        if old.get("unique"):
            self.articles.drop_index("source_path")
        self.articles.create_index("source.path", name="source_path")
        self.articles.create_index([("source.path", ASCENDING), ("_id", ASCENDING)], name="path_id")
        # Every sort archive asks for has its index, the _id tie-breaker included (no in-memory sorts).
        self.articles.create_index([("published", DESCENDING), ("_id", DESCENDING)], name="published_id")
        self.articles.create_index([("ingested_at", DESCENDING), ("_id", DESCENDING)], name="ingested_id")
        self.articles.create_index([("title", ASCENDING), ("_id", ASCENDING)], name="title_id", collation=TITLE_ORDER)
        self.articles.create_index("authors_key", name="authors_key")
        self.articles.create_index("tags_key", name="tags_key")
        self.articles.create_index("site", name="site", sparse=True)
        self.articles.create_index("site_key", name="site_key", sparse=True)
        self.articles.create_index("source.sha256", name="sha256")
        self.articles.create_index([("source.device", 1), ("source.inode", 1)], name="inode")
        self.articles.create_index([("updated_at", DESCENDING), ("_id", DESCENDING)], name="updated_id")
        self._record_schema(SCHEMA_VERSION)  # a new store's; an older one's is upgrade()'s to record
        self.revs.create_index([("article_id", 1), ("revision", 1)], unique=True, name="article_revision")
        if TEXT_INDEX in indexes:  # searched by terms now: the server's text index only slows writes
            with contextlib.suppress(OperationFailure, NotImplementedError):
                self.articles.drop_index(TEXT_INDEX)

    def _add_terms(self, every: bool = False, progress: Callable[[int], None] | None = None) -> None:
        """Give articles their search arrays, UPGRADE_BATCH at a time: those without (mongoimport),
        or every one (a store made before the analyzer it was searched by changed; an interrupted
        run goes on after the last batch it finished)."""
        from pymongo import UpdateOne

        from archive.store.mongo.docs import doc_terms, from_mongo

        # Where an interrupted run of every article got to: it goes on from there.
        last: Any = (self.meta.find_one({"_id": "upgrade"}) or {}).get("terms_after") if every else None
        while True:
            if every:
                cur = self.articles.find({} if last is None else {"_id": {"$gt": last}}).sort("_id", ASCENDING)
            else:
                cur = self.articles.find({"terms": {"$exists": False}})
            batch = list(cur.limit(UPGRADE_BATCH))
            if not batch:
                self.meta.delete_one({"_id": "upgrade"})
                return
            last = batch[-1]["_id"]
            self.articles.bulk_write([UpdateOne({"_id": d["_id"]}, {"$set": doc_terms(from_mongo(d))})
                                      for d in batch], ordered=False)
            if every:
                self.meta.update_one({"_id": "upgrade"}, {"$set": {"terms_after": last}}, upsert=True)
            # Articles without arrays were loaded by mongoimport: no claims on their paths either.
            self.claims.backfill([d for d in batch if "terms" not in d])
            if progress is not None:
                progress(len(batch))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    # ------------------------------------------------------------ reads
    def _iter(self, cursor: Any, conv: Any) -> Iterator[Any]:
        with self._guard():
            for d in cursor:
                yield conv(d)

    def _stream(self, open_cursor: Callable[[Any, int], Any], conv: Any) -> Iterator[Any]:
        """Every document of a long read (an export, a migration, an unlimited list) even when the
        reader pauses past the server's 10-minute cursor idle timeout: a cursor the server has
        dropped is opened again after the last document read, by its sort keys (``open_cursor(last,
        done)``: keyset, not a skip, so documents written meanwhile neither repeat nor go missing;
        the sort is total: ``_id`` breaks ties)."""
        from pymongo.errors import CursorNotFound

        last: Any = None
        done = 0
        for _ in range(100):
            try:
                with self._guard((CursorNotFound,)):
                    for d in open_cursor(last, done):
                        yield conv(d)
                        last = d
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

    def known_at(self, paths: Sequence[str]) -> dict[str, KnownFile]:
        out: dict[str, KnownFile] = {}
        for k in range(0, len(paths), 500):
            cur = self.articles.find({"source.path": {"$in": list(paths[k:k + 500])}}, {"source": 1, "deleted_at": 1})
            out.update((kf.path, kf) for kf in self._iter(cur, _known))
        return out

    def failures_at(self, paths: Sequence[str]) -> list[Failure]:
        out: list[Failure] = []
        for k in range(0, len(paths), 500):
            cur = self.fails.find({"_id": {"$in": list(paths[k:k + 500])}})
            out += self._iter(cur, _failure)
        return out

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

    def _filter(self, f: Filters) -> dict[str, Any]:
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
            q["site_key"] = {"$in": self._site_filter_keys(f.sites)}
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

        def open_cursor(last: Any, done: int) -> Any:
            flt = self._filter(filters)
            if last is not None:
                flt = {"$and": [flt, self._after_article(sort, last)]} if flt else self._after_article(sort, last)
            cur = self.articles.find(flt, **extra).sort(_SORTS[sort])
            return cur.limit(limit - done) if limit is not None else cur

        yield from self._stream(open_cursor, from_mongo)

    def _after_article(self, sort: Sort, d: dict[str, Any]) -> dict[str, Any]:
        """Articles after ``d`` in the order ``sort`` gives (a dropped cursor's resumption)."""
        if sort in ("-published", "published"):  # published may be null: Filters' keyset knows how
            return self._filter(Filters(after=(d.get("published"), d["_id"]), after_ascending=sort == "published"))
        return after_keys(_SORTS[sort], d)

    # Search (Store's interface), answered by self.searcher.
    def search(self, text: str, filters: Filters, limit: int | None = None) -> Iterator[records.Hit]:
        return self.searcher.search(text, filters, limit)

    def search_by_date(self, text: str, filters: Filters, ascending: bool, limit: int) -> Iterator[records.Hit]:
        return self.searcher.search_by_date(text, filters, ascending, limit)

    def count_matches(self, text: str, filters: Filters) -> int:
        return self.searcher.count_matches(text, filters)

    def words_with_prefix(self, prefix: str) -> list[tuple[str, int]]:
        return self.searcher.words_with_prefix(prefix)

    def stories(self, filters: Filters, min_size: int = 2, limit: int | None = None) -> list[records.Story]:
        with self._bounded():
            return self.story_reads.stories(filters, min_size, limit)

    def _story_rows(self, ids: Sequence[str]) -> Iterator[tuple[str, records.StoryMember, str]]:
        return self.story_reads.story_rows(ids)

    def count(self, filters: Filters) -> int:
        with self._bounded():
            return int(self.articles.count_documents(self._filter(filters)))

    def revisions(self, id: str) -> list[Article]:
        with self._guard():
            docs = list(self.revs.find({"article_id": id}).sort("revision", 1))
        return [from_mongo({**d, "_id": d["article_id"]}) for d in docs]

    def all_revisions(self) -> Iterator[Article]:
        yield from self._stream(
            lambda last, _done: self.revs.find({} if last is None else after_keys(_REVISION_ORDER, last))
            .sort(_REVISION_ORDER),
            lambda d: from_mongo({**d, "_id": d["article_id"]}))

    def failures(self) -> Iterator[Failure]:
        cur = self.fails.find({}).sort([("failed_at", -1), ("_id", 1)])
        yield from self._iter(cur, _failure)

    def _site_filter_keys(self, sites: Sequence[str]) -> list[str]:
        """The site keys a filter by ``sites`` selects (archive.store.keys.filter_keys): the names
        stored that fold as one of them, and their keys, read from the indexes of both."""
        from archive.store.keys import filter_keys

        wanted = {fold_name(str(s)) for s in sites}
        with self._guard():
            names = [n for n in self.articles.distinct("site") if isinstance(n, str) and fold_name(n) in wanted]
            pairs = [(str(d["_id"]["k"]), str(d["_id"]["s"])) for d in self.articles.aggregate([
                {"$match": {"site": {"$in": names}, "site_key": {"$ne": None}}},
                {"$group": {"_id": {"k": "$site_key", "s": "$site"}}}])] if names else []
        return filter_keys([str(s) for s in sites], pairs)

    def _site_shown(self, counted: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
        """(site key, count), most first (ties by key), as (the name most of the site's live
        articles give, count)."""
        from archive.store.keys import display_names

        counted = sorted(counted, key=lambda kc: (-kc[1], kc[0]))
        keys = [k for k, _ in counted]
        shown = display_names(
            (d["_id"]["k"], d["_id"]["s"], int(d["n"])) for d in self.articles.aggregate([
                {"$match": {"site_key": {"$in": keys}, "deleted_at": None}},
                {"$group": {"_id": {"k": "$site_key", "s": "$site"}, "n": {"$sum": 1}}}])) if keys else {}
        return [(shown.get(k, k), c) for k, c in counted]

    def stats(self, filters: Filters) -> Stats:
        live = self._filter(filters._replace(include_deleted=False))
        deleted = {**self._filter(filters._replace(include_deleted=True)), "deleted_at": {"$ne": None}}
        with self._bounded():
            total = {"$group": {"_id": None, "w": {"$sum": "$word_count"}}}
            words = list(self.articles.aggregate([{"$match": live}, total]))
            years: dict[str, int] = {}
            for d in self.articles.aggregate([  # counted on the server, not by reading every article
                    {"$match": live},
                    {"$group": {"_id": {"$substr": [{"$ifNull": ["$published", ""]}, 0, 4]}, "n": {"$sum": 1}}}]):
                years[d["_id"] or "unknown"] = years.get(d["_id"] or "unknown", 0) + int(d["n"])
            per_site = self.articles.aggregate([
                {"$match": {**live, "site_key": {"$ne": None}}}, {"$group": {"_id": "$site_key", "n": {"$sum": 1}}},
            ])
            return Stats(
                articles=int(self.articles.count_documents(live)),
                deleted=int(self.articles.count_documents(deleted)),
                failures=int(self.fails.count_documents({})),
                revisions=int(self.revs.count_documents({})),
                words=int(words[0]["w"]) if words else 0,
                authors=self._name_counts([{"$match": live}], "authors"),
                years=sorted(years.items()),
                tags=self._name_counts([{"$match": live}], "tags"),
                sites=self._site_shown((d["_id"], int(d["n"])) for d in per_site),
            )

    @staticmethod
    def _per_name(field: str) -> list[dict[str, Any]]:
        """Pipeline stages counting the articles per folded author or tag, an article once for each
        (``authors_key`` and ``tags_key`` hold the folded values, index for index: "Ann Lee" and
        "ANN LEE" are one key twice), with the spelling of the key's first place in one article."""
        return [{"$unwind": {"path": f"${field}", "includeArrayIndex": "i"}},
                {"$group": {"_id": {"d": "$_id", "k": {"$arrayElemAt": [f"${field}_key", "$i"]}},
                            "name": {"$first": f"${field}"}}},
                {"$group": {"_id": "$_id.k", "name": {"$first": "$name"}, "n": {"$sum": 1}}}]

    @staticmethod
    def _merged(groups: Iterable[dict[str, Any]]) -> list[tuple[str, int]]:
        """``_per_name`` groups as (spelling, count), most frequent first (documents without the
        folded key, imported from elsewhere, are folded here)."""
        counts: dict[str, int] = {}
        spelled: dict[str, str] = {}
        for d in groups:
            k = d["_id"] if isinstance(d["_id"], str) else fold_name(d["name"])
            counts[k] = counts.get(k, 0) + int(d["n"])
            spelled.setdefault(k, plain_tag(str(d["name"])))
        return [(spelled[k], c) for k, c in sorted_counts(counts)]

    def _name_counts(self, head: list[dict[str, Any]], field: str) -> list[tuple[str, int]]:
        return self._merged(self.articles.aggregate([*head, *self._per_name(field)], allowDiskUse=True))

    def facets(self, text: str, filters: Filters, limit: int = 10) -> Facets:
        """Facets counted on the server, each its own aggregation sorted and cut to ``limit`` there
        (one ``$facet`` document held every distinct author and tag: 16 MB, no spill); a query
        with phrases, whose matches only the text decides, counts its verified hits."""
        q = parse_query(text)
        if not q.empty and not exact(q):
            return super().facets(text, filters, limit)
        match = self._filter(filters) if q.empty else condition(q, self._filter(filters))
        top: list[dict[str, Any]] = [{"$sort": {"n": -1, "_id": 1}}, {"$limit": limit}]

        def run(stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return list(self.articles.aggregate([{"$match": match}, *stages], allowDiskUse=True))

        with self._bounded():
            total = int(self.articles.count_documents(match))
            authors = run([{"$project": {"authors": 1, "authors_key": 1}}, *self._per_name("authors"), *top])
            tags = run([{"$project": {"tags": 1, "tags_key": 1}}, *self._per_name("tags"), *top])
            sites = run([{"$match": {"site_key": {"$ne": None}}}, {"$group": {"_id": "$site_key", "n": {"$sum": 1}}},
                         *top])
            months = run([{"$match": {"published": {"$ne": None}}},
                          {"$group": {"_id": {"$substr": ["$published", 0, 7]}, "n": {"$sum": 1}}}])
        by_month = sorted((d["_id"], int(d["n"])) for d in months if d["_id"])
        return Facets(total=total, authors=self._merged(authors)[:limit], tags=self._merged(tags)[:limit],
                      sites=self._site_shown((d["_id"], int(d["n"])) for d in sites)[:limit],
                      years=years_of(by_month), months=by_month)

    def data_version(self) -> object | None:
        """The writers' counter (bumped after each write): the web page keeps facets while it holds."""
        with self._guard():
            d = self.meta.find_one({"_id": "data_version"})
        return int(d["n"]) if d else 0

    def duplicates(self, include_deleted: bool = False) -> list[list[Article]]:
        match = {} if include_deleted else {"deleted_at": None}
        with self._bounded():
            shas = [g["_id"] for g in self.articles.aggregate([
                {"$match": match},
                {"$group": {"_id": "$source.sha256", "n": {"$sum": 1}}},
                {"$match": {"n": {"$gt": 1}}},
                {"$sort": {"_id": 1}},
            ], allowDiskUse=True)]
            by_sha: dict[str, list[Article]] = {}
            for k in range(0, len(shas), 500):  # one read per 500 groups, not one per group
                docs = self.articles.find({**match, "source.sha256": {"$in": shas[k : k + 500]}})
                for d in docs.sort([("source.sha256", 1), ("source.path", 1)]):
                    by_sha.setdefault(d["source"]["sha256"], []).append(from_mongo(d))
        return [by_sha[s] for s in shas if s in by_sha]


def _failure(d: dict[str, Any]) -> Failure:
    """A failure from its document (keyed by its path)."""
    return Failure(**{k: v for k, v in d.items() if k != "_id"})
