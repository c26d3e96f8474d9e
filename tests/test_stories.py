"""Stories: the grouping rules as pure functions, both stores through the contract fixture, the
CLI, and a real daemon keeping groups right through add, edit, move and delete."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from archive.store.base import Store
from archive.store.records import Filters
from archive.stories.keeper import Keeper, Peer, Placement
from archive.stories.signature import Signature, shingles, signature, similarity
from archive.stories.urls import canonical_url
from archive.validation import article_from_doc
from tests.conftest import article_text, item_for
from tests.daemon import DaemonProc, wait_for

_VOCABULARY = ("market shares rose sharply after the central bank said interest rates would stay low for longer "
               "than investors had expected while exporters welcomed a weaker currency and importers warned of "
               "higher prices for fuel food and machinery during the coming winter months across the region")
WORDS = tuple(_VOCABULARY.split(" "))


def text(seed: int, paragraphs: int = 6, words: int = 60) -> str:
    """A body of its own: a random walk over a vocabulary (two seeds share no long runs)."""
    rng = random.Random(seed)
    return "\n\n".join(" ".join(rng.choice(WORDS) for _ in range(words)) for _ in range(paragraphs))


def republished(body: str, cut: float = 0.3) -> str:
    """As an outlet runs wire copy: its boilerplate around the text, the end cut off."""
    paras = body.split("\n\n")
    kept = paras[: max(1, round(len(paras) * (1 - cut)))]
    return ("Subscribe to our newsletter for the day's top stories.\n\n" + "\n\n".join(kept)
            + "\n\nCopyright Example Outlet. All rights reserved.")


# ---------------------------------------------------------------- pure rules


def test_addresses_meet_whatever_tracking_scheme_host_case_slash_or_fragment() -> None:
    same = ["https://www.Example.com/news/story-1?utm_source=tw&utm_medium=social",
            "http://example.com/news/story-1/", "https://example.com/news/story-1#comments",
            "https://example.com/news/story-1?fbclid=abc&gclid=def", "https://EXAMPLE.com:443/news/story-1"]
    assert len({canonical_url(u) for u in same}) == 1
    assert canonical_url("https://example.com/news/story-1?id=2") != canonical_url("https://example.com/news/story-1?id=3")
    assert canonical_url("https://example.com/news/story-2") != canonical_url(same[0])
    assert canonical_url("mailto:someone@example.com") is None and canonical_url(None) is None


def test_a_cut_copy_with_boilerplate_stays_alike_and_another_text_does_not() -> None:
    body = text(1)
    copy = republished(body, cut=0.35)
    cont, jac = similarity(shingles(body), shingles(copy))
    assert cont >= 0.8 and jac >= 0.5
    assert set(signature(body).keys) & set(signature(copy).keys)  # a shared band makes it a candidate
    other = similarity(shingles(body), shingles(text(2)))
    assert other[0] < 0.1


def test_signatures_are_stable_and_a_short_text_has_none() -> None:
    assert signature(text(3)) == signature(text(3)) and len(signature(text(3)).keys) == 32
    assert signature("Too short to tell.") == ((), b"")
    assert all(-(2**63) <= k < 2**63 for k in signature(text(4)).keys)  # SQLite INTEGER, BSON long


def test_the_fine_sketch_estimates_jaccard_and_lets_every_copy_through() -> None:
    """Issue 27: a candidate is compared on its shingles only when the fine sketches leave room for
    a copy. Copies cut and wrapped in boilerplate pass; texts sharing a paragraph or nothing do
    not; the estimate follows the true Jaccard similarity; an unknown sketch always passes."""
    from archive.stories.keeper import MIN_JACCARD, may_copy
    from archive.stories.signature import agreement

    for seed in range(12):
        body = text(seed, paragraphs=10)
        for cut in (0.0, 0.2, 0.4):
            copy = republished(body, cut)
            assert may_copy(signature(body).sketch, signature(copy).sketch), (seed, cut)
        paras = body.split("\n\n")
        neighbour = "\n\n".join([paras[0], *text(100 + seed, paragraphs=9).split("\n\n")])  # one paragraph shared
        for other in (neighbour, text(200 + seed, paragraphs=10)):
            jac = similarity(shingles(body), shingles(other))[1]
            share, bins = agreement(signature(body).sketch, signature(other).sketch)
            assert jac < MIN_JACCARD and abs(share - jac) < 0.1 and bins > 200, (seed, jac, share)
            assert not may_copy(signature(body).sketch, signature(other).sketch), (seed, jac, share)
    assert may_copy(b"", signature(text(1)).sketch) and signature("Too short.").sketch == b""


class Memory:
    """archive.stories.keeper.StoryBackend in a dict: the rules without a store."""

    def __init__(self) -> None:
        self.arts: dict[str, Peer] = {}
        self.keys: dict[str, tuple[list[int], str | None, bytes]] = {}
        self.placed: dict[str, Placement] = {}

    def _peer(self, id: str) -> Peer:
        p = self.arts[id]
        pl = self.placed.get(id)
        _, url_key, sketch = self.keys.get(id, ([], None, b""))
        return p._replace(story=pl.story if pl else None, url_key=url_key, sketch=sketch)

    def story_peers(self, keys: Sequence[int], url_key: str | None, exclude: str) -> list[Peer]:
        from collections import Counter

        from archive.stories.keeper import choose_candidates

        shared = Counter({i: len(set(ks) & set(keys)) for i, (ks, _, _) in self.keys.items()
                          if i != exclude and i in self.arts and set(ks) & set(keys)})
        ids = set(choose_candidates(shared))
        ids |= {i for i, (_, u, _) in self.keys.items() if i != exclude and i in self.arts and url_key and u == url_key}
        return [self._peer(i) for i in sorted(ids)]

    def story_bodies(self, ids: Sequence[str]) -> dict[str, str]:
        return {i: self.arts[i].body or "" for i in ids if i in self.arts}

    def story_peer(self, id: str) -> Peer | None:
        return self._peer(id) if id in self.arts else None

    def story_members(self, story: str) -> list[Peer]:
        return [self._peer(i) for i, p in self.placed.items() if p.story == story and i in self.arts]

    def story_put(self, id: str, placement: Placement | None) -> None:
        if placement is None:
            self.placed.pop(id, None)
        else:
            self.placed[id] = placement

    def story_index(self, id: str, sig: Signature, url_key: str | None) -> None:
        self.keys[id] = (list(sig.keys), url_key, sig.sketch)

    def add(self, k: Keeper, id: str, body: str, url: str | None = None, seen: str | None = None) -> None:
        self.arts[id] = Peer(id, None, seen or f"2026-01-01 {len(self.arts):05d}", body, canonical_url(url))
        k.place(self.arts[id])

    def delete(self, k: Keeper, id: str) -> None:
        story = self.placed.get(id)
        del self.arts[id]
        k.remove(id, story.story if story else None)

    def groups(self) -> set[frozenset[str]]:
        by: dict[str, set[str]] = {}
        for i, p in self.placed.items():
            by.setdefault(p.story, set()).add(i)
        return {frozenset(g) for g in by.values()}


def test_copies_gather_around_the_first_seen_and_unrelated_texts_stay_apart() -> None:
    m = Memory()
    k = Keeper(m)
    m.add(k, "orig", text(10))
    m.add(k, "other", text(11))
    m.add(k, "copy1", republished(text(10), 0.1))
    m.add(k, "copy2", republished(text(10), 0.35))
    assert m.groups() == {frozenset({"orig", "copy1", "copy2"})}
    assert m.placed["copy1"] == Placement("orig", "near-duplicate", m.placed["copy1"].similarity)
    assert m.placed["orig"].similarity == 1.0 and 0.5 <= m.placed["copy2"].similarity < 1.0


def test_a_template_with_other_figures_is_not_a_copy_and_a_copy_keeps_its_figures() -> None:
    """Issue 25: the Rust survey's yearly announcements (the same wording, other years and figures,
    0.52-0.77 alike) were one story; a cut copy keeps the figures it kept."""
    def announcement(year: int, words: str) -> str:
        base = text(20).split("\n\n")
        figures = f"The {year} survey ran for {year % 100} days in {year - 2000} languages; {3 * year} answered."
        return "\n\n".join([figures, *base[:3], words, *base[3:4], f"Results of {year} follow in {year + 1}."])

    m = Memory()
    k = Keeper(m)
    m.add(k, "y2017", announcement(2017, text(30, 1)))
    m.add(k, "y2019", announcement(2019, text(31, 1)))
    assert m.groups() == set()
    m.add(k, "copy", republished(announcement(2017, text(30, 1)), 0.2))
    assert m.groups() == {frozenset({"y2017", "copy"})}


def test_a_follow_up_under_a_new_opening_is_no_copy_and_a_copy_keeping_the_opening_is() -> None:
    """Issue 25: BBC follow-ups reuse half an earlier report under a new opening ("Bafta to hand out
    movie honours" after "Stars gear up for Bafta ceremony"): 0.5-0.63 alike, they were grouped as
    copies. A copy as far from its source keeps the source's opening, or what follows it where
    the outlet wrote its own lede."""
    from archive.stories.keeper import OPENING_ASIDE

    earlier = text(80, paragraphs=8).split("\n\n")
    new = text(81, paragraphs=3).split("\n\n")
    follow_up = "\n\n".join(new + earlier[3:7])
    copy = "\n\n".join(earlier[:3] + new[:2] + earlier[3:4])
    lede = " ".join(text(82, paragraphs=1).split()[:25])  # an outlet's own first paragraph, then the copy
    relede = "\n\n".join([lede, *earlier[1:4], new[0]])
    for other in (follow_up, copy, relede):
        cont, jac = similarity(shingles(other), shingles("\n\n".join(earlier)))
        assert 0.5 <= cont < OPENING_ASIDE and jac >= 0.3  # alike as copies are, in the doubtful band
    m = Memory()
    k = Keeper(m)
    m.add(k, "earlier", "\n\n".join(earlier))
    m.add(k, "follow-up", follow_up)
    m.add(k, "copy", copy)
    m.add(k, "relede", relede)
    assert m.groups() == {frozenset({"earlier", "copy", "relede"})}


def test_no_chaining_through_an_article_that_resembles_two_stories() -> None:
    a, b = text(20, paragraphs=4), text(21, paragraphs=4)
    m = Memory()
    k = Keeper(m)
    m.add(k, "a", a)
    m.add(k, "ab", a + "\n\n" + b)  # a round-up holding both texts
    m.add(k, "b", b)
    # "ab" may join a's story; b is not a's copy, so it never joins it through "ab".
    assert not any({"a", "b"} <= g for g in m.groups())


def test_an_original_met_after_its_copies_anchors_their_stories() -> None:
    """A first ingest of an old collection meets its files in no order: copies formed two stories
    (one outlet's ran the opening, another's the rest: neither copies the other), then the original,
    its file older than theirs, joined one as a member; the story was split in two around copies.
    An article older than a story's anchor, copied by every member, anchors that story, and the
    other story's copies join it."""
    paras = text(70, paragraphs=8).split("\n\n")
    orig = "\n\n".join(paras)
    head, tail = "\n\n".join(paras[:5]), "\n\n".join(paras[3:])
    m = Memory()
    k = Keeper(m)
    m.add(k, "head", republished(head, 0.0), seen="2026-01-01 00002")
    m.add(k, "head-cut", republished(head, 0.2), seen="2026-01-01 00003")
    m.add(k, "tail", republished(tail, 0.0), seen="2026-01-01 00004")
    m.add(k, "tail-cut", republished(tail, 0.2), seen="2026-01-01 00005")
    assert m.groups() == {frozenset({"head", "head-cut"}), frozenset({"tail", "tail-cut"})}
    m.add(k, "orig", orig, seen="2026-01-01 00001")  # saved first, met last
    assert m.groups() == {frozenset({"orig", "head", "head-cut", "tail", "tail-cut"})}
    assert m.placed["orig"] == Placement("orig", "near-duplicate", 1.0)
    assert all(m.placed[i].story == "orig" and 0.5 <= m.placed[i].similarity < 1.0 for i in m.placed if i != "orig")
    # ... but not when a member is no copy of it (a long piece built on the opening): it joins.
    m = Memory()
    k = Keeper(m)
    m.add(k, "head", republished(head, 0.0), seen="2026-01-01 00002")
    m.add(k, "long", head + "\n\n" + text(71, paragraphs=10), seen="2026-01-01 00003")
    m.add(k, "orig", orig, seen="2026-01-01 00001")
    assert m.groups() == {frozenset({"head", "long", "orig"})} and m.placed["orig"].story == "head"
    assert similarity(shingles(m.arts["long"].body), shingles(orig))[1] < 0.3  # no copy of the original


def test_a_story_that_loses_its_first_seen_forms_again_and_one_left_alone_ends() -> None:
    m = Memory()
    k = Keeper(m)
    for i, cut in enumerate((0.0, 0.1, 0.2)):
        m.add(k, f"c{i}", republished(text(30), cut) if i else text(30))
    m.delete(k, "c0")
    assert m.groups() == {frozenset({"c1", "c2"})} and m.placed["c2"].story == "c1"
    m.delete(k, "c2")
    assert m.groups() == set() and m.placed == {}


def test_saves_of_one_page_meet_whatever_their_text() -> None:
    m = Memory()
    k = Keeper(m)
    m.add(k, "v1", text(40), "https://www.example.com/a?utm_source=x")
    m.add(k, "v2", text(41), "http://example.com/a/")
    m.add(k, "elsewhere", text(42), "https://example.com/b")
    assert m.groups() == {frozenset({"v1", "v2"})}
    assert m.placed["v2"].reason == "same-url" and m.placed["v2"].story == "v1"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0.0, 0.35), st.booleans(), st.integers(0, 99)),
                min_size=1, max_size=14), st.booleans())
def test_any_sequence_of_arrivals_and_deletions_keeps_stars_true(steps: list[tuple[int, float, bool, int]],
                                                                 in_order: bool) -> None:
    """Whatever arrives and goes, in the order first seen or not (a first ingest of an old
    collection meets older files after newer ones): every story has two or more live articles, its
    id is one of them, each member is a confirmed copy of that article, and no two stories hold
    copies of one text while both their anchors live (a copy joins, never starts a second)."""
    m = Memory()
    k = Keeper(m)
    for n, (source, cut, delete, when) in enumerate(steps):
        live = sorted(m.arts)
        if delete and live:
            m.delete(k, live[n % len(live)])
        else:
            seen = None if in_order else f"2026-01-01 {when:05d} {n:03d}"
            m.add(k, f"x{n}", republished(text(100 + source), cut) if cut > 0.05 else text(100 + source), seen=seen)
    for g in m.groups():
        assert len(g) >= 2
        (story,) = {m.placed[i].story for i in g}
        assert story in g
        for i in g - {story}:
            cont, jac = similarity(shingles(m.arts[i].body), shingles(m.arts[story].body))
            assert cont >= 0.5 and jac >= 0.2
    def source(i: str) -> int:
        return next(s for s in range(6) if m.arts[i].body.split("\n\n")[1] in text(100 + s))

    anchors = [next(iter({m.placed[i].story for i in g})) for g in m.groups()]
    assert len({source(a) for a in anchors}) == len(anchors)


# ---------------------------------------------------------------- both stores


def _write(write_article, name: str, body: str, title: str = "Title", url: str | None = None):  # type: ignore[no-untyped-def]
    if url:
        return write_article(name, f"---\ntitle: {title}\nurl: {url}\n---\n\n{body}\n")
    return write_article(name, article_text(title=title, body=body))


def test_both_stores_group_copies_and_pages_and_keep_them_through_change_move_and_delete(
        store: Store, write_article, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    orig = _write(write_article, "orig.txt", text(50), "Markets rally")
    copy = _write(write_article, "copy.txt", republished(text(50), 0.3), "Shares jump as bank holds")
    other = _write(write_article, "other.txt", text(51), "Unrelated")
    v1 = _write(write_article, "v1.md", text(52), "Page", "https://www.example.com/p?utm_source=a")
    v2 = _write(write_article, "v2.md", text(53), "Page again", "http://example.com/p/")
    store.upsert_many([item_for(p) for p in (orig, copy, other, v1, v2)])
    by_path = {a.source.path: a for a in store.query(Filters())}
    a_orig, a_copy, a_other = by_path[str(orig)], by_path[str(copy)], by_path[str(other)]
    assert a_orig.story == a_copy.story == a_orig.id and a_other.story is None
    assert by_path[str(v1)].story == by_path[str(v2)].story is not None
    found = {s.id: s for s in store.stories(Filters())}
    assert set(found) == {a_orig.id, by_path[str(v1)].id}
    s = found[a_orig.id]
    assert [m.article.id for m in s.members] == [a_orig.id, a_copy.id]  # the first seen first
    assert s.members[1].reason == "near-duplicate" and 0.5 <= s.members[1].similarity < 1
    assert found[by_path[str(v1)].id].members[1].reason == "same-url"
    assert s.to_doc()["size"] == 2 and set(s.to_doc()["articles"][0]) == {
        "id", "path", "title", "site", "published", "similarity", "reason"}
    assert store.stories(Filters(), min_size=3) == []
    assert [x.id for x in store.stories(Filters(), limit=1)] and len(store.stories(Filters(), limit=1)) == 1

    moved = copy.with_name("moved.txt")  # a move keeps the story
    copy.rename(moved)
    store.upsert_many([item_for(moved)._replace(move_from=a_copy.id)])
    assert store.get(a_copy.id).story == a_orig.id  # type: ignore[union-attr]

    _write(write_article, "moved.txt", text(54), "Rewritten")  # an edit into another text: out
    store.upsert_many([item_for(moved)])
    assert store.get(a_copy.id).story is None and store.get(a_orig.id).story is None  # type: ignore[union-attr]
    _write(write_article, "moved.txt", republished(text(50), 0.2), "Back")  # and back in
    store.upsert_many([item_for(moved)])
    assert store.get(a_copy.id).story == a_orig.id  # type: ignore[union-attr]

    store.mark_deleted([str(orig)])  # the first seen goes: the story ends (one left)
    assert store.get(a_copy.id).story is None and store.story(a_orig.id) is None  # type: ignore[union-attr]
    store.upsert_many([item_for(orig)])  # the file comes back: the story again
    assert store.get(a_copy.id).story == store.get(a_orig.id).story is not None  # type: ignore[union-attr]


def test_both_stores_let_an_original_met_after_its_copies_anchor_their_story(
        store: Store, write_article) -> None:  # type: ignore[no-untyped-def]
    """A first ingest of an old collection: two copies stored first form a story; the original,
    its file saved before theirs, comes in a later write and becomes the story's first article."""
    import os

    paras = text(60, paragraphs=8).split("\n\n")
    copies = [_write(write_article, f"copy{i}.txt", republished("\n\n".join(paras), cut), f"Copy {i}")
              for i, cut in enumerate((0.1, 0.2))]
    store.upsert_many([item_for(p) for p in copies])
    orig = _write(write_article, "orig.txt", "\n\n".join(paras), "Markets rally")
    os.utime(orig, (1_500_000_000, 1_500_000_000))  # saved in 2017, long before the copies were stored
    store.upsert_many([item_for(orig)])
    by_path = {a.source.path: a for a in store.query(Filters())}
    first = by_path[str(orig)]
    assert {by_path[str(p)].story for p in copies} == {first.id} and first.story == first.id
    (found,) = store.stories(Filters())
    assert found.id == first.id and found.members[0].article.id == first.id and len(found.members) == 3
    assert all(0.5 <= m.similarity < 1 for m in found.members[1:])


def test_the_story_is_in_every_export_format_and_an_import_cannot_forge_it(
        store: Store, write_article) -> None:  # type: ignore[no-untyped-def]
    from archive.export import CSV_COLUMNS

    orig = _write(write_article, "orig.txt", text(60))
    copy = _write(write_article, "copy.txt", republished(text(60)))
    store.upsert_many([item_for(orig), item_for(copy)])
    docs = [a.to_doc() for a in store.query(Filters())]
    assert {d["story"] for d in docs} == {docs[0]["story"]} != {None}
    assert "story" in CSV_COLUMNS
    from archive.export import to_ejson, to_markdown
    from archive.parsing import parse_bytes

    art = next(iter(store.query(Filters())))
    assert to_ejson(art.to_doc())["story"] == art.story
    md = to_markdown(art)
    assert f"story: {art.story}" in md
    back = parse_bytes(md.encode(), "x.md")  # the story is the store's to decide: read past, not into fields
    assert back.body == art.body and back.title == art.title and not back.tags and not back.warnings

    forged = article_from_doc({**docs[0], "story": "forged", "title": "Changed"})
    store.put_articles([forged])
    assert store.get(forged.id).story == docs[0]["story"]  # type: ignore[union-attr]


# ---------------------------------------------------------------- the command line and a daemon


def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archive", "--db", str(db), *args], capture_output=True, text=True)


def test_stories_command_lists_groups_as_the_spec_says(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text(article_text(title="Original", body=text(70)))
    (d / "b.txt").write_text(article_text(title="Copy elsewhere", body=republished(text(70))))
    (d / "c.txt").write_text(article_text(title="Alone", body=text(71)))
    db = tmp_path / "a.db"
    assert run("ingest", str(d), db=db).returncode == 0
    out = run("stories", "--format", "jsonl", db=db)
    assert out.returncode == 0, out.stderr
    [story] = [json.loads(line) for line in out.stdout.splitlines()]
    assert story["size"] == 2 and [a["path"] for a in story["articles"]] == [str(d / "a.txt"), str(d / "b.txt")]
    assert story["articles"][0]["similarity"] == 1.0 and story["articles"][1]["reason"] == "near-duplicate"
    assert story["id"] == story["articles"][0]["id"]
    assert run("stories", "--min-size", "3", "--format", "jsonl", db=db).stdout == ""
    assert run("stories", "--site", "Nowhere", "--format", "jsonl", db=db).stdout == ""
    csv = run("stories", "--format", "csv", db=db).stdout.splitlines()
    assert csv[0].startswith("story,size,id,path") and len(csv) == 3
    shown = run("show", str(d / "b.txt"), "--format", "table", db=db)
    assert f"story {story['id'][:8]}" in shown.stdout and "first seen" in shown.stdout
    assert run("stories", "--min-size", "1", db=db).returncode == 2  # usage: a story has two articles


def _stories(db: Path) -> list[set[str]]:
    out = run("stories", "--format", "jsonl", db=db)
    return [{Path(a["path"]).name for a in json.loads(line)["articles"]} for line in out.stdout.splitlines()]


def test_a_daemon_keeps_stories_through_add_edit_move_and_delete(tmp_path: Path) -> None:
    folder, db = tmp_path / "watched", tmp_path / "store" / "archive.db"
    folder.mkdir()
    d = DaemonProc(folder, db, "--rescan-interval", "0").wait_ready()
    try:
        (folder / "a.txt").write_text(article_text(title="Wire", body=text(80)))
        (folder / "b.txt").write_text(article_text(title="Outlet", body=republished(text(80))))
        wait_for(lambda: _stories(db) == [{"a.txt", "b.txt"}])
        (folder / "c.txt").write_text(article_text(title="Another outlet", body=republished(text(80), 0.15)))
        wait_for(lambda: _stories(db) == [{"a.txt", "b.txt", "c.txt"}])
        (folder / "b.txt").rename(folder / "b2.txt")
        wait_for(lambda: _stories(db) == [{"a.txt", "b2.txt", "c.txt"}])
        (folder / "c.txt").write_text(article_text(title="Rewritten", body=text(81)))
        wait_for(lambda: _stories(db) == [{"a.txt", "b2.txt"}])
        (folder / "a.txt").unlink()
        wait_for(lambda: _stories(db) == [])
    finally:
        assert d.stop() == 0, d.log.read_text()


def test_candidates_share_two_bands_or_are_few() -> None:
    """A paragraph shared with hundreds of articles does not make them all candidates (each costs
    an exact comparison); a lone article sharing one band still is one (a cut copy may)."""
    from collections import Counter

    from archive.stories.keeper import MAX_WEAK_CANDIDATES, choose_candidates

    assert choose_candidates(Counter({"a": 5, "b": 1, "c": 2})) == ["a", "c", "b"]
    many = Counter({f"w{i}": 1 for i in range(MAX_WEAK_CANDIDATES + 1)})
    assert choose_candidates(many + Counter({"s": 3})) == ["s"]
    assert choose_candidates(Counter({"w": 1})) == ["w"]


def test_the_shingle_cache_gives_what_shingling_gives_and_stays_in_its_budget() -> None:
    """Issue 27: the writer keeps shingles between writes (and takes the parse workers'), bounded."""
    from archive.stories.keeper import ShingleCache
    from archive.stories.signature import shingles, signature, signed, unpack

    texts = [text(i) for i in range(6)]
    sig, packed = signed(texts[0])
    assert sig == signature(texts[0]) and unpack(packed) == shingles(texts[0])
    one = len(shingles(texts[1]))
    cache = ShingleCache(budget=3 * one)
    cache.put(texts[0], packed)
    for t in texts:
        assert cache.get(t) == shingles(t)
        assert cache.size <= cache.budget
    assert cache.get(texts[-1]) == shingles(texts[-1]) and 0 < len(cache._d) <= 3


@given(st.text(alphabet=st.sampled_from(list("ab Z9_.,'-\n") + list("\u00a0‘’“”–—…£€•°é\u0130ß")), max_size=60))
def test_shingle_words_are_the_regex_words_whatever_the_path(text: str) -> None:
    """The byte-table path (ASCII text, and text whose only non-ASCII characters are common
    punctuation) splits exactly as the regex path: signatures never depend on which ran."""
    import re

    from archive.stories.signature import words

    assert words(text) == [w.encode("utf-8") for w in re.findall(r"\w+", text.lower())]


@given(st.lists(st.integers(min_value=0, max_value=2**32 - 1), max_size=400))
def test_sketches_are_the_smallest_hash_of_each_bin_as_defined(hashes: list[int]) -> None:
    """The sketches are made in one pass over the hashes; they are what their definition says (the
    band keys stores already hold depend on it): each bin's smallest hash, an empty bin the next
    non-empty one's (round the end) marked by its distance."""
    from archive.stories.signature import BINS, FINE, fine_sketch, sketch

    def reference(bins: int) -> list[tuple[int, int]]:
        width = 2**32 // bins
        mins = [min((h for h in hashes if h // width == b), default=None) for b in range(bins)]
        out = []
        for b in range(bins):
            step = 0
            while mins[(b + step) % bins] is None:
                step += 1
            out.append((mins[(b + step) % bins] or 0, step))
        return out

    if not hashes:
        assert sketch(hashes) == (0,) * BINS and fine_sketch(hashes) == b""
        return
    assert sketch(hashes) == tuple(v % 2**26 + step * 2**26 for v, step in reference(BINS))
    fine = fine_sketch(hashes)
    assert fine[:4] == len(set(hashes)).to_bytes(4, "little")
    assert fine[4:] == bytes((v % 256 + step * 157) % 256 for v, step in reference(FINE))


@given(st.sets(st.integers(0, 60)), st.sets(st.integers(0, 60)), st.sets(st.integers(0, 60)))
def test_leaving_a_template_out_never_lifts_jaccard_above_shared_over_theirs(mine: set[int], theirs: set[int],
                                                                              template: set[int]) -> None:
    """The keeper counts an article's template shingles only for a candidate sharing at least
    MIN_JACCARD of its own shingles with it: the rule rests on this bound."""
    from archive.stories.signature import ratios

    common = template & mine  # the template is the article's own
    both = mine & theirs
    left_out = len(common & both)
    _, jac = ratios(len(both) - left_out, len(mine) - len(common), len(theirs) - left_out)
    assert not theirs or jac <= len(both) / len(theirs) + 1e-12


@given(st.integers(0, 400), st.integers(0, 400), st.integers(0, 400), st.data())
def test_a_pair_could_copy_rejects_is_no_copy_with_any_template_it_allows(shared: int, mine_only: int,
                                                                         theirs_only: int, data: st.DataObject) -> None:
    """The keeper counts an article's template only for a candidate could_copy leaves room for:
    whatever template of at most MAX_TEMPLATE of the article is left out (some of it shared with
    the candidate, some not), a pair it rejects stays no copy; one that is a copy as it is passes."""
    from archive.stories.keeper import MAX_TEMPLATE, MIN_CONTAINMENT, MIN_JACCARD, could_copy
    from archive.stories.signature import ratios

    mine, theirs = shared + mine_only, shared + theirs_only
    aside_unshared = data.draw(st.integers(0, mine_only))
    aside_shared = data.draw(st.integers(0, shared))
    cont, jac = ratios(shared - aside_shared, mine - aside_unshared - aside_shared, theirs - aside_shared)
    if aside_unshared + aside_shared <= MAX_TEMPLATE * mine and not could_copy(shared, mine, theirs):
        assert cont < MIN_CONTAINMENT or jac < MIN_JACCARD
    as_is = ratios(shared, mine, theirs)
    if as_is[0] >= MIN_CONTAINMENT and as_is[1] >= MIN_JACCARD:
        assert could_copy(shared, mine, theirs)
