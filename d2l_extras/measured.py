"""What the benchmarks measured: the files in ``benchmarks/``, read by name.

The notebooks show runs and measurements too slow for a lecture (whole trainings, the memory of many
training steps); the scripts in ``benchmarks/`` made them, and ``benchmarks/RESULTS.md`` gives each one's
command, machine and date. ``load('memory')`` reads ``benchmarks/memory.json``.
"""
from __future__ import annotations

import json
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / 'benchmarks'


def load(name: str):
    """The contents of ``benchmarks/<name>.json`` (a FileNotFoundError names the script that makes it)."""
    path = BENCHMARKS / f'{name}.json'
    if not path.exists():
        raise FileNotFoundError(f'{path} is missing: `python benchmarks/{name}.py` makes it '
                                f'(see benchmarks/RESULTS.md)')
    return json.loads(path.read_text(encoding='utf-8'))
