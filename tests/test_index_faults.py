"""The SQLite store's search index under attack (issue 22): whether it is complete is decided from
the table and the index themselves; a missing, short, foreign or damaged index is rebuilt by the
next writer while readers answer from what is there and say why; faults of its folder are the
store's, never a file's; a writer killed between its two commits never leaves readers silently
wrong."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from archive.search.index import TextIndex, folder_for
from archive.store.records import Filters
from archive.store.sqlite import SQLiteStore
from archive.store.sqlite_search import SQLiteSearch
from tests.conftest import ROOT, item_for

Writer = Callable[..., Path]
ARCHIVE = str(Path(sys.executable).with_name("archive"))


def _corpus(write_article: Writer, n: int, word: str = "ceasefire") -> list[Path]:
    return [write_article(f"{i}.txt", title=f"Article {i}", body=f"A {word} report number {i}.") for i in range(n)]


def _ingest(db: Path, paths: list[Path]) -> None:
    s = SQLiteStore(db)
    try:
        for k in range(0, len(paths), 50):
            s.upsert_many([item_for(p) for p in paths[k : k + 50]])
    finally:
        s.close()


def _run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    return subprocess.run([ARCHIVE, "--db", str(db), *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT, check=False)


def _found(db: Path, word: str = "ceasefire") -> int:
    s = SQLiteStore(db, create=False)
    try:
        return len(list(s.search(word, Filters())))
    finally:
        s.close()


def test_a_deleted_index_is_rebuilt_whole_by_an_ingest_of_unchanged_files(
        tmp_path: Path, write_article: Writer) -> None:
    db = tmp_path / "a.db"
    paths = _corpus(write_article, 120)
    _ingest(db, paths[:60])
    _ingest(db, paths[60:])  # the log below the watermark is trimmed by then: it cannot rebuild the index
    shutil.rmtree(folder_for(db))
    r = _run(db, "ingest", str(tmp_path / "articles"))  # every file unchanged
    assert r.returncode == 0, r.stderr
    assert "0 new, 0 updated, 120 unchanged" in r.stderr
    assert _found(db) == len(paths)
    s = SQLiteStore(db)
    assert s.index_consistent()
    s.close()


def test_a_db_file_copied_alone_is_searchable_in_full(tmp_path: Path, write_article: Writer) -> None:
    db = tmp_path / "a.db"
    _ingest(db, _corpus(write_article, 80))
    (tmp_path / "elsewhere").mkdir()
    copy = tmp_path / "elsewhere" / "a.db"
    shutil.copy(db, copy)
    r = _run(copy, "search", "ceasefire", "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 80


def test_an_index_short_of_the_table_is_rebuilt_and_readers_say_so_meanwhile(
        tmp_path: Path, write_article: Writer) -> None:
    """An index with a valid watermark that lacks articles (made by an older archive from a partial
    log, or with documents lost): the count decides, not the watermark."""
    db = tmp_path / "a.db"
    _ingest(db, _corpus(write_article, 60))
    ix = TextIndex(folder_for(db), readonly=False)
    w = ix.writer(5)
    for n in range(1, 41):
        w.delete_documents_by_term("n", n)
    w.commit()
    w.wait_merging_threads()
    del w
    r = _run(db, "search", "ceasefire", "--format", "jsonl")
    assert r.returncode == 0
    assert len(r.stdout.splitlines()) == 20
    assert "warning" in r.stderr and "incomplete" in r.stderr
    s = SQLiteStore(db)  # a writer opens: the count is short, it rebuilds
    assert s.index_consistent()
    s.close()
    assert _found(db) == 60


def test_a_corrupted_segment_is_no_traceback_and_the_next_writer_rebuilds_it(
        tmp_path: Path, write_article: Writer) -> None:
    db = tmp_path / "a.db"
    _ingest(db, _corpus(write_article, 200))
    folder = folder_for(db)

    def corrupt() -> None:
        idx = max(folder.glob("*.idx"), key=lambda p: p.stat().st_size)
        data = bytearray(idx.read_bytes())
        mid = len(data) // 3
        data[mid : mid + 200] = bytes(b ^ 0xA5 for b in data[mid : mid + 200])
        idx.write_bytes(bytes(data))

    corrupt()
    r = _run(db, "search", "ceasefire", "--format", "jsonl")
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 200  # every hit, and it says what it found
    assert "damaged" in r.stderr
    # On media it cannot write, a reader answers by reading the table and says so.
    corrupt()
    ro = SQLiteStore(db, create=False)
    ro.readonly = True
    assert len(list(ro.search("ceasefire", Filters()))) == 200
    assert ro.search_warning and "reading every article" in ro.search_warning
    ro.close()
    s = SQLiteStore(db)  # the writer's checks find the damage: rebuilt from the table
    assert s.index_consistent()
    s.close()
    r = _run(db, "search", "ceasefire", "--format", "jsonl")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 200 and "warning" not in r.stderr


def test_a_writer_stamps_what_it_wrote_so_readers_do_not_read_it_again(
        tmp_path: Path, write_article: Writer) -> None:
    """A reader checksums only index files no one has verified: after a write, none are left
    (before, every search read every new segment back, ~6 ms at 10k articles)."""
    import json

    from archive.search.index import VERIFIED

    db = tmp_path / "a.db"
    _ingest(db, _corpus(write_article, 120))
    folder = folder_for(db)
    meta = json.loads((folder / "meta.json").read_text())
    segments = {str(seg["segment_id"]).replace("-", "") for seg in meta["segments"]}
    written = {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in folder.iterdir()
               if p.name.split(".")[0] in segments}
    assert written
    assert json.loads((folder / VERIFIED).read_text()) == written


def test_a_killed_writer_leaves_readers_warned_and_never_wrong(
        tmp_path: Path, write_article: Writer, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "a.db"
    paths = _corpus(write_article, 30)
    _ingest(db, paths)
    # The table commits, the process dies before the index does (as a kill -9 between the commits).
    monkeypatch.setattr(SQLiteSearch, "_index_after_commit", lambda self, top: self._drop_writer(rollback=True))
    s = SQLiteStore(db)
    for p in paths[:10]:
        p.write_text(p.read_text().replace("ceasefire", "armistice"))
    s.upsert_many([item_for(p) for p in paths[:10]])
    s.db.close()
    monkeypatch.undo()
    r = SQLiteStore(db, create=False)
    hits = {h.article.source.path for h in r.search("ceasefire", Filters())}
    assert hits == {str(p) for p in paths[10:]}  # never a hit whose stored text lost the word
    assert r.count_matches("ceasefire", Filters()) == 20
    assert r.search_counted("ceasefire", Filters(), 5)[1] == 20 == r.facets("ceasefire", Filters()).total
    assert r.search_warning and "lacks 10 changes" in r.search_warning
    r.close()
    cli = _run(db, "search", "ceasefire", "--format", "jsonl")
    assert len(cli.stdout.splitlines()) == 20 and "lacks 10 changes" in cli.stderr
    SQLiteStore(db).close()  # the next writer indexes them
    assert _found(db, "armistice") == 10 and _found(db) == 20


@pytest.mark.slow
def test_a_busy_index_writer_is_waited_for_not_an_error(tmp_path: Path, write_article: Writer) -> None:
    """Another process holding the index's writer (a daemon in its first scan): ingest takes its
    turn instead of failing with tantivy's lock text."""
    db = tmp_path / "a.db"
    _ingest(db, _corpus(write_article, 5))
    more = [write_article(f"more/{i}.txt", title=f"More {i}", body="Armistice talks.") for i in range(5)]
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from archive.search.index import TextIndex; "
         "w = TextIndex(Path(sys.argv[1]), readonly=False).writer(5); "
         "print('held', flush=True); time.sleep(8); del w", str(folder_for(db))],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        r = _run(db, "ingest", str(more[0].parent))
    finally:
        holder.communicate(timeout=30)
    assert r.returncode == 0, r.stderr
    assert "LockBusy" not in r.stderr and "5 new" in r.stderr
    assert _found(db, "armistice") == 5


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("chattr") is None, reason="chattr +i needs root")
def test_an_immutable_index_folder_is_a_store_fault_not_failures(tmp_path: Path, write_article: Writer) -> None:
    db = tmp_path / "a.db"
    _ingest(db, _corpus(write_article, 5))
    more = [write_article(f"more/{i}.txt", title=f"More {i}", body="Armistice talks.") for i in range(40)]
    folder = folder_for(db)
    if subprocess.run(["chattr", "+i", str(folder)], check=False).returncode != 0:
        pytest.skip("this file system has no immutable attribute")
    try:
        r = _run(db, "ingest", str(more[0].parent))
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert r.returncode == 1
    assert "store unavailable" in r.stderr and "Traceback" not in r.stderr and "internal error" not in r.stderr
    s = SQLiteStore(db, create=False)
    assert list(s.failures()) == []  # nothing recorded against a file
    s.close()
    r = _run(db, "ingest", str(more[0].parent))  # the fault gone, everything goes in
    assert r.returncode == 0, r.stderr
    assert _found(db, "armistice") == 40


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_disk_under_the_index_is_a_store_fault_and_heals(tmp_path: Path, write_article: Writer) -> None:
    db = tmp_path / "a.db"
    _ingest(db, _corpus(write_article, 3))
    folder = folder_for(db)
    saved = tmp_path / "saved-index"
    shutil.copytree(folder, saved)
    shutil.rmtree(folder)
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], check=False,
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        for f in saved.iterdir():
            shutil.copy(f, folder / f.name)
        body = " ".join(f"word{i}" for i in range(3000))
        for i in range(60):
            write_article(f"big/{i}.txt", title=f"Big {i}", body=f"Armistice {body} {i}.")
        r = _run(db, "ingest", str(tmp_path / "articles" / "big"))
        assert r.returncode == 1
        assert "store unavailable" in r.stderr and "Traceback" not in r.stderr, r.stderr
        s = SQLiteStore(db, create=False)
        assert list(s.failures()) == []
        s.close()
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
    r = _run(db, "ingest", str(tmp_path / "articles" / "big"))  # room again: it all goes in
    assert r.returncode == 0, r.stderr
    assert _found(db, "armistice") == 60


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root to run archive as another user (setpriv)")
def test_an_index_folder_of_another_user_is_a_clear_store_fault(write_article: Writer) -> None:
    """The index folder belongs to root (mode 0700) and archive runs as nobody: search answers by
    reading the table and says why; ingest is a store fault in one line; no traceback, no
    "internal error" (issue 22)."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="archive-perm-"))
    try:
        base.chmod(0o777)
        db = base / "a.db"
        paths = [write_article(f"{i}.txt", title=f"Article {i}", body="A ceasefire report.") for i in range(5)]
        _ingest(db, paths)
        for f in base.iterdir():
            if f.is_file():
                f.chmod(0o666)
        folder_for(db).chmod(0o700)
        more = base / "more"
        more.mkdir()
        (more / "x.txt").write_text("# Another\n\nJane Doe\n5 May 2017\n\nA ceasefire again.\n")
        more.chmod(0o755)
        (more / "x.txt").chmod(0o644)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
        env["HOME"] = str(base)

        def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ARCHIVE,
                                   "--db", str(db), *args], capture_output=True, text=True, env=env, timeout=120,
                                  cwd="/", check=False)

        r = as_nobody("search", "ceasefire", "--format", "jsonl")
        if r.returncode != 0 and "search index" not in r.stderr:
            pytest.skip(f"nobody cannot use this venv or folder here: {r.stderr[:200]}")
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
        assert r.returncode == 0 and len(r.stdout.splitlines()) == 5, r.stderr
        assert "warning" in r.stderr and "search index" in r.stderr
        r = as_nobody("ingest", str(more))
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
        assert r.returncode == 1 and "store unavailable" in r.stderr and "search index" in r.stderr, r.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_ingest_during_a_daemons_first_scan_takes_its_turn(tmp_path: Path) -> None:
    """The daemon holds the index's writer through its first bulk scan; an ``archive ingest`` of
    the same store started meanwhile waits for its turn and stores everything (issue 22: it
    exited 1 with tantivy's "LockBusy" and stored nothing)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_corpus

    from tests.daemon import DaemonProc, wait_for

    watched, extra = tmp_path / "watched", tmp_path / "extra"
    make_corpus.generate(4000, watched, 3)
    make_corpus.generate(300, extra, 4)
    db = tmp_path / "a.db"
    d = DaemonProc(watched, db)
    try:
        wait_for(lambda: any("scan" in str(r.get("message", "")) or r.get("event") in ("new", "scan")
                             for r in d.lines()) or (db.exists() and folder_for(db).exists()), 60)
        r = _run(db, "ingest", str(extra))
        assert r.returncode in (0, 1), r.stderr  # 1: make_corpus plants broken files on purpose
        assert "LockBusy" not in r.stderr and "store unavailable" not in r.stderr, r.stderr
        assert "new" in r.stderr
        wait_for(lambda: any(x.get("event") == "scan" for x in d.lines()), 120)
    finally:
        d.stop()
    s = SQLiteStore(db)
    try:
        paths = {a.source.path for a in s.query(Filters())}
        assert any(p.startswith(str(extra)) for p in paths) and any(p.startswith(str(watched)) for p in paths)
        assert s.index_consistent()
    finally:
        s.close()
