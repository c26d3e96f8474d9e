"""A real daemon process on a temporary folder, files dropped in by the test."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.config import Settings
from archive.store.sqlite import SQLiteStore
from archive.watch import Tracker, daemon_state, pid_alive
from tests.conftest import article_text
from tests.daemon import DaemonProc, articles, wait_for


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "watched"
    d.mkdir()
    return d


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store" / "archive.db"


@pytest.fixture(params=["native", "polling"])
def daemon(request: pytest.FixtureRequest, folder: Path, db: Path) -> Iterator[DaemonProc]:
    d = DaemonProc(folder, db, "--rescan-interval", "0", polling=request.param == "polling").wait_ready()
    yield d
    assert d.stop() == 0, d.log.read_text()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_one_file_edit_rename_move_delete(daemon: DaemonProc, folder: Path, db: Path) -> None:
    p = write(folder / "one.txt", article_text(title="One", body="First version."))
    [art] = wait_for(lambda: list(articles(db).values()))
    assert art.title == "One" and art.revision == 1

    write(p, article_text(title="One", body="Second version."))
    wait_for(lambda: articles(db)[str(p)].revision == 2)
    s = SQLiteStore(db)
    assert [r.body for r in s.revisions(art.id)] == ["First version."]
    s.close()

    q = folder / "renamed.txt"
    p.rename(q)
    wait_for(lambda: str(q) in articles(db))
    assert articles(db)[str(q)].id == art.id

    sub = folder / "sub" / "deeper"
    sub.mkdir(parents=True)
    r = sub / "moved.txt"
    q.rename(r)
    wait_for(lambda: str(r) in articles(db))
    assert articles(db)[str(r)].id == art.id and len(articles(db)) == 1

    r.unlink()
    wait_for(lambda: not articles(db))
    gone = articles(db, include_deleted=True)[str(r)]
    assert gone.id == art.id and gone.deleted_at is not None


def test_folder_rename_and_delete(daemon: DaemonProc, folder: Path, db: Path) -> None:
    for n in ("a", "b", "c"):
        write(folder / "topic" / "deep" / f"{n}.txt", article_text(title=n.upper()))
    wait_for(lambda: len(articles(db)) == 3)
    ids = {a.title: a.id for a in articles(db).values()}
    (folder / "topic").rename(folder / "renamed")
    wait_for(lambda: all(p.startswith(str(folder / "renamed")) for p in articles(db)) and len(articles(db)) == 3)
    assert {a.title: a.id for a in articles(db).values()} == ids
    assert len(articles(db, include_deleted=True)) == 3
    import shutil

    shutil.rmtree(folder / "renamed")
    wait_for(lambda: not articles(db))
    assert {a.title for a in articles(db, include_deleted=True).values()} == {"A", "B", "C"}


def test_burst_of_500(daemon: DaemonProc, folder: Path, db: Path) -> None:
    for i in range(500):
        write(folder / f"b{i:03}.txt", article_text(title=f"Burst {i}", body=f"Body number {i}."))
    wait_for(lambda: len(articles(db)) == 500, timeout=60)
    arts = articles(db)
    assert {a.title for a in arts.values()} == {f"Burst {i}" for i in range(500)}
    assert all(a.revision == 1 for a in arts.values())


def test_atomic_save_is_one_upsert(daemon: DaemonProc, folder: Path, db: Path) -> None:
    target = folder / "doc.md"
    write(target, article_text(body="Before."))
    wait_for(lambda: str(target) in articles(db))
    tmp = folder / ".doc.md.swp"
    for i in range(3):
        tmp.write_text(article_text(body=f"Save {i}."))
        os.replace(tmp, target)
        wait_for(lambda i=i: articles(db)[str(target)].body == f"Save {i}.")
    assert articles(db)[str(target)].revision == 4  # one revision per save, none for the temp file
    assert len(articles(db, include_deleted=True)) == 1


def test_ignored_files_and_broken_files(daemon: DaemonProc, folder: Path, db: Path) -> None:
    for name in (".hidden.txt", "x.txt~", "x.swp", "x.tmp", "x.part", "y.crdownload", "@eaDir/z.txt", "n.pdf"):
        write(folder / name, article_text())
    bad = folder / "bad.txt"
    bad.write_bytes(b"\x00\x00binary")
    good = write(folder / "good.txt", article_text())
    wait_for(lambda: str(good) in articles(db))
    s = SQLiteStore(db)
    wait_for(lambda: [f.path for f in s.failures()] == [str(bad)])
    write(bad, article_text(title="Fixed"))
    wait_for(lambda: str(bad) in articles(db))
    assert list(s.failures()) == []
    s.close()
    assert set(articles(db)) == {str(good), str(bad)}


@pytest.mark.slow
def test_slow_writer_is_ingested_once_complete(folder: Path, db: Path) -> None:
    d = DaemonProc(folder, db, "--rescan-interval", "0").wait_ready()
    p = folder / "slow.txt"
    text = article_text(title="Slow", body=" ".join(f"Sentence {i}." for i in range(200)))
    chunks = [text[i : i + 300] for i in range(0, len(text), 300)]
    with open(p, "w") as fh:
        for c in chunks:
            fh.write(c)
            fh.flush()
            time.sleep(0.15)  # longer than the settle time: only close-after-write says "done"
    art = wait_for(lambda: articles(db).get(str(p)))
    time.sleep(0.5)
    art = articles(db)[str(p)]
    assert art.revision == 1 and art.body.endswith("Sentence 199.")
    assert d.stop() == 0


def test_changes_while_down_are_reconciled(folder: Path, db: Path) -> None:
    keep = write(folder / "keep.txt", article_text(title="Keep"))
    edit = write(folder / "edit.txt", article_text(title="Edit", body="Old."))
    ren = write(folder / "ren.txt", article_text(title="Ren"))
    gone = write(folder / "gone.txt", article_text(title="Gone"))
    d = DaemonProc(folder, db, "--rescan-interval", "0").wait_ready()
    assert len(articles(db)) == 4
    ids = {p: a.id for p, a in articles(db).items()}
    assert d.stop() == 0

    write(edit, article_text(title="Edit", body="New."))
    ren.rename(folder / "renamed.txt")
    gone.unlink()
    new = write(folder / "new.txt", article_text(title="New"))

    d = DaemonProc(folder, db, "--rescan-interval", "0").wait_ready()
    arts = articles(db)
    assert set(arts) == {str(keep), str(edit), str(folder / "renamed.txt"), str(new)}
    assert arts[str(edit)].revision == 2 and arts[str(edit)].id == ids[str(edit)]
    assert arts[str(folder / "renamed.txt")].id == ids[str(ren)]
    assert articles(db, include_deleted=True)[str(gone)].deleted_at is not None
    assert d.stop() == 0


def test_kill9_mid_burst_then_restart(folder: Path, db: Path) -> None:
    d = DaemonProc(folder, db, "--rescan-interval", "0").wait_ready()
    for i in range(300):
        write(folder / f"k{i:03}.txt", article_text(title=f"K {i}", body=f"First {i}."))
        if i == 150:
            d.kill9()
    for i in range(0, 300, 10):
        write(folder / f"k{i:03}.txt", article_text(title=f"K {i}", body=f"Latest {i}."))
    d = DaemonProc(folder, db, "--rescan-interval", "0").wait_ready()  # the lock is not stuck
    arts = articles(db, include_deleted=True)
    assert len(arts) == 300
    for i in range(300):
        body = arts[str(folder / f"k{i:03}.txt")].body
        assert body == (f"Latest {i}." if i % 10 == 0 else f"First {i}.")
    s = SQLiteStore(db)
    assert s.index_consistent()
    s.close()
    assert d.stop() == 0


@pytest.mark.slow
def test_locked_store_loses_nothing(folder: Path, db: Path) -> None:
    d = DaemonProc(folder, db, "--rescan-interval", "0").wait_ready()
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        for i in range(20):
            write(folder / f"l{i}.txt", article_text(title=f"L {i}"))
        # Held until the daemon has waited out its busy timeout and sees the store as away.
        wait_for(lambda: "store-unavailable" in [r.get("event") for r in d.lines()], timeout=60)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    wait_for(lambda: len(articles(db)) == 20, timeout=90)
    # "store is back" is logged once the first batch after the outage is written, just after its articles.
    wait_for(lambda: "store-back" in [r.get("event") for r in d.lines()], timeout=10)
    assert [r.get("event") for r in d.lines()].count("store-unavailable") == 1
    assert d.stop() == 0


def test_second_daemon_is_refused(folder: Path, db: Path) -> None:
    d = DaemonProc(folder, db).wait_ready()
    second = subprocess.run([sys.executable, "-m", "archive", "--db", str(db), "watch", str(folder)],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert f"pid {d.proc.pid}" in second.stderr and "Traceback" not in second.stderr
    assert d.stop(signal.SIGINT) == 0


def test_once_and_status(folder: Path, db: Path) -> None:
    write(folder / "a.txt", article_text())
    r = subprocess.run([sys.executable, "-m", "archive", "--db", str(db), "watch", str(folder), "--once"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(articles(db)) == 1
    s = SQLiteStore(db)
    [doc] = s.daemons()
    s.close()
    assert daemon_state(doc, Settings(db=str(db))) == "stopped"


def test_periodic_rescan_catches_missed_events(folder: Path, db: Path) -> None:
    # Polling every 60 s sees nothing in time; only the 1 s safety rescan can find the file.
    d = DaemonProc(folder, db, "--rescan-interval", "1", "--polling", "--poll-interval", "60").wait_ready()
    p = write(folder / "late.txt", article_text())
    wait_for(lambda: str(p) in articles(db), timeout=20)
    assert d.stop() == 0


def test_tracker_waits_for_writers() -> None:
    t = Tracker(settle=0.0)
    t.add("/x/a.txt", writing=True)
    t.add("/x/b.txt")
    ready, _ = t.take_due(10)
    assert [p for p, _ in ready] == ["/x/b.txt"]
    t.add("/x/a.txt", delay=0.0)  # closed after writing
    ready, _ = t.take_due(10)
    assert [p for p, _ in ready] == ["/x/a.txt"]


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert not pid_alive(p.pid)


def test_a_second_signal_ends_a_stuck_shutdown_at_once(tmp_path: Path) -> None:
    """The first SIGTERM stops in order; when that stop hangs (here the store's close, as on a
    file system that went away), a second one exits at once, as uvicorn's does (issue 21)."""
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    folder = tmp_path / "w"
    folder.mkdir()
    script = textwrap.dedent("""
        import sys, threading, time
        from archive.config import Settings
        from archive.store import open_store
        from archive.watch.daemon import Daemon
        db, folder = sys.argv[1], sys.argv[2]

        class Stuck:
            def __init__(self):
                self.s = open_store(db)
            def __getattr__(self, name):
                return getattr(self.s, name)
            def close(self):
                print("closing", flush=True)
                time.sleep(60)

        d = Daemon(Settings(db=db), folder, store_factory=Stuck)
        d.install_signal_handlers()
        threading.Thread(target=lambda: (d.ready.wait(), print("ready", flush=True)), daemon=True).start()
        sys.exit(d.run())
    """)
    p = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "a.db"), str(folder)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=Path(__file__).parent.parent)
    try:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
        p.send_signal(signal.SIGTERM)
        assert p.stdout.readline().strip() == "closing"  # the orderly stop is under way, and stuck
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 1
        assert time.monotonic() - t0 < 5
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if p.stdout:
            p.stdout.close()


def test_a_signal_that_lands_while_the_daemon_holds_a_lock_still_stops_it(tmp_path: Path) -> None:
    """A signal handler runs between two steps of the main thread, which may hold an Event's lock
    at that moment (Event.wait takes it briefly, and the daemon's loop waits on one every turn): a
    handler that set an Event there waited for itself forever (a CI run hung so). The signals here
    land exactly there; the daemon still stops (and rescans on SIGHUP)."""
    import subprocess
    import sys
    import textwrap

    folder = tmp_path / "w"
    folder.mkdir()
    script = textwrap.dedent("""
        import signal, sys
        from archive.config import Settings
        from archive.watch.daemon import Daemon

        d = Daemon(Settings(db=sys.argv[1]), sys.argv[2])
        d.install_signal_handlers()
        with d.tracker.wake._cond:  # what the loop's wait holds for a moment
            signal.raise_signal(signal.SIGHUP)
            signal.raise_signal(signal.SIGTERM)
        print("rescan" if d.rescan_now.wait(30) else "no rescan", "stop" if d.stop.wait(30) else "no stop")
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "a.db"), str(folder)], capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).parent.parent)
    assert (done.returncode, done.stdout.strip()) == (0, "rescan stop"), done.stderr[-2000:]


def test_a_hung_daemon_is_stale_for_status_and_taken_over_by_watch(tmp_path: Path) -> None:
    """Its process alive on this host, its heartbeat old: ``status`` says stale, and a new daemon
    takes the lease (they disagreed: status said stale, watch refused; issue 21)."""
    import datetime as dt
    import os
    import socket

    from archive.config import Settings
    from archive.models import iso, utcnow
    from archive.store.sqlite import SQLiteStore
    from archive.watch.lease import Lease, daemon_records, proc_start

    settings = Settings(db=str(tmp_path / "a.db"))
    s = SQLiteStore(tmp_path / "a.db")
    old_beat = iso(utcnow() - dt.timedelta(minutes=10))
    hung = {"token": "t-hung", "pid": os.getpid(), "host": socket.gethostname(), "proc_start": proc_start(os.getpid()),
            "heartbeat_at": old_beat, "stopped_at": None, "folder": "/x"}
    assert Lease("watch:/x", hung, settings).acquire(s) is None
    assert [d["state"] for d in daemon_records(s, settings)] == ["stale"]
    fresh = {**hung, "token": "t-new", "heartbeat_at": iso(utcnow())}
    assert Lease("watch:/x", fresh, settings).acquire(s) is None  # taken over
    assert [d["state"] for d in daemon_records(s, settings)] == ["running"]
    assert Lease("watch:/x", {**hung, "token": "t-third", "heartbeat_at": iso(utcnow())}, settings).acquire(s)
    s.close()


@pytest.mark.slow
def test_status_counts_a_scans_files_in_the_backlog_while_it_runs(folder: Path, db: Path) -> None:
    """Issue 26 #2: a daemon's first scan of many files reported backlog 0 until it ended (the
    heartbeat waited for the scan, and only file events counted)."""
    for i in range(3000):
        (folder / f"{i:05d}.txt").write_text(article_text(title=f"Article {i}", body=f"Text {i} of the story."))
    d = DaemonProc(folder, db)
    try:
        def backlog() -> int:
            if not db.exists():
                return 0
            s = SQLiteStore(db, create=False)
            try:
                return max((int(x.get("backlog") or 0) for x in s.daemons()), default=0)
            finally:
                s.close()

        seen = wait_for(backlog, timeout=60, interval=0.1)
        assert 0 < seen <= 3000
        d.wait_ready(timeout=120)
        wait_for(lambda: backlog() == 0 and len(articles(db)) == 3000, timeout=60)
    finally:
        assert d.stop() == 0, d.log.read_text()


def test_watch_reparse_reads_unchanged_files_again_at_start_only(folder: Path, db: Path) -> None:
    """``archive watch --reparse`` (after an upgrade of archive): the start-up reconcile stores what
    this parser makes of files whose bytes did not change; the rescans after it read changed files
    only (else every rescan would read the whole folder)."""
    from archive.store import open_store
    from tests.conftest import item_for

    p = write(folder / "one.txt", article_text(title="One", body="First version."))
    d = DaemonProc(folder, db).wait_ready()
    wait_for(lambda: list(articles(db).values()))
    assert d.stop() == 0

    def read_by_an_older_parser() -> str:
        s = open_store(str(db))
        item = item_for(p)
        [old] = s.upsert_many([item._replace(parsed=item.parsed._replace(title="As an older parser read it"),
                                             reparse=True)])
        s.close()
        return old.id

    def title(id: str) -> str:
        s = SQLiteStore(db, create=False)
        try:
            got = s.get(id)
            assert got is not None
            return got.title
        finally:
            s.close()

    id = read_by_an_older_parser()
    d = DaemonProc(folder, db, "--reparse", "--rescan-interval", "0.3").wait_ready()
    try:
        assert title(id) == "One"
        read_by_an_older_parser()
        scans = sum(r.get("event") == "scan" for r in d.lines())
        wait_for(lambda: sum(r.get("event") == "scan" for r in d.lines()) >= scans + 2)  # rescans ran
        assert title(id) == "As an older parser read it"
    finally:
        assert d.stop() == 0, d.log.read_text()
