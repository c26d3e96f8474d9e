#!/usr/bin/env python3
"""Measure the parser on real articles nobody here wrote (../shared/corpora, not in the repo).

  bbc-sample/   plain-text BBC news (title line, paragraphs, no byline): the share of articles with
                the right title, no invented authors, and every word of the text kept in the body.
  html-sample/  real news pages saved as HTML, with ground-truth.json (article body and url): the
                share of pages stored, body word-F1 against the ground truth (median, worst five),
                and how many urls match.

Usage: scripts/corpus_check.py [--corpora DIR] [--json]
"""

from __future__ import annotations

import argparse
import collections
import json
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
    urls = 0
    for key, want in sorted(truth.items()):
        f = folder / f"{key}.html"
        try:
            a = parse_bytes(f.read_bytes(), str(f))
        except ParseError as exc:
            failed.append(f"{key[:12]}: {exc.reason}")
            scores.append((0.0, key[:12]))
            continue
        scores.append((word_f1(a.body, want.get("articleBody", "")), key[:12]))
        if a.url and want.get("url") and a.url.rstrip("/") == want["url"].rstrip("/"):
            urls += 1
    f1 = [s for s, _ in scores]
    return {"pages": len(truth), "stored": len(truth) - len(failed),
            "stored_share": (len(truth) - len(failed)) / len(truth) if truth else 0.0,
            "median_f1": statistics.median(f1) if f1 else 0.0, "mean_f1": statistics.mean(f1) if f1 else 0.0,
            "worst5": [(round(s, 3), k) for s, k in sorted(scores)[:5]], "urls_matched": urls, "failed": failed}


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
              f"median {h['median_f1']:.3f} (mean {h['mean_f1']:.3f}), urls matched {h['urls_matched']}/{h['pages']}")
        print(f"  worst five: {h['worst5']}")
        if h["failed"]:
            print(f"  failed: {h['failed']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
