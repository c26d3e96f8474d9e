"""One file, one article: path uniqueness in a collection of its own, so ``articles`` can be sharded.

A sharded cluster enforces a unique index only when the shard key prefixes it, and a shard key of
``source.path`` would change at every move. So each path is a document of ``paths``: ``_id`` is the
path, ``article`` the id of the article that holds it, ``at`` when it was claimed (the server's
clock). ``_id`` is unique on every deployment, a cluster sharded on ``{_id: "hashed"}`` included
(every claim of a path lands on one shard). A writer claims a path before it writes an article
there and gives the old path up after a move; on a replica set both happen in one transaction.

A claim whose holder is not at that path (absent, or moved elsewhere) is a write left unfinished
by a writer without transactions that crashed, or one still in flight: it is taken over only when
older than ``GRACE``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pymongo import DeleteOne, UpdateOne
from pymongo.errors import BulkWriteError

from archive.store.mongo.conn import only_duplicates

GRACE = dt.timedelta(seconds=60)


def _aware(t: Any) -> dt.datetime | None:
    if not isinstance(t, dt.datetime):
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


class PathClaims:
    """The ``paths`` collection. ``now`` is the server's clock; ``session`` a transaction's, or None."""

    def __init__(self, paths: Any, articles: Any, now: Callable[[], dt.datetime]) -> None:
        self.paths, self.articles, self.now = paths, articles, now

    def claim(self, wanted: Mapping[str, str], session: Any = None) -> set[str]:
        """Claim each path for its article id; the paths that another article holds (refused).

        A path free or already held by the same article is claimed (``at`` refreshed); one held
        by another is taken over only when stale (see the module). Outside a transaction a claim
        lost to a concurrent writer is refused; inside one it aborts the transaction (the caller
        runs the round again on a fresh snapshot)."""
        if not wanted:
            return set()
        held = {d["_id"]: d for d in self.paths.find({"_id": {"$in": sorted(wanted)}}, session=session)}
        others = {p for p, d in held.items() if d.get("article") != wanted[p]}
        order = [p for p in wanted if p not in others]
        refused: set[str] = set()
        if order:
            ops = [UpdateOne({"_id": p, "article": wanted[p]}, {"$currentDate": {"at": True}}, upsert=True)
                   for p in order]
            try:
                self.paths.bulk_write(ops, ordered=False, session=session)
            except BulkWriteError as exc:
                if session is not None or not only_duplicates(exc):
                    raise
                # claimed meanwhile by another writer
                refused = {order[e["index"]] for e in (exc.details or {}).get("writeErrors") or []}
        return refused | self._take_stale({p: held[p] for p in others}, wanted, session)

    def _take_stale(self, holders: Mapping[str, Any], wanted: Mapping[str, str], session: Any) -> set[str]:
        """Take over the claims (as read: ``{path: claim}``) held by other articles that are not at
        the path and are older than GRACE; the paths still held by someone else."""
        if not holders:
            return set()
        ids = sorted({d["article"] for d in holders.values()})
        at_path = {d["_id"]: d["source"]["path"]
                   for d in self.articles.find({"_id": {"$in": ids}}, {"source.path": 1}, session=session)}
        cutoff = self.now() - GRACE
        held: set[str] = set()
        for p in sorted(holders):
            h = holders[p]
            if at_path.get(h["article"]) == p or (_aware(h.get("at")) or cutoff) >= cutoff:
                held.add(p)  # really held, or in flight
                continue
            res = self.paths.update_one({"_id": p, "article": h["article"], "at": h.get("at")},
                                        {"$set": {"article": wanted[p]}, "$currentDate": {"at": True}},
                                        session=session)
            if not res.matched_count:
                held.add(p)
        return held

    def release(self, given_up: Mapping[str, str], session: Any = None) -> None:
        """Give paths up, each only if its article still holds it."""
        if given_up:
            self.paths.bulk_write([DeleteOne({"_id": p, "article": a}) for p, a in given_up.items()],
                                  ordered=False, session=session)

    def holders(self, paths: list[str], session: Any = None) -> dict[str, str]:
        """``{path: article id}`` for the claimed ones of ``paths``."""
        return {d["_id"]: d["article"] for d in self.paths.find({"_id": {"$in": paths}}, session=session)}

    def backfill(self, docs: Iterable[dict[str, Any]] | None = None) -> int:
        """Claims for articles written without them: a store of schema 3 or older (every article),
        or ``docs`` (articles loaded with mongoimport); the number added. Idempotent, and safe
        beside another writer doing the same."""
        added = 0
        batch: list[Any] = []

        def flush() -> int:
            if not batch:
                return 0
            try:
                res = self.paths.bulk_write(batch, ordered=False)
                n = int(res.upserted_count)
            except BulkWriteError as exc:  # claimed meanwhile by another writer: theirs stands
                if not only_duplicates(exc):
                    raise
                n = int((exc.details or {}).get("nUpserted", 0))
            batch.clear()
            return n

        for d in self.articles.find({}, {"source.path": 1}) if docs is None else docs:
            batch.append(UpdateOne({"_id": d["source"]["path"]},
                                   {"$setOnInsert": {"article": d["_id"]}, "$currentDate": {"at": True}},
                                   upsert=True))
            if len(batch) >= 1000:
                added += flush()
        return added + flush()
