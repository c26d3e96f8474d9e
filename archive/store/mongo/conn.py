"""Talking to the server: client options, and driver errors as archive's."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, OperationFailure

from archive.errors import StoreError, StoreUnavailable
from archive.redaction import redact

OPERATION_TIMEOUT_MS = 60_000
# Server error codes that say "try again": the store's state, never the document's.
TRANSIENT_CODES = frozenset({
    6, 7, 43, 50, 63, 64, 89, 91, 112, 133, 150, 189, 251, 262, 9001, 10107, 11600, 11602, 13388, 13435,
    13436, 8000,  # 8000: Atlas, e.g. over the space quota (but "not allowed" on a free tier is final)
})
RETRY_LABELS = ("RetryableWriteError", "TransientTransactionError", "ResumableChangeStreamError")


def client_options(uri: str, timeout: float) -> dict[str, Any]:
    """archive's client defaults, for the options the URI does not set itself."""
    from pymongo.uri_parser import parse_uri

    try:
        given = {k.lower() for k in parse_uri(uri, warn=True)["options"]}
    except Exception:  # noqa: BLE001 - pymongo reports a bad URI better itself (and an SRV one needs DNS)
        given = set()
    ms = int(timeout * 1000)
    opts: dict[str, Any] = {"tz_aware": True, "appname": "archive"}
    for key, value in (("serverSelectionTimeoutMS", ms), ("connectTimeoutMS", ms),
                       ("socketTimeoutMS", OPERATION_TIMEOUT_MS)):
        if key.lower() not in given:
            opts[key] = value
    return opts


DUPLICATE_KEY = 11000


def only_duplicates(exc: BaseException) -> bool:
    """A duplicate key (a race lost to another writer), and nothing else, is what ``exc`` says:
    the one answer the writes and the path claims act on."""
    if isinstance(exc, DuplicateKeyError):
        return True
    if isinstance(exc, BulkWriteError):
        details = exc.details or {}
        errors = details.get("writeErrors") or []
        return bool(errors) and not details.get("writeConcernErrors") and all(
            e.get("code") == DUPLICATE_KEY for e in errors)
    return False


def classify(exc: BaseException, where: str) -> StoreError:
    """A driver error as archive's: StoreUnavailable for what retrying can cure (no server, an
    election, a write concern not met, a time limit, a retryable label, an SRV look-up that
    failed), StoreError (with one line) for what it cannot."""
    from pymongo.errors import ConfigurationError, WriteConcernError

    if isinstance(exc, ConnectionFailure):
        return StoreUnavailable(where, connection_reason(exc))
    if isinstance(exc, ConfigurationError):
        text = str(exc)
        if any(w in text for w in ("DNS", "resolution", "resolve", "timed out", "SRV")):
            return StoreUnavailable(where, f"cannot look the servers up: {text.splitlines()[0][:200]}")
        return StoreError(f"MongoDB configuration: {redact(text.splitlines()[0][:300])}")
    if isinstance(exc, WriteConcernError):
        return StoreUnavailable(where, f"the write concern was not met: {str(exc)[:200]}")
    if isinstance(exc, BulkWriteError):
        details = exc.details or {}
        if details.get("writeConcernErrors"):
            return StoreUnavailable(where, "the write concern was not met")
        errors = details.get("writeErrors") or []
        if errors and all(e.get("code") in TRANSIENT_CODES for e in errors):
            return StoreUnavailable(where, f"server busy: {errors[0].get('errmsg', '')[:200]}")
        first = errors[0] if errors else {}
        return StoreError(f"MongoDB at {where} refused {len(errors)} documents (first: code "
                          f"{first.get('code')}, {str(first.get('errmsg', ''))[:200]})")
    if isinstance(exc, OperationFailure):
        code = exc.code
        permanent = code == 8000 and any(w in str(exc).lower() for w in ("not allowed", "unsupported", "not supported"))
        if not permanent and (code in TRANSIENT_CODES or any(exc.has_error_label(lab) for lab in RETRY_LABELS)):
            return StoreUnavailable(where, f"{_first_line(exc)} (code {code})")
        hint = ""
        if code == 18:
            hint = "; if the user was created in the admin database, add ?authSource=admin to the URI"
        elif code == 13:
            hint = "; the user lacks a privilege (read commands need the read role, writers readWrite)"
        return StoreError(f"MongoDB at {where} refused: {_first_line(exc)} (code {code}){hint}")
    return StoreError(f"MongoDB at {where}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    return redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:300]


def database_name(uri: str) -> str:
    """The database named by the URI's path, ``archive`` by default."""
    path = urlsplit(uri).path.lstrip("/")
    return path.split("?")[0] or "archive"


def hosts_of(uri: str) -> str:
    """The host part of a URI without credentials, for messages."""
    netloc = urlsplit(uri).netloc
    return netloc.rsplit("@", 1)[-1] or "localhost"


_CONFIGURED = re.compile(r"\s*\(configured timeouts:[^)]*\)")
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")


def connection_reason(exc: Exception) -> str:
    """What went wrong reaching the server, in plain words: no driver internals (timeouts
    configured, topology description), no host repeated (the message names it already)."""
    text = redact(str(exc)).split(", Timeout:")[0]
    text = _CONFIGURED.sub("", text)
    reasons: list[str] = []
    for part in text.split(","):
        part = part.strip()
        # "host:port: reason" -> "reason"
        host, sep, rest = part.partition(": ")
        if sep and re.fullmatch(r"[\w.\-\[\]:]+", host):
            part = rest
        part = _ERRNO.sub("", part).strip()
        if part and part not in reasons:
            reasons.append(part)
    reason = "; ".join(reasons) or type(exc).__name__
    return reason[:1].lower() + reason[1:]

