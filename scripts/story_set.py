#!/usr/bin/env python3
"""A labelled set for story grouping, made from the real corpora in ../shared/corpora.

Copies are made as outlets republish wire copy: another headline and byline, the outlet's
boilerplate above and below, the last 10-35% cut, a short paragraph dropped, a sentence added,
a few words changed, some saved as Markdown with front matter. Pages are saved twice under one
address (with tracking parameters, another scheme or a trailing slash), after a silent edit or a
heavy rewrite. Everything else in the corpora stays as it is: unrelated articles, many on the same
subjects (company results, commodity reports, film and music news).

    scripts/story_set.py OUT [--seed S] [--originals N]

writes the files under OUT and OUT/truth.json: {"groups": [[file, ...], ...]} (one list per story,
the original first; "kind": "copies" or "same-url").
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.parsing import parse_bytes  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
OUTLETS = [
    ("The Daily Ledger", "Sign up for our morning briefing and get the day's top stories in your inbox.",
     "Copyright The Daily Ledger. All rights reserved. This material may not be published, broadcast, rewritten "
     "or redistributed."),
    ("Metro Wire", "Advertisement. Scroll to continue reading. Subscribe for unlimited access from 1 a week.",
     "Follow Metro Wire on Twitter and Facebook. Have a news tip? Email our newsroom any time, day or night."),
    ("Capital Post", "Listen to this article. Estimated reading time: four minutes.",
     "Related coverage: more from our business desk. Comments are closed for this article. Share this story."),
    ("Northern Echo Online", "This story is available to subscribers only. You are reading a free preview.",
     "Reporting by our correspondents; editing by the desk. Our standards: the Trust Principles."),
    ("Globe Syndicate", "Breaking: updates as they come. Refresh this page for the latest.",
     "Most read: the stories everyone is talking about this week. Newsletter: the best of the week, every Friday."),
]
ADDED = ["The company did not immediately respond to a request for comment.",
         "Officials said more details would be released later this week.",
         "Analysts said the figures were broadly in line with expectations.",
         "The news was first reported by local media on Tuesday."]
NAMES = ["Alex Morgan", "Priya Natarajan", "Tom Okafor", "Lena Fischer", "Carlos Ruiz", "Mei Chen"]


# Words a headline says nothing by: two headlines of one story share their others.
_STOP = frozenset(("a", "an", "the", "of", "to", "in", "on", "at", "for", "from", "by", "with", "and", "or", "but",
                   "as", "is", "are", "was", "were", "be", "up", "out", "over", "after", "above", "below", "new",
                   "says", "said", "say", "corrected", "update", "updated"))
SAME_HEADLINE = 0.5  # of the shorter headline's telling words, shared: one story's headlines
SAME_TEXT = 0.5  # of the shorter text, in the longer: one story's texts


_HEADLINE_WORD = re.compile(r"[a-z0-9$£€]+")


def headline_words(title: str) -> frozenset[str]:
    return frozenset(w for w in _HEADLINE_WORD.findall(title.casefold()) if w not in _STOP)


def articles() -> list[tuple[str, str]]:
    """(title, body) of every real article with at least 80 words, one of each story: the corpora
    hold some stories twice, in two versions: the BBC's "Asia shares defy post-quake gloom" as first
    filed and as rewritten (86% the same text), "Shares rise on new Man Utd offer" and "Mixed reaction
    to Man Utd offer", Reuters' "CORRECTED - LIFETIME<LFT> TO BUY NIPPON LACE SAHRES" and "LIFETIME <LFT>
    TO BUY SHARES OF NIPPON LACE". The truth would not know those for one story, so only the first
    version is kept: a later article is another version when its headline shares SAME_HEADLINE of
    its telling words with a kept one's (the keeper never reads headlines) and SAME_TEXT of its text
    is in that one's (or theirs in it). Two bond issues written to one template ("SCOTIA MORTGAGE
    ISSUES 100 MLN CANADIAN DLR BOND", "VICTORIA STATE BODY ISSUES CANADIAN DLR EUROBOND") and a
    follow-up under a new headline ("Bafta to hand out movie honours" after "Stars gear up for Bafta
    ceremony") stay: two stories, which the keeper must keep apart."""
    from archive.stories.signature import shingles, similarity

    out = []
    seen: set[str] = set()
    kept: list[tuple[frozenset[str], frozenset[int]]] = []  # each kept article's headline words and text
    by_word: dict[str, list[int]] = {}  # headline word -> the kept articles whose headline has it
    files = sorted((CORPORA / "bbc-sample").glob("*/*.txt")) + sorted((CORPORA / "real-sample" / "txt").glob("*/*.txt"))
    files += sorted((CORPORA / "real-sample" / "md").glob("*/*.md"))
    for f in files:
        try:
            a = parse_bytes(f.read_bytes(), str(f))
        except Exception:  # noqa: BLE001 - a file the parser refuses is no source here
            continue
        if a.word_count < 80 or a.body in seen:
            continue
        seen.add(a.body)
        head, mine = headline_words(a.title), shingles(a.body)
        near = {k for w in head for k in by_word.get(w, ())}
        if any(len(head & kept[k][0]) >= max(1, SAME_HEADLINE * min(len(head), len(kept[k][0])))
               and similarity(mine, kept[k][1])[0] >= SAME_TEXT for k in near):
            continue  # another version of a story already kept
        for w in head:
            by_word.setdefault(w, []).append(len(kept))
        kept.append((head, mine))
        out.append((a.title, a.body))
    return out


def copy_of(rng: random.Random, title: str, body: str) -> tuple[str, str, str]:
    """(headline, byline, body) as another outlet prints it."""
    paras = [p for p in body.split("\n\n") if p.strip()]
    if len(paras) == 1:  # one long paragraph (a newswire): cut it into sentences' worth of pieces
        words = paras[0].split()
        paras = [" ".join(words[i : i + 40]) for i in range(0, len(words), 40)]
    total = sum(len(p.split()) for p in paras)
    left = round(total * (1 - rng.uniform(0.10, 0.35)))  # the last 10-35% of the words cut
    kept: list[str] = []
    for p in paras:
        words = p.split()
        if left <= 0:
            break
        kept.append(" ".join(words[:left]))
        left -= len(words)
    paras = kept
    if len(paras) > 3 and rng.random() < 0.5:  # a short paragraph dropped
        short = min(range(1, len(paras)), key=lambda i: len(paras[i]))
        paras.pop(short)
    if rng.random() < 0.6:
        paras.insert(rng.randrange(len(paras) + 1), rng.choice(ADDED))
    words = "\n\n".join(paras).split(" ")
    for _ in range(rng.randint(0, 6)):  # a few words changed
        i = rng.randrange(len(words))
        words[i] = rng.choice(["said", "reported", "noted", "added", "new", "major", "key"])
    _, top, bottom = rng.choice(OUTLETS)
    text = f"{top}\n\n{' '.join(words)}\n\n{bottom}"
    headline = rng.choice(["Report: ", "", "Update: ", "Exclusive: "]) + " ".join(reversed(title.split()[:8]))
    return headline, rng.choice(NAMES), text


def write(path: Path, title: str, byline: str, body: str, url: str | None, markdown: bool) -> None:
    if markdown:
        fm = [f"title: {json.dumps(title)}", f"author: {json.dumps(byline)}"] + ([f"url: {url}"] if url else [])
        path.write_text("---\n" + "\n".join(fm) + "\n---\n\n" + body + "\n", encoding="utf-8")
    else:
        path.write_text(f"{title}\n\nBy {byline}\n\n{body}\n", encoding="utf-8")


def make(out: Path, seed: int = 7, originals: int = 150, same_url: int = 40) -> dict[str, object]:
    rng = random.Random(seed)
    arts = articles()
    order = list(range(len(arts)))
    rng.shuffle(order)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    groups: list[dict[str, object]] = []
    n = 0
    rewrites = order[-same_url:]  # the texts of heavy rewrites: not in the set otherwise
    for k, i in enumerate(order[:-same_url]):
        title, body = arts[i]
        name = f"a{n:05d}.txt"
        n += 1
        if k < originals:
            (out / name).write_text(f"{title}\n\n{body}\n", encoding="utf-8")
            files = [name]
            for c in range(rng.randint(1, 4)):
                h, by, text = copy_of(rng, title, body)
                md = rng.random() < 0.3
                cname = f"a{n:05d}-copy{c}.{'md' if md else 'txt'}"
                n += 1
                write(out / cname, h, by, text, None, md)
                files.append(cname)
            groups.append({"kind": "copies", "files": files})
        elif k < originals + same_url:
            url = f"https://www.example-news.com/story/{k}"
            first = f"a{n:05d}.md"
            write(out / first, title, "Staff", body, url, True)
            if rng.random() < 0.5:  # a silent edit
                words = body.split(" ")
                for _ in range(5):
                    words[rng.randrange(len(words))] = "amended"
                again = " ".join(words)
            else:  # a heavy rewrite: another text altogether
                again = arts[rewrites[k - originals]][1]
            variant = rng.choice([f"{url}?utm_source=twitter&utm_medium=social", f"http://example-news.com/story/{k}/",
                                  f"https://www.example-news.com/story/{k}#comments", f"{url}?fbclid=IwAR0abc"])
            second = f"a{n:05d}-saved-again.md"
            n += 1
            write(out / second, title + " (updated)", "Staff", again, variant, True)
            groups.append({"kind": "same-url", "files": [first, second]})
        else:
            (out / name).write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    truth = {"groups": groups, "files": n}
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--originals", type=int, default=150)
    a = ap.parse_args()
    t = make(a.out, a.seed, a.originals)
    print(f"{t['files']} files, {len(t['groups'])} stories (truth.json) in {a.out}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
