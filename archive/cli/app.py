"""The click CLI: the group, the commands that write (parse, ingest, watch, import, migrate,
serve), and the read commands built from their declarations in ``spec`` around the bodies in
``read``. It only parses arguments and formats output; the work is elsewhere."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from archive import __version__
from archive.cli import output, read
from archive.cli.spec import GLOBAL, HELP_OPTIONS, READ, Param, parse_date, split_query
from archive.cli.state import State, report
from archive.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


class ArchiveGroup(click.Group):
    """Turns archive's errors into one line on stderr and an exit code (``state.report``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:
                if isinstance(ctx.obj, State):
                    ctx.obj.close()  # here, not at the context's teardown: a fault while closing is reported too
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BaseException as exc:
            code = report(exc, ctx.obj if isinstance(ctx.obj, State) else None)
            if code is None:
                raise
            ctx.exit(code)


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD") from None


def click_param(p: Param) -> Callable[[F], F]:
    """The click option or argument a declaration in ``spec`` stands for."""
    if p.kind == "words":
        return click.argument(p.name, nargs=-1, required=True)
    if p.kind == "argument":
        return click.argument(p.name)
    kw: dict[str, Any] = {"help": p.help, "show_default": p.show_default}
    if p.metavar:
        kw["metavar"] = p.metavar
    if p.kind == "flag":
        kw["is_flag"] = True
    elif p.kind == "multiple":
        kw["multiple"] = True
    if isinstance(p.type, tuple):
        kw["type"] = click.Choice(p.type, case_sensitive=p.case_sensitive)
    elif p.type == "int":
        kw["type"] = click.IntRange(min=p.min)
    elif p.type == "date":
        kw["callback"] = _date
    elif p.type == "path":
        kw["type"] = click.Path()
    if p.default is not None:
        kw["default"] = p.default
    return click.option(*p.opts, p.name, **kw)


def click_params(params: tuple[Param, ...]) -> Callable[[F], F]:
    """All of a command's declared parameters, in their order (click lists them as decorated)."""
    def apply(func: F) -> F:
        for p in reversed(params):
            func = click_param(p)(func)
        return func
    return apply


@click.group(cls=ArchiveGroup, context_settings={"help_option_names": list(HELP_OPTIONS), "max_content_width": 100})
@click_params(GLOBAL)
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
    from archive.models import Source, parsed_doc
    from archive.parsing import parse_bytes

    settings = state.settings()
    failed = 0
    out = output.out()
    for f in files:
        path = os.path.abspath(f)
        try:
            with open(path, "rb") as fh:
                data = fh.read(settings.max_bytes + 1)
            a = parse_bytes(data, path, settings.max_bytes, settings.date_order)
        except OSError as exc:
            failed += 1
            out.write(dumps({"path": path, "error": f"cannot read: {exc.strerror or exc}"}) + "\n")
            continue
        except ParseError as exc:
            failed += 1
            out.write(dumps({"path": path, "error": exc.reason}) + "\n")
            continue
        st = os.stat(path)
        src = Source(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data), mtime=st.st_mtime)
        out.write(dumps(parsed_doc(a, src)) + "\n")
    if failed:
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--workers", type=click.IntRange(min=0), help="Parse processes (0 = one per core) [ARCHIVE_WORKERS].")
@click.option("--reparse", is_flag=True,
              help="Read unchanged files and failures again too; store what this version's parser makes of them.")
@click.pass_obj
def ingest(state: State, paths: tuple[str, ...], workers: int | None, reparse: bool) -> None:
    """Parse files or folders (recursively) and upsert them into the store.

    Prints `N new, N updated, N unchanged, N failed` on stderr; exit 1 if any file failed.
    After an upgrade of archive, `--reparse` reads every file again and updates the articles
    whose title, authors, date, body or other parsed fields the new parser reads otherwise
    ("N reparsed"): no revision is added, the files did not change.

    \b
    Example:
      archive ingest ~/articles/ extra/one.txt
      archive ingest --reparse ~/articles/     # after upgrading archive
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
    # takes turns with a daemon writing the store
    ing = Ingester(store, settings, log_each=False, patience=120.0, reparse=reparse)
    for p in existing:
        why = ing.why_not_article(p)
        if why:
            click.echo(f"archive: {p}: skipped: {why}", err=True)
    handler = None
    try:
        if sys.stderr.isatty() and existing:
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
    from archive.ingest import skipped_line

    if said := skipped_line(ing.skipped):
        click.echo(f"archive: {said}", err=True)
    if summary.gone:
        n = summary.gone
        click.echo(f"archive: {n:,} stored article{'s' if n != 1 else ''} {'have' if n != 1 else 'has'} no file any "
                   "more: kept as stored; 'archive sync FOLDER' marks such articles deleted", err=True)
    if handler is not None and handler.suppressed:
        n = handler.suppressed
        click.echo(f"archive: {n:,} more failure{'s' if n != 1 else ''} not shown above", err=True)
    if summary.failed:
        if summary.failed > len(missing):
            click.echo("archive: 'archive failures' lists the files that failed, with the reasons", err=True)
        raise click.exceptions.Exit(1)


def _ingest_with_bar(ing: Any, paths: list[str]) -> tuple[Any, Any]:
    """Ingest under one live progress bar; warnings print above it through the same console."""
    import logging

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from archive.cli.console import console_log_handler

    console = output.err_console()
    logger = logging.getLogger("archive")
    saved = logger.handlers[:]
    handler = console_log_handler(console)
    total = ing.count_files(paths)
    try:
        rate = TextColumn("{task.fields[rate]}")
        with Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), rate, TimeRemainingColumn(),
                      transient=True, console=console) as bar:
            logger.handlers[:] = [handler]
            task = bar.add_task("ingest", total=total, rate="")

            def advance(n: int) -> None:
                bar.advance(task, n)
                speed = bar.tasks[0].speed
                bar.update(task, rate=f"{speed:,.0f} files/s" if speed else "")

            ing.progress = advance
            summary = ing.ingest_paths(paths)
            bar.update(task, completed=total)
    finally:
        logger.handlers[:] = saved
    return summary, handler


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
@click.option("--reparse", is_flag=True,
              help="At start, read unchanged files and failures again too; store what this version's parser "
                   "makes of them.")
@click.pass_obj
def watch(state: State, directory: str | None, polling: bool | None, poll_interval: float | None,
          settle: float | None, rescan_interval: float | None, ignore: tuple[str, ...],
          log_format: str | None, once: bool, reparse: bool) -> None:
    """The daemon: keep the store in line with DIRECTORY until SIGINT/SIGTERM.

    Reconciles first (files new, changed, moved or deleted while it was down), then
    follows changes. DIRECTORY defaults to ARCHIVE_WATCH_DIR, else ./seeds. After an upgrade
    of archive, `--reparse` makes that first reconcile read the unchanged files again too (see
    `ingest --reparse`); the rescans after it read changed files only.

    \b
    Examples:
      archive watch seeds/
      archive watch --polling --poll-interval 2 /mnt/share/articles
      archive watch --once            # reconcile and exit (cron-friendly)
      archive watch --reparse seeds/  # after upgrading archive
    """
    _daemon(state, once, reparse=reparse, watch_dir=directory, polling=polling, poll_interval=poll_interval,
            settle=settle, rescan_interval=rescan_interval, ignore=list(ignore) or None, log_format=log_format)


def _daemon(state: State, once: bool, reparse: bool = False, **overrides: Any) -> None:
    from archive.logsetup import configure_logging
    from archive.watch import Daemon

    settings = state.settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    daemon = Daemon(settings, str(settings.watch_dir), reparse=reparse)
    daemon.install_signal_handlers()
    code = daemon.run(once=once)
    if code:
        raise click.exceptions.Exit(code)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--ignore", multiple=True, metavar="PATTERN", help="Also ignore names matching PATTERN [ARCHIVE_IGNORE].")
@click.option("--log-format", type=click.Choice(["text", "json"]),
              help="Log lines as text or JSON [ARCHIVE_LOG_FORMAT].")
@click.option("--reparse", is_flag=True,
              help="Read unchanged files and failures again too; store what this version's parser makes of them.")
@click.pass_obj
def sync(state: State, directory: str | None, ignore: tuple[str, ...], log_format: str | None,
         reparse: bool) -> None:
    """Reconcile DIRECTORY with the store once, then exit: new, changed, moved and deleted files.

    What `archive watch --once` does (cron-friendly); unlike `ingest`, articles whose files are
    gone are marked deleted. DIRECTORY defaults to ARCHIVE_WATCH_DIR, else ./seeds. After an
    upgrade of archive, `--reparse` also reads the unchanged files again (see `ingest --reparse`).

    \b
    Example:
      archive sync ~/articles/
      archive sync --reparse ~/articles/     # after upgrading archive
    """
    _daemon(state, True, reparse=reparse, watch_dir=directory, ignore=list(ignore) or None, log_format=log_format)


# ---------------------------------------------------------------- export, import, migrate, backup


def _counts(articles: int, revisions: int, failures: int) -> str:
    return ", ".join(f"{n:,} {word}{'' if n == 1 else 's'}"
                     for n, word in ((articles, "article"), (revisions, "revision"), (failures, "failure")))


@cli.command()
@click.argument("dest", type=click.Path(dir_okay=False))
@click.pass_obj
def backup(state: State, dest: str) -> None:
    """Copy the whole store (articles, every revision, deletions, failures) into the new file DEST.

    A consistent snapshot even while a daemon writes (SQLite's online backup API); a MongoDB store
    is copied and verified as migrate does. DEST is a SQLite file: `archive restore` brings it
    back, `archive --db DEST ...` reads it as it is.

    \b
    Example:
      archive backup ~/backups/2026-12-03.db
    """
    from archive.backup import backup as run_backup

    rep = run_backup(state.store(), Path(dest))
    click.echo(f"{_counts(rep.articles, rep.revisions, rep.failures)} backed up to {rep.path}", err=True)


@cli.command()
@click.argument("src", type=click.Path(dir_okay=False))
@click.pass_obj
def restore(state: State, src: str) -> None:
    """Bring the backup SRC (made by `archive backup`, or `archive export --all`) back into an
    empty store, then verify it.

    The store is the one --db names (created if missing); its search index is built from what
    is restored.

    \b
    Examples:
      archive restore ~/backups/2026-12-03.db   # into the empty default store
      archive --db new.db restore ~/backups/2026-12-03.db
      archive --db new.db restore everything.jsonl   # from archive export --all
    """
    from archive.backup import restore as run_restore
    from archive.redaction import redact

    rep = run_restore(state.store(create=True), Path(src))
    _copied(rep, f"restored into {redact(state.store_display())}")


def _upgrade(state: State) -> None:
    """``migrate --upgrade``: the store opened with its upgrade, a bar over its articles on a terminal."""
    from archive.store import open_store, store_kind

    settings = state.settings()
    if store_kind(settings.db) != "mongodb":
        state.store(create=False).close()  # the embedded store upgrades itself when opened
        click.echo(f"{state.store_display()}: up to date (the embedded store upgrades itself when opened)", err=True)
        return
    bar: Any = None
    progress = None
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        bar = Progress(TextColumn("upgrade"), BarColumn(), MofNCompleteColumn(), transient=True,
                       console=output.err_console())
        task = bar.add_task("upgrade", total=None)
        progress = functools.partial(bar.advance, task)
        bar.start()
    try:
        store = open_store(settings.db, settings, upgrade=True, progress=progress)
    finally:
        if bar is not None:
            bar.stop()
    found = getattr(store, "upgraded_from", None)
    store.close()
    from archive.store.mongo.store import SCHEMA_VERSION

    if found is not None and found < SCHEMA_VERSION:
        click.echo(f"{state.store_display()}: upgraded from schema {found} to {SCHEMA_VERSION}", err=True)
    else:
        click.echo(f"{state.store_display()}: up to date (schema {SCHEMA_VERSION})", err=True)


def _copied(rep: Any, what: str) -> None:
    """What migrate and restore say: the counts copied, then whether they verified (exit 1 if not)."""
    click.echo(f"{_counts(rep.articles, rep.revisions, rep.failures)} {what}", err=True)
    if not rep.verified:
        click.echo(f"archive: verification failed: {rep.detail}", err=True)
        raise click.exceptions.Exit(1)
    click.echo("verified: counts and checksums match", err=True)


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
@click.option("--to", "target", metavar="URI", help="The store to copy into.")
@click.option("--upgrade", is_flag=True, help="Upgrade the store (--db) an older archive wrote, in place.")
@click.pass_obj
def migrate(state: State, target: str | None, upgrade: bool) -> None:
    """Copy the whole archive (revisions and failures too) into another store, then verify it;
    or, with --upgrade, bring a store an older archive wrote to this one's schema (resumable).

    \b
    Examples:
      archive migrate --to 'mongodb://db1.example.org/archive?replicaSet=rs0'
      archive migrate --to 'mongodb://localhost/archive?directConnection=true'
      archive --db 'mongodb://db1/archive?replicaSet=rs0' migrate --upgrade
    """
    if upgrade == (target is not None):
        raise UsageError("say --to URI (copy the archive) or --upgrade (upgrade it in place)")
    if upgrade:
        _upgrade(state)
        return
    assert target is not None
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

            from archive.store.records import Filters

            bar = Progress(TextColumn("migrate"), BarColumn(), MofNCompleteColumn(), transient=True,
                           console=output.err_console())
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
    from archive.redaction import redact

    _copied(rep, f"copied to {redact(target)}")


@cli.command()
@click.option("--host", metavar="ADDRESS", help="Listen on ADDRESS (default 127.0.0.1: this machine) [ARCHIVE_HOST].")
@click.option("--port", type=click.IntRange(0, 65535), help="Listen on PORT (default 8080) [ARCHIVE_PORT].")
@click.option("--workers", type=click.IntRange(0), help="Server processes (0 = one per core) [ARCHIVE_SERVE_WORKERS].")
@click.pass_obj
def serve(state: State, host: str | None, port: int | None, workers: int | None) -> None:
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

    from archive.web.app import create_app, store_factory

    settings = state.settings(host=host, port=port, serve_workers=workers)
    state.store().close()  # fail now, with the CLI's message, if the store is missing or away
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    if not loopback:
        click.echo(f"archive: warning: listening on {settings.host}: anyone who can reach this machine can read "
                   "the archive (there is no login)", err=True)
    _check_port(settings.host, settings.port)
    procs = settings.serve_workers or (os.cpu_count() or 1)
    click.echo(f"archive: serving {state.store_display()} at http://{settings.host}:{settings.port}/ "
               f"({procs} process{'es' if procs != 1 else ''}; Ctrl-C stops)", err=True)
    if procs > 1:  # each process builds the app from the same settings, passed as ARCHIVE_*
        os.environ["ARCHIVE_DB"] = settings.db
        uvicorn.run("archive.web.app:app_from_env", factory=True, workers=procs, host=settings.host,
                    port=settings.port, log_level="warning", access_log=False)
        return
    app = create_app(store_factory(settings), settings=settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)


def _check_port(host: str, port: int) -> None:
    """Fail with one line (exit 1) when the address cannot be listened on, before saying "serving"."""
    import socket

    from archive.errors import ArchiveError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, addr = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
    except OSError as exc:
        hint = " (another archive serve? choose another with --port)" if "in use" in str(exc) else ""
        raise ArchiveError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None


# ---------------------------------------------------------------- the read commands


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
        opts, words = split_query(args, takes_value)
        return super().parse_args(ctx, [*opts, "--", *words])


def _read_command(name: str, params: tuple[Param, ...]) -> click.Command:
    def callback(**kw: Any) -> None:
        code = read.run(name, click.get_current_context().obj, kw)
        if code:
            raise click.exceptions.Exit(code)

    callback.__doc__ = read.COMMANDS[name].__doc__  # the help
    cls = QueryCommand if any(p.kind == "words" for p in params) else click.Command
    return cli.command(name, cls=cls)(click_params(params)(callback))


for _name, _params in READ.items():
    _read_command(_name, _params)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="archive")


if __name__ == "__main__":
    main()
