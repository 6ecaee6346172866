"""Stage processes die with their parent: killing dvc leaves nothing training."""
import os
import signal
import subprocess
import sys
import time

import pytest

from rlrepro import lifetime

# A parent that starts a child importing rlrepro (as a kernel or worker of a stage does), prints
# the child's pid, and waits.
PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import rlrepro, time; time.sleep(120)"])
print(child.pid, flush=True)
child.wait()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has exited; its parent (init) reaps it
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("in_stage", [True, False])
def test_a_stage_process_ends_when_its_parent_is_killed(in_stage):
    env = {**os.environ, lifetime.STAGE_VARIABLE: "1" if in_stage else "0"}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, env=env,
                              text=True)
    child = int(parent.stdout.readline())
    time.sleep(3)  # the child has imported rlrepro
    parent.kill()
    parent.wait()
    deadline = time.time() + 10
    while _alive(child) and time.time() < deadline:
        time.sleep(0.1)
    try:
        assert _alive(child) != in_stage  # outside a stage (JupyterLab's kernels) it lives on
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
