"""The read commands' fast path (archive/cli/fast.py) against the click CLI it stands in for:
whatever command line it accepts, it must read exactly as click does; whatever it declines, click
gets, with its help and its messages. The real ``archive`` script runs the fast path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.cli import fast, read
from archive.cli.app import cli
from archive.cli.spec import GLOBAL, READ, Param
from tests.conftest import SEEDS

ARCHIVE = [sys.executable, "-m", "archive"]


# ---------------------------------------------------------------- the same reading as click


Reading = tuple[str, dict[str, Any], dict[str, Any]]


def click_reading(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> Reading | None:
    """What the click CLI makes of ``argv``: (command, global flags, parameters), or None when
    it shows help or a usage error instead of running a read command."""
    seen: list[Reading] = []
    for name in READ:
        def record(state: Any, _name: str = name, **kw: Any) -> int:
            seen.append((_name, dict(state.overrides), kw))
            return 0
        monkeypatch.setitem(read.COMMANDS, name, record)
    r = CliRunner().invoke(cli, argv)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    if r.exit_code != 0 or not seen:
        return None
    assert len(seen) == 1
    return seen[0]


def fast_reading(argv: list[str]) -> Reading | None:
    inv = fast.parse(argv)
    return None if inv is None else (inv.command, {"db": inv.db, "log_level": inv.log_level}, inv.params)


# Values and words as people type them, and the ones that break a parser (mixed in less often).
GOOD = {
    "int": ["0", "1", "5", "50"], "date": ["2008-01-01", "2012-02-29"], "text": ["Peter Symonds", "é", "a=b"],
    "path": ["out.jsonl", "dir/"],
}
BAD = {
    "int": ["-1", " -1", "x", "+3", " 7", "5_0", ""], "date": ["2008-13-01", "20080101", "yesterday", ""],
    "text": ["", "-x", "--", "-"], "path": ["-", "-o", ""],
}
WORDS = ["iraq", "-iran", "oil*", "OR", '"a phrase"', "é", "x=y"]
JUNK = ["-", "-h", "--help", "--nope", "-x", "-5", "--db", "x.db", "-oout", "--format", "--limit=",
        "--include-deleted=yes", "--", "search", "-o=x", "---", ""]
HEADS = [[], [], ["--db", "x.db"], ["--db=x.db"], ["--log-level", "debug"], ["--log-level=INFO"],
         ["--log-level", "warning", "--db", "x.db"]]
BAD_HEADS = [["--db"], ["--version"], ["-h"], ["--log-level", "LOUD"], ["--db", "-x"], ["--db", "a.db", "--db", "b.db"],
             ["--nope"], ["--"], ["x.db"]]


def values_for(p: Param, bad: bool) -> st.SearchStrategy[str]:
    if isinstance(p.type, tuple):
        return st.sampled_from([p.type[0].upper(), p.type[0].title(), "xml", ""] if bad else p.type)
    return st.sampled_from((BAD if bad else GOOD)[p.type])


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """Mostly well-formed read command lines, with a bad token in some (one in four, about)."""
    def bad() -> bool:
        return draw(st.integers(0, 11)) == 0

    name = draw(st.sampled_from([*sorted(READ), "parse"] if bad() else sorted(READ)))
    argv = [*draw(st.sampled_from(BAD_HEADS if bad() else HEADS)), name]
    params = READ.get(name, ())
    options = [p for p in params if p.opts]
    takes_words = any(p.kind == "words" for p in params)
    if any(p.kind in ("argument", "words") for p in params) and not bad():
        argv.append(draw(st.sampled_from(["iraq", "3f2a", "seeds/a.txt"])))
    for _ in range(draw(st.integers(0, 5))):
        if bad():
            argv.append(draw(st.sampled_from(JUNK)))
        elif (takes_words and draw(st.booleans())) or not options:
            argv.append(draw(st.sampled_from(WORDS)) if takes_words else "extra")
        else:
            p = draw(st.sampled_from(options))
            opt = draw(st.sampled_from(p.opts))
            if p.kind == "flag":
                argv += [opt + "=1"] if bad() else [opt]
            else:
                v = draw(values_for(p, draw(st.integers(0, 3)) == 0))  # values go wrong more often
                argv += [opt] if bad() else draw(st.sampled_from([[opt, v], [f"{opt}={v}"]]))
    if takes_words and draw(st.integers(0, 5)) == 0:
        argv += ["--", draw(st.sampled_from(WORDS + JUNK))]
    return argv


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=command_lines())
def test_what_the_fast_path_accepts_it_reads_as_click_does(argv: list[str], monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # -o values name files relative to here; none is created
    mine = fast_reading(argv)
    if mine is not None:
        assert mine == click_reading(argv, monkeypatch), argv


# The plain invocations people type: the fast path must take these (else the property above
# would hold for a fast path that declines everything).
PLAIN = [
    ["search", "iraq", "-iran", "--format", "jsonl", "--limit", "50"],
    ["--db", "x.db", "search", '"oil exports"', "-war", "--since", "2008-01-01", "--until=2009-12-31"],
    ["search", "withdrawal", "OR", "oil", "--author", "A", "--author", "B", "--tag", "t", "--include-deleted"],
    ["search", "--", "--literally"],
    ["--log-level", "debug", "list"],
    ["list", "--sort", "title", "--format", "csv", "--limit", "0"],
    ["show", "3f2a9c", "--revision", "2", "--format", "json"],
    ["show", "--", "-odd-name.txt"],
    ["history", "seeds/a.txt"],
    ["export", "-o", "all.jsonl", "--format", "ejson"],
    ["export", "--revisions"],
    ["stats", "--since", "2015-01-01", "--format", "json"],
    ["status"],
    ["failures", "--format", "csv"],
    ["duplicates", "--include-deleted"],
]


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_plain_read_command_lines_take_the_fast_path(argv: list[str], monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    mine = fast_reading(argv)
    assert mine is not None
    assert mine == click_reading(argv, monkeypatch)


@pytest.mark.parametrize("argv", [
    [], ["--help"], ["--version"], ["search"], ["search", "x", "--help"], ["search", "x", "-h"],
    ["search", "x", "--limit", "-1"], ["search", "x", "--limit", " -1"], ["show", "x", "--revision", "0"],
    ["list", "extra"], ["show"], ["show", "a", "b"], ["list", "--sort", "size"],
    ["list", "--since", "2008-02-30"], ["search", "x", "--nope"], ["export", "-oout.jsonl"],
    ["list", "--limit", "1", "--limit", "2"], ["ingest", "x"], ["watch"], ["list", "--include-deleted=1"],
], ids=lambda a: " ".join(a) or "nothing")
def test_help_usage_errors_and_other_commands_go_to_click(argv: list[str]) -> None:
    assert fast.parse(argv) is None


def test_the_sort_choices_are_the_stores_sorts() -> None:
    import typing

    from archive.cli.spec import SORTS
    from archive.store.records import Sort

    assert typing.get_args(Sort) == SORTS


def test_every_read_command_has_a_body_and_a_click_command() -> None:
    assert set(READ) == set(read.COMMANDS) <= set(cli.commands)
    for name in READ:
        assert cli.commands[name].help == read.COMMANDS[name].__doc__
    assert {o for p in GLOBAL for o in p.opts} <= {o for p in cli.params for o in p.opts}


# ---------------------------------------------------------------- the real script


@pytest.fixture
def db(tmp_path: Path, clean_env: Path) -> str:
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    (folder / "empty.txt").write_bytes(b"")  # a failure for `archive failures` to list
    path = str(tmp_path / "a.db")
    assert CliRunner().invoke(cli, ["--db", path, "ingest", str(folder)]).exit_code == 1
    return path


def script(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARCHIVE, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def through_click(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.parametrize("args", [
    ("search", "iraq", "--format", "jsonl"),
    ("search", "iraq", "-withdrawal", "--format", "csv"),
    ("list", "--format", "json", "--sort", "title"),
    ("stats", "--format", "json"),
    ("failures", "--format", "jsonl"),
    ("export", "--format", "ejson"),
    ("show", "no-such-article"),  # exit 1, one line
    ("list", "--since", "2010-01-01", "--until", "2009-01-01"),  # a usage error the command finds: exit 2
])
def test_the_script_prints_what_the_click_cli_prints(db: str, args: tuple[str, ...]) -> None:
    assert fast.parse(["--db", db, *args]) is not None
    p = script("--db", db, *args)
    assert (p.returncode, p.stdout, p.stderr) == through_click("--db", db, *args)
    assert p.stdout or p.stderr.count("\n") == 1


def test_a_missing_store_is_one_line_on_either_path(tmp_path: Path, clean_env: Path) -> None:
    missing = str(tmp_path / "none" / "x.db")
    p = script("--db", missing, "search", "iraq")
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and missing in p.stderr
    assert (p.returncode, p.stdout, p.stderr) == through_click("--db", missing, "search", "iraq")
    assert not Path(missing).exists()


def test_what_the_fast_path_declines_the_script_still_answers(db: str) -> None:
    p = script("--db", db, "search")
    assert p.returncode == 2 and "Missing argument 'QUERY...'" in p.stderr
    p = script("--db", db, "search", "iraq", "--limit", "many")
    assert p.returncode == 2 and "'many' is not a valid integer" in p.stderr
    p = script("search", "--help")
    assert p.returncode == 0 and p.stdout.startswith("Usage: archive search")


def test_shell_completion_is_clicks_even_with_a_read_command_line() -> None:
    env = {**os.environ, "_ARCHIVE_COMPLETE": "bash_complete", "COMP_WORDS": "archive sea", "COMP_CWORD": "1"}
    for args in ([], ["search", "x"]):
        p = subprocess.run([*ARCHIVE, *args], capture_output=True, text=True, timeout=60, env=env)
        assert (p.returncode, p.stdout.split()) == (0, ["plain,search"]), p.stderr


def test_ctrl_c_while_the_store_closes_is_one_line_on_either_path(db: str, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from archive.cli.state import State

    def interrupted(self: State) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(State, "close", interrupted)
    inv = fast.parse(["--db", db, "status", "--format", "json"])
    assert inv is not None
    try:
        code = fast.run(inv)
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped the fast path (a traceback at the prompt)")
    assert code == 130
    assert capsys.readouterr().err == "archive: interrupted\n"
    code, _, err = through_click("--db", db, "status", "--format", "json")
    assert (code, err) == (130, "archive: interrupted\n")


def test_a_reader_that_goes_away_is_not_an_error(db: str) -> None:
    """``archive list | head -1``: the rest of the output goes nowhere, exit 0, no traceback."""
    for args in (["list", "--format", "jsonl"], ["search", "the", "--format", "jsonl"]):
        p = subprocess.Popen([*ARCHIVE, "--db", db, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stdout is not None and p.stderr is not None
        first = p.stdout.readline()
        p.stdout.close()
        err = p.stderr.read().decode()
        p.stderr.close()
        assert p.wait(60) == 0 and err == "" and json.loads(first)["id"]


def test_help_is_clicks(db: str) -> None:
    """The fast path never answers --help (tests/test_cli.py checks that query commands import no click)."""
    probe = ("import sys, runpy; sys.argv = ['archive', *sys.argv[1:]]\n"
             "try:\n    runpy.run_module('archive', run_name='__main__')\n"
             "except SystemExit as e:\n    print('EXIT', e.code, 'CLICK', 'click' in sys.modules, file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", probe, "--db", db, "search", "--help"], capture_output=True,
                       text=True, timeout=60)
    assert p.stderr.strip().endswith("EXIT 0 CLICK True") and "Usage: archive search" in p.stdout
