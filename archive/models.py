"""The stored document and the records around it: immutable named tuples (validation of untrusted
documents lives in archive.validation).

Named tuples, not dataclasses: every query command imports these, and a dataclass costs ~0.5 ms
to define (its methods are generated and compiled at import), a named tuple ~0.1 ms. This module
(like archive.store.base) does not use ``from __future__ import annotations``: typing compiles
every string annotation of a named tuple's fields, ~0.1 ms per field."""

import datetime as dt
import functools
import operator
import re
from typing import Any, NamedTuple

from archive.fields import FIELDS, PARSED, Field

EARLIEST = dt.date(1600, 1, 1)


def utcnow() -> dt.datetime:
    """Now, in UTC, at millisecond precision (what MongoDB keeps)."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id() -> str:
    """A new, random, stable article id (32 hex digits)."""
    import uuid

    return uuid.uuid4().hex


def iso(value: dt.datetime | None) -> str | None:
    """ISO-8601 UTC with a ``Z`` and milliseconds, or None."""
    if value is None:
        return None
    if value.tzinfo is not None and value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    # isoformat, not strftime (a quarter of the cost: this runs for every stored time); its first
    # 23 characters are the time to the millisecond (truncated), whatever follows is the offset.
    return value.isoformat(timespec="milliseconds")[:23] + "Z"


def parse_day(value: str) -> dt.date:
    """A ``YYYY-MM-DD`` date given by a user (an option, a web parameter); ValueError otherwise."""
    return dt.date.fromisoformat(value)


def parse_iso(value: str | dt.datetime | None) -> dt.datetime | None:
    """Read a timestamp written by :func:`iso` (or any ISO-8601 form); naive means UTC."""
    if value is None or value == "":
        return None
    d = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)


def parse_iso_required(value: str | dt.datetime | None) -> dt.datetime:
    """Like :func:`parse_iso`, for timestamps that must be there."""
    d = parse_iso(value)
    if d is None:
        raise ValueError("missing timestamp")
    return d


# A whitespace-separated token with no letter or digit, matched with the whitespace before
# it (the text is padded with a space at each end). Linear: an attempt starts only at
# whitespace, so each run of punctuation is tried once; and twice as fast as a look-behind,
# which the regex engine has to try at every position.
_NOT_A_WORD = re.compile(r"\s[^\w\s]+(?=\s)")


# ASCII text, byte by byte: whitespace (\s) becomes a space, a word character (\w) an "x", anything
# else is deleted; then each word starts at " x". No token is built (~4x the regex's speed). For
# other text the regex: str.translate is fast for ASCII only, and bytes split at ASCII whitespace only.
_ASCII_CLASS = bytes(0x20 if chr(c).isspace() else 0x78 if chr(c).isalnum() or c == 0x5F else c for c in range(256))
_ASCII_NEITHER = bytes(c for c in range(128) if not (chr(c).isspace() or chr(c).isalnum() or c == 0x5F))


# Chinese, Japanese and Korean characters: those scripts put no spaces between words, so each
# character counts as a word (as word processors count them) and search finds it as one
# (archive.search.analyzer builds its word rule on these ranges).
CJK_RANGES = ((0x1100, 0x11FF), (0x3040, 0x30FF), (0x3100, 0x31FF), (0x3400, 0x4DBF),
              (0x4E00, 0x9FFF), (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F),
              (0x20000, 0x2FA1F))
CJK_CLASS = "".join(f"{chr(a)}-{chr(b)}" for a, b in CJK_RANGES)


@functools.cache
def cjk_char() -> "re.Pattern[str]":
    """One CJK character, compiled when first needed: its class costs ~2 ms to compile, and most
    runs meet no CJK text (callers look for CJK lead bytes first)."""
    return re.compile(f"[{CJK_CLASS}]")


def word_count(body: str) -> int:
    """Words in ``body``: whitespace-separated tokens with at least one letter or digit, where
    each CJK character counts as a word of its own."""
    if body.isascii():
        classes = body.encode("ascii").translate(_ASCII_CLASS, _ASCII_NEITHER)
        return classes.count(b" x") + classes.startswith(b"x")
    cjk = len(cjk_char().findall(body)) if has_cjk_bytes(body) else 0
    if cjk:
        body = cjk_char().sub(" ", body)
    return cjk + len(body.split()) - len(_NOT_A_WORD.findall(f" {body} "))


# UTF-8 lead bytes the CJK_RANGES use (and some neighbours'): a byte search in C (~7 µs for 6 KB)
# before the exact regex (~30 µs).
_CJK_LEADS = tuple(bytes([b]) for b in (0xE1, *range(0xE3, 0xEE), 0xEF, 0xF0))


def plain_tag(tag: str) -> str:
    """A tag as archive keeps and shows it: without a hashtag's "#" ("#Oil" is "Oil")."""
    return tag.lstrip("#")


def fold_name(name: str) -> str:
    """How author names compare: case-insensitive, spaces collapsed."""
    return " ".join(name.split()).casefold()


def fold_tag(tag: str) -> str:
    """How tags compare: as names, and without a hashtag's "#" ("#Donald Trump" is "donald trump")."""
    return fold_name(plain_tag(tag))


# A body's sub-heading: a paragraph opening with one to six "#" and a space ("### Aug 18-19: RustConf"),
# kept so that an export parses back the same; "#MeToo trends" is a hashtag, no heading.
HEADING = re.compile(r"#{1,6}(?:\s|$)")


def heading_text(paragraph: str) -> str | None:
    """A body paragraph's sub-heading without its marker; None when it is no heading."""
    m = HEADING.match(paragraph)
    return paragraph[m.end():].strip() if m else None


def has_cjk_bytes(text: str) -> bool:
    """Whether ``text`` may hold a CJK character (no: certainly none)."""
    b = text.encode("utf-8", "surrogatepass")
    return any(lead in b for lead in _CJK_LEADS)


class ParsedArticle(NamedTuple):
    """What the parser makes of a file: the article's own fields (:meth:`of` counts the words)."""

    title: str
    authors: tuple[str, ...]
    published: dt.date | None
    body: str
    word_count: int
    url: str | None = None
    site: str | None = None
    tags: tuple[str, ...] = ()
    format: str = "text"  # text, markdown or html: what the file was parsed as
    description: str | None = None
    date_source: str | None = None  # where ``published`` was read: text, front-matter, page or path
    warnings: tuple[str, ...] = ()  # what was dropped to keep the article (a bad front-matter field)

    @classmethod
    def of(cls, title: str, authors: tuple[str, ...], published: dt.date | None, body: str,
           **more: Any) -> "ParsedArticle":
        """A parse result with its words counted from ``body``."""
        return cls(title, authors, published, body, word_count(body), **more)


class Source(NamedTuple):
    """Where a document came from."""

    path: str
    sha256: str
    size: int
    mtime: float
    inode: int | None = None
    device: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size, "mtime": self.mtime,
                "inode": self.inode, "device": self.device}


class Article(NamedTuple):
    """One document per file (SPEC.md, "The document").

    A plain, immutable record (``_replace`` makes a changed copy): what the stores read back is
    trusted, and reading stays free of validation libraries (a query command imports only what it
    uses). Untrusted documents (an import file) are checked by :mod:`archive.validation` on their
    way in (:func:`archive.validation.article_from_doc`).
    """

    id: str
    title: str
    body: str
    source: Source
    authors: list[str]
    published: dt.date | None
    word_count: int
    revision: int
    ingested_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None
    url: str | None = None
    site: str | None = None
    tags: list[str] = []  # noqa: RUF012 (never mutated: records are built whole)
    format: str = "text"
    description: str | None = None
    date_source: str | None = None  # text, front-matter, page, path: where ``published`` was read
    story: str | None = None  # the story's id (its first-seen article's): derived, kept by the store

    @classmethod
    def from_parsed(
        cls, parsed: ParsedArticle, source: Source, *, id: str | None = None
    ) -> "Article":
        """A first revision built from the parser's output."""
        now = utcnow()
        return cls(id=id or new_id(), source=source, revision=1, ingested_at=now, updated_at=now,
                   **parsed_values(parsed))

    def to_doc(self) -> dict[str, Any]:
        """The JSON form of SPEC.md: dates as ``YYYY-MM-DD``, times as ISO-8601 UTC."""
        return {f.name: _TO_JSON[f.kind](getattr(self, f.name)) for f in FIELDS}

    @classmethod
    def from_stored(cls, doc: dict[str, Any]) -> "Article":
        """Read back the JSON form this archive wrote itself (a stored revision): trusted, so not
        validated again (fields it lacks, from an older version, take their defaults)."""
        return cls(**{f.name: _FROM_JSON[f.kind](doc.get(f.name), f) for f in FIELDS})


class Failure(NamedTuple):
    """A file that could not be parsed."""

    path: str
    code: str
    reason: str
    size: int | None = None
    mtime: float | None = None
    sha256: str | None = None
    failed_at: dt.datetime | None = None  # None: now (the time it is written down)

    def to_dict(self) -> dict[str, Any]:
        """The stored form; ``failed_at`` is filled in with now if it was not given."""
        return {"path": self.path, "code": self.code, "reason": self.reason, "size": self.size,
                "mtime": self.mtime, "sha256": self.sha256, "failed_at": self.failed_at or utcnow()}

    def to_doc(self) -> dict[str, Any]:
        d = self.to_dict()
        return {**d, "failed_at": iso(d["failed_at"])}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Failure":
        """A failure from :meth:`to_doc`'s form (``failed_at`` as text or a datetime); KeyError
        when the path, code or reason is missing."""
        return cls(path=doc["path"], code=doc["code"], reason=doc["reason"], size=doc.get("size"),
                   mtime=doc.get("mtime"), sha256=doc.get("sha256"), failed_at=parse_iso(doc.get("failed_at")))


class RevisionInfo(NamedTuple):
    """One line of an article's history."""

    revision: int
    updated_at: dt.datetime
    sha256: str
    size: int
    title: str
    path: str
    current: bool = False

    def to_doc(self) -> dict[str, Any]:
        return {"revision": self.revision, "updated_at": iso(self.updated_at), "sha256": self.sha256,
                "size": self.size, "title": self.title, "path": self.path, "current": self.current}


_parsed_getter = operator.attrgetter(*PARSED)
_PARSED_LISTS = tuple(f.name for f in FIELDS if f.parsed and f.kind == "names")


def parsed_values(parsed: ParsedArticle) -> dict[str, Any]:
    """The fields the parser fills in, as an Article holds them (a new article, a new revision)."""
    values = dict(zip(PARSED, _parsed_getter(parsed), strict=True))
    for n in _PARSED_LISTS:
        values[n] = list(values[n])
    return values


def parsed_doc(parsed: ParsedArticle, source: Source) -> dict[str, Any]:
    """What ``archive parse`` prints for a file: ``path`` first (as on an error row), then the
    document's fields the parser fills in and the file's ``source``, and any ``warnings``."""
    values = parsed_values(parsed)
    doc: dict[str, Any] = {"path": source.path}
    for f in FIELDS:
        if f.kind == "source":
            d = source.to_dict()
            doc["source"] = {k: d[k] for k in ("path", "sha256", "size", "mtime")}
        elif f.parsed:
            doc[f.name] = _TO_JSON[f.kind](values[f.name])
    if parsed.warnings:
        doc["warnings"] = list(parsed.warnings)
    return doc


def _date_from(v: Any, f: Field) -> dt.date | None:
    return dt.date.fromisoformat(v) if v else None


def _time_from(v: Any, f: Field) -> dt.datetime | None:
    return parse_iso_required(v) if f.required else parse_iso(v)


def _count_from(v: Any, f: Field) -> int:
    return int(v or 0) or f.minimum


def _source_from(v: Any, f: Field) -> Source:
    return Source(path=v["path"], sha256=v["sha256"], size=v["size"], mtime=v["mtime"], inode=v.get("inode"),
                  device=v.get("device"))


def _same(v: Any) -> Any:
    return v


# How each kind of field is written to JSON and read back (archive.fields declares which is which).
_TO_JSON: dict[str, Any] = {
    "id": _same, "text": _same, "str": _same, "choice": _same, "count": _same,
    "names": list, "date": lambda v: v.isoformat() if v else None, "time": iso,
    "source": lambda v: v.to_dict(),
}
_FROM_JSON: dict[str, Any] = {
    "id": lambda v, f: v, "text": lambda v, f: v, "str": lambda v, f: v,
    "choice": lambda v, f: v or (f.choices[0] if f.required else None),
    "count": _count_from, "names": lambda v, f: list(v or []), "date": _date_from, "time": _time_from,
    "source": _source_from,
}
