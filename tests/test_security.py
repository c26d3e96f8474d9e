"""Security properties: private store files, no secrets in output, a read-only view of the folder."""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import cli
from archive.config import Settings
from archive.redaction import redact
from archive.watch import Daemon
from tests.conftest import article_text, patch_mongomock_bulk
from tests.daemon import DaemonProc, wait_for

SECRET = "pa55-w0rd-SECRET"


def test_store_files_are_user_only(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "a.txt").write_text(article_text())
    db = tmp_path / "new" / "a.db"
    CliRunner().invoke(cli, ["--db", str(db), "ingest", str(folder)])
    for f in db.parent.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f
    assert stat.S_IMODE(db.parent.stat().st_mode) & 0o077 == 0


def test_redact() -> None:
    assert redact(f"mongodb+srv://bob:{SECRET}@c.example/db?x=1") == "mongodb+srv://***@c.example/db?x=1"
    assert redact("no uri here") == "no uri here"


def test_a_mongodb_password_never_appears(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    import mongomock

    from archive.store import mongo as mongo_mod
    from archive.store.mongo import MongoStore

    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    monkeypatch.setattr(mongo_mod.pymongo, "MongoClient", lambda *a, **k: client)
    uri = f"mongodb://archivist:{SECRET}@db.example:27017/arch"
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "a.txt").write_text(article_text())
    (folder / "bad.txt").write_text("")
    outputs = []
    for args in (["ingest", str(folder)], ["status", "--format", "json"], ["status", "--format", "table"],
                 ["list", "--format", "jsonl"], ["export", "--format", "ejson"], ["failures", "--format", "json"],
                 ["stats", "--format", "json"], ["migrate", "--to", str(tmp_path / "m.db")]):
        r = CliRunner().invoke(cli, ["--db", uri, *args])
        outputs.append(r.output)
    r = CliRunner().invoke(cli, ["--db", str(tmp_path / "m.db"), "migrate", "--to", uri])
    outputs.append(r.output)

    caplog.set_level(logging.DEBUG, logger="archive")
    settings = Settings(db=uri, settle=0.05, rescan_interval=0)  # type: ignore[call-arg]
    daemon = Daemon(settings, str(folder), store_factory=lambda: MongoStore(uri, client=client))
    t = threading.Thread(target=daemon.run, daemon=True)
    t.start()
    wait_for(daemon.ready.is_set)
    daemon.request_stop()
    t.join(10)
    outputs.append(caplog.text)
    r = CliRunner().invoke(cli, ["--db", uri, "status", "--format", "json"])
    outputs.append(r.output)
    everything = "\n".join(outputs)
    assert "db.example" in everything  # the host is named …
    assert SECRET not in everything  # … the password never


def test_the_daemon_never_writes_into_the_watched_folder(tmp_path: Path) -> None:
    folder, db = tmp_path / "w", tmp_path / "a.db"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(article_text())
    (folder / "sub" / "b.md").write_text(article_text(title="B"))
    (folder / "bad.txt").write_text("")

    def snapshot() -> dict[str, tuple[int, int]]:
        out = {}
        for root, dirs, files in os.walk(folder):
            for n in dirs + files:
                p = os.path.join(root, n)
                st = os.lstat(p)
                out[p] = (st.st_size, st.st_mtime_ns)
        return out

    before = snapshot()
    d = DaemonProc(folder, db, "--rescan-interval", "1").wait_ready()
    (folder / "c.txt").write_text(article_text(title="C"))
    wait_for(lambda: any(r.get("path") == str(folder / "c.txt") for r in d.lines()))
    assert d.stop() == 0
    after = snapshot()
    del after[str(folder / "c.txt")]
    assert after == before
