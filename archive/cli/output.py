"""How commands show results: machine formats on stdout, tables on a terminal (rich, imported
only for a table), and messages on stderr. No click: the read commands run without it."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from archive.cli.state import echo_err

if TYPE_CHECKING:
    from archive.models import Article
    from archive.store.base import Store
    from archive.store.records import Hit, Story

TABLE_LIMIT = 50


def fmt_for(fmt: str | None) -> str:
    """The output format: as asked, else table on a terminal and jsonl otherwise."""
    return fmt or ("table" if sys.stdout.isatty() else "jsonl")


def limit_for(limit: int | None, fmt: str) -> int | None:
    """--limit as the store takes it: 0 is no limit; unset is 50 for a table, none otherwise."""
    if limit == 0:
        return None
    return limit if limit is not None else (TABLE_LIMIT if fmt == "table" else None)


def cut_short(shown: int, total: int) -> None:
    """Say on stderr that a table shows only part of the rows (SPEC.md)."""
    echo_err(f"{shown:,} of {total:,} shown; --limit N for more (--limit 0 for all)")


def out() -> IO[str]:
    return sys.stdout


def machine(rows: Iterable[dict[str, Any]], fmt: str, columns: Iterable[str] | None = None) -> None:
    """Rows in a machine format (jsonl, json, csv) on stdout; csv takes ``columns``."""
    from archive import export

    o = out()
    if fmt == "jsonl":
        export.write_jsonl(rows, o)
    elif fmt == "json":
        export.write_json(rows, o)
    elif fmt == "csv":
        it = iter(rows)
        first = next(it, None)
        cols = list(columns) if columns else (list(first) if first else [])
        w = csv_writer(o)
        w.writerow(cols)
        for r in _chain(first, it):
            w.writerow(export.flat_row(r, cols))
    o.flush()


def _chain(first: dict[str, Any] | None, rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    if first is not None:
        yield first
        yield from rest


def csv_writer(o: IO[str]) -> Any:
    import csv

    return csv.writer(o, lineterminator="\r\n")


def console() -> Any:
    from archive.cli.console import safe_console

    return safe_console(highlight=False, soft_wrap=False)


def err_console() -> Any:
    from archive.cli.console import safe_console

    return safe_console(stderr=True)


def short_date(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    return str(value)


def when(value: Any) -> Any:
    """A stored ISO timestamp as a datetime (shown in local time), or the value as it is."""
    from archive.models import parse_iso

    try:
        return parse_iso(value) if isinstance(value, str) else value
    except ValueError:
        return value


def byline_of(a: Article) -> str:
    from archive.export import byline

    return byline(list(a.authors))


def article_table(arts: Iterable[Article], title: str | None = None) -> None:
    from rich import box
    from rich.table import Table

    from archive.cli.console import safe

    # Rows alternate in weight and a rule separates them: a wrapped title never runs into the next row.
    t = Table(title=title, box=box.SIMPLE_HEAD, show_lines=True, header_style="bold", show_edge=False)
    t.add_column("id", style="cyan", no_wrap=True)
    t.add_column("published", no_wrap=True)
    t.add_column("title", ratio=3, min_width=24)
    t.add_column("authors", ratio=1, max_width=24)
    t.add_column("words", justify="right", no_wrap=True)
    n = 0
    for a in arts:
        title_cell = safe(a.title, one_line=True) + (" [deleted]" if a.deleted_at else "")
        t.add_row(a.id[:8], short_date(a.published), title_cell, safe(byline_of(a), one_line=True),
                  f"{a.word_count:,}")
        n += 1
    if n:
        console().print(t)
    else:
        echo_err("no articles")


def hits_table(hits: list[Hit]) -> None:
    from rich.table import Table
    from rich.text import Text

    from archive.cli.console import rich_snippet, safe, score_bars

    if not hits:
        echo_err("no matches")
        return
    t = Table(header_style="bold", show_lines=True)
    t.add_column("id", style="cyan", no_wrap=True)
    t.add_column("match", no_wrap=True)
    t.add_column("article", ratio=1)
    for h, bar in zip(hits, score_bars([h.score for h in hits]), strict=True):
        a = h.article
        cell = Text()  # no style for the whole cell: only the matches are bold
        cell.append(safe(a.title, one_line=True) + (" [deleted]" if a.deleted_at else ""), style="underline")
        meta = safe(", ".join(x for x in (byline_of(a), short_date(a.published)) if x), one_line=True)
        if meta:
            cell.append("\n" + meta, style="italic")
        cell.append("\n")
        cell.append_text(rich_snippet(h.snippet))
        t.add_row(a.id[:8], bar, cell)
    console().print(t)


def stories_table(found: list[Story]) -> None:
    """Each story as a section: its size and id, then its articles (the first seen first) with
    their similarity to that one, site, date and why they are there."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from archive.cli.console import safe

    t = Table(box=box.SIMPLE_HEAD, header_style="bold", show_edge=False)
    t.add_column("story", style="cyan", no_wrap=True)
    t.add_column("id", style="cyan", no_wrap=True)
    t.add_column("sim", justify="right", no_wrap=True)
    t.add_column("article", ratio=1)
    for s in found:
        for i, m in enumerate(s.members):
            a = m.article
            cell = Text(safe(a.title, one_line=True), style="bold" if i == 0 else "")
            meta = " · ".join(x for x in (a.site, short_date(a.published),
                                          "first seen" if i == 0 else m.reason) if x)
            cell.append("\n" + safe(meta, one_line=True), style="italic dim")
            head = f"{s.id[:8]}\n{len(s.members)} articles" if i == 0 else ""
            t.add_row(head, a.id[:8], "" if i == 0 else f"{m.similarity:.0%}", cell,
                      end_section=i == len(s.members) - 1)
    console().print(t)


def index_line(index: dict[str, Any]) -> str:
    """The search index's row of ``archive status``."""
    if "error" in index:
        return f"{index['path']}: {index['error']}"
    pending = index["pending"]
    state = ("up to date" if not pending else
             f"{pending:,} change{'s' if pending != 1 else ''} not indexed yet (the next writer indexes them)")
    line = f"{index['path']}: {index['articles']:,} articles, {index['bytes'] / 1e6:,.1f} MB, {state}"
    return line + (f"; {index['warning']}" if index.get("warning") else "")


def whole_paths(paths: list[str], roots: list[str], width: int) -> list[str]:
    """Paths as a table shows them on lines of their own, never cut: relative where they can be,
    broken after a ``/`` to fit ``width`` (so a file's name stays on one line when it fits), and a
    name longer than that over as many lines as it needs."""
    import re

    from archive.cli.console import display_path

    out = []
    for p in paths:
        lines, cur = [], ""
        for part in re.split(r"(?<=/)", display_path(p, roots)):
            if cur and len(cur) + len(part) > width:
                lines.append(cur)
                cur = ""
            cur += part
        lines.append(cur)
        out.append("\n".join(x[i:i + width] for x in lines for i in range(0, max(len(x), 1), width)))
    return out


def roots_of(store: Store) -> list[str]:
    """The folders daemons watch with this store: paths are shown relative to them."""
    from archive.errors import ArchiveError

    try:
        return [str(d["folder"]) for d in store.daemons() if d.get("folder")]
    except ArchiveError:
        return []
