"""What a person meets at the prompt: query words, tables at 80 columns, progress, Ctrl-C,
messages. The table and progress cases run the real CLI in a pseudo-terminal."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from archive.cli import cli
from tests.conftest import ROOT, SEEDS, article_text
from tests.daemon import all_gone, descendants, wait_for

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def env(tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("COLUMNS", "80")
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    db = str(tmp_path / "a.db")
    r = run("--db", db, "ingest", str(folder))
    assert r.exit_code == 0, r.output
    return {"db": db, "folder": folder, "tmp": tmp_path}


def ids(result: Result) -> list[str]:
    return [json.loads(line)["id"] for line in result.stdout.splitlines() if line.strip()]


def sub_env(**more: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    e.update(more)
    return e


def in_pty(args: list[str], cwd: Path, *, cols: int = 80, timeout: float = 120.0,
           env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the real CLI with stdin, stdout and stderr on a pseudo-terminal ``cols`` wide."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, cols, 0, 0))
    e = sub_env(TERM="xterm-256color", COLUMNS=str(cols), LINES="50", **(env or {}))
    e.pop("NO_COLOR", None)
    p = subprocess.Popen([sys.executable, "-m", "archive", *args], stdin=slave, stdout=slave, stderr=slave,
                         cwd=cwd, env=e, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    code = p.wait(timeout=10)
    os.close(master)
    return code, out.decode("utf-8", "replace")


def screen_lines(raw: str) -> list[str]:
    """What stays on screen, roughly: colour codes gone, carriage-return rewrites resolved."""
    text = ANSI.sub("", raw).replace("\r\n", "\n")
    return [line.split("\r")[-1] for line in text.split("\n")]


# ---------------------------------------------------------------- query words


def test_a_word_starting_with_a_dash_is_an_exclusion_not_an_option(env: dict[str, Any]) -> None:
    both = ids(run("--db", env["db"], "search", "iraq", "--format", "jsonl"))
    assert len(both) == 2
    r = run("--db", env["db"], "search", "iraq", "-oil", "--format", "jsonl")
    assert r.exit_code == 0, r.output
    assert len(ids(r)) == 1
    # Options still work around the words, in any order, and -- ends them.
    r = run("--db", env["db"], "search", "--format", "jsonl", "iraq", "-oil", "--limit", "5")
    assert len(ids(r)) == 1
    assert len(ids(run("--db", env["db"], "search", "--format=jsonl", "--", "iraq", "-oil"))) == 1
    # A typo'd long option is a usage error with a hint, not a silent query word.
    r = CliRunner().invoke(cli, ["--db", env["db"], "search", "iraq", "--limt", "3"])
    assert r.exit_code == 2 and "--limit" in r.stderr


def test_or_makes_alternatives(env: dict[str, Any]) -> None:
    oil = ids(run("--db", env["db"], "search", "oil", "--format", "jsonl"))
    withdrawal = ids(run("--db", env["db"], "search", "withdrawal", "--format", "jsonl"))
    assert len(oil) == 1 and len(withdrawal) == 1 and oil != withdrawal
    either = ids(run("--db", env["db"], "search", "withdrawal", "OR", "oil", "--format", "jsonl"))
    assert sorted(either) == sorted(oil + withdrawal)
    assert ids(run("--db", env["db"], "search", "withdrawal OR oil", "--format", "jsonl")) == either
    # Lower-case "or" is a word, ANDed like any other.
    assert ids(run("--db", env["db"], "search", "withdrawal or oil", "--format", "jsonl")) == []


# ---------------------------------------------------------------- limits and truncation


def test_a_table_cut_short_says_so_and_limit_0_means_all(env: dict[str, Any]) -> None:
    r = run("--db", env["db"], "list", "--format", "table", "--limit", "1")
    assert r.exit_code == 0 and "1 of 2 shown; --limit N for more" in r.stderr
    r = run("--db", env["db"], "search", "iraq", "--format", "table", "--limit", "1")
    assert r.exit_code == 0 and "1 of 2 shown" in r.stderr
    r = run("--db", env["db"], "list", "--format", "table", "--limit", "0")
    assert "shown" not in r.stderr and "no articles" not in r.stderr
    assert "Pentagon" in r.stdout and "renewed" in r.stdout
    assert len(ids(run("--db", env["db"], "list", "--format", "jsonl", "--limit", "0"))) == 2
    r = run("--db", env["db"], "list", "--format", "table")
    assert "shown" not in r.stderr


# ---------------------------------------------------------------- stores that are not there


def test_read_commands_never_create_a_store(tmp_path: Path) -> None:
    typo = tmp_path / "nope" / "typo.db"
    for args in (["search", "iraq"], ["list"], ["stats"], ["status"], ["failures"], ["export"], ["show", "x"]):
        r = CliRunner().invoke(cli, ["--db", str(typo), *args])
        assert r.exit_code == 1, (args, r.output)
        assert r.stderr.count("\n") == 1 and str(typo) in r.stderr and "no store" in r.stderr
    assert not (tmp_path / "nope").exists()


def test_a_store_that_cannot_be_written_is_read_as_it_is(env: dict[str, Any],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # As root every file is writable, so the read-only case is simulated at the one check that
    # decides it; the next test makes it real where the suite does not run as root.
    import archive.store.sqlite as sq

    monkeypatch.setattr(sq, "_writable", lambda path: False)
    r = run("--db", env["db"], "search", "iraq", "--format", "jsonl")
    assert r.exit_code == 0 and len(ids(r)) == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only folder; the previous test covers it")
def test_a_store_in_a_read_only_folder_can_be_searched(env: dict[str, Any]) -> None:
    from archive.store.sqlite import SQLiteStore

    SQLiteStore(env["db"]).close()  # checkpointed: no -wal left
    folder = Path(env["db"]).parent
    for p in folder.glob("a.db*"):
        p.chmod(0o444)
    folder.chmod(0o555)
    try:
        r = run("--db", env["db"], "search", "iraq", "--format", "jsonl")
        assert r.exit_code == 0, r.output
        assert len(ids(r)) == 2
    finally:
        folder.chmod(0o755)


def test_mongodb_refused_is_one_plain_line_naming_the_host_once(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_CONNECT_TIMEOUT", "0.5")
    r = CliRunner().invoke(cli, ["--db", "mongodb://user:secret@127.0.0.1:1/x", "list"])
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1 and r.stderr.count("127.0.0.1:1") == 1, r.stderr
    for internal in ("configured timeouts", "Topology", "Errno", "secret", "Timeout"):
        assert internal not in r.stderr, r.stderr


# ---------------------------------------------------------------- smaller things


def test_show_json_is_one_object(env: dict[str, Any]) -> None:
    r = run("--db", env["db"], "show", str(env["folder"] / "000_bec70df4e4b3c35a.txt"), "--format", "json")
    doc = json.loads(r.stdout)
    assert isinstance(doc, dict) and doc["title"].startswith("US pushes")


def test_show_of_a_failed_file_points_at_failures(env: dict[str, Any]) -> None:
    bad = env["folder"] / "empty.txt"
    bad.write_text("")
    assert run("--db", env["db"], "ingest", str(bad)).exit_code == 1
    r = CliRunner().invoke(cli, ["--db", env["db"], "show", str(bad)])
    assert r.exit_code == 1 and "failed to parse" in r.stderr and "archive failures" in r.stderr


def test_importing_a_csv_export_is_one_clear_error(env: dict[str, Any]) -> None:
    out = env["tmp"] / "a.csv"
    assert run("--db", env["db"], "export", "--format", "csv", "-o", str(out)).exit_code == 0
    r = CliRunner().invoke(cli, ["--db", env["db"], "import", str(out)])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "CSV" in r.stderr and "jsonl" in r.stderr


def test_a_repeated_import_counts_unchanged(env: dict[str, Any]) -> None:
    data = run("--db", env["db"], "export").stdout
    r = run("--db", env["db"], "import", "-", input=data)
    assert "0 imported, 0 updated, 2 unchanged, 0 failed" in r.stderr


def test_move_log_line_names_both_paths(tmp_path: Path) -> None:
    import logging

    from archive.config import Settings
    from archive.ingest import Ingester
    from archive.store.sqlite import SQLiteStore

    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "a.txt").write_text(article_text(title="Moving"))
    store = SQLiteStore(tmp_path / "m.db")
    ing = Ingester(store, Settings(db=str(tmp_path / "m.db"), workers=1), log_each=True)
    ing.reconcile(str(folder))
    (folder / "a.txt").rename(folder / "b.txt")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("archive.ingest")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        ing.reconcile(str(folder))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        store.close()
    moved = [r.getMessage() for r in records if getattr(r, "event", "") == "moved"]
    assert moved == [f"moved {folder / 'a.txt'} -> {folder / 'b.txt'}"]


def test_an_explicit_file_of_another_kind_says_why(env: dict[str, Any]) -> None:
    other = env["tmp"] / "notes.docx"
    other.write_bytes(b"PK\x03\x04")
    r = CliRunner().invoke(cli, ["--db", env["db"], "ingest", str(other)])
    assert "notes.docx: skipped: .docx is not an article extension" in r.stderr


def test_help_renders_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    for args in ([], *([c] for c in sorted(cli.commands))):
        r = run(*args, "--help")
        assert r.exit_code == 0
        assert all(len(line) <= 80 for line in r.stdout.splitlines()), (args, r.stdout)


def test_the_readme_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in cli.commands:
        assert f"### `archive {name}`" in readme, name


def test_the_spec_in_the_repo_is_the_contract() -> None:
    shared = ROOT.parent / "shared" / "SPEC.md"
    if not shared.is_file():
        pytest.skip("../shared/SPEC.md is not beside this clone")
    assert (ROOT / "docs" / "SPEC.md").read_text() == shared.read_text(), "copy ../shared/SPEC.md to docs/SPEC.md"


def test_the_readme_tour_works_on_the_seeds(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    tour = readme.split("## Quick start", 1)[1].split("## Tests", 1)[0]
    cmds = [line.split("#")[0].strip() for line in tour.splitlines()
            if line.startswith(".venv/bin/archive ") and (" show " in line or " search " in line)]
    assert len(cmds) >= 4
    monkeypatch.chdir(env["tmp"])  # the folder is called seeds/ there, as in a clone
    import shlex

    for c in cmds:
        args = shlex.split(c)[1:]
        r = run("--db", env["db"], *args, "--format", "jsonl")
        assert r.exit_code == 0 and r.stdout.strip(), (c, r.output)


def test_make_corpus_help_explains_its_arguments() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_corpus.py"), "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "how many article files" in out and "folder" in out and "seed" in out and "example" in out


# ---------------------------------------------------------------- in a real terminal


def many(folder: Path, n: int, broken: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"a{i:05d}.txt").write_text(article_text(title=f"Article {i}", body=f"Body number {i} here."))
    for i in range(broken):
        (folder / f"broken{i:03d}.txt").write_bytes(b"")


def test_progress_and_warnings_share_one_console(tmp_path: Path) -> None:
    many(tmp_path / "in", 400, broken=40)
    code, raw = in_pty(["--db", str(tmp_path / "p.db"), "ingest", str(tmp_path / "in")], tmp_path)
    assert code == 1
    lines = screen_lines(raw)
    warn = [line for line in lines if "warning:" in line]
    assert 1 <= len(warn) <= 10, raw
    # A warning never shares its line with the bar (the bar's "N/440" counter).
    assert all(not re.search(r"\d+/440", line) for line in warn), warn
    text = "\n".join(lines)
    assert "400 new, 0 updated, 0 unchanged, 40 failed" in text
    assert "30 more failures not shown" in text and "'archive failures' lists" in text


def test_tables_at_80_columns_keep_the_key_column(tmp_path: Path) -> None:
    deep = tmp_path / "a-rather-long-folder-name-for-articles" / "another-level-of-nesting" / "seeds"
    deep.mkdir(parents=True)
    for name in ("first-copy-of-the-article.txt", "second-copy-of-the-article.txt"):
        shutil.copy(SEEDS / "000_bec70df4e4b3c35a.txt", deep / name)
    (deep / "broken-file-one.txt").write_bytes(b"")
    (deep / "broken-file-two.txt").write_bytes(b"\x00\x01binary")
    db = str(tmp_path / "t.db")
    assert CliRunner().invoke(cli, ["--db", db, "ingest", str(deep)]).exit_code == 1
    elsewhere = Path("/")  # paths cannot be shown relative to the current folder
    code, raw = in_pty(["--db", db, "duplicates"], elsewhere)
    lines = screen_lines(raw)
    assert code == 0 and all(len(line) <= 80 for line in lines), raw
    text = "\n".join(lines)
    assert "first-copy-of-the-article.txt" in text and "second-copy-of-the-article.txt" in text, text
    code, raw = in_pty(["--db", db, "failures"], elsewhere)
    text = "\n".join(screen_lines(raw))
    assert code == 0 and "broken-file-one.txt" in text and "broken-file-two.txt" in text, text
    assert all(len(line) <= 80 for line in screen_lines(raw))
    code, raw = in_pty(["--db", db, "list"], elsewhere)
    assert code == 0 and "US pushes for renewed" in ANSI.sub("", raw)
    code, raw = in_pty(["--db", db, "status"], elsewhere)
    assert code == 0 and all(len(line) <= 80 for line in screen_lines(raw))


def test_search_matches_stand_out_without_colour(env: dict[str, Any]) -> None:
    code, raw = in_pty(["--db", env["db"], "search", "withdrawal"], env["tmp"])
    assert code == 0
    assert "\x1b[1;7m" in raw  # bold + reverse video on the match
    assert "█████" in raw and "e-0" not in raw  # a relative bar, no raw BM25 figure


def _stored(db: Path) -> int:
    """Articles a store holds so far, read as another process would (0 before it exists)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as con:
            return int(con.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_ctrl_c_during_ingest_is_one_line(tmp_path: Path) -> None:
    many(tmp_path / "in", 6000)
    p = subprocess.Popen([sys.executable, "-m", "archive", "--db", str(tmp_path / "c.db"), "ingest",
                          str(tmp_path / "in"), "--workers", "2"], stderr=subprocess.PIPE, text=True,
                         env=sub_env(), start_new_session=True)
    wait_for(lambda: _stored(tmp_path / "c.db") > 0, timeout=60)  # the first batch is in
    kids = descendants(p.pid)
    assert kids  # the parse workers are running
    os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C does: the whole process group
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.count("\n") == 1 and "interrupted after" in err
    assert all_gone(kids)


def test_ctrl_c_during_the_daemons_first_scan_exits_0(tmp_path: Path) -> None:
    many(tmp_path / "in", 6000)
    log = tmp_path / "watch.log"
    with open(log, "w") as fh:
        p = subprocess.Popen([sys.executable, "-m", "archive", "--db", str(tmp_path / "w.db"), "watch",
                              str(tmp_path / "in"), "--log-format", "json"], stdout=fh, stderr=subprocess.STDOUT,
                             env=sub_env(ARCHIVE_WORKERS="2"), start_new_session=True)
        wait_for(lambda: "lock taken" in log.read_text(), timeout=60)
        time.sleep(0.5)
        kids = descendants(p.pid)
        t = time.monotonic()
        os.killpg(p.pid, signal.SIGINT)
        code = p.wait(timeout=30)
    text = log.read_text()
    assert code == 0, text
    assert time.monotonic() - t < 5
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert "--polling" not in text  # no container hint where events work
    assert all_gone(kids)


def test_control_characters_from_files_never_reach_the_terminal(tmp_path: Path, clean_env: Path) -> None:
    """A title that sets the window title and clears the screen, a body with colour codes, a file
    name with ESC and a newline: every table prints them as inert text (issue 22)."""
    from click.testing import CliRunner

    from archive.cli import cli

    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "evil\x1b[2J\nname.txt").write_text(
        "# Innocent \x1b]2;PWNED\x07 \x1b[2J title\n\nJane Doe\n5 May 2017\n\n"
        "A body with \x1b[31mred\x1b[0m words and a ceasefire.\n")
    db = str(tmp_path / "a.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "ingest", str(folder)]).exit_code == 0
    ref = runner.invoke(cli, ["--db", db, "list", "--format", "jsonl"]).output
    art_id = __import__("json").loads(ref)["id"]
    for args in (["list"], ["search", "ceasefire"], ["show", art_id], ["duplicates"], ["history", art_id]):
        r = runner.invoke(cli, ["--db", db, *args, "--format", "table"])
        assert r.exit_code == 0, (args, r.output)
        assert "\x1b" not in r.output and "\x07" not in r.output, (args, r.output)
    show = runner.invoke(cli, ["--db", db, "show", art_id, "--format", "table"]).output
    assert "Innocent" in show and "PWNED" in show  # shown as text
    from archive.cli.console import display_path

    assert display_path(str(folder / "evil\x1b[2J\nname.txt")).endswith("evil[2J name.txt")


def test_failures_and_duplicates_at_80_columns_keep_names_whole_and_reasons_readable(tmp_path: Path) -> None:
    """At 80 columns a failure's reason had 12 characters a line beside its path, and duplicates
    cut the file names they promise to keep whole (issue 26)."""
    deep = tmp_path / "a-rather-long-folder-name" / "and-another-long-one"
    deep.mkdir(parents=True)
    (deep / "broken-file-with-a-long-name.txt").write_bytes(b"")
    same = article_text(title="Copied twice", body="The same bytes in two files.")
    (deep / "article_010_with_a_long_name.txt").write_text(same)
    (deep / "article_011_with_a_long_name.txt").write_text(same)
    longest = "article_012_" + "y" * 64 + "_end.txt"  # longer than its column at 80: folds, never cut
    (deep / longest).write_text(same)
    db = str(tmp_path / "d.db")
    subprocess.run([sys.executable, "-m", "archive", "--db", db, "ingest", str(tmp_path)], env=sub_env(),
                   capture_output=True, check=False, timeout=120)
    code, raw = in_pty(["--db", db, "failures"], Path("/"))
    assert code == 0
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", raw)
    assert "broken-file-with-a-long-name.txt" in text
    assert "empty: the file has no text" in text  # the reason on one line, not in 12-character pieces
    code, raw = in_pty(["--db", db, "duplicates"], Path("/"))
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", raw)
    assert code == 0
    assert "article_010_with_a_long_name.txt" in text and "article_011_with_a_long_name.txt" in text
    assert "Copied twice" in text
    assert "…" not in text and "article_012_yyy" in text and "yyy_end.txt" in text
    assert text.count("y") >= 64  # every character of the name is on the screen
