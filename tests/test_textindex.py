"""The SQLite store's search index (archive/store/textindex.py, sqlite_search.py): derived from
the table, repaired after a crash between the two commits, rebuilt when it cannot be trusted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from archive.search.index import WATERMARK, folder_for
from archive.store.records import Filters
from archive.store.sqlite import SQLiteStore
from archive.store.sqlite_search import SQLiteSearch
from tests.conftest import item_for

Writer = Callable[..., Path]


def _ingest(db: Path, paths: list[Path]) -> None:
    s = SQLiteStore(db)
    try:
        s.upsert_many([item_for(p) for p in paths])
    finally:
        s.close()


def _titles(db: Path, q: str) -> list[str]:
    s = SQLiteStore(db, create=False)
    try:
        return sorted(h.article.title for h in s.search(q, Filters()))
    finally:
        s.close()


def test_the_index_lives_beside_the_file_and_follows_every_change(tmp_path: Path, write_article: Writer) -> None:
    db = tmp_path / "a.db"
    a = write_article("a.txt", title="Alpha ceasefire", body="Troops withdrew.")
    b = write_article("b.txt", title="Beta", body="Governments negotiated a ceasefire.")
    _ingest(db, [a, b])
    assert (folder_for(db) / "meta.json").exists()
    assert _titles(db, "ceasefire") == ["Alpha ceasefire", "Beta"]
    assert _titles(db, "government") == ["Beta"]  # stems: government(s)
    write_article("b.txt", title="Beta", body="Nothing about it now.")
    _ingest(db, [b])
    assert _titles(db, "ceasefire") == ["Alpha ceasefire"]
    s = SQLiteStore(db)
    assert s.mark_deleted([str(a)]) == 1
    assert [h.article.title for h in s.search("ceasefire", Filters())] == []
    assert [h.article.title for h in s.search("ceasefire", Filters(include_deleted=True))] == ["Alpha ceasefire"]
    assert s.index_consistent()
    s.close()


def test_a_crash_between_the_two_commits_is_repaired_when_a_writer_opens(
        tmp_path: Path, write_article: Writer, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "a.db"
    _ingest(db, [write_article("a.txt", title="First", body="Ceasefire talks.")])
    # The table commits, the process dies before the index does: simulated by an index commit
    # that never happens (the writer is thrown away, as a killed process's would be).
    s = SQLiteStore(db)
    monkeypatch.setattr(SQLiteSearch, "_index_after_commit",
                        lambda self, top: self._drop_writer(rollback=True))
    s.upsert_many([item_for(write_article("b.txt", title="Second", body="Ceasefire again."))])
    s.db.close()
    monkeypatch.undo()
    from archive.search.index import TextIndex

    ix = TextIndex(folder_for(db), readonly=True)
    assert [n for n, _ in ix.every_rowid()] == [1]  # the second article is in the table only
    s = SQLiteStore(db)  # a writer opens: the logged change above the watermark is indexed
    assert s.index_consistent()
    s.close()
    assert _titles(db, "ceasefire") == ["First", "Second"]


def test_readers_never_show_an_article_the_table_lacks(tmp_path: Path, write_article: Writer) -> None:
    db = tmp_path / "a.db"
    _ingest(db, [write_article("a.txt", title="Real", body="Ceasefire.")])
    s = SQLiteStore(db)
    ix = s.fulltext._index()
    # The index committed, the table's transaction did not (a crash, or a writer whose COMMIT failed).
    w = ix.writer(5)
    w.add_document(ix.document(999, True, "Phantom", "", "", "Ceasefire ceasefire ceasefire."))
    w.commit()
    w.wait_merging_threads()
    assert [h.article.title for h in s.search("ceasefire", Filters())] == ["Real"]
    assert not s.index_consistent()
    s.close()


@pytest.mark.parametrize("damage", ["removed", "unreadable", "another store", "ahead of the table"])
def test_an_index_that_cannot_be_trusted_is_rebuilt_from_the_table(
        tmp_path: Path, write_article: Writer, damage: str) -> None:
    db = tmp_path / "a.db"
    paths = [write_article(f"{i}.txt", title=f"Article {i}", body=f"Ceasefire number {i}.") for i in range(30)]
    _ingest(db, paths)
    folder = folder_for(db)
    if damage == "removed":
        shutil.rmtree(folder)
    elif damage == "unreadable":
        (folder / "meta.json").write_text("{not json")
    elif damage == "another store":
        other = tmp_path / "other.db"
        _ingest(other, [write_article("x.txt", title="Other", body="Ceasefire elsewhere.")])
        shutil.rmtree(folder)
        shutil.copytree(folder_for(other), folder)
    else:  # an older copy of the database came back beside a newer index
        wm = json.loads((folder / WATERMARK).read_text())
        (folder / WATERMARK).write_text(json.dumps({**wm, "seq": wm["seq"] + 1000}))
    s = SQLiteStore(db)
    assert s.index_consistent()
    assert len(list(s.search("ceasefire", Filters()))) == 30
    s.close()


def test_a_read_only_store_without_its_index_says_so(tmp_path: Path, write_article: Writer) -> None:
    db = tmp_path / "a.db"
    _ingest(db, [write_article("a.txt")])
    shutil.rmtree(folder_for(db))
    s = SQLiteStore(db, create=False)
    s.readonly = True  # as on read-only media
    # It answers by reading the table, and says why.
    assert [h.article.title for h in s.search("body", Filters())] == ["A title"]
    assert s.search_warning is not None and "no usable search index" in s.search_warning
    assert s.count_matches("body", Filters()) == 1
    assert not folder_for(db).exists()
    s.close()


def test_segments_a_killed_writer_left_are_garbage_collected(tmp_path: Path, write_article: Writer) -> None:
    db = tmp_path / "a.db"
    _ingest(db, [write_article("a.txt")])
    folder = folder_for(db)
    before = set(os.listdir(folder))
    # A writer flushes segments to disk before it commits (its heap fills up), then is killed.
    code = textwrap.dedent(f"""
        import os
        from archive.search.index import TextIndex
        ix = TextIndex(__import__("pathlib").Path({str(folder)!r}), readonly=False)
        w = ix.index.writer(15_000_000, 1)
        body = " ".join(f"word{{i}}" for i in range(3000))
        for n in range(1000, 2500):
            w.add_document(ix.document(n, True, "t", "", "", body))
        os._exit(9)
    """)
    subprocess.run([sys.executable, "-c", code], check=False, timeout=120)
    left = set(os.listdir(folder)) - before
    assert any(f.endswith((".idx", ".pos", ".term", ".fast", ".store", ".fieldnorm")) for f in left), left
    s = SQLiteStore(db)  # a writer's open collects what no commit refers to
    s.close()
    assert not {f for f in set(os.listdir(folder)) - before if not f.startswith(".")}
    assert _titles(db, "body") == ["A title"]


@pytest.mark.slow
def test_two_writer_processes_share_the_index(tmp_path: Path, write_article: Writer) -> None:
    db = tmp_path / "a.db"
    _ingest(db, [write_article("seed.txt")])
    for k in range(2):
        for i in range(40):
            write_article(f"p{k}/{i}.txt", title=f"P{k} {i}", body=f"Ceasefire from process {k}.")
    code = textwrap.dedent("""
        import sys
        from pathlib import Path
        from archive.store.sqlite import SQLiteStore
        from tests.conftest import item_for
        s = SQLiteStore(sys.argv[1])
        for p in sorted(Path(sys.argv[2]).iterdir()):
            s.upsert_many([item_for(p)])
        s.close()
    """)
    root = tmp_path / "articles"
    top = Path(__file__).parent.parent
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), str(root / f"p{k}")], cwd=top) for k in range(2)]
    assert [p.wait(timeout=180) for p in procs] == [0, 0]
    s = SQLiteStore(db)
    assert s.index_consistent()
    assert s.count_matches("ceasefire", Filters()) == 80
    s.close()


_VOCAB_TEXT = ("govern governs governed governing government governments governor happy happier happiness "
               "sensible sensibility die dies dying died run runs running ran minister ministers ministerial "
               "prime primes primed café cafe Cafés troops troop ceasefire ceasefires the of and talks")
VOCAB = tuple(_VOCAB_TEXT.split())


def test_hits_are_exactly_what_the_query_semantics_say(tmp_path: Path, write_article: Writer) -> None:
    """Words match every indexed form of their stem, in any field; phrases consecutive forms in one
    field; word* any word it begins; OR and exclusions: the index, which stores words unstemmed
    and expands query words, agrees with base.matches (the semantics in Python) on every query."""
    import random

    from archive.search.match import matches
    from archive.search.query import parse_query

    rng = random.Random(7)
    db = tmp_path / "a.db"
    docs = []
    for i in range(120):
        title = " ".join(rng.choice(VOCAB) for _ in range(rng.randint(1, 4))).capitalize()
        body = " ".join(rng.choice(VOCAB) for _ in range(rng.randint(5, 40))) + "."
        docs.append(write_article(f"{i}.txt", title=title, body=body))
    _ingest(db, docs)
    s = SQLiteStore(db, create=False)
    arts = {a.id: a for a in s.query(Filters())}
    queries = [*VOCAB, "govern*", "happ*", "cafe*", '"prime minister"', '"troops ceasefire"', '"the talks"',
               "government -happy", "dying OR sensible", "ministerial troop", '"running troops" -cafe']
    queries += [f'"{rng.choice(VOCAB)} {rng.choice(VOCAB)}"' for _ in range(30)]
    queries += [f"{rng.choice(VOCAB)} {rng.choice(VOCAB)}" for _ in range(30)]
    try:
        for q in queries:
            want = {i for i, a in arts.items()
                    if matches(parse_query(q), [a.title, ", ".join(a.authors), " ".join(a.tags), a.body])}
            got = {h.article.id for h in s.search(q, Filters())}
            assert got == want, q
            assert s.count_matches(q, Filters()) == len(want), q
    finally:
        s.close()


def test_status_reports_the_index_and_what_it_lacks(
        tmp_path: Path, write_article: Writer, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from archive.cli import cli

    db = tmp_path / "a.db"
    _ingest(db, [write_article("a.txt"), write_article("b.txt", title="Other")])

    def status() -> dict[str, object]:
        r = CliRunner().invoke(cli, ["--db", str(db), "status", "--format", "json"])
        assert r.exit_code == 0, r.output
        return dict(json.loads(r.output)["search_index"])

    first = status()
    assert first["articles"] == 2 and first["pending"] == 0 and first["path"] == str(folder_for(db))
    s = SQLiteStore(db)  # a writer whose index commit never happens (killed between the commits)
    monkeypatch.setattr(SQLiteSearch, "_index_after_commit", lambda self, top: self._drop_writer(rollback=True))
    s.upsert_many([item_for(write_article("c.txt", title="Third"))])
    s.db.close()
    monkeypatch.undo()
    lagging = status()  # a read command reports it and leaves it to the writers
    assert lagging["articles"] == 2 and lagging["pending"] == 1
    r = CliRunner().invoke(cli, ["--db", str(db), "status", "--format", "table"])
    assert "1 change not indexed yet" in r.output
    SQLiteStore(db).close()
    assert status()["articles"] == 3 and status()["pending"] == 0


def test_an_index_on_read_only_media_is_read_through_links(
        tmp_path: Path, write_article: Writer, monkeypatch: pytest.MonkeyPatch) -> None:
    """tantivy takes a lock file even to read: where the folder cannot be written (a read-only
    mount; root can write anything here, so the check is what is faked), it reads the index
    through a temporary folder of links, and writes nothing beside the store."""
    db = tmp_path / "a.db"
    _ingest(db, [write_article("a.txt", title="Readable", body="Ceasefire.")])
    folder = folder_for(db)
    for lock in folder.glob(".tantivy-*"):
        lock.unlink()
    before = sorted(os.listdir(folder))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) in (folder, db, db.parent)
                        else real_access(p, mode, **kw))
    s = SQLiteStore(db, create=False)
    assert s.readonly
    assert [h.article.title for h in s.search("ceasefire", Filters())] == ["Readable"]
    s.close()
    assert sorted(os.listdir(folder)) == before


@pytest.mark.parametrize("ascending", [False, True])
def test_date_sorted_search_is_the_tables_order_from_the_index(tmp_path: Path, ascending: bool,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 27: newest (or oldest) first is read from the index's date field, the first ``limit``
    and the ties at the last date, then ordered by the table: exactly the table's (published, id)
    order, undated articles last when newest first, with filters and deleted articles."""
    import datetime as dt
    import hashlib

    from archive.models import ParsedArticle, Source
    from archive.store.records import UpsertItem

    days = [dt.date(2020, 1, 1), dt.date(2021, 6, 1), dt.date(2021, 6, 2), None]
    items = []
    for i in range(60):
        body = f"The ferry report number {i}." + (" Extra harbour news." if i % 3 else "")
        data = body.encode()
        src = Source(path=str(tmp_path / f"{i}.txt"), sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                     mtime=1.0)
        items.append(UpsertItem(ParsedArticle.of(f"Report {i}", ("Jo Lane" if i % 2 else "Al Roe",),
                                                 days[i % 4], body), src))
    s = SQLiteStore(tmp_path / "a.db")
    s.upsert_many(items)
    s.mark_deleted([str(tmp_path / f"{i}.txt") for i in range(0, 60, 7)])
    s.close()
    r = SQLiteStore(tmp_path / "a.db", create=False)

    def every_match(*args: object) -> None:
        raise AssertionError("the table sorted every match: the index's date field was not used")

    monkeypatch.setattr(SQLiteSearch, "_match_where_of", every_match)
    for flt in (Filters(), Filters(authors=("Jo Lane",)), Filters(include_deleted=True)):
        for q in ("ferry", "harbour"):
            every = [a for a in r.query(flt) if q in a.body.lower()]
            want = sorted(every, key=lambda a: (a.published is not None, a.published or dt.date.min, a.id),
                          reverse=not ascending)
            for limit in (1, 3, 7, 16, 100):
                got = [h.article.id for h in r.search_by_date(q, flt, ascending, limit)]
                assert got == [a.id for a in want[:limit]], (flt, q, limit)
    r.close()


def test_facets_and_filters_of_a_query_are_the_indexs_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 27: the facets of a query (and of a filter without one) are counted by the index's
    aggregations, and filters by date, author, tag and site limit a search by the index's own
    fields, with no list of rowids from the table: the same counts as counting the matching
    articles one by one, across several segments, with ties at every cut broken by value."""
    import datetime as dt
    import hashlib
    import random
    from collections import Counter

    from archive.models import Article, ParsedArticle, Source
    from archive.search.index import Within
    from archive.store.records import UpsertItem, fold_name, name_keys, tag_keys
    from archive.store.sqlite_counts import SQLiteCounts

    rnd = random.Random(5)
    people = [f"Writer {chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(70)]
    s = SQLiteStore(tmp_path / "a.db")
    for batch in range(6):  # a commit each: several segments, each with its own few values
        items = []
        for i in range(batch * 50, batch * 50 + 50):
            words = ["ferry"] + ["harbour"] * (i % 3 > 0) + ["storm"] * (i % 5 == 0)
            body = f"The {' '.join(words)} report number {i}."
            src = Source(path=str(tmp_path / f"{i}.txt"), sha256=hashlib.sha256(body.encode()).hexdigest(),
                         size=len(body), mtime=1.0)
            authors = tuple(rnd.sample(people[: rnd.choice([3, 20, 70])], rnd.randint(0, 2)))
            day = rnd.choice([None, dt.date(2019, 3, 1), dt.date(2020, 7, 9), dt.date(2021, 1, 31)])
            items.append(UpsertItem(ParsedArticle.of(f"Report {i}", authors, day, body,
                                                     tags=tuple(rnd.sample(["Oil", "#Gas", "coal", "Wind"], 2)),
                                                     site=rnd.choice([None, "Site A", "Site B", "Site C"])), src))
        s.upsert_many(items)
    s.mark_deleted([str(tmp_path / f"{i}.txt") for i in range(0, 300, 9)])
    every = list(s.query(Filters(include_deleted=True)))

    def table_counted(*args: object) -> None:
        raise AssertionError("facets counted from the table: the index's aggregations were not used")

    monkeypatch.setattr(SQLiteCounts, "_facets_of_matches", table_counted)
    monkeypatch.setattr(SQLiteCounts, "_counted", table_counted)

    def allowed(a: Article, f: Filters) -> bool:
        d = a.published
        return ((f.include_deleted or a.deleted_at is None)
                and (not f.authors or bool(set(f.authors_folded) & set(name_keys(a.authors))))
                and (not f.tags or bool(set(f.tags_folded) & set(tag_keys(a.tags))))
                and (not f.sites or a.site in f.sites)
                and (not f.since or (d is not None and d >= f.since))
                and (not f.until or (d is not None and d <= f.until)))

    queries = {"ferry": lambda w: "ferry" in w, "harbour": lambda w: "harbour" in w,
               "storm OR harbour": lambda w: "storm" in w or "harbour" in w, "-storm": lambda w: "storm" not in w,
               "": lambda w: True}
    filters = [Filters(), Filters(authors=(people[0], people[1].upper())), Filters(tags=("gas", "Wind")),
               Filters(sites=("Site B",)), Filters(since=dt.date(2020, 1, 1)),
               Filters(authors=(people[2],), until=dt.date(2020, 12, 31), include_deleted=True)]
    for flt in filters:
        if flt != Filters():
            assert isinstance(s.fulltext._restrict(flt), Within), flt
        for text, has in queries.items():
            if text == "" and flt == Filters():
                continue  # every article's: the counts the writers keep (test_store)
            arts = [a for a in every if allowed(a, flt) and has(a.body.split())]
            if text:
                assert sorted(h.article.id for h in s.search(text, flt)) == sorted(a.id for a in arts), (text, flt)
            for limit in (1, 3, 10, 100):
                def top(c: Counter[str], lim: int = limit) -> list[tuple[str, int]]:
                    return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:lim]

                f = s.facets(text, flt, limit)
                got = (f.total, [(fold_name(k), c) for k, c in f.authors], [(fold_name(k), c) for k, c in f.tags],
                       f.sites, f.months)
                want = (len(arts), top(Counter(k for a in arts for k in name_keys(a.authors))),
                        top(Counter(k for a in arts for k in tag_keys(a.tags))),
                        top(Counter(a.site for a in arts if a.site)),
                        sorted(Counter(a.published.isoformat()[:7] for a in arts if a.published).items()))
                assert got == want, (text, flt, limit)
        # stats of what the filters select: the same aggregations, with words and the deleted counted
        monkeypatch.setattr(SQLiteCounts, "_name_counts", table_counted)
        if flt != Filters():
            live = flt._replace(include_deleted=False)
            arts = [a for a in every if allowed(a, live)]
            gone = [a for a in every if allowed(a, live._replace(include_deleted=True)) and a.deleted_at is not None]
            st = s.stats(flt)
            years = Counter(str(a.published.year) if a.published else "unknown" for a in arts)
            assert (st.articles, st.words, st.deleted, sorted(st.years), [(fold_name(k), c) for k, c in st.authors],
                    [(fold_name(k), c) for k, c in st.tags], st.sites) == (
                len(arts), sum(a.word_count for a in arts), len(gone), sorted(years.items()),
                top(Counter(k for a in arts for k in name_keys(a.authors)), 999),
                top(Counter(k for a in arts for k in tag_keys(a.tags)), 999),
                top(Counter(a.site for a in arts if a.site), 999)), flt
    s.close()


def test_facet_counts_are_exact_where_the_engine_cut_each_segment(tmp_path: Path) -> None:
    """The engine counts each segment's values, keeps the first few of each (ten times what is
    asked) and adds those up: an author first in one segment but cut from another is under-counted
    and may hide the true first. Here "Zed Y" is in three segments (2 + 3 + 3: the first of all)
    and "Ann X" in one (7), beside 25 other authors a segment (of two articles each in the first)."""
    import hashlib

    from archive.models import ParsedArticle, Source
    from archive.store.records import UpsertItem

    s = SQLiteStore(tmp_path / "a.db")
    plan = [{"Ann X": 7, "Zed Y": 2}, {"Zed Y": 3}, {"Zed Y": 3}]
    k = 0
    for seg, counts in enumerate(plan):  # a commit each: three segments
        names = [n for n, c in counts.items() for _ in range(c)] + [
            f"Bea {seg}{i:02d}" for i in range(25) for _ in range(1 if seg else 2)]
        items = []
        for name in names:
            body = f"The ferry report number {k}."
            k += 1
            src = Source(path=str(tmp_path / f"{k}.txt"), sha256=hashlib.sha256(body.encode()).hexdigest(),
                         size=len(body), mtime=1.0)
            items.append(UpsertItem(ParsedArticle.of(f"Report {k}", (name,), None, body), src))
        s.upsert_many(items)
    assert s.facets("ferry", Filters(), 1).authors == [("Zed Y", 8)]
    assert s.facets("ferry", Filters(), 2).authors == [("Zed Y", 8), ("Ann X", 7)]
    assert s.facets("ferry", Filters(), 3).authors == [("Zed Y", 8), ("Ann X", 7), ("Bea 000", 2)]
    s.close()


@pytest.mark.parametrize("old_format", [3, None])
def test_an_index_of_an_older_format_without_a_field_is_made_again(tmp_path: Path, write_article: Writer,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   old_format: int | None) -> None:
    """A format that adds a field (4: the date for date-sorted search) cannot be had by emptying
    the old index, which keeps its schema: the writer makes it again, and readers then sort by it.
    An index that says it is of this format but lacks one of its fields (a build between two
    formats) is not trusted either."""
    import datetime as dt

    import tantivy

    import archive.search.index as index

    def old_schema() -> object:
        sb = tantivy.SchemaBuilder()
        sb.add_integer_field("n", stored=False, indexed=True, fast=True)
        sb.add_integer_field("live", stored=False, indexed=True, fast=False)
        if old_format is None:  # all but the field stats read
            sb.add_integer_field("pub", stored=False, indexed=False, fast=True)
            sb.add_integer_field("month", stored=False, indexed=False, fast=True)
        for f in index.FIELDS:
            sb.add_text_field(f, stored=False, tokenizer_name=index.ANALYZER)
        if old_format is None:
            for k in index.KEYS:
                sb.add_text_field(k, stored=False, tokenizer_name="raw", fast=True, index_option="basic")
        return sb.build()

    def document(*args: object) -> object:  # what the older build wrote
        doc = real_document(*args)
        return tantivy.Document(**{k: v for k, v in doc.to_dict().items() if k in wrote})

    real_document = index.TextIndex.document
    wrote = {"n", "live", *index.FIELDS} | ({"pub", "month", *index.KEYS} if old_format is None else set())

    db = tmp_path / "a.db"
    with monkeypatch.context() as m:
        if old_format is not None:
            m.setattr(index, "FORMAT", old_format)
        m.setattr(index, "_schema", old_schema)
        m.setattr(index.TextIndex, "document", staticmethod(document))
        _ingest(db, [write_article(f"{i}.txt", title=f"Ceasefire {i}", body="A ceasefire holds.") for i in range(5)])
    r = SQLiteStore(db, create=False)  # a reader: the older format is not used (the table answers)
    assert len(list(r.search_by_date("ceasefire", Filters(), False, 3))) == 3
    assert r.facets("ceasefire", Filters()).total == 5 and r.stats(Filters(since=dt.date(1900, 1, 1))).words > 0
    r.close()
    SQLiteStore(db).close()  # a writer makes it again
    assert index.TextIndex(folder_for(db), readonly=True).schema_current()
    r = SQLiteStore(db, create=False)
    assert len(list(r.search_by_date("ceasefire", Filters(), False, 3))) == 3 and r.search_warning is None
    assert r.index_consistent()
    r.close()


def test_facets_of_a_query_on_a_read_only_file(tmp_path: Path, write_article: Writer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A query's facets count its matches from a temporary table of the connection: a store
    opened read-only (mode=ro) counts them as a writable one does, and again on the next query."""
    import archive.store.sqlite as sqlite_mod

    db = tmp_path / "a.db"
    _ingest(db, [write_article(f"{i}.txt", title=f"Ceasefire {i}", author="Jo Lane" if i % 2 else "Al Roe",
                               body="A ceasefire holds." + (" Talks go on." if i % 3 else "")) for i in range(9)])
    rw = SQLiteStore(db, create=False)
    want = [rw.facets(q, Filters()) for q in ("ceasefire", "talks", "ceasefire")]
    rw.close()
    monkeypatch.setattr(sqlite_mod, "_writable", lambda path: False)
    ro = SQLiteStore(db, create=False)
    assert ro.readonly
    got = [ro.facets(q, Filters()) for q in ("ceasefire", "talks", "ceasefire")]
    ro.close()
    assert got == want and want[0].total == 9 and want[1].total == 6
    assert dict(want[0].authors) == {"Jo Lane": 4, "Al Roe": 5}
