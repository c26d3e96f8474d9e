"""One analyzer decides what a word is for the index, MongoDB's arrays, the Python matcher and
snippets (issue 21 #2): what a snippet marks is what search matched, for any letters."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from archive.search.analyzer import fold, stem, words
from archive.search.match import matches
from archive.search.query import parse_query
from archive.search.snippets import make_snippet, snippet_parts

WORDS = ("Straße", "strasse", "Œuvre", "oeuvre", "Łódź", "lodz", "Việt", "viet", "ﬁnance", "finance",
         "ｆｕｌｌ", "full", "résumé", "resume", "Müller", "muller", "talks", "talking", "C++", "U.S.",
         "O'Brien", "foo_bar", "2008", "naïve", "troops", "the", "中文")


def test_letters_fold_as_the_index_folds_them() -> None:
    assert words("Straße Œuvre Łódź Việt ﬁnance ｆｕｌｌ C++ U.S.") == [
        "strasse", "oeuvre", "lodz", "viet", "finance", "full", "cplusplus", "usdotted"]
    assert fold("Straße") == "strasse" and stem(fold("talking")) == stem("talks")


def test_a_folded_word_is_marked_in_its_snippet() -> None:
    for text, query in (("Die Straße ist lang.", "strasse"), ("Die Strasse ist lang.", "straße"),
                        ("An Œuvre of note.", "oeuvre"), ("Born in Łódź in 1920.", "lodz"),
                        ("Người Việt ở đây.", "viet"), ("The ﬁnance minister.", "finance"),
                        ("Code in C++ and C.", "C++"), ("The U.S. said so.", "U.S.")):
        marked = [t for t, m in snippet_parts(make_snippet(text, parse_query(query).highlight_words())) if m]
        assert marked, (text, query)
        assert all(matches(parse_query(query), [t]) for t in marked), (text, query, marked)


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(WORDS), min_size=1, max_size=10).map(" ".join),
       query=st.sampled_from(WORDS))
def test_a_snippet_marks_a_word_exactly_when_search_matches_it(text: str, query: str) -> None:
    q = parse_query(query)
    marked = [t for t, m in snippet_parts(make_snippet(text, q.highlight_words(), width=64)) if m]
    assert bool(marked) == matches(q, [text]), (text, query, marked)
    for t in marked:  # each marked word is one of the query's words (a phrase's words one by one)
        assert any(matches(parse_query(w), [t]) for term in q.positive for w in term.words), (text, query, t)


def test_a_snippet_marks_what_the_query_matched_not_what_starts_like_it() -> None:
    """Issue 23 #7: ``fed`` marked "federal" and ``the`` marked "They" (every word was taken for a
    prefix); a phrase marked each "of" and "the" of the text instead of the phrase."""
    text = ("They were federal staff. The state said the prime minister of the interior would go. "
            "Later the Prime Minister spoke of the state of the union. Fed up.")

    def marked(query: str) -> list[str]:
        return [t for t, m in snippet_parts(make_snippet(text, parse_query(query).highlight_words(), width=64)) if m]

    assert marked("fed") == ["Fed"] and marked("fed*") == ["federal", "Fed"]
    assert "They" not in marked("the") and marked("the").count("the") == 5
    assert marked('"prime minister"') == ["prime minister", "Prime Minister"]
    assert marked('"state of the union"') == ["state of the union"]
    assert marked('minister "prime minister"') == ["prime minister", "Prime Minister"]


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(WORDS), min_size=1, max_size=10).map(" ".join),
       pair=st.lists(st.sampled_from(WORDS), min_size=2, max_size=2))
def test_a_snippet_marks_a_phrase_exactly_when_search_matches_it(text: str, pair: list[str]) -> None:
    q = parse_query('"' + " ".join(pair) + '"')
    marked = [t for t, m in snippet_parts(make_snippet(text, q.highlight_words(), width=64)) if m]
    assert bool(marked) == matches(q, [text]), (text, pair, marked)


def test_a_snippet_reads_a_sub_heading_without_its_marker() -> None:
    """A body keeps a sub-heading's "### " (so that an export parses back the same); joined into a
    snippet's one line it read "…near future! ### Aug 18-19: RustConf…". "C#" and a "#tag" stay."""
    text = ("The Rust Community is holding three major conferences soon!\n\n### Aug 18-19: RustConf\n\n"
            "RustConf is a two-day event in Portland, with talks on C# interop and #rustlang.")
    got = "".join(t for t, _ in snippet_parts(make_snippet(text, parse_query("portland").highlight_words(), width=64)))
    assert got == ("The Rust Community is holding three major conferences soon! Aug 18-19: RustConf RustConf is a "
                   "two-day event in Portland, with talks on C# interop and #rustlang.")
