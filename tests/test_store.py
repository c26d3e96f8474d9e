"""One contract, every backend: SQLite, mongomock, and a real MongoDB when configured."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import shutil
import stat
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archive.errors import AmbiguousRef, NotFound
from archive.models import Failure
from archive.search.query import parse_query
from archive.store.base import Store
from archive.store.records import Filters, UpsertItem
from tests.conftest import article_text, item_for

Writer = Callable[..., Path]


def test_new_unchanged_updated_with_history(store: Store, write_article: Writer) -> None:
    p = write_article("a.txt", title="First", body="Original text.")
    [r1] = store.upsert_many([item_for(p)])
    assert r1.outcome == "new" and r1.revision == 1
    [r2] = store.upsert_many([item_for(p)])
    assert r2.outcome == "unchanged" and r2.id == r1.id
    write_article("a.txt", title="Second", body="Changed text.")
    [r3] = store.upsert_many([item_for(p)])
    assert (r3.outcome, r3.revision, r3.id) == ("updated", 2, r1.id)
    write_article("a.txt", title="Third", body="Changed again.")
    store.upsert_many([item_for(p)])
    art = store.get(r1.id)
    assert art and art.title == "Third" and art.revision == 3
    revs = store.revisions(r1.id)
    assert [(r.revision, r.title) for r in revs] == [(1, "First"), (2, "Second")]
    hist = store.history(r1.id)
    assert [h.revision for h in hist] == [1, 2, 3] and hist[-1].current
    assert len({h.sha256 for h in hist}) == 3


def test_a_file_read_again_by_another_parser_gets_its_fields_without_a_revision(store: Store,
                                                                                write_article: Writer) -> None:
    """``ingest --reparse``: the same bytes, parsed otherwise (an older archive's parser stored
    other fields) are stored as this parser reads them, in place: same id and revision, no revision
    kept, search, counts and facets as the fields now are; the same fields again are unchanged."""
    body = "Rivers across the region fell to record lows as the drought went on for a third month."
    p = write_article("a.txt", title="Rivers run dry", author="Ann Lee", body=body)
    q = write_article("b.txt", title="Rivers run dry again", author="Bo Chen", body=body + " Farmers wait.")
    now = item_for(p)
    old = now._replace(parsed=now.parsed._replace(title="Old headline", authors=("Wrong Person",),
                                                  tags=("politics, trump",)))
    [r1, rq] = store.upsert_many([old, item_for(q)])
    assert store.get(r1.id).title == "Old headline"  # type: ignore[union-attr]
    assert store.get(rq.id).story == r1.id  # type: ignore[union-attr]  # its copy: one story
    [same] = store.upsert_many([now])  # without --reparse the same bytes are unchanged
    assert same.outcome == "unchanged" and store.get(r1.id).title == "Old headline"  # type: ignore[union-attr]
    [r2] = store.upsert_many([now._replace(reparse=True)])
    assert (r2.outcome, r2.id, r2.revision) == ("reparsed", r1.id, 1)
    art = store.get(r1.id)
    assert art is not None and (art.title, art.authors, art.tags, art.revision) == (
        "Rivers run dry", ["Ann Lee"], [], 1)
    assert store.revisions(r1.id) == [] and [h.revision for h in store.history(r1.id)] == [1]
    assert [h.article.id for h in store.search("headline", Filters())] == []
    assert [h.article.id for h in store.search('"rivers run dry"', Filters())] != []
    assert [name for name, _ in store.stats(Filters()).authors] == ["Ann Lee", "Bo Chen"]
    assert store.facets("", Filters()).tags == []
    assert store.get(rq.id).story == r1.id  # type: ignore[union-attr]  # the same text: the story stays
    [r3] = store.upsert_many([now._replace(reparse=True)])
    assert r3.outcome == "unchanged"
    # a text read otherwise is placed again: here no longer a copy of the other
    new_body = now._replace(parsed=now.parsed._replace(body="A different text about harbours and ferries, "
                                                        "nothing like the other article at all here."),
                            reparse=True)
    [r4] = store.upsert_many([new_body])
    assert r4.outcome == "reparsed"
    assert store.get(r1.id).story is None and store.get(rq.id).story is None  # type: ignore[union-attr]


def test_known_at_and_failures_at_answer_for_the_paths_asked(store: Store, write_article: Writer) -> None:
    """The pipeline's questions (issue 21 #3): what the store holds of some paths, without bodies,
    and their failure rows, without reading every other one."""
    from archive.models import Failure

    a, b = write_article("a.txt", title="A"), write_article("b.txt", title="B")
    [ra, _] = store.upsert_many([item_for(a), item_for(b)])
    store.mark_deleted([str(b)])
    store.record_failures([Failure(path="/x/bad.txt", code="empty", reason="no text", size=0, mtime=1.0),
                           Failure(path="/x/other.txt", code="empty", reason="no text", size=0, mtime=1.0)])
    known = store.known_at([str(a), str(b), "/nowhere.txt"])
    assert set(known) == {str(a), str(b)}
    assert (known[str(a)].id, known[str(a)].sha256, known[str(a)].deleted) == (ra.id, item_for(a).source.sha256,
                                                                              False)
    assert known[str(b)].deleted
    assert [(f.path, f.code) for f in store.failures_at(["/x/bad.txt", str(a)])] == [("/x/bad.txt", "empty")]
    assert store.known_at([]) == {} and store.failures_at([]) == []


def test_delete_then_reappearance_is_the_same_document(store: Store, write_article: Writer) -> None:
    p = write_article("a.txt")
    [r] = store.upsert_many([item_for(p)])
    assert store.mark_deleted([str(p)]) == 1
    assert store.mark_deleted([str(p)]) == 0
    gone = store.get(r.id)
    assert gone and gone.deleted_at is not None
    assert store.count(Filters()) == 0 and store.count(Filters(include_deleted=True)) == 1
    [back] = store.upsert_many([item_for(p)])
    assert back.id == r.id and back.outcome == "undeleted"
    again = store.get(r.id)
    assert again and again.deleted_at is None


def test_move_keeps_identity(store: Store, write_article: Writer) -> None:
    p = write_article("a.txt")
    [r] = store.upsert_many([item_for(p)])
    q = p.with_name("b.txt")
    p.rename(q)
    item = item_for(q)
    [m] = store.upsert_many([UpsertItem(item.parsed, item.source, move_from=r.id)])
    assert (m.id, m.outcome) == (r.id, "moved")
    assert store.get_by_path(str(q)) and store.get_by_path(str(p)) is None
    cands = store.move_candidates(item.source.device or 0, item.source.inode or 0, item.source.sha256)
    assert [c.id for c in cands] == [r.id]


def test_move_onto_a_held_path_updates_the_holder(store: Store, write_article: Writer) -> None:
    """Decision: the document at the destination path keeps the path and takes the new
    content as a new revision; the moved document stays at its old path (the daemon then
    marks it deleted because its file is gone)."""
    a = write_article("a.txt", title="A", body="Alpha.")
    b = write_article("b.txt", title="B", body="Beta.")
    [ra, rb] = store.upsert_many([item_for(a), item_for(b)])
    a.replace(b)
    item = item_for(b)
    [res] = store.upsert_many([UpsertItem(item.parsed, item.source, move_from=ra.id)])
    assert (res.id, res.outcome, res.revision) == (rb.id, "updated", 2)
    store.mark_deleted([str(a)])
    moved = store.get(ra.id)
    assert moved and moved.deleted_at is not None
    holder = store.get(rb.id)
    assert holder and holder.title == "A"


def test_search_ranks_words_phrases_exclusions(store: Store, write_article: Writer) -> None:
    items = [
        item_for(write_article("1.txt", title="Troops in Iraq", body="Soldiers stayed in the region.")),
        item_for(write_article("2.txt", title="Markets", body="Iraq oil exports rose; troops were not mentioned.")),
        item_for(write_article("3.txt", title="Weather", body="Rain in Paris and a café opened.", author="Anne Café")),
    ]
    store.upsert_many(items)
    hits = list(store.search("iraq troops", Filters()))
    assert [h.article.title for h in hits] == ["Troops in Iraq", "Markets"]  # title weighs more
    assert hits[0].score >= hits[1].score
    assert "\x02" in hits[1].snippet
    assert [h.article.title for h in store.search('"oil exports"', Filters())] == ["Markets"]
    assert [h.article.title for h in store.search('"exports oil"', Filters())] == []
    assert [h.article.title for h in store.search("iraq -oil", Filters())] == ["Troops in Iraq"]
    assert [h.article.title for h in store.search("cafe", Filters())] == ["Weather"]  # diacritics
    assert [h.article.title for h in store.search("CAFÉ paris", Filters())] == ["Weather"]
    assert [h.article.title for h in store.search("mark*", Filters())] == ["Markets"]
    assert next(iter(store.search("iraq", Filters(), limit=1))).article.title == "Troops in Iraq"
    assert {h.article.title for h in store.search("-iraq", Filters())} == {"Weather"}


@pytest.mark.parametrize(
    "query",
    ["state-of-the-art", "don't", "U.S.", "a:b", 'unbalanced "quote', "iraq AND", "NEAR(", "*foo", "(", ")",
     '"', "-", "--", "'", "^", "title:x", "OR", "NOT", "\x00", "\u202e", "a" * 5000, "{\"$ne\": null}", ""],
)
def test_any_text_is_a_valid_query(store: Store, write_article: Writer, query: str) -> None:
    store.upsert_many([item_for(write_article("1.txt", body="State-of-the-art U.S. gear, don't ask."))])
    list(store.search(query, Filters()))


def test_hostile_looking_queries_still_find(store: Store, write_article: Writer) -> None:
    store.upsert_many([item_for(write_article("1.txt", body="State-of-the-art U.S. gear, don't ask."))])
    for q in ["state-of-the-art", "U.S.", "don't", "gear AND"]:
        assert len(list(store.search(q, Filters()))) == 1, q


def test_or_alternatives_on_every_backend(store: Store, write_article: Writer) -> None:
    store.upsert_many([
        item_for(write_article("1.txt", title="Troops in Iraq", body="Soldiers stayed in the region.")),
        item_for(write_article("2.txt", title="Markets", body="Iran oil exports rose.")),
        item_for(write_article("3.txt", title="Weather", body="Rain in Paris.")),
    ])

    def titles(q: str) -> list[str]:
        return sorted(h.article.title for h in store.search(q, Filters()))

    assert titles("iraq OR iran") == ["Markets", "Troops in Iraq"]
    assert titles("soldiers OR oil -exports") == ["Troops in Iraq"]
    assert titles('"oil exports" OR rain') == ["Markets", "Weather"]
    assert titles("iraq OR iran troops") == ["Troops in Iraq"]  # (iraq or iran) and troops
    assert store.count_matches("iraq OR iran", Filters()) == 2
    assert store.count_matches("paris -rain", Filters()) == 0


def test_facets_of_a_filter_count_every_match(store: Store, write_article: Writer) -> None:
    """The facets a backend counts itself (SQLite: side tables; MongoDB: one aggregation) equal
    those counted from the matching articles, ties in order; a name or tag written in several
    cases is one value, shown in the spelling of one article that has it."""
    from archive.store.records import count_facets, fold_name

    def folded(f: Any) -> Any:
        return f._replace(authors=[(fold_name(n), c) for n, c in f.authors],
                          tags=[(fold_name(n), c) for n, c in f.tags])

    def clip(name: str, title: str, date: str | None, authors: list[str], tags: list[str], site: str | None) -> Path:
        head = [f"title: {title}", f"authors: {authors}", f"tags: {tags}"]
        head += [f"published: {date}"] if date else []
        head += [f"url: https://{site}/x/{name}"] if site else []
        return write_article(name, "---\n" + "\n".join(head) + "\n---\n\nBody of " + title + ".\n")

    store.upsert_many([item_for(p) for p in (
        clip("1.md", "One", "2020-01-05", ["Jane Doe", "Bob Roe"], ["Energy", "oil"], "news.example"),
        clip("2.md", "Two", "2021-03-01", ["JANE DOE"], ["energy"], "news.example"),
        clip("3.md", "Three", None, ["Ann Zed"], [], None),
        clip("4.md", "Four", "2020-02-10", ["ann zed", "Bob Roe"], ["Oil"], "other.example"),
        clip("5.md", "Five", "2019-12-31", [], ["Gas"], "other.example"),
    )])
    for flt in (Filters(), Filters(sites=["news.example"]), Filters(tags=["oil"]),
                Filters(since=dt.date(2020, 1, 1))):
        got = store.facets("", flt, limit=10)
        want = count_facets(store.query(flt), 10)
        assert folded(got) == folded(want), flt
        for (name, _), (key, _) in zip(got.authors + got.tags, folded(got).authors + folded(got).tags, strict=True):
            assert name in {"Jane Doe", "JANE DOE", "Bob Roe", "Ann Zed", "ann zed", "Energy", "energy", "oil",
                            "Oil", "Gas"} and fold_name(name) == key
    f = folded(store.facets("", Filters()))
    assert f.total == 5 and f.authors == [("ann zed", 2), ("bob roe", 2), ("jane doe", 2)]
    assert f.tags == [("energy", 2), ("oil", 2), ("gas", 1)]
    assert f.years == [("2019", 1), ("2020", 2), ("2021", 1)]


def test_parse_query() -> None:
    q = parse_query('iraq "oil exports" -war -"civil war" mark* ')
    assert [t.words for t in q.positive] == [("iraq",), ("oil", "exports"), ("mark",)]
    assert q.positive[2].prefix
    assert [t.words for t in q.negative] == [("war",), ("civil", "war")]
    q = parse_query("a OR b c OR OR d -e OR f")
    assert [[t.words for t in g] for g in q.any_of] == [[("a",), ("b",)], [("c",), ("d",)]]
    assert [t.words for t in q.positive] == [("f",)] and [t.words for t in q.negative] == [("e",)]
    assert [t.words for t in parse_query("OR").positive] == [("OR",)]  # alone, it is a word


def test_filters(store: Store, write_article: Writer) -> None:
    store.upsert_many([
        item_for(write_article("1.txt", text="# Old\n\nAda Lovelace and Charles Babbage\n5 May 1843\n\nEngines.")),
        item_for(write_article("2.txt", text="# Mid\n\nCharles Babbage\n1 January 1969\n\nMore engines.")),
        item_for(write_article("3.txt", text="# New\n\nGrace Hopper\n2020-02-02\n\nCompilers.")),
        item_for(write_article("4.txt", text="# Undated\n\nGrace Hopper\n\nNo date here.")),
    ])
    titles = lambda f, **k: [a.title for a in store.query(f, **k)]  # noqa: E731
    assert titles(Filters()) == ["New", "Mid", "Old", "Undated"]
    assert titles(Filters(), sort="title") == ["Mid", "New", "Old", "Undated"]
    assert titles(Filters(authors=("charles BABBAGE",))) == ["Mid", "Old"]
    assert titles(Filters(authors=("grace hopper", "ada lovelace"))) == ["New", "Old", "Undated"]
    assert titles(Filters(authors=('{"$ne": null}',))) == []
    assert titles(Filters(since=dt.date(1843, 5, 5), until=dt.date(1969, 1, 1))) == ["Mid", "Old"]
    assert titles(Filters(until=dt.date(1969, 12, 31))) == ["Mid", "Old"]
    assert titles(Filters(), limit=2) == ["New", "Mid"]
    assert store.count(Filters(since=dt.date(1900, 1, 1))) == 2
    # A search under dates alone (SQLite: the index's date field, boundary days included)
    hits = lambda f: sorted(h.article.title for h in store.search("engines OR compilers", f))  # noqa: E731
    assert hits(Filters(since=dt.date(1843, 5, 5), until=dt.date(1969, 1, 1))) == ["Mid", "Old"]
    assert hits(Filters(since=dt.date(1843, 5, 6))) == ["Mid", "New"]
    assert hits(Filters(until=dt.date(1843, 5, 5))) == ["Old"]
    assert hits(Filters(until=dt.date(1843, 5, 4))) == []
    old = next(iter(store.query(Filters(until=dt.date(1900, 1, 1)))))
    assert old.published == dt.date(1843, 5, 5)
    assert isinstance(store.query(Filters()), types.GeneratorType)


def test_a_page_of_hits_and_its_total(store: Store, write_article: Writer, monkeypatch: pytest.MonkeyPatch) -> None:
    """``search_counted``: the first hits of a search and how many match in all, as ``search`` and
    ``count_matches`` say (SQLite counts them while its index ranks them: no second walk)."""
    for i in range(7):
        body = "Harbour ferry news. " * (i + 1) + ("Storm." if i % 2 else "")
        store.upsert_many([item_for(write_article(f"{i}.txt", title=f"T{i}", body=body))])
    store.mark_deleted([str(write_article("6.txt", title="T6", body=("Harbour ferry news. " * 7)))])
    cases = [(q, f) for q in ("ferry", "storm", "harbour -storm", "nothing", "-storm")
             for f in (Filters(), Filters(include_deleted=True), Filters(since=dt.date(1990, 1, 1)))]
    want = {c: ([h.article.id for h in store.search(*c, 3)], store.count_matches(*c)) for c in cases}
    if type(store).__name__ == "SQLiteStore":
        from archive.store.sqlite_search import SQLiteSearch

        monkeypatch.setattr(SQLiteSearch, "count_matches", lambda *a: (_ for _ in ()).throw(AssertionError(a)))
        want = {c: w for c, w in want.items() if c[0] != "-storm"}  # an exclusion alone is listed by date
    for c, w in want.items():
        hits, total = store.search_counted(*c, 3)
        assert ([h.article.id for h in hits], total) == w, c
    assert want[("ferry", Filters())][1] == 6 and want[("ferry", Filters(include_deleted=True))][1] == 7


def test_long_bodies_and_unicode(store: Store, write_article: Writer) -> None:
    body = " ".join(f"Word{i} ünïcödé." for i in range(60000))
    [r] = store.upsert_many([item_for(write_article("big.txt", body=body))])
    art = store.get(r.id)
    assert art and art.body == body and art.word_count == 120000
    assert [h.article.id for h in store.search("word59999", Filters())] == [r.id]


def test_resolve_id_prefix_and_path(store: Store, write_article: Writer) -> None:
    paths = [write_article(f"{i}.txt", title=f"T{i}") for i in range(40)]
    res = store.upsert_many([item_for(p) for p in paths])
    one = res[0]
    assert store.resolve(one.id).id == one.id
    assert store.resolve(str(paths[0])).id == one.id
    unique = next(r.id[:n] for n in range(4, 33) for r in [one]
                  if sum(x.id.startswith(r.id[:n]) for x in res) == 1)
    assert store.resolve(unique).id == one.id
    with pytest.raises(NotFound):
        store.resolve("zzzz-not-there")
    with pytest.raises(AmbiguousRef) as info:
        # 40 random ids over 16 first digits: some digit is shared.
        shared = next(d for d in "0123456789abcdef" if sum(x.id.startswith(d) for x in res) > 1)
        store.resolve(shared)
    assert len(info.value.candidates) > 1


def test_failures_recorded_and_cleared(store: Store, write_article: Writer) -> None:
    p = write_article("bad.txt", text="")
    store.record_failures([Failure(path=str(p), code="empty", reason="empty: the file has no text", size=0)])
    store.record_failures([Failure(path=str(p), code="empty", reason="empty: again", size=0)])
    fails = list(store.failures())
    assert [(f.path, f.reason) for f in fails] == [(str(p), "empty: again")]
    write_article("bad.txt")
    store.upsert_many([item_for(p)])
    assert list(store.failures()) == []


def test_stats_and_duplicates(store: Store, write_article: Writer) -> None:
    a = write_article("a.txt", author="Jane Doe")
    b = write_article("b.txt", author="jane doe")  # same content but for the author case
    c = write_article("sub/c.txt", author="Jane Doe")
    store.upsert_many([item_for(a), item_for(b), item_for(c)])
    store.mark_deleted([str(b)])
    s = store.stats(Filters())
    assert (s.articles, s.deleted, s.revisions, s.failures) == (2, 1, 0, 0)
    assert s.authors == [("Jane Doe", 2)]
    assert s.years == [("2017", 2)]
    groups = store.duplicates()
    assert [[x.source.path for x in g] for g in groups] == [[str(a), str(c)]]


def test_known_files_by_prefix(store: Store, write_article: Writer, tmp_path: Path) -> None:
    a = write_article("x/a.txt")
    b = write_article("x2/b.txt")
    store.upsert_many([item_for(a), item_for(b)])
    got = [k.path for k in store.known_files(str(tmp_path / "articles" / "x"))]
    assert got == [str(a)]
    assert len(list(store.known_files())) == 2


def test_put_articles_round_trip(store: Store, write_article: Writer, tmp_path: Path) -> None:
    p = write_article("a.txt", title="One")
    [r] = store.upsert_many([item_for(p)])
    write_article("a.txt", title="Two")
    store.upsert_many([item_for(p)])
    art, revs = store.get(r.id), store.revisions(r.id)
    assert art
    from tests.conftest import make_store

    for kind in ("sqlite", "mongomock"):
        other = make_store(kind, tmp_path / kind)
        assert other.put_articles([art], revs) == {"imported": 1, "updated": 0, "unchanged": 0, "conflict": 0}
        assert other.put_articles([art]) == {"imported": 0, "updated": 0, "unchanged": 1, "conflict": 0}
        got = other.get(r.id)
        assert got and got.to_doc() == art.to_doc()
        assert [x.to_doc() for x in other.revisions(r.id)] == [x.to_doc() for x in revs]
        squatter = art._replace(id="f" * 32)
        assert other.put_articles([squatter])["conflict"] == 1  # the path is taken: nothing is overwritten
        assert other.get(r.id) and other.get("f" * 32) is None
        other.close()


def test_daemon_lock(store: Store) -> None:
    h1 = {"token": "t1", "pid": 1, "host": "h"}
    assert store.acquire_lock("k", h1, lambda old: False) is None
    held = store.acquire_lock("k", {"token": "t2", "pid": 2, "host": "h"}, lambda old: False)
    assert held and held["pid"] == 1
    assert store.heartbeat("k", "t1", {"backlog": 3})
    assert store.acquire_lock("k", {"token": "t3", "pid": 3, "host": "h"}, lambda old: True) is None
    assert not store.heartbeat("k", "t1", {"backlog": 4})  # lost it
    store.release_lock("k", "t3", {"stopped_at": "x"})
    assert store.acquire_lock("k", {"token": "t4", "pid": 4, "host": "h"}, lambda old: False) is None
    assert [d["pid"] for d in store.daemons()] == [4]


# ---------------------------------------------------------------- SQLite only


@pytest.mark.slow
def test_sqlite_search_index_stays_exact_after_1000_reingests(sqlite_store: Store, write_article: Writer) -> None:
    from archive.store.sqlite import SQLiteStore

    assert isinstance(sqlite_store, SQLiteStore)
    p = write_article("a.txt")
    for i in range(1000):
        write_article("a.txt", body=f"Body version {i}.")
        sqlite_store.upsert_many([item_for(p)])
    assert [n for n, _ in sqlite_store.fulltext._index().every_rowid()] == [1]
    assert sqlite_store.index_consistent()
    assert [h.article.body for h in sqlite_store.search("version", Filters())] == ["Body version 999."]
    assert list(sqlite_store.search("998", Filters())) == []


def test_sqlite_bulk_load_checkpoints_less_often_and_only_while_it_lasts(sqlite_store: Store,
                                                                        write_article: Writer) -> None:
    from archive.store.sqlite import BULK_CHECKPOINT_PAGES, SQLiteStore

    assert isinstance(sqlite_store, SQLiteStore)

    def every() -> int:
        return int(sqlite_store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0])

    assert every() == 1000
    with sqlite_store.bulk():
        with sqlite_store.bulk():  # nested: the outer one owns the setting
            sqlite_store.upsert_many([item_for(write_article("a.txt"))])
        assert every() == BULK_CHECKPOINT_PAGES > 1000
    assert every() == 1000  # the daemon between scans: SQLite's default
    assert [a.title for a in sqlite_store.query(Filters())] == ["A title"]
    # A load of more than a batch is checkpointed when it ends: its rows are in the file itself,
    # not left in the WAL for the next write (the daemon's next event) to copy.
    size = os.path.getsize(sqlite_store.path)
    with sqlite_store.bulk():
        sqlite_store.upsert_many([item_for(write_article(f"b{i}.txt", body="Words " * 200)) for i in range(600)])
    assert os.path.getsize(sqlite_store.path) > size + 600 * 1000


def test_sqlite_bulk_end_never_hides_what_happened_inside(sqlite_store: Store) -> None:
    """A store closed inside a bulk load (the daemon reopens a replaced one): the fault that
    ended the load is what the caller sees, not the closed connection's."""
    with pytest.raises(LookupError), sqlite_store.bulk():
        sqlite_store.close()
        raise LookupError


def test_sqlite_file_is_user_only_and_versioned(tmp_path: Path) -> None:
    from archive.store.sqlite import SCHEMA_VERSION, SQLiteStore

    s = SQLiteStore(tmp_path / "new" / "x.db")
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "x.db").st_mode) == 0o600
    assert s.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    s.close()
    SQLiteStore(tmp_path / "new" / "x.db").close()  # reopening migrates nothing


def test_sqlite_refuses_newer_schema(tmp_path: Path) -> None:
    import sqlite3

    from archive.errors import StoreError
    from archive.store.sqlite import SQLiteStore

    SQLiteStore(tmp_path / "x.db").close()
    db = sqlite3.connect(tmp_path / "x.db")
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        SQLiteStore(tmp_path / "x.db")


def _upsert_in_process(db: str, path: str, n: int) -> None:
    import traceback

    from archive.store.sqlite import SQLiteStore

    try:
        s = SQLiteStore(db, busy_timeout=30)
        for _ in range(n):
            s.upsert_many([item_for(Path(path))])
        s.close()
    except BaseException:
        with open(db + f".error-{os.getpid()}", "w") as fh:
            fh.write(traceback.format_exc())
        raise


@pytest.mark.slow
def test_sqlite_two_processes_upserting_one_file(tmp_path: Path, write_article: Writer) -> None:
    p = write_article("a.txt")
    db = str(tmp_path / "x.db")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_upsert_in_process, args=(db, str(p), 50)) for _ in range(2)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(120)
    errors = "".join(f.read_text() for f in tmp_path.glob("x.db.error-*"))
    assert [pr.exitcode for pr in procs] == [0, 0], f"a writer process failed or hung:\n{errors}"
    from archive.store.sqlite import SQLiteStore

    s = SQLiteStore(db)
    assert s.count(Filters(include_deleted=True)) == 1
    assert s.index_consistent()
    s.close()


def test_sqlite_locked_database_is_unavailable(tmp_path: Path, write_article: Writer) -> None:
    import sqlite3

    from archive.errors import StoreUnavailable
    from archive.store.sqlite import SQLiteStore

    s = SQLiteStore(tmp_path / "x.db", busy_timeout=0.3)
    other = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreUnavailable):
        s.upsert_many([item_for(write_article("a.txt"))])
    other.execute("ROLLBACK")
    assert s.upsert_many([item_for(write_article("a.txt"))])[0].outcome == "new"
    other.close()
    s.close()


def test_article_text_helper_is_parseable() -> None:
    from archive.parsing import parse_bytes

    assert parse_bytes(article_text().encode()).authors == ("Jane Doe",)


def _open_at_once(db: str, barrier: Any) -> None:
    from archive.store.sqlite import SQLiteStore

    barrier.wait()
    SQLiteStore(db, busy_timeout=10).close()


@pytest.mark.slow
def test_sqlite_processes_opening_a_new_store_at_once(tmp_path: Path) -> None:
    """A daemon and CLI commands started together on a fresh store: every open succeeds
    (switching a new file to WAL used to fail with "database is locked")."""
    ctx = multiprocessing.get_context("forkserver")
    for i in range(15):
        db = str(tmp_path / f"r{i}.db")
        barrier = ctx.Barrier(4)
        procs = [ctx.Process(target=_open_at_once, args=(db, barrier)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0, 0, 0, 0], f"round {i}"


@pytest.mark.parametrize("sort", ["-published", "published"])
def test_keyset_pages_walk_the_whole_list_once(store: Store, write_article: Writer, sort: str) -> None:
    from archive.store.records import Filters

    texts = [("a.txt", "5 May 2017"), ("b.txt", "5 May 2017"), ("c.txt", "1 June 2018"), ("d.txt", None),
             ("e.txt", None), ("f.txt", "2 January 2001")]
    for name, date in texts:
        body = f"# {name}\n\nJane Doe\n" + (f"{date}\n" if date else "") + "\nBody text.\n"
        store.upsert_many([item_for(write_article(name, body))])
    every = [a.id for a in store.query(Filters(), sort=sort)]  # type: ignore[arg-type]
    assert len(every) == 6
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = list(store.query(Filters(after=after, after_ascending=sort == "published"), sort=sort,  # type: ignore[arg-type]
                                limit=2))
        if not page:
            break
        seen += [a.id for a in page]
        last = page[-1]
        after = (last.published.isoformat() if last.published else None, last.id)
    assert seen == every


def test_every_script_and_tokens_as_typed_are_found_on_every_backend(store: Store, write_article: Writer) -> None:
    """Chinese, Japanese and Korean words inside sentences; C++, C#, .NET and U.S. as typed, not
    as their letters (issue 23)."""
    store.upsert_many([
        item_for(write_article("zh.txt", title="科技新闻", body="我们今天讨论人工智能的发展。我买了一台新电脑。")),
        item_for(write_article("ja.txt", title="ニュース", body="このモデルのパラメーターは多いです。")),
        item_for(write_article("ko.txt", title="뉴스", body="서울에서 회의가 열렸습니다.")),
        item_for(write_article("code.txt", title="Languages", body="She writes C++ and C# for the .NET runtime.")),
        item_for(write_article("c.txt", title="Letters", body="Plan c was dropped; the letter c stays.")),
        item_for(write_article("us.txt", title="Trade", body="The U.S. economy grew, officials told us.")),
        item_for(write_article("pron.txt", title="Pronoun", body="They told us nothing at all.")),
    ])

    def titles(q: str) -> list[str]:
        return sorted(h.article.title for h in store.search(q, Filters()))

    assert titles("人工智能") == ["科技新闻"]
    assert titles("新电脑") == ["科技新闻"]
    assert titles("电脑 发展") == ["科技新闻"]
    assert titles("智能电脑") == []  # the characters, but not as one word
    assert titles("パラメーター") == ["ニュース"]
    assert titles("서울") == ["뉴스"]
    assert titles("C++") == ["Languages"]
    assert titles("c") == ["Letters"]
    assert titles("C#") == ["Languages"]
    assert titles(".NET") == ["Languages"]
    assert titles("U.S.") == ["Trade"]
    assert titles("us") == ["Pronoun", "Trade"]
    assert store.count_matches("人工智能", Filters()) == 1
    zh = next(h for h in store.search("人工智能", Filters()))
    assert zh.article.word_count == len("我们今天讨论人工智能的发展我买了一台新电脑")  # a CJK character is a word
    assert "**人工智能**" in zh.to_doc()["snippet"]  # marked as typed, inside its sentence


def test_similar_ranks_articles_by_shared_content_on_every_backend(store: Store, write_article: Writer) -> None:
    """``similar`` (SPEC): the articles most like one by content, best first, never itself."""
    store.upsert_many([
        item_for(write_article("a.txt", title="Glacier retreat in the Alps",
                               body="Glaciers in the Alps retreated again; glaciologists measured the melt.")),
        item_for(write_article("b.txt", title="Alpine glaciers melt faster",
                               body="Glaciologists say the glaciers of the Alps melt faster each summer.")),
        item_for(write_article("c.txt", title="Budget talks stall", body="Parliament failed to agree a budget.")),
        item_for(write_article("d.txt", title="Football final", body="The final ended in extra time.")),
    ])
    a = next(x for x in store.query(Filters()) if x.title.startswith("Glacier retreat"))
    hits = store.similar(a, 3)
    assert hits and hits[0].article.title == "Alpine glaciers melt faster"
    assert a.id not in {h.article.id for h in hits}
    assert all(h.score > 0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_hashtag_is_the_same_tag_as_its_words(store: Store, write_article: Writer) -> None:
    """Issue 23 #7: facet values split by spelling ("#donald trump" / "donald trump"): a tag is now
    compared case-folded and without its "#", shown without it, and found either way."""
    tags = [("#Donald Trump",), ("donald trump",), ("Donald  Trump", "#oil")]
    items = [item_for(write_article(f"h{i}.txt", title=f"H{i}")) for i in range(3)]
    store.upsert_many([it._replace(parsed=it.parsed._replace(tags=t)) for it, t in zip(items, tags, strict=True)])
    f = store.facets("", Filters())
    assert [(n.casefold().replace("  ", " "), c) for n, c in f.tags] == [("donald trump", 3), ("oil", 1)]
    assert all(not n.startswith("#") for n, _ in f.tags)
    for t in ("#donald trump", "Donald Trump", "DONALD TRUMP"):
        assert store.count(Filters(tags=[t])) == 3, t
    assert store.count(Filters(tags=["oil"])) == store.count(Filters(tags=["#OIL"])) == 1


def _before_schema_9(db: Any) -> None:
    """What a store before schema 9 lacked: the kept counts and their triggers, the site keys."""
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tallies%'"):
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE tallies")
    db.execute("DROP INDEX articles_site_key")
    db.execute("ALTER TABLE articles DROP COLUMN site_key")
    db.execute("CREATE INDEX articles_site ON articles(site) WHERE site IS NOT NULL")


def test_a_schema_8_sqlite_store_counts_what_it_holds(tmp_path: Path, write_article: Writer) -> None:
    """Schema 9 keeps the counts of the whole store; an older store's are counted once, on upgrade,
    and kept from then on."""
    from archive.store.sqlite import SQLiteStore

    s = SQLiteStore(tmp_path / "old.db")
    items = [item_for(write_article(f"a{i}.txt", title=f"S{i}", body="Words " * (i + 1))) for i in range(4)]
    s.upsert_many([it._replace(parsed=it.parsed._replace(authors=("Ann Lee",) * (i % 2), tags=("Oil",),
                                                         site="Site" if i else None, published=None if i == 3
                                                         else dt.date(2020, i + 1, 1)))
                   for i, it in enumerate(items)])
    s.mark_deleted([items[0].source.path])
    s.upsert_many([item_for(write_article("a1.txt", title="S1 again", body="Other words."))])  # a revision kept
    with s.db:  # schema 8 kept a name folded alike twice
        s.db.execute("""UPDATE articles SET authors = '["Ann Lee","ANN LEE"]', authors_key = '["ann lee","ann lee"]'
                        WHERE path = ?""", (items[1].source.path,))
        _before_schema_9(s.db)
        s.db.execute("PRAGMA user_version=8")
    s.close()
    shutil.rmtree(tmp_path / "old.db-search")  # schema 8's index was of a format made again from the table
    s = SQLiteStore(tmp_path / "old.db")
    try:
        st = s.stats(Filters())
        want = _counted_in_python(s)
        assert (st.articles, st.words, st.deleted, st.revisions, dict(st.tags), dict(st.years)) == (
            want["articles"], want["words"], want["deleted"], want["revisions"], {"Oil": 2}, dict(want["years"]))
        assert want["revisions"] == 1 and st.deleted == 1 and dict(st.sites) == dict(want["sites"])
        assert st.authors == [("Ann Lee", 2)] == s.facets("", Filters(authors=["ann lee"])).authors
        s.mark_deleted([items[2].source.path])
        assert s.stats(Filters()).articles == 2 and s.facets("", Filters()).total == 2
    finally:
        s.close()


def test_an_older_sqlite_stores_hashtag_keys_are_made_again(tmp_path: Path, write_article: Writer) -> None:
    from archive.store.sqlite import SQLiteStore

    s = SQLiteStore(tmp_path / "old.db")
    it = item_for(write_article("a.txt"))
    s.upsert_many([it._replace(parsed=it.parsed._replace(tags=("#Oil", "Gas")))])
    with s.db:  # what schema 6 kept: the '#'
        s.db.execute("""UPDATE articles SET tags_key = '["#oil","gas"]'""")
        s.db.execute("ALTER TABLE story_sigs DROP COLUMN sketch")  # nor the sketches of schema 8
        _before_schema_9(s.db)
        s.db.execute("PRAGMA user_version=6")
    s.close()
    s = SQLiteStore(tmp_path / "old.db")
    assert s.count(Filters(tags=["oil"])) == 1 and s.facets("", Filters()).tags == [("Gas", 1), ("Oil", 1)]
    s.close()


def test_a_schema_7_sqlite_store_is_made_again_with_its_body_last_and_its_story_sketches(
        tmp_path: Path, write_article: Writer) -> None:
    """Schema 8: columns added since v1 sat after the body (reading them walked its overflow
    pages); the table is made again, nothing lost, and the articles already indexed for stories get
    the fine sketch that lets the keeper pass over most candidates."""
    from archive.store.sqlite import SQLiteStore
    from archive.stories.signature import signature

    s = SQLiteStore(tmp_path / "old.db")
    bodies = [" ".join(f"w{i}x{j * 7 % 41}" for j in range(120)) for i in range(3)]
    items = [item_for(write_article(f"a{i}.txt", title=f"Story {i}", body=b)) for i, b in enumerate(bodies)]
    s.upsert_many([it._replace(parsed=it.parsed._replace(tags=("Oil",), url=f"https://example.com/{i}"))
                   for i, it in enumerate(items)])
    before = {a.id: a for a in s.query(Filters())}
    with s.db:  # what schema 7 was: no sketches, the body before the later columns
        s.db.execute("ALTER TABLE story_sigs DROP COLUMN sketch")
        s.db.execute("ALTER TABLE articles DROP COLUMN story_similarity")
        s.db.execute("ALTER TABLE articles ADD COLUMN story_similarity REAL")
        _before_schema_9(s.db)
        s.db.execute("PRAGMA user_version=7")
    assert [r[1] for r in s.db.execute("PRAGMA table_info(articles)")][-1] != "body"
    s.close()
    s = SQLiteStore(tmp_path / "old.db")
    try:  # (schema 9's site key, read with the body or from its index only, follows it)
        assert [r[1] for r in s.db.execute("PRAGMA table_info(articles)")][-2:] == ["body", "site_key"]
        assert {a.id: a for a in s.query(Filters())} == before
        assert s.count(Filters(tags=["oil"])) == 3 and [h.article.title for h in s.search("story 1", Filters())][:1]
        sketches = dict(s.db.execute("SELECT a.body, g.sketch FROM story_sigs g JOIN articles a ON a.n = g.n"))
        assert len(sketches) == 3 and all(v == signature(b).sketch for b, v in sketches.items())
    finally:
        s.close()


def test_stats_and_facets_of_everything_count_the_live_articles_only(store: Store, write_article: Writer) -> None:
    """Counts over every live article set the deleted aside (SQLite no longer lists every live
    rowid first): the same figures as counting the live articles one by one, with and without
    a filter."""
    from collections import Counter

    names = [("Ann Lee",), ("Ann Lee", "Bo Ray"), ("Bo Ray",), ("Cy Ng",), ("Ann Lee",)]
    paths = [write_article(f"s{i}.txt", title=f"S{i}", body=f"Text number {i}.") for i in range(len(names))]
    store.upsert_many([item_for(p)._replace(parsed=item_for(p).parsed._replace(
        authors=a, tags=(f"T{i % 2}",), site=f"Site {i % 3}"))
        for i, (p, a) in enumerate(zip(paths, names, strict=True))])
    store.mark_deleted([str(paths[3]), str(paths[4])])
    live = list(store.query(Filters()))
    authors = Counter(a for x in live for a in x.authors)
    tags = Counter(t for x in live for t in x.tags)
    sites = Counter(x.site for x in live)
    st = store.stats(Filters())
    assert (st.articles, dict(st.authors), dict(st.tags), dict(st.sites)) == (3, authors, tags, sites)
    f = store.facets("", Filters())
    assert (f.total, dict(f.authors), dict(f.tags), dict(f.sites)) == (3, authors, tags, sites)
    only = store.facets("", Filters(authors=["Bo Ray"]))
    assert (only.total, dict(only.authors)) == (2, {"Ann Lee": 1, "Bo Ray": 2})
    matched = store.facets("number", Filters())  # every article matches; the deleted are not counted
    assert (matched.total, dict(matched.authors), dict(matched.sites)) == (3, authors, sites)


def _counted_in_python(store: Store) -> dict[str, Any]:
    """What stats and the facets of everything should say, counted article by article."""
    from collections import Counter

    from archive.store.records import name_keys, tag_keys

    every = list(store.query(Filters(include_deleted=True)))
    live = [a for a in every if a.deleted_at is None]
    return {
        "articles": len(live), "words": sum(a.word_count for a in live),
        "deleted": len(every) - len(live), "revisions": sum(1 for _ in store.all_revisions()),
        "authors": Counter(k for a in live for k in name_keys(a.authors)),  # an article once for each
        "tags": Counter(k for a in live for k in tag_keys(a.tags)),
        "sites": Counter(a.site for a in live if a.site is not None),
        "years": Counter(str(a.published.year) if a.published else "unknown" for a in live),
        "months": Counter(a.published.isoformat()[:7] for a in live if a.published),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_of_everything_follow_every_write(store: Store, write_article: Writer, seed: int) -> None:
    """SQLite keeps the counts of the whole store as rows change (triggers, in the writer's
    transaction) rather than counting every article on each call: after each of a random run of
    new files, edits that change authors, tags, site, date and length, moves, deletions and
    restores, stats and the facets of everything say what counting the articles one by one says."""
    import random

    from archive.store.records import fold_name, fold_tag

    rnd = random.Random(seed)
    people = ["Ann Lee", "ann lee", "Bo Ray", "Cy Ng", "Dee O'Hara"]
    files: dict[str, Path] = {}
    ids: dict[str, str] = {}

    def write(name: str) -> None:
        body = " ".join(rnd.choice(["rain", "wind", "sun", "snow"]) for _ in range(rnd.randint(1, 40)))
        p = write_article(name, title=f"T {name} {rnd.random()}", body=body + ".")
        it = item_for(p)
        date = rnd.choice([None, dt.date(2019, 12, 31), dt.date(2020, 1, 5), dt.date(2020, 2, 1)])
        parsed = it.parsed._replace(authors=tuple(rnd.sample(people, rnd.randint(0, 2))), published=date,
                                    tags=tuple(rnd.sample(["#Oil", "oil", "Gas", "Coal"], rnd.randint(0, 2))),
                                    site=rnd.choice([None, "Site A", "Site B"]))
        [r] = store.upsert_many([it._replace(parsed=parsed)])
        files[name], ids[name] = p, r.id

    for step in range(36):
        op = rnd.choice(["new", "new", "edit", "move", "delete", "restore"]) if files else "new"
        name = rnd.choice(sorted(files)) if files else ""
        if op == "new":
            write(f"f{step}.txt")
        elif op == "edit":
            write(name)
        elif op == "move":
            to = files[name].with_name(f"m{step}.txt")
            files[name].rename(to)
            store.upsert_many([item_for(to)._replace(move_from=ids[name])])
            files[f"m{step}.txt"], ids[f"m{step}.txt"] = to, ids.pop(name)
            del files[name]
        elif op == "delete":
            store.mark_deleted([str(files[name])])
        else:  # the same bytes again: a deleted article comes back
            store.upsert_many([item_for(files[name])])
        want = _counted_in_python(store)
        st, f = store.stats(Filters()), store.facets("", Filters(), limit=50)
        got = {
            "articles": st.articles, "words": st.words, "deleted": st.deleted, "revisions": st.revisions,
            "authors": {fold_name(k): v for k, v in st.authors}, "tags": {fold_tag(k): v for k, v in st.tags},
            "sites": dict(st.sites), "years": dict(st.years), "months": dict(f.months),
        }
        assert got == {k: dict(v) if isinstance(v, dict) else v for k, v in want.items()}, (step, op)
        assert (f.total, {fold_name(k): v for k, v in f.authors}, dict(f.sites)) == (
            st.articles, got["authors"], got["sites"])
        live = {x for a in store.query(Filters()) for x in a.authors}
        assert {k for k, _ in st.authors} <= live  # each name as a live article spells it


def test_every_sort_lists_the_live_articles_in_its_order(store: Store, write_article: Writer) -> None:
    """SQLite reads a page of each order from an index (title, ingested, updated, path): the same
    articles, live only, in the order the sort names."""
    from archive.sorts import SORTS

    names = zip("dbca", ["beta", "Alpha", "delta", "Gamma"], strict=True)
    from archive.models import utcnow

    paths = [write_article(f"{c}.txt", title=t, body=f"Body {c}.") for c, t in names]
    for p in paths:
        # Both stores keep the time stored to the millisecond; within one, MongoDB orders by id
        # (SQLite by insertion), so each upsert waits for the clock to pass the previous one's.
        before = utcnow()
        while utcnow() == before:
            pass
        store.upsert_many([item_for(p)])
    store.mark_deleted([str(paths[2])])  # "delta"
    live = list(store.query(Filters()))
    keys = {"title": lambda a: (a.title.casefold(), a.id), "path": lambda a: a.source.path}
    if type(getattr(store, "client", None)).__module__.startswith("mongomock"):
        del keys["title"]  # mongomock sorts without a collation; a server collates as SQLite's NOCASE
    for sort in SORTS:
        got = [a.title for a in store.query(Filters(), sort=sort)]
        assert sorted(got) == ["Alpha", "Gamma", "beta"], sort
        if sort in keys:
            assert got == [a.title for a in sorted(live, key=keys[sort])], sort
    assert [a.title for a in store.query(Filters(), sort="ingested")] == ["beta", "Alpha", "Gamma"]
    assert [a.title for a in store.query(Filters(), sort="-ingested")] == ["Gamma", "Alpha", "beta"]


def test_a_search_of_exclusions_alone_lists_the_rest_newest_first(store: Store, write_article: Writer) -> None:
    """`-word`: every live article without it, newest first, undated last, on both stores (SQLite: a
    page from the index's date field, as the table orders it; MongoDB listed them by id)."""
    texts = [("a.txt", "# Old\n\nAnn Lee\n1 May 2001\n\nRain fell."),
             ("b.txt", "# New\n\nAnn Lee\n2 May 2020\n\nSun shone."),
             ("c.txt", "# Mid\n\nAnn Lee\n3 May 2010\n\nRain again."),
             ("d.txt", "# Undated\n\nAnn Lee\n\nWind blew."),
             ("e.txt", "# Gone\n\nAnn Lee\n4 May 2015\n\nSnow came.")]
    paths = [write_article(n, text=t) for n, t in texts]
    store.upsert_many([item_for(p) for p in paths])
    store.mark_deleted([str(paths[4])])
    got = lambda q, **k: [h.article.title for h in store.search(q, Filters(), **k)]  # noqa: E731
    assert got("-rain", limit=10) == ["New", "Undated"]
    assert got("-wind", limit=2) == ["New", "Mid"]
    assert got("-wind -sun", limit=10) == ["Mid", "Old"]
    assert [h.article.title for h in store.search("-rain", Filters(include_deleted=True), limit=10)] == [
        "New", "Gone", "Undated"]


def test_site_keys_group_what_pages_call_their_site() -> None:
    from archive.store.keys import display_names, filter_keys, registrable, site_key

    assert [registrable(h) for h in ("www.bbc.co.uk", "money.cnn.com", "cnn.com", "a.b.example.org.", "10.0.0.1",
                                     "localhost", "techlog.iij.ad.jp", "someone.github.io", "::1")] == [
        "bbc.co.uk", "cnn.com", "cnn.com", "example.org", "10.0.0.1", "localhost", "iij.ad.jp", "someone.github.io",
        "::1"]
    assert site_key("CNN", "https://Money.CNN.com:443/x?y=1") == "cnn.com"
    assert site_key("NYTimes", None) == "nytimes" and site_key(" www.NYTimes.com/ ", None) == "nytimes.com"
    assert site_key("The  Atlantic", None) == "the atlantic" and site_key(None, "https://x.org/") is None
    assert site_key("Odd", "not a url") == "odd" and site_key("Odd", "http://[::1") == "odd"  # unparsable
    assert filter_keys(["cnn"], [("cnn.com", "CNN"), ("cnn.com", "cnn.com"), ("bbc.co.uk", "BBC")]) == [
        "cnn", "cnn.com"]
    assert filter_keys(["money.cnn.com"], []) == ["cnn.com"]
    assert display_names([("cnn.com", "cnn.com", 2), ("cnn.com", "CNN", 2), ("x.org", "X", 1),
                          ("x.org", "x.org", 3), ("natgeo.com", "Magazine", 1), ("natgeo.com", "NatGeo News", 1),
                          ("a blog", "A Blog", 1), ("a blog", "a  blog", 1)]) == {
        "cnn.com": "CNN", "x.org": "x.org", "natgeo.com": "NatGeo News", "a blog": "A Blog"}


def test_a_site_is_one_facet_and_one_filter_whatever_its_pages_call_it(store: Store, write_article: Writer) -> None:
    """Facets, stats and the site filter group pages by their address's registrable domain (else
    the name folded) and show the name most of them give; each article keeps the name it gave."""
    pages = [("CNN", "https://money.cnn.com/a"), ("cnn.com", "https://edition.cnn.com/b"), ("CNN", "https://cnn.com/c"),
             ("BBC News", "https://www.bbc.co.uk/d"), ("bbc.co.uk", None), ("A Blog", None), ("a  blog", None)]
    for i, (site, url) in enumerate(pages):
        it = item_for(write_article(f"{i}.txt", title=f"Page {i}", body=f"Ferry news number {i}."))
        store.upsert_many([it._replace(parsed=it.parsed._replace(site=site, url=url))])
    want = [("CNN", 3), ("A Blog", 2), ("BBC News", 2)]
    assert store.facets("", Filters()).sites == want == store.stats(Filters()).sites
    assert store.facets("ferry", Filters()).sites == want
    titles = lambda *sites: sorted(a.title for a in store.query(Filters(sites=sites)))  # noqa: E731
    assert titles("CNN") == titles("cnn.com") == titles("edition.cnn.com") == ["Page 0", "Page 1", "Page 2"]
    assert titles("bbc.co.uk") == titles("BBC NEWS") == ["Page 3", "Page 4"] and titles("nowhere") == []
    assert sorted(h.article.title for h in store.search("ferry", Filters(sites=("A Blog",)))) == ["Page 5", "Page 6"]
    assert store.facets("ferry", Filters(sites=("cnn",))).sites == [("CNN", 3)]
    assert {a.site for a in store.query(Filters(sites=("CNN",)))} == {"CNN", "cnn.com"}  # as each page said
    store.mark_deleted([str(write_article("2.txt", title="Page 2", body="Ferry news number 2."))])
    assert store.stats(Filters()).sites == [("A Blog", 2), ("BBC News", 2), ("CNN", 2)]


def test_counts_under_a_folder(store: Store, write_article: Writer) -> None:
    """What the daemon's start-up compares with the files it walked: the live (or every) article
    under a folder, never one of a sibling folder whose name begins the same."""
    paths = [write_article(f"{d}/{i}.txt", title=f"{d}{i}", body=f"Text {d} {i}.")
             for d in ("a", "ab", "a/deeper") for i in range(3)]
    store.upsert_many([item_for(p) for p in paths])
    store.mark_deleted([str(paths[0]), str(paths[3]), str(paths[6])])
    root = str(paths[0].parent)
    assert store.count(Filters(path_prefix=root)) == 4 and store.count(Filters(path_prefix=root + "/")) == 4
    assert store.count(Filters(path_prefix=root, include_deleted=True)) == 6
    assert store.count(Filters(path_prefix=root + "b")) == 2 and store.count(Filters()) == 6
    assert store.count(Filters(path_prefix=root, include_deleted=True)) == len(list(
        store.query(Filters(path_prefix=root, include_deleted=True))))
