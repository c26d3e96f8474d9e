"""Checking documents that come from outside (an import file): pydantic models of the stored
document, used only on that path, so that reading the archive never loads them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from archive.models import EARLIEST, Article, Source, parse_iso, utcnow, word_count

MAX_INT = 2**63 - 1  # what a store keeps as an integer (SQLite's INTEGER, BSON's int64)


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str = Field(min_length=2, max_length=4096, pattern=r"^/")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0, le=MAX_INT)
    mtime: float = Field(ge=-1e11, le=1e11, allow_inf_nan=False)
    inode: int | None = Field(None, ge=0, le=MAX_INT)
    device: int | None = Field(None, ge=0, le=MAX_INT)


class ArticleIn(BaseModel):
    """The rules a stored document keeps (SPEC.md, "The document")."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=r"^[0-9a-f]{32}$")  # as archive makes them: 32 hex digits
    title: str = Field(min_length=1)
    authors: list[str] = Field(default_factory=list)
    published: dt.date | None = None
    body: str = Field(min_length=1)
    word_count: int = Field(0, ge=0, le=MAX_INT)
    source: SourceIn
    revision: int = Field(1, ge=1, le=MAX_INT)
    ingested_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    deleted_at: dt.datetime | None = None
    url: str | None = None
    site: str | None = None
    tags: list[str] = Field(default_factory=list)
    format: Literal["text", "markdown", "html"] = "text"
    description: str | None = None
    date_source: Literal["text", "front-matter", "page", "path"] | None = None
    story: str | None = None  # read, not trusted: the store decides stories itself

    @field_validator("title", "body")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v

    @field_validator("authors", "tags")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
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
    def _count(self) -> ArticleIn:
        if not self.word_count:
            self.word_count = word_count(self.body)
        return self


def article_from_doc(doc: dict[str, Any]) -> Article:
    """A validated Article from its JSON form (``_id`` is accepted for ``id``); raises pydantic's
    ValidationError naming the first bad field."""
    if "id" not in doc and "_id" in doc:
        doc = {**doc, "id": doc["_id"]}
    m = ArticleIn.model_validate(doc)
    src = m.source
    return Article(
        id=m.id, title=m.title, authors=list(m.authors), published=m.published, body=m.body,
        word_count=m.word_count, revision=m.revision, ingested_at=_aware(m.ingested_at),
        updated_at=_aware(m.updated_at), deleted_at=_aware(m.deleted_at) if m.deleted_at else None,
        url=m.url, site=m.site, tags=list(m.tags), format=m.format, description=m.description,
        date_source=m.date_source,
        source=Source(path=src.path, sha256=src.sha256, size=src.size, mtime=src.mtime, inode=src.inode,
                      device=src.device),
    )


def _aware(d: dt.datetime) -> dt.datetime:
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)
