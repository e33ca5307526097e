"""Error messages for people: the one line of a library's error that says what failed."""
from __future__ import annotations

import re


def error_line(error: BaseException) -> str:
    """The line of an error message that says what failed, not MXNet's ``Traceback ...`` header.

    MXNet's errors carry a C++ traceback (``Traceback (most recent call last):``, ``File ...``, ``[bt] ...``
    lines) around one line such as ``MXNetError: Check failed: ... no kernel image is available``.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    noise = re.compile(r'^(Traceback \(most recent call last\)|File "|\[bt\]|Stack trace|\d+: )')
    lines = [line for line in lines if not noise.match(line)]
    said = [line for line in lines if re.search(r'\w*(Error|Exception)\b:|Check failed|CUDA|cuDNN', line)]
    line = (said or lines or [type(error).__name__])[-1]
    line = re.sub(r'^\[[\d:]+\] \S+:\d+: ', '', line)      # MXNet's log prefix: [12:00:00] src/x.cc:93:
    return line[:300]
