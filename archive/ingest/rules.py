"""Which files are articles: extensions, ignore patterns, hidden and temporary files, a saved
page's folder; and the walk of a folder by those rules."""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import stat as stat_mod
from collections.abc import Callable, Iterator

from archive.config import Settings
from archive.ingest.reading import FileStat, display

log = logging.getLogger("archive.ingest")

PAGE_FOLDER = "_files"  # what "Save page as, complete" puts beside page.html: page_files/


def _page_of(folder: str, exists: Callable[[str], bool]) -> bool:
    """Whether ``folder`` (``x_files``, lower case) is the resource folder of a saved page
    ``x.html`` beside it (``exists`` answers for a lower-case name in the same folder)."""
    stem = folder[: -len(PAGE_FOLDER)]
    return any(exists(stem + ext) for ext in (".html", ".htm", ".mhtml", ".mht"))


class Rules:
    """Which files are articles: configured extensions, no ignored names, inside the root."""

    def __init__(self, settings: Settings) -> None:
        self.extensions = tuple(settings.extensions)
        self.patterns = settings.ignore_patterns
        # One regex for all patterns: a walk asks this of every name it meets.
        self._ignored = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in self.patterns) or "(?!)")

    def ignored_name(self, name: str) -> bool:
        """True if ``name`` (one path component) matches an ignore pattern (case-sensitive)."""
        return self._ignored.match(name) is not None

    def wanted_file(self, path: str, root: str | None = None) -> bool:
        """True if ``path`` (absolute) is an article file by name, under ``root`` if given."""
        if not path.lower().endswith(self.extensions):
            return False
        rel = os.path.relpath(path, root) if root else os.path.basename(path)
        if rel.startswith(".." + os.sep) or rel == "..":
            return False
        parts = rel.split(os.sep)
        if any(self.ignored_name(part) for part in parts):
            return False
        base = root or os.path.dirname(path)
        for i, part in enumerate(parts[:-1]):  # inside a saved page's *_files folder
            if part.endswith(PAGE_FOLDER):
                try:
                    names = {n.lower() for n in os.listdir(os.path.join(base, *parts[:i]))}
                except OSError:
                    continue
                if _page_of(part.lower(), names.__contains__):
                    return False
        return True


def walk(root: str, rules: Rules, unreadable: list[tuple[str, str]] | None = None,
         skipped: dict[str, int] | None = None) -> Iterator[FileStat]:
    """Every article file under ``root``; symlinked folders are not entered and a
    symlinked file counts only if it points inside ``root``. Folders that cannot be listed
    are appended to ``unreadable`` as ``(path, reason)``: what they hold is unknown, not gone.
    ``skipped`` counts the files passed over for their extension, by extension."""
    real_root = os.path.realpath(root)
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except FileNotFoundError:
            continue  # removed while we walked: its files are gone
        except OSError as exc:
            log.warning("cannot list %s: %s", display(d), exc.strerror or exc)
            if unreadable is not None:
                unreadable.append((d, f"cannot list the folder: {exc.strerror or exc}"))
            continue
        names = None
        for e in entries:
            if rules.ignored_name(e.name):
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    if e.name.endswith(PAGE_FOLDER):
                        names = names if names is not None else {x.name.lower() for x in entries}
                        if _page_of(e.name.lower(), names.__contains__):
                            continue  # "Save page as, complete": the page's images, scripts, frames
                    stack.append(e.path)
                    continue
                if not e.name.lower().endswith(rules.extensions):
                    if skipped is not None and e.is_file():  # a link to a folder (not entered) is no file
                        ext = os.path.splitext(e.name)[1].lower() or "(no extension)"
                        skipped[ext] = skipped.get(ext, 0) + 1
                    continue
                if e.is_symlink():
                    target = os.path.realpath(e.path)
                    if os.path.commonpath([target, real_root]) != real_root:
                        continue
                    st = os.stat(e.path)
                    if not stat_mod.S_ISREG(st.st_mode):
                        continue
                elif e.is_file(follow_symlinks=False):
                    st = e.stat(follow_symlinks=False)
                else:
                    continue
            except OSError:
                continue
            yield FileStat.of(e.path, st)


def is_article_file(path: str, root: str | None = None) -> bool:
    """True if ``path`` is a regular file, or a link to one inside ``root`` (or anywhere when no
    root is given)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if stat_mod.S_ISLNK(st.st_mode):
        target = os.path.realpath(path)
        if root is not None:
            real_root = os.path.realpath(root)
            if os.path.commonpath([target, real_root]) != real_root:
                return False
        try:
            st = os.stat(path)
        except OSError:
            return False
    return stat_mod.S_ISREG(st.st_mode)
