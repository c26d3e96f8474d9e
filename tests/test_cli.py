"""Every command through click's CliRunner, against real SQLite files."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from archive.cli import cli
from tests.conftest import SEEDS, article_text


@pytest.fixture
def env(tmp_path: Path, clean_env: Path) -> dict[str, Any]:
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    return {"db": str(tmp_path / "a.db"), "folder": folder, "tmp": tmp_path}


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def ingested(env: dict[str, Any]) -> dict[str, Any]:
    r = run("--db", env["db"], "ingest", str(env["folder"]))
    assert r.exit_code == 0, r.output
    return env


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


COMMANDS = sorted(cli.commands)  # derived, never a hand-kept list (sqlite-utils habit)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    r = run(command, "--help")
    assert r.exit_code == 0
    assert "Example" in r.output and f"archive {command}" in r.output.split("Example", 1)[1]


def test_top_level_help_and_version() -> None:
    r = run("--help")
    assert r.exit_code == 0 and all(c in r.output for c in COMMANDS)
    assert run("--version").output.startswith("archive, version")


def test_parse_prints_articles_and_errors(env: dict[str, Any]) -> None:
    bad = env["tmp"] / "bad.txt"
    bad.write_text("")
    r = run("parse", *(str(p) for p in sorted(env["folder"].iterdir())), str(bad))
    assert r.exit_code == 1
    docs = jsonl(r.stdout)
    assert [d.get("title") for d in docs[:2]] == [
        "US pushes for renewed military presence in Iraq",
        "Pentagon in talks with Baghdad on permanent US occupation of Iraq",
    ]
    assert docs[0]["source"]["path"] == str(env["folder"] / "000_bec70df4e4b3c35a.txt")
    assert all(d["path"] == str(f) for d, f in zip(docs, [*sorted(env["folder"].iterdir()), bad], strict=True))
    assert docs[2] == {"path": str(bad), "error": "empty: the file has no text"}
    assert run("parse", str(env["folder"] / "000_bec70df4e4b3c35a.txt")).exit_code == 0


def test_ingest_summary_and_failure_exit(env: dict[str, Any]) -> None:
    r = run("--db", env["db"], "ingest", str(env["folder"]))
    assert r.exit_code == 0 and "2 new, 0 updated, 0 unchanged, 0 failed" in r.stderr
    r = run("--db", env["db"], "ingest", str(env["folder"]))
    assert "0 new, 0 updated, 2 unchanged, 0 failed" in r.stderr
    (env["folder"] / "empty.txt").write_text("")
    r = run("--db", env["db"], "ingest", str(env["folder"]), str(env["tmp"] / "missing.txt"))
    assert r.exit_code == 1 and "0 new, 0 updated, 2 unchanged, 2 failed" in r.stderr
    assert "missing.txt: no such file" in r.stderr


def test_ingest_reparse_reads_unchanged_files_and_failures_again(env: dict[str, Any]) -> None:
    """After an upgrade of archive: ``ingest --reparse`` stores what this parser makes of files whose
    bytes did not change (here an article an older parser read otherwise, and a file it failed),
    without a revision; a plain ingest leaves them as they are."""
    from archive.models import Failure
    from archive.store import open_store
    from tests.conftest import item_for

    ingested(env)
    seed = sorted(env["folder"].glob("*.txt"))[0]
    late = env["folder"] / "late.txt"
    late.write_text(article_text(title="Read at last"))
    s = open_store(env["db"])
    item = item_for(seed)
    [old] = s.upsert_many([item._replace(parsed=item.parsed._replace(title="As an older parser read it"),
                                         reparse=True)])
    st = late.stat()
    s.record_failures([Failure(path=str(late), code="no-article", reason="an older parser's refusal",
                               size=st.st_size, mtime=st.st_mtime)])
    s.close()
    r = run("--db", env["db"], "ingest", str(env["folder"]))
    assert "0 new, 0 updated, 3 unchanged, 0 failed" in r.stderr  # the failure is not retried: same file
    r = run("--db", env["db"], "ingest", "--reparse", str(env["folder"]))
    assert r.exit_code == 0 and "1 new, 0 updated, 1 unchanged, 0 failed (1 reparsed)" in r.stderr, r.stderr
    shown = json.loads(run("--db", env["db"], "show", old.id, "--format", "json").stdout)
    assert (shown["title"], shown["revision"]) == (item.parsed.title, 1)
    assert jsonl(run("--db", env["db"], "history", old.id, "--format", "jsonl").stdout)[-1]["revision"] == 1
    assert [a["title"] for a in jsonl(run("--db", env["db"], "search", "Read at last").stdout)] == ["Read at last"]


def test_sync_reparse_reads_unchanged_files_again_and_still_marks_the_gone(env: dict[str, Any]) -> None:
    """``archive sync --reparse``: the reconcile's new, moved and deleted files as ever, and the
    unchanged ones read again, as ``ingest --reparse`` does."""
    from archive.store import open_store
    from tests.conftest import item_for

    ingested(env)
    seeds = sorted(env["folder"].glob("*.txt"))
    s = open_store(env["db"])
    item = item_for(seeds[0])
    [old] = s.upsert_many([item._replace(parsed=item.parsed._replace(title="As an older parser read it"),
                                         reparse=True)])
    s.close()
    seeds[1].unlink()
    r = run("--db", env["db"], "sync", str(env["folder"]))
    assert r.exit_code == 0, r.output
    assert json.loads(run("--db", env["db"], "show", old.id, "--format", "json").stdout)["title"] == (
        "As an older parser read it")
    r = run("--db", env["db"], "sync", "--reparse", str(env["folder"]))
    assert r.exit_code == 0, r.output
    shown = json.loads(run("--db", env["db"], "show", old.id, "--format", "json").stdout)
    assert (shown["title"], shown["revision"]) == (item.parsed.title, 1)
    assert [a["title"] for a in jsonl(run("--db", env["db"], "list").stdout)] == [item.parsed.title]


def test_default_store_is_in_the_data_dir(env: dict[str, Any]) -> None:
    assert run("ingest", str(env["folder"])).exit_code == 0
    assert (env["tmp"] / "xdg" / "archive" / "archive.db").exists()
    assert len(jsonl(run("list").stdout)) == 2


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "table"])
def test_list_and_search_formats(env: dict[str, Any], fmt: str) -> None:
    ingested(env)
    db = env["db"]
    r = run("--db", db, "list", "--format", fmt)
    assert r.exit_code == 0
    s = run("--db", db, "search", "maliki", "--format", fmt)
    assert s.exit_code == 0
    if fmt == "jsonl":
        docs = jsonl(r.stdout)
        assert [d["published"] for d in docs] == ["2017-05-05", "2012-02-02"]
        assert set(docs[0]) >= {"id", "title", "authors", "published", "body", "word_count", "source", "revision",
                                "ingested_at", "updated_at", "deleted_at"}
        [hit] = jsonl(s.stdout)
        assert hit["title"].startswith("US pushes") and "**Maliki**" in hit["snippet"] and hit["score"] > 0
    elif fmt == "json":
        assert len(json.loads(r.stdout)) == 2 and len(json.loads(s.stdout)) == 1
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(r.stdout)))
        assert rows[0][:3] == ["id", "title", "authors"] and len(rows) == 3
    else:
        assert "Pentagon in talks" in r.stdout and "Maliki" in s.stdout


def test_machine_output_is_plain(env: dict[str, Any]) -> None:
    ingested(env)
    out = run("--db", env["db"], "list", "--format", "jsonl").stdout
    assert "\x1b[" not in out and "’" in out  # no colour, UTF-8 kept


def test_empty_results(env: dict[str, Any]) -> None:
    ingested(env)
    r = run("--db", env["db"], "search", "nothingmatcheszzz", "--format", "jsonl")
    assert r.exit_code == 0 and r.stdout == ""
    assert run("--db", env["db"], "search", "nothingmatcheszzz", "--format", "json").stdout.strip() == "[]"


def test_filters_validate_and_apply(env: dict[str, Any]) -> None:
    ingested(env)
    db = env["db"]
    assert run("--db", db, "list", "--since", "not-a-date").exit_code == 2
    assert run("--db", db, "list", "--since", "2020-01-01", "--until", "2019-01-01").exit_code == 2
    assert run("--db", db, "list", "--limit", "-1").exit_code == 2
    titles = lambda *a: [d["title"] for d in jsonl(run("--db", db, "list", "--format", "jsonl", *a).stdout)]  # noqa: E731
    assert titles("--author", "peter symonds") == ["US pushes for renewed military presence in Iraq"]
    assert titles("--author", '{"$ne": null}') == []
    assert titles("--since", "2013-01-01") == ["Pentagon in talks with Baghdad on permanent US occupation of Iraq"]
    assert titles("--until", "2012-02-02") == ["US pushes for renewed military presence in Iraq"]
    assert len(titles("--limit", "1")) == 1
    assert titles("--sort", "title")[0].startswith("Pentagon")


@pytest.mark.parametrize("query", ['"$where": 1', "a\x00b", "\x07\x1b[31m", "x" * 20000, "NEAR(", '"'])
def test_hostile_queries_are_text(env: dict[str, Any], query: str) -> None:
    ingested(env)
    r = run("--db", env["db"], "search", query, "--format", "jsonl")
    assert r.exit_code == 0 and "Traceback" not in r.output


def test_show_history_and_revisions(env: dict[str, Any]) -> None:
    ingested(env)
    db = env["db"]
    path = env["folder"] / "000_bec70df4e4b3c35a.txt"
    [doc] = jsonl(run("--db", db, "show", str(path), "--format", "jsonl").stdout)
    art_id = doc["id"]
    assert jsonl(run("--db", db, "show", art_id[:10], "--format", "jsonl").stdout)[0]["id"] == art_id
    table = run("--db", db, "show", art_id).stdout
    assert "US pushes for renewed military presence in Iraq" in table and "Peter Symonds" in table
    path.write_text(article_text(title="Edited"))
    run("--db", db, "ingest", str(path))
    assert jsonl(run("--db", db, "show", art_id, "--format", "jsonl").stdout)[0]["title"] == "Edited"
    old = jsonl(run("--db", db, "show", art_id, "--revision", "1", "--format", "jsonl").stdout)[0]
    assert old["title"] == "US pushes for renewed military presence in Iraq" and old["revision"] == 1
    hist = jsonl(run("--db", db, "history", art_id, "--format", "jsonl").stdout)
    assert [h["revision"] for h in hist] == [1, 2] and all(len(h["sha256"]) == 64 for h in hist)
    r = run("--db", db, "show", art_id, "--revision", "9")
    assert r.exit_code == 1 and "revision" in r.stderr
    r = run("--db", db, "show", "nonexistent")
    assert r.exit_code == 1 and r.stderr.count("\n") == 1


def test_ambiguous_prefix_lists_candidates(env: dict[str, Any]) -> None:
    for i in range(40):
        (env["folder"] / f"x{i}.txt").write_text(article_text(title=f"X{i}"))
    ingested(env)
    ids = [d["id"] for d in jsonl(run("--db", env["db"], "list", "--format", "jsonl").stdout)]
    shared = next(c for c in "0123456789abcdef" if sum(i.startswith(c) for i in ids) > 1)
    r = run("--db", env["db"], "show", shared)
    assert r.exit_code == 1 and "ambiguous" in r.stderr
    assert sum(line.strip().startswith(shared) for line in r.stderr.splitlines()) > 1


def test_export_import_round_trip(env: dict[str, Any]) -> None:
    ingested(env)
    db, out = env["db"], env["tmp"] / "all.jsonl"
    assert run("--db", db, "export", "-o", str(out)).exit_code == 0
    other = str(env["tmp"] / "b.db")
    r = run("--db", other, "import", str(out))
    assert r.exit_code == 0 and "2 imported, 0 updated, 0 unchanged, 0 failed" in r.stderr
    a = run("--db", db, "export").stdout
    b = run("--db", other, "export").stdout
    assert a == b and len(jsonl(a)) == 2
    r = run("--db", other, "import", "-", input=a)
    assert "0 imported, 0 updated, 2 unchanged, 0 failed" in r.stderr


def test_import_reports_bad_lines_and_goes_on(env: dict[str, Any]) -> None:
    ingested(env)
    good = jsonl(run("--db", env["db"], "export").stdout)
    lines = [json.dumps(good[0]), "{not json", json.dumps({**good[1], "title": ""}), '"a string"',
             json.dumps({**good[1], "source": {"path": 5}}), json.dumps(good[1])]
    f = env["tmp"] / "mixed.jsonl"
    f.write_text("\n".join(lines) + "\n")
    r = run("--db", str(env["tmp"] / "c.db"), "import", str(f))
    assert r.exit_code == 1
    assert "2 imported, 0 updated, 0 unchanged, 4 failed" in r.stderr
    for n in (2, 3, 4, 5):
        assert f"line {n}:" in r.stderr
    assert "Traceback" not in r.stderr
    assert run("--db", str(env["tmp"] / "c.db"), "import", str(env["tmp"] / "nope.jsonl")).exit_code == 2


def test_export_json_and_ejson_import(env: dict[str, Any]) -> None:
    ingested(env)
    for fmt in ("json", "ejson"):
        out = run("--db", env["db"], "export", "--format", fmt).stdout
        if fmt == "ejson":
            first = json.loads(out.splitlines()[0])
            assert "_id" in first and "id" not in first and set(first["ingested_at"]) == {"$date"}
        r = run("--db", str(env["tmp"] / f"{fmt}.db"), "import", "-", input=out)
        assert "2 imported" in r.stderr, r.stderr


def test_csv_is_rfc4180_and_formula_safe(env: dict[str, Any]) -> None:
    (env["folder"] / "evil.txt").write_text(article_text(title="=HYPERLINK(\"http://x\")", body='He said "hi",\nthen.'))
    ingested(env)
    res = run("--db", env["db"], "export", "--format", "csv")
    assert b"\r\n" in res.stdout_bytes
    out = res.stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    evil = next(r for r in rows if "HYPERLINK" in r["title"])
    assert evil["title"].startswith("'=") and evil["body"] == 'He said "hi", then.'


def test_markdown_export_reingests_to_the_same_fields(env: dict[str, Any]) -> None:
    (env["folder"] / "three.txt").write_text(
        "# Three authors, **emphasis** and [links](http://x)\n\nA Smith, B Jones and C Brown\nMay 5, 1912\n\n"
        "Para one and\n\ncut.\n\n## Heading\n\nLast.\n")
    (env["folder"] / "nodate.txt").write_text("Plain title\n\nBody only here.\n")
    ingested(env)
    out = env["tmp"] / "md"
    assert run("--db", env["db"], "export", "--format", "markdown", "-o", str(out)).exit_code == 0
    files = sorted(out.iterdir())
    assert len(files) == 4 and all(f.suffix == ".md" and f.parent == out for f in files)
    other = str(env["tmp"] / "md.db")
    assert run("--db", other, "ingest", str(out)).exit_code == 0
    key = lambda d: (d["title"], d["authors"], d["published"], d["body"])  # noqa: E731
    a = sorted(key(d) for d in jsonl(run("--db", env["db"], "export").stdout))
    b = sorted(key(d) for d in jsonl(run("--db", other, "export").stdout))
    assert a == b
    assert run("--db", env["db"], "export", "--format", "markdown").exit_code == 2


def test_markdown_export_never_leaves_its_folder(env: dict[str, Any]) -> None:
    for i, title in enumerate(["../../escape", "/etc/passwd", "..", "a/b\\c", "CON", " ", "ünïcödé ✓"]):
        (env["folder"] / f"t{i}.txt").write_text(article_text(title=title if title.strip() else "x"))
    ingested(env)
    out = env["tmp"] / "md"
    run("--db", env["db"], "export", "--format", "markdown", "-o", str(out))
    assert len(list(out.iterdir())) == 9
    extra = {"a.db-shm", "a.db-wal", "a.db-search", "xdg"}
    assert {p.name for p in env["tmp"].iterdir()} - extra == {"a.db", "md", "seeds"}


def test_migrate_sqlite_to_sqlite_and_mongomock(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    ingested(env)
    path = env["folder"] / "000_bec70df4e4b3c35a.txt"
    path.write_text(article_text(title="Edited"))
    run("--db", env["db"], "ingest", str(path))
    (env["folder"] / "bad.txt").write_text("")
    run("--db", env["db"], "ingest", str(env["folder"]))
    other = str(env["tmp"] / "m.db")
    r = run("--db", env["db"], "migrate", "--to", other)
    assert r.exit_code == 0 and "2 articles, 1 revision, 1 failure" in r.stderr and "verified" in r.stderr
    assert run("--db", other, "export").stdout == run("--db", env["db"], "export").stdout

    import mongomock

    from archive.store import mongo as mongo_mod
    from tests.conftest import patch_mongomock_bulk

    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    monkeypatch.setattr(mongo_mod.pymongo, "MongoClient", lambda *a, **k: client)
    uri = "mongodb://user:s3cret@db.example:27017/arch"
    r = run("--db", env["db"], "migrate", "--to", uri)
    assert r.exit_code == 0, r.output
    assert "s3cret" not in r.output and "verified" in r.stderr
    assert run("--db", uri, "export").stdout == run("--db", env["db"], "export").stdout
    assert jsonl(run("--db", uri, "search", "edited", "--format", "jsonl").stdout)[0]["title"] == "Edited"

    # An older archive's store: read and write commands say to upgrade it; migrate --upgrade does.
    client["arch"]["archive_meta"].update_one({"_id": "schema"}, {"$set": {"version": 6}})
    for cmd in (("search", "edited"), ("ingest", str(env["folder"]))):
        r = run("--db", uri, *cmd)
        assert r.exit_code == 1 and "run 'archive migrate --upgrade'" in r.stderr and "s3cret" not in r.stderr, r.stderr
    r = run("--db", uri, "migrate", "--upgrade")
    from archive.store.mongo.store import SCHEMA_VERSION

    assert r.exit_code == 0 and f"upgraded from schema 6 to {SCHEMA_VERSION}" in r.stderr, r.stderr
    assert "up to date" in run("--db", uri, "migrate", "--upgrade").stderr
    assert jsonl(run("--db", uri, "search", "edited", "--format", "jsonl").stdout)[0]["title"] == "Edited"
    assert "up to date" in run("--db", env["db"], "migrate", "--upgrade").stderr
    for both in (("migrate",), ("migrate", "--upgrade", "--to", other)):
        r = run("--db", env["db"], *both)
        assert r.exit_code == 2 and "--to URI" in r.stderr and "--upgrade" in r.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "jsonl", "csv"])
def test_reports(env: dict[str, Any], fmt: str) -> None:
    shutil.copy(env["folder"] / "000_bec70df4e4b3c35a.txt", env["folder"] / "copy.txt")
    (env["folder"] / "bad.txt").write_text("")
    run("--db", env["db"], "ingest", str(env["folder"]))
    for cmd in ("stats", "status", "failures", "duplicates"):
        r = run("--db", env["db"], cmd, "--format", fmt)
        assert r.exit_code == 0, (cmd, r.output)
    if fmt == "json":
        st = json.loads(run("--db", env["db"], "stats", "--format", "json").stdout)
        assert (st["articles"], st["failures"]) == (3, 1)
        assert st["authors"][0] == {"name": "Peter Symonds", "articles": 2}
        [dup] = json.loads(run("--db", env["db"], "duplicates", "--format", "json").stdout)
        assert dup["count"] == 2
        [fail] = json.loads(run("--db", env["db"], "failures", "--format", "json").stdout)
        assert fail["reason"].startswith("empty")
        status = json.loads(run("--db", env["db"], "status", "--format", "json").stdout)
        assert status["backend"] == "sqlite" and status["daemons"] == []


def test_errors_are_one_line(env: dict[str, Any]) -> None:
    r = run("--db", "nonsense://x", "list")
    assert r.exit_code == 2 and r.stderr.startswith("archive: unknown store")
    r = run("--db", str(env["tmp"]), "list")
    assert r.exit_code == 2
    r = run("--db", env["db"], "watch", str(env["tmp"] / "nope"))
    assert r.exit_code == 2 and "no such folder" in r.stderr


def test_unreachable_mongodb_fails_fast_with_a_clean_message() -> None:
    r = subprocess.run([sys.executable, "-m", "archive", "--db", "mongodb://bob:hunter2@127.0.0.1:9/x", "list"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "ARCHIVE_CONNECT_TIMEOUT": "1"})
    assert r.returncode == 1
    assert "127.0.0.1:9" in r.stderr and "hunter2" not in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_unknown_setting_warns_with_the_closest_name(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    ingested(env)
    monkeypatch.setenv("ARCHIVE_DBB", "x.db")
    r = run("--db", env["db"], "list", "--format", "jsonl")
    assert r.exit_code == 0 and "ARCHIVE_DBB" in r.stderr and "ARCHIVE_DB" in r.stderr


def test_settings_precedence(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from archive.config import load_settings

    monkeypatch.setenv("ARCHIVE_SETTLE", "2")
    monkeypatch.setenv("ARCHIVE_IGNORE", "*.bak, drafts")
    s = load_settings()
    assert s.settle == 2 and s.ignore == ["*.bak", "drafts"]
    assert s.extensions == [".txt", ".md", ".markdown", ".html", ".htm", ".mhtml", ".mht", ".webarchive"]
    assert load_settings(settle=0.5).settle == 0.5
    assert s.db.endswith("archive/archive.db")


# What a query command may not import: validation and settings libraries, the daemon (status reads
# only its lease record), the ingest pipeline, the parsers, the MongoDB driver for a SQLite store,
# generated-code records (a dataclass costs ~0.5 ms to define), click (archive/cli/fast.py reads
# the plain read commands; click costs as much as the interpreter's start-up) and, for a machine
# format, rich.
HEAVY = ("pydantic", "pydantic_settings", "asyncio", "dataclasses", "snowballstemmer", "watchdog", "pymongo",
         "click", "rich",
         "archive.ingest", "archive.parsing", "archive.validation", "archive.watch.daemon", "archive.watch.tracker",
         "archive.watch.events", "archive.watch.batch")


@pytest.mark.parametrize("args", [
    ("search", "iraq", "--format", "jsonl"), ("list", "--format", "jsonl"), ("show", "Iraq", "--format", "json"),
    ("status", "--format", "json"), ("stats", "--format", "json"), ("export", "--format", "jsonl"),
])
def test_a_query_command_imports_only_what_it_uses(env: dict[str, Any], args: tuple[str, ...]) -> None:
    ingested(env)
    ref = next(a for a in jsonl(run("--db", env["db"], "list", "--format", "jsonl").output) if "Iraq" in a["title"])
    args = tuple(ref["id"] if a == "Iraq" else a for a in args)
    # Read at exit (a read command leaves by os._exit once its atexit handlers have run).
    probe = ("import atexit, sys, runpy; sys.argv = ['archive', *sys.argv[1:]]\n"
             "atexit.register(lambda: print('\\nMODULES', ' '.join(sorted(sys.modules)), file=sys.stderr,\n"
             "                              flush=True))\n"
             "runpy.run_module('archive', run_name='__main__')")
    p = subprocess.run([sys.executable, "-c", probe, "--db", env["db"], *args], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    loaded = set(p.stderr.rsplit("MODULES", 1)[1].split())
    assert {"archive.cli", "sqlite3"} <= loaded and p.stdout.strip()  # the probe saw a real run
    assert not {m for m in loaded for h in HEAVY if m == h or m.startswith(h + ".")}


@pytest.mark.parametrize(("uri", "says"), [
    ("file:///{tmp}/missing/f.db", "does not exist"),
    ("sqlite:///{tmp}/a.db?mode=ro", "options after ?"),
    ("sqlite:///{tmp}/", "names a folder"),
    ("sqlite:////nonexistent-dir-archive/x.db", "does not exist"),
    ("mongodb://[bad", "bad MongoDB URI"),
    ("mongodb://user:secret@h:99999/x", "bad MongoDB URI"),
])
def test_store_uris_are_read_strictly(tmp_path: Path, clean_env: Path, uri: str, says: str) -> None:
    """A URI never becomes a strange file name or folders under / (issue 22): a usage error."""
    from click.testing import CliRunner

    from archive.cli import cli

    before = set(os.listdir(tmp_path))
    r = CliRunner().invoke(cli, ["--db", uri.format(tmp=tmp_path), "ingest", str(tmp_path)])
    assert r.exit_code == 2, r.output
    assert says in r.output and "secret" not in r.output and "Traceback" not in r.output
    assert set(os.listdir(tmp_path)) == before
    assert not Path("/nonexistent-dir-archive").exists()


def test_an_empty_extension_list_is_a_usage_error(tmp_path: Path, clean_env: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from archive.cli import cli

    monkeypatch.setenv("ARCHIVE_EXTENSIONS", "")
    r = CliRunner().invoke(cli, ["--db", str(tmp_path / "a.db"), "ingest", str(tmp_path)])
    assert r.exit_code == 2 and "ARCHIVE_EXTENSIONS" in r.output


def test_sync_reconciles_once_and_ingest_says_what_it_does_not_delete(tmp_path: Path, clean_env: Path) -> None:
    """``archive sync DIR`` (SPEC): new, changed, moved and deleted in one pass, then exit;
    ``ingest`` of the same folder keeps an article whose file is gone, and says so."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(article_text(title=f"Title {name}"))
    db = str(tmp_path / "a.db")
    runner = CliRunner()
    r = runner.invoke(cli, ["--db", db, "ingest", str(folder)])
    assert r.exit_code == 0, r.output
    (folder / "a.txt").unlink()
    r = runner.invoke(cli, ["--db", db, "ingest", str(folder)])
    assert r.exit_code == 0 and "1 stored article has no file any more" in r.output and "archive sync" in r.output
    assert len(runner.invoke(cli, ["--db", db, "list", "--format", "jsonl"]).output.splitlines()) == 2
    r = runner.invoke(cli, ["--db", db, "sync", str(folder)])
    assert r.exit_code == 0, r.output
    live = runner.invoke(cli, ["--db", db, "list", "--format", "jsonl"]).output.splitlines()
    assert [json.loads(x)["title"] for x in live] == ["Title b.txt"]


@pytest.mark.parametrize("name", ["a.markdown", "page.htm", "notes.TXT"])
def test_show_finds_a_file_by_its_name_whatever_the_extension(tmp_path: Path, clean_env: Path,
                                                               monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """``archive show a.markdown`` (run in the file's folder) said no article matches: only .txt and
    .md names without a / were read as paths (issue 21)."""
    folder = tmp_path / "in"
    folder.mkdir()
    body = article_text(title="By name")
    if name.endswith(".htm"):
        body = ("<html><head><title>By name</title></head><body><article><p>" + "A paragraph of words here. " * 8
                + "</p></article></body></html>")
    (folder / name).write_text(body)
    db = str(tmp_path / "a.db")
    env = {"ARCHIVE_EXTENSIONS": ".txt,.md,.markdown,.html,.htm"}
    r = CliRunner().invoke(cli, ["--db", db, "ingest", str(folder)], env=env)
    assert r.exit_code == 0, r.output
    monkeypatch.chdir(folder)
    r = CliRunner().invoke(cli, ["--db", db, "show", name, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["title"] == "By name"


def test_similar_lists_the_closest_articles_with_a_score(tmp_path: Path, clean_env: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(article_text(title="Glacier retreat", body="Alpine glaciers retreated; the melt."))
    (folder / "b.txt").write_text(article_text(title="Glaciers melt", body="The glaciers of the Alps melt faster."))
    (folder / "c.txt").write_text(article_text(title="Budget", body="Parliament failed to agree a budget."))
    db = str(tmp_path / "a.db")
    assert CliRunner().invoke(cli, ["--db", db, "ingest", str(folder)]).exit_code == 0
    r = CliRunner().invoke(cli, ["--db", db, "similar", str(folder / "a.txt"), "--format", "jsonl", "--limit", "1"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["title"] for x in rows] == ["Glaciers melt"] and rows[0]["score"] > 0
    missing = CliRunner().invoke(cli, ["--db", db, "similar", "nothing-here.txt"])
    assert missing.exit_code == 1 and "no article matches" in missing.output


def test_ingest_names_the_files_it_skipped_for_their_extension(tmp_path: Path, clean_env: Path) -> None:
    """``.epub`` and ``.pdf`` were skipped with ``0 new … 0 failed`` and nothing else said (issue 23)."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(article_text(title="Read"))
    for name in ("x.epub", "y.epub", "z.pdf", "README"):
        (folder / name).write_bytes(b"not read")
    (folder / "loop").symlink_to(folder)  # a link to a folder is not entered, and is no file skipped
    r = CliRunner().invoke(cli, ["--db", str(tmp_path / "a.db"), "ingest", str(folder)])
    assert r.exit_code == 0, r.output
    assert "4 files skipped for their extension: .epub (2), (no extension) (1), .pdf (1)" in r.output
    assert "ARCHIVE_EXTENSIONS" in r.output
    for name in ("x.epub", "y.epub", "z.pdf"):
        (folder / name).unlink()
    r = CliRunner().invoke(cli, ["--db", str(tmp_path / "b.db"), "ingest", str(folder)])
    assert "1 file skipped for its extension: (no extension) (1);" in r.output
