"""One store interface, two backends, chosen here from the URI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from archive.errors import UsageError
from archive.store.base import Store
from archive.store.records import Facets, Filters, Hit, KnownFile, Stats, UpsertItem, UpsertResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from archive.config import Settings

__all__ = ["Facets", "Filters", "Hit", "KnownFile", "Stats", "Store", "UpsertItem", "UpsertResult", "open_store",
           "sqlite_file", "store_kind"]


def store_kind(uri: str) -> str:
    """``sqlite`` or ``mongodb`` for a store URI; UsageError for anything else."""
    if uri.startswith(("mongodb://", "mongodb+srv://")):
        return "mongodb"
    if uri.startswith(("sqlite:", "file:")) or uri.split("?", 1)[0].endswith((".db", ".sqlite", ".sqlite3")):
        return "sqlite"
    raise UsageError(
        f"unknown store {uri!r}: use a path ending in .db, sqlite:///file.db, or mongodb://host/db"
    )


def sqlite_file(uri: str, *, default: str | None = None, create: bool = True) -> Path:
    """The file a SQLite store URI names, read strictly: ``sqlite:///rel.db``, ``sqlite:////abs.db``,
    ``file:///abs.db`` or a plain path. A query string or a folder is a UsageError, never a file
    name; so is a ``sqlite:``/``file:`` URI whose folder does not exist (a plain path's folders are
    made, as the default store's are; a read command says the store is missing instead)."""
    from urllib.parse import unquote, urlsplit

    if uri.startswith("sqlite:"):
        if not uri.startswith("sqlite:///"):
            raise UsageError(f"unsupported SQLite URI {uri!r}: use sqlite:///relative.db or sqlite:////abs.db")
        raw = uri[len("sqlite:///"):]
    elif uri.startswith("file:"):
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise UsageError(f"{uri!r} names a file on another host: archive opens local files only")
        raw = unquote(parts.path) + (f"?{parts.query}" if parts.query else "")
    else:
        raw = uri
    if "?" in raw or "#" in raw:
        raise UsageError(f"store {uri!r}: options after ? are not understood; name the .db file alone "
                         "(a store on read-only media is opened read-only by itself)")
    path = Path(raw).expanduser().absolute()
    if raw.endswith("/") or path.is_dir():
        raise UsageError(f"store {uri!r} names a folder: name the .db file in it (e.g. {path / 'archive.db'})")
    if create and raw != uri and not path.parent.is_dir() and str(path) != (default or ""):
        raise UsageError(f"store {uri!r}: the folder {path.parent} does not exist (create it first)")
    return path


def open_store(uri: str, settings: Settings | None = None, *, create: bool = True, upgrade: bool = False,
               progress: Callable[[int], None] | None = None) -> Store:
    """Open the store a URI names (the one place a backend is chosen). ``create=False`` is for
    read commands: a missing store is an error, not a new empty one. ``upgrade`` brings a MongoDB
    store an older archive wrote to this one's schema (``progress`` told of each batch of articles);
    the embedded store upgrades itself whenever it is opened (a local file: quick)."""
    kind = store_kind(uri)
    timeout = settings.connect_timeout if settings else 5.0
    if kind == "mongodb":
        from archive.store.mongo import MongoStore

        check_mongodb_uri(uri)
        return MongoStore(uri, timeout=timeout, create=create or upgrade, upgrade=upgrade, progress=progress)
    from archive.config import default_db
    from archive.store.sqlite import SQLiteStore

    return SQLiteStore(sqlite_file(uri, default=default_db(), create=create), create=create)


def check_mongodb_uri(uri: str) -> None:
    """UsageError for a MongoDB URI that cannot be read (bad host, port or options), naming it
    without credentials. An SRV URI is checked when it is looked up (that needs DNS)."""
    if uri.startswith("mongodb+srv://"):
        return
    from pymongo.errors import ConfigurationError, InvalidURI
    from pymongo.uri_parser import parse_uri

    from archive.redaction import redact

    try:
        parse_uri(uri)
    except (InvalidURI, ConfigurationError, ValueError, TypeError) as exc:
        raise UsageError(f"bad MongoDB URI {redact(uri)!r}: {redact(str(exc)).splitlines()[0][:200]}") from None
