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


def test_an_index_of_an_older_format_without_a_field_is_made_again(tmp_path: Path, write_article: Writer,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A format that adds a field (4: the date for date-sorted search) cannot be had by emptying
    the old index, which keeps its schema: the writer makes it again, and readers then sort by it."""
    import tantivy

    import archive.search.index as index

    def old_schema() -> object:
        sb = tantivy.SchemaBuilder()
        sb.add_integer_field("n", stored=False, indexed=True, fast=True)
        sb.add_integer_field("live", stored=False, indexed=True, fast=False)
        for f in index.FIELDS:
            sb.add_text_field(f, stored=False, tokenizer_name=index.ANALYZER)
        return sb.build()

    db = tmp_path / "a.db"
    with monkeypatch.context() as m:
        m.setattr(index, "FORMAT", 3)
        m.setattr(index, "_schema", old_schema)
        _ingest(db, [write_article(f"{i}.txt", title=f"Ceasefire {i}", body="A ceasefire holds.") for i in range(5)])
    r = SQLiteStore(db, create=False)  # a reader: the older format is not used (the table answers)
    assert len(list(r.search_by_date("ceasefire", Filters(), False, 3))) == 3
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
