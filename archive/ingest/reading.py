"""Reading one file: its stat data, its bytes (a regular file only, up to a limit), its hash,
parsed (in a parse worker for big backlogs), and the body's story signature."""

from __future__ import annotations

import hashlib
import os
import stat as stat_mod
from dataclasses import dataclass

from archive.errors import ParseError
from archive.models import ParsedArticle, Source
from archive.parsing import parse_bytes
from archive.stories.signature import Signature, signed


@dataclass(frozen=True, slots=True)
class FileStat:
    path: str
    size: int
    mtime: float
    inode: int
    device: int

    @classmethod
    def of(cls, path: str, st: os.stat_result) -> FileStat:
        return cls(path, st.st_size, st.st_mtime, st.st_ino, st.st_dev)


@dataclass(slots=True)
class Prepared:
    """A file read, hashed and parsed (or failed)."""

    stat: FileStat
    sha256: str | None
    parsed: ParsedArticle | None
    error: ParseError | None
    signature: Signature | None = None  # the body's signature (archive.stories.signature)
    shingles: bytes = b""  # the body's shingles, packed (signature.signed): the writer's to keep

    @property
    def source(self) -> Source:
        assert self.sha256 is not None
        s = self.stat
        return Source(path=s.path, sha256=self.sha256, size=s.size, mtime=s.mtime, inode=s.inode, device=s.device)


def display(path: str) -> str:
    """``path`` as text that can be printed and stored: bytes that are not UTF-8 in a file name
    (``caf\\xe9.txt``) are shown escaped instead of raising."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


NOT_A_FILE = "not-a-file"  # the code of a path that is no longer a regular file: its article is deleted


def _read_regular(path: str, max_bytes: int) -> bytes:
    """A regular file's bytes. Opened without blocking (a FIFO put in a file's place must not hang
    a parse worker), then checked: anything but a regular file raises IsADirectoryError."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat_mod.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(0, "not a regular file")
        chunks, left = [], max_bytes + 1
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def prepare(fs: FileStat, max_bytes: int, order: str = "dmy") -> Prepared:
    """Read, hash and parse one file. Never raises: failures come back in ``error``."""
    shown = display(fs.path)
    if shown != fs.path:
        # The store keeps text; a name that is not UTF-8 cannot be stored as the file's path.
        err = ParseError(shown, "bad-name", "the file name is not valid UTF-8: rename the file to store it")
        return Prepared(FileStat(shown, fs.size, fs.mtime, fs.inode, fs.device), None, None, err)
    if fs.size > max_bytes:
        err = ParseError(fs.path, "too-large", f"over the size limit: {fs.size:,} bytes > {max_bytes:,}")
        return Prepared(fs, None, None, err)
    try:
        data = _read_regular(fs.path, max_bytes)
    except IsADirectoryError:
        return Prepared(fs, None, None, ParseError(fs.path, NOT_A_FILE, "not a regular file"))
    except OSError as exc:
        return Prepared(fs, None, None, ParseError(fs.path, "unreadable", f"cannot read: {exc.strerror or exc}"))
    sha = hashlib.sha256(data).hexdigest()
    if len(data) != fs.size:  # it changed between stat and read: describe what we read
        fs = FileStat(fs.path, len(data), fs.mtime, fs.inode, fs.device)
    try:
        parsed = parse_bytes(data, fs.path, max_bytes, order)
    except ParseError as exc:
        return Prepared(fs, sha, None, exc)
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop the loop
        return Prepared(fs, sha, None, ParseError(fs.path, "parser-bug", f"parser error: {exc!r}"))
    sig, packed = signed(parsed.body)
    return Prepared(fs, sha, parsed, None, sig, packed)
