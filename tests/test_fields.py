"""The document is declared once (archive.fields, issue 21 #1): every form an article takes carries
every field of the table, so a field added there reaches all of them or this fails."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from archive.export import CSV_COLUMNS, to_ejson, to_markdown, write_csv
from archive.fields import FIELDS, NAMES, PARSED, SEARCH_WEIGHTS, SOURCE_FIELDS
from archive.models import Article, ParsedArticle, Source, parsed_doc
from archive.search.index import BOOSTS
from archive.store.records import Filters
from archive.validation import ArticleIn, article_from_doc
from archive.web.openapi import OPENAPI
from tests.conftest import make_store

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def _full(path: str = "/data/a.md") -> Article:
    """An article with a value other than the default in every field."""
    return Article(
        id="0123456789abcdef0123456789abcdef", title="Full title", body="A body of some words.",
        source=Source(path=path, sha256="a" * 64, size=21, mtime=1.5, inode=7, device=9),
        authors=["Ann Lee", "Bo Chan"], published=dt.date(2024, 4, 30), word_count=5, revision=2,
        ingested_at=T0, updated_at=T0 + dt.timedelta(hours=1), deleted_at=None, url="https://example.com/a",
        site="example.com", tags=["politics"], format="markdown", description="What it is about.",
        date_source="front-matter", story="fedcba9876543210fedcba9876543210")


def test_the_table_is_the_article() -> None:
    assert set(Article._fields) == set(NAMES)
    assert set(PARSED) <= set(ParsedArticle._fields)
    assert set(ArticleIn.model_fields) == set(NAMES)
    assert set(SEARCH_WEIGHTS) == set(BOOSTS)


def test_every_field_in_json_ejson_csv_openapi_and_parse_output() -> None:
    a = _full()
    doc = a.to_doc()
    assert list(doc) == list(NAMES)
    assert Article.from_stored(json.loads(json.dumps(doc))) == a
    ej = to_ejson(doc)
    assert set(ej) >= {"_id", *NAMES} - {"id"}
    assert all(ej[f.name] == {"$date": doc[f.name]} for f in FIELDS if f.kind == "time" and doc[f.name])
    out = io.StringIO()
    write_csv([doc], out)
    header = out.getvalue().splitlines()[0].split(",")
    assert header == list(CSV_COLUMNS)
    assert set(CSV_COLUMNS) == ({*NAMES} - {"source"}) | {"path", "sha256"}
    assert set(OPENAPI["components"]["schemas"]["Article"]["properties"]) == set(NAMES)
    parsed = ParsedArticle(**{n: (tuple(v) if isinstance(v, list) else v) for n, v in
                              ((n, getattr(a, n)) for n in PARSED)})
    shown = parsed_doc(parsed, a.source)
    assert set(shown) == {"path", "source", *PARSED}
    assert all(shown[n] == doc[n] for n in PARSED)


def test_an_import_keeps_every_field_but_the_stores_own() -> None:
    a = _full()
    back = article_from_doc(a.to_doc())
    assert back == a._replace(**{f.name: None for f in FIELDS if f.derived})


def test_markdown_front_matter_carries_every_field_it_declares() -> None:
    text = to_markdown(_full())
    front = text.split("---\n")[1]
    for f in FIELDS:
        if f.markdown == "front":
            assert f"{f.name}:" in front, f.name


@pytest.mark.parametrize("kind", ["sqlite", "mongomock"])
def test_both_stores_keep_every_field(kind: str, tmp_path: Path) -> None:
    a = _full()._replace(story=None)  # the store decides stories itself
    with make_store(kind, tmp_path) as store:
        assert store.put_articles([a]) == {"imported": 1, "updated": 0, "unchanged": 0, "conflict": 0}
        got = store.get(a.id)
        assert got is not None
        assert got._replace(story=None) == a
        assert [x.id for x in store.query(Filters(authors=("bo chan",), tags=("politics",)))] == [a.id]
        assert {h.article.id for h in store.search("politics", Filters())} == {a.id}
    assert len(SOURCE_FIELDS) == len(Source._fields)


def test_the_sort_names_are_declared_once() -> None:
    """Issue 21: the sort vocabulary lived in the CLI, the records and both stores, each spelled out."""
    from archive.cli.spec import SORTS as CLI_SORTS
    from archive.store.mongo.docs import _SORTS as MONGO_SORTS
    from archive.store.records import SORTS
    from archive.store.sqlite import _ORDER as SQLITE_SORTS

    assert set(SORTS) == set(CLI_SORTS) == set(MONGO_SORTS) == set(SQLITE_SORTS)
    assert all(spec[-1][0] == "_id" for spec in MONGO_SORTS.values())  # every order total
    assert all(clause.rsplit(",", 1)[-1].strip().startswith(("a.n", "a.id")) for clause in SQLITE_SORTS.values())
