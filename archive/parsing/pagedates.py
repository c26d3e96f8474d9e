"""A saved page's publication date when the extractor's is missing or a guess.

trafilatura's date finder falls back to a footer's copyright year ("© 2022" becomes 2022-01-01)
and does not read dates written the Chinese, Japanese or Korean way (2019年4月21日). A date is
never invented from a bare year: a 1 January the page does not spell out is dropped, and the
page's own date lines are read instead."""

from __future__ import annotations

import datetime as dt
import re

from archive.parsing.dates import read_date
from archive.parsing.pagemeta import HEAD_BYTES, PAGE_BYTES, TAG, itemprop_tags
from archive.parsing.spans import cut_spans, end_tag

_BLOCK_OPEN = re.compile(r"<(script|style|noscript)\b", re.I)


def _new_year_spelled(year: int, text: str) -> bool:
    """Whether the page writes 1 January of ``year`` as a full date (ISO, numeric, with a month
    name, or the CJK way), not only the year."""
    y = str(year)
    pattern = (rf"{y}[-/.年]\s?0?1[-/.月]\s?0?1(?!\d)|(?<!\d)0?1[-/.]0?1[-/.]{y}|"
               rf"\bjan[a-z]*\.?\s+0?1(?:st)?,?\s+{y}|(?<!\d)0?1(?:st|er|\.)?\s+jan[a-z]*\.?\s+{y}")
    return re.search(pattern, text, re.I) is not None


def page_lines(page: str) -> list[str]:
    """The page's text a line per block, scripts and styles gone, entities resolved."""
    import html

    text = TAG.sub("\n", cut_spans(page, _BLOCK_OPEN, end_tag, " "))
    return [s for line in html.unescape(text).split("\n") if (s := " ".join(line.split()))]


def first_date_line(lines: list[str]) -> dt.date | None:
    """The first published date among the page's date lines, else its first updated one."""
    updated: dt.date | None = None
    for line in lines:
        got = read_date(line)  # None at once for a line without a digit or longer than a date line
        if got is None:
            continue
        if not got.updated:
            return got.date
        updated = updated or got.date
    return updated


# Metas that name a page's publication date, most specific first (Open Graph, schema.org,
# Parse.ly, Sailthru, Dublin Core, cXense, and the plain names sites use). Updated dates are not here.
PUBLISHED_METAS = (
    "article:published_time", "og:article:published_time", "article:published", "article.published",
    "datepublished", "parsely-pub-date", "sailthru.date", "cxenseparse:recs:publishtime", "pubdate",
    "publishdate", "publish_date", "publish-date", "published_at", "dc.date.issued", "dcterms.issued",
    "dc.date.created", "dcterms.created", "datecreated", "date", "dc.date", "pdate",
)
_COMPACT = re.compile(r"((?:1[6-9]|20)\d\d)(0[1-9]|1[0-2])([0-3]\d)(?:\d{6})?")  # 20160919, 20190806103251


# schema.org microdata on any element (pagemeta.itemprop_tags): <dd itemprop="datePublished"
# content="2019-04-26">, <time itemprop="datePublished" datetime="...">.
_MICRODATA_VALUE = re.compile(rb"""\b(?:content|datetime)\s*=\s*["']([^"']{8,40})["']""", re.I)


def meta_date(meta: dict[str, str], data: bytes) -> dt.date | None:
    """The publication date the page declares: its JSON-LD ``datePublished``, else the first of
    PUBLISHED_METAS that reads, else a microdata ``datePublished`` on any element."""
    from archive.parsing import jsonld
    from archive.parsing.frontmatter import front_matter_date

    for doc in jsonld.documents(data[:HEAD_BYTES], b'"datePublished"'):
        for v in jsonld.values(doc, "datePublished"):
            if isinstance(v, str) and (d := front_matter_date(v)):
                return d
    for key in PUBLISHED_METAS:
        value = meta.get(key)
        if not value:
            continue
        if m := _COMPACT.fullmatch(value.strip()):
            value = f"{m[1]}-{m[2]}-{m[3]}"  # then read, and checked, as any date
        if (d := front_matter_date(value)) is not None:
            return d
    page = data[:PAGE_BYTES]
    for kind, start, end in itemprop_tags(page):
        v = _MICRODATA_VALUE.search(page, start, end) if kind == b"datepublished" else None
        if v and (d := front_matter_date(v[1].decode("ascii", "replace"))):
            return d
    return None


def checked_date(extracted: dt.date | None, data: bytes) -> dt.date | None:
    """The extractor's date unless it is a 1 January the page never spells out (a copyright
    year taken for a date); then, or when there is none, the page's first date line."""
    if extracted is not None and not (extracted.month == 1 and extracted.day == 1):
        return extracted
    page = data[:PAGE_BYTES].decode("utf-8", "replace")
    if extracted is not None and _new_year_spelled(extracted.year, page):
        return extracted
    return first_date_line(page_lines(page))
