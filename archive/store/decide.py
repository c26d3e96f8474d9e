"""The decisions both stores make the same way, as pure functions: each backend reads what they
need, calls them, and persists what they return."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from archive.models import Article, ParsedArticle, Source, parsed_values
from archive.store.records import Outcome, UpsertItem


class Change(NamedTuple):
    """What storing a parsed file does: the outcome, the article as it is to be stored, the
    earlier state to keep as a revision (an update), and whether the article is to be (re)placed
    in its stories (new, changed, or back from deletion) with the story it had (``story_of``).
    ``fields``: the article's parsed fields change though its bytes do not (a file read again by
    a newer parser): the whole article is written, no revision kept."""

    outcome: Outcome
    article: Article
    keep: Article | None = None
    place: bool = False
    story_of: str | None = None
    fields: bool = False


def upsert_change(old: Article | None, item: UpsertItem, now: dt.datetime) -> Change:
    """The change a parsed file makes to ``old``, the article found at its path (or the one it
    moved from; None: a new file). Same bytes: the file moved, came back or is unchanged, and
    only its file data is written; other bytes: the next revision, the old one kept."""
    src = item.source
    if old is None:
        return Change("new", Article.from_parsed(item.parsed, src), place=True)
    if old.source.sha256 == src.sha256:
        outcome: Outcome = ("moved" if old.source.path != src.path
                            else "undeleted" if old.deleted_at is not None else "unchanged")
        if item.reparse and (change := reparsed(old, item.parsed, src, now, outcome)) is not None:
            return change
        art = old._replace(source=src, deleted_at=None, updated_at=old.updated_at if outcome == "unchanged" else now)
        return Change(outcome, art, place=old.deleted_at is not None)
    new = next_revision(old, item.parsed, src, now)
    return Change("updated", new, keep=old, place=True, story_of=old.story)


def reparsed(old: Article, parsed: ParsedArticle, src: Source, now: dt.datetime, outcome: Outcome) -> Change | None:
    """The change a file read again makes when this parser makes other fields of the bytes
    ``old`` was parsed from (None: the same fields). Its revision stays (the file did not
    change); it is placed in its stories again when its text, address or liveness changed."""
    fields = parsed_values(parsed)
    if all(getattr(old, k) == v for k, v in fields.items()):
        return None
    art = old._replace(source=src, deleted_at=None, updated_at=now, **fields)
    place = old.deleted_at is not None or old.body != art.body or old.url != art.url
    if place:
        art = art._replace(story=None)
    return Change("reparsed" if outcome == "unchanged" else outcome, art, place=place,
                  story_of=old.story if place else None, fields=True)


ImportOutcome = str  # imported, updated, unchanged or conflict


def import_change(incoming: Article, old: Article | None, path_owner: str | None) -> tuple[ImportOutcome, Article]:
    """What importing ``incoming`` does given the article with its id (``old``) and the id of the
    article that holds its file (``path_owner``): nothing when it equals what is stored; a
    conflict when another article owns that file (never overwritten); else imported or updated.
    Stories are the store's to decide: an import keeps the stored one."""
    a = incoming._replace(story=old.story if old is not None else None)
    if old is not None and old.to_doc() == a.to_doc():
        return "unchanged", a
    if path_owner is not None and path_owner != a.id:
        return "conflict", a
    return ("updated" if old is not None else "imported"), a


def next_revision(old: Article, parsed: ParsedArticle, source: Source, now: dt.datetime) -> Article:
    """The article after its file changed: +1 revision, new content, same identity (its story is
    decided again when it is placed)."""
    return old._replace(source=source, revision=old.revision + 1, updated_at=now, deleted_at=None, story=None,
                        **parsed_values(parsed))
