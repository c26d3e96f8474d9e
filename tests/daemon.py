"""Run a real ``archive watch`` process for tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from archive.store.records import Filters
from archive.store.sqlite import SQLiteStore


def wait_for(pred: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {getattr(pred, '__name__', pred)}")
        time.sleep(interval)


class DaemonProc:
    """``archive watch`` in a subprocess, logging JSON to a file. One a test left running (it
    failed before its ``stop``) is stopped after the test by ``stop_leftovers`` (conftest)."""

    running: ClassVar[set[DaemonProc]] = set()

    def __init__(self, folder: Path, db: Path, *extra: str, polling: bool = False,
                 env: dict[str, str] | None = None) -> None:
        self.folder, self.db = folder, db
        db.parent.mkdir(parents=True, exist_ok=True)
        self.log = db.parent / f"watch-{time.monotonic_ns()}.log"
        args = [sys.executable, "-m", "archive", "--db", str(db), "watch", str(folder),
                "--settle", "0.05", "--log-format", "json", *extra]
        if polling:
            args += ["--polling", "--poll-interval", "0.2"]
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}, **(env or {})}
        env["ARCHIVE_HEARTBEAT_INTERVAL"] = "0.5"
        self.fh = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, stdout=self.fh, stderr=subprocess.STDOUT, env=env)
        DaemonProc.running.add(self)

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append({"message": line})
        return out

    def wait_ready(self, timeout: float = 20.0) -> DaemonProc:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}: {self.log.read_text()}")
            return any(r.get("event") == "scan" for r in self.lines())

        try:
            wait_for(ready, timeout)
        except BaseException:
            self.kill9()
            raise
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon did not stop in time") from None
            finally:
                DaemonProc.running.discard(self)
        DaemonProc.running.discard(self)
        self.fh.close()
        return self.proc.returncode

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.fh.close()
        DaemonProc.running.discard(self)

    @classmethod
    def stop_leftovers(cls) -> None:
        """Stop every daemon a test started and did not stop (SIGTERM, then SIGKILL)."""
        for d in list(cls.running):
            try:
                d.stop()
            except AssertionError:
                pass  # it was killed
            finally:
                d.fh.close()


def articles(db: Path, include_deleted: bool = False) -> dict[str, Any]:
    """path -> Article, read through a separate connection (as another CLI process would)."""
    s = SQLiteStore(db)
    try:
        return {a.source.path: a for a in s.query(Filters(include_deleted=include_deleted), sort="path")}
    finally:
        s.close()


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now (its parse workers, the forkserver, the resource tracker)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def all_gone(pids: set[int]) -> bool:
    """True once none of ``pids`` is running (zombies count as gone)."""

    def running() -> list[int]:
        left = []
        for q in pids:
            try:
                state = Path(f"/proc/{q}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state != "Z":
                left.append(q)
        return left

    try:
        wait_for(lambda: not running(), timeout=10)
    except AssertionError:
        return False
    return True
