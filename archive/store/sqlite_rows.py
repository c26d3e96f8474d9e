"""The SQLite store's articles table as rows: the columns of the document's fields
(archive.fields) and what is derived from them, an article read from a row, the values a write
sets. The store, its search and its story tables all read rows through this."""

from __future__ import annotations

import json
import operator
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from archive.fields import FIELDS, SOURCE_FIELDS, Field
from archive.models import Article, Source, iso, parse_iso, parse_iso_required
from archive.store.keys import site_key
from archive.store.records import name_keys, tag_keys

# The document's columns, in archive.fields' order (``source`` as its file data's columns).
DOC_COLS = tuple(c for f in FIELDS for c in (SOURCE_FIELDS if f.kind == "source" else (f.name,)))
COLS = ", ".join(DOC_COLS)
NCOLS = len(DOC_COLS)
PATH_COL = DOC_COLS.index("path")
A_COLS = ", ".join("a." + c for c in DOC_COLS)  # the same, over ``articles a``
# Every column a write sets: the document's fields but those the store derives itself (the story
# keeper writes the story), grouped by how they are written (id first: UPDATE sets the rest), and
# what search and the filters read derived from them.
_WRITTEN = tuple(f for f in FIELDS if not f.derived)
_PLAIN = tuple(f.name for f in _WRITTEN if f.kind in ("id", "text", "str", "choice", "count"))
_LISTS = tuple(f.name for f in _WRITTEN if f.kind == "names")
_DATES = tuple(f.name for f in _WRITTEN if f.kind == "date")
_TIMES = tuple(f.name for f in _WRITTEN if f.kind == "time")
assert [f.kind for f in _WRITTEN if f.name not in (*_PLAIN, *_LISTS, *_DATES, *_TIMES)] == ["source"]
WRITE_COLS = (*_PLAIN, *SOURCE_FIELDS, *_LISTS, *_DATES, *_TIMES, "authors_text", "authors_key", "tags_key",
              "tags_text", "site_key")
_plain_values = operator.attrgetter(*_PLAIN)
INSERT = f"INSERT INTO articles ({', '.join(WRITE_COLS)}) VALUES ({','.join('?' * len(WRITE_COLS))})"
UPDATE = f"UPDATE articles SET {', '.join(c + '=?' for c in WRITE_COLS[1:])} WHERE id=?"


def _reader(f: Field, i: int) -> Callable[[Sequence[Any]], Any]:
    """How field ``f`` is read from a row whose column ``i`` holds it (a source: six from there)."""
    if f.kind == "source":
        return lambda r: Source(*r[i:i + len(SOURCE_FIELDS)])
    if f.kind == "names":
        return lambda r: json.loads(r[i])
    if f.kind == "date":
        return lambda r: _date(r[i])
    if f.kind == "time":
        return (lambda r: parse_iso_required(r[i])) if f.required else (lambda r: parse_iso(r[i]))
    return operator.itemgetter(i)


_READ = tuple((f.name, _reader(f, DOC_COLS.index("path" if f.kind == "source" else f.name))) for f in FIELDS)


def row_article(r: sqlite3.Row | Sequence[Any]) -> Article:
    """An article from a row of ``COLS``."""
    return Article(**{name: read(r) for name, read in _READ})


def _date(v: str | None) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(v) if v else None


# One encoder for the small JSON lists of every row: json.dumps with an option builds a new
# encoder at each call (4 per article on the ingest path).
json_list = json.JSONEncoder(ensure_ascii=False).encode


def write_values(a: Article) -> tuple[Any, ...]:
    """The values of ``WRITE_COLS`` for an article (one attrgetter for the plain fields: this
    runs once per stored file)."""
    src = a.source
    return (*_plain_values(a), src.path, src.sha256, src.size, src.mtime, src.inode, src.device,
            *[json_list(getattr(a, n)) for n in _LISTS],
            *[d.isoformat() if (d := getattr(a, n)) else None for n in _DATES],
            *[iso(getattr(a, n)) for n in _TIMES],
            ", ".join(a.authors), json_list(name_keys(a.authors)), json_list(tag_keys(a.tags)), " ".join(a.tags),
            site_key(a.site, a.url))


