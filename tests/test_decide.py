"""The decisions both stores share, called directly (issue 21 #2): each backend only persists them."""

from __future__ import annotations

import datetime as dt

from archive.models import Article, ParsedArticle, Source
from archive.store.decide import import_change, upsert_change
from archive.store.records import UpsertItem

NOW = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)


def _item(path: str, sha: str, body: str = "Body text here.") -> UpsertItem:
    return UpsertItem(ParsedArticle.of("Title", ("Ann",), None, body), Source(path=path, sha256=sha, size=1, mtime=1.0))


def _stored(path: str = "/a.txt", sha: str = "1" * 64, deleted: bool = False) -> Article:
    a = Article.from_parsed(_item(path, sha).parsed, _item(path, sha).source)
    return a._replace(story="s1", deleted_at=NOW if deleted else None)


def test_a_file_becomes_new_unchanged_moved_undeleted_or_updated() -> None:
    c = upsert_change(None, _item("/a.txt", "1" * 64), NOW)
    assert (c.outcome, c.place, c.keep) == ("new", True, None)
    old = _stored()
    c = upsert_change(old, _item("/a.txt", "1" * 64), NOW)
    assert (c.outcome, c.place, c.article.updated_at) == ("unchanged", False, old.updated_at)
    c = upsert_change(old, _item("/b.txt", "1" * 64), NOW)
    assert (c.outcome, c.article.source.path, c.article.updated_at, c.article.id) == ("moved", "/b.txt", NOW, old.id)
    c = upsert_change(_stored(deleted=True), _item("/a.txt", "1" * 64), NOW)
    assert (c.outcome, c.place, c.article.deleted_at) == ("undeleted", True, None)
    c = upsert_change(old, _item("/a.txt", "2" * 64, "Another body."), NOW)
    assert (c.outcome, c.keep, c.article.revision, c.article.body, c.story_of) == (
        "updated", old, old.revision + 1, "Another body.", "s1")


def test_a_file_read_again_changes_only_what_this_parser_reads_otherwise() -> None:
    """``--reparse``: the same bytes parsed otherwise rewrite the fields in place (no revision
    kept); the article is placed in its stories again only when its text, address or liveness
    changed; the same fields are unchanged; a move or a return keeps its own outcome."""
    old = _stored()
    same = _item("/a.txt", "1" * 64)._replace(reparse=True)
    assert upsert_change(old, same, NOW).outcome == "unchanged"
    retitled = same._replace(parsed=same.parsed._replace(title="Better title", authors=("Ann Lee",)))
    c = upsert_change(old, retitled, NOW)
    assert (c.outcome, c.keep, c.fields, c.place, c.article.revision) == ("reparsed", None, True, False, old.revision)
    assert (c.article.title, c.article.authors, c.article.story, c.article.updated_at) == (
        "Better title", ["Ann Lee"], "s1", NOW)
    rebodied = same._replace(parsed=ParsedArticle.of("Title", ("Ann",), None, "Body text here, without furniture."))
    c = upsert_change(old, rebodied, NOW)
    assert (c.outcome, c.place, c.story_of, c.article.word_count) == ("reparsed", True, "s1", 5)
    c = upsert_change(old, retitled._replace(source=retitled.source._replace(path="/b.txt")), NOW)
    assert (c.outcome, c.fields, c.article.title, c.article.source.path) == ("moved", True, "Better title", "/b.txt")
    c = upsert_change(_stored(deleted=True), retitled, NOW)
    assert (c.outcome, c.fields, c.place, c.article.deleted_at) == ("undeleted", True, True, None)
    assert upsert_change(old, retitled._replace(reparse=False), NOW).outcome == "unchanged"


def test_an_import_never_takes_another_articles_file_nor_sets_a_story() -> None:
    old = _stored()
    outcome, a = import_change(old._replace(story=None), old, old.id)
    assert (outcome, a.story) == ("unchanged", "s1")
    assert import_change(old._replace(title="New"), old, old.id)[0] == "updated"
    assert import_change(old, None, "someone-else")[0] == "conflict"
    outcome, a = import_change(old, None, None)
    assert (outcome, a.story) == ("imported", None)
