"""The read commands without click.

Importing click costs a query command about as much as starting the interpreter (~20 ms of a
~70 ms search here). ``parse`` reads the plain invocations of the read commands from the
declarations in ``spec`` and gives up (None) on anything else: help, version, an unknown or
repeated option, a value that does not convert, a value that looks like an option, a missing
argument. Whatever it gives up on goes to the click CLI, which owns every message about usage;
whatever it accepts it reads exactly as click does (tests/test_cli_fast.py holds the two to the
same parameters on generated command lines).
"""

from collections.abc import Sequence
from typing import Any, NamedTuple

from archive.cli.spec import GLOBAL, HELP_OPTIONS, READ, Param, default_of, parse_date, split_query


class Invocation(NamedTuple):
    """A read command line as parsed: the command, the global flags and its parameters."""

    command: str
    db: str | None
    log_level: str | None
    params: dict[str, Any]


class _Decline(Exception):
    """Not a command line the fast path reads: click takes it."""


def _convert(p: Param, value: str) -> Any:
    if value[:1] == "-" and len(value) > 1:
        raise _Decline  # click would read it as the value; a mistyped option more likely
    if isinstance(p.type, tuple):
        if p.case_sensitive:
            if value in p.type:
                return value
        else:
            for choice in p.type:
                if choice.casefold() == value.casefold():
                    return choice
        raise _Decline
    if p.type == "int":
        try:
            n = int(value)
        except ValueError:
            raise _Decline from None
        if p.min is not None and n < p.min:
            raise _Decline
        return n
    if p.type == "date":
        try:
            return parse_date(value)
        except ValueError:
            raise _Decline from None
    if p.type == "path":
        import os

        if os.path.exists(value) and not os.access(value, os.R_OK):
            raise _Decline  # click.Path refuses an existing unreadable path
    return value


def _options(params: Sequence[Param], args: Sequence[str], *, interspersed: bool = True,
             ) -> tuple[dict[str, Any], list[str], int]:
    """Read the options among ``args``: their values, the positionals in order, and where reading
    stopped. A group (``interspersed=False``) stops at its first positional, the command's name."""
    by_opt = {opt: p for p in params for opt in p.opts}
    values: dict[str, Any] = {}
    positionals: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--" and interspersed:
            positionals.extend(args[i + 1:])
            return values, positionals, len(args)
        if a[:1] != "-" or a == "-":
            if not interspersed:
                return values, positionals, i
            positionals.append(a)
            i += 1
            continue
        i += 1
        name, eq, explicit = a.partition("=") if a.startswith("--") else (a, "", "")
        p = by_opt.get(name)
        if p is None:
            raise _Decline  # help, an unknown option, clustered short options: click says what it is
        if p.kind == "flag":
            if eq:
                raise _Decline
            value: Any = True
        else:
            if not eq:
                if i >= len(args):
                    raise _Decline
                explicit = args[i]
                i += 1
            value = _convert(p, explicit)
        if p.kind == "multiple":
            values.setdefault(p.name, []).append(value)
        elif p.name in values:
            raise _Decline  # given twice: click takes the last; rare enough to leave to it
        else:
            values[p.name] = value
    return values, positionals, i


def _command(name: str, args: Sequence[str]) -> dict[str, Any]:
    params = READ[name]
    if any(p.kind == "words" for p in params):  # search: split as the click command splits it
        takes_value = {o: p.kind != "flag" for p in params for o in p.opts} | dict.fromkeys(HELP_OPTIONS, False)
        opts, words = split_query(list(args), takes_value)
        args = [*opts, "--", *words]
    values, positionals, _ = _options(params, args)
    out: dict[str, Any] = {}
    for p in params:
        if p.kind == "words":
            if not positionals:
                raise _Decline
            out[p.name] = tuple(positionals)
            positionals = []
        elif p.kind == "argument":
            if len(positionals) != 1:
                raise _Decline
            out[p.name] = positionals.pop()
        elif p.kind == "multiple":
            out[p.name] = tuple(values.get(p.name, ()))
        else:
            out[p.name] = values.get(p.name, default_of(p))
    if positionals:
        raise _Decline  # an extra argument: click's message
    return out


def parse(argv: Sequence[str]) -> Invocation | None:
    """The read command ``argv`` (without the program name) names, or None for click to handle."""
    try:
        flags, _, i = _options(GLOBAL, argv, interspersed=False)
        if i >= len(argv) or argv[i] not in READ:
            return None
        return Invocation(argv[i], flags.get("db"), flags.get("log_level"), _command(argv[i], argv[i + 1:]))
    except _Decline:
        return None


def run(inv: Invocation) -> int:
    """Run a parsed read command; its exit code. Errors are reported as the click CLI reports them."""
    from archive.cli import read
    from archive.cli.state import State, report

    state = State(inv.db, inv.log_level)
    try:
        try:
            return read.run(inv.command, state, inv.params)
        finally:
            state.close()  # inside the handler: a Ctrl-C while the store closes is reported too
    except BaseException as exc:
        code = report(exc, state)
        if code is None:
            raise
        return code
