"""What a saved page declares about itself: its ``<meta>`` tags, its titles and its site's name.

The extractor reads a page's metadata; these are the checks on what it reads: a title that is
page furniture or carries the site's name, a site name that is a Facebook address, a copyright
line or a Twitter handle."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import urlsplit

from archive.domains import registrable
from archive.models import CJK_CLASS, has_cjk_bytes, word_count
from archive.parsing.dates import ascii_fold
from archive.parsing.spans import closing_tag

_META = re.compile(rb"<meta\b[^>]{0,2000}>", re.I)
_ATTR = re.compile(rb"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TITLE_TAG = re.compile(rb"<title\b[^>]{0,2000}>(.{0,2000}?)</title>", re.I | re.S)
_H1 = re.compile(rb"<h1\b[^>]{0,2000}>(.{0,3000}?)</h1\s*>", re.I | re.S)
# A tag, to take out of a text (pages and headings); its attributes hold no "<", so that each try
# stops at the next tag (a page of unclosed "<" is read once).
TAG = re.compile(r"<[^<>]{0,4000}>")
_BREAK = re.compile(r"<br\b[^>]{0,200}>|\s+", re.I)
_SITE_SEPARATORS = re.compile(r"\s+[|\-\u2013\u2014\u00b7:]{1,2}\s+|_")
_META_TAG = re.compile(rb"<meta\b[^>]{0,4000}>", re.I)
_VALUE = re.compile(rb"\svalue=", re.I)
_CONTENT = re.compile(rb"\scontent\s*=", re.I)
_TITLE_META = re.compile(rb"""(?:name|property)\s*=\s*["']?(?:og:|twitter:)?title\b""", re.I)
HEAD_BYTES = 400_000  # where a page's metadata is looked for
PAGE_BYTES = 2_000_000  # of a page read for its headings, marked elements, date lines and printed names


def meta_values(data: bytes) -> bytes:
    """``<meta name=… value=…>`` read as ``content=`` (some savers write a meta's value so; the
    extractor reads ``content`` only) for the date, authors, site and description; a title meta
    is left as it is (the page prints its headline: checked_title weighs the metas against it).
    A meta with a ``content`` keeps it."""
    if b"value=" not in data[:HEAD_BYTES]:
        return data

    def fix(m: re.Match[bytes]) -> bytes:
        tag = m[0]
        if not _VALUE.search(tag) or _CONTENT.search(tag) or _TITLE_META.search(tag):
            return tag
        return re.sub(rb"(\s)value=", rb"\1content=", tag, count=1)

    return _META_TAG.sub(fix, data)


def metas(head: bytes) -> Iterator[tuple[bytes, dict[bytes, bytes]]]:
    """Each ``<meta>`` of ``head``: its name (or property, or itemprop), lower-cased, and its attributes."""
    for meta in _META.finditer(head):
        attrs = {k.lower(): (v1 if v1 is not None else v2) for k, v1, v2 in _ATTR.findall(meta[0])}
        yield (attrs.get(b"property") or attrs.get(b"name") or attrs.get(b"itemprop") or b"").lower(), attrs


def attr(attrs: dict[bytes, bytes], key: bytes) -> str:
    """One attribute's value as text, unescaped and squashed ("" when missing)."""
    import html

    v = attrs.get(key)
    return " ".join(html.unescape(v.decode("utf-8", "replace")).split()) if v else ""


def meta_value(attrs: dict[bytes, bytes]) -> str:
    """A meta's value: its ``content``, else its ``value`` ("" when neither)."""
    return attr(attrs, b"content") or attr(attrs, b"value")


class PageMetas(dict[str, str]):
    """A page's metas by name, the first of each name with a value; and ``authors``, every name
    its ``article:author`` metas give (a page may have several; an address there is a profile
    page, not a name)."""

    authors: tuple[str, ...] = ()


_AUTHOR_METAS = (b"article:author", b"og:article:author")


def meta_map(data: bytes) -> PageMetas:
    """The page's metas (``content``, else ``value``) by each name they give, read in one pass."""
    out = PageMetas()
    authors: list[str] = []
    for names, attrs in metas(data[:HEAD_BYTES]):
        if not names or not (v := meta_value(attrs)):
            continue
        for name in names.split():  # RDFa lets one meta name several: property="og:title twitter:title"
            out.setdefault(name.decode("ascii", "replace"), v)
            if name in _AUTHOR_METAS and "/" not in v and "@" not in v:
                authors.append(v)
    out.authors = tuple(dict.fromkeys(authors))
    return out


class Titles(NamedTuple):
    doc: str  # <title>
    og: str  # og:title, else twitter:title, else the JSON-LD headline
    headings: tuple[str, ...]  # every <h1>, as printed
    marked: tuple[str, str] = ("", "")  # the elements marked itemprop=headline and =alternativeHeadline

    @property
    def h1(self) -> str:
        """The page's only ``<h1>``; "" when it has none or several."""
        return self.headings[0] if len(self.headings) == 1 else ""


def page_titles(data: bytes, meta: dict[str, str]) -> Titles:
    """The titles a page declares, unescaped and squashed ("" when missing)."""
    import html

    head = data[:HEAD_BYTES]
    m = _TITLE_TAG.search(head)
    doc = " ".join(html.unescape(m[1].decode("utf-8", "replace")).split()) if m else ""
    # inline tags join words as printed
    page = data[:PAGE_BYTES]
    h1s = tuple(" ".join(html.unescape(TAG.sub("", _BREAK.sub(" ", h.decode("utf-8", "replace")))).split())
                for h in _H1.findall(page))
    og = meta.get("og:title") or meta.get("twitter:title") or _ld_headline(data[:HEAD_BYTES])
    return Titles(doc, og, h1s, _marked_headlines(page))


# schema.org microdata, found by the attribute and then the tag around it (a pattern from each "<"
# would read on; the attribute's name as written, lower-case, is a literal the search skips to:
# 15x quicker than the pattern case-folded): the element a page marks as its article's headline, the
# one it marks as an alternative (popsugar prints its short alternativeHeadline in the <h1>, the
# headline in an <h2>), the one holding its datePublished (pagedates).
_ITEMPROP = re.compile(rb"""itemprop\s*=\s*["']?((?i:headline|alternativeheadline|datepublished))\b""")
_ELEMENT = re.compile(rb"<([a-z][a-z0-9]{0,10})\b", re.I)
MAX_TAG_BYTES = 2000  # of a tag, on either side of its itemprop
MAX_MARKED_BYTES = 3000  # of an element's content


def itemprop_tags(page: bytes) -> Iterator[tuple[bytes, int, int]]:
    """Each tag holding an itemprop this module reads (``headline``, ``alternativeheadline``,
    ``datepublished``, lower-case), with where the tag starts (its "<") and ends (its ">")."""
    for m in _ITEMPROP.finditer(page):
        start = page.rfind(b"<", max(0, m.start() - MAX_TAG_BYTES), m.start())
        end = page.find(b">", m.end(), m.end() + MAX_TAG_BYTES)
        if start >= 0 and end >= 0 and b">" not in page[start : m.start()]:  # inside a tag
            yield m[1].lower(), start, end


def _marked_headlines(page: bytes) -> tuple[str, str]:
    """The text of the first element marked itemprop=headline, and of the first marked
    alternativeHeadline ("" for none)."""
    import html

    found: dict[bytes, str] = {}
    for kind, start, end in itemprop_tags(page):
        if kind == b"datepublished" or kind in found or not (name := _ELEMENT.match(page, start)):
            continue
        close = closing_tag(name[1]).search(page, end, end + MAX_MARKED_BYTES)
        if name[1].lower() == b"meta" or close is None:
            continue
        text = html.unescape(TAG.sub(" ", page[end + 1 : close.start()].decode("utf-8", "replace")))
        found[kind] = " ".join(text.split())
        if len(found) == 2:
            break
    return found.get(b"headline", ""), found.get(b"alternativeheadline", "")


def _ld_headline(head: bytes) -> str:
    """The first ``headline`` the JSON-LD of ``head`` (the top of a page) declares ("" when none)."""
    from archive.parsing import jsonld

    for doc in jsonld.documents(head, b'"headline"'):
        for v in jsonld.values(doc, "headline"):
            if isinstance(v, str) and v.strip():
                return " ".join(v.split())
    return ""


def as_printed(title: str, headings: tuple[str, ...]) -> str:
    """``title`` as the page prints it when it is one of its headings but for spaces (an extractor
    puts one between inline elements: "<i>Beasts</i>: A Nice Place" gave "Beasts : A Nice Place"),
    or but for a short label before it that the heading lacks (a section's: "Opinion | Is Football
    Violence a Crime?" where the page prints "Is Football Violence a Crime?"; "r/gifs - …"). A site's
    name after it stays: the truths the corpus check measures by disagree on it."""
    bare = "".join(title.split())
    sep = _SITE_SEPARATORS.search(title)
    label = sep is not None and 0 < len(title[: sep.start()].split()) <= MAX_LABEL_WORDS
    rest = "".join(title[sep.end():].split()) if sep is not None and label else None
    for h in headings:
        if h != title and (bare_h := "".join(h.split())) and bare_h in (bare, rest):
            return h
    return title


MAX_LABEL_WORDS = 3  # a section's label before a headline: "Opinion", "r/gifs", "Live updates"


_CANONICAL = re.compile(rb"""<link\b[^>]{0,1000}?\brel\s*=\s*["']?canonical\b[^>]{0,2000}>""", re.I)
_HREF = re.compile(rb"""\bhref\s*=\s*["']?([^"'\s>]{1,2000})""", re.I)


_BASE = re.compile(rb"""<base\b[^>]{0,2000}>""", re.I)


def page_url(data: bytes, meta: dict[str, str], saved_from: str | None = None) -> str | None:
    """The address a page gives itself: its canonical link, else its ``og:url``; an address
    relative to the page ("/news/2019/ferry") is read against its ``<base href>``, else against
    the address the page was saved from (``saved_from``); an http(s) address only."""
    import html
    from urllib.parse import urljoin

    head = data[:HEAD_BYTES]
    found = []
    if (m := _CANONICAL.search(head)) and (h := _HREF.search(m[0])):
        found.append(html.unescape(h[1].decode("utf-8", "replace")))
    found.append(meta.get("og:url", ""))
    base = saved_from
    if (b := _BASE.search(head)) and (h := _HREF.search(b[0])):
        declared = html.unescape(h[1].decode("utf-8", "replace"))
        if declared.startswith(("http://", "https://")):
            base = declared
    for u in found:
        if u and not u.startswith(("http://", "https://")) and base:
            u = urljoin(base, u)
        if u.startswith(("http://", "https://")):
            return u
    return None


def host_of(url: str | None) -> str:
    """A page address's host without ``www.`` ("" when there is none)."""
    if not url:
        return ""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def letters(s: str) -> str:
    """Only the letters and digits of ``s``, case folded: how names are compared."""
    return "".join(c for c in s.casefold() if c.isalnum())


def _sane_site(name: str | None, title: str, meta: dict[str, str]) -> str | None:
    """A site name as a reader would print it; None for an address, a copyright line, the
    article's title, or a Twitter handle the extractor capitalised."""
    if not name:
        return None
    name = " ".join(name.split())
    low = name.casefold()
    handle = meta.get("twitter:site", "").lstrip("@").casefold()
    if (not name or len(name) > 60 or "://" in name or name.startswith(("@", "www.")) or "copyright" in low
            or "©" in name or low == title.casefold() or (handle and low == handle)):
        return None
    return name


def site_name(extracted: str | None, title: str, url: str | None, meta: dict[str, str]) -> str | None:
    """The site's name: its ``og:site_name``, else the extractor's, else the page's host; without
    a tagline beside it (see _without_tagline)."""
    name = _sane_site(meta.get("og:site_name"), title, meta) or _sane_site(extracted, title, meta)
    return _without_tagline(name, url) if name else (host_of(url) or None)


def _host_label(url: str | None) -> str:
    """The main label of a page's host: its registrable domain's first label ("bbc" for
    www.bbc.co.uk, "cnn" for www.cnn.com, "rawstory" for rawstory.com)."""
    host = host_of(url)
    if "." not in host:
        return ""
    return registrable(host).split(".")[0]


def _without_tagline(name: str, url: str | None) -> str:
    """A site name without the slogan a site puts beside it ("Raw Story - Celebrating 18 Years of
    Independent Journalism", "LinkNaija | Nigeria's popular news platform"): the part beside a
    separator that spells the host's main label, when one does; else the name as it is."""
    parts = _SITE_SEPARATORS.split(name)
    label = letters(_host_label(url))
    if len(parts) < 2 or len(label) < 3:
        return name
    for part in (parts[0], parts[-1]):
        if letters(ascii_fold(_TLD.sub("", part.strip()))) == label:  # "Aktuálně.cz" spells aktualne
            return part.strip()
    return name


_TLD = re.compile(r"\.[a-z]{2,6}$", re.I)


def site_names(site: str | None, url: str | None, meta: dict[str, str]) -> list[str]:
    """Every name the page gives its site or publisher (to tell them from a title's words and
    from an author): the site, the host's main label, ``og:site_name``, the publisher, the
    copyright holder and the site's Twitter handle."""
    names = [site or "", meta.get("og:site_name", ""), meta.get("publisher", ""), meta.get("dc.publisher", ""),
             copyright_holder(meta), meta.get("twitter:site", "").lstrip("@")]
    names.append(_host_label(url))
    return [n for n in dict.fromkeys(n.strip() for n in names) if len(letters(n)) >= 2]


_COPYRIGHT = re.compile(r"(?i)\bcopyright\b|\(c\)|©|\ball rights reserved\b|\b(?:19|20)\d\d\b|[.,]")


def copyright_holder(meta: dict[str, str]) -> str:
    """The name in a meta's copyright line ("Copyright (c) Condé Nast 2022" -> "Condé Nast")."""
    for key in ("copyright", "dc.rights", "og:site_name"):
        v = meta.get(key, "")
        if "copyright" in v.casefold() or "©" in v:
            return " ".join(_COPYRIGHT.sub(" ", v).split())
    return ""


_NOT_TITLE = re.compile(r"(?i)^by\s|^\((?:published|updated)\s+\d{4}\)$")  # "| by Jo Doe", "(Published 2016)"
_DATED = re.compile(r"\s+(\((?:published|updated)\s+\d{4}\))$", re.I)


def _is_site(part: str, names: list[str]) -> bool:
    if _NOT_TITLE.search(part.strip()):
        return True
    p = letters(part)
    return bool(p) and any(len(n) >= 3 and (n in p or p in n) for n in map(letters, names))


def without_site(title: str, names: list[str]) -> str:
    """A title without the site's name before or after it ("Grim outlook | Reuters" -> "Grim
    outlook"), when a part beside a separator names the site (or the author: "| by Jo Doe"), and
    without an archive's "(Published 2016)"; else the title as it is."""
    title = _DATED.sub("", title)
    parts = _SITE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    seps = _SITE_SEPARATORS.findall(title)
    while len(parts) > 1 and _is_site(parts[-1], names):
        parts.pop()
        seps.pop()
    while len(parts) > 1 and _is_site(parts[0], names):
        parts.pop(0)
        seps.pop(0)
    out = parts[0] + "".join(s + p for s, p in zip(seps, parts[1:], strict=True))
    return out.strip() or title


def longest_part(title: str) -> str:
    """A page title's longest part between separators (the site's name is not the longest)."""
    parts = [p.strip() for p in _SITE_SEPARATORS.split(title) if p.strip()]
    return max(parts, key=len) if parts else title


# Headings of a page's furniture that an extractor may take for the article's.
_FURNITURE = re.compile(r"(?i)^(?:follow us\b|get .{1,40} in your inbox|more from\b|sign up\b|subscribe\b|"
                        r"original text$|share this\b|related\b|advertisement$|menu$|search$|skip to\b|"
                        r"join the discussion\b|you might also like\b|most (?:read|popular)\b)")
MIN_TITLE_WORDS = 3
H1_OVERLAP = 0.5  # share of the shorter title's words the page's heading and its title share: one story
SAME_TITLE = 0.75  # share of all their words above which they are one title (perhaps with the site's name)


def _words(title: str, longer_than: int = 0) -> set[str]:
    """A title's words as compared (letters and digits, case folded), longer than ``longer_than``;
    a run of CJK characters (no spaces between its words) gives its pairs of characters."""
    if has_cjk_bytes(title) and (runs := _cjk_runs().findall(title)):
        pairs = {r[i : i + 2] for r in runs for i in range(max(1, len(r) - 1))}
        return pairs | _words(_cjk_runs().sub(" ", title), longer_than)
    return {w for w in map(letters, title.split()) if len(w) > longer_than}


@functools.cache
def _cjk_runs() -> re.Pattern[str]:
    return re.compile(f"[{CJK_CLASS}]+")


def _overlap(a: str, b: str) -> tuple[float, float]:
    """Two titles' shared words: as a share of the shorter's, and of both (Jaccard)."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0, 0.0
    shared = len(wa & wb)
    return shared / min(len(wa), len(wb)), shared / len(wa | wb)


def _unrelated(extracted: str, declared: str) -> bool:
    """Whether two titles of three words or more share no word longer than three letters (a
    heading such as "Information and Resources" beside the page's "Superbugs: What They Are")."""
    if word_count(extracted) < MIN_TITLE_WORDS or word_count(declared) < MIN_TITLE_WORDS:
        return False
    a, b = _words(extracted, 3), _words(declared, 3)
    return bool(a) and bool(b) and not a & b


def is_furniture_title(title: str) -> bool:
    """A heading of the page's furniture ("Follow us on Twitter", "Get Slate in your inbox."),
    or one or two words (such as the site's name)."""
    return bool(_FURNITURE.search(title)) or word_count(title) < MIN_TITLE_WORDS  # a CJK character is a word


def checked_title(extracted: str, titles: Titles, names: list[str]) -> str:
    """The article's title (see _checked_title), but never what the page marks as its alternative
    headline where it marks a headline."""
    title = _checked_title(extracted, titles, names)
    headline, alternative = titles.marked
    if headline and alternative and title == alternative and not is_furniture_title(headline):
        return headline
    return title


def _checked_title(extracted: str, titles: Titles, names: list[str]) -> str:
    """The article's title: the page's only ``<h1>`` when the extractor's is a rewrite of the
    same headline (a social title is often a shorter one); else the extractor's title unless it
    is furniture; else the declared title (``og:title``, else ``<title>``) without the site's
    name beside it."""
    h1 = titles.h1
    if h1 and extracted and not is_furniture_title(h1) and h1 != extracted:
        of_shorter, of_both = _overlap(h1, extracted)
        if of_shorter >= H1_OVERLAP and of_both < SAME_TITLE and h1 != without_site(extracted, names):
            return h1  # one story, the headline rewritten
    if extracted and not is_furniture_title(extracted):
        declared = without_site(titles.og or titles.doc, names)
        if _unrelated(extracted, declared):
            return declared  # a section's heading taken for the article's: the page's own title
        return as_printed(extracted, titles.headings)  # no furniture: as the page declares it
    if titles.og and not is_furniture_title(titles.og) and extracted.casefold() not in titles.og.casefold():
        return without_site(titles.og, names)  # the headline the page declares, over a furniture heading
    if not titles.doc or not extracted or extracted.casefold() in titles.doc.casefold():
        return extracted
    declared = titles.og if titles.og and titles.og.casefold() in titles.doc.casefold() else titles.doc
    stripped = without_site(declared, names)
    return stripped if stripped != declared else longest_part(declared)
