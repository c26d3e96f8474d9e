"""Saved web pages ("Save page as", SingleFile): the article's main text and metadata, extracted
with trafilatura (Apache-2.0; the most accurate main-text extractor in published benchmarks).

This runs in the parse workers, never in the daemon's loop: trafilatura and lxml are imported
only here, on first use."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from archive.errors import ParseError
from archive.models import ParsedArticle, word_count
from archive.parsing.boilerplate import without_furniture, without_header_lines
from archive.parsing.bylines import (
    as_printed,
    authors_of,
    has_bare_initial,
    ld_authors,
    meta_authors,
    page_authors,
    people_first,
)
from archive.parsing.frontmatter import front_matter_date
from archive.parsing.pagedates import checked_date, meta_date
from archive.parsing.pagemeta import (
    HEAD_BYTES,
    PAGE_BYTES,
    PageMetas,
    checked_title,
    letters,
    meta_map,
    meta_values,
    page_titles,
    page_url,
    site_name,
    site_names,
)
from archive.parsing.tags import tag_list
from archive.parsing.text import MAX_TITLE_CHARS, _squash

# Where a saver writes the page's address: SingleFile's comment at the top ("Page saved with
# SingleFile \n url: …"), and the "mark of the Web" Chrome's and Edge's "Save page as" put there
# ("<!-- saved from url=(0042)https://… -->").
_SAVED_FROM = re.compile(rb"<!--\s*(?:Page saved with SingleFile.{0,200}?\burl:\s*|saved from url=\(\d{1,5}\))"
                         rb"(https?://[^\s>]{1,2000}?)\s*(?:-->|\n|$)", re.S | re.I)
MIN_WORDS = 10
# Bounds on what lxml is given, where they are cheap to apply (lxml's cost is superlinear in the
# attributes of one tag: 20,000 of them take it 11 s). A start tag longer than this keeps its name
# only; a script or style block goes whole (they are never article text).
MAX_TAG_BYTES = 8192
_LONG_TAG = re.compile(rb"<([A-Za-z][A-Za-z0-9:-]{0,40})[^<>]{%d,}>" % MAX_TAG_BYTES)
_SCRIPT_OPEN = re.compile(rb"<(script|style)\b", re.I)


def _drop_scripts(data: bytes) -> bytes:
    """Script and style blocks removed, in one pass (an unclosed one keeps the rest as it is).
    JSON-LD blocks stay: they are the page's metadata (its date, authors, title)."""
    low = data.lower()
    out, pos = [], 0
    for m in _SCRIPT_OPEN.finditer(low):
        if m.start() < pos:
            continue
        end = low.find(b"</" + m.group(1), m.end())
        if end < 0:
            break
        if b"ld+json" in low[m.end() : low.find(b">", m.end(), end) + 1]:
            continue
        close = low.find(b">", end)
        if close < 0:
            break
        out.append(data[pos : m.start()])
        pos = close + 1
    out.append(data[pos:])
    return b"".join(out)


def bound_markup(data: bytes) -> bytes:
    """The page with the markup lxml chokes on cut down: huge start tags (attribute floods) keep
    only their name, script and style blocks go. Text between tags is never touched."""
    if len(data) < MAX_TAG_BYTES:
        return data
    return _LONG_TAG.sub(rb"<\1>", _drop_scripts(data))


# Where a page says how its bytes are encoded: ``<meta charset>``, the http-equiv Content-Type, an
# XML declaration. Labels browsers read as a superset are read so too (the WHATWG Encoding standard:
# "iso-8859-1" is windows-1252, "gb2312" is GB18030, "shift_jis" is Windows-932).
_DECLARED = re.compile(rb"""(?i)<meta[^>]{0,200}?charset\s*=\s*["']?\s*([a-z0-9_.:-]{2,40})|"""
                       rb"""<\?xml[^>]{0,100}?encoding\s*=\s*["']([a-z0-9_.:-]{2,40})""")
_AS_BROWSERS_READ = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
                     "ascii": "cp1252", "gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932",
                     "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "euc-kr": "cp949",
                     "tis-620": "cp874", "iso-8859-9": "cp1254"}


def as_utf8(data: bytes) -> bytes:
    """The page's bytes as UTF-8, so that what this module reads of the page by itself (titles,
    metas, bylines, dates) is text, as the extractor's body is: as they are when they are UTF-8
    already (whatever the page declares: a saver that re-encodes a page keeps its old
    declaration); else decoded by the charset the page declares, else as the extractor guesses
    (trafilatura's detection), else as Windows-1252, what browsers fall back to."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace").encode("utf-8")
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    if m := _DECLARED.search(data[:HEAD_BYTES]):
        label = (m[1] or m[2]).decode("ascii").lower()
        try:
            return data.decode(_AS_BROWSERS_READ.get(label, label)).encode("utf-8")
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        from trafilatura.utils import decode_file

        return decode_file(data).encode("utf-8", "surrogatepass")
    except Exception:  # noqa: BLE001 - the extractor's guess is a convenience: never fail a page on it
        return data.decode("cp1252", "replace").encode("utf-8")


def _page_text(data: bytes) -> str:
    """The page's bytes as text (for finding how it prints a name)."""
    import html

    return html.unescape(data[:PAGE_BYTES].decode("utf-8", "replace"))


def _paragraphs(text: str) -> str:
    """trafilatura's text (a line per block) as the body every article has: paragraphs
    separated by one blank line, spaces collapsed."""
    pars = [_squash(p.replace("\n", " ")).strip() for p in text.replace("\r", "").split("\n")]
    return "\n\n".join(without_furniture([p for p in pars if p]))


def parse_webarchive(data: bytes, path: str | None = None) -> ParsedArticle:
    """Safari's single-file save (``.webarchive``): a property list whose main resource holds the
    page's bytes, its address and its text encoding."""
    import plistlib

    try:
        saved = plistlib.loads(data)
    except Exception:  # noqa: BLE001 - plistlib raises several kinds for a damaged file
        raise ParseError(path, "not-text", "not a web archive: the property list cannot be read") from None
    main = saved.get("WebMainResource") if isinstance(saved, dict) else None
    if not isinstance(main, dict) or not isinstance(html := main.get("WebResourceData"), bytes) or not html.strip():
        raise ParseError(path, "no-article", "no article: the web archive has no main page")
    return _saved_page(html, path, main.get("WebResourceTextEncodingName"), main.get("WebResourceURL"))


def _saved_page(html: bytes, path: str | None, charset: object, location: object) -> ParsedArticle:
    """The page of a single-file save, read with the charset the save records (it knows better
    than the page's own declaration, which the extractor reads); the address the save records
    is the article's url when the page gives none."""
    if isinstance(charset, str) and charset.lower() not in ("utf-8", "us-ascii", "ascii"):
        try:
            html = html.decode(charset, "replace").encode("utf-8")
        except LookupError:
            pass
    parsed = parse_html(html, path)
    if not parsed.url and isinstance(location, str) and location.startswith(("http://", "https://")):
        parsed = parsed._replace(url=location)
    return parsed


def parse_mhtml(data: bytes, path: str | None = None) -> ParsedArticle:
    """A single-file save (Chrome's "Save page as, single file", ``.mhtml``/``.mht``): a MIME
    message whose HTML part is the page; its ``Content-Location`` is the page's address."""
    import email
    import email.policy

    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            html = part.get_payload(decode=True)
            if not isinstance(html, bytes) or not html.strip():
                continue
            location = part.get("Content-Location") or msg.get("Snapshot-Content-Location")
            return _saved_page(html, path, part.get_content_charset(), str(location) if location else None)
    raise ParseError(path, "no-article", "no article: the saved page has no HTML part")


def _credits(doc: Any, data: bytes, meta: PageMetas, sites: list[str]) -> tuple[str, ...]:
    """The page's authors: its ``article:author`` metas, else the extractor's byline, else the
    authors it links or names "By", else its JSON-LD's authors of any kind (the first of these
    that gives a name). A credit that spells one of ``sites`` once its parts are put together is
    that name (the extractor splits "Mac & i" into "Mac" and "I")."""
    sources: tuple[Callable[[], str | None], ...] = (
        lambda: meta_authors(meta), lambda: getattr(doc, "author", None), lambda: page_authors(data),
        lambda: ld_authors(data))
    text = functools.cache(lambda: _page_text(data))  # the page as text, made once, only if a byline needs it
    for source in sources:
        byline = source()
        # The page as text only where a byline has an initial to look up (most have none).
        if byline and (names := authors_of(byline, text() if has_bare_initial(byline) else "")):
            if len(names) > 1 or any(len(n.split()) >= 3 for n in names):
                names = as_printed(names, text())
            whole = letters("".join(names))
            return next(((s,) for s in sites if len(names) > 1 and letters(s) == whole), names)
    return ()


# Past this size (once scripts and styles are cut) the extractor's date finder does not search the
# whole text for dates: on a page of many dates or numbers (a 3 MB code listing, a long thread) it
# took 10-80 s, past the parse time limit. No page of the corpora is that large (the largest is
# 1.7 MB); the page's metas, JSON-LD and date lines (pagedates) are read as on any page.
MAX_DATE_SEARCH_BYTES = 2_000_000


def _date_params(size: int) -> dict[str, Any] | None:
    """htmldate's parameters: trafilatura's defaults (None), without the whole-text search on a large page."""
    if size <= MAX_DATE_SEARCH_BYTES:
        return None
    from trafilatura.settings import set_date_params

    return set_date_params(extensive=False)


def parse_html(data: bytes, path: str | None = None) -> ParsedArticle:
    """A saved web page's article. A page with no article text is a failure (``no-article``)."""
    head = data[:4096]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParseError(path, "not-text", "not text: the file contains NUL bytes (binary?)")
    sf = _SAVED_FROM.search(head)
    saved_url = sf[1].decode("utf-8", "replace") if sf else None
    import trafilatura

    data = meta_values(bound_markup(as_utf8(data)))
    try:  # bytes: trafilatura reads the page's declared charset
        doc: Any = trafilatura.bare_extraction(
            data, url=saved_url, with_metadata=True, include_comments=False, include_tables=True,
            include_images=False, include_links=False, deduplicate=False,
            date_extraction_params=_date_params(len(data)),
        )
    except Exception as exc:  # noqa: BLE001 - a page the extractor cannot read is that page's failure
        raise ParseError(path, "no-article", f"no article: the page could not be read ({type(exc).__name__})") from None
    text = getattr(doc, "text", None) if doc is not None else None
    body = _paragraphs(text or "")
    words = word_count(body)  # a CJK character is a word
    if words < MIN_WORDS:  # a login form, a menu, an error page: link text is not an article
        raise ParseError(path, "no-article",
                         f"no article: the page's main text is {words} words" if words else
                         "no article: the page has no main text")
    meta = meta_map(data)
    url = page_url(data, meta, saved_url) or getattr(doc, "url", None) or saved_url
    extracted = " ".join((getattr(doc, "title", None) or "").split())
    site = site_name(getattr(doc, "sitename", None), extracted, url, meta)
    sites = site_names(site, url, meta)
    authors = people_first(_credits(doc, data, meta, sites), sites)
    body = without_header_lines(body, authors)  # before the title is looked for at its top
    title = checked_title(extracted, page_titles(data, meta), sites)
    if not title:
        first, _, rest = body.partition("\n\n")
        title, body = first, rest
    if not title or not body:
        raise ParseError(path, "no-article", "no article: the page has no title and text")
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    first, _, rest = body.partition("\n\n")
    if rest and first.strip().casefold() == title.casefold():  # never the title again as body
        body = rest
    tags = [t for t in (list(getattr(doc, "categories", None) or []) + list(getattr(doc, "tags", None) or []))
            if isinstance(t, str) and t.strip()]
    published = meta_date(meta, data) or checked_date(front_matter_date(getattr(doc, "date", None)), data)
    return ParsedArticle.of(
        title,
        authors,
        published,
        body,
        date_source="page" if published else None,
        url=url,
        site=site,
        tags=tag_list(tags),
        format="html",
        description=getattr(doc, "description", None) or None,
    )
