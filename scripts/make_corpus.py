#!/usr/bin/env python3
"""Generate realistic article files in the seed format, deterministically.

    scripts/make_corpus.py N DIR [--seed S] [--words W]

One to three authors, all three date forms, page-break splits, sub-headings, both footer
variants, some CRLF, BOM and Windows-1252 files, and about 1 in 200 broken (empty, binary,
title only). Every file's expected title is derivable from its name for tests. Two marker
words are planted for search benchmarks: ``zanzibarite`` (rare: 1 in 1,000 articles) and
``government`` (common: most articles).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

FIRST = ["Peter", "Bill", "Anna", "José", "Mei", "Olu", "Sara", "Jean", "Ivan", "Priya", "Tomás", "Lena",
         "Kwame", "Aiko", "Hassan", "Marta", "Niamh", "Chen", "Ruth", "Dmitri"]
LAST = ["Symonds", "Van Auken", "Müller", "Okafor", "Nakamura", "García", "Kowalski", "O'Brien", "Singh",
        "Haddad", "Lindqvist", "Mbeki", "Rossi", "Dubois", "Novak", "Petrov", "Costa", "Kim", "Ng", "Adeyemi"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
WORDS = """
the government officials said that forces would remain in the region while negotiations
continued over troops bases training security economic crisis workers strike parliament
minister election protest budget sanctions agreement ceasefire refugees report inquiry court
ruling company profits wages union police city hospital school water energy oil prices war
peace treaty border coalition opposition leader president prime cabinet army navy air
investigation journalists documents evidence civilians casualties villages province capital
industry factory farmers drought flood climate summit talks spokesman analysts market inflation
currency debt bank loan reform pension health care vaccine virus
""".split()  # noqa: SIM905 - a word list reads better as text
GOV = "government"
RARE = "zanzibarite"
VERSION = 2  # bump when the text changes: cached corpora are per version


def _zipf_vocabulary(n: int = 5000) -> list[str]:
    """``n`` made-up words (from syllables, a fixed seed), used with Zipf frequencies: word k is
    about k times rarer than the first, so corpora have common, mid-frequency and rare words, and
    pairs of words whose articles barely overlap (what a real search meets)."""
    rng = random.Random(20261125)
    onsets = ["b", "br", "c", "d", "dr", "f", "g", "gl", "h", "k", "l", "m", "n", "p", "pr", "r", "s", "st",
              "t", "tr", "v", "z"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ea"]
    codas = ["", "n", "r", "s", "l", "m", "t", "x"]
    out: list[str] = []
    seen: set[str] = set(WORDS)
    while len(out) < n:
        w = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(2, 4))) + rng.choice(codas)
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


ZIPF = _zipf_vocabulary()
_ZIPF_CUM: list[float] = []
_acc = 0.0
for _k in range(len(ZIPF)):
    _acc += 1.0 / (_k + 1) ** 1.07
    _ZIPF_CUM.append(_acc)
COMMON_MID = ZIPF[5]  # in about 14% of articles
MID_PAIR = (ZIPF[20], ZIPF[50])  # in about 4% and 1.6% of articles; together in under 0.1%


def _sentence(rng: random.Random, n: int) -> str:
    words = rng.choices(WORDS, k=n)
    if rng.random() < 0.15:  # a word of the long tail
        words[rng.randrange(n)] = rng.choices(ZIPF, cum_weights=_ZIPF_CUM, k=1)[0]
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice([".", ".", ".", "?", "!"])


def article(i: int, rng: random.Random, words: int = 750) -> tuple[str, str, bytes]:
    """(file name, title, bytes) for article ``i``."""
    title = f"Article {i}: " + " ".join(rng.choices(WORDS, k=rng.randint(4, 9))).capitalize()
    n_auth = rng.choice([1, 1, 1, 2, 2, 3])
    names = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(n_auth)]
    byline = names[0] if n_auth == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    if rng.random() < 0.1:
        byline = "By " + byline
    if rng.random() < 0.5:
        byline += "  "
    y, m, d = rng.randint(1995, 2024), rng.randint(1, 12), rng.randint(1, 28)
    date = rng.choice([f"{d} {MONTHS[m - 1]} {y}", f"{MONTHS[m - 1]} {d}, {y}", f"{y:04}-{m:02}-{d:02}"])
    paras: list[str] = []
    total = 0
    while total < words:
        sents = [_sentence(rng, rng.randint(8, 25)) for _ in range(rng.randint(2, 5))]
        p = " ".join(sents)
        if rng.random() < 0.5:
            p = p.replace(" the ", f" the {GOV} ", 1)
        if rng.random() < 0.08:  # a page break in mid-sentence
            cut = p.split(" ")
            k = rng.randint(3, len(cut) - 3)
            paras.append(" ".join(cut[:k]))
            p = " ".join(cut[k:])
        if rng.random() < 0.06:
            paras.append("## " + " ".join(rng.choices(WORDS, k=3)).capitalize())
        paras.append(p)
        total += len(p.split())
    if i % 1000 == 7:
        paras[len(paras) // 2] += f" The {RARE} deposits were found."
    footer = rng.choice([
        "To contact the WSW and the Socialist Equality Party visit:\n\n**[wsws.org/contact](http://wsws.org/contact)**",
        "To contact the WSWS and the  \nSocialist Equality Party visit:\n\n**[wsws.org/contact](http://wsws.org/contact)**",
        "",
    ])
    text = f"\n\n# {title}\n\n{byline}\n{date}\n\n" + "\n\n".join(paras) + "\n\n\n\n" + footer
    r = rng.random()
    if r < 0.05:
        data = text.replace("\n", "\r\n").encode()
    elif r < 0.08:
        data = b"\xef\xbb\xbf" + text.encode()
    elif r < 0.10:
        data = text.encode("cp1252", errors="replace")
    else:
        data = text.encode()
    if i % 200 == 199:  # a few broken files
        data = rng.choice([b"", b"\x00\x01\x02\x03binary" * 10, f"# {title}\n".encode()])
    return f"{i:07d}.txt", title, data


BBC = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "bbc-sample"


def bbc_paragraphs(source: Path = BBC) -> tuple[list[str], list[str]]:
    """(titles, paragraphs) of the BBC sample beside the project (read in place, never copied)."""
    titles: list[str] = []
    paras: list[str] = []
    for f in sorted(source.rglob("*.txt")):
        parts = [x.strip() for x in f.read_text(encoding="utf-8", errors="replace").split("\n\n") if x.strip()]
        if len(parts) > 1:
            titles.append(parts[0])
            paras += [" ".join(x.split()) for x in parts[1:]]
    return titles, paras


def generate_real(n: int, folder: str | os.PathLike[str], seed: int = 1, size: int = 5000,
                  per_dir: int = 1000, source: Path = BBC) -> int:
    """``n`` articles of real English: the BBC sample's paragraphs drawn into new ~``size``-byte
    articles under its headlines (a real Zipf vocabulary), in the seed format, with authors and
    dates; one in a thousand has RARE. Returns bytes written."""
    titles, paras = bbc_paragraphs(source)
    if not paras:
        raise SystemExit(f"no BBC sample at {source}")
    rng = random.Random(seed)
    root = Path(folder)
    total = 0
    for i in range(n):
        body: list[str] = []
        k = 0
        while k < size:
            body.append(rng.choice(paras))
            k += len(body[-1]) + 2
        if i % 1000 == 7:
            body[len(body) // 2] += f" The {RARE} deposits were found."
        names = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.choice([1, 1, 2]))]
        y, m, d = rng.randint(1995, 2024), rng.randint(1, 12), rng.randint(1, 28)
        head = f"# {rng.choice(titles)}\n\n{' and '.join(names)}\n{d} {MONTHS[m - 1]} {y}\n\n"
        text = head + "\n\n".join(body) + "\n"
        sub = root / f"{i // per_dir:04d}"
        if i % per_dir == 0:
            sub.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        (sub / f"{i:07d}.txt").write_bytes(data)
        total += len(data)
    return total


def generate(n: int, folder: str | os.PathLike[str], seed: int = 1, words: int = 750, per_dir: int = 1000) -> int:
    """Write ``n`` articles under ``folder`` (in sub-folders of ``per_dir`` files); returns bytes written."""
    rng = random.Random(seed)
    root = Path(folder)
    total = 0
    for i in range(n):
        name, _, data = article(i, rng, words)
        d = root / f"{i // per_dir:04d}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
        total += len(data)
    return total


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: scripts/make_corpus.py 20000 /tmp/corpus   # then: archive ingest /tmp/corpus")
    ap.add_argument("n", type=int, help="how many article files to write")
    ap.add_argument("dir", help="the folder to write them into (made if missing; existing files are kept)")
    ap.add_argument("--seed", type=int, default=1,
                    help="random seed: the same seed and n give byte-identical files (default 1)")
    ap.add_argument("--words", type=int, default=750, help="about this many words per article (750 ≈ 6 KB)")
    a = ap.parse_args()
    size = generate(a.n, a.dir, a.seed, a.words)
    print(f"{a.n} articles, {size / 1e6:.1f} MB in {a.dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
