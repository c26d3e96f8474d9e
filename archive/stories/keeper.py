"""Which story an article belongs to, kept as articles arrive, change and vanish.

A story is a star around its first-seen article, the *anchor*; the story's id is the anchor's
article id. An article joins a story when

* it was saved from the same page as a member (``same-url``: the canonical addresses of
  archive.stories.urls are equal), whatever its text; or
* its text is a copy of the anchor's (``near-duplicate``): they share a band of their sketches
  (the candidates) and, on the shingles themselves, most of the shorter text is in the longer
  (containment) while the two still share a good part of their words together (Jaccard), so that a
  short article quoted inside a long round-up is not a copy of it; a pair less alike must also
  keep its figures (a template's yearly announcements do not) and an opening (a follow-up reusing
  an earlier report's background under a new one does not).

Comparing with the anchor, never with any member, is the guard against chaining: two unrelated
articles never meet through a third that resembles both. An article seen before a story's anchor
but met after it (a first ingest of an old collection reads files in no order) anchors that story
when every member copies it; else it joins as a member. The rules here are decisions only; a
backend (:class:`StoryBackend`) reads and writes what they decide, in the transaction of the write
that caused them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from archive.models import Article
from archive.stories.reasons import NEAR_DUPLICATE, SAME_URL, seen_of
from archive.stories.signature import (
    Signature,
    agreement,
    opening,
    ratios,
    shingles,
    signature,
    similarity,
    unpack,
    unpacked,
)
from archive.stories.urls import canonical_url

MIN_CONTAINMENT = 0.5  # of the shorter text's shingles, found in the longer's
MIN_JACCARD = 0.3  # of both texts' shingles together
# Candidates share at least this many band keys with the article (or its canonical address). One
# shared band (two equal MinHash bins) is also what texts that share a paragraph show; a copy
# (Jaccard >= 0.3, a band matching with probability ~J^2) mostly shares several: one at 0.5
# shares fewer than two with p ~0.001, one at the threshold with p ~0.2. Without this rule a
# collection whose articles share paragraphs compared each article with hundreds of others.
MIN_SHARED_BANDS = 2
# ... but when at most this many articles share one band, they are compared too: a cut copy behind
# another outlet's boilerplate may share one band only. On the labelled set (scripts/bench.py
# stories --seed 7) 20 keeps every copy pair found (8 lost 0.5% of them, 3 lost 1.2%); 10,000
# articles drawn from the BBC sample's paragraphs ingest in 38 s (every candidate compared: 65 s).
MAX_WEAK_CANDIDATES = 20
MAX_CANDIDATES = 200  # at most this many, the most shared first


def choose_candidates(shared: Counter[Any]) -> list[Any]:
    """The articles (by the backend's key) to compare, from how many band keys each shares:
    those sharing MIN_SHARED_BANDS or more, the most first; those sharing fewer only when there
    are at most MAX_WEAK_CANDIDATES of them."""
    ranked = shared.most_common()
    strong = [a for a, c in ranked if c >= MIN_SHARED_BANDS]
    weak = [a for a, c in ranked if c < MIN_SHARED_BANDS]
    return (strong + (weak if len(weak) <= MAX_WEAK_CANDIDATES else []))[:MAX_CANDIDATES]


# A shingle that candidates of this many different stories (or lone articles) share is a template
# or boilerplate ("The Rust team has published a new point release"), not evidence of a copy: it
# is left out when the article is compared with them. Counted over the first TEMPLATE_PEERS (each
# read and shingled: at 100,000 articles most are no longer in the writer's cache). 24 and 50 give
# the same groups on the labelled sets (scripts/bench.py stories, seeds 7/11/3) and on the real
# corpora (68 stories); 12 lost 3 copy pairs of seed 7. 5,000 articles into a store of 100,000: 20.2
# s with 50, 17.6 with 24.
TEMPLATE_GROUPS = 4
TEMPLATE_PEERS = 24


class Peer(NamedTuple):
    """What the keeper needs of an article already stored."""

    id: str
    story: str | None
    seen: str  # ingested_at, ISO-8601: first seen sorts first
    body: str | None  # its text; None: not read yet (the keeper asks for it when a comparison needs it)
    url_key: str | None  # canonical_url() of its address
    sketch: bytes = b""  # its fine sketch (signature.fine_sketch); empty: not known


class Placement(NamedTuple):
    story: str  # the anchor's id
    reason: str  # near-duplicate or same-url
    similarity: float  # containment with the anchor (1.0 for the anchor itself)


class StoryBackend(Protocol):
    """What a store does for the keeper (inside its write transaction)."""

    def story_peers(self, keys: Sequence[int], url_key: str | None, exclude: str) -> list[Peer]:
        """Live articles other than ``exclude`` that share the canonical address, or band keys
        as :func:`choose_candidates` chooses (from each key's first MAX_CANDIDATES articles); their
        texts need not be read (most candidates are never compared)."""

    def story_bodies(self, ids: Sequence[str]) -> dict[str, str]:
        """The texts of some articles."""

    def story_peer(self, id: str) -> Peer | None:
        """One live article."""

    def story_members(self, story: str) -> list[Peer]:
        """The articles of a story, the anchor included."""

    def story_put(self, id: str, placement: Placement | None) -> None:
        """Record (or clear) an article's story."""

    def story_index(self, id: str, sig: Signature, url_key: str | None) -> None:
        """Replace an article's band keys, fine sketch and address (none: it is no candidate any more)."""


def _first(p: Peer) -> tuple[str, str]:
    return (p.seen, p.id)


def peer_of(a: Article) -> Peer:
    """An article just written, as the keeper sees it (alone until placed)."""
    return Peer(a.id, None, seen_of(a), a.body, canonical_url(a.url))


# An article of a write to place: itself, the story it was in before the write, its signature if known.
Placing = tuple[Peer, str | None, Signature | None]

# The fine sketches' agreement estimates a pair's Jaccard similarity within sqrt(J(1-J)/bins): a pair
# it puts more than PREFILTER_SD deviations below MIN_JACCARD is no copy and is not compared. At 256
# bins a pair at the threshold passes with p > 0.9999; candidates sharing a paragraph (J ~0.1) do
# not, and they are most of them where articles share paragraphs. (That is on all the shingles:
# leaving an article's template shingles out can make a pair more alike: on the labelled set of
# scripts/bench.py stories the grouped pair nearest the cut has a sketch 1.6 deviations below 0.3,
# and the groups of seeds 7/11/3 are unchanged by it; at 3 deviations they were too, with less margin.)
PREFILTER_SD = 4.0


def may_copy(a: bytes, b: bytes) -> bool:
    """Whether the fine sketches of two texts leave room for one to be a copy of the other (an
    unknown sketch always does)."""
    if not a or not b:
        return True
    share, bins = agreement(a, b)
    return share >= MIN_JACCARD - PREFILTER_SD * math.sqrt(MIN_JACCARD * (1 - MIN_JACCARD) / max(bins, 1))


# A template (an announcement of each year's survey, each point release, each month's meeting)
# repeats its wording with other figures; a copy keeps the figures of what it kept. Two texts
# that share less than SAME_FIGURES of the shorter's numbers are copies only when they share
# FIGURES_ASIDE of their shingles (a copy that cut most figures, or added a few of its own).
# On the labelled set (bench.py stories --seed 7) every copy pair below SAME_FIGURES shares 0.82
# or more; the templated pairs grouped without this rule, 0.52 to 0.77.
SAME_FIGURES = 0.6
MIN_FIGURES = 3  # fewer figures tell nothing: an outlet's "1 comment" is one of them
FIGURES_ASIDE = 0.8
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def figures(body: str) -> frozenset[str]:
    """The numbers a text gives ("2019", "1.56.1", "25.6"), as written."""
    return frozenset(_NUMBER.findall(body))


# A follow-up reuses an earlier report's background under a new opening ("Bafta to hand out movie
# honours" after "Stars gear up for Bafta ceremony", "Winter freeze keeps oil above $50" after "Crude
# oil prices back above $50": half of the shorter text in the longer); a copy keeps the opening of
# what it copies, or, where an outlet rewrote the lede, what follows it. Two texts sharing less than
# OPENING_ASIDE of the shorter are copies only when one of them holds MIN_OPENING of the other's
# first or second OPENING shingles (its template aside). On the labelled sets (scripts/bench.py
# stories, ten seeds) the pairs grouped outside the truth were all such follow-ups (BBC's) and a
# template's bond issues: precision 0.983-0.994 -> 0.997-0.999, copy recall unchanged. The first
# window alone gave 1.0, but where every copy also rewrote its first paragraph (a /tmp variant of
# the labelled set) it lost a tenth of the copies (recall 0.90 -> 0.80); with the second, none.
OPENING_ASIDE = 0.7
OPENING = 30  # shingles a window: the first, then the second
MIN_OPENING = 0.35


def opening_kept(a: str, b: str, a_set: Collection[int], b_set: Collection[int], aside: Collection[int]) -> float:
    """How much of either text's opening (its first or its second OPENING shingles, ``aside`` set
    aside: the article's template) the other holds (``a_set``, ``b_set``: their shingles)."""
    best = 0.0
    for text, other in ((a, b_set), (b, a_set)):
        first = [h for h in opening(text, 2 * OPENING) if h not in aside]
        for window in (first[:OPENING], first[OPENING : 2 * OPENING]):
            if window:
                best = max(best, sum(1 for h in window if h in other) / len(window))
    return best


def _copy(alike: tuple[float, float], figures_of: Callable[[], tuple[frozenset[str], frozenset[str]]],
          opening_of: Callable[[], float]) -> float | None:
    """The containment of two texts (``alike``: their containment and Jaccard, as
    signature.similarity gives them) when one is a copy of the other, else None (``figures_of``
    gives both texts' figures and ``opening_of`` how much of an opening is kept (opening_kept),
    asked only of a pair alike enough)."""
    cont, jac = alike
    if cont < MIN_CONTAINMENT or jac < MIN_JACCARD:
        return None
    if cont < FIGURES_ASIDE:
        my_figures, their_figures = figures_of()
        fewer = min(len(my_figures), len(their_figures))
        if fewer >= MIN_FIGURES and len(my_figures & their_figures) / fewer < SAME_FIGURES:
            return None  # the same wording with other figures: a template
    if cont < OPENING_ASIDE and opening_of() < MIN_OPENING:
        return None  # another opening on both sides: a follow-up
    return cont


# Shingles the writer keeps between writes: 48 MB packed, about 12,000 articles of 5 KB. 10,000
# articles of BBC paragraphs ingest in 21.3 s with 4M, 16.9 s with 12M (which holds them all); a
# budget below the working set also costs memory (evicted arrays made again fragment the heap:
# 8M measured 30-70 MB more at the writer's peak than 12M).
SHINGLE_BUDGET = 12_000_000


# Shingle sets a keeper holds while it places one write's articles (each ~60 KB): the articles it
# places and the candidates it gathers into a story; every other candidate is compared as the
# packed array SHINGLES keeps, no set made of it.
KEPT_SETS = 256


# Leaving an article's template shingles out makes it more like a copy only by what it does not
# share: a pair that is no copy even with this much of the article set aside is none, and its
# template is not counted. On the labelled sets (scripts/bench.py stories, seeds 7/11/3) the pairs
# the template made copies set aside 19-30% of the article; where articles share paragraphs the
# template was counted for 2 of 5 articles, and changed 25 of 5,100 decisions.
MAX_TEMPLATE = 0.5


def could_copy(both: int, mine: int, theirs: int) -> bool:
    """Whether an article of ``mine`` shingles, sharing ``both`` with another's ``theirs``, could be
    a copy once its template (at most MAX_TEMPLATE of it, none of what it shares) is left out."""
    aside = min(int(MAX_TEMPLATE * mine), mine - both)
    cont, jac = ratios(both, mine - aside, theirs)
    return cont >= MIN_CONTAINMENT and jac >= MIN_JACCARD


class ShingleCache:
    """The shingles of texts compared lately, kept between writes (a candidate of one batch is
    mostly a candidate of the next, and a parse worker has shingled every new text already): keyed
    by the text (an edited one is a miss), the least recently used dropped past ``budget``
    shingles in all. Kept as packed 32-bit arrays (4 bytes a shingle, not a set's ~60), which a
    comparison reads as they are (signature.unpacked)."""

    def __init__(self, budget: int = SHINGLE_BUDGET) -> None:
        from collections import OrderedDict

        self.budget = budget
        self.size = 0
        self._d: OrderedDict[tuple[int, int], bytes] = OrderedDict()  # (length, hash) of the text

    def get(self, body: str) -> frozenset[int]:
        """The shingles of ``body``, from the cache or made (and kept)."""
        return unpack(self.packed(body))

    def packed(self, body: str) -> bytes:
        """The shingles of ``body`` packed (see signature.unpacked), from the cache or made (and kept)."""
        from array import array

        key = (len(body), hash(body))
        packed = self._d.get(key)
        if packed is not None:
            self._d.move_to_end(key)
            return packed
        packed = array("I", shingles(body)).tobytes()
        self.put(body, packed)
        return packed

    def put(self, body: str, packed: bytes) -> None:
        """Keep shingles made elsewhere (a parse worker's, see signature.signed)."""
        key = (len(body), hash(body))
        if key in self._d:
            self._d.move_to_end(key)
            return
        self._d[key] = packed
        self.size += len(packed) // 4
        while self.size > self.budget and self._d:
            _, old = self._d.popitem(last=False)
            self.size -= len(old) // 4


# One per process: the writer's, whichever store it writes (ids are store-wide unique, texts keyed).
SHINGLES = ShingleCache()


class Keeper:
    """Keeps the stories through the writes of one transaction (shingles cached within it, and
    in SHINGLES between them)."""

    def __init__(self, backend: StoryBackend) -> None:
        self.b = backend
        self._shingles: dict[str, frozenset[int]] = {}
        self._figures: dict[str, frozenset[str]] = {}
        self._moved: dict[str, str | None] = {}  # stories this keeper set since place() last began
        self._texts: dict[str, str] = {}  # texts read while one article is placed

    def _put(self, id: str, placement: Placement | None) -> None:
        self._moved[id] = placement.story if placement is not None else None
        self.b.story_put(id, placement)

    def _copy_of(self, a: Peer, b: Peer) -> float | None:
        """_copy of two articles, their shingles and figures as this keeper holds them."""
        if not may_copy(a.sketch, b.sketch):
            return None
        theirs = self._arr(b)
        return _copy(similarity(self._sh(a), theirs), lambda: (self._fig(a), self._fig(b)),
                     lambda: opening_kept(self._text(a), self._text(b), self._sh(a), frozenset(theirs), ()))

    def _text(self, p: Peer) -> str:
        """An article's text, read when first needed (and kept while one article is placed)."""
        if p.body is not None:
            return p.body
        t = self._texts.get(p.id)
        if t is None:
            t = self._texts[p.id] = self.b.story_bodies([p.id]).get(p.id, "")
        return t

    def _read_texts(self, peers: Sequence[Peer]) -> None:
        """Read the texts of some articles at once (the template rule compares up to TEMPLATE_PEERS)."""
        missing = [p.id for p in peers if p.body is None and p.id not in self._texts]
        if missing:
            self._texts.update(self.b.story_bodies(missing))

    def _arr(self, p: Peer) -> Collection[int]:
        """An article's shingles as the other side of a comparison (no set made of them)."""
        return unpacked(SHINGLES.packed(self._text(p)))

    def _fig(self, p: Peer) -> frozenset[str]:
        f = self._figures.get(p.id)
        if f is None:
            f = self._figures[p.id] = figures(self._text(p))
        return f

    def _sh(self, p: Peer) -> frozenset[int]:
        s = self._shingles.get(p.id)
        if s is None:
            s = self._shingles[p.id] = SHINGLES.get(self._text(p))
            if len(self._shingles) > KEPT_SETS:  # a set is ~60 KB: the oldest go (SHINGLES keeps them packed)
                del self._shingles[next(iter(self._shingles))]
        return s

    def place_batch(self, placing: Iterable[Placing]) -> None:
        """The articles of one write, first seen first (a batch of an old collection holds
        originals and copies in no order): each leaves the story it was in, then is placed."""
        for peer, story, sig in sorted(placing, key=lambda x: _first(x[0])):
            if story is not None:
                self.remove(peer.id, story)
            self.place(peer, sig)

    def place_all(self, heads: Sequence[tuple[str, str, str | None]]) -> int:
        """Place every live article of a store made before stories were kept: ``heads`` are
        (id, Peer.seen, url); their texts are read 500 at a time."""
        ordered = sorted(heads, key=lambda h: (h[1], h[0]))
        for at in range(0, len(ordered), 500):
            chunk = ordered[at : at + 500]
            texts = self.b.story_bodies([h[0] for h in chunk])
            for id, seen, url in chunk:
                self.place(Peer(id, None, seen, texts[id], canonical_url(url)))
        return len(ordered)

    def place(self, art: Peer, sig: Signature | None = None) -> Placement | None:
        """Index a live article (new, changed or back) and put it in its story, if it has one.
        ``sig``: its signature, when a parse worker computed it."""
        self._shingles.pop(art.id, None)
        self._figures.pop(art.id, None)
        self._moved.clear()  # the candidates below are read now: later changes are noted here
        self._texts.clear()
        sig = sig if sig is not None else signature(self._text(art))
        art = art._replace(sketch=sig.sketch)
        self.b.story_index(art.id, sig, art.url_key)
        peers = self.b.story_peers(sig.keys, art.url_key, art.id)
        if not peers:
            return None
        same = [p for p in peers if art.url_key is not None and p.url_key == art.url_key]
        if same:
            # The story the earliest save is in; else the earliest save starts one.
            in_story = [p for p in same if p.story is not None]
            placed = self._join(art, min(in_story or same, key=_first), SAME_URL)
            self._gather(placed.story, peers)
            return placed
        best: tuple[float, Peer] | None = None
        tried: set[str] = set()
        common: frozenset[int] | None = None  # the article's template shingles, counted when first needed
        for p in sorted(peers, key=_first):
            anchor_id = p.story or p.id
            if anchor_id in tried:
                continue
            tried.add(anchor_id)
            anchor = p if anchor_id == p.id else self.b.story_peer(anchor_id)
            if anchor is None or not may_copy(art.sketch, anchor.sketch):
                continue
            theirs = self._arr(anchor)
            both = self._sh(art).intersection(theirs)
            # No copy whatever template is left out (its Jaccard similarity also stays at most
            # len(both) / len(theirs), which could_copy's bound implies): the template (an
            # intersection with each of the first candidates) is not counted.
            if not could_copy(len(both), len(self._sh(art)), len(theirs)):
                continue
            if common is None:  # the first anchor worth it
                common = self._template(art, peers)
            left_out = len(common & both) if common else 0  # of theirs: common is the article's own
            alike = ratios(len(both) - left_out, len(self._sh(art)) - len(common), len(theirs) - left_out)
            cont = _copy(alike, lambda: (self._fig(art), self._fig(anchor)),  # noqa: B023 - called at once
                         lambda: opening_kept(self._text(art), self._text(anchor), self._sh(art),  # noqa: B023
                                              frozenset(theirs), common or ()))  # noqa: B023
            if cont is not None and (best is None or cont > best[0]):
                best = (cont, anchor)
        if best is None:
            return None
        placed = self._join(art, best[1], NEAR_DUPLICATE)
        self._gather(placed.story, peers)
        return placed

    def _template(self, art: Peer, peers: Sequence[Peer]) -> frozenset[int]:
        """The shingles of ``art`` that candidates of TEMPLATE_GROUPS different stories share,
        counted over the first TEMPLATE_PEERS candidates (only the article's: a template shingle
        it does not have cannot make it a copy, and counting the candidates' shingles against one
        another cost a third of a write)."""
        first = peers[:TEMPLATE_PEERS]
        if len({p.story or p.id for p in first}) < TEMPLATE_GROUPS:
            return frozenset()
        mine = self._sh(art)
        self._read_texts(first)
        groups: dict[str, set[int]] = {}
        for p in first:
            groups.setdefault(p.story or p.id, set()).update(mine.intersection(self._arr(p)))
        counts: Counter[int] = Counter()
        for g in groups.values():
            counts.update(g)
        return frozenset(h for h, n in counts.items() if n >= TEMPLATE_GROUPS)

    def _gather(self, story: str, peers: Sequence[Peer]) -> None:
        """Bring into ``story`` the candidates that copy its first article but arrived before it
        (a first ingest stores an old collection in batches of no order): a lone one, or a later
        story all of whose articles copy it."""
        anchor = self.b.story_peer(story)
        if anchor is None:
            return
        for p in peers:
            # As it is now (this placement may have moved it): read when the candidates were, or since.
            cur = p._replace(story=self._moved[p.id]) if p.id in self._moved else p
            if cur.story == story or cur.id == story:
                continue
            if cur.story is None:
                cont = self._copy_of(cur, anchor)
                if cont is not None:
                    self._put(cur.id, Placement(story, NEAR_DUPLICATE, round(cont, 4)))
            elif cur.story == cur.id and _first(anchor) < _first(cur):
                members = self.b.story_members(cur.id)
                conts = [self._copy_of(m, anchor) for m in members]
                if all(c is not None for c in conts):
                    for m, c in zip(members, conts, strict=True):
                        self._put(m.id, Placement(story, NEAR_DUPLICATE, round(c or 0.0, 4)))

    def _join(self, art: Peer, peer: Peer, reason: str) -> Placement:
        """Put ``art`` in ``peer``'s story, or start one with ``peer`` (the earlier seen of the two
        anchors it)."""
        anchor = self.b.story_peer(peer.story) if peer.story not in (None, peer.id) else peer
        if anchor is None:  # a story without its anchor: cannot happen, but never fail a write on it
            anchor = peer._replace(story=None)
        older = _first(art) < _first(anchor)
        if older and anchor.story is not None and (moved := self._reanchor(art, anchor.story, reason)):
            return moved
        if older and anchor.story is None:
            # The article is older than the one it matches (an import): it anchors the story.
            anchor, art = art, anchor
        if anchor.story is None:
            self._put(anchor.id, Placement(anchor.id, reason, 1.0))
        cont = 1.0 if self._text(art) == self._text(anchor) else similarity(self._sh(art), self._arr(anchor))[0]
        placement = Placement(anchor.id, reason, round(cont, 4))
        self._put(art.id, placement)
        return placement

    def _reanchor(self, art: Peer, story: str, reason: str) -> Placement | None:
        """Make ``art``, seen before the anchor of ``story`` and joining it for ``reason``, that
        story's anchor when every member copies it (a first ingest of an old collection meets the
        original after copies of it formed the story); else None, and it joins as a member."""
        members = self.b.story_members(story)
        self._read_texts(members)
        conts = [1.0 if self._text(m) == self._text(art) else self._copy_of(m, art) for m in members]
        if not members or any(c is None for c in conts):
            return None
        placement = Placement(art.id, reason, 1.0)
        self._put(art.id, placement)
        for m, c in zip(members, conts, strict=True):
            same = m.url_key is not None and m.url_key == art.url_key
            self._put(m.id, Placement(art.id, SAME_URL if same else NEAR_DUPLICATE, round(c or 0.0, 4)))
        return placement

    def remove(self, id: str, story: str | None) -> None:
        """Take an article out of its story and of the candidates (it was deleted, or its text
        is about to change: :meth:`place` follows). A story left with one article ends; a story
        that loses its anchor is formed again around its members, first seen first."""
        self.b.story_index(id, Signature((), b""), None)
        self._shingles.pop(id, None)
        self._figures.pop(id, None)
        if story is None:
            return
        self._put(id, None)
        members = [m for m in self.b.story_members(story) if m.id != id]
        if story != id:
            if len(members) == 1:
                self._put(members[0].id, None)
            return
        for m in members:
            self._put(m.id, None)
        for m in sorted(members, key=_first):
            self.place(m._replace(story=None))

