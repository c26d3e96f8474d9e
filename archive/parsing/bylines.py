"""Who wrote a saved page: the extractor's byline cleaned into names, and where else a page
names its authors (a link to an author's page, a meta given as ``value=``).

A byline carries page furniture ("Staff Writer", "Link Copied", a date, the outlet); a credit to
the outlet itself ("CNN", "Condé Nast", "Us Weekly Staff") is kept only when no person is named."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from archive.parsing import jsonld
from archive.parsing.names import CO_AUTHOR_SPLIT, OTHER_BY_RE, PARTICLES, PERSON
from archive.parsing.pagemeta import HEAD_BYTES, PageMetas, letters, meta_value, metas

_AUTHOR_SPLIT = re.compile(r"\s*;\s*|\s*\|\s*")


# What pages print after a byline's name: links, dates, a role, the outlet ("Oli Coleman View
# author archive", "Emily Kirkpatrick Updated", "Pete Evans · CBC News", "Sam Stein Senior Politics
# Editor", "Laura E Adkins December", "Jeff Foust Monday", "Jill Lawless Associated Press").
_BYLINE_TAIL = re.compile(
    r"(?i)\s+(?:view author archive|more (?:stories|articles|posts) by|get author rss|see full bio|"
    r"link copied|updated|published|posted|lesedauer|read more|follow\b|email\b|twitter\b|"
    r"(?:senior |chief |deputy |associate |contributing |staff |political |politics |business |foreign |"
    r"national |managing |special )*(?:writer|reporter|editor|correspondent|columnist|contributor)\b|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d.*)?$|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|(?:the\s+)?associated\s+press\b|reuters\b|\d).*$")
# Lower-case words after a name are the byline's furniture ("Aleš Vávra před", a credit's
# "Caitlin Wooters using MAC Cosmetics", "Kyle Kellogg at Muse Management", "Paul Warren for Amika",
# "Jane Doe in London").
_CREDIT_TAIL = re.compile(r"\s+(?:using|at|for|via|in)\s+.*$")


_BYLINE_OUTLET = re.compile(r"\s+[·•|–—]\s+.*$")
# Page furniture an extractor reads as a byline.
_NOT_A_NAME = re.compile(r"(?i)^(?:username|authority control|lesedauer|staff|admin|dec|updated|share|"
                         r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
                         r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)$")  # "Julia", "Marco" are names


_BARE_INITIAL = re.compile(r"\b([A-Z])\b(?!\.)")
# A social handle after the name ("Jane Doe @janedoe"; not a co-author's: "Niko Matsakis and @mark-i-m").
_HANDLE = re.compile(r"(?<![&,])(?<!\band)(?<!\bund)(?<!\bet)\s+@[\w.-]{1,40}$")


def _without_lower_tail(a: str) -> str:
    """A name without the lower-case words and credit after it (see _CREDIT_TAIL); a credit with
    lower-case words of its own ("Contributors to Wikimedia projects") or a title's ("The Dev-tools
    team") is no name to cut."""
    if a[:4].lower() == "the ":
        return a
    words = _CREDIT_TAIL.sub("", a).split()
    while len(words) > 2 and words[-1][:1].islower():
        words.pop()
    if any(w[:1].islower() and w not in PARTICLES for w in words):
        return a
    return " ".join(words) if len(words) >= 2 and words[-1][:1].isupper() else a  # not "Mac &" of "Mac & i"


def has_bare_initial(byline: str) -> bool:
    """Whether a byline has an initial without its dot ("Laura E Adkins")."""
    return _BARE_INITIAL.search(byline) is not None


def _name(a: str, page: str) -> str:
    """One byline entry cleaned: no "By", no tail of links, dates, role or outlet, a name said
    twice once, and an initial's dot as the page prints it ("Laura E. Adkins")."""
    a = " ".join(a.split())
    if a.lower().startswith("by "):
        a = a[3:].strip()
    if a.startswith("@ "):  # a handle as Twitter displays it: "@ Kingbeyoncestan"
        a = "@" + a[2:]
    a = _BYLINE_OUTLET.sub("", _HANDLE.sub("", a))
    if "," in a and _NOT_A_PERSON.search(a.rsplit(",", 1)[1]):  # "Joe Roe, Washington Post"
        a = a.rsplit(",", 1)[0]
    cut = _without_lower_tail(_BYLINE_TAIL.sub("", a)).rstrip(" ,;:")
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


# Words of a role or an outlet: "Jane Doe, Staff Writer", "Joe Roe, Washington Post" and "Jane Lusby,
# Project Director of Collaboration" name one person.
_NOT_A_PERSON = re.compile(r"(?i)\b(?:writer|reporter|editor|correspondent|columnist|contributor|staff|news|"
                           r"director|manager|officer|president|professor|founder|coordinator|chairman|chairwoman|"
                           r"strategist|analyst|researcher|ceo|cto|cfo|"
                           r"press|media|bureau|desk|service|times|post|journal|herald|tribune|associated|"
                           r"agency|reuters|photographer|illustrat\w*|producer|team|online|magazine|daily)\b")


# Co-authors a byline adds in parentheses: "(avec …)", "(with …)", "(mit …)", "(con …)", "(com …)".
_WITH = re.compile(r"\s*\((?:avec|with|mit|con|com)\s+([^()]{3,120})\)\s*$", re.I)


def co_authors(chunk: str) -> list[str]:
    """A byline naming several people ("Howard Schneider, Lindsay Dunsmuir", "Marc Santora and Al
    Baker") as its names, when every part is a person's name of two to four words; else whole
    ("Smith, John", "Jane Doe, Staff Writer" is cleaned by _name as one)."""
    text = " ".join(chunk.split())
    if text.lower().startswith("by "):
        text = text[3:]
    text = _WITH.sub(r", \1", text)  # "Martin Untersinger (avec Damien Leloup et Morgane Tual)"
    parts = [x for x in CO_AUTHOR_SPLIT.split(text) if x]
    if len(parts) < 2 or not all(PERSON.match(x) and not _NOT_A_PERSON.search(x) for x in parts):
        return [chunk]
    return parts


def authors_of(value: str | None, page: str = "") -> tuple[str, ...]:
    """The names a byline or author meta gives, cleaned (see _name), each once: case aside, and a
    one-word handle beside the name it shortens ("Kevin Rebong; Kevin-R") once as the name."""
    return _credited(_AUTHOR_SPLIT.split(value), page) if value else ()


def _credited(chunks: Iterable[str], page: str) -> tuple[str, ...]:
    """The names some credits give, cleaned, each once (case aside), a handle beside the name it
    shortens dropped."""
    out: list[str] = []
    seen: set[str] = set()
    for chunk in chunks:
        for a in _names_of(chunk, page) if page else _chunk_names(chunk):
            if (key := a.casefold()) not in seen:
                seen.add(key)
                out.append(a)
    return tuple(a for a in out if not _handle_of(a, out))


def _names_of(chunk: str, page: str) -> tuple[str, ...]:
    """The names one credit gives (its co-authors), each cleaned; furniture and roles dropped."""
    names = []
    for raw in co_authors(chunk):
        a = _name(raw, page)
        if a and len(a) <= 120 and not _NOT_A_NAME.match(a) and not is_role(a):
            names.append(a)
    return tuple(names)


@functools.lru_cache(maxsize=8192)
def _chunk_names(chunk: str) -> tuple[str, ...]:
    """_names_of without a page to check initials against, once per credit (a collection names
    the same people again and again)."""
    return _names_of(chunk, "")


# A credit that is only a role ("Staff Writer", "Senior Correspondent"): no one's name.
_ROLE_ONLY = re.compile(r"(?i)^(?:(?:senior|chief|deputy|associate|contributing|staff|special|political|business|"
                        r"foreign|national|managing|sports|news)\s+)*(?:writer|reporter|editor|correspondent|"
                        r"columnist|contributor|staff|photographer)s?$")


def is_role(name: str) -> bool:
    """Whether a credit is only a role ("Staff Writer"), no one's name."""
    return _ROLE_ONLY.match(name.strip()) is not None


@functools.lru_cache(maxsize=8192)
def clean_credits(names: tuple[str, ...]) -> tuple[str, ...]:
    """Names a text's byline lists, cleaned as a page's are (one step for every format): role,
    outlet and date furniture off each name ("Jane Doe | The Times", "Jane Doe for MailOnline"),
    roles alone and news agencies beside people dropped ("Jane Doe, Staff Writer", "Jane Doe,
    Associated Press"), each name once. Kept per byline: a collection names the same people again
    and again."""
    return people_first(_credited((_BYLINE_OUTLET.sub("", n) for n in names), ""), [])


def _handle_of(name: str, names: list[str]) -> bool:
    """Whether a one-word credit is a handle of another credit's name: its letters begin that
    name's and run past its first word ("Kevin-R" of "Kevin Rebong"; "Kevin" alone is no handle)."""
    if " " in name.strip():
        return False
    h = letters(name)
    return len(h) >= 3 and any(
        " " in n and len(h) > len(letters(n.split()[0])) and letters(n).startswith(h) for n in names)


# Where a page names its author when the extractor found none: a link to an author's page
# (rel="author", or an address under /author/, /authors/, /people/, /staff/, /profile/), or a meta
# author given as value= rather than content= (_page_authors). Only a text that looks like a name counts.
# An <a> tag and the text it starts with (a tag's attributes hold no "<": each try stops at the
# next tag, so a page of unclosed tags is read once), then whether its attributes point to an author.
_A_TAG = re.compile(rb"<a\b([^<>]{0,2000})>\s*(?:<(?:span|strong|b)\b[^<>]{0,2000}>\s*)?([^<]{3,60}?)\s*<", re.I)
_AUTHOR_ATTRS = re.compile(
    rb"""\brel=["']?author\b|\bhref=["'][^"'>]{0,1000}/(?:authors?|people|staff|profiles?)/[^"'>]{0,1000}["']""", re.I)
_LINK_WORDS = re.compile(r"(?i)\b(?:view|all|more|posts|stories|articles|author|authors|profile|bio|follow|"
                        r"contact|about|staff|team|editors?|contributors?|home|news)\b")

_BY_TEXT = re.compile(
    rb""">\s*(?:By|""" + OTHER_BY_RE.encode() + rb""")\s*(?::\s*)?(?:<(?:span|a|strong|b)\b[^>]{0,300}>\s*)?"""
    rb"""([A-Z\xc3][^<>]{2,60}?)\s*<""")


def page_authors(data: bytes) -> str | None:
    """The author a page names outside what the extractor reads: an author meta, links to an
    author's page (see _A_TAG), else the first "By Jo Doe" in its text; None when there is none."""
    import html

    head = data[:HEAD_BYTES]
    # An author meta the extractor did not read (outside the page's head), then the links.
    found = [v for k, attrs in metas(head) if k == b"author" and (v := meta_value(attrs))]
    found += [html.unescape(m[2].decode("utf-8", "replace"))
              for m in _A_TAG.finditer(head) if _AUTHOR_ATTRS.search(m[1])]
    if not found and (by := _BY_TEXT.search(head)):
        found = [html.unescape(by[1].decode("utf-8", "replace"))]
    names = [_name(n, "") for n in found]  # "Par Jean Dupont, Staff Writer": the name
    names = [n for n in dict.fromkeys(names) if PERSON.match(n) and not _LINK_WORDS.search(n)]
    return "; ".join(names[:3]) or None  # the separator _authors splits at


def ld_authors(data: bytes) -> str | None:
    """The authors a page's JSON-LD names, people or not ("Contributors to Wikimedia projects"):
    the credit of a page that names no one elsewhere. Joined as authors_of splits them; None when
    there are none."""
    names: list[str] = []
    for doc in jsonld.documents(data, b'"author"'):
        for author in jsonld.values(doc, "author"):
            for a in author if isinstance(author, list) else [author]:
                name = a.get("name") if isinstance(a, dict) else a
                if isinstance(name, str) and name.strip() and "://" not in name:
                    names.append(" ".join(name.split()))
    return "; ".join(dict.fromkeys(names)) or None


# Credits for other work than the writing: "Photographed by", "Illustration by", "Makeup by".
_OTHER_ROLE = (r"(?:photos?|photographs?|photographed|photography|pictures?|images?|illustrations?|illustrated|"
               r"artwork|graphics?|videos?|design(?:ed)?|model(?:l)?ed|make-?up|hair|styl(?:ed|ing)|nails|"
               r"animation|maps?)")


def _words_re(name: str) -> str:
    return r"\s+".join(map(re.escape, name.split()))


def as_printed(names: tuple[str, ...], page: str) -> tuple[str, ...]:
    """Credits checked against the page that prints them (HTML as text): a name run on into the
    next element ("Joe Davidson" then "Washington Post" in the block after it) is the name as one
    element prints it, and a name the page credits with other work ("Photographed by Sharokh
    Mirzai") goes when someone else is left."""
    out: list[str] = []
    for name in names:
        words = name.split()
        if len(words) >= 3 and not re.search(r"(?<!\w)" + _words_re(name) + r"(?!\w)", page):
            for k in range(len(words) - 1, 1, -1):
                if re.search(r">\s*" + _words_re(" ".join(words[:k])) + r"\s*<", page):
                    name = " ".join(words[:k])
                    break
        out.append(name)
    if len(out) > 1:
        writers = [n for n in out if not re.search(
            r"(?i)\b" + _OTHER_ROLE + r"\s+by\s*:?\s*(?:<[^>]{0,300}>\s*)*" + _words_re(n) + r"(?!\w)", page)]
        out = writers or out
    return tuple(dict.fromkeys(out))


# A credit to an organisation rather than a person: a desk or staff credit, a company.
_ORG_CREDIT = re.compile(r"(?i)(?:\b(?:staff|team|desk|editors|editorial|newsroom|wire|agency|news service|"
                         r"reporters)|\b(?:inc|llc|ltd|gmbh|corp|corporation|plc|s\.?a)\.?|"
                         # the news agencies, credited beside the people who wrote for them
                         r"^(?:the )?(?:associated press|ap(?: sports)?|reuters|afp|agence france-presse|upi|dpa|efe|"
                         r"ansa|kyodo(?: news)?|xinhua|press association|pa media|bloomberg news))$")


def is_org(name: str, sites: list[str]) -> bool:
    """Whether an author credit names the outlet or an organisation, not a person."""
    if (_ORG_CREDIT.search(name) or (" " not in name and name.isupper() and 2 <= len(name) <= 5)
            or name.lower().startswith("the ")):
        return True  # a desk, a company, an agency, a title ("The Washington Post"); an outlet's initials ("CNN")
    if not sites:
        return False
    key = letters(name)
    return any(len(s) >= 3 and (s == key or (len(key) >= 5 and (s in key or key in s)))
               for s in map(letters, sites))


def people_first(authors: tuple[str, ...], sites: list[str]) -> tuple[str, ...]:
    """The credits without the outlet and organisations when a person is named; else the
    credits as they are ("AOL Staff", "BWW News Desk")."""
    return tuple(a for a in authors if not is_org(a, sites)) or authors


def meta_authors(meta: PageMetas) -> str | None:
    """The names a page's ``article:author`` metas give, joined as authors_of splits them; None
    when there are none."""
    return "; ".join(meta.authors) or None
