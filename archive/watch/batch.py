"""What the daemon does with paths that are due: files are read and stored, folders reconciled,
and paths that are gone, or no longer article files, mark their articles deleted."""

from __future__ import annotations

import os
import stat as stat_mod
import time

from archive.ingest import FileStat, Ingester, Rules, Summary, is_article_file
from archive.watch.tracker import Pending, Tracker


def handle_ready(ing: Ingester, rules: Rules, root: str, tracker: Tracker, ready: list[tuple[str, Pending]]) -> Summary:
    """Handle the paths taken from the tracker; raises StoreUnavailable with nothing lost (the
    caller puts them back)."""
    total = Summary()
    files: list[FileStat] = []
    gone: list[str] = []
    again: list[tuple[str, Pending]] = []
    for path, p in ready:
        try:
            st = os.lstat(path)
        except OSError:
            if p.is_dir:
                total.deleted += ing.delete(k.path for k in ing.store.known_files(path) if not k.deleted)
            else:
                gone.append(path)
            continue
        if stat_mod.S_ISDIR(st.st_mode):
            gone.append(path)  # if a file stood here, its article is deleted (a folder took its place)
            total.add(ing.reconcile(path, deletions=True, whole=False))
            continue
        if not rules.wanted_file(path, root):
            continue
        if not stat_mod.S_ISREG(st.st_mode):  # only a link needs more than the lstat we have
            if not is_article_file(path, root):
                gone.append(path)  # a FIFO, a socket, a link out of the tree: never read, the article is deleted
                continue
            st = os.stat(path)
        if p.stat is not None and p.stat != (st.st_size, st.st_mtime):
            again.append((path, p))  # still changing: look again after the settle time
            continue
        files.append(FileStat.of(path, st))
    if again:
        for path, p in again:
            p.stat = Tracker.stat_of(path)
        tracker.put_back(again, time.monotonic() + max(tracker.settle, 0.05))
    if files:
        known = ing.known_at(f.path for f in files)
        todo, same = ing.plan(files, known)
        total.add(ing.process(todo, known))
        total.unchanged += same
    if gone:
        total.deleted += ing.delete(gone, root)
    return total
