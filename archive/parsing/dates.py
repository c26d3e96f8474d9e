"""Dates as people write them above an article, and in file names.

One line, one date: ISO (with a time and a zone or not), day-month-year and month-day-year with
month names (English and the common European ones, a weekday in front or not), numeric dates
(``26/02/1987``: day first unless the day cannot be one, or the configured order says month
first; ``26.02.1987`` is always day first, ``1987/02/26`` year first), a newswire's
``26-FEB-1987 15:01:01.79``, each with a time after it or not, and a ``Published:`` or
``Updated:`` label in front, in English or a Western or Central European language
("Veröffentlicht am", "Mis à jour le": the caller prefers the published date). Every pattern is
linear: bounded quantifiers, no nested repetition.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import unicodedata
from typing import NamedTuple

from archive.models import CJK_CLASS, EARLIEST

DATE_ORDERS = ("dmy", "mdy")

_MONTHS: dict[str, int] = {}
for _i, _name in enumerate(calendar.month_name):
    if _name:
        _MONTHS[_name.lower()] = _i
for _i, _name in enumerate(calendar.month_abbr):
    if _name:
        _MONTHS[_name.lower()] = _i
_MONTHS["sept"] = 9
_EUROPEAN = {
    # French, German, Spanish, Italian, Portuguese, Dutch (accents folded: see _fold)
    1: "janvier januar janner enero gennaio janeiro januari",
    2: "fevrier februar febrero febbraio fevereiro februari",
    3: "mars marz maerz marzo março marco maart",
    4: "avril aprile abril",
    5: "mai mayo maggio maio mei",
    6: "juin juni junio giugno junho",
    7: "juillet juli julio luglio julho",
    8: "aout agosto augustus",
    9: "septembre septiembre setiembre settembre setembro",
    10: "octobre oktober octubre ottobre outubro",
    11: "novembre noviembre novembro",
    12: "decembre dezember diciembre dicembre dezembro",
}
# ... and Scandinavian, Polish and Czech (the genitive a date is written with: "26 lutego 1987")
_EUROPEAN_MORE = {
    1: "januar januari stycznia ledna", 2: "februar februari lutego unora", 3: "marts mars marca brezna",
    4: "april kwietnia dubna", 5: "mai maj maja kvetna", 6: "juni czerwca cervna", 7: "juli lipca cervence",
    8: "august augusti sierpnia srpna", 9: "september wrzesnia zari", 10: "oktober pazdziernika rijna",
    11: "november listopada listopadu", 12: "desember december grudnia prosince",
}
for _table in (_EUROPEAN, _EUROPEAN_MORE):
    for _i, _names in _table.items():
        for _name in _names.split():
            _MONTHS.setdefault(_name, _i)
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
# Weekdays: English, and French, German (with its "Do."), Spanish, Italian, Portuguese, Dutch,
# Swedish, Danish, Polish and Czech, accents folded.
_OTHER_WEEKDAYS = (
    "lundi mardi mercredi jeudi vendredi samedi dimanche montag dienstag mittwoch donnerstag freitag samstag "
    "sonnabend sonntag mo di mi do fr sa so lunes martes miercoles jueves viernes sabado domingo lunedi martedi "
    "mercoledi giovedi venerdi sabato domenica segunda-feira terca-feira quarta-feira quinta-feira sexta-feira "
    "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag mandag tisdag tirsdag onsdag torsdag fredag "
    "lordag sondag wtorek sroda czwartek piatek sobota niedziela pondeli utery streda ctvrtek patek nedele")
_WEEKDAY_NAMES = {d.lower() for d in (*calendar.day_name, *calendar.day_abbr)} | set(_OTHER_WEEKDAYS.split())
_WEEKDAYS = "|".join(sorted(_WEEKDAY_NAMES, key=len, reverse=True))

# A label before the date (accents folded): English, French, German, Spanish, Italian, Portuguese,
# Dutch ("Publié le", "Veröffentlicht am", "Mis à jour le", "Aktualisiert am", "Publicado el").
_UPDATED = (r"(?:last\s+)?(?:updated|modified|revised|edited)|mise?\s+a\s+jour|aktualisiert|geandert|"
            r"actualizad[oa]|atualizad[oa]|aggiornato|bijgewerkt")
_LABEL = re.compile(
    r"(?:(?P<pub>(?:first\s+|originally\s+)?published|posted|date[d]?|released|publiee?|paru|"
    rf"veroffentlicht|erschienen|publicad[oa]|pubblicato|gepubliceerd)|(?P<upd>{_UPDATED}))"
    r"(?:\s+(?:on|at|le|am|el|em|il|op|a|en))?\s*[:\-–—]?\s+", re.I)
_WEEKDAY = re.compile(rf"(?:{_WEEKDAYS})\.?,?\s+", re.I)
# A time before the date, as CNN prints it ("Updated 10:15 AM ET, Tue November 19, 2019").
_LEAD_TIME = re.compile(r"\d{1,2}[:.]\d{2}\s*(?:[ap]\.?\s?m\.?)?(?:\s*[a-z]{2,4}\b)?,?\s+", re.I)
# A second label on a published date's line: "Published Nov. 19, 2019 Updated Dec. 1, 2019".
_THEN_UPDATED = re.compile(rf"[\s|·•,;]+(?:{_UPDATED})\b", re.I)
_TIME = (r"(?:,?\s*(?:at\s+|um\s+|a\s+|a\s+las\s+|alle\s+|om\s+|-\s*)?"  # "at 3:01", "um 15:01", "à 15h01"
         r"\d{1,2}[:.h]\d{2}(?:[:.]\d{2}(?:\.\d{1,6})?)?\s*(?:[ap]\.?\s?m\.?)?"
         r"(?:\s*(?:z|[a-z]{2,5}|[+-]\d{2}:?\d{2}))?(?:\s*\([a-z ]{2,20}\))?)?")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:z|[+-]\d{2}:?\d{2})?)?"
                  r"(?:\s*(?:utc|gmt))?", re.I)
_DMY = re.compile(rf"(\d{{1,2}})(?:st|nd|rd|th|er|\.)?\s+(?:de\s+)?({_MONTH_RE})\.?,?\s+(?:de\s+)?(\d{{4}})"
                  + _TIME, re.I)
_MDY = re.compile(rf"({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})" + _TIME, re.I)
_NUMERIC = re.compile(r"(\d{1,2})([/.])(\d{1,2})\2(\d{4})" + _TIME, re.I)
_YEAR_FIRST = re.compile(r"(\d{4})([/.])(\d{1,2})\2(\d{1,2})" + _TIME, re.I)  # 1987/02/26, 2019.4.21: never day first
_WIRE = re.compile(rf"(\d{{1,2}})-({_MONTH_RE})-(\d{{4}})" + _TIME, re.I)
# A line that reads as a date but is not one of the forms above: a year, and a month name or
# another number beside it, and little else.
_YEAR = re.compile(r"(?<!\d)(1[6-9]\d\d|20\d\d)(?!\d)")
_DATEISH_PART = re.compile(rf"(?<![a-z])(?:{_MONTH_RE})(?![a-z])|\d{{1,2}}[/.\-]\d{{1,2}}|\d{{1,2}}:\d{{2}}", re.I)
# Chinese, Japanese and Korean dates: 2019年4月21日 (2019년 4월 21일), perhaps a time, a weekday and a
# label beside it ("2019年04月21日 12時00分更新", "最終更新日：2019年4月2日", "2019年3月15日公表").
_CJK_DATE = re.compile(r"(\d{4})\s?[年년]\s?(\d{1,2})\s?[月월]\s?(\d{1,2})\s?[日일]")
_CJK_AROUND = re.compile(r"\d{1,2}\s?[時:시]\s?\d{1,2}(?:\s?[分분])?|[(（][^)）]{1,3}[)）]|[\s:：.,、|/]")
_CJK_UPDATED = re.compile(r"更新|修正|修改|업데이트|수정")
# Japanese era years ("令和元年5月1日" is 1 May 2019; 元 is the first year), by the era's year 0.
_ERA_DATE = re.compile(r"(令和|平成|昭和)\s?(元|\d{1,2})\s?年\s?(\d{1,2})\s?月\s?(\d{1,2})\s?日")
_ERA_ZERO = {"令和": 2018, "平成": 1988, "昭和": 1925}


@functools.cache
def _cjk_label() -> re.Pattern[str]:
    """A CJK label before a date written in digits ("发布时间：2019-04-02 15:00", "公開日：2019/04/02",
    "입력 2019.04.02 15:00"; the date ends where the next label begins: "… 수정 2019.04.03")."""
    return re.compile(rf"[{CJK_CLASS}]{{1,8}}\s*[:：]?\s*(?=\d)")


@functools.cache
def _cjk_run() -> re.Pattern[str]:
    """A CJK character (spaces before it), compiled when a CJK line first needs it (~2 ms)."""
    return re.compile(rf"\s*[{CJK_CLASS}]")


MAX_CJK_LABEL = 8  # characters beside a CJK date on its line ("最終更新日" is 5)
# A date in a file name or path: 2019-09-30-title.md, 2019/09/30/title/, 20190930.
_PATH_DATE = re.compile(r"(?<!\d)((?:1[6-9]|20)\d\d)([-/_.]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?!\d)")


_NOISE = frozenset(("at", "on", "the", "of", "de", "le", "am", "pm", "a.m.", "p.m.", "utc", "gmt", "et", "est",
                    "edt", "pt", "pst", "pdt", "bst", "cet", "cest", "st", "nd", "rd", "th", "by", "and", "|"))


_DIGIT = re.compile(r"\d")


class DateLine(NamedTuple):
    date: dt.date
    updated: bool  # an "Updated:" line: used only when no published date is given


def ascii_fold(s: str) -> str:
    """Lower case without accents (février → fevrier, März → marz); letters of other scripts go
    (no date form here has any)."""
    if s.isascii():
        return s.lower()
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii").lower()


def _sane(d: dt.date) -> dt.date | None:
    return d if EARLIEST <= d <= dt.date.today() + dt.timedelta(days=366) else None


def read_date(line: str, order: str = "dmy") -> DateLine | None:
    """The date one line gives, and whether it is an update; None when the line is not a date."""
    s = line.strip()
    if not s or len(s) > 90 or _DIGIT.search(s) is None:  # a paragraph, a byline: no date line
        return None
    if not s.isascii() and _cjk_run().search(s):  # a CJK line: its forms only (folding would drop its words)
        return _cjk_date(s)
    s = ascii_fold(s).strip(" .*_")
    updated = False
    if m := _LABEL.match(s + " "):
        updated = m["upd"] is not None
        s = s[m.end():].strip() if m.end() <= len(s) else ""
    if not updated and (then := _THEN_UPDATED.search(s)):  # published first, then updated: published
        s = s[: then.start()]
    if m := _LEAD_TIME.match(s):
        s = s[m.end():]
    if m := _WEEKDAY.match(s):
        s = s[m.end():]
    s = s.rstrip(" .")
    d = _date_of(s, order)
    return DateLine(d, updated) if d is not None else None


def _cjk_date(s: str) -> DateLine | None:
    """A line holding a CJK date and little else (a time, a weekday, a short label): written with
    年月日 (an era's year too: "令和元年5月1日"), or in digits after a CJK label ("发布时间：2019-04-02")."""
    if (m := _CJK_DATE.search(s)) is not None:
        year = int(m[1])
    elif (m := _ERA_DATE.search(s)) is not None:
        year = _ERA_ZERO[m[1]] + (1 if m[2] == "元" else int(m[2]))
    else:  # digits, perhaps after a label and before another ("… 수정 2019.04.03": the first date)
        label = _cjk_label().match(s)
        rest, tail = (s[label.end():] if label else s), ""
        if nxt := _cjk_run().search(rest):
            rest, tail = rest[: nxt.start()], rest[nxt.start():]
        if (not rest.strip() or not rest.isascii() or len(_cjk_run().findall(tail)) > MAX_CJK_LABEL
                or (got := read_date(rest)) is None):
            return None  # a sentence with a date in it is no date line
        return DateLine(got.date, _CJK_UPDATED.search(label[0] if label else "") is not None)
    if len(_CJK_AROUND.sub("", s[: m.start()] + s[m.end() :])) > MAX_CJK_LABEL:
        return None
    try:
        *_, month, day = m.groups()  # the last two groups of either form
        d = _sane(dt.date(year, int(month), int(day)))
    except ValueError:
        return None
    return DateLine(d, _CJK_UPDATED.search(s) is not None) if d is not None else None


def _date_of(s: str, order: str) -> dt.date | None:
    try:
        if m := _ISO.fullmatch(s):
            return _sane(dt.date(int(m[1]), int(m[2]), int(m[3])))
        if m := _DMY.fullmatch(s):
            return _sane(dt.date(int(m[3]), _MONTHS[m[2].lower()], int(m[1])))
        if m := _MDY.fullmatch(s):
            return _sane(dt.date(int(m[3]), _MONTHS[m[1].lower()], int(m[2])))
        if m := _WIRE.fullmatch(s):
            return _sane(dt.date(int(m[3]), _MONTHS[m[2].lower()], int(m[1])))
        if m := _YEAR_FIRST.fullmatch(s):
            return _sane(dt.date(int(m[1]), int(m[3]), int(m[4])))
        if m := _NUMERIC.fullmatch(s):
            a, b, year = int(m[1]), int(m[3]), int(m[4])
            if m[2] == "." or a > 12 or (order == "dmy" and b <= 12):
                day, month = a, b
            else:
                day, month = b, a
            return _sane(dt.date(year, month, day))
    except (ValueError, KeyError):
        return None
    return None


def parse_date(line: str, order: str = "dmy") -> dt.date | None:
    """The date of a date line in any of the forms this module reads, or None (also for dates
    that cannot be publication dates: before 1600 or more than a year ahead)."""
    got = read_date(line, order)
    return got.date if got else None


def looks_like_date(line: str) -> bool:
    """A short line with a year and a month or another number beside it: a date line this module
    could not read (``Feb 30, 2017``, ``26/13/1987``), which must not become body text."""
    s = line.strip()
    if not s or len(s) > 60 or s[-1] in "!?" or _YEAR.search(s) is None or len(s.split()) > 8:
        return False
    if not s.isascii() and len(_cjk_run().findall(s)) > MAX_CJK_LABEL:  # CJK words have no spaces to count
        return False
    s = ascii_fold(s)
    if _YEAR.search(s) is None or _DATEISH_PART.search(s) is None:
        return False
    rest = _DATEISH_PART.sub(" ", _YEAR.sub(" ", _LABEL.sub(" ", s + " ")))
    words = [w for w in re.split(r"[\s,;:()\-–—]+", rest) if w and not w.isdigit()
             and not _WEEKDAY.fullmatch(w + " ") and w not in _NOISE]
    return len(words) <= 1  # little else beside the date: "Feb 30, 2017", "Posted 26/13/1987 at noon"


def date_in_url(url: str | None) -> dt.date | None:
    """A date in the path of an article's address (``https://example.com/2019/09/30/ferry``): news
    sites put the day they published there."""
    from urllib.parse import urlsplit

    try:
        return date_in_path(urlsplit(url).path) if url else None
    except ValueError:  # not an address
        return None


def date_in_path(path: str | None) -> dt.date | None:
    """A date in a file's name, else in its folders (``2019-09-30-post.md``, ``2019/09/30/``)."""
    if not path:
        return None
    parts = path.replace("\\", "/").split("/")
    for i in range(len(parts), 0, -1):  # the file name first, then ever longer tails
        tail = "/".join(parts[max(0, i - 4) : i]) if i < len(parts) else parts[-1]
        for m in _PATH_DATE.finditer(tail):
            try:
                d = _sane(dt.date(int(m[1]), int(m[3]), int(m[4])))
            except ValueError:
                continue
            if d is not None:
                return d
    return None
