"""The read commands' parameters, declared once and without click.

``archive.cli.app`` builds the click options from these declarations (help, errors, completion);
``archive.cli.fast`` parses the common invocations of the same commands without importing click,
which costs a query command about as much as the interpreter's own start-up. Every other command
(parse, ingest, watch, import, migrate, serve) is declared with click decorators in ``app``.
"""

import datetime as dt
from typing import Any, NamedTuple

from archive.sorts import SORTS as RECORD_SORTS

OUT_FORMATS = ("table", "json", "jsonl", "csv")
EXPORT_FORMATS = ("jsonl", "json", "csv", "ejson", "markdown")
SORTS: tuple[str, ...] = RECORD_SORTS
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
HELP_OPTIONS = ("-h", "--help")


class Param(NamedTuple):
    """One parameter of a command.

    ``kind``: ``value`` (an option taking one value), ``multiple`` (repeatable, a tuple),
    ``flag``, ``argument`` (one positional), or ``words`` (one or more positionals where a word
    starting with ``-`` is a word, not an option: a search query). ``type``: ``text``, ``int``
    (at least ``min``), ``date`` (``YYYY-MM-DD``), ``path``, or a tuple of choices.
    """

    name: str
    opts: tuple[str, ...] = ()
    kind: str = "value"
    type: str | tuple[str, ...] = "text"
    min: int | None = None
    default: Any = None
    metavar: str | None = None
    help: str = ""
    show_default: bool = False
    case_sensitive: bool = True


GLOBAL = (
    Param("db", ("--db",), metavar="URI",
          help="Store: a .db path, sqlite:///file.db or mongodb://host/db [ARCHIVE_DB]."),
    Param("log_level", ("--log-level",), type=LOG_LEVELS, case_sensitive=False,
          help="How much to log on stderr [ARCHIVE_LOG_LEVEL]."),
)

FILTERS = (
    Param("authors", ("--author",), "multiple", metavar="NAME",
          help="Only articles by NAME (case-insensitive; repeat for any of several)."),
    Param("tags", ("--tag",), "multiple", metavar="TAG",
          help="Only articles tagged TAG (case-insensitive; repeat for any of several)."),
    Param("since", ("--since",), type="date", metavar="YYYY-MM-DD", help="Published on or after this date."),
    Param("until", ("--until",), type="date", metavar="YYYY-MM-DD", help="Published on or before this date."),
    Param("include_deleted", ("--include-deleted",), "flag", help="Include articles whose file is gone."),
    Param("limit", ("--limit",), type="int", min=0,
          help="At most N results; 0 = no limit (table: 50 by default, others: no limit)."),
)

FORMAT = Param("fmt", ("--format",), type=OUT_FORMATS, help="Output format: table on a terminal, jsonl otherwise.")

READ: dict[str, tuple[Param, ...]] = {
    "search": (Param("query", kind="words"), *FILTERS, FORMAT),
    "list": (*FILTERS,
             Param("sort", ("--sort",), type=SORTS, default="-published", show_default=True,
                   help="Order; a leading - means descending."),
             FORMAT),
    "show": (Param("ref", kind="argument"),
             Param("revision", ("--revision",), type="int", min=1, help="Show revision N instead of the current one."),
             FORMAT),
    "history": (Param("ref", kind="argument"), FORMAT),
    "export": (*FILTERS,
               Param("fmt", ("--format",), type=EXPORT_FORMATS, default="jsonl", show_default=True,
                     help="jsonl, json, csv, ejson (for mongoimport), or markdown (a folder of files)."),
               Param("output", ("-o", "--output"), type="path",
                     help="File (or folder for markdown); stdout by default."),
               Param("revisions", ("--revisions",), "flag",
                     help="Export the kept earlier revisions instead (ids ARTICLE:REVISION, with article_id)."),
               Param("everything", ("--all",), "flag",
                     help="Everything, for `archive restore`: every article (deleted too), every kept revision "
                          "and every failure, as jsonl.")),
    "stats": (*FILTERS, FORMAT),
    "status": (FORMAT,),
    "failures": (FORMAT,),
    "duplicates": (Param("include_deleted", ("--include-deleted",), "flag", help="Count deleted articles too."),
                   FORMAT),
    "stories": (Param("min_size", ("--min-size",), type="int", min=2, default=2, show_default=True,
                      help="Only stories of at least N articles."),
                *FILTERS[:4],
                Param("sites", ("--site",), "multiple", metavar="SITE",
                      help="Only stories with an article from SITE (repeat for any of several)."),
                FILTERS[5], FORMAT),
    "similar": (Param("ref", kind="argument"),
                Param("limit", ("--limit",), type="int", min=1, default=10, show_default=True,
                      help="At most N articles."),
                FORMAT),
}


def parse_date(value: str) -> dt.date:
    """A ``YYYY-MM-DD`` option value as a date; ValueError otherwise (both parsers use this, and
    the web its parameters: archive.models.parse_day)."""
    from archive.models import parse_day

    return parse_day(value)


def default_of(p: Param) -> Any:
    """What a parameter is when the command line does not give it."""
    if p.kind == "multiple":
        return ()
    if p.kind == "flag":
        return False
    return p.default



def split_query(args: list[str], takes_value: dict[str, bool]) -> tuple[list[str], list[str]]:
    """A query command's arguments as (options with their values, words). A word that starts
    with ``-`` is an exclusion, never an option (SPEC.md): only the command's own option names
    (``takes_value``: name → whether it takes a value, help included) and ``--long`` tokens are
    options, so an unknown ``--long`` one still gets its usage error; ``--`` ends the options."""
    opts: list[str] = []
    words: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        name = a.split("=", 1)[0]
        if a == "--":
            words.extend(args[i + 1:])
            break
        if name in takes_value or (a.startswith("--") and len(a) > 2):
            opts.append(a)
            if takes_value.get(name) and "=" not in a and i + 1 < len(args):
                opts.append(args[i + 1])
                i += 1
        else:
            words.append(a)
        i += 1
    return opts, words
