"""The daemon lock on MongoDB, aged on the server's clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from archive.errors import StoreError
from archive.models import iso, utcnow


class DaemonLocks:
    """The ``daemons`` collection: one record per watched folder, its lease and its heartbeat,
    stamped with the server's time (``$currentDate``) and aged on ``server_now``, so a daemon
    whose machine runs fast or slow neither takes a live lock nor keeps a dead one. MongoStore
    owns one and answers the Store interface's lock calls with it."""

    def __init__(self, state: Collection[dict[str, Any]], server_now: Callable[[], dt.datetime],
                 guard: Callable[[], AbstractContextManager[None]]) -> None:
        self.state = state
        self.server_now = server_now
        self.guard = guard  # driver errors as archive's

    def _on_our_clock(self, old: dict[str, Any]) -> dict[str, Any]:
        """A lock record whose heartbeat (stamped with the server's time) is moved onto this
        machine's clock, so that ``can_take``'s age is the age the server sees."""
        beat = old.get("beat_at")
        if not isinstance(beat, dt.datetime):
            return old
        beat = beat if beat.tzinfo else beat.replace(tzinfo=dt.UTC)
        age = self.server_now() - beat
        return {**old, "heartbeat_at": iso(utcnow() - age)}

    def acquire(self, key: str, holder: dict[str, Any],
                can_take: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """Take the lock ``key`` for ``holder`` (None), or the live holder's record."""
        stamp = {"$currentDate": {"beat_at": True}}  # the server's time, a BSON date (a TTL index can use it)
        with self.guard():
            for _ in range(5):
                old = self.state.find_one({"_id": key})
                # One write each way, the server's time stamped in it: a crash between an insert and
                # its stamp left a lock aged by the holder's own clock (issue 24 #19).
                if old is None:
                    try:  # the filter matches no other holder's record: a new one, or a duplicate key
                        self.state.update_one({"_id": key, "token": holder["token"]},
                                              {"$set": holder, **stamp}, upsert=True)
                        return None
                    except DuplicateKeyError:
                        continue
                old.pop("_id", None)
                if not old.get("stopped_at") and not can_take(self._on_our_clock(old)):
                    return {k: v for k, v in old.items() if k != "beat_at"}
                gone = {k: "" for k in old if k not in holder and k != "beat_at"}
                res = self.state.update_one({"_id": key, "token": old["token"]},
                                            {"$set": holder, **({"$unset": gone} if gone else {}), **stamp})
                if res.matched_count:
                    return None
        raise StoreError(f"could not take the daemon lock {key}: too much contention")

    def heartbeat(self, key: str, token: str, data: dict[str, Any]) -> bool:
        """Stamp the holder's record (False: the lock is no longer ``token``'s)."""
        with self.guard():
            res = self.state.update_one({"_id": key, "token": token},
                                        {"$set": data, "$currentDate": {"beat_at": True}})
        return bool(res.matched_count)

    def records(self) -> list[dict[str, Any]]:
        """Every daemon's record, its heartbeat on this machine's clock."""
        with self.guard():
            docs = list(self.state.find({}).sort("_id", 1))
        return [{k: v for k, v in self._on_our_clock(d).items() if k not in ("_id", "beat_at")} for d in docs]
