"""The parser: both seeds exactly, one crafted file per rule, and fuzzing."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.errors import ParseError
from archive.models import Article, ParsedArticle, Source, word_count
from archive.parsing import parse_byline, parse_bytes, parse_date, parse_text, plain_inline
from archive.validation import article_from_doc
from tests.conftest import SEEDS


def _parse_seed(path: str) -> ParsedArticle:
    with open(path, "rb") as fh:
        return parse_bytes(fh.read(), path)

def paragraphs(body: str) -> list[str]:
    return body.split("\n\n")


def test_seed_000_exact() -> None:
    a = _parse_seed(str(SEEDS / "000_bec70df4e4b3c35a.txt"))
    assert a.title == "US pushes for renewed military presence in Iraq"
    assert a.authors == ("Peter Symonds",)
    assert a.published == dt.date(2012, 2, 2)
    pars = paragraphs(a.body)
    assert len(pars) == 17
    assert pars[0].startswith("The US is to begin new negotiations")
    assert pars[-1].endswith("so that it can extract concessions from the Baghdad government.")
    # Page-break splits, rejoined with one space (one before a capitalised word).
    assert "The US retains a large force of mainly private contractors" in a.body
    assert "the national unity government and boycotted parliament." in a.body
    assert "on Saturday, urging them to return to parliament to lay the basis for a national " \
           "reconciliation conference. US Secretary of State Hillary Clinton" in a.body
    assert "WSW" not in a.body and "contact" not in a.body
    assert "\n\n\n" not in a.body and "  " not in a.body


def test_seed_002_exact() -> None:
    a = _parse_seed(str(SEEDS / "002_85d3ba92d2aa6569.txt"))
    assert a.title == "Pentagon in talks with Baghdad on permanent US occupation of Iraq"
    assert a.authors == ("Bill Van Auken",)
    assert a.published == dt.date(2017, 5, 5)
    pars = paragraphs(a.body)
    assert len(pars) == 19
    assert '"So as for agreement, yes, we both understand it would be mutually beneficial.' in a.body
    assert "trying to root out ISIS militants" in a.body
    assert "The aim of this intervention, like the 2003 invasion itself" in a.body
    assert pars[-1].endswith("the region as a whole.")
    assert "Socialist Equality Party" not in a.body and "wsws.org" not in a.body


def _words_by_definition(text: str) -> int:
    """Each CJK character is a word; of what is left, a whitespace-separated token with at least one
    letter, digit or underscore (as \\w) is a word."""
    from archive.models import cjk_char

    cjk = len(cjk_char().findall(text))
    rest = cjk_char().sub(" ", text)
    return cjk + sum(1 for t in rest.split() if any(c.isalnum() or c == "_" for c in t))


@settings(max_examples=400)
@given(st.one_of(st.text(alphabet=st.characters(max_codepoint=127), max_size=300),
                 st.text(alphabet=st.sampled_from(" \t\n\x1c\x1f\xa0\u2009\u3000-—–“”’•.,!?_aZ9éß中٣ア한。"),
                         max_size=300),
                 st.text(max_size=300)))
def test_word_count_counts_tokens_with_a_letter_or_digit(text: str) -> None:
    """Both ways of counting (a translate table for ASCII text, a regex otherwise) agree with the definition."""
    assert word_count(text) == _words_by_definition(text)


def test_seeds_word_counts_are_words() -> None:
    a = _parse_seed(str(SEEDS / "000_bec70df4e4b3c35a.txt"))
    assert a.word_count == len(a.body.split())


BASE = "# Title here\n\nJane Doe\n5 May 2017\n\nFirst paragraph.\n"


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        # title with or without the marker
        (BASE, "title", "Title here"),
        (BASE.replace("# ", ""), "title", "Title here"),
        ("\n\n\n## Deep title\n\nJane Doe\n\nBody.", "title", "Deep title"),
        ("# **Bold** _title_\n\nBody.", "title", "Bold title"),
        # bylines
        (BASE, "authors", ("Jane Doe",)),
        (BASE.replace("Jane Doe", "Jane Doe  "), "authors", ("Jane Doe",)),
        (BASE.replace("Jane Doe", "Jane Doe and John Roe"), "authors", ("Jane Doe", "John Roe")),
        (BASE.replace("Jane Doe", "A Smith, B Jones and C Brown"), "authors", ("A Smith", "B Jones", "C Brown")),
        (BASE.replace("Jane Doe", "A Smith, B Jones, and C Brown"), "authors", ("A Smith", "B Jones", "C Brown")),
        (BASE.replace("Jane Doe", "By Jane Doe"), "authors", ("Jane Doe",)),
        (BASE.replace("Jane Doe", "by Jane Doe  "), "authors", ("Jane Doe",)),
        (BASE.replace("Jane Doe", "Émile Zola"), "authors", ("Émile Zola",)),
        ("# T\n\n5 May 2017\n\nBody here.", "authors", ()),
        # dates
        (BASE, "published", dt.date(2017, 5, 5)),
        (BASE.replace("5 May 2017", "May 5, 2017"), "published", dt.date(2017, 5, 5)),
        (BASE.replace("5 May 2017", "2017-05-05"), "published", dt.date(2017, 5, 5)),
        (BASE.replace("5 May 2017", "5 May 1917"), "published", dt.date(1917, 5, 5)),
        ("# T\n\nJane Doe\n\nBody here.", "published", None),
        (BASE.replace("5 May 2017", "31 February 2017"), "published", None),
        (BASE.replace("5 May 2017", "2999-01-01"), "published", None),
        (BASE.replace("5 May 2017", "1 May 1200"), "published", None),
        # body and page breaks
        (BASE, "body", "First paragraph."),
        ("# T\n\nJ Doe\n1 May 2017\n\nCut here and\n\ngoes on.\n", "body", "Cut here and goes on."),
        ("# T\n\nJ Doe\n1 May 2017\n\nCut before a\n\nCapital word.\n", "body", "Cut before a Capital word."),
        ("# T\n\nJ Doe\n1 May 2017\n\nEnds “quoted.”\n\nNext one.\n", "body", "Ends “quoted.”\n\nNext one."),
        ("# T\n\nJ Doe\n1 May 2017\n\nQuestion?\n\nAnswer.\n", "body", "Question?\n\nAnswer."),
        ("# T\n\nJ Doe\n1 May 2017\n\n## Sub heading\n\nText after.\n", "body", "## Sub heading\n\nText after."),
        ("# T\n\nJ Doe\n1 May 2017\n\nNo stop here\n\n## Heading\n\nMore.\n", "body",
         "No stop here\n\n## Heading\n\nMore."),
        ("# T\n\nJ Doe\n1 May 2017\n\nLine one\nline two.\n", "body", "Line one line two."),
        # footers (both seed variants)
        ("# T\n\nJ Doe\n1 May 2017\n\nBody.\n\n\n\nTo contact the WSW and the Socialist Equality Party visit:\n\n"
         "**[wsws.org/contact](http://wsws.org/contact)**", "body", "Body."),
        ("# T\n\nJ Doe\n1 May 2017\n\nBody.\n\nTo contact the WSWS and the  \nSocialist Equality Party visit:\n\n"
         "**[wsws.org/contact](http://wsws.org/contact)**\n", "body", "Body."),
        # markdown removed, link text kept
        ("# T\n\nJ Doe\n1 May 2017\n\nSee **this** and *that* and [the link](http://x.org/a).\n", "body",
         "See this and that and the link."),
        ("# T\n\nJ Doe\n1 May 2017\n\nA snake_case name, 5 * 3 and ![alt](i.png).\n", "body",
         "A snake_case name, 5 * 3 and alt."),
    ],
)
def test_rules(text: str, field: str, expected: object) -> None:
    a = parse_bytes(text.encode())
    assert getattr(a, field) == expected


def test_encodings_all_parse_the_same() -> None:
    text = "# Café society\n\nJosé Müller\n5 May 2017\n\nThe “naïve” résumé – costs €5.\n"
    ref = parse_bytes(text.encode())
    variants = [
        b"\xef\xbb\xbf" + text.encode(),
        text.replace("\n", "\r\n").encode(),
        text.replace("\n", "\r").encode(),
        text.encode("cp1252"),
        text.replace("\n", "\r\n").encode("cp1252"),
        text.encode("utf-16"),
    ]
    for data in variants:
        assert parse_bytes(data) == ref


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"   \n\n\t\n", "empty"),
        (b"# Title\x00\x01\x02 binary", "not-text"),
        (bytes(range(1, 32)) * 10, "not-text"),
        (b"#\n\nJane Doe\n\nBody.", "no-title"),
        (b"x" * 600 + b"\n\nBody.", "no-title"),
        (b"# Only a title\n", "no-body"),
        (b"# Title\n\nJane Doe\n5 May 2017\n", "no-body"),
        (b"# Title\n\nJane Doe\n5 May 2017\n\nTo contact the WSWS and the Socialist Equality Party visit:\n",
         "no-body"),
    ],
)
def test_failures_have_distinct_reasons(data: bytes, code: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_bytes(data, "x.txt")
    assert info.value.code == code
    assert info.value.path == "x.txt"
    assert info.value.reason


def test_size_limit_is_configurable() -> None:
    data = (BASE + "More text. " * 200).encode()
    parse_bytes(data)
    with pytest.raises(ParseError) as info:
        parse_bytes(data, max_bytes=100)
    assert info.value.code == "too-large"


def test_unreadable_file(tmp_path: object) -> None:
    from archive.ingest import FileStat, prepare

    got = prepare(FileStat("/nonexistent/x.txt", 10, 1.0, 0, 0), 1000)
    assert got.error is not None and got.error.code == "unreadable" and got.error.path == "/nonexistent/x.txt"


def test_helpers() -> None:
    assert parse_date("2017-13-01") is None
    assert parse_date("Sept 3, 2001") == dt.date(2001, 9, 3)
    assert parse_byline("This is a sentence.") is None
    assert parse_byline("the lower case words") is None
    assert plain_inline("<http://x.org>") == "http://x.org"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_raise_parse_error(data: bytes) -> None:
    try:
        a = parse_bytes(data)
    except ParseError:
        return
    assert_storable(a)


def assert_storable(a: ParsedArticle) -> None:
    """Whatever the parser returns must make a valid Article: it passes the rules an imported
    document is checked against (archive.validation)."""
    art = Article.from_parsed(a, Source(path="/x.txt", sha256="0" * 64, size=1, mtime=0.0))
    assert article_from_doc(art.to_doc()).to_doc() == art.to_doc()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("#*_[]()!<>`~ \n-:.aB1\"“”"), max_size=400))
def test_markdown_soup_never_crashes(text: str) -> None:
    try:
        a = parse_bytes(text.encode())
    except ParseError:
        return
    assert_storable(a)


@pytest.mark.parametrize("unit", ["[*_" * 3, "**[" * 3, "a_b*c " * 2, "x" * 9])
def test_huge_single_line_is_linear(unit: str) -> None:
    """A 5 MiB single line is parsed (or refused) in time linear in its size."""
    def run(size: int) -> float:
        data = b"# T\n\nJ Doe\n\n" + (unit * (size // len(unit) + 1)).encode()[:size]
        t = time.perf_counter()
        try:
            parse_bytes(data, max_bytes=6 * 1024 * 1024)
        except ParseError:
            pass
        return time.perf_counter() - t

    small, big = run(256 * 1024), run(5 * 1024 * 1024)
    # 20x the input; allow generous noise but not quadratic (400x) growth.
    assert big < max(small * 100, 2.0)


def test_parse_error_pickles() -> None:
    import pickle

    e = ParseError("/x.txt", "empty", "empty: the file has no text")
    back = pickle.loads(pickle.dumps(e))
    assert (back.path, back.code, back.reason, str(back)) == (e.path, e.code, e.reason, str(e))


# ---------------------------------------------------------------- dates wherever people put them

_FEB26 = [
    "26 February 1987", "February 26, 1987", "1987-02-26", "1987-02-26 15:01", "1987-02-26T15:01:01Z",
    "1987-02-26T15:01:01+01:00", "Thursday, 26 February 1987", "Thu, Feb 26, 1987", "26/02/1987", "02/26/1987",
    "26.02.1987", "Published: 26 February 1987", "Published on February 26, 1987 at 3:01 p.m. ET",
    "Updated February 26, 1987 3:01 p.m. ET", "26 février 1987", "26. Februar 1987", "26 de febrero de 1987",
    "26-FEB-1987 15:01:01.79", "Posted 26 Feb 1987, 15:01 GMT", "1987年2月26日", "1987年02月26日 15時01分",
    "1987년 2월 26일", "1987年2月26日（木）",
    # a Japanese era's year; digits after a CJK label, or before a source's ("来源：新华网")
    "昭和62年2月26日", "发布时间：1987-02-26 15:01", "公開日：1987/02/26",
    "입력 1987.02.26 15:01 수정 1987.03.03 10:00", "1987-02-26 15:01 来源：新华网",
    # a time before the date (CNN), both dates on one line (NYT): the published one
    "Updated 3:01 PM ET, Thu February 26, 1987", "Published Feb. 26, 1987 Updated March 3, 1987",
    "Feb. 26, 1987 | Updated March 3, 1987",
    # year first, with slashes or dots (never day first); European weekdays, labels and times
    "1987/02/26", "1987.02.26 15:01", "Donnerstag, 26. Februar 1987", "Do., 26. Februar 1987",
    "jeudi 26 février 1987", "jueves, 26 de febrero de 1987", "quinta-feira, 26 de fevereiro de 1987",
    "torsdag 26 februari 1987", "26 lutego 1987", "čtvrtek 26. února 1987", "Publié le 26 février 1987 à 15h01",
    "Veröffentlicht am 26.02.1987, 15:01 Uhr", "Publicado el 26 de febrero de 1987",
    "Pubblicato il 26 febbraio 1987 alle 15:01", "Gepubliceerd op 26 februari 1987",
    "Publié le 26 février 1987, mis à jour le 3 mars 1987",
]


@pytest.mark.parametrize("line", _FEB26)
def test_a_date_line_in_any_common_form_is_the_date_and_not_body(line: str) -> None:
    import datetime as dt

    a = parse_text(f"A title\n\nJane Doe\n{line}\n\nThe body of the article starts here.\n")
    assert a.published == dt.date(1987, 2, 26), line
    assert a.body == "The body of the article starts here."
    assert a.authors == ("Jane Doe",) and a.date_source == "text"


def test_published_wins_over_updated_whatever_the_order() -> None:
    import datetime as dt

    a = parse_text("T\n\nUpdated: 3 March 1987\nPublished: 26 February 1987\n\nBody text.\n")
    assert a.published == dt.date(1987, 2, 26) and a.body == "Body text."
    b = parse_text("T\n\nUpdated: 3 March 1987\n\nBody text.\n")
    assert b.published == dt.date(1987, 3, 3)
    c = parse_text("T\n\nAktualisiert am 3. März 1987\nVeröffentlicht am 26. Februar 1987\n\nBody text.\n")
    assert c.published == dt.date(1987, 2, 26) and c.body == "Body text."


def test_a_cjk_sentence_holding_a_date_is_body_not_a_date_line() -> None:
    a = parse_text("T\n\nこの記事は1987年2月26日に東京の港で書かれた長い文章の最初の段落です。\n\n次の段落。\n")
    assert a.published is None and a.body.startswith("この記事は1987年2月26日")
    # A date in digits inside a CJK sentence: folding the line to ASCII left "1987-02-26" alone, read
    # as the date, and the sentence was dropped from the body.
    b = parse_text("T\n\n会议于1987-02-26在北京举行并取得了很大的成功\n\n次の段落。\n")
    assert b.published is None and b.body.startswith("会议于1987-02-26在北京举行")


def test_a_cjk_published_date_wins_over_its_update() -> None:
    import datetime as dt

    a = parse_text("T\n\n更新时间：1987-03-03\n发布时间：1987-02-26\n\nBody text.\n")
    assert a.published == dt.date(1987, 2, 26) and a.body == "Body text."


def test_the_configured_order_reads_ambiguous_numeric_dates() -> None:
    import datetime as dt

    assert parse_text("T\n\n02/03/2017\n\nBody.\n").published == dt.date(2017, 3, 2)
    assert parse_text("T\n\n02/03/2017\n\nBody.\n", order="mdy").published == dt.date(2017, 2, 3)
    assert parse_text("T\n\n26/02/1987\n\nBody.\n", order="mdy").published == dt.date(1987, 2, 26)


def test_a_date_line_that_cannot_be_read_is_dropped_with_a_warning() -> None:
    a = parse_text("A title\n\nFebruary 30, 2017\n\nThe body.\n")
    assert a.published is None and a.body == "The body."
    assert a.warnings and "February 30, 2017" in a.warnings[0]
    b = parse_text("A title\n\nIn 2017 the talks in March failed, officials said.\n")  # a sentence stays body
    assert b.body.startswith("In 2017") and not b.warnings


@pytest.mark.parametrize(("path", "want"), [
    ("/blog/_posts/2019-09-30-release.md", "2019-09-30"),
    ("/blog/2019/09/30/release/index.md", "2019-09-30"),
    ("/x/20190930_notes.txt", "2019-09-30"),
])
def test_an_undated_file_takes_the_date_in_its_name_or_path(path: str, want: str) -> None:
    from archive.parsing import parse_bytes

    a = parse_bytes(b"# A post\n\nSome text of the post.\n", path)
    assert a.published is not None and a.published.isoformat() == want and a.date_source == "path"
    dated = parse_bytes(b"# A post\n\n5 May 2017\n\nSome text.\n", path)
    assert dated.published is not None and dated.published.isoformat() == "2017-05-05"
    assert dated.date_source == "text"


def test_front_matter_dates_and_zola_paths_say_where_they_came_from() -> None:
    from archive.parsing import parse_bytes

    fm = parse_bytes(b"---\ntitle: T\ndate: 2019-09-30\n---\n\nBody text.\n", "/x/a.md")
    assert fm.date_source == "front-matter" and fm.published is not None
    zola = parse_bytes(b'+++\ntitle = "T"\npath = "2019/09/30/rust-1.38.0"\n+++\n\nBody text.\n', "/x/b.md")
    assert zola.published is not None and zola.published.isoformat() == "2019-09-30" and zola.date_source == "path"
    none = parse_bytes(b"# T\n\nBody text.\n", "/x/plain.txt")
    assert none.published is None and none.date_source is None


def test_newswire_paragraphs_marked_by_indentation_stay_apart() -> None:
    import datetime as dt

    wire = ("BAHIA COCOA REVIEW\n26-FEB-1987 15:01:01.79\n\n    SALVADOR, Feb 26 - Showers continued throughout\n"
            "the week in the Bahia cocoa zone.\n    The dry period means the temporao will be late.\n"
            "    Arrivals for the week were 155,221 bags\nof 60 kilos.\n")
    a = parse_text(wire)
    assert a.title == "BAHIA COCOA REVIEW" and a.published == dt.date(1987, 2, 26)
    assert a.body.split("\n\n") == [
        "SALVADOR, Feb 26 - Showers continued throughout the week in the Bahia cocoa zone.",
        "The dry period means the temporao will be late.",
        "Arrivals for the week were 155,221 bags of 60 kilos.",
    ]


def test_cjk_sentence_ends_close_a_paragraph() -> None:
    a = parse_text("标题\n\n第一段结束了。\n\n第二段也结束了。\n")
    assert a.body == "第一段结束了。\n\n第二段也结束了。"


def test_a_link_whose_text_holds_brackets_or_an_image_is_its_text() -> None:
    """Issue 23 #4: 20 of the Rust blog's bodies kept "](https://…" from links like these."""
    from archive.parsing.text import plain_inline

    assert plain_inline("has [a new attribute, #![windows_subsystem]](https://x.example/1). ok") == (
        "has a new attribute, #![windows_subsystem]. ok")
    assert plain_inline("[AsRef<[T]> for IterMut](https://x.example/a#b%3C) and") == "AsRef<[T]> for IterMut and"
    assert plain_inline("[![Layer cake](https://img.example/c.jpg)](https://x.example/p)") == "Layer cake"
    assert plain_inline("a [b](c) d [e] f") == "a b d [e] f"
    # a code span in the link text may hold any brackets (Rust 1.80's "[`<[[T; N]]>::as_flattened`](…)")
    assert plain_inline("- [`<[[T; N]]>::as_flattened`](https://x.example/s#m) and [`b`](u)") == (
        "- <[[T; N]]>::as_flattened and b")


@pytest.mark.parametrize(("header", "authors", "starts"), [
    # a dateline's place on a line of its own, above or below the date line: the body starts with it
    ("ANKARA, Turkey\n26 February 1987", (), "ANKARA, Turkey The ferry"),
    ("Jane Doe\nLONDON\n26 February 1987", ("Jane Doe",), "LONDON The ferry"),
    ("26 February 1987\nLONDON", (), "LONDON The ferry"),
    # a role on a line of its own under the name is no body
    ("Jane Doe\nStaff Reporter\n26 February 1987", ("Jane Doe",), "The ferry"),
])
def test_a_place_or_a_role_between_the_byline_and_the_date_keeps_them_apart(
        header: str, authors: tuple[str, ...], starts: str) -> None:
    """The byline and the date line above and below such a line were glued with it into the first
    paragraph ("Jane Doe LONDON 26 February 1987 The ferry…"), in every snippet."""
    a = parse_text(f"Ferry line opens\n\n{header}\n\nThe ferry line opened on the morning of the day.\n")
    assert (a.authors, a.published) == (authors, dt.date(1987, 2, 26)) and a.body.startswith(starts), a.body


@pytest.mark.parametrize(("text", "authors", "published"), [
    # a surname that is also a place word, on its own line above the date line: a byline
    ("# Ceasefire\n\nJo Lane\n5 May 2017\n\nA ceasefire holds.", ("Jo Lane",), dt.date(2017, 5, 5)),
    ("# Report\n\nBarbara Castle\n5 May 2017\n\nThe minister spoke.", ("Barbara Castle",), dt.date(2017, 5, 5)),
    # ... but a ground stays a place, and so does a street without the date line under it
    ("# Match report\n\nLansdowne Road\n5 May 2017\n\nIreland won.", (), None),
    ("# Ceasefire\n\nJo Lane\n\nA ceasefire holds in the city.", (), None),
])
def test_a_surname_that_is_a_place_word_is_a_byline_above_the_date(text: str, authors: tuple[str, ...],
                                                                  published: dt.date | None) -> None:
    a = parse_text(text)
    assert a.authors == authors
    if authors:
        assert a.published == published and not a.body.startswith(authors[0])


@pytest.mark.parametrize(("head", "title", "authors", "published"), [
    # labelled fields, as notes and exports write them
    ("Title: Ferry line opens\nAuthor: Jane Doe\nDate: 2019-11-19", "Ferry line opens", ("Jane Doe",),
     dt.date(2019, 11, 19)),
    ("Ferry line opens\nBy: Jane Doe\nPublished: 19 November 2019", "Ferry line opens", ("Jane Doe",),
     dt.date(2019, 11, 19)),
    ("Ferry line opens\n\nAuthors: Jane Doe, Al Roe", "Ferry line opens", ("Jane Doe", "Al Roe"), None),
    # a title underlined as a heading
    ("Ferry line opens\n================\n\nJane Doe\n19 November 2019", "Ferry line opens", ("Jane Doe",),
     dt.date(2019, 11, 19)),
    # the byline and the date on one line: both were dropped as a date line not understood
    ("Ferry line opens\n\nJane Doe | 19 November 2019", "Ferry line opens", ("Jane Doe",), dt.date(2019, 11, 19)),
    ("Ferry line opens\n\nBy Jane Doe and Al Roe, Nov. 19, 2019", "Ferry line opens", ("Jane Doe", "Al Roe"),
     dt.date(2019, 11, 19)),
    ("Ferry line opens\n\nJane Doe - November 19, 2019", "Ferry line opens", ("Jane Doe",), dt.date(2019, 11, 19)),
    # a dateline's place and the date
    ("Ferry line opens\n\nLONDON, Nov. 19, 2019", "Ferry line opens", (), dt.date(2019, 11, 19)),
])
def test_a_texts_header_in_the_forms_people_write_it(head: str, title: str, authors: tuple[str, ...],
                                                    published: dt.date | None) -> None:
    a = parse_text(f"{head}\n\nThe body of the article starts here.\n")
    assert (a.title, a.authors, a.published, a.body) == (title, authors, published,
                                                         "The body of the article starts here.")
    assert not a.warnings


def test_a_texts_list_items_are_paragraphs_never_joined_as_page_breaks() -> None:
    """A list in plain text (the BBC sample has 10) ran into one paragraph and then into the next:
    "- First point - Second point Conclusion." Each item is a paragraph; a wrapped item keeps its
    second line; the page-break rule still joins unpunctuated prose."""
    text = ("A title here\n\nIntro with a list:\n\n- First point\n- Second point that wraps\nonto a line\n"
            "• Third point\n\nConclusion.\n\n1. one\n2) two\n\nA page broken\n\nparagraph goes on.\n")
    assert parse_text(text).body.split("\n\n") == [
        "Intro with a list:", "- First point", "- Second point that wraps onto a line", "• Third point", "Conclusion.",
        "1. one", "2) two", "A page broken paragraph goes on."]
    # hard-wrapped newswire: a line that starts with a number ends a sentence of the line before
    wire = "BONDS\n\n    He said the bank will run four programs after May\n1. They are insurance and loans.\n"
    assert parse_text(wire).body == "He said the bank will run four programs after May 1. They are insurance and loans."


@pytest.mark.parametrize(("text", "url", "body"), [
    ("Ferry\n\nhttps://news.example.com/ferry\n\nJane Doe\n19 November 2019\n\nThe body.\n",
     "https://news.example.com/ferry", "The body."),
    ("Ferry\nSource: https://news.example.com/ferry\n\nThe body.\n", "https://news.example.com/ferry", "The body."),
    ("Ferry\n\nThe body.\n\nSource: <https://news.example.com/ferry>\n", "https://news.example.com/ferry", "The body."),
    ("Ferry\n\nThe body.\n\nOriginally published at https://news.example.com/ferry\n",
     "https://news.example.com/ferry", "The body."),
    # a bare link closing the text is the text's (a post's last link), and one inside a sentence too
    ("Ferry\n\nThe body.\n\nhttps://news.example.com/other\n", None, "The body.\n\nhttps://news.example.com/other"),
    ("Ferry\n\nThe body cites https://x.example/y here.\n", None, "The body cites https://x.example/y here."),
])
def test_the_address_a_text_was_saved_from_is_its_url(text: str, url: str | None, body: str) -> None:
    """A text pasted from the web with its address above or a "Source:" line below had no url
    (no site, no same-page story) and kept the line as body."""
    a = parse_text(text)
    assert (a.url, a.body) == (url, body)


@pytest.mark.parametrize(("text", "title"), [
    # a web page saved as text begins with its navigation: it was taken for the title, and the rest glued
    ("Skip to main content\nMenu\nSearch\n\nFerry line opens\n\nBy Jane Doe\n19 November 2019\n\nThe body.\n",
     "Ferry line opens"),
    ("Sign in\nSubscribe\n\nFerry line opens\n\nThe body.\n", "Ferry line opens"),
    # one such word alone may be the title
    ("Search\n\nThe body.\n", "Search"),
])
def test_a_page_saved_as_text_starts_at_its_headline(text: str, title: str) -> None:
    assert parse_text(text).title == title


def test_a_sentence_that_holds_a_date_is_body_not_a_date_line() -> None:
    """A short first line with a date and a few words ("Officials said on Tuesday, 19 November
    2019") was dropped from the body as a date line that could not be read."""
    a = parse_text("Ferry line opens\n\nOfficials said on Tuesday, 19 November 2019\n\nThe ferry runs daily.\n")
    assert a.body.startswith("Officials said on Tuesday, 19 November 2019") and a.published is None


@pytest.mark.parametrize(("byline", "names"), [
    # a text's byline is cleaned as a page's is: the outlet, a role, a desk after a name go
    ("By JANE DOE, Associated Press", ("JANE DOE",)),
    ("By Jane Doe | The Times", ("Jane Doe",)),
    ("Jane Doe, Staff Writer", ("Jane Doe",)),
    ("By Jane Doe and John Roe, Reuters", ("Jane Doe", "John Roe")),
    ("By Jane Doe for MailOnline", ("Jane Doe",)),
    ("By Jane Doe, CNN", ("Jane Doe",)),
    # "Story by", and other languages' "by" before a full name; a name ending in an abbreviation
    ("Story by Jane Doe", ("Jane Doe",)),
    ("Von Hans Müller", ("Hans Müller",)),
    ("Par Jean Dupont", ("Jean Dupont",)),
    ("By Jane Doe Jr.", ("Jane Doe Jr.",)),
    # a blank line between the byline and the date line
    ("Jo Lane\n", ("Jo Lane",)),
    # names that begin like a month are names
    ("By Julia Marco and Maya Junet", ("Julia Marco", "Maya Junet")),
    # an agency, an outlet or a role beside the name, however set off; a handle; a place after "in"
    ("Jane Doe, Reuters", ("Jane Doe",)),
    ("Jane Doe (AFP)", ("Jane Doe",)),
    ("Jane Doe - Reuters", ("Jane Doe",)),
    ("Jane Doe — Staff reporter", ("Jane Doe",)),
    ("By Jane Doe, The Washington Post", ("Jane Doe",)),
    ("Von Jane Doe, dpa", ("Jane Doe",)),
    ("By Jane Doe @janedoe", ("Jane Doe",)),
    ("By Jane Doe in London", ("Jane Doe",)),
    # a wire's credits: the writers, not the editor
    ("Reporting by Jane Doe and Ann Lee; Additional reporting by Bo Park; Editing by John Roe",
     ("Jane Doe", "Ann Lee", "Bo Park")),
    # other languages' "and" between full names, their labels, and Italian's "Di"
    ("Jean Dupont et Marie Curie", ("Jean Dupont", "Marie Curie")),
    ("Jane Doe und John Roe", ("Jane Doe", "John Roe")),
    ("Auteur : Jean Dupont", ("Jean Dupont",)),
    ("Autor: Jan Kowalski", ("Jan Kowalski",)),
    ("Texto: María García", ("María García",)),
    ("Di Mario Rossi", ("Mario Rossi",)),
    # ... while one name with a particle stays one, and an agency alone is the credit
    ("José Ortega y Gasset", ("José Ortega y Gasset",)),
    ("Associated Press", ("Associated Press",)),
])
def test_a_texts_byline_gives_the_people_and_its_date_line_the_date(byline: str, names: tuple[str, ...]) -> None:
    """Bylines of plain text were split but never cleaned ("Staff Writer" and "Associated Press"
    became authors), and a byline the parser did not read left the date line under it in the body."""
    a = parse_text(f"A title here\n\n{byline}\n26 February 1987\n\nThe body of the article starts here.\n")
    assert (a.authors, a.published, a.body) == (names, dt.date(1987, 2, 26), "The body of the article starts here.")


CJK_BODY = "研究人员表示，这项技术将改变世界。人工智能迈上新台阶。"


@pytest.mark.parametrize(("byline", "names"), [
    # a label before the names: Chinese papers' reporters (names apart by spaces), author, text
    ("记者 张三", ("张三",)), ("本报记者 张三 李四", ("张三", "李四")), ("新华社记者 张三、李四", ("张三", "李四")),
    ("作者：王小明", ("王小明",)),
    # Japanese: text＝, interview and text／, in brackets; a family and a given name apart are one name
    ("文＝山田太郎", ("山田太郎",)), ("（文・山田太郎）", ("山田太郎",)), ("取材・文／佐々木花子", ("佐々木花子",)),
    ("記者：田中 一郎", ("田中 一郎",)), ("文／ジョン・スミス", ("ジョン・スミス",)),
    # a label after them; Korean names apart by spaces
    ("山田太郎 著", ("山田太郎",)), ("홍길동 기자", ("홍길동",)), ("홍길동 김철수 기자", ("홍길동", "김철수")),
    ("글 홍길동", ("홍길동",)),
    # several roles on one line: the writers only; a desk beside a person set aside
    ("文：山田太郎、写真：鈴木一郎", ("山田太郎",)),
    ("Eric Freeman 著、嶋田 健志 監訳、木下 哲也 訳", ("Eric Freeman",)),
    ("文● オカモト／ASCII編集部", ("オカモト",)),
])
def test_a_cjk_credit_line_gives_the_writers(byline: str, names: tuple[str, ...]) -> None:
    """A CJK credit line was no byline (no capitals to tell a name by), so it was glued into the
    first paragraph ("记者 张三 研究人员表示…") and in every snippet; it is told by its label."""
    a = parse_text(f"新电脑已可利用记忆自学\n\n{byline}\n\n{CJK_BODY}\n")
    assert (a.authors, a.body) == (names, CJK_BODY)


@pytest.mark.parametrize("line", [
    "人工智能迈上新台阶",  # a subtitle: no label
    "这是一本名著",  # "a famous book": 著 after a phrase, not after a name and a space
    "摄影：张三",  # a photographer's credit: no writer
])
def test_a_cjk_line_without_a_writers_label_names_no_one(line: str) -> None:
    assert parse_text(f"新电脑已可利用记忆自学\n\n{line}\n\n{CJK_BODY}\n").authors == ()


@pytest.mark.parametrize(("first", "names"), [
    ("【ロンドン＝岡田浩幸】１０日に行われた試合で勝った。", ("岡田浩幸",)),
    ("【ワシントン＝共同】米政府は１０日、発表した。", ()),  # an agency is no reporter
    ("新华社北京4月2日电（记者 张三、李四）国务院新闻办公室2日发布了报告。", ("张三", "李四")),
    ("(서울=연합뉴스) 홍길동 기자 = 정부는 10일 발표했다.", ("홍길동",)),
])
def test_a_cjk_dateline_names_its_reporter(first: str, names: tuple[str, ...]) -> None:
    """Japanese papers' "【ロンドン＝岡田浩幸】" and Korean agencies' "(서울=연합뉴스) 홍길동 기자 =" open the
    story with the place and the reporter: the reporter is its author; the dateline stays text."""
    a = parse_text(f"バルセロナ、マンＵに先勝\n\n{first}\n")
    assert (a.authors, a.body) == (names, first)


@pytest.mark.parametrize(("byline", "names"), [
    ("Howard Schneider, Lindsay Dunsmuir", ("Howard Schneider", "Lindsay Dunsmuir")),
    ("Martin Untersinger (avec Damien Leloup et Morgane Tual)",
     ("Martin Untersinger", "Damien Leloup", "Morgane Tual")),
    ("By Jane Doe (with Al Roe)", ("Jane Doe", "Al Roe")),
    ("José Ortega y Gasset", ("José Ortega y Gasset",)),  # one person: "y" joins his names here
])
def test_co_authors_in_a_byline(byline: str, names: tuple[str, ...]) -> None:
    """Issue 23: co-authors named in parentheses ("avec", "with", "mit") are authors too."""
    from archive.parsing.bylines import authors_of

    assert authors_of(byline) == names
