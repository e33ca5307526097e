"""The other MXNet processes that are computing on this machine: ``use_all_cores`` leaves them their share.

Read from Linux's /proc before MXNet loads (this module imports nothing heavy): a process counts if it has
loaded ``libmxnet.so`` and uses at least half a core; a notebook kernel waiting between cells does not.
"""
from __future__ import annotations

import os
import time

LIBRARY = 'libmxnet.so'


def cpu_ticks(pid: str) -> int | None:
    """CPU time a process has used (user + system, in clock ticks), or None if it is gone or not readable."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()       # after the command name, which may hold spaces
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def mxnet_processes() -> list[str]:
    """IDs of the other processes that have loaded MXNet (that this user may look at); none off Linux."""
    found = []
    for pid in os.listdir('/proc') if os.path.isdir('/proc') else ():
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open(f'/proc/{pid}/maps') as f:
                    if LIBRARY in f.read():
                        found.append(pid)
            except OSError:                                   # ended meanwhile, or another user's
                continue
    return found


def busy_mxnet_processes(seconds: float = 0.1) -> int:
    """How many other processes that loaded MXNet used at least half a core over the next ``seconds``."""
    others = mxnet_processes()
    if not others:
        return 0
    before = {pid: cpu_ticks(pid) for pid in others}
    time.sleep(seconds)
    half_a_core = seconds * os.sysconf('SC_CLK_TCK') / 2
    return sum(1 for pid in others
               if before[pid] is not None and (cpu_ticks(pid) or 0) - before[pid] >= half_a_core)
