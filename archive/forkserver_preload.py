"""Imported by the parse pool's forkserver when it starts (``set_forkserver_preload``): the
forkserver ends with the daemon that started it (its workers end with the forkserver), and the
parsing code is loaded once, before any worker is forked."""

from archive.procs import die_with_parent

die_with_parent()

import archive.ingest  # noqa: E402,F401 - preloaded for the workers
