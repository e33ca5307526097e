"""What machine a benchmark ran on, for the records it writes."""
from __future__ import annotations

import pathlib
import platform


def cpu_model() -> str:
    """The processor's model name from /proc/cpuinfo (the machine type where that file does not exist)."""
    try:
        lines = pathlib.Path('/proc/cpuinfo').read_text().splitlines()
    except OSError:
        return platform.machine()
    return next((line.split(':', 1)[1].strip() for line in lines if line.startswith('model name')), '')
