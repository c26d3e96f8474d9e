"""Text articles (SPEC.md, "The article file"): title, byline, date, paragraphs.

Every regular expression here is linear: bounded quantifiers, fixed-width
look-arounds, no nested repetition, so a hostile file cannot make it backtrack.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import unicodedata

from archive.errors import ParseError
from archive.models import HEADING, ParsedArticle, cjk_char, has_cjk_bytes
from archive.parsing.bylines import clean_credits, co_authors, is_org, is_role
from archive.parsing.cjk_credits import cjk_byline, dateline_writers
from archive.parsing.dates import DateLine, looks_like_date, read_date
from archive.parsing.names import LIST_SPLIT, OTHER_BY_RE, PARTICLES

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_TITLE_CHARS = 500

_MONTH_RE = "|".join(sorted({n.lower() for n in (*calendar.month_name, *calendar.month_abbr) if n} | {"sept"},
                            key=len, reverse=True))

# "By", "Story by", a label ("Author:", and other languages': "Auteur :", "Autor:", "Texto:"), and
# other languages' "by" before two names or more ("Von Hans Müller", "Par Jean Dupont", "Di Mario
# Rossi"; "Von Miller" alone is a name).
_BY = re.compile(r"(?i:(?:(?:additional\s+)?(?:story|words|text|reporting|written)\s+)?by\s*:?\s+|"
                 r"(?:authors?|writer|byline|text[eo]?|tekst|auteurs?|autor(?:es|en|in)?|autore|verfasser(?:in)?)\s*:\s*)|"
                 rf"(?:{OTHER_BY_RE})\s+(?=\S+\s+\S)")
# Credits a byline gives beside its writers' names: an agency in parentheses ("Jane Doe (AFP)"),
# another part after a dash or a semicolon ("Jane Doe — Staff reporter", "Reporting by Jane Doe;
# Editing by John Roe"), of which an editor's is no author's.
_CREDIT_PAREN = re.compile(r"\s*\(([^()]{1,40})\)\s*$")
_CREDIT_PARTS = re.compile(r"\s*;\s*|\s+[-–—|·]\s+")
_NOT_WRITING = re.compile(r"(?i)^(?:editing|edited|graphics?|photos?|pictures?|video|translation|translated)\s+by\b")
_TITLE_LABEL = re.compile(r"(?i)(?:title|headline)\s*:\s+")
_UNDERLINE = re.compile(r"={3,}|-{3,}")
# A byline and the date on one line: "Jane Doe | 19 November 2019", "By Jane Doe, Nov. 19, 2019".
_BYLINE_DATE = re.compile(r"\s+[|·•\-–—]\s+|,\s+")
# A name may end in an abbreviation's dot: "Jane Doe Jr.", "Sammy Davis Sr.", "John Q."
_NAME_DOT = re.compile(r"(?:\b(?:Jr|Sr)|\b[A-Z])\.$")
# The address may hold one level of parentheses (Wikipedia's "Scrum_(software_development)").
# Link text may hold one level of brackets ("[a new attribute, #![windows_subsystem]](…)",
# "[AsRef<[T]> for IterMut](…)"), and a code span any ("[`<[[T; N]]>::as_flattened`](…)", atomic:
# a span once read is not read again as brackets); an image inside a link is read first, then the
# link (see plain_inline).
_IMAGE_OR_LINK = re.compile(r"!?\[((?>`[^`\n]{1,400}`|[^\[\]\n]|\[[^\[\]\n]{0,200}\]){0,2000})\]"
                            r"\(\s*[^()\s]{0,4000}(?:\([^()\s]{0,400}\)[^()\s]{0,400}){0,4}"
                            r"(?:\s+\"[^\"\n]{0,500}\")?\s*\)")
_REF_LINK = re.compile(r"\[([^\[\]\n]{1,2000})\]\[[^\[\]\n]{0,200}\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^<>\s]{1,4000})>", re.I)
# Emphasis markers that can open (a non-space follows, no word character precedes) or close (a
# non-space precedes, no word character follows); only an opener followed by a closer of the same
# marker is emphasis. A lone ``*`` (``report*``, ``5 * 3``) or a stray backtick stays text.
_MARK = re.compile(r"\*\*|__|~~|\*|_")
_CODE = re.compile(r"`+")
_SPACES = re.compile(r"[ \t\f\v\u00a0]{2,}|[\t\f\v\u00a0]")  # runs to collapse; a lone space stays
_CLOSERS = "\"'”’»)]*_」』）】"
_ENDINGS = ".!?:;…。！？；："  # a paragraph that ends otherwise was cut by a page break
_FOOTER_INTRO = re.compile(
    r"to contact the wsws? and the socialist equality party,? visit:?", re.I
)
_FOOTER_LINK = re.compile(r"(?:\*\*)?\[?wsws\.org/contact\]?(?:\([^()\s]{0,200}\))?(?:\*\*)?", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # C0/C1 controls but tab, newline, \v, \f
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])  # its C0 part and DEL, as bytes
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")  # a C1 character in UTF-8


def _squash(s: str) -> str:
    """Collapse runs of spaces (and tabs, no-break spaces) to one space.

    Most paragraphs have nothing to collapse: plain substring checks are far cheaper than
    letting the regex look at every space.
    """
    if "  " in s or "\t" in s or "\u00a0" in s or "\f" in s or "\v" in s:
        return _SPACES.sub(" ", s)
    return s


def _control_count(sample: str) -> int:
    """How many C0/C1 control characters (tab, newline, \\v, \\f aside) ``sample`` holds.

    Counted on the UTF-8 bytes in C rather than by the regex engine (which costs ~10 ns per
    character): a C0 byte or DEL in UTF-8 is always that character, and a C1 character is
    always ``\\xc2`` followed by 0x80-0x9f.
    """
    b = sample.encode("utf-8", "surrogatepass")
    n = len(b) - len(b.translate(None, _CONTROL_BYTES))
    if b"\xc2" in b:
        n += len(_C1_UTF8.findall(b))
    return n


def decode(data: bytes, path: str | None = None) -> str:
    """Bytes to text: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252.

    Line ends become ``\\n``. Raises ParseError for binary data.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ParseError(path, "not-text", "not text: invalid UTF-16") from None
    else:
        if b"\x00" in data:
            raise ParseError(path, "not-text", "not text: the file contains NUL bytes (binary?)")
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.lstrip("\ufeff")
    if text:
        sample = text[:65536]
        bad = _control_count(sample)
        if "\x00" in sample or bad > len(sample) * 0.1:
            raise ParseError(path, "not-text", "not text: mostly control characters")
    return unicodedata.normalize("NFC", text)


# Words that make a line a place, not a person ("Lansdowne Road", "Wembley Stadium").
_PLACE_WORDS = frozenset((
    "road", "street", "avenue", "boulevard", "lane", "stadium", "arena", "square", "plaza", "airport",
    "station", "university", "hospital", "cathedral", "museum", "theatre", "theater", "palace", "castle",
    "hotel", "centre", "center", "republic", "kingdom", "islands",
))
# ... of which these are also surnames ("Jo Lane", "Picabo Street", "Barbara Castle"): the last word
# of a name on a line of its own directly above the date line.
_SURNAME_PLACES = frozenset(("lane", "street", "castle"))
_WEEKDAYS = frozenset(d.lower() for d in calendar.day_name) | frozenset(d.lower() for d in calendar.day_abbr)
# A news dateline: an upper-case place (and region), then a date and/or an agency, then a dash:
# "LONDON, April 3 (Reuters) - ", "ANKARA, Turkey (AP) — ".
# A dateline's place: upper case, perhaps a region after a comma ("LONDON", "ANKARA, Turkey").
_PLACE = r"[A-Z][A-Z.'’ -]{1,40}(?:,\s*[A-Z][\w.'’ -]{1,40})?"
_DATELINE = re.compile(
    _PLACE +
    rf"(?P<date>,?\s+(?i:{_MONTH_RE})\.?\s+\d{{1,2}}(?:,\s*\d{{4}})?)?"
    r"\s*(?P<agency>\([^()\n]{1,40}\))?\s*[-–—]{1,2}(?:\s+|$)"
)


def dateline_length(line: str) -> int:
    """How many characters of ``line`` a leading news dateline takes (0 if there is none)."""
    m = _DATELINE.match(line.strip())
    if m is None or not (m["date"] or m["agency"]):
        return 0
    return len(line) - len(line.lstrip()) + m.end()


def parse_byline(line: str, dated_next: bool = False) -> list[str] | None:
    """Author names from a byline (``A``, ``A and B``, ``A, B and C``, ``By A``), or None.

    None means "this does not look like a byline": too long, a sentence, a date, a place
    (``ANKARA, Turkey``, ``Lansdowne Road, Dublin``), a dateline. Without ``By`` every name has
    two to six capitalised words (particles like ``van`` aside); ``dated_next``: the date line
    follows, and a name may then end in a place word that is also a surname ("Jo Lane").
    """
    s = _squash(plain_inline(line)).strip()
    if (not s or len(s) > 200 or (s[-1] in ".!?:;\"”" and not _NAME_DOT.search(s)) or HEADING.match(s)
            or dateline_length(s)):
        return None
    if has_cjk_bytes(s) and cjk_char().search(s):  # a CJK credit is told by its label, having no capitals
        cjk = cjk_byline(s)
        return list(clean_credits(cjk)) if cjk else None
    by = _BY.match(s) is not None
    s = _BY.sub("", s, count=1) if by else s
    names = _credit_names(s)
    if not names:
        return None
    for n in names:
        words = n.split()
        if len(words) > 6 or any(c.isdigit() for c in n):
            return None
        if by:
            if not any(w[0].isupper() for w in words if w[0].isalpha()):
                return None
            continue
        if len(words) < 2:
            return None
        lowered = [w.lower().strip(".,'’") for w in words]
        surname = dated_next and len(words) <= 3 and lowered[-1] in _SURNAME_PLACES
        if any((w in _PLACE_WORDS and not (surname and k == len(lowered) - 1)) or w in _WEEKDAYS
               for k, w in enumerate(lowered)):
            return None
        named = [w for w, low in zip(words, lowered, strict=True) if low not in PARTICLES]
        if not named or any(not w[0].isupper() for w in named):
            return None
        if any(len(w) > 3 and w.isupper() for w in named):  # ANKARA, LONDON: a place in capitals
            return None
    return list(clean_credits(tuple(names)))  # the cleaning every format's credits get


_PLACE_LINE = re.compile(_PLACE)


def _between(line: str) -> str | None:
    """What a line a header may hold between a byline and the date line is: "place" (a dateline's,
    "LONDON", "ANKARA, Turkey"), "role" ("Staff Writer"), else None."""
    s = line.strip()
    return None if not s else "place" if _PLACE_LINE.fullmatch(s) else "role" if is_role(s) else None


@functools.lru_cache(maxsize=8192)
def _credit_names(s: str) -> tuple[str, ...]:
    """The names a byline (its "By" gone) lists, each a candidate to check: parts split at commas,
    "and" and other languages' "and" between full names; an agency, an outlet or a role beside a
    name set aside ("Jane Doe, Reuters", "Jane Doe (AFP)", "Jane Doe — Staff reporter"), and an
    editor's credit ("; Editing by John Roe"). Kept per byline: a collection names the same people
    again and again."""
    if (paren := _CREDIT_PAREN.search(s)) and is_org(paren[1], []):
        s = s[: paren.start()]
    names: list[str] = []
    for k, part in enumerate(_CREDIT_PARTS.split(s)):
        if k and _NOT_WRITING.match(part):
            continue
        if k and (by := _BY.match(part)):  # "; Additional reporting by John Roe"
            part = part[by.end():]
        for n in LIST_SPLIT.split(part):
            names += [x.strip(" ,") for x in co_authors(n) if x.strip(" ,")]
    people = [n for n in names if not is_org(n, []) and not is_role(n)]
    return tuple(people if people and len(people) < len(names) else names)


def _byline_and_date(line: str, order: str) -> tuple[list[str], DateLine] | None:
    """A byline and the date on one line ("Jane Doe | 19 November 2019", "By Jane Doe, Nov. 19,
    2019", "Jane Doe - November 19, 2019"), or a dateline's place and the date ("LONDON, Nov. 19,
    2019"): its names and date, else None."""
    for sep in reversed(list(_BYLINE_DATE.finditer(line))):
        got = read_date(line[sep.end():], order)
        if got is not None:
            left = line[: sep.start()].strip()
            if left.isupper() and len(left.split()) <= 3:  # a dateline's place: "LONDON, Nov. 19, 2019"
                return [], got
            names = parse_byline(left, dated_next=True)
            return (names, got) if names else None
    return None


def plain_inline(text: str) -> str:
    """Remove Markdown emphasis, code ticks and link syntax, keeping the text."""
    if "[" in text:
        for _ in range(2):  # "[![alt](image)](link)": the image, then the link around it
            text, n = _IMAGE_OR_LINK.subn(r"\1", text)
            if not n:
                break
        text = _REF_LINK.sub(r"\1", text)
    if "<" in text:
        text = _AUTOLINK.sub(r"\1", text)
    if "*" in text or "_" in text or "~" in text:
        text = _strip_emphasis(text)
    if "`" in text:
        text = _strip_code(text)
    return text


def _strip_emphasis(text: str) -> str:
    """Remove paired emphasis markers (``**a**``, ``*a*``, ``__a__``, ``_a_``, ``~~a~~``), keep the
    rest. Linear: one pass finds the markers, one pairs each opener with the next closer."""
    n = len(text)
    open_at: dict[str, int] = {}
    drop: list[tuple[int, int]] = []
    for m in _MARK.finditer(text):
        mark, a, b = m.group(), m.start(), m.end()
        before = text[a - 1] if a else " "
        after = text[b] if b < n else " "
        # No word character may touch the outside of a marker: snake_case, 5*3 stay as they are.
        can_close = not before.isspace() and not after.isalnum()
        can_open = not after.isspace() and not before.isalnum() and before not in "*_~"
        start = open_at.get(mark)
        if can_close and start is not None and start + len(mark) < a:
            drop.append((start, start + len(mark)))
            drop.append((a, b))
            del open_at[mark]
        elif can_open:
            open_at[mark] = a
    return _cut(text, drop)


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the (non-overlapping) ``spans``."""
    if not spans:
        return text
    out, pos = [], 0
    for a, b in sorted(spans):
        out.append(text[pos:a])
        pos = b
    out.append(text[pos:])
    return "".join(out)


def _strip_code(text: str) -> str:
    """Remove backtick runs that open and close inline code (same length); a stray one stays."""
    runs = [(m.start(), m.end()) for m in _CODE.finditer(text)]
    pending: dict[int, tuple[int, int]] = {}
    drop: list[tuple[int, int]] = []
    for a, b in runs:
        k = b - a
        if k in pending:
            drop += [pending.pop(k), (a, b)]
        else:
            pending[k] = (a, b)
    return _cut(text, drop)


def _is_heading(par: str) -> bool:
    return HEADING.match(par) is not None


def _is_closed(par: str) -> bool:
    s = par.rstrip().rstrip(_CLOSERS)
    return not s or s[-1] in _ENDINGS


def _is_footer(par: str) -> bool:
    s = _squash(par).strip()
    return bool(_FOOTER_INTRO.fullmatch(s) or _FOOTER_LINK.fullmatch(s))


def _indented(line: str) -> bool:
    return line.startswith(("  ", "\t"))


def _paragraphs(lines: list[str], indented: bool = False) -> list[tuple[str, bool]]:
    """Blank-line separated blocks, each joined into one line, as ``(text, marked)``. With
    ``indented``, a block whose lines are partly indented (newswire text marks paragraphs so) is
    split at each indented line, and those paragraphs are ``marked``: their start is certain,
    never a page break's. A block indented throughout stays one."""
    out: list[tuple[str, bool]] = []
    if not indented or not any(line[:1] in (" ", "\t") for line in lines):
        cur: list[str] = []  # the common case, one pass
        for line in lines:
            if line.strip():
                cur.append(line.strip())
            elif cur:
                out.append((" ".join(cur), False))
                cur = []
        if cur:
            out.append((" ".join(cur), False))
        return out
    block: list[str] = []

    def flush() -> None:
        if not block:
            return
        marks = (indented and len(block) > 1 and any(_indented(x) for x in block)
                 and not all(_indented(x) for x in block[1:]))
        cur: list[str] = []
        for x in block:
            if marks and cur and _indented(x):
                out.append((" ".join(cur), True))
                cur = []
            cur.append(x.strip())
        out.append((" ".join(cur), marks))
        block.clear()

    for line in lines:
        if line.strip():
            block.append(line)
        else:
            flush()
    flush()
    return out


# The address a plain text was saved from, on a line of its own at its top or its end: a bare address,
# or one labelled ("Source: https://…", "URL: <https://…>", "Originally published at https://…").
# (Markdown says it in its front matter: there such a line stays text.)
_SOURCE_LINE = re.compile(r"(?i)(?P<label>(?:source|url|link|original(?:ly published)?(?: at| on)?|read (?:it|more|"
                          r"the original) (?:at|on))\s*:?\s*)?<?(?P<url>https?://[^\s<>]{3,2000}?)>?")
# What a page saved as text ("Save page as", text) prints above its headline: navigation.
_NAV_LINE = re.compile(r"(?i)skip to (?:the )?(?:main )?(?:content|navigation|search|footer)|"
                       r"(?:main |open |close |site )?(?:menu|navigation)|toggle navigation|search|sign (?:in|up)|"
                       r"log ?in|subscribe(?: now)?|home|advertisement|back to top|share(?: this)?|close")
MAX_NAV_LINES = 15
# A list item's line in plain text ("- First point", "* First", "• First", "1. First", "2) Second").
_LIST_ITEM = re.compile(r"[ \t]{0,3}(?:[-*+•–]|\d{1,3}[.)])[ \t]+\S")
_NUMBERED = re.compile(r"[ \t]{0,3}\d")
_ITEM_FIRST = frozenset(" \t-*+•–0123456789")


def _items_apart(lines: list[str]) -> list[str]:
    """Plain text's list items each a paragraph of its own: a blank line before each item's line
    (what follows an item without a blank line, unmarked, is its wrapped text). A numbered line is
    an item only after a blank line, a line ending in ":" or another item: in hard-wrapped text
    "…after May\n1. They are…" is a sentence going on."""
    if not any(x[:1] in _ITEM_FIRST and _LIST_ITEM.match(x) for x in lines):
        return lines
    out: list[str] = []
    item = False  # the last line with text was (part of) an item
    for x in lines:
        if x[:1] in _ITEM_FIRST and _LIST_ITEM.match(x):
            prev = out[-1].strip() if out else ""
            if not _NUMBERED.match(x) or not prev or prev.endswith(":") or item:
                if prev:
                    out.append("")
                item = True
        elif not x or x.isspace():
            item = False
        out.append(x)
    return out


def _same_title(line: str, title: str) -> bool:
    return _squash(plain_inline(line.strip().lstrip("#").strip())).strip().casefold() == title.casefold()


def parse_text(text: str, path: str | None = None, *, title: str | None = None, order: str = "dmy",
               indented: bool = True, rejoin: bool = True, byline_lines: bool = True,
               date_lines: bool = True) -> ParsedArticle:
    """Parse decoded text into an article's fields.

    ``title`` is given when it is known already (front matter): then the text has no title
    line, and a leading heading that repeats the title is dropped rather than kept as body.
    ``order`` reads ambiguous numeric dates (``dmy`` or ``mdy``); ``indented``: an indented line
    starts a paragraph (plain text; Markdown's indentation means code). ``byline_lines`` and
    ``date_lines``: whether the lines after the title may give the authors and the date (not
    when front matter gave them: such a line is then the body's).
    """
    lines = text.split("\n")
    n = len(lines)
    i = 0
    while i < n and not lines[i].strip():
        i += 1
    if title is None:
        if rejoin:  # a web page saved as text begins with its navigation: "Skip to main content", "Menu"
            k, nav = i, []
            while k < n and k < i + MAX_NAV_LINES and (not lines[k].strip() or _NAV_LINE.fullmatch(lines[k].strip())):
                nav += [lines[k].strip().lower()] if lines[k].strip() else []
                k += 1
            # Two such lines, or a "Skip to" link: one word ("Home", "Search") may be a title.
            if k < n and (len(nav) >= 2 or any(x.startswith("skip to") for x in nav)):
                i = k
        if i == n:
            raise ParseError(path, "empty", "empty: the file has no text")
        raw_title = _TITLE_LABEL.sub("", lines[i].strip(), count=1)
        i += 1
        if i < n and _UNDERLINE.fullmatch(lines[i].strip()):  # "Title\n=====": a heading's underline
            i += 1
        title = _squash(plain_inline(raw_title.lstrip("#").strip())).strip()
    elif i < n and _same_title(lines[i], title):
        i += 1
    if not title:
        raise ParseError(path, "no-title", "no title: the first line has no text")
    if len(title) > MAX_TITLE_CHARS:
        raise ParseError(
            path, "no-title",
            f"no title: the first line is {len(title)} characters, too long for a title",
        )

    # Header: a few lines right after the title (blank lines allowed between): a byline, the
    # date (a published one wins over an updated one), and a date line that cannot be read,
    # which is dropped rather than taken for body text.
    authors: list[str] = []
    published: dt.date | None = None
    updated: dt.date | None = None
    url: str | None = None
    warnings: list[str] = []
    seen = 0
    dateline_next = False
    dates: dict[int, DateLine | None] = {}  # each header line read as a date once (a byline looks at the next one)

    def date_at(k: int) -> DateLine | None:
        if k not in dates:
            dates[k] = read_date(lines[k], order) if k < n else None
        return dates[k]

    def next_text(k: int) -> int:
        """The first line with text after ``k`` (two blank lines at most between), else ``k + 3``."""
        j = k + 1
        while j < n and j < k + 3 and not lines[j].strip():
            j += 1
        return j

    def date_below(k: int) -> DateLine | None:
        """The date line at ``k``, or under a place or a role line there ("LONDON", "Staff Writer")."""
        got = date_at(k)
        if got is None and k < n and _between(lines[k]):
            got = date_at(next_text(k))
        return got

    places: list[str] = []  # a dateline's place on a line of its own above the date: the body's start

    while i < n and seen < 4:
        while i < n and not lines[i].strip():
            i += 1
        if i == n:
            break
        line = lines[i]
        if rejoin and url is None and "http" in line and (src := _SOURCE_LINE.fullmatch(line.strip())):  # saved from
            url = src["url"]
            i += 1
            seen += 1
            continue
        got = date_at(i) if date_lines else None
        can_byline = byline_lines and not authors and published is None and updated is None
        nxt = lines[i + 1] if i + 1 < n else ""
        k = next_text(i)  # a date line may follow a byline after a blank line
        nxt_date = date_below(k) if got is None and can_byline else None
        if got is not None:
            if got.updated:
                updated = updated or got.date
            elif published is None:
                published = got.date
        elif can_byline and (names := parse_byline(line, date_lines and nxt_date is not None)) is not None:
            # A byline must be a line of its own or be followed by the date line or a dateline.
            dateline_next = bool(nxt.strip()) and dateline_length(nxt) > 0
            if nxt.strip() and nxt_date is None and not looks_like_date(nxt) and not dateline_next:
                break
            authors = names
        elif can_byline and date_lines and (both := _byline_and_date(line, order)) is not None:
            authors, got = both
            if got.updated:
                updated = got.date
            else:
                published = got.date
        elif date_lines and looks_like_date(line):
            warnings.append(f"date line {line.strip()[:60]!r} not understood: left out of the body")
        elif date_lines and published is None and updated is None and (kind := _between(line)) and date_at(k):
            if kind == "place":  # "ANKARA, Turkey / 26 February 1987": the place stays, as a dateline
                places.append(line.strip())  # (a role, "Jane Doe / Staff Writer / 26 February 1987", goes)
        else:
            break
        i += 1
        seen += 1
        if dateline_next:
            break
    published = published or updated
    rest = [*places, "", *lines[i:]] if places else lines[i:]
    if byline_lines and not authors:  # "【ロンドン＝岡田浩幸】…": the first paragraph's dateline names the reporter
        authors = list(dateline_writers(next((x.lstrip() for x in rest if x.strip()), "")))
    if dateline_next and rest:
        # "By A" directly followed by "LONDON, April 3 (Reuters) - The ...": the body starts after it.
        rest = [rest[0][dateline_length(rest[0]):], *rest[1:]]

    if rejoin:
        rest = _items_apart(rest)
    pars = [(_squash(plain_inline(p)).strip(), marked) for p, marked in _paragraphs(rest, indented)]
    pars = [(p, marked) for p, marked in pars if p]
    while pars and _is_footer(pars[-1][0]):
        pars.pop()
    if (rejoin and pars and (src := _SOURCE_LINE.fullmatch(pars[-1][0])) and src["label"]
            and (url is None or src["url"] == url)):
        url = src["url"]  # "Source: https://…" closing the text: the address, not a paragraph (a bare link stays)
        pars.pop()
    joined: list[str] = []
    for p, marked in pars:
        if (
            rejoin  # Markdown: a blank line is a paragraph break, always (a code block ends unpunctuated)
            and joined
            and not marked
            and not _is_heading(p)
            and not _is_heading(joined[-1])
            and not _is_closed(joined[-1])
            and not _LIST_ITEM.match(p)  # a list's items are its paragraphs: never a page break's halves
            and not _LIST_ITEM.match(joined[-1])
        ):
            joined[-1] = joined[-1] + " " + p
        else:
            joined.append(p)
    body = "\n\n".join(joined)
    if not body:
        raise ParseError(path, "no-body", "no body: nothing follows the title and byline")
    return ParsedArticle.of(title, tuple(authors), published, body, warnings=tuple(warnings),
                            date_source="text" if published else None, url=url)
