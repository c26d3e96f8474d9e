"""The document's fields, declared once (SPEC.md, "The document").

Every form of an article is derived from this table: the JSON document (``Article.to_doc`` and
``from_stored``), what the parser fills in (``Article.from_parsed``, a new revision), the checks on
an imported document (:mod:`archive.validation`), the SQLite columns and MongoDB's BSON, Extended
JSON for ``mongoimport``, the CSV columns, Markdown front matter, ``archive parse`` and the web's
OpenAPI schema. ``tests/test_fields.py`` checks that each form carries every field here, so a field
added to the table (and to ``Article``, which must list the same names in the same order) reaches
them all. Nothing here imports anything of archive's.
"""

# Annotations are evaluated here (no ``from __future__ import annotations``): a NamedTuple's
# string annotations are compiled one by one at import, a cost every command pays.

from typing import Literal, NamedTuple

Kind = Literal["id", "text", "names", "date", "count", "source", "time", "str", "choice"]


class Field(NamedTuple):
    """One field: its JSON name and kind, and where it comes from and goes."""

    name: str
    kind: Kind
    required: bool = True  # False: may be null
    parsed: bool = False  # filled in by the parser (ParsedArticle has it); else the store's
    derived: bool = False  # decided by the store itself: an import cannot set it
    choices: tuple[str, ...] = ()  # a choice field's values
    minimum: int = 0  # a count's least value
    weight: float = 0.0  # how much a match here counts in search (0: not searched as a field)
    markdown: Literal["seed", "front", None] = None  # in an exported Markdown file: its text, its front matter


FIELDS: tuple[Field, ...] = (
    Field("id", "id"),
    Field("title", "text", parsed=True, weight=10.0, markdown="seed"),
    Field("authors", "names", parsed=True, weight=5.0, markdown="seed"),
    Field("published", "date", required=False, parsed=True, markdown="seed"),
    Field("body", "text", parsed=True, weight=1.0, markdown="seed"),
    Field("word_count", "count", parsed=True),
    Field("source", "source"),
    Field("revision", "count", minimum=1),
    Field("ingested_at", "time"),
    Field("updated_at", "time"),
    Field("deleted_at", "time", required=False),
    Field("url", "str", required=False, parsed=True, markdown="front"),
    Field("site", "str", required=False, parsed=True, markdown="front"),
    Field("tags", "names", parsed=True, weight=3.0, markdown="front"),
    Field("format", "choice", parsed=True, choices=("text", "markdown", "html")),
    Field("description", "str", required=False, parsed=True, markdown="front"),
    Field("date_source", "choice", required=False, parsed=True, choices=("text", "front-matter", "page", "path")),
    Field("story", "str", required=False, derived=True, markdown="front"),
)

NAMES = tuple(f.name for f in FIELDS)
BY_NAME = {f.name: f for f in FIELDS}
PARSED = tuple(f.name for f in FIELDS if f.parsed)
# The file's data inside ``source`` (its own record, archive.models.Source).
SOURCE_FIELDS = ("path", "sha256", "size", "mtime", "inode", "device")
TIMES = tuple(f.name for f in FIELDS if f.kind == "time")
SEARCH_WEIGHTS = {f.name: f.weight for f in FIELDS if f.weight}


def csv_columns() -> tuple[str, ...]:
    """The CSV columns: the fields in order, ``source`` as its path and sha256, the body last
    (long text at the end of a row reads best in a spreadsheet)."""
    cols: list[str] = []
    for f in FIELDS:
        if f.kind == "source":
            cols += ["path", "sha256"]
        elif f.name != "body":
            cols.append(f.name)
    return (*cols, "body")
