"""Articles in their BSON form, and the sort orders over them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING, DESCENDING

from archive.models import Article, Source, parse_iso, parse_iso_required
from archive.search.analyzer import stem, words
from archive.store.records import KnownFile, fold_name

TITLE_ORDER = {"locale": "en", "strength": 2}
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
TEXT_FIELDS = ("terms", "words", "t_title", "t_meta")


def doc_terms(a: Article) -> dict[str, list[str]]:
    """The searchable arrays of an article's document (see the module's docstring)."""
    title = words(a.title)
    meta = words(" ".join(a.authors)) + words(" ".join(a.tags))
    every = {*title, *meta, *words(a.body)}
    return {"terms": sorted({stem(w) for w in every}), "words": sorted(every),
            "t_title": sorted({stem(w) for w in title}), "t_meta": sorted({stem(w) for w in meta})}


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
        "date_source": a.date_source,
        "story": a.story,
        **doc_terms(a),
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
        date_source=d.get("date_source"),
        story=d.get("story"),
    )


def _known(d: dict[str, Any]) -> KnownFile:
    s = d["source"]
    return KnownFile(d["_id"], s["path"], s["sha256"], s["size"], s["mtime"], _uint64(s.get("inode")),
                     _uint64(s.get("device")), d.get("deleted_at") is not None)

