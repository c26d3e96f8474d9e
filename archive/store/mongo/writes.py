"""Writes to MongoDB: upserts of parsed files, imports, deletions, failures.

Every write is valid on a sharded cluster (single-document writes name the shard key) and safe
beside another writer (changes are conditional on the revision and sha256 read; paths are claimed,
see :mod:`claims`). On a replica set or a sharded cluster a round's writes (claims, articles, the
revision kept, the failure cleared) commit together in one transaction; on a standalone server
each write is atomic on its own and a crash between two is repaired by the next writer."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from pymongo import InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from archive.errors import StoreUnavailable
from archive.models import Article, Failure, Source, utcnow
from archive.store.decide import Change, import_change, upsert_change
from archive.store.mongo.claims import PathClaims
from archive.store.mongo.conn import classify, only_duplicates
from archive.store.mongo.docs import TEXT_FIELDS, from_mongo, source_doc, to_mongo
from archive.store.mongo.stories import MongoStoryBackend
from archive.store.records import UpsertItem, UpsertResult
from archive.stories.keeper import Keeper, Placing, peer_of

T = TypeVar("T")
Done = dict[int, UpsertResult]
ROUNDS = 5


def revision_doc(a: Article) -> dict[str, Any]:
    """A kept revision as stored in ``revisions``: ``article_id`` and ``revision`` are its key."""
    d = to_mongo(a)
    for k in TEXT_FIELDS:
        d.pop(k, None)
    d["article_id"] = d.pop("_id")
    d["_id"] = f"{a.id}:{a.revision}"
    return d


def put_revision(a: Article) -> ReplaceOne[dict[str, Any]]:
    """Keep a revision; the filter is the shard key of ``revisions`` (a targeted upsert)."""
    return ReplaceOne({"article_id": a.id, "revision": a.revision}, revision_doc(a), upsert=True)


# Files per transaction: two round trips each, so ~100 keep one under ~15 s even at 80 ms a round
# trip (the server aborts a transaction after 60 s).
TXN_FILES = 100
WTIMEOUT_MS = 30_000  # a majority write not acknowledged by then is reported, not waited on forever


class MongoWrites:
    """The write half of :class:`archive.store.mongo.MongoStore`, which owns one: given the
    client, the collections it writes, the path claims, where the store is (for messages), the
    store's error guard, and whether the deployment has transactions."""

    def __init__(self, client: Any, db: Any, claims: PathClaims, where: str,
                 guard: Callable[..., AbstractContextManager[None]], transactions: bool) -> None:
        self.client = client
        self.articles, self.revs, self.fails = db["articles"], db["revisions"], db["failures"]
        self.bands, self.meta = db["story_bands"], db["archive_meta"]
        self.claims = claims
        self._where = where
        self._guard = guard
        self.transactions = transactions

    def _atomically(self, work: Callable[[Any], T]) -> T:
        """``work(session)`` in one transaction where the deployment has them, else ``work(None)``.
        A transaction that meets a concurrent writer is run again by the driver; one that loses a
        duplicate key raises it (nothing was written)."""
        if not self.transactions:
            return work(None)
        from pymongo import ReadPreference
        from pymongo.read_concern import ReadConcern
        from pymongo.write_concern import WriteConcern

        with self.client.start_session() as session:
            # The primary, whatever the URI's readPreference: a transaction's reads must go there.
            result: T = session.with_transaction(work, read_concern=ReadConcern("snapshot"),
                                                 read_preference=ReadPreference.PRIMARY,
                                                 write_concern=WriteConcern("majority", wtimeout=WTIMEOUT_MS))
            return result

    def upsert_many(self, items: Sequence[UpsertItem]) -> list[UpsertResult]:
        """Write ``items`` TXN_FILES at a time (see :meth:`_upsert_chunk`): a transaction stays short
        on a slow link, well inside the server's 60 s transaction lifetime."""
        out: list[UpsertResult] = []
        for k in range(0, len(items), TXN_FILES):
            out += self._upsert_chunk(items[k : k + TXN_FILES])
        if any(r.outcome != "unchanged" for r in out):
            self._changed()
        return out

    def _changed(self) -> None:
        """Bump the data version readers keep derived answers (the web's facets) against."""
        with self._guard():
            self.meta.update_one({"_id": "data_version"}, {"$inc": {"n": 1}}, upsert=True)

    def _upsert_chunk(self, items: Sequence[UpsertItem]) -> list[UpsertResult]:
        """New files are inserted; changes are written on condition that the article is still at
        the revision and sha256 read (another writer, a second daemon or ``archive ingest``, may
        have written it since): when nothing matched, it is read again and the change re-applied,
        so no revision's content is lost."""
        results: Done = {}
        todo = list(range(len(items)))
        for _ in range(ROUNDS):
            if not todo:
                break
            with self._guard():
                try:
                    todo, done = self._atomically(functools.partial(self._round, items, todo))
                except (DuplicateKeyError, BulkWriteError) as exc:  # in a transaction: nothing written
                    if not only_duplicates(exc):
                        raise
                    done = {}
            results.update(done)
        if todo:
            raise StoreUnavailable(self._where, f"{len(todo)} documents kept changing under concurrent writers")
        return [results[i] for i in range(len(items))]

    def _round(self, items: Sequence[UpsertItem], todo: list[int], s: Any) -> tuple[list[int], Done]:
        """One pass over ``todo``: the indexes to try again (a race lost), and the results."""
        now = utcnow()
        again: list[int] = []
        done: Done = {}
        paths = [items[i].source.path for i in todo]
        by_path = {d["source"]["path"]: d for d in self.articles.find({"source.path": {"$in": paths}}, session=s)}
        ids = [items[i].move_from for i in todo if items[i].move_from and items[i].source.path not in by_path]
        by_id = {d["_id"]: d for d in self.articles.find({"_id": {"$in": ids}}, session=s)} if ids else {}
        inserts: list[tuple[int, Article]] = []
        changes: list[tuple[int, Article]] = []
        wanted: dict[str, str] = {}  # path -> the article that will be there
        seen: set[str] = set()
        for i in todo:
            src = items[i].source
            if src.path in seen:
                again.append(i)  # the same path twice in one batch: the second after the first
                continue
            seen.add(src.path)
            old_doc = by_path.get(src.path) or (by_id.get(items[i].move_from) if items[i].move_from else None)
            if old_doc is None:
                art = Article.from_parsed(items[i].parsed, src)
                inserts.append((i, art))
                wanted[src.path] = art.id
            else:
                old = from_mongo(old_doc)
                changes.append((i, old))
                if old.source.path != src.path:
                    wanted[src.path] = old.id
        refused = self.claims.claim(wanted, s)
        given_up: dict[str, str] = {}
        placing: list[Placing] = []
        for i, old in changes:
            src = items[i].source
            if src.path in refused:
                again.append(i)
                continue
            change = upsert_change(old, items[i], now)
            try:
                result = self._write_change(old, change, s)
            except (DuplicateKeyError, BulkWriteError) as exc:  # the revision's upsert is a bulk write
                if s is not None or not only_duplicates(exc):
                    raise
                result = None  # a revision kept meanwhile by another writer: read it again
            if result is None:
                again.append(i)
                continue
            done[i] = result
            if old.source.path != src.path:
                given_up[old.source.path] = old.id
            if change.place:
                placing.append((peer_of(change.article), change.story_of, items[i].signature))
        ops = [(i, art) for i, art in inserts if art.source.path not in refused]
        again += [i for i, art in inserts if art.source.path in refused]
        lost = self._bulk([InsertOne(to_mongo(art)) for _, art in ops], s)
        if s is None:
            lost |= self._fenced([(k, art) for k, (_, art) in enumerate(ops) if k not in lost])
        for k, (i, art) in enumerate(ops):
            if k in lost:
                again.append(i)
            else:
                done[i] = UpsertResult(art.source.path, art.id, "new", 1)
                placing.append((peer_of(art), None, items[i].signature))
        self.claims.release(given_up, s)
        self._place_stories(placing, s)
        if done:
            self.fails.delete_many({"_id": {"$in": [items[i].source.path for i in done]}}, session=s)
        return sorted(again), done

    def _fenced(self, inserted: Sequence[tuple[int, Article]]) -> set[int]:
        """Without transactions, the new articles whose path claim another writer took over while
        this one stalled past GRACE between claiming and inserting (issue 24 #11): the claim is
        read again after the insert, and an article that lost it is deleted (the file is tried
        again, and finds the other writer's article there). Their indexes in ``inserted``."""
        if not inserted:
            return set()
        holders = self.claims.holders([art.source.path for _, art in inserted])
        lost = {k: art for k, art in inserted if holders.get(art.source.path) != art.id}
        if lost:
            self.articles.delete_many({"_id": {"$in": [a.id for a in lost.values()]}, "revision": 1})
        return set(lost)

    def _write_change(self, old: Article, c: Change, s: Any) -> UpsertResult | None:
        """Write one known file's new state if the article is still as read (None: it was not)."""
        art = c.article
        guard = {"_id": old.id, "revision": old.revision, "source.sha256": old.source.sha256,
                 "source.path": old.source.path}
        if c.keep is None and not c.fields:  # the same bytes: only the file's data changes
            upd = {"source": source_doc(art.source), "deleted_at": None, "updated_at": art.updated_at}
            res = self.articles.update_one(guard, {"$set": upd}, session=s)
        else:
            if c.keep is not None:  # new bytes: the old revision is kept (a file read again keeps none)
                self.revs.bulk_write([put_revision(c.keep)], session=s)
            res = self.articles.replace_one(guard, to_mongo(art), session=s)
        return UpsertResult(art.source.path, art.id, c.outcome, art.revision) if res.matched_count else None

    def _place_stories(self, placing: Sequence[Placing], s: Any) -> None:
        """Put articles just written in their stories (Keeper.place_batch), in session ``s``."""
        if placing:
            Keeper(MongoStoryBackend(self.articles, self.bands, s)).place_batch(placing)

    def _bulk(self, ops: list[Any], s: Any = None) -> set[int]:
        """Run writes to ``articles`` unordered; outside a transaction, the indexes refused with a
        duplicate key (a race with another writer). Every other refusal, write concern errors
        included, raises; inside a transaction every refusal does."""
        if not ops:
            return set()
        try:
            self.articles.bulk_write(ops, ordered=False, session=s)
        except BulkWriteError as exc:
            if s is not None:
                raise
            if not only_duplicates(exc):
                raise classify(exc, self._where) from None
            return {e["index"] for e in (exc.details or {}).get("writeErrors", [])}
        return set()

    def touch_many(self, files: Sequence[Source]) -> None:
        if not files:
            return
        with self._guard():
            holders = self.claims.holders([f.path for f in files])
            ops = [UpdateOne({"_id": holders[f.path], "source.path": f.path, "source.sha256": f.sha256},
                             {"$set": {"source": source_doc(f)}}) for f in files if f.path in holders]
            if ops:
                self.articles.bulk_write(ops, ordered=False)

    def mark_deleted(self, paths: Iterable[str]) -> int:
        """Mark the articles of vanished files deleted; they keep their paths (an article is never
        removed: a file that comes back there undeletes it)."""
        paths = list(paths)
        if not paths:
            return 0
        now = utcnow()

        def work(s: Any) -> int:
            live = {"source.path": {"$in": paths}, "deleted_at": None}
            gone = list(self.articles.find(live, {"story": 1}, session=s))
            res = self.articles.update_many(live, {"$set": {"deleted_at": now, "updated_at": now}}, session=s)
            self.fails.delete_many({"_id": {"$in": paths}}, session=s)
            k = Keeper(MongoStoryBackend(self.articles, self.bands, s))
            for d in gone:
                k.remove(d["_id"], d.get("story"))
            return int(res.modified_count)

        with self._guard():
            changed = self._atomically(work)
        if changed:
            self._changed()
        return changed

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
        """Imported articles, each replacing the one with its id; one whose file another article
        holds (in the store, or earlier in the batch) is a conflict and is not written."""

        def work(s: Any) -> dict[str, int]:
            counts = {"imported": 0, "updated": 0, "unchanged": 0, "conflict": 0}
            ids = [a.id for a in articles]
            existing = {d["_id"]: from_mongo(d) for d in self.articles.find({"_id": {"$in": ids}}, session=s)}
            wanted: dict[str, str] = {}
            plan: list[Article] = []
            for a in articles:  # another article owning the file in the store: the claims below
                outcome, a = import_change(a, existing.get(a.id), wanted.get(a.source.path))
                if outcome in ("unchanged", "conflict"):
                    counts[outcome] += 1
                else:
                    wanted[a.source.path] = a.id
                    plan.append(a)
            refused = self.claims.claim(wanted, s)
            writes = [a for a in plan if a.source.path not in refused]
            counts["conflict"] += len(plan) - len(writes)  # another article owns that file: never overwrite it
            lost = self._bulk([ReplaceOne({"_id": a.id}, to_mongo(a), upsert=True) for a in writes], s)
            given_up: dict[str, str] = {}
            placing: list[Placing] = []
            keeper = Keeper(MongoStoryBackend(self.articles, self.bands, s))
            for k, a in enumerate(writes):
                counts["conflict" if k in lost else "updated" if a.id in existing else "imported"] += 1
                old = existing.get(a.id)
                if k not in lost and old is not None and old.source.path != a.source.path:
                    given_up[old.source.path] = a.id
                if k in lost:
                    continue
                if a.deleted_at is None:
                    placing.append((peer_of(a), a.story, None))
                elif old is not None:
                    keeper.remove(a.id, a.story)
            self.claims.release(given_up, s)
            self._place_stories(placing, s)
            if revisions:
                self.revs.bulk_write([put_revision(r) for r in revisions], ordered=False, session=s)
            return counts

        with self._guard():
            for _ in range(ROUNDS):
                try:
                    counts = self._atomically(work)
                    if counts["imported"] or counts["updated"]:
                        self._changed()
                    return counts
                except (DuplicateKeyError, BulkWriteError) as exc:  # in a transaction: nothing written
                    if not only_duplicates(exc):
                        raise
        raise StoreUnavailable(self._where, "the paths kept being claimed by concurrent writers")
