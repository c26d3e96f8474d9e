"""Hostile and broken input: the parser fuzzed, huge files, odd names, symlinks, bad imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.cli import cli
from archive.errors import ParseError
from archive.parsing import parse_bytes
from tests.conftest import article_text
from tests.daemon import DaemonProc, articles, wait_for
from tests.test_parsing import assert_storable

MARKDOWNISH = st.text(alphabet=st.sampled_from(list("#*_[]()!<>`~ \n\r\t-:.,;aBz09\"“”’é\x00\x0b\ufeff")),
                      max_size=3000)


@pytest.mark.slow
@settings(max_examples=5000, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=4000), MARKDOWNISH.map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_parser_fuzz_only_parse_errors(data: bytes) -> None:
    try:
        a = parse_bytes(data)
    except ParseError as exc:
        assert exc.code in {"empty", "not-text", "no-title", "no-body", "too-large"}
        return
    assert_storable(a)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archive", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_a_50_mib_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "w" / "big.txt"
    big.parent.mkdir()
    with open(big, "wb") as fh:
        fh.write(b"# Big\n\nJ Doe\n\n")
        fh.write(b"word " * (50 * 1024 * 1024 // 5))
    r = _cli("--db", str(tmp_path / "a.db"), "ingest", str(big.parent))
    assert r.returncode == 1 and "0 new, 0 updated, 0 unchanged, 1 failed" in r.stderr
    r = _cli("--db", str(tmp_path / "a.db"), "failures", "--format", "jsonl")
    assert json.loads(r.stdout)["code"] == "too-large"
    r = _cli("parse", str(big))
    assert r.returncode == 1 and "over the size limit" in r.stdout


NAMES = ["with space.txt", "ünïcödé ✓.txt", "new\nline.txt", "-leading-dash.txt", "--help.txt", "quote'\"s.txt",
         "tab\there.md", "$(touch pwned).txt"]


def test_odd_file_names_through_ingest_show_and_the_daemon(tmp_path: Path) -> None:
    folder, db = tmp_path / "w", tmp_path / "a.db"
    folder.mkdir()
    for i, n in enumerate(NAMES):
        (folder / n).write_text(article_text(title=f"Odd {i}"))
    r = CliRunner().invoke(cli, ["--db", str(db), "ingest", str(folder)])
    assert r.exit_code == 0 and f"{len(NAMES)} new" in r.stderr
    r = CliRunner().invoke(cli, ["--db", str(db), "show", "--format", "jsonl", "--", str(folder / "-leading-dash.txt")])
    assert r.exit_code == 0 and json.loads(r.stdout)["title"] == "Odd 3"
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()

    folder2, db2 = tmp_path / "w2", tmp_path / "b.db"
    folder2.mkdir()
    d = DaemonProc(folder2, db2, "--rescan-interval", "0").wait_ready()
    for i, n in enumerate(NAMES):
        (folder2 / n).write_text(article_text(title=f"Odd {i}"))
    wait_for(lambda: len(articles(db2)) == len(NAMES))
    assert d.stop() == 0


def test_symlink_loops_and_links_out_of_the_folder(tmp_path: Path) -> None:
    folder, db = tmp_path / "w", tmp_path / "a.db"
    (folder / "sub").mkdir(parents=True)
    outside = tmp_path / "secret.txt"
    outside.write_text(article_text(title="Outside"))
    os.symlink(outside, folder / "out.txt")
    os.symlink(folder, folder / "sub" / "loop")
    os.symlink(folder / "sub", folder / "sub" / "loop2")
    (folder / "in.txt").write_text(article_text(title="Inside"))
    d = DaemonProc(folder, db, "--rescan-interval", "0").wait_ready()
    assert d.stop() == 0
    assert [a.title for a in articles(db).values()] == ["Inside"]


def test_import_of_malformed_and_hostile_lines(tmp_path: Path) -> None:
    good = {"id": "a" * 32, "title": "T", "authors": ["A"], "published": "2017-05-05", "body": "B.", "word_count": 1,
            "source": {"path": "/x/a.txt", "sha256": "0" * 64, "size": 1, "mtime": 1.0}, "revision": 1,
            "ingested_at": "2020-01-01T00:00:00.000Z", "updated_at": "2020-01-01T00:00:00.000Z", "deleted_at": None}
    lines = [
        json.dumps(good),
        "[1, 2",
        json.dumps({**good, "id": "b" * 32, "authors": "not a list"}),
        json.dumps({**good, "id": "c" * 32, "revision": "many"}),
        json.dumps({**good, "id": "d" * 32, "published": "9999-99-99"}),
        json.dumps({**good, "id": {"$ne": None}}),
        json.dumps({**good, "id": "e" * 32, "source": {"path": "/x/e.txt", "sha256": "$where", "size": 1, "mtime": 1}}),
        "null",
        "\x00\x01",
    ]
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join(lines) + "\n")
    r = CliRunner().invoke(cli, ["--db", str(tmp_path / "a.db"), "import", str(f)])
    assert r.exit_code == 1 and "1 imported, 0 updated, 0 unchanged, 8 failed" in r.stderr
    assert "Traceback" not in r.output


@pytest.mark.slow
def test_import_of_a_100_mb_line(tmp_path: Path) -> None:
    f = tmp_path / "huge.jsonl"
    with open(f, "w") as fh:
        fh.write('{"id": "' + "x" * (100 * 1024 * 1024) + '"}\n')
        fh.write(json.dumps({"id": "a" * 32, "title": "After", "authors": [], "published": None, "body": "B.",
                             "source": {"path": "/x/a.txt", "sha256": "0" * 64, "size": 1, "mtime": 1.0}}) + "\n")
    r = _cli("--db", str(tmp_path / "a.db"), "import", str(f))
    assert r.returncode == 1
    assert "line 1: line longer than" in r.stderr and "1 imported, 0 updated, 0 unchanged, 1 failed" in r.stderr


@pytest.mark.parametrize("arg", ['{"$gt": ""}', "$where", "'; DROP TABLE articles; --", '"', "\x00", "a\x00b"])
def test_cli_arguments_are_text(tmp_path: Path, arg: str) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "a.txt").write_text(article_text())
    db = str(tmp_path / "a.db")
    CliRunner().invoke(cli, ["--db", db, "ingest", str(folder)])
    for args in (["search", arg], ["list", "--author", arg], ["show", arg], ["history", arg],
                 ["export", "--author", arg]):
        r = CliRunner().invoke(cli, ["--db", db, *args, "--format", "jsonl"] if args[0] != "export"
                               else ["--db", db, *args])
        assert r.exit_code in (0, 1) and "Traceback" not in r.output, (args, r.output)
    r = CliRunner().invoke(cli, ["--db", db, "list", "--format", "jsonl"])
    assert len(r.stdout.splitlines()) == 1  # nothing was dropped or changed


def test_a_hostile_import_line_is_that_lines_error_and_the_rest_go_in(tmp_path: Path) -> None:
    """Deep nesting, numbers no store can hold, an id that is a path: each is its line's error;
    the valid lines around them, in the same batch, are stored (issue 22)."""
    from click.testing import CliRunner

    from archive.cli import cli

    def doc(i: int, **more: object) -> str:
        d = {"id": f"{i:032x}", "title": f"T{i}", "authors": ["A"], "published": "2017-05-05", "body": "B.",
             "word_count": 1, "revision": 1, "source": {"path": f"/x/{i}.txt", "sha256": "0" * 64, "size": 1,
                                                         "mtime": 1.0}}
        d.update(more)
        return json.dumps(d)

    lines = [doc(i) for i in range(1, 668)]
    lines.append("[" * 100_000)
    lines.append(doc(900, word_count=10**30))
    lines.append(doc(901, id="../../etc/passwd"))
    lines.append(doc(902, source={"path": "/x/902.txt", "sha256": "0" * 64, "size": 1, "mtime": 1.0,
                                  "inode": 2**70}))
    lines += [doc(i) for i in range(1000, 1010)]
    f = tmp_path / "hostile.jsonl"
    f.write_text("\n".join(lines) + "\n")
    db = str(tmp_path / "a.db")
    r = CliRunner().invoke(cli, ["--db", db, "import", str(f)])
    assert r.exit_code == 1
    assert "677 imported" in r.output and "4 failed" in r.output, r.output
    assert "nested too deeply" in r.output and "Traceback" not in r.output
    listed = CliRunner().invoke(cli, ["--db", db, "list", "--format", "jsonl"]).output.splitlines()
    assert len(listed) == 677
