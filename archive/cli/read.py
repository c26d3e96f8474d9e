"""The read commands: search, list, show, history, export, stats, status, failures, duplicates.

Each takes the State and the parameters ``spec.READ`` declares, and returns an exit code. Their
docstrings are the commands' help. Both the click CLI (``app``) and the fast path (``fast``) call
them through ``run``; nothing here imports click.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from archive.cli import output as o
from archive.cli.state import State, echo_err
from archive.errors import FailedFile, NotFound, UsageError

if TYPE_CHECKING:
    from archive.models import Article
    from archive.store.base import Store
    from archive.store.records import Filters


def filters(authors: tuple[str, ...], since: dt.date | None, until: dt.date | None,
            include_deleted: bool, tags: tuple[str, ...] = ()) -> Filters:
    from archive.store.records import build_filters

    return build_filters(authors=authors, tags=tags, since=since, until=until, include_deleted=include_deleted,
                         names=("--since", "--until"))


def _doc(a: Article) -> dict[str, Any]:
    return a.to_doc()


def search(state: State, query: tuple[str, ...], authors: tuple[str, ...], tags: tuple[str, ...],
           since: dt.date | None, until: dt.date | None, include_deleted: bool, limit: int | None,
           fmt: str | None) -> int:
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
    fmt = o.fmt_for(fmt)
    text = " ".join(query)
    store = state.store()
    flt = filters(authors, since, until, include_deleted, tags)
    lim = o.limit_for(limit, fmt)
    if fmt != "table":
        hits = store.search(text, flt, lim)
        o.machine((h.to_doc() for h in hits), fmt, ("id", "score", "title", "authors", "published", "path", "snippet"))
    else:
        shown, total = store.search_counted(text, flt, lim) if lim is not None else ([*store.search(text, flt)], 0)
        o.hits_table(shown)
        if lim is not None and total > len(shown):
            o.cut_short(lim, total)
        if not shown and (better := store.suggest(text)):
            echo_err(f"did you mean: {better}")
    if store.search_warning:
        echo_err(f"archive: warning: {store.search_warning}")
    return 0


def list_cmd(state: State, authors: tuple[str, ...], tags: tuple[str, ...], since: dt.date | None,
             until: dt.date | None, include_deleted: bool, limit: int | None, sort: str, fmt: str | None) -> int:
    """List articles, newest first.

    \b
    Examples:
      archive list --author 'Peter Symonds' --since 2012-01-01
      archive list --sort title --format csv > titles.csv
    """
    fmt = o.fmt_for(fmt)
    store = state.store()
    flt = filters(authors, since, until, include_deleted, tags)
    lim = o.limit_for(limit, fmt)
    if fmt != "table":
        from archive.export import CSV_COLUMNS

        arts = store.query(flt, sort=sort, limit=lim)  # type: ignore[arg-type]
        o.machine((_doc(a) for a in arts), fmt, CSV_COLUMNS)
        return 0
    rows = list(store.query(flt, sort=sort, limit=None if lim is None else lim + 1))  # type: ignore[arg-type]
    more = lim is not None and len(rows) > lim
    o.article_table(rows[:lim] if more else rows)
    if more:
        o.cut_short(lim or 0, store.count(flt))
    return 0


def show(state: State, ref: str, revision: int | None, fmt: str | None) -> int:
    """Show one article. REF is an id, a unique id prefix, or a file path.

    \b
    Examples:
      archive show 3f2a9c
      archive show seeds/000_bec70df4e4b3c35a.txt --revision 1
    """
    fmt = o.fmt_for(fmt)
    store = state.store()
    art = resolve(store, ref)
    if revision is not None and revision != art.revision:
        match = [r for r in store.revisions(art.id) if r.revision == revision]
        if not match:
            raise NotFound(f"{ref} revision {revision}", "revision")
        art = match[0]
    if fmt == "json":  # one article: one object (SPEC.md), not a one-element array
        o.out().write(json.dumps(_doc(art), ensure_ascii=False, indent=2) + "\n")
        return 0
    if fmt != "table":
        from archive.export import CSV_COLUMNS

        o.machine([_doc(art)], fmt, CSV_COLUMNS)
        return 0
    from rich.text import Text

    from archive.cli.console import display_path, safe

    c = o.console()
    c.print(Text(safe(art.title, one_line=True), style="bold"))
    meta = " · ".join(x for x in (o.byline_of(art), o.short_date(art.published)) if x)
    if meta:
        c.print(Text(meta, style="italic"))
    words = f"{art.word_count:,} word{'s' if art.word_count != 1 else ''}"
    c.print(Text(f"{art.id}  revision {art.revision}  {words}  {display_path(art.source.path)}"
                 + (f"  deleted {o.short_date(art.deleted_at)}" if art.deleted_at else ""), style="dim"))
    story = store.story(art.story) if art.story and revision is None else None
    if story is not None:
        c.print(Text(f"story {story.id[:8]}: {len(story.members)} articles tell it"
                     f" (archive stories; archive show {story.id[:8]} for the first seen)", style="dim"))
        for m in story.members:
            if m.article.id != art.id:
                sim = "first seen" if m.article.id == story.id else f"{m.similarity:.0%} {m.reason}"
                line = " · ".join(x for x in (safe(m.article.title, one_line=True), m.article.site,
                                              o.short_date(m.article.published)) if x)
                c.print(Text(f"  {m.article.id[:8]}  {sim:<19} {line}", style="dim"), no_wrap=True, overflow="ellipsis")
    c.print()
    width = min(c.width, 100)
    for par in art.body.split("\n\n"):
        c.print(Text(par), width=width)
        c.print()
    return 0


def history(state: State, ref: str, fmt: str | None) -> int:
    """List the revisions of one article, oldest first.

    \b
    Example:
      archive history 3f2a9c
    """
    fmt = o.fmt_for(fmt)
    store = state.store()
    art = resolve(store, ref)
    revs = store.history(art.id)
    if fmt != "table":
        o.machine((r.to_doc() for r in revs), fmt, ("revision", "updated_at", "sha256", "size", "title", "path",
                                                    "current"))
        return 0
    from rich.table import Table

    t = Table(title=art.title, header_style="bold")
    for col in ("rev", "saved", "sha256", "size", "title"):
        t.add_column(col)
    for r in revs:
        t.add_row(str(r.revision) + (" *" if r.current else ""), o.short_date(r.updated_at), r.sha256[:12],
                  str(r.size), r.title)
    o.console().print(t)
    return 0


def resolve(store: Store, ref: str) -> Article:
    """``store.resolve``, and when REF is a file that failed to parse, say so (and where to look)."""
    try:
        return store.resolve(ref)
    except NotFound:
        path = os.path.abspath(ref)
        for f in store.failures():
            if f.path == path:
                raise FailedFile(ref, f.reason) from None
        raise


def export(state: State, authors: tuple[str, ...], tags: tuple[str, ...], since: dt.date | None,
           until: dt.date | None, include_deleted: bool, limit: int | None, fmt: str, output: str | None,
           revisions: bool, everything: bool) -> int:
    """Export every matching article, streaming, in constant memory.

    \b
    Examples:
      archive export -o all.jsonl
      archive export --format ejson | mongoimport -d archive -c articles
      archive export --revisions --format ejson | mongoimport -c revisions
      archive export --format markdown -o backup/   # re-ingestable files
      archive export --all -o everything.jsonl       # for archive restore
    """
    import itertools

    from archive import export as ex

    store = state.store()
    flt = filters(authors, since, until, include_deleted, tags)
    if everything:
        if fmt != "jsonl" or revisions or authors or tags or since or until or include_deleted or limit:
            raise UsageError("--all exports everything as jsonl, for archive restore: "
                             "no filters, --limit, --revisions or other format")
        n = write_docs(ex.everything(store), "jsonl", output)
        if output:
            echo_err(f"{n} records (articles, revisions and failures) written to {output}")
        return 0
    if revisions:
        if fmt == "markdown" or authors or tags or since or until or include_deleted:
            raise UsageError("--revisions exports every kept revision as jsonl, json, csv or ejson; "
                             "filters and markdown do not apply")
        revs = itertools.islice(store.all_revisions(), limit) if limit else store.all_revisions()
        docs = (ex.revision_doc(r) for r in revs)
        n = write_docs((ex.to_ejson(d) for d in docs) if fmt == "ejson" else docs, fmt, output)
        if output:
            echo_err(f"{n} revisions written to {output}")
        return 0
    arts = store.query(flt, sort="path", limit=limit)
    progress: Callable[[int], Any] | None = None
    bar: Any = None
    if output and sys.stderr.isatty():
        import functools

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        bar = Progress(TextColumn("export"), BarColumn(), MofNCompleteColumn(), transient=True,
                       console=o.err_console())
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
            n = write_docs((ex.to_ejson(d) for d in docs) if fmt == "ejson" else docs, fmt, output)
    finally:
        if bar is not None:
            bar.stop()
    if output:
        echo_err(f"{n} articles written to {output}")
    return 0


def write_docs(docs: Iterable[dict[str, Any]], fmt: str, output: str | None) -> int:
    """Write documents in one of the file formats (jsonl, ejson, json, csv) to a file or stdout."""
    from archive import export as ex

    fh: IO[str] = open(output, "w", encoding="utf-8", newline="") if output else o.out()  # noqa: SIM115
    try:
        writer = {"jsonl": ex.write_jsonl, "ejson": ex.write_jsonl, "json": ex.write_json, "csv": ex.write_csv}[fmt]
        return int(writer(docs, fh))
    finally:
        if output:
            fh.close()
        else:
            fh.flush()


def stats(state: State, authors: tuple[str, ...], tags: tuple[str, ...], since: dt.date | None,
          until: dt.date | None, include_deleted: bool, limit: int | None, fmt: str | None) -> int:
    """Counts: articles, deleted, failures, revisions, per author, tag, site and year.

    \b
    Example:
      archive stats --since 2015-01-01 --format json
    """
    fmt = o.fmt_for(fmt)
    s = state.store().stats(filters(authors, since, until, include_deleted, tags))
    lim = o.limit_for(limit, fmt)
    top, top_tags, top_sites = s.authors[:lim], s.tags[:lim], s.sites[:lim]
    doc = s.to_doc(lim)
    if fmt in ("json", "jsonl"):
        o.out().write(json.dumps(doc, ensure_ascii=False, indent=2 if fmt == "json" else None) + "\n")
        return 0
    if fmt == "csv":
        rows = [{"kind": "total", "name": k, "articles": doc[k]} for k in
                ("articles", "deleted", "failures", "revisions", "words")]
        rows += [{"kind": "author", "name": n, "articles": c} for n, c in top]
        rows += [{"kind": "year", "name": y, "articles": c} for y, c in s.years]
        rows += [{"kind": "tag", "name": n, "articles": c} for n, c in top_tags]
        rows += [{"kind": "site", "name": n, "articles": c} for n, c in top_sites]
        o.machine(rows, "csv", ("kind", "name", "articles"))
        return 0
    from rich.table import Table

    c = o.console()
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
    return 0


def status(state: State, fmt: str | None) -> int:
    """The store, the daemon's heartbeat (running / stopped / stale), its backlog and failures.

    \b
    Example:
      archive status
    """
    from archive.store.records import Filters
    from archive.watch.lease import daemon_records

    fmt = o.fmt_for(fmt)
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
        o.out().write(json.dumps(doc, ensure_ascii=False, default=str, indent=2 if fmt == "json" else None) + "\n")
        return 0
    if fmt == "csv":
        o.machine(({"store": doc["store"], **d} for d in daemons), "csv",
                  ("store", "folder", "state", "pid", "host", "mode", "heartbeat_at", "last_ingest_at", "backlog"))
        return 0
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
        t.add_row("search index", o.index_line(index))
    if not daemons:
        t.add_row("daemon", "none has run on this store (start one with: archive watch DIR)")
    for d in daemons:
        style = {"running": "green", "stopped": "yellow", "stale": "red"}[d["state"]]
        line = Text(d["state"], style=style)
        line.append(f" pid {d.get('pid')} on {d.get('host')}, watching {d.get('folder')} ({d.get('mode')})")
        t.add_row("daemon", line)
        t.add_row("", f"last heartbeat {o.short_date(o.when(d.get('heartbeat_at')))}, "
                      f"last ingest {o.short_date(o.when(d.get('last_ingest_at'))) or '-'}, "
                      f"backlog {d.get('backlog', 0):,}")
    o.console().print(t)
    return 0


def failures(state: State, fmt: str | None) -> int:
    """Files that could not be parsed, with path, reason and time.

    \b
    Example:
      archive failures --format csv
    """
    from archive.cli.console import safe

    fmt = o.fmt_for(fmt)
    rows = (f.to_doc() for f in state.store().failures())
    if fmt != "table":
        o.machine(rows, fmt, ("path", "code", "reason", "size", "failed_at"))
        return 0
    from rich.table import Table
    from rich.text import Text

    c = o.console()
    fails = list(rows)
    # The file whole (a name longer than the column folds onto the next line); the reason under it,
    # with the whole width to wrap in (beside a narrow path column it was 12 characters wide at 80).
    paths = o.whole_paths([f["path"] for f in fails], o.roots_of(state.store()), max(20, c.width - 26))
    t = Table(header_style="bold", show_lines=True)
    t.add_column("file and reason", ratio=1)
    t.add_column("when", no_wrap=True)
    for f, path in zip(fails, paths, strict=True):
        cell = Text(path, overflow="fold")
        cell.append("\n" + safe(f["reason"], one_line=True), style="italic")
        t.add_row(cell, o.short_date(o.when(f["failed_at"])))
    if fails:
        c.print(t)
    else:
        echo_err("no failures")
    return 0


def duplicates(state: State, include_deleted: bool, fmt: str | None) -> int:
    """Groups of articles with identical content (same sha256).

    \b
    Example:
      archive duplicates --format json
    """
    fmt = o.fmt_for(fmt)
    groups = state.store().duplicates(include_deleted)
    if fmt != "table":
        rows = ({"sha256": g[0].source.sha256, "count": len(g), "ids": [a.id for a in g],
                 "paths": [a.source.path for a in g]} for g in groups)
        o.machine(rows, fmt, ("sha256", "count", "ids", "paths"))
        return 0
    if not groups:
        echo_err("no duplicates")
        return 0
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from archive.cli.console import safe

    c = o.console()
    # The file on lines of its own, whole (a name longer than the column folds), the title under it.
    paths = iter(o.whole_paths([a.source.path for g in groups for a in g], o.roots_of(state.store()),
                               max(20, c.width - 24)))
    t = Table(header_style="bold", box=box.SIMPLE_HEAD, show_edge=False)
    t.add_column("sha256", no_wrap=True)
    t.add_column("id", style="cyan", no_wrap=True)
    t.add_column("file and title", ratio=1)
    for g in groups:
        for i, a in enumerate(g):
            cell = Text(next(paths), overflow="fold")
            cell.append("\n" + safe(a.title, one_line=True), style="italic")
            t.add_row(a.source.sha256[:8] if i == 0 else "", a.id[:8], cell, end_section=i == len(g) - 1)
    c.print(t)
    return 0


def similar(state: State, ref: str, limit: int, fmt: str | None) -> int:
    """The articles most similar to REF by content, ranked, with a score.

    REF is an id, a unique id prefix, or a file path. Similar is not the same story: any
    article sharing REF's distinctive words ranks, whatever its outlet or length.

    \b
    Examples:
      archive similar 3f2a9c
      archive similar seeds/000_bec70df4e4b3c35a.txt --limit 5 --format jsonl
    """
    fmt = o.fmt_for(fmt)
    store = state.store()
    art = resolve(store, ref)
    hits = store.similar(art, limit)
    if fmt != "table":
        o.machine((h.to_doc() for h in hits), fmt, ("id", "score", "title", "authors", "published", "path"))
    else:
        o.hits_table(hits)
    if store.search_warning:
        echo_err(f"archive: warning: {store.search_warning}")
    return 0


STORY_COLUMNS = ("story", "size", "id", "path", "title", "site", "published", "similarity", "reason")


def stories(state: State, min_size: int, authors: tuple[str, ...], tags: tuple[str, ...], since: dt.date | None,
            until: dt.date | None, sites: tuple[str, ...], limit: int | None, fmt: str | None) -> int:
    """Groups of articles that tell one story: copies across outlets (another headline,
    boilerplate, cuts, light edits) and saves of one page over time; the largest and newest first.

    A story is listed when one of its articles matches the filters; the first-seen article comes
    first, each with its similarity to it and why it is there (near-duplicate or same-url).
    csv: one row per article, its story's id and size first.

    \b
    Examples:
      archive stories
      archive stories --min-size 5 --since 2024-01-01 --format jsonl
      archive stories --site Reuters --format csv > coverage.csv
    """
    fmt = o.fmt_for(fmt)
    store = state.store()
    flt = filters(authors, since, until, False, tags)._replace(sites=tuple(sites))
    lim = o.limit_for(limit, fmt)
    found = store.stories(flt, min_size, None if lim is None else lim + 1)
    more = lim is not None and len(found) > lim
    found = found[:lim] if more else found
    if fmt == "csv":
        rows = ({"story": s.id, "size": len(s.members), **m.to_doc()} for s in found for m in s.members)
        o.machine(rows, fmt, STORY_COLUMNS)
    elif fmt != "table":
        o.machine((s.to_doc() for s in found), fmt)
    elif not found:
        echo_err("no stories: no two articles tell the same story" + (" among those filtered" if flt != filters(
            (), None, None, False) else ""))
    else:
        o.stories_table(found)
        if more:
            echo_err(f"{lim} stories shown; --limit N for more")
    return 0


COMMANDS: dict[str, Callable[..., int]] = {
    "search": search, "list": list_cmd, "show": show, "history": history, "export": export, "stats": stats,
    "status": status, "failures": failures, "duplicates": duplicates, "similar": similar,
    "stories": stories,
}


def run(name: str, state: State, params: dict[str, Any]) -> int:
    """Run read command ``name`` with its parsed parameters; its exit code."""
    return COMMANDS[name](state, **params)
