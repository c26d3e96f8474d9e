"""The stored document and the records around it (pydantic models)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EARLIEST = dt.date(1600, 1, 1)


def utcnow() -> dt.datetime:
    """Now, in UTC, at millisecond precision (what MongoDB keeps)."""
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id() -> str:
    """A new, random, stable article id (32 hex digits)."""
    return uuid.uuid4().hex


def iso(value: dt.datetime | None) -> str | None:
    """ISO-8601 UTC with a ``Z`` and milliseconds, or None."""
    if value is None:
        return None
    value = value.astimezone(dt.timezone.utc) if value.tzinfo else value
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_iso(value: str | dt.datetime | None) -> dt.datetime | None:
    """Read a timestamp written by :func:`iso` (or any ISO-8601 form); naive means UTC."""
    if value is None or value == "":
        return None
    d = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)


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


def word_count(body: str) -> int:
    """Words in ``body``: whitespace-separated tokens with at least one letter or digit."""
    return len(body.split()) - len(_NOT_A_WORD.findall(f" {body} "))


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    """What the parser makes of a file: the article's own fields."""

    title: str
    authors: tuple[str, ...]
    published: dt.date | None
    body: str
    word_count: int = -1  # computed from body when not given
    url: str | None = None
    site: str | None = None
    tags: tuple[str, ...] = ()
    format: str = "text"  # text, markdown or html: what the file was parsed as
    description: str | None = None

    def __post_init__(self) -> None:
        if self.word_count < 0:
            object.__setattr__(self, "word_count", word_count(self.body))


class Source(BaseModel):
    """Where a document came from."""

    model_config = ConfigDict(extra="ignore")

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    mtime: float
    inode: int | None = None
    device: int | None = None


class Article(BaseModel):
    """One document per file (SPEC.md, "The document")."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1)
    authors: list[str] = Field(default_factory=list)
    published: dt.date | None = None
    body: str = Field(min_length=1)
    word_count: int = Field(0, ge=0)
    source: Source
    revision: int = Field(1, ge=1)
    ingested_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    deleted_at: dt.datetime | None = None
    url: str | None = None
    site: str | None = None
    tags: list[str] = Field(default_factory=list)
    format: Literal["text", "markdown", "html"] = "text"
    description: str | None = None

    @field_validator("title", "body")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v

    @field_validator("authors", "tags")
    @classmethod
    def _authors(cls, v: list[str]) -> list[str]:
        if any(not a.strip() for a in v):
            raise ValueError("a name must not be blank")
        return v

    @field_validator("published")
    @classmethod
    def _sane_date(cls, v: dt.date | None) -> dt.date | None:
        if v is None:
            return v
        latest = dt.date.today() + dt.timedelta(days=366)
        if not EARLIEST <= v <= latest:
            raise ValueError(f"date {v} is outside {EARLIEST}..{latest}")
        return v

    @field_validator("ingested_at", "updated_at", "deleted_at", mode="before")
    @classmethod
    def _utc(cls, v: Any) -> Any:
        return parse_iso(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _count(self) -> Article:
        if not self.word_count:
            self.word_count = word_count(self.body)
        return self

    @classmethod
    def from_parsed(
        cls, parsed: ParsedArticle, source: Source, *, id: str | None = None
    ) -> Article:
        """A first revision built from the parser's output."""
        now = utcnow()
        return cls(
            id=id or new_id(),
            title=parsed.title,
            authors=list(parsed.authors),
            published=parsed.published,
            body=parsed.body,
            word_count=parsed.word_count,
            source=source,
            revision=1,
            ingested_at=now,
            updated_at=now,
            url=parsed.url,
            site=parsed.site,
            tags=list(parsed.tags),
            format=parsed.format,  # type: ignore[arg-type]
            description=parsed.description,
        )

    def to_doc(self) -> dict[str, Any]:
        """The JSON form of SPEC.md: dates as ``YYYY-MM-DD``, times as ISO-8601 UTC."""
        return {
            "id": self.id,
            "title": self.title,
            "authors": list(self.authors),
            "published": self.published.isoformat() if self.published else None,
            "body": self.body,
            "word_count": self.word_count,
            "source": self.source.model_dump(),
            "revision": self.revision,
            "ingested_at": iso(self.ingested_at),
            "updated_at": iso(self.updated_at),
            "deleted_at": iso(self.deleted_at),
            "url": self.url,
            "site": self.site,
            "tags": list(self.tags),
            "format": self.format,
            "description": self.description,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Article:
        """Read the JSON form back (``_id`` is accepted for ``id``)."""
        if "id" not in doc and "_id" in doc:
            doc = {**doc, "id": doc["_id"]}
        return cls.model_validate(doc)


class Failure(BaseModel):
    """A file that could not be parsed."""

    path: str
    code: str
    reason: str
    size: int | None = None
    mtime: float | None = None
    sha256: str | None = None
    failed_at: dt.datetime = Field(default_factory=utcnow)

    def to_doc(self) -> dict[str, Any]:
        d = self.model_dump()
        d["failed_at"] = iso(self.failed_at)
        return d


class RevisionInfo(BaseModel):
    """One line of an article's history."""

    revision: int
    updated_at: dt.datetime
    sha256: str
    size: int
    title: str
    path: str
    current: bool = False

    def to_doc(self) -> dict[str, Any]:
        d = self.model_dump()
        d["updated_at"] = iso(self.updated_at)
        return d
