"""Checking documents that come from outside (an import file): pydantic models of the stored
document, used only on that path, so that reading the archive never loads them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, create_model, field_validator, model_validator
from pydantic import Field as PydField

from archive.fields import FIELDS, TIMES, Field
from archive.models import EARLIEST, Article, Source, parse_iso, utcnow, word_count

MAX_INT = 2**63 - 1  # what a store keeps as an integer (SQLite's INTEGER, BSON's int64)


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str = PydField(min_length=2, max_length=4096, pattern=r"^/")
    sha256: str = PydField(pattern=r"^[0-9a-f]{64}$")
    size: int = PydField(ge=0, le=MAX_INT)
    mtime: float = PydField(ge=-1e11, le=1e11, allow_inf_nan=False)
    inode: int | None = PydField(None, ge=0, le=MAX_INT)
    device: int | None = PydField(None, ge=0, le=MAX_INT)


class _Checks(BaseModel):
    """The rules a stored document keeps beyond its fields' types (SPEC.md, "The document")."""

    model_config = ConfigDict(extra="ignore")

    @field_validator(*(f.name for f in FIELDS if f.kind == "text"), check_fields=False)
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v

    @field_validator(*(f.name for f in FIELDS if f.kind == "names"), check_fields=False)
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        if any(not a.strip() for a in v):
            raise ValueError("a name must not be blank")
        return v

    @field_validator(*(f.name for f in FIELDS if f.kind == "date"), check_fields=False)
    @classmethod
    def _sane_date(cls, v: dt.date | None) -> dt.date | None:
        if v is None:
            return v
        latest = dt.date.today() + dt.timedelta(days=366)
        if not EARLIEST <= v <= latest:
            raise ValueError(f"date {v} is outside {EARLIEST}..{latest}")
        return v

    @field_validator(*TIMES, mode="before", check_fields=False)
    @classmethod
    def _utc(cls, v: Any) -> Any:
        return parse_iso(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _count(self) -> Any:
        if not getattr(self, "word_count", 1):
            self.word_count = word_count(getattr(self, "body", ""))
        return self


def _declared(f: Field) -> tuple[Any, Any]:
    """A field of the table as pydantic declares it: its type and its default or constraints."""
    if f.kind == "id":
        return str, PydField(pattern=r"^[0-9a-f]{32}$")  # as archive makes them: 32 hex digits
    if f.kind == "text":
        return str, PydField(min_length=1)
    if f.kind == "names":
        return list[str], PydField(default_factory=list)
    if f.kind == "count":
        return int, PydField(f.minimum, ge=f.minimum, le=MAX_INT)
    if f.kind == "source":
        return SourceIn, ...
    if f.kind == "date":
        return dt.date | None, None
    if f.kind == "time":
        return (dt.datetime, PydField(default_factory=utcnow)) if f.required else (dt.datetime | None, None)
    if f.kind == "choice":
        choice: Any = Literal.__getitem__(f.choices)
        return (choice, f.choices[0]) if f.required else (choice | None, None)
    return str | None, None


# The document as an import must give it: every field of the table, the store's own (the story)
# read but never taken from the file.
ArticleIn: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "ArticleIn", __base__=_Checks, **{f.name: _declared(f) for f in FIELDS})


def article_from_doc(doc: dict[str, Any]) -> Article:
    """A validated Article from its JSON form (``_id`` is accepted for ``id``); raises pydantic's
    ValidationError naming the first bad field."""
    if "id" not in doc and "_id" in doc:
        doc = {**doc, "id": doc["_id"]}
    m = ArticleIn.model_validate(doc)
    values = {f.name: getattr(m, f.name) for f in FIELDS if not f.derived}
    values["source"] = Source(**m.source.model_dump())  # type: ignore[attr-defined]
    for name in TIMES:
        if values[name] is not None:
            values[name] = _aware(values[name])
    return Article(**values)


def _aware(d: dt.datetime) -> dt.datetime:
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)
