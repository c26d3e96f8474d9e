"""HTML pieces built in Python: highlighted snippets, the timeline chart, revision diffs.
Every piece of article text is escaped here before any markup is added around it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

from archive.search.snippets import snippet_parts
from archive.store.records import years_of


def snippet_html(snippet: str) -> Markup:
    """A snippet with its matches in ``<mark>``; the text itself is escaped."""
    return Markup("").join(Markup("<mark>{}</mark>").format(t) if match else escape(t)
                           for t, match in snippet_parts(snippet))


def _buckets(months: Sequence[tuple[str, int]]) -> list[tuple[str, str, int]]:
    """``(key, label, count)`` per month from the first to the last (gaps included), or per
    year when that would be more than 20 years of months."""
    if not months:
        return []
    first, last = months[0][0], months[-1][0]
    y0, m0, y1, m1 = int(first[:4]), int(first[5:7]), int(last[:4]), int(last[5:7])
    span = (y1 - y0) * 12 + (m1 - m0) + 1
    counts = dict(months)
    if span > 240:
        years = dict(years_of(months))
        return [(str(y), str(y), years.get(str(y), 0)) for y in range(y0, y1 + 1)]
    out = []
    y, mo = y0, m0
    for _ in range(span):
        key = f"{y:04d}-{mo:02d}"
        out.append((key, key, counts.get(key, 0)))
        mo += 1
        if mo > 12:
            y, mo = y + 1, 1
    return out


def timeline_svg(months: Sequence[tuple[str, int]], link: str, selected: str | None = None) -> Markup:
    """Articles per month as a bar chart; each bar links to ``link`` + its month (or year)."""
    buckets = _buckets(months)
    if not buckets:
        return Markup("")
    width, height, gap = 800, 90, 1
    top = max(c for _, _, c in buckets) or 1
    bw = min(width / len(buckets), 40.0)  # a few months do not make a wall of colour
    bars = []
    for i, (key, label, count) in enumerate(buckets):
        h = 0 if count == 0 else max(2, round((height - 14) * count / top))
        cls = "bar sel" if key == selected else "bar"
        bars.append(Markup(
            '<a href="{href}"><rect class="{cls}" x="{x:.2f}" y="{y}" width="{w:.2f}" height="{h}">'
            "<title>{label}: {count} articles</title></rect></a>"
        ).format(href=link + key, cls=cls, x=i * bw, y=height - h, w=max(bw - gap, 0.5), h=h, label=label,
                 count=count))
    svg = Markup(
        '<svg class="timeline" viewBox="0 0 {w} {h}" preserveAspectRatio="none" role="img" '
        'aria-label="articles over time">{bars}</svg>'
    ).format(w=width, h=height, bars=Markup("").join(bars))
    # The labels are a second SVG without a viewBox, placed by percentage: text inside the chart,
    # which stretches to the page's width, would stretch with it (unreadable on a phone); and the
    # page's Content-Security-Policy allows no inline styles.
    ticks = Markup("").join(
        Markup('<text x="{:.2f}%" y="12" text-anchor="middle">{}</text>').format(100 * (i + 0.5) * bw / width, label)
        for i, label in timeline_ticks([k for k, _, _ in buckets]))
    return svg + Markup('<svg class="ticks" width="100%" height="16" aria-hidden="true">{}</svg>').format(ticks)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def timeline_ticks(keys: Sequence[str]) -> list[tuple[int, str]]:
    """Which bars of the timeline get a label, and what it says: years (every one, or every 2nd,
    5th or 10th, as many as fit); on a chart of a year or less, every month (the year on January
    and on the first bar)."""
    if not keys:
        return []
    if len(keys[0]) == 7 and len(keys) <= 12:  # months of one year or less
        return [(i, _MONTHS[int(k[5:7]) - 1] + (f" {k[:4]}" if i == 0 or k[5:7] == "01" else ""))
                for i, k in enumerate(keys)]
    starts = [(i, k[:4]) for i, k in enumerate(keys) if len(k) == 4 or k[5:7] == "01" or i == 0]
    years = int(keys[-1][:4]) - int(keys[0][:4]) + 1
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 10**6) if years / s <= 12)
    out = [(i, y) for i, y in starts if int(y) % step == 0 or (i == 0 and step == 1)]
    if len(out) > 1 and out[0][0] == 0 and len(keys[0]) == 7 and keys[0][5:7] >= "10" and out[1][0] <= 3:
        out = out[1:]  # a first bar in the autumn: its year's label would run into January's
    return out


_TOKENS = re.compile(r"\n\n|\S+")
WORD_DIFF_CELLS = 250_000  # a changed block is diffed word by word while words(old) x words(new) stays below
PARAGRAPH_DIFF_CELLS = 4_000_000  # the same bound on the paragraph-level diff


def _opcodes(a: Sequence[str], b: Sequence[str], cells: int) -> list[tuple[str, int, int, int, int]]:
    """difflib's opcodes when ``len(a) * len(b)`` is within ``cells`` (its cost grows with that
    product); else the common head and tail kept and the middle replaced whole: linear."""
    if len(a) * len(b) <= cells:
        return list(difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes())
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    ops = [("equal", 0, head, 0, head)] if head else []
    if head < len(a) - tail or head < len(b) - tail:
        ops.append(("replace", head, len(a) - tail, head, len(b) - tail))
    if tail:
        ops.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return ops


def field_changes(old: Any, new: Any) -> list[tuple[str, str, str]]:
    """What changed between two states of an article besides its body: (field, before, after)
    for each field the parser fills in (archive.fields), as text."""
    from archive.fields import FIELDS

    def shown(v: Any) -> str:
        return ", ".join(v) if isinstance(v, list | tuple) else "" if v is None else str(v)

    return [(f.name.replace("_", " "), shown(getattr(old, f.name)), shown(getattr(new, f.name)))
            for f in FIELDS if f.parsed and f.name not in ("body", "word_count")
            and getattr(old, f.name) != getattr(new, f.name)]


def _diff_parts(old: str, new: str) -> list[tuple[bool, list[Markup]]]:
    """A diff of two bodies as runs: (unchanged?, its paragraphs' markup). Paragraphs first, then
    words within the changed paragraphs (removed words in ``<del>``, added in ``<ins>``); everything
    escaped. Its cost is bounded whatever the text: blocks too large to diff word by word are shown
    removed and added whole."""
    pa, pb = old.split("\n\n"), new.split("\n\n")
    out: list[tuple[bool, list[Markup]]] = []

    def words(ws: Sequence[str]) -> Markup:
        return Markup(" ").join(Markup("</p><p>") if w == "\n\n" else escape(w) for w in ws)

    for op, i1, i2, j1, j2 in _opcodes(pa, pb, PARAGRAPH_DIFF_CELLS):
        if op == "equal":
            out.append((True, [Markup("<p>{}</p>").format(par) for par in pa[i1:i2]]))
            continue
        a = _TOKENS.findall("\n\n".join(pa[i1:i2]))
        b = _TOKENS.findall("\n\n".join(pb[j1:j2]))
        block: list[Markup] = []
        for wop, k1, k2, m1, m2 in _opcodes(a, b, WORD_DIFF_CELLS):
            if wop == "equal":
                block.append(words(a[k1:k2]))
            if wop in ("delete", "replace") and k2 > k1:
                block.append(Markup("<del>{}</del>").format(words(a[k1:k2])))
            if wop in ("insert", "replace") and m2 > m1:
                block.append(Markup("<ins>{}</ins>").format(words(b[m1:m2])))
        out.append((False, [Markup("<p>") + Markup(" ").join(block) + Markup("</p>")]))
    return out


def _joined(parts: list[tuple[bool, list[Markup]]], context: int | None) -> Markup:
    """The runs as one piece of markup; with ``context``, only that many unchanged paragraphs kept
    around each change (the rest said as a count)."""
    out: list[Markup] = []
    for n, (same, paras) in enumerate(parts):
        head = context if context is not None and n > 0 else 0  # after a change
        tail = context if context is not None and n < len(parts) - 1 else 0  # before one
        if not same or context is None or head + tail >= len(paras):
            out.extend(paras)
            continue
        skipped = len(paras) - head - tail
        out.extend(paras[:head])
        out.append(Markup('<p class="skipped">… {} unchanged paragraph{} …</p>').format(
            skipped, "" if skipped == 1 else "s"))
        out.extend(paras[len(paras) - tail:])
    return Markup("").join(out)


def diff_html(old: str, new: str) -> Markup:
    """The whole of two bodies' diff (see _diff_parts)."""
    return _joined(_diff_parts(old, new), None)


def diff_views(old: str, new: str, context: int) -> tuple[Markup, Markup]:
    """The changes with ``context`` paragraphs around each, and the whole text with its changes,
    from one diff."""
    parts = _diff_parts(old, new)
    return _joined(parts, context), _joined(parts, None)
