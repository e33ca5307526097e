"""The runs behind notebook 04's exercises: its CPU recipe with one thing changed, trained to the end.

Each experiment is what ``experiment(**changes)`` in notebook 04 trains: the recipe notebook 04 picks on a
CPU, with the changes below, on the full training set, scored on the 10,000 test images after every epoch.
Results go to ``benchmarks/exercise_runs.json`` (one entry per experiment and seed; entries already there
are kept, so an interrupted run continues where it stopped). ``d2l_extras.exercises`` reads the file to
check the answers of exercises 04.1, 04.2 and 04.4, and the solutions notebook shows the runs.

    .venv/bin/python benchmarks/exercise_runs.py                     # every experiment, its seeds
    .venv/bin/python benchmarks/exercise_runs.py lr-0.8              # one of them
    .venv/bin/python benchmarks/exercise_runs.py --table             # print what is there
"""
from __future__ import annotations

import argparse
import datetime
import pathlib
import time

from schedule import load_runs, run_missing   # benchmarks/schedule.py, next to this script

from d2l_extras import use_all_cores

use_all_cores()   # as notebook 04 and the CLI do, before MXNet loads

from d2l_extras.recipes import build_model, choose_recipe, load_data  # noqa: E402

OUT = pathlib.Path(__file__).with_name('exercise_runs.json')
#: name: (the changes to notebook 04's CPU recipe, the seeds). 'recipe' is the recipe unchanged.
EXPERIMENTS = {
    'recipe': ({}, (0, 1, 2)),
    'lr-0.05': ({'lr': 0.05}, (0,)),
    'lr-0.2': ({'lr': 0.2}, (0,)),
    'lr-0.8': ({'lr': 0.8}, (0,)),
    'batch-64': ({'batch_size': 64}, (0,)),
    'batch-512': ({'batch_size': 512}, (0,)),
    'deck-model': ({'model': 'densenet-deck'}, (0, 1, 2)),
}


def run(name: str, seed: int) -> dict:
    """Train one experiment with one seed: its per-epoch record and wall time."""
    from mxnet import npx
    from d2l_extras.training import train
    npx.set_np()
    changes, _ = EXPERIMENTS[name]
    recipe = choose_recipe(on_gpu=False).replace(**changes, seed=seed)
    start = time.time()
    history = train(build_model(recipe), *load_data(recipe), recipe, devices='cpu', progress=False, plot=False)
    return {'experiment': name, 'seed': seed, 'changes': changes, 'recipe': recipe.to_dict(),
            'history': history.to_dict(), 'wall_sec': round(time.time() - start, 1),
            'date': datetime.date.today().isoformat()}


def table(results: list[dict]) -> str:
    """Per experiment and seed: the final test accuracy and loss, seconds per epoch, or where it diverged."""
    lines = [f'{"experiment":12} {"seed":>4}  {"test acc":>8}  {"loss":>7}  {"s/epoch":>7}  note']
    for r in sorted(results, key=lambda r: (list(EXPERIMENTS).index(r['experiment']), r['seed'])):
        epochs, h = r['history']['epochs'], r['history']
        last = epochs[-1] if epochs else {}
        per_epoch = sum(e['time'] for e in epochs) / len(epochs) if epochs else float('nan')
        note = f"diverged: {h['diverged']}" if h.get('diverged') else ''
        lines.append(f"{r['experiment']:12} {r['seed']:>4}  {last.get('test_acc', float('nan')):8.4f}  "
                     f"{last.get('loss', float('nan')):7.4f}  {per_epoch:7.1f}  {note}")
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('experiments', nargs='*', choices=[[], *EXPERIMENTS], default=[])
    parser.add_argument('--table', action='store_true', help='only print the table of what was run')
    args = parser.parse_args()
    if not args.table:
        todo = [(name, seed) for name in args.experiments or list(EXPERIMENTS) for seed in EXPERIMENTS[name][1]]
        run_missing(OUT, todo, run, key='experiment')
    print(table(load_runs(OUT)))


if __name__ == '__main__':
    main()
