"""Saved web pages ("Save page as", SingleFile): the article's main text and metadata, extracted
with trafilatura (Apache-2.0; the most accurate main-text extractor in published benchmarks).

This runs in the parse workers, never in the daemon's loop: trafilatura and lxml are imported
only here, on first use."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from archive.errors import ParseError
from archive.models import ParsedArticle
from archive.parsing.frontmatter import front_matter_date
from archive.parsing.text import MAX_TITLE_CHARS, _squash

# SingleFile writes a comment at the top: "Page saved with SingleFile \n url: … \n saved date: …".
_SINGLEFILE_URL = re.compile(rb"<!--\s*Page saved with SingleFile.{0,200}?\burl:\s*(\S{1,2000})", re.S | re.I)
_AUTHOR_SPLIT = re.compile(r"\s*;\s*|\s*\|\s*")
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


# What pages print after a byline's name: links, dates, a role, the outlet ("Oli Coleman View
# author archive", "Emily Kirkpatrick Updated", "Pete Evans · CBC News", "Sam Stein Senior Politics
# Editor", "Laura E Adkins December").
_BYLINE_TAIL = re.compile(
    r"(?i)\s+(?:view author archive|more (?:stories|articles|posts) by|get author rss|see full bio|"
    r"link copied|updated|published|posted|lesedauer|read more|follow\b|email\b|twitter\b|"
    r"(?:senior |chief |deputy |associate |contributing |staff |political |politics |business |foreign |"
    r"national |managing |special )*(?:writer|reporter|editor|correspondent|columnist|contributor)\b|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d.*)?$|\d).*$")
_BYLINE_OUTLET = re.compile(r"\s+[·•|–—]\s+.*$")
# Page furniture an extractor reads as a byline.
_NOT_A_NAME = re.compile(r"(?i)^(?:username|authority control|lesedauer|staff|admin|dec|updated|share|"
                         r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)$")


_BARE_INITIAL = re.compile(r"\b([A-Z])\b(?!\.)")


def _name(a: str, page: str) -> str:
    """One byline entry cleaned: no "By", no tail of links, dates, role or outlet, a name said
    twice once, and an initial's dot as the page prints it ("Laura E. Adkins")."""
    a = " ".join(a.split())
    if a.lower().startswith("by "):
        a = a[3:].strip()
    a = _BYLINE_OUTLET.sub("", a)
    cut = _BYLINE_TAIL.sub("", a)
    if len(cut.split()) >= 2:
        a = cut
    words = a.split()
    for k in (2, 3, 4):  # a name said twice, then whatever follows: "Ellyn Shook Ellyn Shook ..."
        if len(words) >= 2 * k and words[:k] == words[k : 2 * k]:
            a = " ".join(words[:k])
            break
    if len(a.split()) >= 2 and _BARE_INITIAL.search(a):
        dotted = _BARE_INITIAL.sub(r"\1.", a)
        if dotted in page:
            a = dotted
    return a


def _authors(value: str | None, page: str = "") -> tuple[str, ...]:
    if not value:
        return ()
    out: list[str] = []
    seen: set[str] = set()
    for raw in _AUTHOR_SPLIT.split(value):
        a = _name(raw, page)
        key = a.casefold()
        if not a or len(a) > 120 or key in seen or _NOT_A_NAME.match(a):
            continue
        seen.add(key)
        out.append(a)
    return tuple(out)


_META = re.compile(rb"<meta\b[^>]{0,2000}>", re.I)
_ATTR = re.compile(rb"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TITLE_TAG = re.compile(rb"<title\b[^>]*>(.{0,2000}?)</title>", re.I | re.S)
_SITE_SEPARATORS = re.compile(r"\s+[|\-\u2013\u2014\u00b7:]{1,2}\s+|_")


def _page_titles(data: bytes) -> tuple[str, str]:
    """The page's ``<title>`` and its ``og:title``, unescaped and squashed ("" when missing)."""
    import html

    head = data[:400_000]
    m = _TITLE_TAG.search(head)
    doc = html.unescape(m[1].decode("utf-8", "replace")) if m else ""
    og = next((v for k, attrs in _metas(head) if k == b"og:title" and (v := _attr(attrs, b"content"))), "")
    return " ".join(doc.split()), " ".join(og.split())


def _metas(head: bytes) -> Iterator[tuple[bytes, dict[bytes, bytes]]]:
    """Each ``<meta>`` of ``head``: its name (or property), lower-cased, and its attributes."""
    for meta in _META.finditer(head):
        attrs = {k.lower(): (v1 if v1 is not None else v2) for k, v1, v2 in _ATTR.findall(meta[0])}
        yield (attrs.get(b"property") or attrs.get(b"name") or b"").lower(), attrs


def _attr(attrs: dict[bytes, bytes], key: bytes) -> str:
    """One attribute's value as text, unescaped ("" when missing)."""
    import html

    v = attrs.get(key)
    return html.unescape(v.decode("utf-8", "replace")) if v else ""


def _without_site(title: str) -> str:
    """A page title without the site's name beside it ("Grim outlook | Reuters" -> "Grim
    outlook"): its longest part."""
    parts = [p.strip() for p in _SITE_SEPARATORS.split(title) if p.strip()]
    return max(parts, key=len) if parts else title


# Headings of a page's furniture that an extractor may take for the article's.
_FURNITURE = re.compile(r"(?i)^(?:follow us\b|get .{1,40} in your inbox|more from\b|sign up\b|subscribe\b|"
                        r"original text$|share this\b|related\b|advertisement$|menu$|search$|skip to\b|"
                        r"join the discussion\b|you might also like\b|most (?:read|popular)\b)")


def checked_title(extracted: str, data: bytes) -> str:
    """The extractor's title, unless it is a heading of the page's furniture ("Follow us on
    Twitter", "Get Slate in your inbox.", a one- or two-word heading such as the site's name)
    that the page's own ``<title>`` does not contain: then the page's declared title
    (``og:title``, else ``<title>``) without the site's name beside it."""
    if extracted and not _FURNITURE.search(extracted) and len(extracted.split()) > 2:
        return extracted  # no furniture: the page's head is not read again
    doc, og = _page_titles(data)
    if not doc or not extracted or extracted.casefold() in doc.casefold():
        return extracted
    if og and og.casefold() in doc.casefold():
        return _without_site(og)
    return _without_site(doc)


def _page_text(data: bytes) -> str:
    """The page's bytes as text (for finding how it prints a name)."""
    import html

    return html.unescape(data[:2_000_000].decode("utf-8", "replace"))


def _paragraphs(text: str) -> str:
    """trafilatura's text (a line per block) as the body every article has: paragraphs
    separated by one blank line, spaces collapsed."""
    pars = [_squash(p.replace("\n", " ")).strip() for p in text.replace("\r", "").split("\n")]
    return "\n\n".join(p for p in pars if p)


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
            charset = part.get_content_charset()
            if charset and charset.lower() not in ("utf-8", "us-ascii", "ascii"):
                try:  # trafilatura reads the page's own declaration; the MIME header knows better
                    html = html.decode(charset, "replace").encode("utf-8")
                except LookupError:
                    pass
            location = part.get("Content-Location") or msg.get("Snapshot-Content-Location")
            parsed = parse_html(html, path)
            if not parsed.url and location and str(location).startswith(("http://", "https://")):
                parsed = parsed._replace(url=str(location))
            return parsed
    raise ParseError(path, "no-article", "no article: the saved page has no HTML part")


# Where a page names its author when the extractor found none: a link to an author's page
# (rel="author", or an address under /author/, /authors/, /people/, /staff/, /profile/), or a meta
# author given as value= rather than content= (_page_authors). Only a text that looks like a name counts.
_AUTHOR_LINK = re.compile(
    rb"""<a\b[^>]*?(?:\brel=["']?author\b|\bhref=["'][^"']*/(?:authors?|people|staff|profiles?)/[^"']*["'])"""
    rb"""[^>]*>\s*(?:<(?:span|strong|b)\b[^>]*>\s*)?([^<]{3,60}?)\s*<""", re.I)
_LINK_WORDS = re.compile(r"(?i)\b(?:view|all|more|posts|stories|articles|author|authors|profile|bio|follow|"
                        r"contact|about|staff|team|editors?|contributors?|home|news)\b")
_NAME_LIKE = re.compile(r"^[A-Z\u00c0-\u00de][\w'\u2019.-]+"
                        r"(?:\s+(?:[A-Z\u00c0-\u00de][\w'\u2019.-]*|de|van|von|da|di|del|la|le)){1,3}$")


def _page_authors(data: bytes) -> str | None:
    """The author a page names outside what the extractor reads (see _AUTHOR_LINK), or None."""
    import html

    head = data[:400_000]
    # A meta author given as value= (the extractor reads content= only), then the links.
    found = [_attr(attrs, b"value") for k, attrs in _metas(head) if k == b"author"]
    found += [html.unescape(m[1].decode("utf-8", "replace")) for m in _AUTHOR_LINK.finditer(head)]
    names = [" ".join(n.split()) for n in found]
    names = [n for n in dict.fromkeys(names) if _NAME_LIKE.match(n) and not _LINK_WORDS.search(n)]
    return "; ".join(names[:3]) or None  # the separator _authors splits at


def parse_html(data: bytes, path: str | None = None) -> ParsedArticle:
    """A saved web page's article. A page with no article text is a failure (``no-article``)."""
    head = data[:4096]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParseError(path, "not-text", "not text: the file contains NUL bytes (binary?)")
    sf = _SINGLEFILE_URL.search(head)
    saved_url = sf[1].decode("utf-8", "replace") if sf else None
    import trafilatura

    data = bound_markup(data)
    try:  # bytes: trafilatura reads the page's declared charset
        doc: Any = trafilatura.bare_extraction(
            data, url=saved_url, with_metadata=True, include_comments=False, include_tables=True,
            include_images=False, include_links=False, deduplicate=False,
        )
    except Exception as exc:  # noqa: BLE001 - a page the extractor cannot read is that page's failure
        raise ParseError(path, "no-article", f"no article: the page could not be read ({type(exc).__name__})") from None
    text = getattr(doc, "text", None) if doc is not None else None
    body = _paragraphs(text or "")
    words = len(body.split())
    if words < MIN_WORDS:  # a login form, a menu, an error page: link text is not an article
        raise ParseError(path, "no-article",
                         f"no article: the page's main text is {words} words" if words else
                         "no article: the page has no main text")
    title = checked_title(" ".join((getattr(doc, "title", None) or "").split()), data)
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
    published = front_matter_date(getattr(doc, "date", None))
    author = getattr(doc, "author", None) or _page_authors(data)
    return ParsedArticle.of(
        title,
        # The page as text only where a byline has an initial to look up (most have none).
        _authors(author, _page_text(data) if author and _BARE_INITIAL.search(author) else ""),
        published,
        body,
        date_source="page" if published else None,
        url=getattr(doc, "url", None) or saved_url,
        site=getattr(doc, "sitename", None) or None,
        tags=tuple(dict.fromkeys(" ".join(t.split()) for t in tags)),
        format="html",
        description=getattr(doc, "description", None) or None,
    )
