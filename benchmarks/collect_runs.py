"""Collect the metrics of finished CLI runs of one recipe (one run per seed) into a file notebook 04 reads.

    .venv/bin/python benchmarks/collect_runs.py RUN_FOLDER [RUN_FOLDER ...] --out benchmarks/NAME.json

Each run folder is one ``python -m d2l_extras.train ... --out RUN_FOLDER`` run. They must share the recipe
(all fields but the seed) and be complete. The output keeps every run's per-epoch history, the recipe,
the machine's processor and the date.
"""
from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import sys

from machine import cpu_model   # benchmarks/machine.py, next to this script

from d2l_extras.atomic import write_json


def collect(folders: list[pathlib.Path]) -> dict:
    """The recipe (without its seed, labelled by the named recipe it is) and one entry per run."""
    from d2l_extras.recipes import Recipe
    from d2l_extras.train import named
    runs, recipe = [], None
    for folder in folders:
        metrics = json.loads((folder / 'metrics.json').read_text())
        if not metrics.get('complete'):
            raise SystemExit(f'error: {folder / "metrics.json"}: the run is not complete; finish it with --resume')
        this = {k: v for k, v in named(Recipe.from_dict(metrics['recipe'])).to_dict().items() if k != 'seed'}
        if recipe is not None and this != recipe:
            raise SystemExit(f'error: {folder}: another recipe than {folders[0]}; collect one recipe at a time')
        recipe = this
        runs.append({'seed': metrics['recipe']['seed'], 'devices': metrics['devices'], 'epochs': metrics['epochs']})
    return {'recipe': recipe, 'runs': sorted(runs, key=lambda r: r['seed']), 'cpu': cpu_model(),
            'date': datetime.date.today().isoformat()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('folders', nargs='+', type=pathlib.Path)
    parser.add_argument('--out', type=pathlib.Path, required=True)
    args = parser.parse_args()
    data = collect(args.folders)
    write_json(args.out, data)
    for run in data['runs']:
        print(f"seed {run['seed']}: test accuracy by epoch {[round(e['test_acc'], 4) for e in run['epochs']]}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
