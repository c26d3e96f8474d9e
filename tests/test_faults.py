"""Fault injection (marker ``slow``; CI runs it): kill -9, floods, an absent store, a dead observer."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from archive.config import Settings
from archive.store.sqlite import SQLiteStore
from archive.watch import Daemon
from tests.conftest import article_text
from tests.daemon import DaemonProc, articles, wait_for

pytestmark = pytest.mark.slow


def _write(folder: Path, i: int, version: int) -> None:
    p = folder / f"{i // 500:02d}" / f"f{i:05d}.txt"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(article_text(title=f"File {i}", body=f"Version {version} of file {i}."))


def test_kill9_at_20_random_moments_of_a_5000_file_ingest(tmp_path: Path) -> None:
    folder, db = tmp_path / "w", tmp_path / "a.db"
    rng = random.Random(20)
    latest = {}
    for i in range(5000):
        _write(folder, i, 0)
        latest[i] = 0
    for _ in range(20):
        d = DaemonProc(folder, db, "--rescan-interval", "0")
        time.sleep(rng.uniform(0.4, 2.5))  # somewhere in start-up, the scan, or the event loop
        for i in rng.sample(range(5000), 25):  # edits racing with the kill
            latest[i] += 1
            _write(folder, i, latest[i])
        d.kill9()
    d = DaemonProc(folder, db, "--rescan-interval", "0").wait_ready(timeout=120)
    assert d.stop() == 0
    arts = articles(db, include_deleted=True)
    assert len(arts) == 5000
    for i, v in latest.items():
        art = arts[str(folder / f"{i // 500:02d}" / f"f{i:05d}.txt")]
        assert art.body == f"Version {v} of file {i}." and art.deleted_at is None
    s = SQLiteStore(db)
    try:
        assert s.index_consistent()
        assert len({a.id for a in arts.values()}) == 5000
        hits = list(s.search("version", s_filters()))
        assert len(hits) == 5000
    finally:
        s.close()


def s_filters():  # type: ignore[no-untyped-def]
    from archive.store.records import Filters

    return Filters()


def test_20000_files_created_as_fast_as_possible(tmp_path: Path) -> None:
    folder, db = tmp_path / "w", tmp_path / "a.db"
    folder.mkdir()
    d = DaemonProc(folder, db, "--rescan-interval", "5").wait_ready()
    data = article_text(title="Flood", body="Flood body.")
    for i in range(20000):
        sub = folder / f"{i // 1000:02d}"
        if i % 1000 == 0:
            sub.mkdir()
        (sub / f"{i:05d}.txt").write_text(data.replace("Flood body.", f"Flood body {i}."))
    wait_for(lambda: len(articles(db)) == 20000, timeout=240, interval=1.0)
    assert d.stop() == 0
    assert all(a.revision == 1 for a in articles(db).values())


def test_store_unavailable_for_10_s_in_a_burst(tmp_path: Path) -> None:
    folder, db = tmp_path / "w", tmp_path / "a.db"
    folder.mkdir()
    d = DaemonProc(folder, db, "--rescan-interval", "0").wait_ready()
    for i in range(500):
        (folder / f"a{i}.txt").write_text(article_text(title=f"A {i}"))
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        for i in range(500):
            (folder / f"b{i}.txt").write_text(article_text(title=f"B {i}"))
        # Held until the daemon has met the lock and said so (it retries meanwhile).
        wait_for(lambda: "store-unavailable" in [r.get("event") for r in d.lines()], timeout=60)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    wait_for(lambda: len(articles(db)) == 1000, timeout=120, interval=0.5)
    events = [r.get("event") for r in d.lines()]
    assert events.count("store-unavailable") == 1, "logged once per change of state, not per retry"
    said = next(r["message"] for r in d.lines() if r.get("event") == "store-unavailable")
    assert said.startswith("store unavailable (") and said.count("store unavailable") == 1, said
    assert d.stop() == 0


def test_dead_observer_is_noticed_and_restarted(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    settings = Settings(db=str(tmp_path / "a.db"), settle=0.05, rescan_interval=0)  # type: ignore[call-arg]
    daemon = Daemon(settings, str(folder))
    t = threading.Thread(target=daemon.run, daemon=True)
    t.start()
    wait_for(lambda: daemon.ready.is_set() and daemon.observer is not None)
    first = daemon.observer
    first.stop()  # the observer thread dies under the daemon
    first.join(5)
    wait_for(lambda: daemon.observer is not first and daemon.observer.is_alive())
    (folder / "after.txt").write_text(article_text(title="After"))
    wait_for(lambda: str(folder / "after.txt") in articles(tmp_path / "a.db"))
    daemon.request_stop()
    t.join(10)
    assert not t.is_alive()


def test_inotify_limit_falls_back_to_polling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    import errno

    from watchdog.observers import Observer

    def refuse(self: object) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(Observer, "start", refuse)
    folder = tmp_path / "w"
    folder.mkdir()
    settings = Settings(db=str(tmp_path / "a.db"), settle=0.05, rescan_interval=0,  # type: ignore[call-arg]
                        poll_interval=0.2)
    daemon = Daemon(settings, str(folder))
    t = threading.Thread(target=daemon.run, daemon=True)
    t.start()
    wait_for(lambda: daemon.ready.is_set() and daemon.observer is not None)
    assert daemon.mode == "polling"
    assert "fs.inotify.max_user_watches" in caplog.text
    (folder / "x.txt").write_text(article_text())
    wait_for(lambda: str(folder / "x.txt") in articles(tmp_path / "a.db"))
    daemon.request_stop()
    t.join(10)



