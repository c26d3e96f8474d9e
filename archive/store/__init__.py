"""One store interface, two backends, chosen here from the URI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archive.errors import UsageError
from archive.store.base import (
    Facets,
    Filters,
    Hit,
    KnownFile,
    Stats,
    Store,
    UpsertItem,
    UpsertResult,
)

if TYPE_CHECKING:
    from archive.config import Settings

__all__ = ["Facets", "Filters", "Hit", "KnownFile", "Stats", "Store", "UpsertItem", "UpsertResult", "open_store",
           "store_kind"]


def store_kind(uri: str) -> str:
    """``sqlite`` or ``mongodb`` for a store URI; UsageError for anything else."""
    if uri.startswith(("mongodb://", "mongodb+srv://")):
        return "mongodb"
    if uri.startswith("sqlite:") or uri.endswith((".db", ".sqlite", ".sqlite3")):
        return "sqlite"
    raise UsageError(
        f"unknown store {uri!r}: use a path ending in .db, sqlite:///file.db, or mongodb://host/db"
    )


def open_store(uri: str, settings: Settings | None = None, *, create: bool = True) -> Store:
    """Open the store a URI names (the one place a backend is chosen). ``create=False`` is for
    read commands: a missing store is an error, not a new empty one."""
    kind = store_kind(uri)
    timeout = settings.connect_timeout if settings else 5.0
    if kind == "mongodb":
        from archive.store.mongo import MongoStore

        return MongoStore(uri, timeout=timeout, create=create)
    from archive.store.sqlite import SQLiteStore, sqlite_path

    return SQLiteStore(sqlite_path(uri), create=create)
