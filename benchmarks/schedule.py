"""Resumable schedules of training runs: a JSON list of entries in a file, one per (name, seed).

Each entry is written as soon as its run ends (atomically), so an interrupted schedule continues where it
stopped: ``run_missing`` skips every (name, seed) the file already holds.
"""
from __future__ import annotations

import json
import pathlib
from typing import Callable, Iterable

from d2l_extras.atomic import write_json


def load_runs(path: pathlib.Path) -> list[dict]:
    """The entries stored in ``path`` (none if it does not exist yet)."""
    return json.loads(path.read_text()) if path.exists() else []


def append_run(path: pathlib.Path, entry: dict) -> None:
    """Add ``entry`` at the end of the list in ``path`` (atomically: the file holds the old list or the new one)."""
    write_json(path, load_runs(path) + [entry])


def run_missing(path: pathlib.Path, todo: Iterable[tuple[str, int]], run: Callable[[str, int], dict],
                key: str) -> None:
    """Run each (name, seed) of ``todo`` that ``path`` holds no entry for (``entry[key] == name``) and append
    its entry; print each run's test accuracy by epoch."""
    for name, seed in todo:
        results = load_runs(path)
        if any(r[key] == name and r['seed'] == seed for r in results):
            continue
        entry = run(name, seed)
        append_run(path, entry)
        accs = [round(e['test_acc'], 4) for e in entry['history']['epochs']]
        print(f'{name} seed {seed}: test accuracy by epoch {accs}, {entry["wall_sec"]} s', flush=True)
