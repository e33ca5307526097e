"""What machine a benchmark ran on, and what else ran on it, for the records it writes."""
from __future__ import annotations

import os
import pathlib
import platform
import time


def cpu_model() -> str:
    """The processor's model name from /proc/cpuinfo (the machine type where that file does not exist)."""
    try:
        lines = pathlib.Path('/proc/cpuinfo').read_text().splitlines()
    except OSError:
        return platform.machine()
    return next((line.split(':', 1)[1].strip() for line in lines if line.startswith('model name')), '')


class OtherLoad:
    """How many cores other processes kept busy while this process ran (``/proc/stat`` minus its own time).

        others = OtherLoad()          # starts counting
        ...
        others.stop()                 # e.g. 0.02 on an idle machine; a time next to 1.0 or more is an upper bound

    Also a context manager (``with OtherLoad() as others: ...``, then ``others.cores``). 0.0 where
    ``/proc/stat`` does not exist.
    """

    def __init__(self) -> None:
        self._start = (_busy_seconds(), _own_seconds(), time.time())
        self.cores = 0.0

    def stop(self) -> float:
        """The mean number of cores others used since the start; also kept in ``cores``."""
        busy, own, start = self._start
        wall = max(time.time() - start, 1e-9)
        self.cores = max(0.0, ((_busy_seconds() - busy) - (_own_seconds() - own)) / wall)
        return self.cores

    def __enter__(self) -> 'OtherLoad':
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _busy_seconds() -> float:
    """CPU seconds all processes have spent busy since boot (0.0 without ``/proc/stat``)."""
    try:
        fields = [int(v) for v in pathlib.Path('/proc/stat').read_text().split('\n', 1)[0].split()[1:9]]
    except OSError:
        return 0.0
    idle = fields[3] + fields[4]                     # idle, iowait
    return (sum(fields) - idle) / os.sysconf('SC_CLK_TCK')


def _own_seconds() -> float:
    """CPU seconds of this process and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
