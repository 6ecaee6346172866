"""Processes of a pipeline stage die with their parent.

``dvc repro`` runs ``python -m rlrepro run``, which runs the notebook's kernel, which runs the
training workers. Killing ``dvc`` must not leave the others training (a rerun would race
them): ``rlrepro run`` sets ``STAGE_VARIABLE`` in its environment, which every process below it
inherits, and each of them that imports ``rlrepro`` asks the kernel for ``SIGTERM`` when its
parent exits (Linux's ``PR_SET_PDEATHSIG``; elsewhere nothing happens). A kernel started by
JupyterLab does not have the variable and lives as JupyterLab decides.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys

STAGE_VARIABLE = "RLREPRO_STAGE_PROCESS"  # set by ``rlrepro run`` for the processes below it
PR_SET_PDEATHSIG = 1


def die_with_parent() -> bool:
    """Ask for SIGTERM when this process's parent exits; True where the system supports it."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the parent exited before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
    return True


def in_stage() -> bool:
    return os.environ.get(STAGE_VARIABLE) == "1"
