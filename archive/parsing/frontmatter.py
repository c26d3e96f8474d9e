"""Markdown with front matter, as web clippers (Obsidian Web Clipper, MarkDownload) and static
sites (Jekyll, Hugo) write it: a YAML block between ``---`` lines or TOML between ``+++`` lines,
then Markdown. Fields the block lacks come from the text rules (archive.parsing.text)."""

from __future__ import annotations

import bisect
import datetime as dt
import re
from typing import Any

from archive.errors import ParseError
from archive.models import EARLIEST, ParsedArticle
from archive.parsing.bylines import clean_credits
from archive.parsing.dates import date_in_path, parse_date
from archive.parsing.names import LIST_SPLIT, PERSON
from archive.parsing.spans import cut_spans, end_tag
from archive.parsing.tags import tag_list
from archive.parsing.text import parse_text

_YAML_OPEN, _TOML_OPEN = "---", "+++"
_WIKI = re.compile(r"\[\[([^\[\]|]{1,300})(?:\|([^\[\]]{1,300}))?\]\]")
_ISO_PREFIX = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_EPOCH = re.compile(r"\d{10}(?:\d{3})?")  # seconds (or milliseconds) since 1970, as some exporters write a date
_TAG_SPLIT = re.compile(r"\s+")  # Jekyll's "tags: news politics"; a value with commas is a comma list (tag_list)
MAX_BLOCK = 256 * 1024  # characters of front matter; more is not metadata


def _epoch_date(n: float) -> dt.date | None:
    """The UTC date of a Unix time in seconds (ten digits: from 2001), or in milliseconds (thirteen);
    None for any other number (a bare year is no date)."""
    if 1e12 <= n < 1e13:
        n /= 1000
    if not 1e9 <= n < 1e10:
        return None
    try:
        return dt.datetime.fromtimestamp(n, dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


def split_front_matter(text: str) -> tuple[str, str, str] | None:
    """``(kind, block, rest)`` when ``text`` opens with a front-matter block, else None.
    ``kind`` is ``yaml`` or ``toml``. An opening line without a closing one is no block."""
    first, nl, rest = text.partition("\n")
    fence = first.strip()
    if not nl or fence not in (_YAML_OPEN, _TOML_OPEN):
        return None
    closers = ("---", "...") if fence == _YAML_OPEN else ("+++",)
    pos = 0
    while pos <= len(rest):
        end = rest.find("\n", pos)
        line = rest[pos:] if end < 0 else rest[pos:end]
        if line.strip() in closers and line.strip() == line.rstrip():
            block = rest[:pos]
            if len(block) > MAX_BLOCK:
                return None
            return ("yaml" if fence == _YAML_OPEN else "toml", block, "" if end < 0 else rest[end + 1 :])
        if end < 0 or pos > MAX_BLOCK:
            return None
        pos = end + 1
    return None


def _yaml_loader() -> Any:
    """PyYAML's safe loader, except that a timestamp it cannot build (``date: 2017-02-30``, a
    common typo) stays the text it is, for the date rules to judge, instead of failing the block."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc,valid-type]
        pass

    def timestamp(loader: Any, node: Any) -> Any:
        try:
            return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
        except (ValueError, OverflowError):
            return loader.construct_scalar(node)

    Loader.add_constructor("tag:yaml.org,2002:timestamp", timestamp)
    return Loader


_LOADER: Any = None
_TOP_KEY = re.compile(r"^(?:[\"']?)([A-Za-z0-9_.-]{1,100})(?:[\"']?)\s*[:=]")
_TOML_TABLE = re.compile(r"^\s*\[")


def _load(kind: str, block: str) -> Any:
    global _LOADER
    if kind == "yaml":
        import yaml

        if _LOADER is None:
            _LOADER = _yaml_loader()
        return yaml.load(block, Loader=_LOADER)
    import tomllib

    return tomllib.loads(block)


def _field_by_field(kind: str, block: str) -> tuple[dict[str, Any], list[str]]:
    """The fields of a block that cannot be read whole for a reason of its values (nesting too
    deep, a number too long): each top-level field read on its own, the bad ones dropped and
    named. A TOML table (``[x]``) and what follows it is dropped whole."""
    entries: list[tuple[str, list[str]]] = []
    for line in block.split("\n"):
        m = _TOP_KEY.match(line)
        if m or (kind == "toml" and _TOML_TABLE.match(line)):
            entries.append((m[1] if m else line.strip()[:60], [line]))
        elif entries:
            entries[-1][1].append(line)
    data: dict[str, Any] = {}
    dropped: list[str] = []
    in_table = False
    for key, lines in entries:
        in_table = in_table or (kind == "toml" and _TOML_TABLE.match(lines[0]) is not None)
        if in_table:
            dropped.append(key)
            continue
        try:
            part = _load(kind, "\n".join(lines))
        except (RecursionError, ValueError, OverflowError, MemoryError, TypeError) as exc:
            dropped.append(f"{key} ({type(exc).__name__})")
            continue
        except Exception:  # noqa: BLE001 - a syntax error of one field: that field goes
            dropped.append(key)
            continue
        if isinstance(part, dict):
            data.update(part)
    return data, dropped


def _unclosed(text: str) -> bool:
    """A file that opens a front-matter block (``---`` then ``key: value`` lines) and never
    closes it: not an article whose title is ``---``."""
    lines = text.lstrip("\ufeff").split("\n", 3)
    return (len(lines) > 1 and lines[0].strip() in (_YAML_OPEN, _TOML_OPEN)
            and _TOP_KEY.match(lines[1].strip()) is not None)


def load_block(kind: str, block: str, path: str | None) -> dict[str, Any]:
    """The block as a mapping (``_warnings``: fields that had to be dropped). YAML is read with
    the safe loader only (no object tags)."""
    import yaml

    warnings: list[str] = []
    try:
        data = _load(kind, block)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ParseError(path, "bad-front-matter", f"front matter is not valid YAML: {problem}{where}") from None
    except (RecursionError, ValueError, OverflowError, MemoryError) as exc:
        if kind == "toml" and type(exc).__name__ == "TOMLDecodeError":
            raise ParseError(path, "bad-front-matter", f"front matter is not valid TOML: {exc}") from None
        data, dropped = _field_by_field(kind, block)
        warnings = [f"front matter field {d} could not be read: dropped" for d in dropped]
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParseError(path, "bad-front-matter",
                         f"front matter is a {type(data).__name__}, not a mapping of fields")
    out = {str(k).lower(): v for k, v in data.items()}
    out["_warnings"] = warnings
    return out


def _text(value: Any) -> str | None:
    """A scalar as one clean line of text; wiki links become their text; a mapping with a
    ``name`` (``author: {name: Jane Doe, url: …}``, as Jekyll and Hugo themes write) is its name."""
    if isinstance(value, dict):
        value = value.get("name")
    if value is None or isinstance(value, (dict, list, tuple, bool)):
        return None
    s = _WIKI.sub(lambda m: (m[2] or m[1]).strip(), str(value))
    s = " ".join(s.split())
    return s or None


_AND = re.compile(r"\s+(?:and|&)\s+")
_ONE_WORD = re.compile(r"@?[\w.-]{2,40}")  # a one-word credit: "davidtwco", "Lokathor", "TC", "@mark-i-m"


def _credit_items(items: list[str], split: re.Pattern[str]) -> tuple[str, ...]:
    """A front matter's author items, one joining people (by ``split``) split into them when each
    is a name or a one-word handle ("davidtwco and wesleywiser"; "Mac & i" stays: one letter is no
    one's handle, nor are initials in capitals, "Eric Huss & TC"). A list item's commas are
    co_authors' to split (every part a full name: "Smith, John" is one)."""
    out: list[str] = []
    for item in items:
        parts = [p for p in split.split(item) if p]
        # (initials in capitals stay joined: alone, "TC" would read as an outlet's and be dropped)
        ok = len(parts) > 1 and all((PERSON.match(p) or _ONE_WORD.fullmatch(p)) and not p.isupper() for p in parts)
        out += parts if ok else [item]
    return tuple(out)


def _preview(value: Any) -> str:
    """A value as a warning quotes it: a scalar's first 40 characters, a list or a mapping by its
    kind (never written out whole: YAML's aliases make a list of a few lines billions of items)."""
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"a mapping of {len(value)}"
    return repr(str(value)[:40])


def _tags(value: Any) -> list[str]:
    """A tags or categories field: a list, or one string of tags (split at its commas when it has
    any, as tag_list does; else at spaces, as Jekyll does)."""
    if isinstance(value, str) and "," in value:
        return [_WIKI.sub(lambda m: (m[2] or m[1]), value)]  # tag_list splits it
    return _list(value, _TAG_SPLIT)


def _list(value: Any, split: re.Pattern[str] | None) -> list[str]:
    """A list field: a YAML/TOML list, or one string split by ``split``."""
    items: list[Any]
    if isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, str) and split is not None:
        items = [p for p in split.split(_WIKI.sub(lambda m: (m[2] or m[1]), value)) if p]
    elif value is None:
        items = []
    else:
        items = [value]
    out: list[str] = []
    for it in items:
        t = _text(it)
        if t and t not in out:
            out.append(t)
    return out


def front_matter_date(value: Any) -> dt.date | None:
    """A publication date from any ISO form, a datetime with offset, a plain date, or the text
    forms of the article rules; None when it is none of these or out of range."""
    d: dt.date | None = None
    if isinstance(value, dt.datetime):
        d = value.date()
    elif isinstance(value, dt.date):
        d = value
    elif (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and _EPOCH.fullmatch(value.strip())):
        d = _epoch_date(float(value))
    elif isinstance(value, str):
        s = value.strip()
        try:
            d = dt.datetime.fromisoformat(s.replace("Z", "+00:00")).date()
        except ValueError:
            if m := _ISO_PREFIX.match(s):  # "2023-11-02T09:15:00 (UTC +01:00)" and the like
                try:
                    d = dt.date(int(m[1]), int(m[2]), int(m[3]))
                except ValueError:
                    d = None
            else:
                d = parse_date(s)
    if d is None or not EARLIEST <= d <= dt.date.today() + dt.timedelta(days=366):
        return None
    return d


def _strip_excerpt(rest: str) -> str:
    """MarkDownload writes ``# Title``, a ``> ## Excerpt`` quote and a ``---`` rule before the
    article: the quote and the rule are not body."""
    lines = rest.split("\n")
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].lstrip().startswith("# "):
        i += 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or not re.match(r">\s*#{1,6}\s*excerpt\s*$", lines[i].strip(), re.I):
        return rest
    j = i
    while j < len(lines) and lines[j].lstrip().startswith(">"):
        j += 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    if j < len(lines) and lines[j].strip() in ("---", "***", "___"):
        j += 1
    return "\n".join(lines[:i] + lines[j:])


# What static-site Markdown carries that is not the article's text (issue 23): template tags (Jekyll's
# Liquid, Hugo's shortcodes), HTML comments, style and script blocks, inline HTML tags (the text
# inside stays), link definitions ("[install]: https://..."), backslash escapes.
# A backslash before any of them makes it text (what archive's Markdown export writes for text that
# looks like markup, so that an export re-ingests to the same body).
# Spans cut by spans.cut_spans (one pass: an opening never closed is not read to the end again).
_TEMPLATE_OPEN = re.compile(r"(?<!\\)\{%-?\s*(raw|comment)\s*-?%\}")
_TEMPLATE = re.compile(r"(?<!\\)(?:\{%.{0,2000}?%\}|\{\{.{0,2000}?\}\})", re.S)
_COMMENT_OPEN = re.compile(r"(?<!\\)<!--")
_COMMENT_CLOSE = re.compile(r"-->")
_BLOCK_OPEN = re.compile(r"(?<!\\)<(style|script)\b[^>]{0,2000}>", re.I)
_END_TEMPLATE = {kind: re.compile(rf"\{{%-?\s*end{kind}\s*-?%\}}") for kind in ("raw", "comment")}
_BREAK = re.compile(r"(?<!\\)<br\s*/?>", re.I)
# HTML's own tag names only: "From<Box<T>>" in a Rust post is code, not markup.
_TAG_NAMES = ("a|abbr|article|aside|audio|b|blockquote|br|button|caption|center|cite|code|col|colgroup|dd|del|"
              "details|dfn|div|dl|dt|em|figcaption|figure|font|footer|form|h[1-6]|header|hr|i|iframe|img|input|"
              "ins|kbd|label|li|mark|nav|ol|option|p|picture|pre|q|s|samp|section|select|small|source|span|"
              "strong|sub|summary|sup|table|tbody|td|textarea|tfoot|th|thead|time|tr|u|ul|var|video|wbr")
_HTML_TAG = re.compile(rf"(?<!\\)</?(?i:{_TAG_NAMES})(?:\s[^<>]{{0,2000}})?/?>")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]{1,200}\]:\s*\S+.*$", re.M)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_LINK_LABEL = re.compile(r"^ {0,3}\[([^\]\n]{1,200})\]:", re.M)
_SHORTCUT = re.compile(r"(?<![\\\]!])\[([^\[\]\n]{1,200})\](?![(\[:])")
_FENCE_CLOSE = re.compile(r" {0,3}(```+|~~~+)[ \t]*")  # a line that closes the fence its run opened
_TRIPLE = re.compile(r"(?<![*\w\\])\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*(?![*\w])")
# What markdown_text would take for markup, escaped: archive.export writes text through this.
# (A link definition's "[" and a fence's backticks or tildes are escaped as inline markup, below.)
_LOOKS_LIKE_MARKUP = re.compile(r"\\(?=[!-/:-@\[-`{-~])|<(?=[A-Za-z/!])|\{(?=[{%])|\*\*\*|\|")


# What starts a Markdown list item: a bullet, or a number and "." or ")" (CommonMark); read by
# _blocks, escaped by the export.
_MARKER = r"(?:[-*+]|\d{1,9}[.)])"
# A line that would start a list item: its marker escaped ("\\- item", "1\\. first").
_ITEM_START = re.compile(rf"^( {{0,3}})({_MARKER})(?=[ \t])", re.M)
_QUOTE_START = re.compile(r"^( {0,3})>", re.M)  # a line that would start a quote


def markdown_escape(text: str) -> str:
    """``text`` with what :func:`markdown_text` would remove or change, and the inline markup
    the text rules read (emphasis, code ticks, link brackets), escaped by a backslash."""
    text = _LOOKS_LIKE_MARKUP.sub(lambda m: "\\" + m[0] if m[0] else "\\", text)
    text = _ITEM_START.sub(lambda m: m[1] + m[2][:-1] + "\\" + m[2][-1], text)  # "\\- item", "1\\. first"
    text = _QUOTE_START.sub(r"\1\\>", text)
    return _INLINE_MARKUP.sub(r"\\\g<0>", text)


# An escaped character while the text rules read a Markdown body: a character of a private plane
# (U+F0000 + its code), so that "\_x\_" is never taken for emphasis; put back by restore_escapes.
_PROTECT_BASE = 0xF0000
_PROTECTED = re.compile("[\U000F0021-\U000F007E]")
_INLINE_MARKUP = re.compile(r"(?<!\\)[*_~`\[]")


def restore_escapes(text: str) -> str:
    """Text the text rules read from :func:`markdown_text` (``protect=True``) with each escaped
    character as written."""
    return _PROTECTED.sub(lambda m: chr(ord(m[0]) - _PROTECT_BASE), text) if _PROTECTED.search(text) else text


# Blocks that are paragraphs of their own, as a Markdown renderer makes them: a list item (its
# marker kept: "- item", "1. first"), a quote (its ">" gone), a table's row (its cells joined by
# " | ", the rule under the header row gone); a footnote's text ("[^1]: …" as "^1 …", as its mark
# in the text reads). What follows a block's line without a blank line is its lazy continuation.
_ITEM = re.compile(rf" {{0,3}}{_MARKER}[ \t]+\S")
_QUOTE = re.compile(r" {0,3}>[ \t]?")
_ROW = re.compile(r" {0,3}\|?[^|\n]*\|.*")
_RULE_ROW = re.compile(r" {0,3}\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)+\|?\s*|\s*\|\s*:?-{1,}:?\s*\|\s*")
_FOOTNOTE = re.compile(r" {0,3}\[\^([^\]\s]{1,40})\]:[ \t]*")
_FENCE_LINE = re.compile(r" {0,3}(```+|~~~+)")
_FOOTNOTE_REF = re.compile(r"(?<!\\)\[\^([^\]\s]{1,40})\](?!:)")


def _blocks(body: str) -> str:
    """List items, quotes, table rows and footnotes each a paragraph of its own (see _ITEM);
    fenced code untouched."""
    lines = body.split("\n")
    out: list[str] = []
    fence: str | None = None
    table = False
    for k, line in enumerate(lines):
        if fence is not None:
            out.append(line)
            if line.strip().startswith(fence):
                fence = None
            continue
        if m := _FENCE_LINE.match(line):
            fence = m[1]
            out.append(line)
            continue
        if not line.strip():
            table = False
            out.append(line)
            continue
        nxt = lines[k + 1] if k + 1 < len(lines) else ""
        if table or (_ROW.fullmatch(line) and _RULE_ROW.fullmatch(nxt) and "|" in nxt):
            table = True
            if not _RULE_ROW.fullmatch(line):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                out += ["", " | ".join(cells), ""]
            continue
        if _ITEM.match(line):
            out += ["", line]
        elif q := _QUOTE.match(line):
            if not out or not _QUOTE.match(lines[k - 1] if k else ""):
                out.append("")
            out.append(line[q.end():])
        elif f := _FOOTNOTE.match(line):
            out += ["", f"^{f[1]} {line[f.end():]}"]
        else:
            out.append(line)
    return "\n".join(out)


def _fenced_apart(body: str) -> str:
    """Each fenced code block's text a paragraph of its own, its fences gone: from a line opening
    it (``` or ~~~, perhaps with an info string) to the next line of the same run alone; an
    opening never closed stays as it is. Closing lines are indexed first, so that a text of
    openings never closed is read once."""
    lines = body.split("\n")
    closers: dict[str, list[int]] = {}
    for k, line in enumerate(lines):
        if (c := _FENCE_CLOSE.fullmatch(line)) is not None:
            closers.setdefault(c[1], []).append(k)
    out: list[str] = []
    k = 0
    while k < len(lines):
        m = _FENCE_LINE.match(lines[k])
        run = closers.get(m[1], []) if m is not None else []
        at = bisect.bisect_right(run, k)  # the first closing line after this one
        end = run[at] if at < len(run) else None
        if end is None:
            out.append(lines[k])
            k += 1
            continue
        out += ["", "\n".join(lines[k + 1 : end]).strip("\n"), ""]
        k = end + 1
    return "\n".join(out)


def markdown_text(body: str, protect: bool = False) -> str:
    """A Markdown body with what is not text removed; a fenced code block stays, a paragraph of
    its own (never run into the text after it). ``protect``: escaped characters are left as
    placeholders (see restore_escapes) for the text rules, which read emphasis and links."""
    if "{" in body:
        body = cut_spans(body, _TEMPLATE_OPEN, lambda m: _END_TEMPLATE[m[1]])
        body = _TEMPLATE.sub("", body)
    if "<" in body:
        body = cut_spans(body, _COMMENT_OPEN, lambda m: _COMMENT_CLOSE)
        body = cut_spans(body, _BLOCK_OPEN, end_tag)
        body = _BREAK.sub(" ", body)
        body = _HTML_TAG.sub("", body)
    body = _blocks(body)
    if "[^" in body:
        body = _FOOTNOTE_REF.sub(r"^\1", body)
    if "]:" in body:
        labels = {m[1].casefold() for m in _LINK_LABEL.finditer(body)}
        body = _LINK_DEFINITION.sub("", body)
        if labels:  # "[install]" (a shortcut reference to a definition) is its text
            body = _SHORTCUT.sub(lambda m: m[1] if m[1].casefold() in labels else m[0], body)
    if "```" in body or "~~~" in body:
        body = _fenced_apart(body)
    if "***" in body:
        body = _TRIPLE.sub(r"\1", body)
    if "\\" in body:
        body = _ESCAPE.sub((lambda m: chr(_PROTECT_BASE + ord(m[1]))) if protect else r"\1", body)
    return body


# Where front matter gives the publication date, as static sites, clippers and exporters name it
# (lower-cased); failing those and a date line in the text, when it was last updated.
_DATE_KEYS = ("published", "date", "pubdate", "publishdate", "published_at", "published_date", "date_published",
              "datepublished", "publish_date", "pub_date")
_UPDATED_KEYS = ("updated", "lastmod", "last_modified", "modified", "date_modified", "datemodified", "updated_at")
# ... its authors, its address and its site.
_AUTHOR_KEYS = ("authors", "author", "byline", "by", "creator", "creators", "writer", "writers")
_URL_KEYS = ("source", "url", "canonical", "canonical_url", "original_url", "source_url", "link")
_SITE_KEYS = ("site", "site_name", "publisher")


def _restored(a: ParsedArticle) -> ParsedArticle:
    return a._replace(title=restore_escapes(a.title), body=restore_escapes(a.body),
                      authors=tuple(restore_escapes(x) for x in a.authors))


def parse_markdown(text: str, path: str | None = None, order: str = "dmy") -> ParsedArticle:
    """A Markdown file: front matter (if any) first, then the text rules for what it lacks."""
    split = split_front_matter(text)
    if split is None:
        if _unclosed(text):
            if len(text) > MAX_BLOCK:  # perhaps closed further on: more than that is no metadata
                raise ParseError(path, "bad-front-matter", f"the front matter opened on line 1 is not closed "
                                 f"within {MAX_BLOCK // 1024} KiB (a line of --- or +++ ends it)")
            raise ParseError(path, "bad-front-matter", "the front matter opened on line 1 is never closed "
                             "(a line of --- or +++ ends it)")
        plain = parse_text(markdown_text(text, protect=True), path, order=order, indented=False, rejoin=False)
        return _restored(plain)._replace(format="markdown")
    kind, block, rest = split
    meta = load_block(kind, block, path)
    warnings = list(meta.pop("_warnings", []))
    rest = markdown_text(_strip_excerpt(rest), protect=True)
    title = _text(meta.get("title"))
    # Cleaned as every format's credits are: a list item may name several ("Rémy Rakic and Niko
    # Matsakis"), a role or an agency beside a name goes ("Jane Doe, Reuters", "By Jane Doe | The Times").
    author_key = next((k for k in _AUTHOR_KEYS if k in meta), None)
    value = meta.get(author_key) if author_key else None
    # a string is a list of names (split at commas too); a list's items at "and" and "&" only
    authors = list(clean_credits(_credit_items(_list(value, None), LIST_SPLIT if isinstance(value, str) else _AND)))
    # What the front matter speaks of (even to say there is none: "authors: []", "published:") is
    # not looked for in the body's first lines: a date line there is text.
    named = authors or author_key is not None
    dated = any(k in meta for k in _DATE_KEYS)
    parsed = _restored(parse_text(rest, path, title=title, order=order, indented=False, rejoin=False,
                                  byline_lines=not named, date_lines=not dated))
    published, date_source = None, "front-matter"
    for key in _DATE_KEYS:
        if key in meta and (published := front_matter_date(meta[key])) is not None:
            break
        # (Jekyll's "published: true" says whether to publish: no date, nothing to warn of)
        if key in meta and meta[key] not in (None, "") and not isinstance(meta[key], bool):
            warnings.append(f"front matter field {key} is not a date ({_preview(meta[key])}): ignored")
    if published is None and parsed.published is not None:
        published, date_source = parsed.published, "text"
    if published is None:
        published = next((d for k in _UPDATED_KEYS if k in meta and (d := front_matter_date(meta[k]))), None)
    if published is None:  # Zola's path = "2019/09/30/title/", Jekyll's permalink
        for key in ("path", "permalink", "slug"):
            if (published := date_in_path(_text(meta.get(key)))) is not None:
                date_source = "path"
                break
    tags = list(tag_list(_tags(meta.get("tags")) + _tags(meta.get("categories")) + _tags(meta.get("keywords"))))
    url = next((u for k in _URL_KEYS if (u := _text(meta.get(k)))), None)
    site = next((u for k in _SITE_KEYS if (u := _text(meta.get(k)))), None)
    return parsed._replace(
        authors=tuple(authors) or parsed.authors,
        published=published,
        date_source=date_source if published else None,
        url=url,
        site=site,
        tags=tuple(tags),
        format="markdown",
        description=_text(meta.get("description")),
        warnings=tuple(warnings),
    )
