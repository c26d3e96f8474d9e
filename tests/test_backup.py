"""`archive backup DEST` and `archive restore SRC` (SPEC): a consistent copy of the whole store —
articles, every kept revision, deletions and failures — and that copy brought back into an empty
store, its search index rebuilt; a round trip exports byte for byte what the original exports."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from click.testing import CliRunner

from archive.cli import cli
from archive.store.records import Filters
from archive.store.sqlite import SQLiteStore
from tests.conftest import article_text, item_for


def _run(db: Path, *args: str) -> str:
    r = CliRunner().invoke(cli, ["--db", str(db), *args])
    assert r.exit_code == 0, r.output
    return r.output


def _filled(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(12):
        (folder / f"{i}.txt").write_text(article_text(title=f"Ceasefire report {i}", body=f"Talks, day {i}."))
    (folder / "empty.txt").write_text("")
    db = tmp_path / "a.db"
    CliRunner().invoke(cli, ["--db", str(db), "ingest", str(folder)])
    (folder / "3.txt").write_text(article_text(title="Ceasefire report 3", body="Talks, revised."))
    (folder / "5.txt").unlink()
    _run(db, "sync", str(folder))
    return db


def _state(db: Path) -> tuple[str, str, list[str]]:
    arts = _run(db, "export", "--include-deleted")
    revs = _run(db, "export", "--revisions")
    fails = sorted((json.loads(x)["path"], json.loads(x)["reason"])
                   for x in _run(db, "failures", "--format", "jsonl").splitlines())
    return arts, revs, [f"{p} {r}" for p, r in fails]


def test_backup_then_restore_gives_back_the_same_archive(tmp_path: Path, clean_env: Path) -> None:
    db = _filled(tmp_path)
    before = _state(db)
    assert "deleted_at" in before[0] and before[1].strip() and before[2]  # a deletion, a revision, a failure
    backup = tmp_path / "backup.db"
    out = CliRunner().invoke(cli, ["--db", str(db), "backup", str(backup)])
    assert out.exit_code == 0 and "12 articles, 1 revision, 1 failure backed up" in out.output, out.output
    restored = tmp_path / "restored.db"
    out = CliRunner().invoke(cli, ["--db", str(restored), "restore", str(backup)])
    assert out.exit_code == 0 and "verified" in out.output, out.output
    assert _state(restored) == before
    hits = _run(restored, "search", "ceasefire", "--format", "jsonl").splitlines()
    assert len(hits) == 11  # the index is built from what was restored (the deleted one aside)
    s = SQLiteStore(restored)
    assert s.index_consistent()
    s.close()


def test_restore_refuses_a_store_that_is_not_empty_and_backup_a_file_that_exists(
        tmp_path: Path, clean_env: Path) -> None:
    db = _filled(tmp_path)
    backup = tmp_path / "backup.db"
    _run(db, "backup", str(backup))
    again = CliRunner().invoke(cli, ["--db", str(db), "backup", str(backup)])
    assert again.exit_code == 2 and "exists" in again.output
    into = CliRunner().invoke(cli, ["--db", str(db), "restore", str(backup)])
    assert into.exit_code == 2 and "not empty" in into.output
    missing = CliRunner().invoke(cli, ["--db", str(tmp_path / "new.db"), "restore", str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "no backup" in missing.output


def test_a_backup_taken_while_a_writer_writes_is_consistent(tmp_path: Path) -> None:
    from archive.backup import backup

    db = tmp_path / "a.db"
    folder = tmp_path / "w"
    folder.mkdir()
    writer = SQLiteStore(db)
    writer.upsert_many([item_for(_write(folder, 0))])
    stop = threading.Event()

    def write() -> None:
        w = SQLiteStore(db)
        i = 1
        while not stop.is_set() and i < 400:
            w.upsert_many([item_for(_write(folder, i))])
            i += 1
        w.close()

    t = threading.Thread(target=write)
    t.start()
    try:
        reader = SQLiteStore(db, create=False)
        reps = [backup(reader, tmp_path / f"b{k}.db") for k in range(5)]
        reader.close()
    finally:
        stop.set()
        t.join(60)
    for rep in reps:
        copy = SQLiteStore(rep.path, create=False)
        assert copy.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.count(Filters()) == rep.articles >= 1
        copy.close()
    writer.close()


def _write(folder: Path, i: int) -> Path:
    p = folder / f"{i}.txt"
    p.write_text(article_text(title=f"Article {i}", body=f"Body {i}."))
    return p


def test_a_backup_restores_into_either_backend_and_a_mongodb_store_backs_up(
        tmp_path: Path, store: object, write_article: object) -> None:
    from archive.backup import backup, restore
    from archive.export import fingerprint
    from archive.store.base import Store

    assert isinstance(store, Store)
    src = SQLiteStore(tmp_path / "src.db")
    src.upsert_many([item_for(write_article(f"{i}.txt", title=f"T {i}", body=f"Body {i}."))  # type: ignore[operator]
                     for i in range(5)])
    rep = backup(src, tmp_path / "b.db")
    assert rep.articles == 5
    restored = restore(store, Path(rep.path))
    assert restored.verified and fingerprint(store) == fingerprint(src)
    again = backup(store, tmp_path / "from-restored.db")  # MongoDB: copied and verified as migrate does
    assert again.articles == 5
    src.close()


def test_a_full_export_restores_the_same_archive(tmp_path: Path, clean_env: Path) -> None:
    """SPEC: `restore SRC` reads a backup or a full export (`export --all`): every article, deleted
    ones too, every kept revision and every failure come back, and the index is built."""
    db = _filled(tmp_path)
    before = _state(db)
    dump = tmp_path / "everything.jsonl"
    out = CliRunner().invoke(cli, ["--db", str(db), "export", "--all", "-o", str(dump)])
    assert out.exit_code == 0 and "14 records" in out.output, out.output  # 12 articles, 1 revision, 1 failure
    kinds = [("failure" if d.get("record") == "failure" else "revision" if "article_id" in d else "article")
             for d in map(json.loads, dump.read_text().splitlines())]
    assert kinds == ["article"] * 12 + ["revision"] + ["failure"]
    restored = tmp_path / "restored.db"
    out = CliRunner().invoke(cli, ["--db", str(restored), "restore", str(dump)])
    assert out.exit_code == 0 and "12 articles, 1 revision, 1 failure restored" in out.output, out.output
    assert _state(restored) == before
    assert len(_run(restored, "search", "ceasefire", "--format", "jsonl").splitlines()) == 11
    bad = CliRunner().invoke(cli, ["--db", str(db), "export", "--all", "--format", "csv"])
    assert bad.exit_code == 2 and "--all exports everything as jsonl" in bad.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text(dump.read_text().splitlines()[0] + "\n{not json\n")
    out = CliRunner().invoke(cli, ["--db", str(tmp_path / "other.db"), "restore", str(broken)])
    assert out.exit_code == 2 and "line 2" in out.output, out.output
