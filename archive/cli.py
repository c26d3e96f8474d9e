"""The command line. It only parses arguments and formats output; the work is elsewhere."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from archive import __version__
from archive.errors import AmbiguousRef, ArchiveError, FailedFile, NotFound, UsageError

if TYPE_CHECKING:
    from archive.config import Settings
    from archive.models import Article
    from archive.store.base import Filters, Hit, Store

F = TypeVar("F", bound=Callable[..., Any])
OUT_FORMATS = ("table", "json", "jsonl", "csv")
TABLE_LIMIT = 50


class State:
    """What the group passes down: global flags, and the one Settings object built from them."""

    def __init__(self, db: str | None, log_level: str | None) -> None:
        self.overrides: dict[str, Any] = {"db": db, "log_level": log_level}
        self._settings: Settings | None = None
        self._store: Store | None = None

    def settings(self, **more: Any) -> Settings:
        if self._settings is None:
            from archive.config import load_settings

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._settings = load_settings(**self.overrides, **more)  # a ConfigError names the setting
            for w in caught:
                click.echo(f"archive: warning: {w.message}", err=True)
        return self._settings

    def store(self, *, create: bool = False) -> Store:
        """The store. Read commands never create one (``create=False``): a missing store is an
        error naming the path, not a new empty store answering "no matches"."""
        if self._store is None:
            from archive.store import open_store

            s = self.settings()
            self._store = open_store(s.db, s, create=create)
        return self._store

    def store_display(self) -> str:
        """The store's name as messages show it (no credentials)."""
        from archive.config import redact

        return redact(self.settings().db)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class ArchiveGroup(click.Group):
    """Turns archive's errors into one line on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AmbiguousRef as exc:
            click.echo(f"archive: {exc.reason}:", err=True)
            for id_, title in exc.candidates:
                click.echo(f"  {id_}  {title}", err=True)
            ctx.exit(1)
        except ArchiveError as exc:
            from archive.config import redact

            click.echo(f"archive: {redact(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:
            _quiet_broken_pipe()
            ctx.exit(0)
        except KeyboardInterrupt:
            click.echo("archive: interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            from archive.config import redact

            if os.environ.get("ARCHIVE_LOG_LEVEL", "").upper() == "DEBUG" or (
                ctx.obj and ctx.obj.overrides.get("log_level", "") and
                str(ctx.obj.overrides["log_level"]).upper() == "DEBUG"
            ):
                raise
            click.echo(f"archive: internal error: {redact(str(exc)) or type(exc).__name__} "
                       "(run with --log-level DEBUG for the traceback)", err=True)
            ctx.exit(1)


def _quiet_broken_pipe() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@click.group(cls=ArchiveGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", metavar="URI", help="Store: a .db path, sqlite:///file.db or mongodb://host/db [ARCHIVE_DB].")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="How much to log on stderr [ARCHIVE_LOG_LEVEL].")
@click.version_option(__version__, "--version", prog_name="archive")
@click.pass_context
def cli(ctx: click.Context, db: str | None, log_level: str | None) -> None:
    """Turn a folder of news articles into a queryable document store.

    \b
    Examples:
      archive watch seeds/            # keep the store in line with a folder
      archive search '"oil exports" -war'
      archive show 3f2a               # by id prefix, id or file path
      archive export --format csv -o articles.csv
    """
    ctx.obj = State(db, log_level.upper() if log_level else None)
    ctx.call_on_close(ctx.obj.close)


# ---------------------------------------------------------------- helpers


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD") from None


def filter_options(func: F) -> F:
    """--author, --tag, --since, --until, --include-deleted, --limit."""
    opts = [
        click.option("--author", "authors", multiple=True, metavar="NAME",
                     help="Only articles by NAME (case-insensitive; repeat for any of several)."),
        click.option("--tag", "tags", multiple=True, metavar="TAG",
                     help="Only articles tagged TAG (case-insensitive; repeat for any of several)."),
        click.option("--since", callback=_date, metavar="YYYY-MM-DD", help="Published on or after this date."),
        click.option("--until", callback=_date, metavar="YYYY-MM-DD", help="Published on or before this date."),
        click.option("--include-deleted", is_flag=True, help="Include articles whose file is gone."),
        click.option("--limit", type=click.IntRange(min=0),
                     help="At most N results; 0 = no limit (table: 50 by default, others: no limit)."),
    ]
    for o in reversed(opts):
        func = o(func)
    return func


def format_option(func: F) -> F:
    return click.option(
        "--format", "fmt", type=click.Choice(OUT_FORMATS),
        help="Output format: table on a terminal, jsonl otherwise.",
    )(func)


def _fmt(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "jsonl")


def _filters(authors: tuple[str, ...], since: dt.date | None, until: dt.date | None,
             include_deleted: bool, tags: tuple[str, ...] = ()) -> Filters:
    from archive.store.base import Filters

    if since and until and since > until:
        raise UsageError(f"--since {since} is after --until {until}")
    return Filters(authors=tuple(authors), tags=tuple(tags), since=since, until=until,
                   include_deleted=include_deleted)


def _limit(limit: int | None, fmt: str) -> int | None:
    if limit == 0:
        return None
    return limit if limit is not None else (TABLE_LIMIT if fmt == "table" else None)


def _cut_short(shown: int, total: int) -> None:
    """Say on stderr that a table shows only part of the rows (SPEC.md)."""
    click.echo(f"{shown:,} of {total:,} shown; --limit N for more (--limit 0 for all)", err=True)


def _out() -> IO[str]:
    return sys.stdout


def _machine(rows: Iterable[dict[str, Any]], fmt: str, columns: Iterable[str] | None = None) -> None:
    from archive import export

    out = _out()
    if fmt == "jsonl":
        export.write_jsonl(rows, out)
    elif fmt == "json":
        export.write_json(rows, out)
    elif fmt == "csv":
        it = iter(rows)
        first = next(it, None)
        cols = list(columns) if columns else (list(first) if first else [])
        w = _csv_writer(out)
        w.writerow(cols)
        for r in _chain(first, it):
            w.writerow(export.flat_row(r, cols))
    out.flush()


def _chain(first: dict[str, Any] | None, rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    if first is not None:
        yield first
        yield from rest


def _csv_writer(out: IO[str]) -> Any:
    import csv

    return csv.writer(out, lineterminator="\r\n")


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _short_date(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    return str(value)


def _authors(a: Article) -> str:
    from archive.export import byline

    return byline(list(a.authors))


def _article_table(arts: Iterable[Article], title: str | None = None) -> None:
    from rich import box
    from rich.table import Table

    # Rows alternate in weight and a rule separates them: a wrapped title never runs into the next row.
    t = Table(title=title, box=box.SIMPLE_HEAD, show_lines=True, header_style="bold", show_edge=False)
    t.add_column("id", style="cyan", no_wrap=True)
    t.add_column("published", no_wrap=True)
    t.add_column("title", ratio=3)
    t.add_column("authors", ratio=1)
    t.add_column("words", justify="right", no_wrap=True)
    n = 0
    for a in arts:
        title_cell = a.title + (" [deleted]" if a.deleted_at else "")
        t.add_row(a.id[:8], _short_date(a.published), title_cell, _authors(a), f"{a.word_count:,}")
        n += 1
    c = _console()
    if n:
        c.print(t)
    else:
        click.echo("no articles", err=True)


# ---------------------------------------------------------------- parse, ingest, watch


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.pass_obj
def parse(state: State, files: tuple[str, ...]) -> None:
    """Show what the parser makes of FILES, without storing anything.

    One JSON object per file on stdout; exit 1 if any file failed.

    \b
    Example:
      archive parse seeds/*.txt | jq .title
    """
    import hashlib

    from archive.errors import ParseError
    from archive.export import dumps
    from archive.parsing import parse_bytes

    settings = state.settings()
    failed = 0
    out = _out()
    for f in files:
        path = os.path.abspath(f)
        try:
            with open(path, "rb") as fh:
                data = fh.read(settings.max_bytes + 1)
            a = parse_bytes(data, path, settings.max_bytes)
        except OSError as exc:
            failed += 1
            out.write(dumps({"path": path, "error": f"cannot read: {exc.strerror or exc}"}) + "\n")
            continue
        except ParseError as exc:
            failed += 1
            out.write(dumps({"path": path, "error": exc.reason}) + "\n")
            continue
        st = os.stat(path)
        out.write(dumps({
            "title": a.title, "authors": list(a.authors),
            "published": a.published.isoformat() if a.published else None,
            "body": a.body, "word_count": a.word_count,
            "source": {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                       "mtime": st.st_mtime},
            "url": a.url, "site": a.site, "tags": list(a.tags), "format": a.format, "description": a.description,
        }) + "\n")
    if failed:
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--workers", type=click.IntRange(min=0), help="Parse processes (0 = one per core) [ARCHIVE_WORKERS].")
@click.pass_obj
def ingest(state: State, paths: tuple[str, ...], workers: int | None) -> None:
    """Parse files or folders (recursively) and upsert them into the store.

    Prints `N new, N updated, N unchanged, N failed` on stderr; exit 1 if any file failed.

    \b
    Example:
      archive ingest ~/articles/ extra/one.txt
    """
    from archive.ingest import Ingester
    from archive.logsetup import configure_logging

    settings = state.settings(workers=workers)
    configure_logging("WARNING" if settings.log_level == "INFO" else settings.log_level, settings.log_format)
    store = state.store(create=True)
    missing = [p for p in paths if not os.path.lexists(p)]
    for p in missing:
        click.echo(f"archive: {p}: no such file or folder", err=True)
    existing = [p for p in paths if os.path.lexists(p)]
    ing = Ingester(store, settings, log_each=False)
    for p in existing:
        why = ing.why_not_article(p)
        if why:
            click.echo(f"archive: {p}: skipped: {why}", err=True)
    handler = None
    try:
        if sys.stderr.isatty():
            summary, handler = _ingest_with_bar(ing, existing)
        else:
            summary = ing.ingest_paths(existing)
    except KeyboardInterrupt:
        ing.close()
        click.echo(f"archive: interrupted after {ing.totals.line()}; run the same command again to finish",
                   err=True)
        raise click.exceptions.Exit(130) from None
    ing.close()
    summary.failed += len(missing)
    click.echo(summary.line(), err=True)
    if handler is not None and handler.suppressed:
        click.echo(f"archive: {handler.suppressed:,} more failures not shown above", err=True)
    if summary.failed:
        if summary.failed > len(missing):
            click.echo("archive: 'archive failures' lists the files that failed, with the reasons", err=True)
        raise click.exceptions.Exit(1)


def _ingest_with_bar(ing: Any, paths: list[str]) -> tuple[Any, Any]:
    """Ingest under one live progress bar; warnings print above it through the same console."""
    import logging

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from archive.console import console_log_handler

    console = _err_console()
    logger = logging.getLogger("archive")
    saved = logger.handlers[:]
    handler = console_log_handler(console)
    total = ing.count_files(paths)
    try:
        with Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      transient=True, console=console) as bar:
            logger.handlers[:] = [handler]
            task = bar.add_task("ingest", total=total)
            ing.progress = lambda n: bar.advance(task, n)
            summary = ing.ingest_paths(paths)
            bar.update(task, completed=total)
    finally:
        logger.handlers[:] = saved
    return summary, handler


def _err_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--polling/--native", default=None, help="Poll the folder instead of OS events [ARCHIVE_POLLING].")
@click.option("--poll-interval", type=float, metavar="SECONDS", help="Seconds between polls [ARCHIVE_POLL_INTERVAL].")
@click.option("--settle", type=float, metavar="SECONDS",
              help="Quiet time before a changed file is read [ARCHIVE_SETTLE].")
@click.option("--rescan-interval", type=float, metavar="SECONDS",
              help="Full safety rescan every N seconds, 0 disables [ARCHIVE_RESCAN_INTERVAL].")
@click.option("--ignore", multiple=True, metavar="PATTERN", help="Also ignore names matching PATTERN [ARCHIVE_IGNORE].")
@click.option("--log-format", type=click.Choice(["text", "json"]),
              help="Log lines as text or JSON [ARCHIVE_LOG_FORMAT].")
@click.option("--once", is_flag=True, help="Reconcile the folder with the store, then exit.")
@click.pass_obj
def watch(state: State, directory: str | None, polling: bool | None, poll_interval: float | None,
          settle: float | None, rescan_interval: float | None, ignore: tuple[str, ...],
          log_format: str | None, once: bool) -> None:
    """The daemon: keep the store in line with DIRECTORY until SIGINT/SIGTERM.

    Reconciles first (files new, changed, moved or deleted while it was down), then
    follows changes. DIRECTORY defaults to ARCHIVE_WATCH_DIR, else ./seeds.

    \b
    Examples:
      archive watch seeds/
      archive watch --polling --poll-interval 2 /mnt/share/articles
      archive watch --once            # reconcile and exit (cron-friendly)
    """
    from archive.logsetup import configure_logging
    from archive.watch import Daemon

    settings = state.settings(
        watch_dir=directory, polling=polling, poll_interval=poll_interval, settle=settle,
        rescan_interval=rescan_interval, ignore=list(ignore) or None, log_format=log_format,
    )
    configure_logging(settings.log_level, settings.log_format)
    daemon = Daemon(settings, str(settings.watch_dir))
    daemon.install_signal_handlers()
    code = daemon.run(once=once)
    if code:
        raise click.exceptions.Exit(code)


# ---------------------------------------------------------------- queries


def _doc(a: Article) -> dict[str, Any]:
    return a.to_doc()


class QueryCommand(click.Command):
    """A command whose words are a query: a word that starts with ``-`` is an exclusion, never
    an option (SPEC.md), so ``archive search iraq -iran`` works as typed. Only the command's own
    options (exact names) and ``--`` are read as such; an unknown ``--long`` option is still a
    usage error, with click's suggestion."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for p in self.get_params(ctx):
            if isinstance(p, click.Option):
                for o in (*p.opts, *p.secondary_opts):
                    takes_value[o] = not p.is_flag and not p.count
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
        return super().parse_args(ctx, [*opts, "--", *words])


@cli.command(cls=QueryCommand)
@click.argument("query", nargs=-1, required=True)
@filter_options
@format_option
@click.pass_obj
def search(state: State, query: tuple[str, ...], authors: tuple[str, ...], tags: tuple[str, ...],
           since: dt.date | None,
           until: dt.date | None, include_deleted: bool, limit: int | None, fmt: str | None) -> None:
    """Ranked full-text search over title, authors and body.

    Words are ANDed; "a phrase" matches a phrase; -word excludes (a word starting with - is never
    an option); word* is a prefix; a OR b matches either. Quote the query or not.

    \b
    Examples:
      archive search iraq troops
      archive search iraq -oil
      archive search '"status of forces"' --since 2008-01-01 --format json
      archive search withdrawal OR oil
    """
    fmt = _fmt(fmt)
    text = " ".join(query)
    store = state.store()
    flt = _filters(authors, since, until, include_deleted, tags)
    lim = _limit(limit, fmt)
    if fmt != "table":
        hits = store.search(text, flt, lim)
        _machine((h.to_doc() for h in hits), fmt,
                 ("id", "score", "title", "authors", "published", "path", "snippet"))
        return
    shown = list(store.search(text, flt, None if lim is None else lim + 1))
    more = lim is not None and len(shown) > lim
    _hits_table(shown[:lim] if more else shown)
    if more:
        _cut_short(lim or 0, store.count_matches(text, flt))


def _hits_table(hits: list[Hit]) -> None:
    from rich.table import Table
    from rich.text import Text

    from archive.console import rich_snippet, score_bars

    if not hits:
        click.echo("no matches", err=True)
        return
    t = Table(header_style="bold", show_lines=True)
    t.add_column("id", style="cyan", no_wrap=True)
    t.add_column("match", no_wrap=True)
    t.add_column("article", ratio=1)
    for h, bar in zip(hits, score_bars([h.score for h in hits]), strict=True):
        a = h.article
        cell = Text(a.title + (" [deleted]" if a.deleted_at else ""), style="bold")
        meta = ", ".join(x for x in (_authors(a), _short_date(a.published)) if x)
        if meta:
            cell.append("\n" + meta, style="italic")
        cell.append("\n")
        cell.append_text(rich_snippet(h.snippet))
        t.add_row(a.id[:8], bar, cell)
    _console().print(t)


@cli.command("list")
@filter_options
@click.option("--sort", type=click.Choice(["-published", "published", "-updated", "updated", "-ingested",
                                           "ingested", "title", "path"]),
              default="-published", show_default=True, help="Order; a leading - means descending.")
@format_option
@click.pass_obj
def list_cmd(state: State, authors: tuple[str, ...], tags: tuple[str, ...], since: dt.date | None,
             until: dt.date | None, include_deleted: bool, limit: int | None, sort: str, fmt: str | None) -> None:
    """List articles, newest first.

    \b
    Examples:
      archive list --author 'Peter Symonds' --since 2012-01-01
      archive list --sort title --format csv > titles.csv
    """
    fmt = _fmt(fmt)
    store = state.store()
    flt = _filters(authors, since, until, include_deleted, tags)
    lim = _limit(limit, fmt)
    if fmt != "table":
        from archive.export import CSV_COLUMNS

        arts = store.query(flt, sort=sort, limit=lim)  # type: ignore[arg-type]
        _machine((_doc(a) for a in arts), fmt, CSV_COLUMNS)
        return
    rows = list(store.query(flt, sort=sort, limit=None if lim is None else lim + 1))  # type: ignore[arg-type]
    more = lim is not None and len(rows) > lim
    _article_table(rows[:lim] if more else rows)
    if more:
        _cut_short(lim or 0, store.count(flt))


@cli.command()
@click.argument("ref")
@click.option("--revision", type=click.IntRange(min=1), help="Show revision N instead of the current one.")
@format_option
@click.pass_obj
def show(state: State, ref: str, revision: int | None, fmt: str | None) -> None:
    """Show one article. REF is an id, a unique id prefix, or a file path.

    \b
    Examples:
      archive show 3f2a9c
      archive show seeds/000_bec70df4e4b3c35a.txt --revision 1
    """
    fmt = _fmt(fmt)
    store = state.store()
    art = _resolve(store, ref)
    if revision is not None and revision != art.revision:
        match = [r for r in store.revisions(art.id) if r.revision == revision]
        if not match:
            raise NotFound(f"{ref} revision {revision}", "revision")
        art = match[0]
    if fmt == "json":  # one article: one object (SPEC.md), not a one-element array
        _out().write(json.dumps(_doc(art), ensure_ascii=False, indent=2) + "\n")
        return
    if fmt != "table":
        from archive.export import CSV_COLUMNS

        _machine([_doc(art)], fmt, CSV_COLUMNS)
        return
    from rich.text import Text

    from archive.console import display_path

    c = _console()
    c.print(Text(art.title, style="bold"))
    meta = " · ".join(x for x in (_authors(art), _short_date(art.published)) if x)
    if meta:
        c.print(Text(meta, style="italic"))
    c.print(Text(f"{art.id}  revision {art.revision}  {art.word_count:,} words  {display_path(art.source.path)}"
                 + (f"  deleted {_short_date(art.deleted_at)}" if art.deleted_at else ""), style="dim"))
    c.print()
    width = min(c.width, 100)
    for par in art.body.split("\n\n"):
        c.print(Text(par), width=width)
        c.print()


@cli.command()
@click.argument("ref")
@format_option
@click.pass_obj
def history(state: State, ref: str, fmt: str | None) -> None:
    """List the revisions of one article, oldest first.

    \b
    Example:
      archive history 3f2a9c
    """
    fmt = _fmt(fmt)
    store = state.store()
    art = _resolve(store, ref)
    revs = store.history(art.id)
    if fmt != "table":
        _machine((r.to_doc() for r in revs), fmt, ("revision", "updated_at", "sha256", "size", "title", "path",
                                                   "current"))
        return
    from rich.table import Table

    t = Table(title=art.title, header_style="bold")
    for col in ("rev", "saved", "sha256", "size", "title"):
        t.add_column(col)
    for r in revs:
        t.add_row(str(r.revision) + (" *" if r.current else ""), _short_date(r.updated_at), r.sha256[:12],
                  str(r.size), r.title)
    _console().print(t)


def _resolve(store: Store, ref: str) -> Article:
    """``store.resolve``, and when REF is a file that failed to parse, say so (and where to look)."""
    try:
        return store.resolve(ref)
    except NotFound:
        path = os.path.abspath(ref)
        for f in store.failures():
            if f.path == path:
                raise FailedFile(ref, f.reason) from None
        raise


# ---------------------------------------------------------------- export, import, migrate


@cli.command()
@filter_options
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json", "csv", "ejson", "markdown"]), default="jsonl",
              show_default=True, help="jsonl, json, csv, ejson (for mongoimport), or markdown (a folder of files).")
@click.option("-o", "--output", type=click.Path(), help="File (or folder for markdown); stdout by default.")
@click.option("--revisions", is_flag=True,
              help="Export the kept earlier revisions instead (ids ARTICLE:REVISION, with article_id).")
@click.pass_obj
def export(state: State, authors: tuple[str, ...], tags: tuple[str, ...], since: dt.date | None, until: dt.date | None,
           include_deleted: bool, limit: int | None, fmt: str, output: str | None, revisions: bool) -> None:
    """Export every matching article, streaming, in constant memory.

    \b
    Examples:
      archive export -o all.jsonl
      archive export --format ejson | mongoimport -d archive -c articles
      archive export --revisions --format ejson | mongoimport -c revisions
      archive export --format markdown -o backup/   # re-ingestable files
    """
    from archive import export as ex

    store = state.store()
    flt = _filters(authors, since, until, include_deleted, tags)
    if revisions:
        if fmt == "markdown" or authors or tags or since or until or include_deleted:
            raise UsageError("--revisions exports every kept revision as jsonl, json, csv or ejson; "
                             "filters and markdown do not apply")
        revs = itertools.islice(store.all_revisions(), limit) if limit else store.all_revisions()
        docs = (ex.revision_doc(r) for r in revs)
        n = _write_docs((ex.to_ejson(d) for d in docs) if fmt == "ejson" else docs, fmt, output)
        if output:
            click.echo(f"{n} revisions written to {output}", err=True)
        return
    arts = store.query(flt, sort="path", limit=limit)
    progress = None
    bar: Any = None
    if output and sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        bar = Progress(TextColumn("export"), BarColumn(), MofNCompleteColumn(), transient=True,
                       console=_err_console())
        task = bar.add_task("export", total=store.count(flt) if limit is None else limit)
        progress = functools.partial(bar.advance, task)
        bar.start()

    def counted(it: Iterable[Article]) -> Iterator[Article]:
        for a in it:
            yield a
            if progress:
                progress(1)

    try:
        if fmt == "markdown":
            if not output:
                raise UsageError("--format markdown writes a folder: give it with -o DIR")
            n = ex.write_markdown(counted(arts), output)
        else:
            docs = (_doc(a) for a in counted(arts))
            n = _write_docs((ex.to_ejson(d) for d in docs) if fmt == "ejson" else docs, fmt, output)
    finally:
        if bar is not None:
            bar.stop()
    if output:
        click.echo(f"{n} articles written to {output}", err=True)


def _write_docs(docs: Iterable[dict[str, Any]], fmt: str, output: str | None) -> int:
    """Write documents in one of the file formats (jsonl, ejson, json, csv) to a file or stdout."""
    from archive import export as ex

    fh: IO[str] = open(output, "w", encoding="utf-8", newline="") if output else _out()  # noqa: SIM115
    try:
        writer = {"jsonl": ex.write_jsonl, "ejson": ex.write_jsonl, "json": ex.write_json, "csv": ex.write_csv}[fmt]
        return int(writer(docs, fh))
    finally:
        if output:
            fh.close()
        else:
            fh.flush()


@cli.command("import")
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False))
@click.pass_obj
def import_cmd(state: State, file: str) -> None:
    """Read an export (jsonl, json or ejson; - for stdin) and upsert it by id.

    Prints `N imported, N updated, N failed`; a malformed line is reported with its
    number and skipped; exit 1 if any line failed.

    \b
    Examples:
      archive import all.jsonl
      archive --db other.db import - < all.jsonl
    """
    from archive.export import import_stream

    store = state.store(create=True)
    if file == "-":
        fh: IO[str] = sys.stdin
        rep = import_stream(store, fh)
    else:
        try:
            with open(file, encoding="utf-8-sig", errors="strict") as fh:
                rep = import_stream(store, fh)
        except FileNotFoundError:
            raise UsageError(f"{file}: no such file") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    for e in rep.errors[:100]:
        click.echo(f"archive: {file}: {e}", err=True)
    if len(rep.errors) > 100:
        click.echo(f"archive: … and {len(rep.errors) - 100} more", err=True)
    click.echo(rep.line(), err=True)
    if rep.failed:
        raise click.exceptions.Exit(1)


@cli.command()
@click.option("--to", "target", required=True, metavar="URI", help="The store to copy into.")
@click.pass_obj
def migrate(state: State, target: str) -> None:
    """Copy the whole archive (revisions and failures too) into another store, then verify it.

    \b
    Example:
      archive migrate --to mongodb://localhost:27017/archive
    """
    from archive.export import migrate as run_migrate
    from archive.store import open_store

    settings = state.settings()
    src = state.store()
    dst = open_store(target, settings)
    try:
        if getattr(dst, "display", None) == src.display:
            raise UsageError("--to names the store being copied")
        bar: Any = None
        progress = None
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from archive.store.base import Filters

            bar = Progress(TextColumn("migrate"), BarColumn(), MofNCompleteColumn(), transient=True,
                           console=_err_console())
            task = bar.add_task("migrate", total=src.count(Filters(include_deleted=True)))
            progress = functools.partial(bar.advance, task)
            bar.start()
        try:
            rep = run_migrate(src, dst, progress)
        finally:
            if bar is not None:
                bar.stop()
    finally:
        dst.close()
    from archive.config import redact

    click.echo(f"{rep.articles} articles, {rep.revisions} revisions, {rep.failures} failures copied to "
               f"{redact(target)}", err=True)
    if not rep.verified:
        click.echo(f"archive: verification failed: {rep.detail}", err=True)
        raise click.exceptions.Exit(1)
    click.echo("verified: counts and checksums match", err=True)


# ---------------------------------------------------------------- reports


@cli.command()
@filter_options
@format_option
@click.pass_obj
def stats(state: State, authors: tuple[str, ...], tags: tuple[str, ...], since: dt.date | None,
          until: dt.date | None,
          include_deleted: bool, limit: int | None, fmt: str | None) -> None:
    """Counts: articles, deleted, failures, revisions, per author, tag, site and year.

    \b
    Example:
      archive stats --since 2015-01-01 --format json
    """
    fmt = _fmt(fmt)
    s = state.store().stats(_filters(authors, since, until, include_deleted, tags))
    lim = _limit(limit, fmt)
    top, top_tags, top_sites = s.authors[:lim], s.tags[:lim], s.sites[:lim]
    doc = s.to_doc(lim)
    if fmt in ("json", "jsonl"):
        _out().write(json.dumps(doc, ensure_ascii=False, indent=2 if fmt == "json" else None) + "\n")
        return
    if fmt == "csv":
        rows = [{"kind": "total", "name": k, "articles": doc[k]} for k in
                ("articles", "deleted", "failures", "revisions", "words")]
        rows += [{"kind": "author", "name": n, "articles": c} for n, c in top]
        rows += [{"kind": "year", "name": y, "articles": c} for y, c in s.years]
        rows += [{"kind": "tag", "name": n, "articles": c} for n, c in top_tags]
        rows += [{"kind": "site", "name": n, "articles": c} for n, c in top_sites]
        _machine(rows, "csv", ("kind", "name", "articles"))
        return
    from rich.table import Table

    c = _console()
    t = Table(show_header=False, box=None)
    for k in ("articles", "deleted", "failures", "revisions", "words"):
        t.add_row(k, f"{doc[k]:,}")
    c.print(t)
    if top:
        ta = Table("author", "articles", header_style="bold")
        for name, count in top:
            ta.add_row(name, str(count))
        c.print(ta)
    for head, pairs in (("tag", top_tags), ("site", top_sites), ("year", s.years)):
        if pairs:
            tt = Table(head, "articles", header_style="bold")
            for name, count in pairs:
                tt.add_row(name, f"{count:,}")
            c.print(tt)


@cli.command()
@format_option
@click.pass_obj
def status(state: State, fmt: str | None) -> None:
    """The store, the daemon's heartbeat (running / stopped / stale), its backlog and failures.

    \b
    Example:
      archive status
    """
    from archive.store.base import Filters
    from archive.watch.lease import daemon_records

    fmt = _fmt(fmt)
    store = state.store()
    daemons = daemon_records(store, state.settings())
    doc = {"store": store.display, "backend": store.kind, "articles": store.count(Filters()),
           "failures": sum(1 for _ in store.failures()), "daemons": daemons}
    deployment = store.deployment()
    if deployment:
        doc["deployment"] = deployment
    index = store.search_index()
    if index is not None:
        doc["search_index"] = index
    if fmt in ("json", "jsonl"):
        _out().write(json.dumps(doc, ensure_ascii=False, default=str, indent=2 if fmt == "json" else None) + "\n")
        return
    if fmt == "csv":
        _machine(({"store": doc["store"], **d} for d in daemons), "csv",
                 ("store", "folder", "state", "pid", "host", "mode", "heartbeat_at", "last_ingest_at", "backlog"))
        return
    from rich.table import Table
    from rich.text import Text

    # A two-column grid: a value that wraps stays indented under its column.
    t = Table.grid(padding=(0, 2))
    t.add_column(no_wrap=True, style="bold")
    t.add_column(overflow="fold")
    t.add_row("store", f"{doc['store']} ({doc['backend']}" + (f", {deployment})" if deployment else ")"))
    t.add_row("articles", f"{doc['articles']:,}")
    t.add_row("failures", f"{doc['failures']:,}" + ("  (archive failures lists them)" if doc["failures"] else ""))
    if index is not None:
        t.add_row("search index", _index_line(index))
    if not daemons:
        t.add_row("daemon", "none has run on this store (start one with: archive watch DIR)")
    for d in daemons:
        style = {"running": "green", "stopped": "yellow", "stale": "red"}[d["state"]]
        line = Text(d["state"], style=style)
        line.append(f" pid {d.get('pid')} on {d.get('host')}, watching {d.get('folder')} ({d.get('mode')})")
        t.add_row("daemon", line)
        t.add_row("", f"last heartbeat {_short_date(_when(d.get('heartbeat_at')))}, "
                      f"last ingest {_short_date(_when(d.get('last_ingest_at'))) or '-'}, "
                      f"backlog {d.get('backlog', 0):,}")
    _console().print(t)


def _index_line(index: dict[str, Any]) -> str:
    if "error" in index:
        return f"{index['path']}: {index['error']}"
    pending = index["pending"]
    state = ("up to date" if not pending else
             f"{pending:,} change{'s' if pending != 1 else ''} not indexed yet (the next writer indexes them)")
    return f"{index['path']}: {index['articles']:,} articles, {index['bytes'] / 1e6:,.1f} MB, {state}"


def _when(value: Any) -> Any:
    """A stored ISO timestamp as a datetime (shown in local time), or the value as it is."""
    from archive.models import parse_iso

    try:
        return parse_iso(value) if isinstance(value, str) else value
    except ValueError:
        return value


def _short_paths(paths: list[str], roots: list[str], columns: int) -> list[str]:
    """Paths for a table's key column: relative where they can be, then cut in the middle to at
    most a little over half the screen (the file names stay whole; other columns wrap)."""
    from archive.console import display_path, shorten_path

    shown = [display_path(p, roots) for p in paths]
    width = min(max((len(p) for p in shown), default=0), max(22, columns * 11 // 20 - 2))
    return [shorten_path(p, width) for p in shown]


def _roots(store: Store) -> list[str]:
    """The folders daemons watch with this store: paths are shown relative to them."""
    try:
        return [str(d["folder"]) for d in store.daemons() if d.get("folder")]
    except ArchiveError:
        return []


@cli.command()
@format_option
@click.pass_obj
def failures(state: State, fmt: str | None) -> None:
    """Files that could not be parsed, with path, reason and time.

    \b
    Example:
      archive failures --format csv
    """
    fmt = _fmt(fmt)
    rows = (f.to_doc() for f in state.store().failures())
    if fmt != "table":
        _machine(rows, fmt, ("path", "code", "reason", "size", "failed_at"))
        return
    from rich.table import Table

    c = _console()
    fails = list(rows)
    paths = _short_paths([f["path"] for f in fails], _roots(state.store()), c.width)
    t = Table(header_style="bold", show_lines=True)
    t.add_column("path", no_wrap=True)
    t.add_column("reason", ratio=1)
    t.add_column("when", no_wrap=True)
    for f, path in zip(fails, paths, strict=True):
        t.add_row(path, f["reason"], _short_date(_when(f["failed_at"])))
    if fails:
        c.print(t)
    else:
        click.echo("no failures", err=True)


@cli.command()
@click.option("--include-deleted", is_flag=True, help="Count deleted articles too.")
@format_option
@click.pass_obj
def duplicates(state: State, include_deleted: bool, fmt: str | None) -> None:
    """Groups of articles with identical content (same sha256).

    \b
    Example:
      archive duplicates --format json
    """
    fmt = _fmt(fmt)
    groups = state.store().duplicates(include_deleted)
    if fmt != "table":
        rows = ({"sha256": g[0].source.sha256, "count": len(g), "ids": [a.id for a in g],
                 "paths": [a.source.path for a in g]} for g in groups)
        _machine(rows, fmt, ("sha256", "count", "ids", "paths"))
        return
    if not groups:
        click.echo("no duplicates", err=True)
        return
    from rich import box
    from rich.table import Table

    c = _console()
    paths = iter(_short_paths([a.source.path for g in groups for a in g], _roots(state.store()), c.width))
    t = Table(header_style="bold", box=box.SIMPLE_HEAD, show_edge=False)
    t.add_column("sha256", no_wrap=True)
    t.add_column("id", style="cyan", no_wrap=True)
    t.add_column("path", no_wrap=True)
    t.add_column("title", ratio=1)
    for g in groups:
        for i, a in enumerate(g):
            t.add_row(a.source.sha256[:8] if i == 0 else "", a.id[:8], next(paths), a.title,
                      end_section=i == len(g) - 1)
    c.print(t)


@cli.command()
@click.option("--host", metavar="ADDRESS", help="Listen on ADDRESS (default 127.0.0.1: this machine) [ARCHIVE_HOST].")
@click.option("--port", type=click.IntRange(0, 65535), help="Listen on PORT (default 8080) [ARCHIVE_PORT].")
@click.pass_obj
def serve(state: State, host: str | None, port: int | None) -> None:
    """A read-only web page and JSON API over the store: search, facets, articles, revisions.

    Nothing it serves can change the store. It listens on 127.0.0.1 unless told otherwise;
    the API is described at /openapi.json.

    \b
    Examples:
      archive serve                    # then open http://127.0.0.1:8080/
      archive --db mongodb://db/archive serve --host 0.0.0.0 --port 8000
    """
    import ipaddress

    import uvicorn

    from archive.store import open_store
    from archive.web import create_app

    settings = state.settings(host=host, port=port)
    state.store().close()  # fail now, with the CLI's message, if the store is missing or away
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    if not loopback:
        click.echo(f"archive: warning: listening on {settings.host}: anyone who can reach this machine can read "
                   "the archive (there is no login)", err=True)
    app = create_app(lambda: open_store(settings.db, settings, create=False), settings=settings)
    click.echo(f"archive: serving {state.store_display()} at http://{settings.host}:{settings.port}/ "
               "(Ctrl-C stops)", err=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="archive")


if __name__ == "__main__":
    main()
