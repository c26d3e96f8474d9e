"""The MongoDB store's part of archive.stories: band keys in their own collection (``story_bands``,
keyed by band: shardable on ``b``), each article's story and address on its document; every change
in the session of the write that caused it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pymongo.collection import Collection

from archive.models import iso
from archive.store.records import Filters, Story, StoryMember, assemble_stories
from archive.stories.keeper import MAX_CANDIDATES, Keeper, Peer, Placement, choose_candidates
from archive.stories.reasons import NEAR_DUPLICATE, seen_key, seen_of
from archive.stories.signature import Signature

_PEER_FIELDS = {"story": 1, "ingested_at": 1, "source.mtime": 1, "story_url": 1, "story_sketch": 1}


def _peer(d: dict[str, Any]) -> Peer:
    return Peer(d["_id"], d.get("story"), seen_key(iso(d["ingested_at"]) or "", float(d["source"]["mtime"])),
                None, d.get("story_url"), bytes(d.get("story_sketch") or b""))


class MongoStoryBackend:
    """archive.stories.keeper.StoryBackend over the store's collections, in session ``s``."""

    def __init__(self, articles: Any, bands: Any, s: Any) -> None:
        self.articles, self.bands, self.s = articles, bands, s

    def story_peers(self, keys: Sequence[int], url_key: str | None, exclude: str) -> list[Peer]:
        from collections import Counter

        ids: list[str] = []
        if keys:
            cur = self.bands.find({"b": {"$in": list(keys)}}, {"a": 1, "_id": 0}, limit=MAX_CANDIDATES * len(keys),
                                  session=self.s)
            shared = Counter(d["a"] for d in cur)
            shared.pop(exclude, None)  # the article itself (indexed just before)
            ids = choose_candidates(shared)
        flt: dict[str, Any] = {"_id": {"$in": ids}}
        if url_key is not None:
            flt = {"$or": [flt, {"story_url": url_key}]}
        q = {"$and": [flt, {"deleted_at": None, "_id": {"$ne": exclude}}]}
        return [_peer(d) for d in self.articles.find(q, _PEER_FIELDS, limit=MAX_CANDIDATES, session=self.s)]

    def story_bodies(self, ids: Sequence[str]) -> dict[str, str]:
        found = self.articles.find({"_id": {"$in": list(ids)}}, {"body": 1}, session=self.s)
        return {d["_id"]: d["body"] for d in found}

    def story_peer(self, id: str) -> Peer | None:
        d = self.articles.find_one({"_id": id, "deleted_at": None}, _PEER_FIELDS, session=self.s)
        return _peer(d) if d else None

    def story_members(self, story: str) -> list[Peer]:
        return [_peer(d) for d in self.articles.find({"story": story}, _PEER_FIELDS, session=self.s)]

    def story_put(self, id: str, placement: Placement | None) -> None:
        p = placement or (None, None, None)
        self.articles.update_one({"_id": id}, {"$set": {"story": p[0], "story_reason": p[1], "story_similarity": p[2]}},
                                 session=self.s)

    def story_index(self, id: str, sig: Signature, url_key: str | None) -> None:
        self.bands.delete_many({"a": id}, session=self.s)
        if sig.keys:
            self.bands.insert_many([{"b": k, "a": id} for k in dict.fromkeys(sig.keys)], ordered=False,
                                   session=self.s)
        self.articles.update_one({"_id": id}, {"$set": {"story_url": url_key, "story_sketch": sig.sketch or None}},
                                 session=self.s)


def backfill(articles: Any, bands: Any) -> int:
    """Place every live article of a store made before stories were kept (Keeper.place_all):
    the texts read 500 at a time, never the whole collection at once."""
    heads = [(d["_id"], seen_key(iso(d["ingested_at"]) or "", float(d["source"]["mtime"])), d.get("url"))
             for d in articles.find({"deleted_at": None}, {"ingested_at": 1, "source.mtime": 1, "url": 1})]
    return Keeper(MongoStoryBackend(articles, bands, None)).place_all(heads)


def backfill_sketches(articles: Any, batch: int = 500) -> int:
    """Give the fine story sketch to the articles indexed for stories before it was kept (each
    would be compared with every new article sharing its bands): ``batch`` texts a read; an
    interrupted run goes on with those still without one."""
    from pymongo import UpdateOne

    from archive.stories.signature import signature

    done = 0
    while True:
        found = list(articles.find({"story_url": {"$exists": True}, "story_sketch": {"$exists": False}},
                                   {"body": 1}, limit=batch))
        if not found:
            return done
        articles.bulk_write([UpdateOne({"_id": d["_id"]},
                                       {"$set": {"story_sketch": signature(d["body"]).sketch or None}})
                             for d in found], ordered=False)
        done += len(found)


class StoryReads:
    """MongoStore's story reads (the keeper writes them, through MongoStoryBackend): MongoStore
    owns one, with its articles collection and its filter."""

    def __init__(self, articles: Collection[dict[str, Any]], where: Callable[[Filters], dict[str, Any]]) -> None:
        self.articles = articles
        self._filter = where

    def stories(self, filters: Filters, min_size: int = 2, limit: int | None = None) -> list[Story]:
        base: dict[str, Any] = {"story": {"$ne": None}, "deleted_at": None}
        flt = self._filter(filters)
        if flt != {"deleted_at": None}:
            named = self.articles.distinct("story", {"$and": [flt, {"story": {"$ne": None}}]})
            base["story"] = {"$in": [s for s in named if s is not None]}
        day = {"$ifNull": ["$published", {"$dateToString": {"format": "%Y-%m-%d", "date": "$ingested_at"}}]}
        pipeline: list[dict[str, Any]] = [
            {"$match": base},
            {"$group": {"_id": "$story", "size": {"$sum": 1}, "newest": {"$max": day}}},
            {"$match": {"size": {"$gte": max(min_size, 2)}}},
            {"$sort": {"size": -1, "newest": -1, "_id": 1}},
        ]
        if limit is not None:
            pipeline.append({"$limit": limit})
        ids = [d["_id"] for d in self.articles.aggregate(pipeline, allowDiskUse=True)]
        return assemble_stories(ids, self.story_rows(ids))

    def story_rows(self, ids: Sequence[str]) -> Iterator[tuple[str, StoryMember, str]]:
        """Each live member of the stories ``ids``: (story, member, seen), 500 stories a read."""
        from archive.store.mongo.docs import from_mongo

        for k in range(0, len(ids), 500):
            for d in self.articles.find({"story": {"$in": ids[k : k + 500]}, "deleted_at": None}):
                art = from_mongo(d)
                sim = d.get("story_similarity")
                m = StoryMember(art, float(sim) if sim is not None else 0.0, d.get("story_reason") or NEAR_DUPLICATE)
                yield d["story"], m, seen_of(art)
