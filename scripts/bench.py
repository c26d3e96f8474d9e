#!/usr/bin/env python3
"""Benchmarks. Every figure is the median of several runs, beside a baseline measured in the same run.

    scripts/bench.py parse|store|search|ingest|rescan|latency|export|cli|serve|webload|stories|mongo [--n N] [--runs R]
    scripts/bench.py scale [--sizes 10000,100000] [--reuse] [--no-backlog] (real English: the BBC sample's paragraphs)
    scripts/bench.py all [--n N] [--write docs/BENCHMARKS.md]

Corpora come from scripts/make_corpus.py and are cached under bench-out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402

from archive.config import Settings  # noqa: E402
from archive.errors import ArchiveError  # noqa: E402
from archive.ingest import Ingester, Rules, walk  # noqa: E402
from archive.parsing import parse_bytes  # noqa: E402
from archive.store.records import Filters, UpsertItem  # noqa: E402
from archive.store.sqlite import SQLiteStore  # noqa: E402

ARCHIVE = [sys.executable, "-m", "archive"]


def user_python() -> str:
    """A Python where archive is installed as users install it, from its wheel, beside the same
    dependencies: what end-to-end timings run (and their floors too). An editable install, as
    in the development .venv, adds ~8 ms to every start of Python (its import finder loads
    pathlib and more from a .pth file), which hid how much archive's own start-up costs.
    Made once per run under bench-out/user-venv; sys.executable when it cannot be."""
    global _USER_PY
    if _USER_PY is None:
        venv = OUT / "user-venv"
        py = venv / "bin" / "python"
        try:
            shutil.rmtree(venv, ignore_errors=True)
            wheels = OUT / "wheel"
            shutil.rmtree(wheels, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(wheels)],
                           check=True, capture_output=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
            subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                            *map(str, wheels.glob("archive-*.whl"))], check=True, capture_output=True)
            # The dependencies are the development venv's: a path line in a .pth file puts its
            # site-packages on sys.path without running its own .pth files (the editable finder).
            site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  check=True, capture_output=True, text=True).stdout.strip()
            deps = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  check=True, capture_output=True, text=True).stdout.strip()
            (Path(site) / "archive-bench-deps.pth").write_text(deps + "\n")
            _USER_PY = str(py)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"(no wheel install for the end-to-end timings: {exc}; they use {sys.executable})", file=sys.stderr)
            _USER_PY = sys.executable
    return _USER_PY


_USER_PY: str | None = None


def user_archive() -> list[str]:
    """The ``archive`` command as users run it (see user_python)."""
    script = Path(user_python()).with_name("archive")
    return [str(script)] if script.exists() else [user_python(), "-m", "archive"]
ROWS: list[dict[str, Any]] = []


def row(bench: str, what: str, value: str, baseline: str = "", ratio: str = "", note: str = "") -> None:
    r = {"bench": bench, "what": what, "value": value, "baseline": baseline, "ratio": ratio, "note": note}
    ROWS.append(r)
    print(f"{bench:8} {what:44} {value:>16} {baseline:>22} {ratio:>8}  {note}", flush=True)


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def corpus(n: int, seed: int = 1) -> Path:
    d = OUT / f"corpus-v{make_corpus.VERSION}-{n}-s{seed}"
    if not (d / ".done").exists():
        shutil.rmtree(d, ignore_errors=True)
        t = time.perf_counter()
        size = make_corpus.generate(n, d, seed)
        (d / ".done").write_text(str(size))
        print(f"(made {n} articles, {size / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s: {d})", file=sys.stderr)
    return d


def store_path(n: int) -> Path:
    """The store an ingest of corpus(n) leaves, kept for the benches that read it."""
    return OUT / f"ingest-v{make_corpus.VERSION}-{n}.db"


def drop_caches_not_possible_note() -> str:
    return "warm page cache (all runs)"


# ---------------------------------------------------------------- parse


def _parse_row(label: str, docs: list[bytes], runs: int) -> None:
    """parse_bytes over ``docs``, against sha256 of the same bytes in the same rounds."""
    times, base = [], []
    for _ in range(runs):
        t = time.perf_counter()
        for d in docs:
            hashlib.sha256(d).hexdigest()
        base.append(time.perf_counter() - t)
        t = time.perf_counter()
        for d in docs:
            parse_bytes(d)
        times.append(time.perf_counter() - t)
    per = med(times) / len(docs)
    row("parse", f"parse_bytes, {label}{len(docs)} articles of ~{med([len(d) for d in docs]) / 1000:.1f} KB",
        f"{1 / per:,.0f} art/s", f"sha256: {len(docs) / med(base):,.0f}/s", f"{med(times) / med(base):.1f}x",
        f"{per * 1e6:.0f} µs per article")


def bench_parse(a: argparse.Namespace) -> None:
    import random

    rng = random.Random(3)
    docs = [make_corpus.article(i, rng)[2] for i in range(2000)]
    _parse_row("", [d for d in docs if len(d) > 1000], a.runs)
    # Real articles (the BBC sample in ../shared/corpora, when it is there): not all ASCII, shorter.
    real = []
    for f in sorted((ROOT.parent / "shared" / "corpora" / "bbc-sample").glob("*/*.txt")):
        data = f.read_bytes()
        try:
            parse_bytes(data)
        except ArchiveError:
            continue
        real.append(data)
    if real:
        _parse_row("BBC sample, ", real, max(3, a.runs))
    _hostile_rows(a.runs)


# Files built to make a parser read the same text again and again: openings never closed (a lazy
# ".*?" pattern reads to the end from each), tags never closed. Each is ~1 MB; a parse past
# ARCHIVE_PARSE_TIMEOUT (30 s) is a failure, so seconds here are a file lost.
HOSTILE = {
    "Markdown, 200,000 unclosed <!--": ("h.md", b"# T\n\n" + b"<!-- " * 200_000 + b"\n\nBody text here."),
    "Markdown, 200,000 unclosed ``` fences": ("h.md", b"# T\n\n" + b"```x\n" * 200_000 + b"\nBody text here."),
    "Markdown, 100,000 unclosed {% raw %}": ("h.md", b"# T\n\n" + b"{% raw %}" * 100_000 + b"\n\nBody."),
    "page, 300,000 unclosed <a": ("h.html", b"<html><body><p>" + b"word " * 60 + b"</p>" + b"<a " * 300_000),
    "page, 1,000,000 unclosed <": ("h.html", b"<html><body><p>" + b"word " * 60 + b"</p>" + b"<" * 1_000_000),
    "page, 100,000 unclosed <script": ("h.html", b"<html><body><p>" + b"word " * 60 + b"</p>" + b"<script " * 100_000),
    "page, 30,000 <meta value=": ("h.html", b"<html><head>" + b"<meta value= " * 30_000 + b"</head><body><p>"
                                  + b"word " * 60 + b"</p></body></html>"),
}


def _hostile_rows(runs: int) -> None:
    """parse_bytes of each HOSTILE file (median of ``runs``), against sha256 of its bytes."""
    for what, (name, data) in HOSTILE.items():
        times, base = [], []
        for _ in range(max(1, runs)):
            t = time.perf_counter()
            hashlib.sha256(data).hexdigest()
            base.append(time.perf_counter() - t)
            t = time.perf_counter()
            try:
                parse_bytes(data, name)
            except ArchiveError:
                pass  # most are no article: only the time matters
            times.append(time.perf_counter() - t)
        row("parse", f"hostile: {what}", f"{med(times):.2f} s", f"sha256: {med(base) * 1e3:.1f} ms",
            f"{med(times) / med(base):,.0f}x", f"{len(data) / 1e6:.1f} MB")


# ---------------------------------------------------------------- store


def _items(n: int) -> list[UpsertItem]:
    import random

    from archive.models import Source

    rng = random.Random(5)
    out = []
    for i in range(n):
        _, _, data = make_corpus.article(i, rng)
        try:
            p = parse_bytes(data)
        except Exception:  # noqa: BLE001 - the generator plants broken files
            continue
        sha = hashlib.sha256(data).hexdigest()
        out.append(UpsertItem(p, Source(path=f"/bench/{i:07d}.txt", sha256=sha, size=len(data), mtime=float(i),
                                        inode=i, device=1)))
    return out


def bench_store(a: argparse.Namespace) -> None:
    n = min(a.n, 20000)
    items = _items(n)
    runs = []
    for _ in range(a.runs):
        with tempfile.TemporaryDirectory() as d:
            s = SQLiteStore(Path(d) / "b.db")
            t = time.perf_counter()
            with s.bulk():
                for i in range(0, len(items), 500):
                    s.upsert_many(items[i : i + 500])
            runs.append(time.perf_counter() - t)
            s.close()
    # baseline: the same rows into a plain table with no index, in the same batches
    base = []
    for _ in range(a.runs):
        import sqlite3

        with tempfile.TemporaryDirectory() as d:
            db = sqlite3.connect(Path(d) / "p.db", isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE t (path TEXT, title TEXT, body TEXT)")
            t = time.perf_counter()
            for i in range(0, len(items), 500):
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT INTO t VALUES (?,?,?)",
                               [(x.source.path, x.parsed.title, x.parsed.body) for x in items[i : i + 500]])
                db.execute("COMMIT")
            base.append(time.perf_counter() - t)
            db.close()
    row("store", f"SQLite upsert_many, {len(items):,} new articles", f"{len(items) / med(runs):,.0f} art/s",
        f"plain INSERT: {len(items) / med(base):,.0f}/s", f"{med(runs) / med(base):.1f}x", "indexes + search index")


# ---------------------------------------------------------------- ingest / search / rescan


def _remove_store(db: Path) -> None:
    """A SQLite store gone: its file, WAL, shared memory and search index."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    shutil.rmtree(str(db) + "-search", ignore_errors=True)


def _ingest_once(folder: Path, db: Path, workers: int = 0) -> tuple[float, Any]:
    _remove_store(db)
    s = SQLiteStore(db)
    ing = Ingester(s, Settings(db=str(db), workers=workers), log_each=False)
    t = time.perf_counter()
    summary = ing.reconcile(str(folder))
    el = time.perf_counter() - t
    ing.close()
    s.close()
    return el, summary


def _read_hash(folder: Path) -> float:
    rules = Rules(Settings(db="x.db"))
    t = time.perf_counter()
    for f in walk(str(folder), rules):
        with open(f.path, "rb") as fh:
            hashlib.sha256(fh.read()).hexdigest()
    return time.perf_counter() - t


def _parse_or_none(data: bytes, path: str) -> Any:
    from archive.errors import ParseError

    try:
        return parse_bytes(data, path)
    except ParseError:  # the corpus has a few broken files, as real folders do
        return None


def _ingest_stages(folder: Path) -> dict[str, float]:
    """Seconds per file for each stage of an ingest, run one after another in this process: where
    a file's time goes (the pool runs read+hash+parse on the workers, the store on the main one)."""
    import pickle

    from archive.ingest import Prepared

    settings = Settings(db="x.db")
    t = time.perf_counter()
    files = list(walk(str(folder), Rules(settings)))
    stages = {"walk (lstat)": time.perf_counter() - t}
    t = time.perf_counter()
    data = []
    for f in files:
        with open(f.path, "rb") as fh:
            data.append(fh.read())
    stages["read"] = time.perf_counter() - t
    t = time.perf_counter()
    shas = [hashlib.sha256(d).hexdigest() for d in data]
    stages["sha256"] = time.perf_counter() - t
    t = time.perf_counter()
    parsed = [_parse_or_none(d, f.path) for d, f in zip(data, files, strict=True)]
    stages["parse"] = time.perf_counter() - t
    prepared = [Prepared(f, h, p, None) for f, h, p in zip(files, shas, parsed, strict=True)]
    t = time.perf_counter()
    for i in range(0, len(prepared), 64):  # the pool's chunks, there and back
        pickle.loads(pickle.dumps(prepared[i:i + 64]))
    stages["pool transfer (pickle)"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        s = SQLiteStore(Path(d) / "stages.db")
        items = [UpsertItem(p.parsed, p.source) for p in prepared if p.parsed is not None]
        t = time.perf_counter()
        with s.bulk():  # as the ingest pipeline: one index writer across the batches, merges finished
            for i in range(0, len(items), settings.batch_size):
                s.upsert_many(items[i:i + settings.batch_size])
        stages["store (SQL, then the search index on its own threads; one transaction per batch)"] = (
            time.perf_counter() - t)
        s.close()
    return {k: v / len(files) for k, v in stages.items()}


def bench_ingest(a: argparse.Namespace) -> Path:
    folder = corpus(a.n)
    db = store_path(a.n)
    _read_hash(folder)  # warm the page cache for both sides
    runs, base, summary = [], [], None
    for _ in range(a.runs):
        base.append(_read_hash(folder))
        el, summary = _ingest_once(folder, db)
        runs.append(el)
    one = []
    for _ in range(max(1, a.runs // 2)):
        el, _ = _ingest_once(folder, OUT / "ingest-1w.db", workers=1)
        one.append(el)
    assert summary is not None
    n = summary.new + summary.failed
    row("ingest", f"initial ingest, {n:,} files, {os.cpu_count()} workers", f"{n / med(runs):,.0f} files/s",
        f"read+sha256: {n / med(base):,.0f}/s", f"{med(runs) / med(base):.1f}x",
        f"{summary.new:,} new, {summary.failed} failed")
    row("ingest", f"initial ingest, {n:,} files, 1 worker (no pool)", f"{n / med(one):,.0f} files/s", "",
        f"{med(one) / med(runs):.2f}x", "pool speed-up")
    per_run = [_ingest_stages(folder) for _ in range(max(1, a.runs))]
    total = sum(med([r[k] for r in per_run]) for k in per_run[0])
    for k in per_run[0]:
        v = med([r[k] for r in per_run])
        row("ingest", f"stage: {k}", f"{v * 1e6:.0f} µs/file", f"all stages: {total * 1e6:.0f} µs/file",
            f"{v / total:.0%}", "one process, stages in turn")
    row("ingest", "wall time per file, 2 workers", f"{med(runs) / n * 1e6:.0f} µs/file",
        f"all stages: {total * 1e6:.0f} µs/file", f"{med(runs) / n / total:.2f}x", "overlap of pool and store")
    return db


def bench_rescan(a: argparse.Namespace, db: Path | None = None) -> None:
    folder = corpus(a.n)
    db = db or store_path(a.n)
    if not db.exists():
        _ingest_once(folder, db)
    s = SQLiteStore(db)
    ing = Ingester(s, Settings(db=str(db)), log_each=False)
    runs, base = [], []
    for _ in range(max(3, a.runs)):
        t = time.perf_counter()
        subprocess.run(f"find {folder} -type f | wc -l", shell=True, check=True, capture_output=True)
        base.append(time.perf_counter() - t)
        t = time.perf_counter()
        summary = ing.reconcile(str(folder))
        runs.append(time.perf_counter() - t)
        assert summary.changed == 0, summary.line()
    s.close()
    row("rescan", f"unchanged rescan, {a.n:,} files", f"{med(runs):.2f} s", f"find|wc: {med(base):.2f} s",
        f"{med(runs) / med(base):.1f}x")


# Commands are timed as users run them: with Python's bytecode cache (an installed package has its
# .pyc files; PYTHONDONTWRITEBYTECODE, set on some build machines, would time the compiler).
TIMING_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _timeit(cmd: list[str] | str, runs: int) -> float:
    subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, env=TIMING_ENV)  # caches warm
    xs = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, env=TIMING_ENV)
        xs.append(time.perf_counter() - t)
    return med(xs)


def _race(cmds: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median seconds of each command, run in turn (one of each per round), so that a slower or
    faster spell of the machine falls on all of them alike and their ratios hold."""
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for cmd in cmds.values():
        subprocess.run(cmd, capture_output=True, env=TIMING_ENV)  # caches warm
    for _ in range(runs):
        for k, cmd in cmds.items():
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, env=TIMING_ENV)
            times[k].append(time.perf_counter() - t)
    return {k: med(v) for k, v in times.items()}


def bench_search(a: argparse.Namespace) -> None:
    for n in sorted({min(10000, a.n), a.n}):
        folder = corpus(n)
        db = store_path(n)
        if not db.exists():
            _ingest_once(folder, db)
        s = SQLiteStore(db)
        for label, q in (("rare", make_corpus.RARE), ("common", make_corpus.GOV), ("two words", "troops ceasefire"),
                         ("phrase", '"prime minister"'), ("mid-frequency word", make_corpus.COMMON_MID),
                         ("two mid words, small intersection", " ".join(make_corpus.MID_PAIR))):
            lat = []
            for _ in range(30):
                t = time.perf_counter()
                list(s.search(q, Filters(), limit=50))
                lat.append(time.perf_counter() - t)
            total = s.count_matches(q, Filters())
            base = ""
            ratio = ""
            if label in ("rare", "common"):
                g = _timeit(["grep", "-rli", q, str(folder)], 3)
                base = f"grep -rli: {g * 1000:,.0f} ms"
                ratio = f"{med(lat) / g:.3f}x"
                if shutil.which("rg"):
                    r = _timeit(["rg", "-li", q, str(folder)], 3)
                    base += f"; rg -li: {r * 1000:,.0f} ms"
            row("search", f"{n:,} articles, {label} ({total:,} hits), top 50",
                f"p50 {med(lat) * 1000:.1f} ms", base, ratio, f"p99 {pct(lat, 99) * 1000:.1f} ms")
        s.close()
        cli = _timeit([*ARCHIVE, "--db", str(db), "search", make_corpus.RARE, "--format", "jsonl"], 5)
        row("search", f"{n:,} articles, `archive search` CLI, rare term", f"{cli * 1000:.0f} ms", "", "",
            "whole process, start-up included")


def bench_mongo(a: argparse.Namespace) -> None:
    """Search, facets and stats on MongoDB (mongomock: the backend's code over an in-memory
    collection without indexes, so every query scans; a real server is not available here) beside
    the embedded store, the same articles in both."""
    import mongomock

    sys.path.insert(0, str(ROOT))
    from archive.store.mongo import MongoStore
    from tests.conftest import patch_mongomock_bulk

    patch_mongomock_bulk()
    # mongomock keeps no index: every query scans its collection. The story keeper looks each new
    # article's band keys up (a scan of every article's 32 bands), so a load with stories grows with
    # the square of the articles: past 2,000 MongoDB loads without them (searches, facets and stats
    # read no story).
    n = a.n
    stories = n <= 2000
    items = _items(n)
    with tempfile.TemporaryDirectory() as d:
        lite = SQLiteStore(Path(d) / "b.db")
        mongo = MongoStore("mongodb://mongomock/bench", client=mongomock.MongoClient())
        if not stories:
            mongo.writes._place_stories = lambda placing, s: None  # type: ignore[method-assign]
        for s in (lite, mongo):
            t = time.perf_counter()
            for i in range(0, len(items), 500):
                s.upsert_many(items[i : i + 500])
            rate = len(items) / (time.perf_counter() - t)
            kept = "" if stories or s is lite else ", stories not kept"
            row("mongo", f"{s.kind}: load {len(items):,} articles{kept}", f"{rate:,.0f} art/s")
        cases: list[tuple[str, Callable[[Any], Any]]] = [
            ("search rare, top 20", lambda s: list(s.search(make_corpus.RARE, Filters(), 20))),
            ("search common, top 20", lambda s: list(s.search(make_corpus.GOV, Filters(), 20))),
            ("search two words, top 20", lambda s: list(s.search("troops ceasefire", Filters(), 20))),
            ("search phrase, top 20", lambda s: list(s.search('"prime minister"', Filters(), 20))),
            ("facets, no query", lambda s: s.facets("", Filters())),
            ("facets of a common word", lambda s: s.facets(make_corpus.GOV, Filters())),
            ("stats", lambda s: s.stats(Filters())),
        ]
        for label, fn in cases:
            got = {}
            for s in (lite, mongo):
                xs = []
                for _ in range(a.runs):
                    t = time.perf_counter()
                    fn(s)
                    xs.append(time.perf_counter() - t)
                got[s.kind] = med(xs)
            row("mongo", f"{n:,} articles, {label}", f"mongomock {got['mongodb'] * 1e3:,.0f} ms",
                f"sqlite: {got['sqlite'] * 1e3:,.1f} ms", f"{got['mongodb'] / got['sqlite']:.0f}x")
        same = all({h.article.source.path for h in lite.search(q, Filters())}
                   == {h.article.source.path for h in mongo.search(q, Filters())}
                   for q in (make_corpus.RARE, "troops ceasefire", '"prime minister"'))
        row("mongo", "same hits on both stores (rare, two words, phrase)", str(same))
        lite.close()
        mongo.close()


def bench_serve(a: argparse.Namespace) -> None:
    """`archive serve`: server time per search page (facets and timeline included) against the
    store's own search in the same run; first page after start-up; RSS over 1,000 queries."""
    import socket
    import urllib.request
    from urllib.parse import quote

    from starlette.testclient import TestClient

    from archive.web import create_app

    folder = corpus(a.n)
    db = store_path(a.n)
    if not db.exists():
        _ingest_once(folder, db)
    store = SQLiteStore(db)
    client = TestClient(create_app(lambda: SQLiteStore(db, create=False)))
    for label, q in (("rare", make_corpus.RARE), ("common", make_corpus.GOV), ("two words", "troops ceasefire"),
                     ("phrase", '"prime minister"'), ("no query", "")):
        page, api, base = [], [], []
        for _ in range(16):
            t = time.perf_counter()
            r = client.get("/", params={"q": q})
            page.append(time.perf_counter() - t)
            assert r.status_code == 200
            t = time.perf_counter()
            client.get("/api/search", params={"q": q})
            api.append(time.perf_counter() - t)
            t = time.perf_counter()
            list(store.search(q, Filters(), limit=21)) if q else list(store.query(Filters(), limit=21))
            base.append(time.perf_counter() - t)
        cold, page = page[0], page[1:]  # the first visit counts the facets; later ones find them cached
        row("serve", f"{a.n:,} articles, search page, {label}", f"p50 {med(page) * 1000:.0f} ms",
            f"store search: {med(base) * 1000:.1f} ms", f"{med(page) / med(base):.1f}x",
            f"first visit {cold * 1000:.0f} ms (facets counted), then cached; /api/search p50 "
            f"{med(api) * 1000:.0f} ms")
    store.close()
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    t0 = time.perf_counter()
    p = subprocess.Popen([*ARCHIVE, "--db", str(db), "serve", "--port", str(port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first = None
        while first is None:
            try:
                t = time.perf_counter()
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).read()
                first = time.perf_counter() - t
            except OSError:
                time.sleep(0.02)
        up = time.perf_counter() - t0
        rss = []
        words = [make_corpus.RARE, make_corpus.GOV, "troops", "ceasefire", '"prime minister"', "minister -troops"]
        for i in range(1000):
            q = quote(words[i % len(words)])
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/search?q={q}", timeout=30).read()
            if i in (99, 999):
                rss.append(_rss(p.pid)[0])
        row("serve", "first page load after `archive serve` starts", f"{first * 1000:.0f} ms", "", "",
            f"{up:.2f} s from process start to the first page")
        row("serve", "server RSS over 1,000 API queries", f"{rss[1] / 1024:.0f} MB",
            f"after 100: {rss[0] / 1024:.0f} MB", f"{rss[1] / rss[0]:.2f}x", "flat means no leak")
    finally:
        p.terminate()
        p.wait(timeout=10)


def _serve(db: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``archive serve`` on ``db`` on a free loopback port, once it answers."""
    import socket
    import urllib.request

    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_") or k == "ARCHIVE_SERVE_WORKERS"}
    p = subprocess.Popen([*ARCHIVE, "--db", str(db), "serve", "--port", str(port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=30).read()
            return p, port
        except OSError:
            if time.monotonic() > deadline or p.poll() is not None:
                p.kill()
                raise
            time.sleep(0.05)


def _load(port: int, clients: int, seconds: float, paths: Callable[[int, int], str]) -> dict[str, list[float]]:
    """``clients`` threads, each on its own keep-alive connection, requesting ``paths(client, i)``
    for ``seconds`` (a bounded run on 127.0.0.1 only): latencies by request kind."""
    import http.client
    import threading

    out: dict[str, list[float]] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: dict[str, list[float]] = {}
        i = 0
        while time.monotonic() < stop:
            path = paths(k, i)
            i += 1
            t = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            kind = path.split("?")[0].rstrip("0123456789abcdef") + ("?sort" if "sort=" in path else "")
            mine.setdefault(kind if resp.status == 200 else f"{kind} ({resp.status})", []).append(
                time.perf_counter() - t)
        conn.close()
        with lock:
            for kk, v in mine.items():
                out.setdefault(kk, []).extend(v)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


def bench_webload(a: argparse.Namespace) -> None:
    """`archive serve` under a bounded load on 127.0.0.1: 20 clients for --seconds with a mix of
    home page, search page, date-sorted search and an article page; p50/p99, requests/s, and the
    server's RSS before and after. Then one client keeps a slow request in flight (a date-sorted
    search of a common word, its facets never cached) while four others read articles and rare
    words: their p99."""
    from urllib.parse import quote

    folder = corpus(a.n)
    db = store_path(a.n)
    if not db.exists():
        _ingest_once(folder, db)
    s = SQLiteStore(db, create=False)
    ids = [x.id for x in s.query(Filters(), limit=200)]
    s.close()
    common, rare = quote(make_corpus.GOV), quote(make_corpus.RARE)
    mix = ["/", f"/?q={common}", f"/api/search?q={common}&sort=newest", "/articles/{id}", f"/?q={rare}",
           "/api/search?q=troops+ceasefire"]

    def mixed(k: int, i: int) -> str:
        return mix[(k + i) % len(mix)].replace("{id}", ids[(k * 7 + i) % len(ids)])

    p, port = _serve(db)
    try:
        _load(port, 4, 2, mixed)  # warm up: every kind once
        before = _tree_rss(p.pid)
        lat = _load(port, 20, a.seconds, mixed)
        after = _tree_rss(p.pid)
        every = [x for v in lat.values() for x in v]
        procs = os.environ.get("ARCHIVE_SERVE_WORKERS", "default")
        row("webload", f"{a.n:,} articles, 20 clients, {a.seconds:g} s, mixed, serve workers {procs}",
            f"{len(every) / a.seconds:,.0f} req/s", f"p50 {med(every) * 1000:.0f} ms",
            f"p99 {pct(every, 99) * 1000:.0f} ms",
            "; ".join(f"{k} p50 {med(v) * 1000:.0f}/p99 {pct(v, 99) * 1000:.0f} ms ({len(v)})"
                      for k, v in sorted(lat.items())))
        row("webload", "server memory (PSS, all its processes) before -> after", f"{after / 1024:.0f} MB",
            f"before: {before / 1024:.0f} MB", f"+{(after - before) / 1024:.0f} MB")
        _load(port, 20, a.seconds, mixed)  # the same load again: a leak grows again, a warm cache does not
        again = _tree_rss(p.pid)
        row("webload", "server memory after a second run of the same load", f"{again / 1024:.0f} MB",
            f"after the first: {after / 1024:.0f} MB", f"{(again - after) / 1024:+.0f} MB", "flat means no leak")

        def slow_beside(k: int, i: int) -> str:
            if k == 0:  # never the same facets twice: each is counted over every match
                return f"/?q={common}&sort=newest&since={1990 + i % 30}-{1 + i % 12:02d}-01"
            return (f"/api/articles/{ids[(k * 13 + i) % len(ids)]}" if i % 2 else f"/api/search?q={rare}")

        lat = _load(port, 5, a.seconds / 2, slow_beside)
        slow = [v for k, v in lat.items() if k.startswith("/?sort") or k == "/?sort"]
        others = [x for k, v in lat.items() if k.startswith("/api") for x in v]
        row("webload", "others' p99 with one slow request in flight", f"{pct(others, 99) * 1000:.0f} ms",
            f"slow one p50 {med([x for v in slow for x in v]) * 1000:.0f} ms" if slow else "",
            f"{len(others)} requests", "target < 100 ms")
    finally:
        p.terminate()
        p.wait(timeout=10)


# ---------------------------------------------------------------- latency + RSS


def _rss(pid: int) -> tuple[int, int]:
    cur = peak = 0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    return cur, peak


def _tree_rss(pid: int) -> int:
    """Memory in KiB (proportional set size) of ``pid`` and all its descendants: the daemon,
    the forkserver and the parse workers."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        q = todo.pop()
        try:  # PSS: pages shared between the processes (the interpreter, libraries) count once
            with open(f"/proc/{q}/smaps_rollup") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
        except (OSError, ValueError, StopIteration):
            pass
        todo.extend(children.get(q, []))
    return total


def _peak_rss(p: subprocess.Popen[bytes]) -> int:
    """The child's peak RSS in KiB, read from /proc while it runs (ru_maxrss from wait4 would
    also count the pages of the forked parent before exec)."""
    peak = 0
    while p.poll() is None:
        try:
            peak = max(peak, _rss(p.pid)[1])
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    return peak


def bench_latency(a: argparse.Namespace) -> None:
    import random

    with tempfile.TemporaryDirectory() as d:
        folder, db = Path(d) / "w", Path(d) / "w.db"
        folder.mkdir()
        backlog = a.backlog if a.backlog is not None else a.n
        src = corpus(backlog)
        shutil.copytree(src, folder / "backlog", ignore=shutil.ignore_patterns(".done"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
        log = open(Path(d) / "log", "w")  # noqa: SIM115
        t0 = time.perf_counter()
        p = subprocess.Popen([*ARCHIVE, "--db", str(db), "watch", str(folder), "--log-format", "json"],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
        reader = None
        tree_peak = 0
        try:
            while '"scan"' not in (Path(d) / "log").read_text():
                tree_peak = max(tree_peak, _tree_rss(p.pid))
                time.sleep(0.05)
                if p.poll() is not None:
                    raise SystemExit("daemon died: " + (Path(d) / "log").read_text())
            startup = time.perf_counter() - t0
            row("daemon", f"start-up reconcile of {backlog:,} files", f"{startup:.1f} s", "", "",
                f"{backlog / startup:,.0f} files/s incl. process start")
            reader = SQLiteStore(db)
            rng = random.Random(9)
            lat = []
            for i in range(a.latency_files):
                _, _, data = make_corpus.article(10_000_000 + i, rng)
                if len(data) < 1000:
                    continue
                path = folder / f"drop-{i}.txt"
                t = time.perf_counter()
                with open(path, "wb") as fh:
                    fh.write(data)
                while reader.get_by_path(str(path)) is None:
                    time.sleep(0.002)
                    if time.perf_counter() - t > 10:
                        raise SystemExit(f"{path} never arrived")
                lat.append(time.perf_counter() - t)
                time.sleep(0.05)
            row("latency", f"drop-to-queryable, native observer, {len(lat)} files",
                f"p50 {med(lat) * 1000:.0f} ms", "", "", f"p99 {pct(lat, 99) * 1000:.0f} ms")
            cur, peak = _rss(p.pid)
            row("daemon", "RSS after start-up scan and drops", f"peak {peak / 1024:.0f} MB", "", "",
                f"now {cur / 1024:.0f} MB (main process; parse workers are separate)")
            row("daemon", "RSS of daemon + parse workers during the start-up scan", f"peak {tree_peak / 1024:.0f} MB",
                "", "", "PSS of the process tree, sampled every 50 ms")
        finally:
            if reader:
                reader.close()
            p.send_signal(signal.SIGTERM)
            p.wait(30)
            log.close()
        row("daemon", "SIGTERM to exit", f"exit {p.returncode}", "", "", "")


# ---------------------------------------------------------------- export, cli


def bench_export(a: argparse.Namespace) -> None:
    for n in sorted({min(10000, a.n), a.n}):
        db = store_path(n)
        if not db.exists():
            _ingest_once(corpus(n), db)
        times, peaks = [], []
        out = OUT / "export.jsonl"
        for _ in range(max(2, a.runs // 2)):
            t = time.perf_counter()
            p = subprocess.Popen([*ARCHIVE, "--db", str(db), "export", "-o", str(out)], stderr=subprocess.DEVNULL)
            peaks.append(_peak_rss(p) / 1024)
            times.append(time.perf_counter() - t)
        size = out.stat().st_size
        t = time.perf_counter()
        shutil.copyfile(out, OUT / "copy.jsonl")
        cp = time.perf_counter() - t
        row("export", f"export jsonl, {n:,} articles ({size / 1e6:.0f} MB)", f"{n / med(times):,.0f} art/s",
            f"cp of the output: {cp:.2f} s", f"{med(times) / max(cp, 1e-6):.0f}x", f"peak RSS {med(peaks):.0f} MB")
        out.unlink()
        (OUT / "copy.jsonl").unlink()


FLOOR_SCRIPT = """
import json
import sqlite3
import sys

import tantivy

db, word = sys.argv[1:3]
ix = tantivy.Index.open(db + "-search")
s = ix.searcher()
hits = s.search(tantivy.Query.term_query(ix.schema, "body", word), 50).hits
ns = s.fast_field_values("n", [a for _, a in hits])
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
marks = ",".join("?" * len(ns))
for r in con.execute(f"SELECT id, title, body FROM articles WHERE n IN ({marks})", ns):
    sys.stdout.write(json.dumps({"id": r[0], "title": r[1], "snippet": r[2][:200]}) + "\\n")
"""


def bench_cli(a: argparse.Namespace) -> None:
    # What users run: the installed `archive` script (python -m archive adds runpy's start-up).
    archive = user_archive()
    py = user_python()
    runs = max(11, a.runs)
    with tempfile.TemporaryDirectory() as d:
        db = str(Path(d) / "e.db")
        SQLiteStore(db).close()  # read commands never create a store
        cmds = {"pass": [py, "-c", "pass"], "archive --help": [*archive, "--help"],
                "archive list (empty store)": [*archive, "--db", db, "list", "--format", "jsonl"],
                "archive --db mongodb://… --help": [*archive, "--db", "mongodb://x/y", "--help"],
                "import click": [py, "-c", "import click"],
                "deps": [py, "-c", "import json, sqlite3, tantivy"],
                "ours": [py, "-c", "import json, sqlite3, tantivy, archive.cli.fast, archive.cli.read, "
                         "archive.config, archive.store.sqlite, archive.search.index, archive.export"]}
        t = _race(cmds, runs)
        for label in list(cmds)[1:5]:
            row("cli", f"start-up: {label}", f"{t[label] * 1000:.0f} ms", f"python -c pass: {t['pass'] * 1000:.0f} ms",
                f"{t[label] / t['pass']:.2f}x")
        row("cli", "start-up: archive's modules a search imports", f"{(t['ours'] - t['deps']) * 1000:.1f} ms",
            f"json+sqlite3+tantivy: {t['deps'] * 1000:.0f} ms", "", "the difference of the two imports")
    # End to end, what a user waits for: the archive's search against tools with no index, and
    # against the floor: the least a Python program can do for a search from the same index and
    # file (open the index, one term query, the rows from SQLite; no settings, stems or snippets).
    for n in sorted({min(20000, a.n), a.n}):
        folder = corpus(n)
        sdb = store_path(n)
        if not sdb.exists():
            _ingest_once(folder, sdb)
        with tempfile.TemporaryDirectory() as d:
            floor = Path(d) / "floor.py"
            floor.write_text(FLOOR_SCRIPT)
            for label, word in (("rare", make_corpus.RARE), ("common", make_corpus.GOV)):
                cmds = {"pass": [py, "-c", "pass"],
                        "ours": [*archive, "--db", str(sdb), "search", word, "--format", "jsonl", "--limit", "50"],
                        "floor": [py, str(floor), str(sdb), word],
                        "grep": ["grep", "-rli", word, str(folder)]}
                if shutil.which("rg"):
                    cmds["rg"] = ["rg", "-li", word, str(folder)]
                t = _race(cmds, runs)
                other = f"grep -rli: {t['grep'] * 1000:,.0f} ms"
                if "rg" in t:
                    other += f"; rg -li: {t['rg'] * 1000:,.0f} ms"
                row("cli", f"`archive search` {label} word end to end, {n:,} articles", f"{t['ours'] * 1000:.0f} ms",
                    f"python -c pass: {t['pass'] * 1000:.0f} ms", f"{t['ours'] / t['pass']:.2f}x",
                    f"{other}; floor (plain script): {t['floor'] * 1000:.0f} ms = {t['floor'] / t['pass']:.2f}x")


# ---------------------------------------------------------------- scale (issue 27)

WEB_WORDS = (make_corpus.RARE, make_corpus.GOV, "minister", "prime minister", "election", "market")


def real_corpus(n: int, seed: int = 1) -> Path:
    """``n`` articles of real English (make_corpus.generate_real: the BBC sample's paragraphs)."""
    d = OUT / f"real-{n}-s{seed}"
    if not (d / ".done").exists():
        shutil.rmtree(d, ignore_errors=True)
        size = make_corpus.generate_real(n, d, seed)
        (d / ".done").write_text(str(size))
    return d


def _du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def _tree_peak(cmd: list[str]) -> tuple[float, int]:
    """Seconds and the peak memory (KiB, PSS of the process and its children) of ``cmd``."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=TIMING_ENV)
    peak = 0
    while p.poll() is None:
        peak = max(peak, _tree_rss(p.pid))
        time.sleep(0.2)
    return time.perf_counter() - t, peak


def bench_scale(a: argparse.Namespace) -> None:
    """Per size (--sizes): ingest rate, store and index on disk, search p50/p99 in-process by query
    shape and end to end, list/stats/facets, the unchanged reconcile, the daemon's peak memory with
    the whole folder as backlog, the web API's search p50 under 20 clients."""
    from urllib.parse import quote

    shapes: list[tuple[str, str, Filters]] = [
        ("rare", make_corpus.RARE, Filters()), ("common", make_corpus.GOV, Filters()),
        ("two words", "prime minister", Filters()), ("phrase", '"prime minister"', Filters()),
        ("author filter", make_corpus.GOV, Filters(authors=(f"{make_corpus.FIRST[0]} {make_corpus.LAST[0]}",))),
        ("year filter", make_corpus.GOV, Filters(since=dt.date(2010, 1, 1), until=dt.date(2010, 12, 31)))]
    for n in [int(x) for x in a.sizes.split(",")]:
        folder = real_corpus(n)
        db = OUT / f"scale-{n}.db"
        if not (a.reuse and db.exists()):
            _remove_store(db)
            el, peak = _tree_peak([*ARCHIVE, "--db", str(db), "ingest", str(folder)])
            row("scale", f"{n:,}: ingest (whole process)", f"{n / el:,.0f} files/s", "", "",
                f"{el:.1f} s; peak {peak / 1024:.0f} MiB (process and workers, PSS)")
        else:
            t = time.perf_counter()
            SQLiteStore(db).close()  # an older store's upgrade (and index rebuild) is no query's
            row("scale", f"{n:,}: a store made earlier (--reuse)", f"opened in {time.perf_counter() - t:.1f} s")
        row("scale", f"{n:,}: on disk", f"store {(_du(db) + _du(Path(str(db) + '-wal'))) / 1e6:,.0f} MB",
            f"text {_du(folder) / 1e6:,.0f} MB", "", f"index {_du(Path(str(db) + '-search')) / 1e6:,.0f} MB")
        s = SQLiteStore(db)
        for label, q, flt in shapes:
            lat = []
            for _ in range(30):
                t = time.perf_counter()
                list(s.search(q, flt, limit=20))
                lat.append(time.perf_counter() - t)
            row("scale", f"{n:,}: search in-process, {label}", f"p50 {med(lat) * 1000:.1f} ms", "", "",
                f"p99 {pct(lat, 99) * 1000:.1f} ms")
        lat = []
        for _ in range(30):
            t = time.perf_counter()
            list(s.search_by_date(make_corpus.GOV, Filters(), False, 20))
            lat.append(time.perf_counter() - t)
        row("scale", f"{n:,}: search in-process, newest first", f"p50 {med(lat) * 1000:.1f} ms", "", "",
            f"p99 {pct(lat, 99) * 1000:.1f} ms")
        reads: list[tuple[str, Callable[[SQLiteStore], Any]]] = [
            ("list (50)", lambda st: list(st.query(Filters(), limit=50))), ("stats", lambda st: st.stats(Filters())),
            ("facets, everything", lambda st: st.facets("", Filters())),
            ("facets of a common word", lambda st: st.facets(make_corpus.GOV, Filters()))]
        for label, fn in reads:
            lat = []
            for _ in range(max(3, a.runs)):
                t = time.perf_counter()
                fn(s)
                lat.append(time.perf_counter() - t)
            row("scale", f"{n:,}: {label} in-process", f"{med(lat) * 1000:.0f} ms")
        s.close()
        cmds = {"pass": [user_python(), "-c", "pass"],
                **{label: [*user_archive(), "--db", str(db), "search", q, "--format", "jsonl", "--limit", "20"]
                   for label, q, _ in shapes[:4]}}
        t = _race(cmds, max(5, a.runs))
        for label, _, _ in shapes[:4]:
            row("scale", f"{n:,}: `archive search` {label}, end to end", f"{t[label] * 1000:.0f} ms",
                f"python -c pass: {t['pass'] * 1000:.0f} ms", f"{t[label] / t['pass']:.2f}x")
        xs = [_tree_peak([*ARCHIVE, "--db", str(db), "watch", "--once", str(folder)])[0]
              for _ in range(max(1, a.runs // 3))]
        row("scale", f"{n:,}: unchanged reconcile (`watch --once`)", f"{med(xs):.1f} s")
        if not a.no_backlog:
            fresh = OUT / f"scale-{n}-daemon.db"
            _remove_store(fresh)
            el, peak = _tree_peak([*ARCHIVE, "--db", str(fresh), "watch", "--once", str(folder)])
            row("scale", f"{n:,}: daemon with the whole folder as backlog", f"peak {peak / 1024:.0f} MiB", "", "",
                f"`watch --once` on an empty store, {el:.1f} s (process and workers, PSS)")
        proc, port = _serve(db)
        try:
            got = _load(port, 20, a.seconds, lambda k, i: f"/api/search?q={quote(WEB_WORDS[(k + i) % 6])}&limit=20")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        lat = [x for k, v in got.items() if k.startswith("/api/search") and "(" not in k for x in v]
        row("scale", f"{n:,}: web API search, 20 clients", f"p50 {med(lat) * 1000:.0f} ms", "", "",
            f"p99 {pct(lat, 99) * 1000:.0f} ms; {len(lat) / a.seconds:.0f} requests/s over {a.seconds:.0f} s")


# ---------------------------------------------------------------- peers (issue 27)

BARE_INDEX = """
import os, sys, time, tantivy
folder, where = sys.argv[1:3]
sb = tantivy.SchemaBuilder()
sb.add_text_field("body", stored=False)
ix = tantivy.Index(sb.build(), path=where)
w = ix.writer(heap_size=100_000_000, num_threads=1)
for root, _, files in os.walk(folder):
    for f in files:
        if f.endswith(".txt"):
            with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                w.add_document(tantivy.Document(body=fh.read()))
w.commit()
w.wait_merging_threads()
"""
BARE_SEARCH = """
import sys, tantivy
ix = tantivy.Index.open(sys.argv[1])
s = ix.searcher()
print(len(s.search(ix.parse_query(sys.argv[2], ["body"]), 20).hits))
"""


def bench_peers(a: argparse.Namespace) -> None:
    """archive beside the tools people use for the same job, on the scale bench's real English
    (each skipped with a note when it is not installed): ingest in files/s, search end to end in ms
    (rare word, common word, two words, phrase), as whole processes, medians of --runs in turn."""
    queries = {"rare": make_corpus.RARE, "common": make_corpus.GOV, "two words": "prime minister",
               "phrase": '"prime minister"'}
    for n in [int(x) for x in a.sizes.split(",")]:
        folder = real_corpus(n)
        work = OUT / f"peers-{n}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        ingest: dict[str, list[str]] = {}
        search: dict[str, Callable[[str], list[str]]] = {}
        db = work / "archive.db"
        ingest["archive (parse + store + index)"] = [*ARCHIVE, "--db", str(db), "ingest", str(folder)]
        search["archive (parse + store + index)"] = lambda q, db=db: [
            *user_archive(), "--db", str(db), "search", q, "--format", "jsonl", "--limit", "20"]
        if shutil.which("recollindex") and shutil.which("recollq"):
            conf = work / "recoll"
            conf.mkdir()
            (conf / "recoll.conf").write_text(f"topdirs = {folder}\nskippedNames = .done\n")
            ingest["recoll (recollindex / recollq)"] = ["recollindex", "-c", str(conf)]
            search["recoll (recollindex / recollq)"] = lambda q, conf=conf: ["recollq", "-c", str(conf), "-n", "20", q]
        else:
            row("peers", f"{n:,}: recoll", "not installed", "", "", "apt-get install recollcmd")
        su = shutil.which("sqlite-utils") or str(Path(sys.executable).with_name("sqlite-utils"))
        if Path(su).exists():
            sdb = work / "su.db"
            files = [str(f) for f in sorted(folder.rglob("*.txt"))]
            lst = work / "files.txt"
            lst.write_text("\n".join(files))
            ingest["sqlite-utils insert-files + FTS5 (no parsing)"] = [
                "sh", "-c", f"xargs -d '\\n' {su} insert-files --text {sdb} docs < {lst} && "
                f"{su} enable-fts {sdb} docs content"]
            search["sqlite-utils insert-files + FTS5 (no parsing)"] = lambda q, su=su, sdb=sdb: [
                su, "search", str(sdb), "docs", q, "--limit", "20", "-c", "path"]
        else:
            row("peers", f"{n:,}: sqlite-utils", "not installed", "", "", "pip install sqlite-utils")
        bare = work / "bare-index"
        bare.mkdir()
        ingest["a bare tantivy-py index (no parsing, no store): the floor"] = [
            sys.executable, "-c", BARE_INDEX, str(folder), str(bare)]
        search["a bare tantivy-py index (no parsing, no store): the floor"] = lambda q, bare=bare: [
            user_python(), "-c", BARE_SEARCH, str(bare), q]
        for label, cmd in ingest.items():
            t = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, env=TIMING_ENV)
            el = time.perf_counter() - t
            note = "" if done.returncode in (0, 1) else f"exit {done.returncode}: {done.stderr[-200:]!r}"
            row("peers", f"{n:,}: ingest, {label}", f"{n / el:,.0f} files/s", "", "", note or f"{el:.1f} s")
        if shutil.which("rg"):
            search["ripgrep -li (no index)"] = lambda q, folder=folder: ["rg", "-li", q.strip('"'), str(folder)]
        search["grep -rli (no index)"] = lambda q, folder=folder: ["grep", "-rli", q.strip('"'), str(folder)]
        for qlabel, q in queries.items():
            t = _race({label: make(q) for label, make in search.items()}, max(5, a.runs))
            for label, sec in t.items():
                row("peers", f"{n:,}: search {qlabel}, {label}", f"{sec * 1000:.0f} ms")


# ---------------------------------------------------------------- main


def _story_pairs(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {(a, b) for g in groups for a in g for b in g if a < b}


def bench_stories(a: argparse.Namespace) -> None:
    """Pair precision and recall of "same story" on the labelled set of scripts/story_set.py
    (real articles, copies made as outlets make them, same-URL saves), then stories and similar
    latency on the big corpus's store."""
    import story_set

    folder = OUT / "story-set"
    truth = story_set.make(folder, seed=a.seed)
    groups = truth["groups"]
    db = OUT / "story-set.db"
    runs = []
    for _ in range(a.runs):
        el, summary = _ingest_once(folder, db)
        runs.append(el)
    s = SQLiteStore(db, create=False)
    found = s.stories(Filters())
    s.close()
    name = {m.article.source.path: Path(m.article.source.path).name for st in found for m in st.members}
    predicted = _story_pairs([[name[m.article.source.path] for m in st.members] for st in found])
    copies = _story_pairs([g["files"] for g in groups if g["kind"] == "copies"])
    same_url = _story_pairs([g["files"] for g in groups if g["kind"] == "same-url"])
    true = copies | same_url
    hit = predicted & true
    labelled = {f for g in groups for f in g["files"]}
    # Two articles of the corpora themselves, 90% the same text: the corpora's own copies (a story
    # the BBC ran twice, a newswire's repeat), which the truth does not know of.
    from archive.stories.signature import shingles, similarity

    texts = {Path(m.article.source.path).name: m.article.body for st in found for m in st.members}
    own = {p for p in predicted - true if not {p[0], p[1]} & labelled
           and similarity(shingles(texts[p[0]]), shingles(texts[p[1]]))[0] >= 0.9}
    wrong = sorted(predicted - true - own)
    n = summary.new + summary.unchanged
    precision = len(hit) / max(1, len(predicted))
    row("stories", f"labelled set: {n:,} files, {len(groups)} stories", f"precision {precision:.4f}",
        f"{len(predicted):,} pairs grouped", "", f"{len(wrong) + len(own)} pairs not in the truth")
    row("stories", "precision, the corpora's own copies apart", f"{len(hit) / max(1, len(predicted) - len(own)):.4f}",
        f"{len(own)} pairs 90%+ alike", "", "two unlabelled corpus articles, >= 90% the same text")
    touching = {p for p in predicted if {p[0], p[1]} & labelled}
    row("stories", "precision, pairs with a labelled article", f"{len(hit) / max(1, len(touching)):.4f}",
        f"{len(touching):,} such pairs", "", f"{len(predicted - touching)} pairs of two corpus articles apart")
    row("stories", "recall: copies (pairs)", f"{len(copies & predicted) / max(1, len(copies)):.4f}",
        f"{len(copies):,} true pairs", "", "another headline, boilerplate, cut 10-35%, edits")
    row("stories", "recall: same-url saves (pairs)", f"{len(same_url & predicted) / max(1, len(same_url)):.4f}",
        f"{len(same_url):,} true pairs", "", "silent edits and heavy rewrites")
    row("stories", "ingest of the labelled set", f"{n / med(runs):,.0f} files/s", "", "",
        "signatures and grouping included")
    for p in wrong[:10]:
        print(f"    grouped, not in the truth: {p[0]} {p[1]}", file=sys.stderr)
    missed = sorted(copies - predicted)
    for p in missed[:10]:
        print(f"    missed copy pair: {p[0]} {p[1]}", file=sys.stderr)
    big = store_path(a.n)
    if not big.exists():
        print(f"(no store of {a.n:,} articles: run scripts/bench.py ingest --n {a.n} first for latency)",
              file=sys.stderr)
        return
    # The big corpus has no stories of its own: a copy of its store gets the labelled set too.
    mixed = OUT / f"stories-{a.n}.db"
    if not mixed.exists():
        shutil.copyfile(big, str(mixed) + ".part")
        shutil.rmtree(str(mixed) + "-search", ignore_errors=True)
        shutil.copytree(str(big) + "-search", str(mixed) + "-search")
        os.replace(str(mixed) + ".part", mixed)
        t0 = time.perf_counter()
        subprocess.run([*ARCHIVE, "--db", str(mixed), "ingest", str(folder)], capture_output=True, check=True)
        print(f"(made {mixed}: {a.n:,} articles and the labelled set, {time.perf_counter() - t0:.0f} s)",
              file=sys.stderr)
    big = mixed
    ref = json.loads(subprocess.run([*ARCHIVE, "--db", str(big), "stories", "--limit", "1", "--format", "jsonl"],
                                    capture_output=True, check=True, text=True).stdout)["articles"][1]["id"]
    cmds = {"stories --limit 50": [*ARCHIVE, "--db", str(big), "stories", "--limit", "50", "--format", "jsonl"],
            "similar --limit 10": [*ARCHIVE, "--db", str(big), "similar", ref, "--format", "jsonl"],
            "baseline: --version": [*ARCHIVE, "--version"]}
    t = _race(cmds, max(5, a.runs))
    for k in ("stories --limit 50", "similar --limit 10"):
        row("stories", f"{k}, {a.n:,} articles (whole process)", f"{t[k] * 1e3:.0f} ms",
            f"--version: {t['baseline: --version'] * 1e3:.0f} ms", f"{t[k] / t['baseline: --version']:.1f}x")


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f", {int(fh.readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    import sqlite3

    return (f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, SQLite "
            f"{sqlite3.sqlite_version}, {platform.system()} {platform.release()}")


def write_md(path: Path, cmd: str) -> None:
    lines = [
        "# Benchmarks", "",
        f"Measured {dt.date.today()} on: {machine()}.", "",
        f"Command: `{cmd}`", "",
        "Each figure is the median of several runs; the baseline is measured in the same run on the same",
        "data (the machines are noisy: read the ratios). The page cache is warm for every run.", "",
        "| bench | what | value | baseline | ratio | note |", "|---|---|---|---|---|---|",
    ]
    for r in ROWS:
        lines.append("| " + " | ".join(r[k] for k in ("bench", "what", "value", "baseline", "ratio", "note")) + " |")
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}", file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["parse", "store", "search", "ingest", "rescan", "latency", "export", "cli",
                                     "serve", "webload", "stories", "mongo", "scale", "peers", "all"])
    ap.add_argument("--sizes", default="10000,100000", help="article counts of the scale bench")
    ap.add_argument("--reuse", action="store_true",
                    help="scale: measure the stores an earlier run made (upgraded as any writer would), no ingest")
    ap.add_argument("--no-backlog", action="store_true",
                    help="scale: leave out the daemon's run with the whole folder as backlog (hours at 1,000,000)")
    ap.add_argument("--seed", type=int, default=7, help="of the labelled story set (stories)")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the web load run (webload)")
    ap.add_argument("--n", type=int, default=100_000, help="articles in the big corpus (default 100,000)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--latency-files", type=int, default=60)
    ap.add_argument("--backlog", type=int, help="files waiting when the latency bench starts its daemon (default: --n)")
    ap.add_argument("--write", metavar="MD", help="write the table as Markdown (all: docs/BENCHMARKS.md)")
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    import logging

    logging.getLogger("archive").setLevel(logging.ERROR)  # the corpus has broken files on purpose
    print(f"{'bench':8} {'what':44} {'value':>16} {'baseline':>22} {'ratio':>8}  note")
    funcs: dict[str, Callable[[argparse.Namespace], Any]] = {
        "parse": bench_parse, "store": bench_store, "ingest": bench_ingest, "rescan": bench_rescan,
        "search": bench_search, "latency": bench_latency, "export": bench_export, "cli": bench_cli,
        "serve": bench_serve, "webload": bench_webload, "stories": bench_stories,
        "mongo": bench_mongo, "scale": bench_scale, "peers": bench_peers,
    }
    order = list(funcs) if a.what == "all" else [a.what]
    for name in order:
        funcs[name](a)
    target = a.write or (str(ROOT / "docs" / "BENCHMARKS.md") if a.what == "all" else None)
    if target:
        write_md(Path(target), "scripts/bench.py " + " ".join(sys.argv[1:]))
    (OUT / "last.json").write_text(json.dumps(ROWS, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
