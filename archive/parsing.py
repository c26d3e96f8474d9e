"""Article files in, article fields out (or a :class:`ParseError` with a reason).

Every regular expression here is linear: bounded quantifiers, fixed-width
look-arounds, no nested repetition, so a hostile file cannot make it backtrack.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata

from archive.errors import ParseError
from archive.models import EARLIEST, ParsedArticle

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_TITLE_CHARS = 500

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_DMY = re.compile(rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})\.?,?\s+(\d{{4}})", re.I)
_DATE_MDY = re.compile(rf"({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})", re.I)
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")

_HEADING = re.compile(r"#{1,6}(?:\s|$)")
_BY = re.compile(r"by\s+", re.I)
_NAME_SPLIT = re.compile(r"\s*,\s*(?:and\s+|&\s*)?|\s+(?:and|&)\s+", re.I)
_IMAGE_OR_LINK = re.compile(r"!?\[([^\[\]\n]{0,2000})\]\(\s*[^()\s]{0,4000}(?:\s+\"[^\"\n]{0,500}\")?\s*\)")
_REF_LINK = re.compile(r"\[([^\[\]\n]{1,2000})\]\[[^\[\]\n]{0,200}\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^<>\s]{1,4000})>", re.I)
_STRONG = re.compile(r"\*\*|__|~~")
_EM_OPEN = re.compile(r"(?<![\w*])[*_](?=[^\s*_])")
_EM_CLOSE = re.compile(r"(?<=[^\s*_])[*_](?![\w*])")
_CODE = re.compile(r"`+")
_SPACES = re.compile(r"[ \t\f\v\u00a0]{2,}|[\t\f\v\u00a0]")  # runs to collapse; a lone space stays
_CLOSERS = "\"'”’»)]*_"
_ENDINGS = ".!?:;…"
_FOOTER_INTRO = re.compile(
    r"to contact the wsws? and the socialist equality party,? visit:?", re.I
)
_FOOTER_LINK = re.compile(r"(?:\*\*)?\[?wsws\.org/contact\]?(?:\([^()\s]{0,200}\))?(?:\*\*)?", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # C0/C1 controls but tab, newline, \v, \f
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])  # its C0 part and DEL, as bytes
_C1_UTF8 = tuple(bytes([0xC2, c]) for c in range(0x80, 0xA0))


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
        n += sum(b.count(c1) for c1 in _C1_UTF8)
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


def parse_date(line: str) -> dt.date | None:
    """A publication date line in one of the SPEC forms, or None (also for dates that cannot
    be publication dates: before 1600 or more than a year ahead, as the Article model says)."""
    s = line.strip().rstrip(".")
    if len(s) > 40:
        return None
    try:
        if m := _DATE_ISO.fullmatch(s):
            d = dt.date(int(m[1]), int(m[2]), int(m[3]))
        elif m := _DATE_DMY.fullmatch(s):
            d = dt.date(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
        elif m := _DATE_MDY.fullmatch(s):
            d = dt.date(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
        else:
            return None
    except ValueError:
        return None
    return d if EARLIEST <= d <= dt.date.today() + dt.timedelta(days=366) else None


def parse_byline(line: str) -> list[str] | None:
    """Author names from a byline (``A``, ``A and B``, ``A, B and C``, ``By A``), or None.

    None means "this does not look like a byline" (too long, a sentence, no names).
    """
    s = _squash(plain_inline(line)).strip()
    if not s or len(s) > 200 or s[-1] in ".!?:;\"”" or _HEADING.match(s):
        return None
    s = _BY.sub("", s, count=1) if _BY.match(s) else s
    names = [n.strip(" ,") for n in _NAME_SPLIT.split(s)]
    names = [n for n in names if n]
    if not names:
        return None
    for n in names:
        words = n.split()
        if len(words) > 6 or not any(w[0].isupper() for w in words if w[0].isalpha()):
            return None
    return names


def plain_inline(text: str) -> str:
    """Remove Markdown emphasis, code ticks and link syntax, keeping the text."""
    if "[" in text:
        text = _IMAGE_OR_LINK.sub(r"\1", text)
        text = _REF_LINK.sub(r"\1", text)
    if "<" in text:
        text = _AUTOLINK.sub(r"\1", text)
    if "*" in text or "_" in text or "~" in text:
        text = _STRONG.sub("", text)
        text = _EM_OPEN.sub("", text)
        text = _EM_CLOSE.sub("", text)
    if "`" in text:
        text = _CODE.sub("", text)
    return text


def _is_heading(par: str) -> bool:
    return _HEADING.match(par) is not None


def _is_closed(par: str) -> bool:
    s = par.rstrip().rstrip(_CLOSERS)
    return not s or s[-1] in _ENDINGS


def _is_footer(par: str) -> bool:
    s = _squash(par).strip()
    return bool(_FOOTER_INTRO.fullmatch(s) or _FOOTER_LINK.fullmatch(s))


def _paragraphs(lines: list[str]) -> list[str]:
    """Blank-line separated blocks, each joined into one line."""
    out: list[str] = []
    cur: list[str] = []
    for line in lines:
        if line.strip():
            cur.append(line.strip())
        elif cur:
            out.append(" ".join(cur))
            cur = []
    if cur:
        out.append(" ".join(cur))
    return out


def parse_text(text: str, path: str | None = None) -> ParsedArticle:
    """Parse decoded text into an article's fields."""
    lines = text.split("\n")
    n = len(lines)
    i = 0
    while i < n and not lines[i].strip():
        i += 1
    if i == n:
        raise ParseError(path, "empty", "empty: the file has no text")
    raw_title = lines[i].strip()
    i += 1
    title = _squash(plain_inline(raw_title.lstrip("#").strip())).strip()
    if not title:
        raise ParseError(path, "no-title", "no title: the first line has no text")
    if len(title) > MAX_TITLE_CHARS:
        raise ParseError(
            path, "no-title",
            f"no title: the first line is {len(title)} characters, too long for a title",
        )

    # Header: up to two lines (byline, date) right after the title, blank lines allowed between.
    authors: list[str] = []
    published: dt.date | None = None
    seen = 0
    while i < n and seen < 2:
        while i < n and not lines[i].strip():
            i += 1
        if i == n:
            break
        line = lines[i]
        if published is None and (d := parse_date(line)) is not None:
            published = d
        elif not authors and published is None and (names := parse_byline(line)) is not None:
            # A byline must be a line of its own or be followed by the date line.
            nxt = lines[i + 1] if i + 1 < n else ""
            if nxt.strip() and parse_date(nxt) is None:
                break
            authors = names
        else:
            break
        i += 1
        seen += 1

    pars = [_squash(plain_inline(p)).strip() for p in _paragraphs(lines[i:])]
    pars = [p for p in pars if p]
    while pars and _is_footer(pars[-1]):
        pars.pop()
    joined: list[str] = []
    for p in pars:
        if (
            joined
            and not _is_heading(p)
            and not _is_heading(joined[-1])
            and not _is_closed(joined[-1])
        ):
            joined[-1] = joined[-1] + " " + p
        else:
            joined.append(p)
    body = "\n\n".join(joined)
    if not body:
        raise ParseError(path, "no-body", "no body: nothing follows the title and byline")
    return ParsedArticle(title=title, authors=tuple(authors), published=published, body=body)


def parse_bytes(
    data: bytes, path: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> ParsedArticle:
    """Parse a file's bytes. Raises ParseError with a distinct reason for each failure."""
    if len(data) > max_bytes:
        raise ParseError(
            path, "too-large",
            f"over the size limit: {len(data):,} bytes > {max_bytes:,} (ARCHIVE_MAX_BYTES)",
        )
    if not data.strip():
        raise ParseError(path, "empty", "empty: the file has no text")
    return parse_text(decode(data, path), path)


def parse_file(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedArticle:
    """Read and parse one file; refuses files over ``max_bytes`` before reading them."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ParseError(path, "unreadable", f"cannot read: {exc.strerror or exc}") from None
    return parse_bytes(data, path, max_bytes)
