"""The MongoDB store (pymongo): for real deployments, replica sets, sharding, Atlas."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import pymongo
from pymongo import ASCENDING, DESCENDING, InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
)

from archive.config import redact
from archive.errors import StoreError, StoreUnavailable
from archive.models import Article, Failure, Source, parse_iso, parse_iso_required, utcnow
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
    next_revision,
    parse_query,
)

TEXT_INDEX = "articles_text"
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
        "source": a.source.model_dump(),
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
    return Article.model_construct(
        id=d["_id"],
        title=d["title"],
        authors=list(d.get("authors") or []),
        published=dt.date.fromisoformat(pub) if pub else None,
        body=d["body"],
        word_count=d.get("word_count", 0),
        source=Source.model_construct(**d["source"]),
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
    return KnownFile(d["_id"], s["path"], s["sha256"], s["size"], s["mtime"], s.get("inode"),
                     s.get("device"), d.get("deleted_at") is not None)


class MongoStore(Store):
    """MongoDB through pymongo. ``client`` may be injected (mongomock in tests)."""

    kind = "mongodb"

    def __init__(self, uri: str, *, timeout: float = 5.0, client: Any = None) -> None:
        self.display = redact(uri)
        self._where = hosts_of(uri)
        self._text_ok: bool | None = None
        ms = int(timeout * 1000)
        with self._guard():
            self.client = client or pymongo.MongoClient(
                uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, tz_aware=True, appname="archive"
            )
        try:
            with self._guard():
                db = self.client[database_name(uri)]
                self.articles = db["articles"]
                self.revs = db["revisions"]
                self.fails = db["failures"]
                self.state = db["daemons"]
                self._ensure_indexes()
        except BaseException:
            if client is None:  # ours to close: no socket or monitor thread left behind
                self.client.close()
            raise

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except ConnectionFailure as exc:
            raise StoreUnavailable(self._where, connection_reason(exc)) from None
        except OperationFailure as exc:
            raise StoreError(f"MongoDB at {self._where} refused: {redact(str(exc.details or exc))}") from None

    def _ensure_indexes(self) -> None:
        self.articles.create_index("source.path", unique=True, name="source_path")
        self.articles.create_index([("published", DESCENDING)], name="published")
        self.articles.create_index("authors_key", name="authors_key")
        self.articles.create_index("tags_key", name="tags_key")
        self.articles.create_index("site", name="site", sparse=True)
        self.articles.create_index("source.sha256", name="sha256")
        self.articles.create_index([("source.device", 1), ("source.inode", 1)], name="inode")
        self.articles.create_index("updated_at", name="updated_at")
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
        if not items:
            return []
        now = utcnow()
        with self._guard():
            paths = [i.source.path for i in items]
            by_path = {d["source"]["path"]: d for d in self.articles.find({"source.path": {"$in": paths}})}
            ids = [i.move_from for i in items if i.move_from and i.source.path not in by_path]
            by_id = {d["_id"]: d for d in self.articles.find({"_id": {"$in": ids}})} if ids else {}
            ops: list[Any] = []
            rev_ops: list[Any] = []
            results: list[UpsertResult] = []
            for item in items:
                src = item.source
                old_doc = by_path.get(src.path) or (by_id.get(item.move_from) if item.move_from else None)
                if old_doc is None:
                    art = Article.from_parsed(item.parsed, src)
                    ops.append(InsertOne(to_mongo(art)))
                    results.append(UpsertResult(src.path, art.id, "new", 1))
                    continue
                old = from_mongo(old_doc)
                moved = old.source.path != src.path
                if old.source.sha256 == src.sha256:
                    outcome = "moved" if moved else ("undeleted" if old.deleted_at else "unchanged")
                    upd: dict[str, Any] = {"source": src.model_dump(), "deleted_at": None}
                    if outcome != "unchanged":
                        upd["updated_at"] = now
                    ops.append(UpdateOne({"_id": old.id}, {"$set": upd}))
                    results.append(UpsertResult(src.path, old.id, outcome, old.revision))  # type: ignore[arg-type]
                    continue
                new = next_revision(old, item.parsed, src, now)
                rev_ops.append(ReplaceOne({"_id": f"{old.id}:{old.revision}"}, self._rev_doc(old), upsert=True))
                ops.append(ReplaceOne({"_id": old.id}, to_mongo(new)))
                results.append(UpsertResult(src.path, old.id, "updated", new.revision))
            if rev_ops:
                self.revs.bulk_write(rev_ops, ordered=False)
            failed = self._bulk(ops)
            self.fails.delete_many({"_id": {"$in": paths}})
        if failed:
            retry = [items[i] for i in sorted(failed)]
            # Lost a race (another writer inserted the same path first): upsert again.
            again = {r.path: r for r in self.upsert_many(retry)} if len(retry) < len(items) else {}
            results = [again.get(r.path, r) if i in failed else r for i, r in enumerate(results)]
            still = [items[i].source.path for i in failed if items[i].source.path not in again]
            if still:
                raise StoreError(f"MongoDB refused {len(still)} documents, first {still[0]}")
        return results

    def _bulk(self, ops: list[Any]) -> set[int]:
        """Run ops unordered; the indexes of ops refused with a duplicate key."""
        if not ops:
            return set()
        try:
            self.articles.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            dup = {e["index"] for e in errors if e.get("code") == 11000}
            other = [e for e in errors if e.get("code") != 11000]
            if other:
                raise StoreError(
                    f"MongoDB refused {len(other)} documents: " + "; ".join(
                        f"#{e['index']}: {e.get('errmsg', '')[:200]}" for e in other[:5])
                ) from None
            return dup
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
                [UpdateOne({"source.path": f.path, "source.sha256": f.sha256}, {"$set": {"source": f.model_dump()}})
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
                [ReplaceOne({"_id": f.path}, {"_id": f.path, **f.model_dump()}, upsert=True) for f in failures],
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
            for a in articles:
                doc = to_mongo(a)
                if a.id in existing and from_mongo(existing[a.id]).to_doc() == a.to_doc():
                    counts["unchanged"] += 1
                    continue
                if holders.get(a.source.path, a.id) != a.id:
                    counts["conflict"] += 1  # another document owns that file: never overwrite it
                    continue
                counts["updated" if a.id in existing else "imported"] += 1
                ops.append(ReplaceOne({"_id": a.id}, doc, upsert=True))
            if ops:
                self.articles.bulk_write(ops, ordered=False)
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

    def known_files(self, prefix: str | None = None) -> Iterator[KnownFile]:
        flt: dict[str, Any] = {}
        if prefix:
            flt["source.path"] = {"$regex": "^" + re.escape(prefix.rstrip("/") + "/")}
        proj = {"source": 1, "deleted_at": 1}
        yield from self._iter(self.articles.find(flt, proj), _known)

    def move_candidates(self, device: int, inode: int, sha256: str) -> list[KnownFile]:
        flt = {"$or": [{"source.device": device, "source.inode": inode}, {"source.sha256": sha256}]}
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
        return q

    def query(self, filters: Filters, sort: Sort = "-published", limit: int | None = None) -> Iterator[Article]:
        cur = self.articles.find(self._filter(filters)).sort(_SORTS[sort])
        if limit is not None:
            if limit <= 0:
                return
            cur = cur.limit(limit)
        yield from self._iter(cur, from_mongo)

    def count(self, filters: Filters) -> int:
        with self._guard():
            return int(self.articles.count_documents(self._filter(filters)))

    def search(self, text: str, filters: Filters, limit: int | None = None) -> Iterator[Hit]:
        q = parse_query(text)
        if q.empty or (limit is not None and limit <= 0):
            return
        words = q.highlight_words()
        flt = self._filter(filters)
        if q.positive and not q.any_of and not any(t.prefix for t in q.positive) and self._text_ok is not False:
            search = " ".join('"' + " ".join(t.words) + '"' for t in q.positive)
            search += "".join(" -" + ('"' + " ".join(t.words) + '"' if t.phrase else t.words[0]) for t in q.negative)
            cur = self.articles.find(
                {**flt, "$text": {"$search": search}}, {"score": {"$meta": "textScore"}}
            ).sort([("score", {"$meta": "textScore"})])
            if limit is not None:
                cur = cur.limit(limit)
            try:
                with self._guard():
                    first = next(cur, None)
                self._text_ok = True
            except (StoreError, NotImplementedError, TypeError, KeyError) as exc:
                if isinstance(exc, StoreUnavailable):
                    raise
                self._text_ok = False
            else:
                if first is None:
                    return
                yield self._hit(first, words, float(first.get("score", 0)))
                for d in self._iter(cur, lambda d: d):
                    yield self._hit(d, words, float(d.get("score", 0)))
                return
        yield from self._search_fallback(q, flt, limit)

    def _hit(self, d: dict[str, Any], words: list[str], score: float) -> Hit:
        art = from_mongo(d)
        return Hit(art, round(score, 6), make_snippet(art.body, words))

    def _search_fallback(self, q: SearchQuery, flt: dict[str, Any], limit: int | None) -> Iterator[Hit]:
        """Case- and accent-insensitive word matching, for servers without a text index."""

        def rx(t: Term) -> str:
            parts = [accent_insensitive_pattern(w) for w in t.words]
            body = r"\W+".join(parts)
            return r"(?<!\w)" + body + ("" if t.prefix else r"(?!\w)")

        def any_field(t: Term) -> dict[str, Any]:
            r = {"$regex": rx(t), "$options": "i"}
            return {"$or": [{"title": r}, {"authors": r}, {"tags": r}, {"body": r}]}

        conds: list[dict[str, Any]] = [flt] if flt else []
        conds += [any_field(t) for t in q.positive]
        conds += [{"$or": [any_field(t) for t in g]} for g in q.any_of]
        if q.negative:
            conds.append({"$nor": [any_field(t) for t in q.negative]})
        query = {"$and": conds} if conds else {}
        words = q.highlight_words()
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
        for score, _, d in scored[:limit] if limit is not None else scored:
            yield self._hit(d, words, score)

    def revisions(self, id: str) -> list[Article]:
        with self._guard():
            docs = list(self.revs.find({"article_id": id}).sort("revision", 1))
        return [from_mongo({**d, "_id": d["article_id"]}) for d in docs]

    def all_revisions(self) -> Iterator[Article]:
        cur = self.revs.find({}).sort([("article_id", 1), ("revision", 1)])
        yield from self._iter(cur, lambda d: from_mongo({**d, "_id": d["article_id"]}))

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
    def acquire_lock(self, key: str, holder: dict[str, Any], can_take: Any) -> dict[str, Any] | None:
        with self._guard():
            for _ in range(5):
                old = self.state.find_one({"_id": key})
                if old is None:
                    try:
                        self.state.insert_one({"_id": key, **holder})
                        return None
                    except DuplicateKeyError:
                        continue
                old.pop("_id", None)
                if not old.get("stopped_at") and not can_take(old):
                    return dict(old)
                res = self.state.replace_one({"_id": key, "token": old["token"]}, {"_id": key, **holder})
                if res.matched_count:
                    return None
        raise StoreError(f"could not take the daemon lock {key}: too much contention")

    def heartbeat(self, key: str, token: str, data: dict[str, Any]) -> bool:
        with self._guard():
            res = self.state.update_one({"_id": key, "token": token}, {"$set": data})
        return bool(res.matched_count)

    def release_lock(self, key: str, token: str, data: dict[str, Any]) -> None:
        self.heartbeat(key, token, data)

    def daemons(self) -> list[dict[str, Any]]:
        with self._guard():
            return [{k: v for k, v in d.items() if k != "_id"} for d in self.state.find({}).sort("_id", 1)]


__all__ = ["MongoStore", "PyMongoError"]
