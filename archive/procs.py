"""Process hygiene: helpers that make child processes end with the process that started them."""

from __future__ import annotations

import os
import signal


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux; elsewhere a
    no-op). A daemon killed with -9 then leaves no parse worker or forkserver behind."""
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(sig))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the call took effect
        os.kill(os.getpid(), sig)
