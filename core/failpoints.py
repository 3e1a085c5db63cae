"""Named points where a process kills itself on request, so that a chaos test can crash it at an exact step of a
multi-step change (as FoundationDB's buggify and TiKV's fail-rs do) instead of hoping a timed SIGKILL lands there.

Off unless `GRADYARD_FAILPOINTS` names the point; a check costs a cached settings read and a string test."""

import logging
import os
import signal

from core.settings import get_settings

log = logging.getLogger(__name__)

# The points, each between two commits whose gap the recovery must survive.
DISPATCH_MARKED = "dispatch.marked"  # a job is marked sent in SQL; its message does not exist yet
DISPATCH_SENT = "dispatch.sent"  # its message exists; the dispatcher still holds its lease
SWEEP_TRIAL_STORED = "sweep.trial_stored"  # a trial's job is stored; the controller still holds the sweep's lease


def failpoint(name: str) -> None:
    """Die here with SIGKILL (no cleanup, as a crash) when GRADYARD_FAILPOINTS names this point."""
    armed = get_settings().failpoints
    if armed and name in armed.split(","):
        log.critical("failpoint %s reached: this process kills itself", name)
        os.kill(os.getpid(), signal.SIGKILL)
