"""Articles in their BSON form, and the sort orders over them."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from archive.fields import FIELDS
from archive.models import Article, Source
from archive.search.analyzer import stem, words
from archive.store.keys import document_keys
from archive.store.records import KnownFile

TITLE_ORDER = {"locale": "en", "strength": 2}
_SORTS: dict[str, list[tuple[str, int]]] = {
    "-published": [("published", DESCENDING), ("_id", DESCENDING)],
    "published": [("published", ASCENDING), ("_id", ASCENDING)],
    "-updated": [("updated_at", DESCENDING), ("_id", DESCENDING)],
    "updated": [("updated_at", ASCENDING), ("_id", ASCENDING)],
    "-ingested": [("ingested_at", DESCENDING), ("_id", DESCENDING)],
    "ingested": [("ingested_at", ASCENDING), ("_id", ASCENDING)],
    "title": [("title", ASCENDING), ("_id", ASCENDING)],
    "path": [("source.path", ASCENDING), ("_id", ASCENDING)],
}


def after_keys(keys: list[tuple[str, int]], d: dict[str, Any]) -> dict[str, Any]:
    """The documents after ``d`` in the order ``keys`` gives (keys that are never null): those
    past it in the first key, or equal there and past it in the next, and so on."""
    def value(path: str) -> Any:
        v: Any = d
        for part in path.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        return v

    ors = []
    for i, (key, direction) in enumerate(keys):
        equal = {k: value(k) for k, _ in keys[:i]}
        ors.append({**equal, key: {"$gt" if direction == ASCENDING else "$lt": value(key)}})
    return {"$or": ors}


def _int64(v: int | None) -> int | None:
    """An unsigned 64-bit number (inode, device) as BSON's signed int64, bits kept."""
    return v - (1 << 64) if v is not None and v >= (1 << 63) else v


def _uint64(v: int | None) -> int | None:
    return v + (1 << 64) if v is not None and v < 0 else v


def source_doc(src: Source) -> dict[str, Any]:
    d = src.to_dict()
    d["inode"], d["device"] = _int64(d.get("inode")), _int64(d.get("device"))
    return d


# What search reads instead of the text (archive.store.mongo.search); never in a kept revision.
TEXT_FIELDS = ("terms", "words", "t_title", "t_meta", "tf", "blen")


def doc_terms(a: Article) -> dict[str, Any]:
    """The searchable arrays of an article's document (see archive.store.mongo.search), what its
    ranking reads (``tf``: how often each stem is in the body; ``blen``: the body's words) and the
    folded names its filters match."""
    from collections import Counter

    title = words(a.title)
    meta = words(" ".join(a.authors)) + words(" ".join(a.tags))
    body = words(a.body)
    every = {*title, *meta, *body}
    return {"terms": sorted({stem(w) for w in every}), "words": sorted(every),
            "t_title": sorted({stem(w) for w in title}), "t_meta": sorted({stem(w) for w in meta}),
            "tf": dict(Counter(stem(w) for w in body)), "blen": len(body),
            **document_keys(a.authors, a.tags, a.site, a.url)}


def _to_bson(kind: str, v: Any) -> Any:
    """A field's BSON value: times as dates, dates as ``YYYY-MM-DD`` (sortable, no time zone)."""
    if kind == "date":
        return v.isoformat() if v else None
    if kind == "names":
        return list(v)
    if kind == "source":
        return source_doc(v)
    return v


def to_mongo(a: Article) -> dict[str, Any]:
    """The BSON form of an article: its fields (archive.fields), ``_id`` for ``id``, the folded
    names the filters read, and the search arrays."""
    doc: dict[str, Any] = {"_id": a.id}
    for f in FIELDS[1:]:
        doc[f.name] = _to_bson(f.kind, getattr(a, f.name))
    doc.update(doc_terms(a))
    return doc


def from_mongo(d: dict[str, Any]) -> Article:
    """An article from its BSON form (trusted: no validation; fields written before they existed
    take their defaults)."""
    src = d["source"]
    return Article.from_stored({**d, "id": d["_id"], "published": d.get("published"),
                                "source": {**src, "inode": _uint64(src.get("inode")),
                                           "device": _uint64(src.get("device"))}})


def _known(d: dict[str, Any]) -> KnownFile:
    s = d["source"]
    return KnownFile(d["_id"], s["path"], s["sha256"], s["size"], s["mtime"], _uint64(s.get("inode")),
                     _uint64(s.get("device")), d.get("deleted_at") is not None)

