"""Streaming export and import: jsonl, json, csv, ejson, markdown; and migrate between stores."""

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, NamedTuple

from archive.errors import StoreError, StoreUnavailable, UsageError
from archive.fields import FIELDS, TIMES, csv_columns
from archive.models import Article
from archive.store.base import Store
from archive.store.records import Filters

CSV_COLUMNS = csv_columns()
BATCH = 500


def dumps(doc: dict[str, Any]) -> str:
    """One compact JSON line, UTF-8 kept as is."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def write_jsonl(docs: Iterable[dict[str, Any]], out: IO[str]) -> int:
    n = 0
    for d in docs:
        out.write(dumps(d) + "\n")
        n += 1
    return n


def write_json(docs: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """A JSON array, written one element at a time (constant memory)."""
    n = 0
    out.write("[")
    for d in docs:
        out.write(("\n" if n == 0 else ",\n") + dumps(d))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def csv_safe(value: Any) -> str:
    """A cell value that spreadsheets will not run as a formula (OWASP CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    s = str(value)
    if s and s[0] in "=+-@\t\r":
        s = "'" + s
    return s


def flat_row(doc: dict[str, Any], columns: Iterable[str]) -> list[str]:
    src = doc.get("source") or {}
    flat = {"path": src.get("path"), "sha256": src.get("sha256"), **doc}
    return [csv_safe(flat.get(c)) for c in columns]


def write_csv(docs: Iterable[dict[str, Any]], out: IO[str], columns: Iterable[str] = CSV_COLUMNS) -> int:
    """RFC 4180 CSV (CRLF line ends, quotes doubled), safe from formula injection."""
    import csv

    cols = list(columns)
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(cols)
    n = 0
    for d in docs:
        w.writerow(flat_row(d, cols) if cols != ["*"] else [csv_safe(v) for v in d.values()])
        n += 1
    return n


def to_ejson(doc: dict[str, Any]) -> dict[str, Any]:
    """MongoDB Extended JSON (relaxed), as ``mongoimport --file`` reads it."""
    out: dict[str, Any] = {"_id": doc["id"]}
    for k, v in doc.items():
        if k == "id":
            continue
        if k in TIMES and v is not None:
            v = {"$date": v}
        out[k] = v
    # What the MongoDB store's filters and facets read (--author, --tag, --site): a mongoimport'ed
    # archive filters too.
    from archive.store.keys import document_keys

    out.update(document_keys(doc.get("authors") or [], doc.get("tags") or [], doc.get("site"), doc.get("url")))
    return out


def everything(store: Store) -> Iterator[dict[str, Any]]:
    """What ``export --all`` writes, one record a line: every article (deleted ones too) as
    ``export`` writes it, then every kept revision (with ``article_id``), then every failure
    (``"record": "failure"``). ``archive restore`` reads it back."""
    yield from (a.to_doc() for a in store.query(Filters(include_deleted=True), sort="path"))
    yield from (revision_doc(r) for r in store.all_revisions())
    yield from ({"record": "failure", **f.to_doc()} for f in store.failures())


def restore_records(store: Store, fh: IO[str]) -> tuple[int, int, int]:
    """Bring an ``export --all`` file into ``store``: articles, revisions and failures, in
    batches. A line that is not one of them is an error naming the line (nothing is half-read
    silently). The counts read."""
    from archive.models import Failure
    from archive.validation import article_from_doc

    articles: list[Article] = []
    revisions: list[Article] = []
    failures: list[Failure] = []
    counts = [0, 0, 0]

    def flush() -> None:
        if articles or revisions:
            store.put_articles(list(articles), list(revisions))
            articles.clear()
            revisions.clear()
        if failures:
            store.record_failures(list(failures))
            failures.clear()

    for lineno, obj, err in _records(fh):
        if err is not None or not isinstance(obj, dict):
            raise UsageError(f"line {lineno}: {err or 'not a JSON object'}: not what export --all writes")
        try:
            if obj.get("record") == "failure":
                failures.append(Failure.from_doc(obj))
                counts[2] += 1
            elif "article_id" in obj:
                revisions.append(article_from_doc({**obj, "id": obj["article_id"]}))
                counts[1] += 1
            else:
                articles.append(article_from_doc(obj))
                counts[0] += 1
        except (KeyError, ValueError) as exc:
            raise UsageError(f"line {lineno}: not a record export --all writes ({str(exc).splitlines()[0][:200]})") \
                from None
        if len(articles) + len(revisions) + len(failures) >= BATCH:
            flush()
    flush()
    return counts[0], counts[1], counts[2]


def revision_doc(r: Article) -> dict[str, Any]:
    """A kept revision as ``export --revisions`` writes it: ``id`` is ``ARTICLE:REVISION`` (the
    ``_id`` of the MongoDB store's ``revisions`` collection) and ``article_id`` names its article."""
    return {"id": f"{r.id}:{r.revision}", "article_id": r.id, **{k: v for k, v in r.to_doc().items() if k != "id"}}


def from_ejson(doc: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON from Extended JSON: ``_id`` to ``id``, ``{"$date": …}`` to the string."""
    out = {}
    for k, v in doc.items():
        if k in ("authors_key", "tags_key", "site_key"):
            continue  # derived, for the MongoDB store's filters
        if isinstance(v, dict) and set(v) == {"$date"}:
            v = v["$date"]
            if isinstance(v, dict) and "$numberLong" in v:
                v = dt.datetime.fromtimestamp(int(v["$numberLong"]) / 1000, dt.UTC).isoformat()
        out["id" if k == "_id" else k] = v
    if "id" in out and isinstance(out["id"], dict) and "$oid" in out["id"]:
        out["id"] = out["id"]["$oid"]
    return out


# ---------------------------------------------------------------- markdown


def byline(authors: list[str]) -> str:
    if len(authors) <= 1:
        return "".join(authors)
    return ", ".join(authors[:-1]) + " and " + authors[-1]


def to_markdown(a: Article) -> str:
    """An article file that parses back to the same fields and body: YAML front matter with the
    fields archive.fields marks for Markdown (title, authors, date, url, site, tags, the story it
    belongs to (a researcher counts coverage by it; parsing does not read it back)…), then the
    body with what Markdown would read as markup escaped (the title is the front matter's: a
    heading repeating it would have to survive the same escaping). Always front matter:
    a plain byline and date line round-tripped only for the names and dates the text rules read
    ("TC" is no byline), and the text rules read ``_x_`` as emphasis where Markdown bodies keep it."""
    import yaml

    from archive.parsing.frontmatter import markdown_escape  # text that looks like markup stays text

    body = markdown_escape(a.body)
    fields: dict[str, Any] = {}
    for f in FIELDS:
        v = getattr(a, f.name)
        if f.markdown and f.name != "body" and (v or f.name in ("authors", "published")):
            # authors and the date even when there are none: the body's first lines are then text
            fields[f.name] = list(v) if f.kind == "names" else v
    front = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=10_000)
    return f"---\n{front}---\n\n{body}\n"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(title: str, id: str, ext: str = ".md") -> str:
    """A portable file name: ASCII slug of the title plus the id prefix (unique, never a path)."""
    import unicodedata

    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = _UNSAFE.sub("-", ascii_title).strip("-.").lower()[:80].rstrip("-.") or "article"
    return f"{slug}-{id[:12]}{ext}"


def write_markdown(articles: Iterable[Article], folder: str, progress: Callable[[int], None] | None = None) -> int:
    """One file per article in ``folder``; never writes outside it."""
    os.makedirs(folder, exist_ok=True)
    root = os.path.realpath(folder)
    n = 0
    for a in articles:
        name = safe_name(a.title, a.id)
        path = os.path.join(root, name)
        if os.path.dirname(os.path.realpath(path)) != root:  # belt and braces: names have no separators
            raise StoreError(f"refusing to write outside {root}: {name!r}")
        tmp = path + ".part"
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(to_markdown(a))
        os.replace(tmp, path)
        n += 1
        if progress:
            progress(1)
    return n


# ---------------------------------------------------------------- import


class ImportReport:
    """What an import did, counted as it goes."""

    def __init__(self) -> None:
        self.imported = self.updated = self.unchanged = self.failed = 0
        self.errors: list[str] = []

    def line(self) -> str:
        return f"{self.imported} imported, {self.updated} updated, {self.unchanged} unchanged, {self.failed} failed"


MAX_LINE = 32 * 1024 * 1024  # characters; a 5 MiB article is far smaller even JSON-escaped


def _readline(fh: IO[str]) -> tuple[str, bool]:
    """The next line, or ``("", True)`` after skipping a line longer than MAX_LINE."""
    line = fh.readline(MAX_LINE)
    if len(line) < MAX_LINE or line.endswith("\n"):
        return line, False
    while True:  # skip the rest of the over-long line without holding it
        more = fh.readline(MAX_LINE)
        if not more or more.endswith("\n"):
            return "", True


def _records(fh: IO[str]) -> Iterator[tuple[int, Any, str | None]]:
    """``(line number, parsed JSON or None, error)`` for jsonl/ejson, or for a JSON array."""
    lineno = 1
    line, too_long = _readline(fh)
    while not too_long and line and not line.strip():
        lineno += 1
        line, too_long = _readline(fh)
    head = line.lstrip()
    if not too_long and head and head[0] not in "[{":
        what = "CSV" if head.startswith("id,") or head.count(",") >= 3 else "not an export"
        raise UsageError(f"this file is {what}: import reads jsonl, json or ejson (what "
                         "'archive export --format jsonl' writes); a CSV export lacks the fields needed to restore "
                         "documents")
    if not too_long and line.lstrip().startswith("["):
        try:
            items = json.loads(line + fh.read())
        except json.JSONDecodeError as exc:
            yield lineno + exc.lineno - 1, None, f"invalid JSON: {exc.msg}"
            return
        except RecursionError:
            yield lineno, None, "invalid JSON: nested too deeply"
            return
        for i, item in enumerate(items if isinstance(items, list) else [items], 1):
            yield i, item, None
        return
    while line or too_long:
        if too_long:
            yield lineno, None, f"line longer than {MAX_LINE:,} characters: skipped"
        elif line.strip():
            try:
                yield lineno, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield lineno, None, f"invalid JSON: {exc.msg} (column {exc.colno})"
            except RecursionError:
                yield lineno, None, "invalid JSON: nested too deeply"
        lineno += 1
        line, too_long = _readline(fh)


def import_stream(store: Store, fh: IO[str], progress: Callable[[int], None] | None = None) -> ImportReport:
    """Upsert every document of an export by id; a bad line is reported and skipped."""
    from pydantic import ValidationError  # validation only on this path: reading never loads it

    from archive.validation import article_from_doc

    rep = ImportReport()
    batch: list[tuple[int, Article]] = []

    def put(items: list[tuple[int, Article]]) -> None:
        """Write ``items``; when the store refuses the batch (not merely unavailable), write them
        one by one so that only the offending line fails."""
        try:
            counts = store.put_articles([a for _, a in items])
        except StoreUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - isolate the culprit below
            if len(items) == 1:
                rep.failed += 1
                rep.errors.append(f"line {items[0][0]}: the store refused it ({exc})")
                return
            for item in items:
                put([item])
            return
        rep.imported += counts["imported"]
        rep.updated += counts["updated"]
        rep.unchanged += counts["unchanged"]
        if counts["conflict"]:
            rep.failed += counts["conflict"]
            rep.errors.append(f"{counts['conflict']} documents skipped: their source path belongs to another id")

    def flush() -> None:
        if not batch:
            return
        put(list(batch))
        if progress:
            progress(len(batch))
        batch.clear()

    for lineno, obj, err in _records(fh):
        if err is None:
            if not isinstance(obj, dict):
                err = f"expected a JSON object, got {type(obj).__name__}"
            elif "article_id" in obj:  # importing it would put an old revision over the article
                err = "a kept revision (export --revisions): import reads articles; migrate copies revisions"
            else:
                try:
                    batch.append((lineno, article_from_doc(from_ejson(obj))))
                except ValidationError as exc:
                    e = exc.errors()[0]
                    where = ".".join(str(x) for x in e["loc"])
                    err = f"{where}: {e['msg']}" + (f" ({len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else "")
                except (TypeError, ValueError, KeyError, OverflowError, RecursionError) as exc:
                    err = f"bad document: {exc}"
        if err is not None:
            rep.failed += 1
            rep.errors.append(f"line {lineno}: {err}")
        if len(batch) >= BATCH:
            flush()
    flush()
    return rep


# ---------------------------------------------------------------- migrate


def fingerprint(store: Store) -> tuple[int, int, int, str]:
    """Counts of articles, revisions and failures, and a digest of every (id, revision, sha256)."""
    import hashlib

    h = hashlib.sha256()
    keys = sorted(f"a {a.id} {a.revision} {a.source.sha256}" for a in store.query(Filters(include_deleted=True)))
    keys += sorted(f"r {r.id} {r.revision} {r.source.sha256}" for r in store.all_revisions())
    for k in keys:
        h.update(k.encode() + b"\n")
    n_art = sum(1 for k in keys if k[0] == "a")
    n_fail = sum(1 for _ in store.failures())
    return n_art, len(keys) - n_art, n_fail, h.hexdigest()


class MigrateReport(NamedTuple):
    articles: int
    revisions: int
    failures: int
    verified: bool
    detail: str = ""


def migrate(src: Store, dst: Store, progress: Callable[[int], None] | None = None) -> MigrateReport:
    """Copy articles, revisions and failures into ``dst``, then verify counts and checksums."""
    batch: list[Article] = []
    for a in src.query(Filters(include_deleted=True), sort="path"):
        batch.append(a)
        if len(batch) >= BATCH:
            dst.put_articles(batch)
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        dst.put_articles(batch)
        if progress:
            progress(len(batch))
    revs: list[Article] = []
    for r in src.all_revisions():
        revs.append(r)
        if len(revs) >= BATCH:
            dst.put_articles([], revs)
            revs = []
    if revs:
        dst.put_articles([], revs)
    fails = list(src.failures())
    dst.record_failures(fails)
    fa, fb = fingerprint(src), fingerprint(dst)
    ok = fa == fb
    detail = "" if ok else (f"source has {fa[0]} articles, {fa[1]} revisions, {fa[2]} failures; "
                            f"target has {fb[0]}, {fb[1]}, {fb[2]}"
                            + ("" if fa[:3] != fb[:3] else "; checksums differ"))
    return MigrateReport(fa[0], fa[1], fa[2], ok, detail)
