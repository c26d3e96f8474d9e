"""What a story's reader needs without the keeper: why an article is in its story, and when it was
first seen (the order of a story's members)."""

from __future__ import annotations

import datetime as dt
import functools

from archive.models import Article, iso

NEAR_DUPLICATE, SAME_URL = "near-duplicate", "same-url"


@functools.lru_cache(maxsize=4096)  # the keeper reads the same candidates article after article
def seen_key(ingested_at: str, mtime: float) -> str:
    """Peer.seen: when the article was first seen, ISO-8601 — when it was stored or, if earlier,
    when its file was saved (a first ingest of an old collection stores everything at once, in
    batches of no particular order) — then the file's time to break ties."""
    try:
        saved = iso(dt.datetime.fromtimestamp(mtime, dt.UTC)) or ingested_at
    except (OverflowError, OSError, ValueError):
        saved = ingested_at
    return f"{min(ingested_at, saved)} {mtime:020.6f}"


def seen_of(a: Article) -> str:
    """Peer.seen of a stored article (see :func:`seen_key`)."""
    return seen_key(iso(a.ingested_at) or "", a.source.mtime)
