"""The shared pipeline, called directly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archive.config import Settings
from archive.ingest import Ingester, Rules, walk
from archive.store.base import Store
from archive.store.records import Filters
from tests.conftest import SEEDS, article_text


def settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(db=str(tmp_path / "a.db"), **kw)  # type: ignore[arg-type]


def test_reconcile_counts_and_skips_unchanged(sqlite_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "f"
    shutil.copytree(SEEDS, folder)
    (folder / "broken.txt").write_bytes(b"\x00\x01binary")
    ing = Ingester(sqlite_store, settings(tmp_path))
    s = ing.reconcile(str(folder))
    assert (s.new, s.updated, s.unchanged, s.failed) == (2, 0, 0, 1)
    assert s.line() == "2 new, 0 updated, 0 unchanged, 1 failed"
    s = ing.reconcile(str(folder))
    assert (s.new, s.unchanged, s.failed) == (0, 3, 0)  # the broken file is not re-read either
    assert [f.code for f in sqlite_store.failures()] == ["not-text"]
    (folder / "broken.txt").write_text(article_text())
    s = ing.reconcile(str(folder))
    assert (s.new, s.failed) == (1, 0)
    assert list(sqlite_store.failures()) == []


def test_reconcile_moves_renames_and_deletions(sqlite_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "f"
    shutil.copytree(SEEDS, folder)
    ing = Ingester(sqlite_store, settings(tmp_path))
    ing.reconcile(str(folder))
    ids = {a.source.path: a.id for a in sqlite_store.query(Filters())}
    a, b = sorted(ids)
    (folder / "sub").mkdir()
    os.rename(a, folder / "sub" / "renamed.txt")
    os.remove(b)
    s = ing.reconcile(str(folder))
    assert (s.moved, s.deleted, s.new) == (1, 1, 0)
    moved = sqlite_store.get(ids[a])
    assert moved and moved.source.path == str(folder / "sub" / "renamed.txt") and moved.deleted_at is None
    gone = sqlite_store.get(ids[b])
    assert gone and gone.deleted_at is not None


def test_a_reconcile_a_few_files_at_a_time_finds_every_change(store: Store, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder is walked, planned and written in chunks (memory flat with the folder): a move
    from one chunk to another, a deletion, an edit, a new file and a file that is no longer an
    article are each found, and an unchanged folder asks for no list of what is stored."""
    import archive.ingest.pipeline as pipeline

    monkeypatch.setattr(pipeline, "RECONCILE_CHUNK", 2)
    folder = tmp_path / "f"
    folder.mkdir()
    for i in range(7):
        (folder / f"a{i}.txt").write_text(article_text(title=f"T{i}", body=f"Body number {i}."))
    ing = Ingester(store, settings(tmp_path))
    s = ing.reconcile(str(folder))
    assert (s.new, s.unchanged, s.deleted) == (7, 0, 0)
    ids = {Path(a.source.path).name: a.id for a in store.query(Filters())}
    listed: list[str] = []
    known_files = store.known_files

    def spy(prefix: str | None = None) -> Any:
        for k in known_files(prefix):
            listed.append(k.path)
            yield k

    monkeypatch.setattr(store, "known_files", spy)
    s = ing.reconcile(str(folder))
    assert (s.new, s.unchanged, s.deleted, s.gone) == (0, 7, 0, 0)
    assert len(listed) <= 1  # whether any file is known (new ones may be moved ones); no list of them all
    os.rename(folder / "a0.txt", folder / "z.txt")  # walked last: the old path was in the first chunk
    os.remove(folder / "a3.txt")
    (folder / "a4.txt").write_text(article_text(title="T4", body="Body number 4, edited."))
    (folder / "new.txt").write_text(article_text(title="New", body="Something else entirely."))
    os.remove(folder / "a5.txt")
    os.mkfifo(folder / "a5.txt")  # no longer an article file (never walked)
    s = ing.reconcile(str(folder))
    assert (s.moved, s.deleted, s.updated, s.new, s.unchanged) == (1, 2, 1, 1, 3)
    moved = store.get(ids["a0.txt"])
    assert moved is not None and moved.source.path == str(folder / "z.txt") and moved.deleted_at is None
    assert {Path(a.source.path).name for a in store.query(Filters())} == {
        "z.txt", "a1.txt", "a2.txt", "a4.txt", "a6.txt", "new.txt"}
    os.remove(folder / "a6.txt")  # archive ingest says what is gone; only a sync deletes it
    s = Ingester(store, settings(tmp_path)).ingest_paths([str(folder)])
    assert (s.gone, s.deleted, s.unchanged) == (1, 0, 5)


def test_copy_across_devices_is_found_by_sha(sqlite_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.txt").write_text(article_text(body="Same bytes."))
    ing = Ingester(sqlite_store, settings(tmp_path))
    ing.reconcile(str(folder))
    [art] = list(sqlite_store.query(Filters()))
    data = (folder / "a.txt").read_bytes()
    os.remove(folder / "a.txt")
    (folder / "b.txt").write_bytes(data)  # a new inode, same content
    s = ing.reconcile(str(folder))
    assert s.moved == 1
    got = sqlite_store.get(art.id)
    assert got and got.source.path == str(folder / "b.txt")


def test_ignored_names_symlinks_and_extensions(tmp_path: Path, write_article: Callable[..., Path]) -> None:
    root = tmp_path / "articles"
    keep = [write_article("a.txt"), write_article("sub/b.md"), write_article("Upper.TXT")]
    for name in (".hidden.txt", "a.txt~", "x.swp", "x.tmp", "y.txt.part", "z.crdownload", ".DS_Store",
                 "Thumbs.db", "@eaDir/c.txt", ".git/d.txt", "notes.pdf", "e.part"):
        write_article(name)
    outside = tmp_path / "outside.txt"
    outside.write_text(article_text())
    os.symlink(outside, root / "link-out.txt")
    os.symlink(root / "a.txt", root / "link-in.txt")
    os.symlink(root, root / "loop")  # a symlink loop is not entered
    rules = Rules(Settings(db="x.db", ignore=["*.md"]))  # type: ignore[call-arg]
    got = sorted(f.path for f in walk(str(root), rules))
    assert got == sorted([str(keep[0]), str(keep[2]), str(root / "link-in.txt")])
    assert rules.wanted_file(str(root / "a.txt"), str(root))
    assert not rules.wanted_file(str(tmp_path / "elsewhere.txt"), str(root))


def test_big_backlog_uses_the_pool_and_matches_inline(sqlite_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    for i in range(600):
        (folder / f"{i:04}.txt").write_text(article_text(title=f"Title {i}", body=f"Body {i}."))
    (folder / "bad.txt").write_text("")
    ing = Ingester(sqlite_store, settings(tmp_path, workers=2, batch_size=100))
    try:
        s = ing.reconcile(str(folder))
    finally:
        ing.close()
    assert (s.new, s.failed) == (600, 1)
    assert sqlite_store.count(Filters()) == 600
    assert {a.title for a in sqlite_store.query(Filters())} == {f"Title {i}" for i in range(600)}


def test_ingest_paths_files_and_missing(sqlite_store: Store, tmp_path: Path) -> None:
    ing = Ingester(sqlite_store, settings(tmp_path))
    s = ing.ingest_paths([str(SEEDS / "000_bec70df4e4b3c35a.txt"), str(tmp_path / "nope.txt")])
    assert (s.new, s.failed) == (1, 1)
    s = ing.ingest_paths([str(SEEDS)])
    assert (s.new, s.unchanged) == (1, 1)


def test_oversized_file_is_refused_without_reading(sqlite_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "big.txt").write_text(article_text(body="x " * 5000))
    ing = Ingester(sqlite_store, settings(tmp_path, max_bytes=1000))
    s = ing.reconcile(str(folder))
    assert s.failed == 1
    assert [f.code for f in sqlite_store.failures()] == ["too-large"]


def test_reused_inode_is_not_a_move(sqlite_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "gone.txt").write_text(article_text(title="Gone", body="Old text."))
    (folder / "edit.txt").write_text(article_text(title="Kept title", body="Old text."))
    ing = Ingester(sqlite_store, settings(tmp_path))
    ing.reconcile(str(folder))
    ids = {a.title: a.id for a in sqlite_store.query(Filters())}
    os.remove(folder / "gone.txt")
    (folder / "new.txt").write_text(article_text(title="Brand new", body="Other text."))
    # Renamed and edited in place (same inode) while nobody watched:
    os.rename(folder / "edit.txt", folder / "edited.txt")
    with open(folder / "edited.txt", "a") as fh:
        fh.write("\nMore text.\n")
    s = ing.reconcile(str(folder))
    arts = {a.title: a for a in sqlite_store.query(Filters(include_deleted=True))}
    assert arts["Gone"].id == ids["Gone"] and arts["Gone"].deleted_at is not None
    assert arts["Brand new"].id not in ids.values()
    assert arts["Kept title"].id == ids["Kept title"] and arts["Kept title"].revision == 2
    assert (s.new, s.updated, s.deleted) == (1, 1, 1)


def test_one_document_the_store_refuses_does_not_sink_its_batch(sqlite_store: Store, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    for i in range(5):
        (folder / f"{i}.txt").write_text(article_text(title=f"T{i}"))
    real = sqlite_store.upsert_many

    def picky(items: Any) -> Any:
        if any(i.parsed.title == "T3" for i in items):
            raise ValueError("cannot store T3")
        return real(items)

    monkeypatch.setattr(sqlite_store, "upsert_many", picky)
    s = Ingester(sqlite_store, settings(tmp_path)).reconcile(str(folder))
    assert (s.new, s.failed) == (4, 1)
    [f] = sqlite_store.failures()
    assert f.path == str(folder / "3.txt") and f.code == "store-error" and "cannot store T3" in f.reason


def test_progress_moves_file_by_file_not_batch_by_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """A person watching a bar sees it move every few files (it sat at 0/300 for 17 s, then jumped
    by 500), and a long run off a terminal logs its rate (issue 26)."""
    import logging

    from archive.config import Settings
    from archive.ingest import Ingester
    from archive.ingest import pipeline as ing_mod
    from archive.store.sqlite import SQLiteStore

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(700):
        (folder / f"{i}.txt").write_text(article_text(title=f"Title {i}"))
    steps: list[int] = []
    monkeypatch.setattr(ing_mod, "PROGRESS_EVERY", 0.0)
    s = SQLiteStore(tmp_path / "a.db")
    for workers in (1, 2):
        steps.clear()
        ing = Ingester(s, Settings(db=str(tmp_path / "a.db"), workers=workers), log_each=False,
                       progress=steps.append, log_progress=True)
        with caplog.at_level(logging.INFO, logger="archive.ingest"):
            ing.ingest_paths([str(folder)])
        ing.close()
        assert sum(steps) == 700 and max(steps) <= 128, (workers, steps[:10])
        if workers == 1:
            assert any("ingesting:" in r.getMessage() and "files/s" in r.getMessage() for r in caplog.records)
            for i in range(700):  # change them all for the second (pooled) run
                (folder / f"{i}.txt").write_text(article_text(title=f"Title {i} again"))
    s.close()


def test_a_saved_pages_resource_folder_is_not_watched(tmp_path: Path) -> None:
    """The daemon's events ask Rules too: a file in page_files/ beside page.html is no article."""
    (tmp_path / "page_files").mkdir()
    (tmp_path / "page.HTML").write_text("<html></html>")
    (tmp_path / "page_files" / "frame.html").write_text("<html></html>")
    (tmp_path / "other_files").mkdir()
    (tmp_path / "other_files" / "x.html").write_text("<html></html>")
    rules = Rules(Settings(db="x.db"))
    assert not rules.wanted_file(str(tmp_path / "page_files" / "frame.html"), str(tmp_path))
    assert rules.wanted_file(str(tmp_path / "other_files" / "x.html"), str(tmp_path))
    assert sorted(Path(f.path).name for f in walk(str(tmp_path), rules)) == ["page.HTML", "x.html"]


def test_a_single_file_that_cannot_be_read_is_listed_by_failures(tmp_path: Path) -> None:
    """``archive ingest FILE`` of a file it cannot stat records a failure, as it does for a file it
    cannot parse (issue 21: it went only into a list nothing read)."""
    db = tmp_path / "a.db"
    link = tmp_path / "dangling.txt"
    link.symlink_to(tmp_path / "missing.txt")
    run = subprocess.run([sys.executable, "-m", "archive", "--db", str(db), "ingest", str(link)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    out = subprocess.run([sys.executable, "-m", "archive", "--db", str(db), "failures", "--format", "jsonl"],
                         capture_output=True, text=True, timeout=60)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["path"], r["code"]) for r in rows] == [(str(link), "unreadable")], out


def test_a_long_runs_progress_line_says_when_the_walk_is_still_finding_files() -> None:
    """A reconcile walks a chunk at a time: until the walk ends, the total is what it found so far
    and no time left is guessed from it."""
    from archive.ingest.pipeline import _Run

    run = _Run(40_000, 0.0, done=10_000, walking=True)
    assert run.line(10.0) == "ingesting: 10,000 of 40,000 files found so far (1,000 files/s)"
    run.walking = False
    assert run.line(10.0) == "ingesting: 10,000 of 40,000 files (1,000 files/s, about 0:30 left)"
