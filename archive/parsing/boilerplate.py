"""Lines of a saved page's furniture that the extractor keeps in the article's text: ad labels,
"Continue reading the main story", comment counts, share and subscription prompts, links to
related stories, image credits, reply threads.

Each family was found in the real saved pages of ../shared/corpora (BBC, NYT, Refinery29,
PopSugar, Deadline, Fox News, CNN, Salon, reddit...); a paragraph goes only when the whole of it
is one of them, and only when it is short (an article's sentence that mentions a newsletter
stays)."""

from __future__ import annotations

import re

from archive.parsing.dates import looks_like_date, read_date
from archive.parsing.names import OTHER_BY_RE

MAX_FURNITURE_CHARS = 160
_FAMILIES = (
    # ad labels
    r"advertisements?|story continues below advertisement|ad feedback|sponsored(?: content)?",
    # a prompt to read on, alone
    r"continue reading(?: the main story| below)?|read more|read full (?:article|story)|show more|see more",
    # comments: the heading, a count, a reply thread
    r"comments?|-?\s?\d[\d,.]*k?\s+comments?|\d+ more repl(?:y|ies)|-?\s?view (?:other|more) replies",
    # a section or share line under a headline ("- From the section US & Canada")
    r"-?\s?from the section\b.{1,60}|(?:what.s your reaction\?\s?)?share (?:this|on)\b.{0,80}",
    # subscription and app pitches
    r".{0,60}\bnewsletters?|(?:subscribe|sign up)\b.{0,120}|click here to (?:get|download)\b.{0,80}",
    r"for access to all our\b.{0,120}",
    # links to other stories
    r"related(?: (?:videos?|photos?|stories|articles|coverage|content|links))?(?:\s?:\s?.{1,150})?",
    r"(?:more|also|recommended|most read|most popular|trending)"
    r"(?: from [^:]{1,40}| stories| on [^:]{1,40})?:\s?.{0,150}",
    # image credits (a caption stays)
    r"\[?(?:featured )?image (?:by|copyright|credit|source)\b.{1,100}\]?|\(?(?:photo|image): .{1,60}\)?",
    # shopping widgets
    r"-?\s?(?:see it now|buy now|shop now)\b.{0,60}",
    # copyright notices as Japanese, Chinese and Korean sites print them under (or over) the text
    r"(?:.{0,60}\s)?(?:無断転載(?:禁止|を禁じます|・複製を禁じます)|(?:©.{0,40})?版权所有.{0,60}|未经(?:许可|授权).{0,20}转载.{0,40}|"
    r".{0,60}무단\s?전재.{0,10}재배포\s?금지.{0,40})",
    # a gallery's controls and the recommendations under an article
    r"previous|next|close|fullscreen|thumbnails|\d+ of \d+|you (?:might|may) (?:also )?like|"
    r"(?:featured|more) (?:slide ?shows|galleries|videos)",
)
_FURNITURE = re.compile("(?i)(?:" + "|".join(f"(?:{f})" for f in _FAMILIES) + r")[.!]?")
_SENTENCES = re.compile(r"[.!?]\s+\S")


_ITEM_MARK = re.compile(r"^[-*\u2022]\s+")


def is_furniture(paragraph: str) -> bool:
    """Whether a whole paragraph is one of the furniture families above (one short line, one
    sentence), alone or as a list's item ("- Share on Twitter")."""
    p = _ITEM_MARK.sub("", paragraph.strip(), count=1)
    return len(p) <= MAX_FURNITURE_CHARS and not _SENTENCES.search(p) and _FURNITURE.fullmatch(p) is not None


def without_furniture(paragraphs: list[str]) -> list[str]:
    """The paragraphs that are not furniture, in order (all of them when every one is)."""
    kept = [p for p in paragraphs if not is_furniture(p)]
    return kept or paragraphs


# The lines above an article an extractor keeps with its text: its date ("posted on April 21, 2015,
# at 11:29 a.m.", "08.04.2015 12:46", BBC's "- 24 July 2015") and its byline ("By Jane Doe", "Par
# Jean Dupont, Staff Writer"), within its first paragraphs only.
MAX_HEADER_PARAGRAPHS = 3
MAX_HEADER_CHARS = 100
_BY_WORD = re.compile(rf"(?i)^(?:(?:written |story |words |text |reporting )?by|{OTHER_BY_RE})\b:?\s*")
_CREDIT_WORDS = re.compile(r"[\w'’.-]+")
MAX_CREDIT_WORDS = 3  # beside the names: "and", a role ("Staff Writer"), an agency ("Reuters")


def is_header_line(paragraph: str, authors: tuple[str, ...]) -> bool:
    """Whether a paragraph is a date line, or a byline naming some of ``authors`` and little else."""
    p = paragraph.strip()
    if not p or len(p) > MAX_HEADER_CHARS:
        return False
    if read_date(p) is not None or looks_like_date(p):
        return True
    named = [a for a in authors if a and a.casefold() in p.casefold()]
    if not named:
        return False
    rest = _BY_WORD.sub("", p, count=1).casefold()
    for a in named:
        rest = rest.replace(a.casefold(), " ")
    return len(_CREDIT_WORDS.findall(rest)) <= MAX_CREDIT_WORDS and not rest.rstrip().endswith(("?", "!"))


def without_header_lines(body: str, authors: tuple[str, ...]) -> str:
    """``body`` without the date and byline lines among its first paragraphs (see is_header_line);
    as it is when nothing else would be left."""
    pars = body.split("\n\n")
    kept = [p for p in pars[:MAX_HEADER_PARAGRAPHS] if not is_header_line(p, authors)] + pars[MAX_HEADER_PARAGRAPHS:]
    return "\n\n".join(kept) if kept else body
