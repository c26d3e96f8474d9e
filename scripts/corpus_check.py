#!/usr/bin/env python3
"""Measure the parser on real articles nobody here wrote (../shared/corpora, not in the repo).

  bbc-sample/   plain-text BBC news (title line, paragraphs, no byline): the share of articles with
                the right title, no invented authors, and every word of the text kept in the body.
  html-sample/  real news pages saved as HTML, with ground-truth.json (article body and url): the
                share of pages stored, body word-F1 against the ground truth (median, worst five),
                and how many urls match.
  real-sample/  newswire text (dated right by its date line, paragraphs kept apart), Jekyll and Zola
                blogs (dated, dated as the path or name says, bodies with markup left), saved pages
                with their parsers' ground truth (titles, author sets, dates within a day).

Usage: scripts/corpus_check.py [--corpora DIR] [--json]
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.errors import ParseError  # noqa: E402
from archive.parsing import parse_bytes  # noqa: E402


def _words(text: str) -> collections.Counter[str]:
    import re

    return collections.Counter(w.lower() for w in re.findall(r"\w+", text))


def word_f1(got: str, want: str) -> float:
    """Bag-of-words F1 between an extracted body and the ground truth (the usual measure of
    main-text extraction benchmarks)."""
    g, w = _words(got), _words(want)
    overlap = sum((g & w).values())
    if not overlap:
        return 0.0
    p, r = overlap / sum(g.values()), overlap / sum(w.values())
    return 2 * p * r / (p + r)


def check_bbc(folder: Path) -> dict[str, Any]:
    files = sorted(folder.glob("*/*.txt"))
    wrong: dict[str, list[str]] = collections.defaultdict(list)
    for f in files:
        data = f.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        title, rest = lines[0].strip(), text.split(lines[0], 1)[1]
        try:
            a = parse_bytes(data, str(f))
        except ParseError as exc:
            wrong["failed"].append(f"{f.name}: {exc.reason}")
            continue
        if a.title != title:
            wrong["title"].append(f"{f.parent.name}/{f.name}: {a.title!r}")
        if a.authors:
            wrong["authors"].append(f"{f.parent.name}/{f.name}: {list(a.authors)}")
        # Every whitespace-separated token of the text, punctuation and all, is in the body.
        if collections.Counter(a.body.split()) != collections.Counter(rest.split()):
            wrong["body"].append(f"{f.parent.name}/{f.name}")
    bad = {x for v in wrong.values() for x in (s.split(":")[0] for s in v)}
    return {"articles": len(files), "right": len(files) - len(bad),
            "share": (len(files) - len(bad)) / len(files) if files else 0.0,
            "wrong": {k: v[:10] for k, v in wrong.items()}}


def check_html(folder: Path) -> dict[str, Any]:
    truth = json.loads((folder / "ground-truth.json").read_text())
    scores: list[tuple[float, str]] = []
    failed: list[str] = []
    urls = listed = 0
    for key, want in sorted(truth.items()):
        f = folder / f"{key}.html"
        try:
            a = parse_bytes(f.read_bytes(), str(f))
        except ParseError as exc:
            failed.append(f"{key[:12]}: {exc.reason}")
            scores.append((0.0, key[:12]))
            continue
        listed += tags_listed(a.tags)
        scores.append((word_f1(a.body, want.get("articleBody", "")), key[:12]))
        if a.url and want.get("url") and a.url.rstrip("/") == want["url"].rstrip("/"):
            urls += 1
    f1 = [s for s, _ in scores]
    return {"pages": len(truth), "stored": len(truth) - len(failed),
            "stored_share": (len(truth) - len(failed)) / len(truth) if truth else 0.0,
            "median_f1": statistics.median(f1) if f1 else 0.0, "mean_f1": statistics.mean(f1) if f1 else 0.0,
            "worst5": [(round(s, 3), k) for s, k in sorted(scores)[:5]], "urls_matched": urls, "failed": failed,
            "tags_holding_a_list": listed}


def tags_listed(tags: Any) -> bool:
    """Whether a page's tags still hold a list ("politics, trump, white house" as one tag): two
    separators or more in one tag."""
    return any(sum(t.count(c) for c in ",;\uff0c\u3001") >= 2 for t in tags)


# Markup a body should not carry: template tags, HTML (a tag, not "<branch-name>" in a git command),
# link syntax, emphasis left over, escapes.
_MARKUP = re.compile(r"\{\{|\{%|<br\s*/?>|<span\b|<div\b|<!--|<style\b|\]\(http|\]: http|\*\*\*|\\_")


def _names(value: Any) -> set[str]:
    """The names of a byline (a string, split at its separators) or of a list of authors (each split
    the same way, so that a credit holding "&" compares as the truth's string does: "Mac & i")."""
    if not value:
        return set()
    parts = [x for v in (value if isinstance(value, list) else [value])
             for x in re.split(r"\s*(?:,|;|&|\band\b)\s*", str(v))]
    # readability's truth is the byline as printed ("By Steven Mufson"): the names are compared
    by = re.compile(r"(?i)^(?:written\s+)?by\s+")
    return {by.sub("", " ".join(str(p).split())).casefold() for p in parts if str(p).strip()}


def check_real(base: Path) -> dict[str, Any]:
    """real-sample/: per set, the share dated (and dated right where the truth says), titles and
    authors against the pages' ground truth, bodies with markup left, CJK words found."""
    import datetime as dt

    from archive.parsing.dates import date_in_path, parse_date

    out: dict[str, Any] = {}

    def parsed(f: Path) -> Any:
        try:
            return parse_bytes(f.read_bytes(), str(f))
        except ParseError:
            return None

    wire = sorted((base / "txt" / "reuters").glob("*.txt"))
    if wire:
        right = glued = 0
        for f in wire:
            a = parsed(f)
            want = parse_date(f.read_text(errors="replace").splitlines()[1])
            right += a is not None and a.published == want
            glued += a is not None and "\n\n" not in a.body and a.word_count > 80
        out["reuters"] = {"files": len(wire), "dated_right": right, "glued": glued}
    for name, sub in (("18f", "18f"), ("rust-blog", "rust-blog")):
        files = sorted((base / "md" / sub).glob("*.md")) + sorted((base / "md" / sub).glob("*.markdown"))
        if not files:
            continue
        stored = dated = right = markup = 0
        sources: collections.Counter[str] = collections.Counter()
        for f in files:
            a = parsed(f)
            if a is None:
                continue
            stored += 1
            dated += a.published is not None
            sources[str(a.date_source)] += 1
            text = f.read_text(errors="replace")
            m = re.search(r"^path\s*=\s*\"([^\"]+)\"", text, re.M)
            want = date_in_path(m[1]) if m else date_in_path(f.name)
            right += want is not None and a.published == want
            markup += _MARKUP.search(a.body) is not None
        out[name] = {"files": len(files), "stored": stored, "dated": dated, "dated_as_path_or_name": right,
                     "date_source": dict(sources), "bodies_with_markup": markup}
    for name, key_author, key_date in (("postlight", "author", "date"), ("readability", "byline", "publishedTime")):
        folder = base / "html" / name
        if not (folder / "truth.json").exists():
            continue
        truth = json.loads((folder / "truth.json").read_text())
        titles = authors = dates = with_date = with_author = with_title = n = listed = 0
        for key, want in sorted(truth.items()):
            f = folder / key
            if not f.exists():
                continue
            n += 1
            a = parsed(f)
            if a is None:
                continue
            listed += tags_listed(a.tags)
            with_title += bool(want.get("title"))
            titles += bool(want.get("title")) and " ".join(a.title.split()).casefold() == " ".join(
                str(want["title"]).split()).casefold()
            if want.get(key_author):
                with_author += 1
                authors += _names(list(a.authors)) == _names(want[key_author])
            if want.get(key_date):
                with_date += 1
                try:
                    wd = dt.datetime.fromisoformat(str(want[key_date]).replace("Z", "+00:00")).date()
                except ValueError:
                    wd = None
                dates += a.published is not None and wd is not None and abs((a.published - wd).days) <= 1
        out[name] = {"pages": n, "titles": f"{titles}/{with_title}", "authors": f"{authors}/{with_author}",
                     "dates_within_a_day": f"{dates}/{with_date}", "tags_holding_a_list": listed}
    return out


def check_cjk(base: Path) -> dict[str, Any]:
    """Chinese and Japanese saved pages in real-sample/html: stored in a fresh SQLite store, then
    searched for words of their own text (every 150th position: two, three and four characters of
    a run of CJK characters); each must find its page, as a query a reader would type."""
    import hashlib
    import re
    import tempfile

    from archive.models import Source
    from archive.store.records import Filters, UpsertItem
    from archive.store.sqlite import SQLiteStore

    run = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]{4,}")
    pages = []
    for f in sorted((base / "html").rglob("*.html")):
        data = f.read_bytes()
        try:
            a = parse_bytes(data, str(f))
        except ParseError:
            continue
        if len(run.findall(a.body)) >= 5:
            src = Source(path=str(f), sha256=hashlib.sha256(data).hexdigest(), size=len(data), mtime=0.0)
            pages.append((f.name, a, UpsertItem(a, src)))
    if not pages:
        return {}
    found = tried = 0
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "cjk.db")
        by_path = {r.path: r.id for r in store.upsert_many([it for _, _, it in pages])}
        for name, a, it in pages:
            words = [m[0][k : k + n] for m in run.finditer(a.body) for k in range(0, len(m[0]) - 4, 150)
                     for n in (2, 3, 4)]
            for w in words[:30]:
                tried += 1
                ids = {h.article.id for h in store.search(w, Filters(), limit=1000)}
                if by_path[it.source.path] in ids:
                    found += 1
                elif len(missed) < 5:
                    missed.append(f"{name}: {w}")
        store.close()
    return {"pages": len(pages), "words_found": f"{found}/{tried}", "missed": missed}


def check_round_trip(base: Path) -> dict[str, Any]:
    """Every article of the corpora written as archive's Markdown export writes it, then read
    back: the same title, authors, date and body (the export's promise)."""
    from archive.export import to_markdown
    from archive.models import Article, Source
    from archive.parsing.frontmatter import parse_markdown

    same = total = 0
    changed: list[str] = []
    for f in sorted(p for p in base.rglob("*") if p.suffix in (".txt", ".md", ".markdown", ".html", ".htm")):
        try:
            a = parse_bytes(f.read_bytes(), str(f))
        except ParseError:
            continue
        total += 1
        art = Article.from_parsed(a, Source(path=str(f), sha256="0" * 64, size=0, mtime=0.0))
        try:
            b = parse_markdown(to_markdown(art), "x.md")
        except ParseError as exc:
            changed.append(f"{f.name}: {exc.reason}")
            continue
        if (b.title, b.authors, b.published, b.body) == (a.title, a.authors, a.published, a.body):
            same += 1
        elif len(changed) < 5:
            changed.append(f.name)
    return {"articles": total, "same_after_export": same, "changed": changed}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="example: scripts/corpus_check.py --corpora ../shared/corpora")
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"),
                    help="folder holding bbc-sample/ and html-sample/ (default ../shared/corpora)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    a = ap.parse_args()
    base = Path(a.corpora)
    out: dict[str, Any] = {}
    if (base / "bbc-sample").is_dir():
        out["bbc"] = check_bbc(base / "bbc-sample")
    if (base / "html-sample").is_dir():
        out["html"] = check_html(base / "html-sample")
    if (base / "real-sample").is_dir():
        out["real"] = check_real(base / "real-sample")
        out["cjk"] = check_cjk(base / "real-sample")
    out["round_trip"] = check_round_trip(base)
    if not out:
        print(f"no corpora under {base}", file=sys.stderr)
        return 1
    if a.json:
        print(json.dumps(out, indent=2))
        return 0
    if "bbc" in out:
        b = out["bbc"]
        print(f"BBC: {b['right']}/{b['articles']} articles right ({100 * b['share']:.1f}%): title, no invented "
              "authors, every word kept")
        for k, v in b["wrong"].items():
            print(f"  {k}: {len(v)} e.g. {v[:3]}")
    if "html" in out:
        h = out["html"]
        print(f"HTML: {h['stored']}/{h['pages']} pages stored ({100 * h['stored_share']:.1f}%), body word-F1 "
              f"median {h['median_f1']:.3f} (mean {h['mean_f1']:.3f}), urls matched {h['urls_matched']}/{h['pages']}, "
              f"tags holding a list {h['tags_holding_a_list']}")
        print(f"  worst five: {h['worst5']}")
        if h["failed"]:
            print(f"  failed: {h['failed']}")
    if out.get("cjk"):
        c = out["cjk"]
        print(f"CJK: {c['pages']} Chinese and Japanese pages, their own words found {c['words_found']}"
              + (f"; missed e.g. {c['missed']}" if c["missed"] else ""))
    if out.get("round_trip"):
        r = out["round_trip"]
        print(f"Markdown export read back: {r['same_after_export']}/{r['articles']} the same title, authors, date "
              "and body" + (f"; changed e.g. {r['changed']}" if r["changed"] else ""))
    for name, figures in out.get("real", {}).items():
        print(f"real-sample {name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
