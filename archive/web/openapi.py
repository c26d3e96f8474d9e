"""The OpenAPI description of the JSON API (served at /openapi.json)."""

from __future__ import annotations

from typing import Any

from archive import __version__
from archive.fields import FIELDS, Field
from archive.web.query import SORTS


def _field_schema(f: Field) -> dict[str, Any]:
    """One field of archive.fields as JSON Schema."""
    nullable = not f.required
    if f.kind == "names":
        return {"type": "array", "items": {"type": "string"}}
    if f.kind == "source":
        return {"type": "object", "required": ["path", "sha256", "size", "mtime"],
                "properties": {n: {"type": t} for n, t in (("path", "string"), ("sha256", "string"),
                                                           ("size", "integer"), ("mtime", "number"),
                                                           ("inode", ["integer", "null"]),
                                                           ("device", ["integer", "null"]))}}
    if f.kind == "choice":
        return {"enum": [*f.choices, *([None] if nullable else [])]}
    base = {"count": "integer"}.get(f.kind, "string")
    out: dict[str, Any] = {"type": [base, "null"] if nullable else base}
    if f.kind == "date":
        out["format"] = "date"
    elif f.kind == "time":
        out["format"] = "date-time"
    return out


def article_schema() -> dict[str, Any]:
    """The stored document (SPEC.md, "The document"), from archive.fields."""
    return {"type": "object", "required": [f.name for f in FIELDS if f.required],
            "properties": {f.name: _field_schema(f) for f in FIELDS}}
_FILTERS: list[dict[str, Any]] = [
    {"name": "q", "in": "query", "schema": {"type": "string"},
     "description": 'The CLI\'s query syntax: words ANDed, "phrases", -exclusions, prefix*, a OR b.'},
    {"name": "author", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}, "explode": True,
     "description": "Any of these authors (case-insensitive, whole name)."},
    {"name": "tag", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}, "explode": True},
    {"name": "site", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}, "explode": True},
    {"name": "period", "in": "query", "schema": {"type": "string", "pattern": r"^\d{4}(-\d{2})?$"},
     "description": "A year or a month (YYYY or YYYY-MM)."},
    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "deleted", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]},
     "description": "1 includes articles whose file is gone."},
]
_PAGING: list[dict[str, Any]] = [
    {"name": "sort", "in": "query", "schema": {"type": "string", "enum": list(SORTS)}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    {"name": "cursor", "in": "query", "schema": {"type": "string"},
     "description": "next_cursor of the previous page."},
]
_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
_DOC = {"$ref": "#/components/schemas/Article"}
_HIT = {"allOf": [_DOC, {"type": "object", "properties": {"score": {"type": "number"},
                                                     "snippet": {"type": "string"}}}]}
_ERR = {"description": "bad request or unknown id",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}, "400": _ERR,
            "404": _ERR}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "archive", "version": __version__,
             "description": "Read-only API over an archive of news articles. Documents are exactly what "
                            "`archive export --format jsonl` writes."},
    "paths": {
        "/api/search": {"get": {"summary": "Ranked search (or, with no q, the newest articles)",
                                "parameters": _FILTERS + _PAGING,
                                "responses": _ok({"type": "object", "properties": {
                                    "total": {"type": "integer"}, "took_ms": {"type": "number"},
                                    "next_cursor": {"type": ["string", "null"]},
                                    "hits": {"type": "array", "items": _HIT},
                                    "warning": {"type": "string"},
                                    "suggestion": {"type": "string", "description":
                                                   "no hits: the query with misspelt words corrected"}}})}},
        "/api/articles/{id}": {"get": {"summary": "One article", "parameters": _ID, "responses": _ok(_DOC)}},
        "/api/articles/{id}/revisions": {"get": {"summary": "Every revision, oldest first, the current last",
                                                 "parameters": _ID,
                                                 "responses": _ok({"type": "array", "items": _DOC})}},
        "/api/stats": {"get": {"summary": "Counts: articles, deleted, failures, revisions, per author, tag, "
                                          "site and year", "parameters": _FILTERS[1:],
                               "responses": _ok({"type": "object"})}},
        "/api/facets": {"get": {"summary": "Counts by author, tag, site, year and month of what a query matches",
                                "parameters": _FILTERS, "responses": _ok({"type": "object"})}},
        "/api/stories": {"get": {"summary": "Stories (copies across outlets, saves of one page), largest and newest "
                                            "first, as `archive stories --format json`: min_size, limit, the filters",
                                 "parameters": _FILTERS[1:], "responses": _ok({"type": "array"})}},
        "/api/articles/{id}/similar": {"get": {"summary": "The articles most similar by content, ranked (limit)",
                                               "parameters": _ID, "responses": _ok({"type": "array"})}},
    },
    "components": {"schemas": {
        "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
        "Article": article_schema(),
    }},
}
