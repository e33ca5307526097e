"""Wall time of named training recipes on this machine, from a cold start, epoch by epoch.

    .venv/bin/python benchmarks/time_to_accuracy.py [--recipe cpu-quick] [--epochs N] [--target 0.90] [--seed S]

Times what notebook 04 does: read the data, build the model, train with the recipe on the CPU, test after
every epoch. Prints each epoch with the wall time since the start, when the target accuracy was first
reached, the process CPU time, the load average and how many cores other processes kept busy meanwhile
(they slow a run down: time on an idle machine). ``--epochs`` times only the first epochs of a long recipe
(its seconds per epoch); ``--seed`` another seed than the recipe's. Results go to
``benchmarks/time_to_accuracy.json``, one entry per recipe (with its own seed), with the processor and the
date; ``--entry FILE`` writes the entry to FILE instead (``benchmarks/recipe_candidates.py`` collects them).
``--recipe`` also takes the name of a candidate of ``benchmarks/recipe_candidates.py``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import resource
import time

from machine import OtherLoad, cpu_model   # benchmarks/machine.py, next to this script

from d2l_extras import use_all_cores
from d2l_extras.atomic import write_json

START = time.time()
OTHERS = OtherLoad()   # counts from the start, as the wall time
use_all_cores()   # as notebook 04 and the CLI do, before MXNet loads

OUT = pathlib.Path(__file__).with_name('time_to_accuracy.json')


def main() -> None:
    from d2l_extras.recipes import RECIPES
    from recipe_candidates import CANDIDATES   # benchmarks/recipe_candidates.py, next to this script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--recipe', default='cpu-quick', choices=sorted(RECIPES) + sorted(CANDIDATES),
                        help='a named recipe, or a candidate of benchmarks/recipe_candidates.py')
    parser.add_argument('--epochs', type=int, help='time only this many epochs (default: all of the recipe)')
    parser.add_argument('--target', type=float, default=0.90)
    parser.add_argument('--seed', type=int, help="the seed (default: the recipe's)")
    parser.add_argument('--entry', type=pathlib.Path, help='write the entry to this file, not to ' + OUT.name)
    args = parser.parse_args()

    from mxnet import npx
    from d2l_extras.recipes import build_model, load_data
    from d2l_extras.training import train

    npx.set_np()
    recipe = RECIPES[args.recipe] if args.recipe in RECIPES else CANDIDATES[args.recipe][0]
    if args.epochs:
        recipe = recipe.replace(epochs=args.epochs)
    if args.seed is not None:
        recipe = recipe.replace(seed=args.seed)
    print(f'recipe {recipe.describe()}; load average at the start {os.getloadavg()[0]:.1f}', flush=True)
    marks = []

    def log(line: str) -> None:
        marks.append(time.time() - START)
        print(f'{line}  [wall {marks[-1]:.0f} s since the start]', flush=True)

    history = train(build_model(recipe), *load_data(recipe), recipe, devices='cpu', progress=False, plot=False,
                    log=log)
    OTHERS.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    accuracy = history.column('test_acc')
    reached = next((t for t, a in zip(marks, accuracy) if a >= args.target), None)
    entry = {'recipe': recipe.to_dict(), 'sec_per_epoch': [round(e.time, 1) for e in history.epochs],
             'wall_sec': [round(t, 1) for t in marks], 'test_acc': accuracy,
             'process_cpu_sec': round(usage.ru_utime + usage.ru_stime), 'load_average_end': os.getloadavg()[0],
             'other_processes_cores': round(OTHERS.cores, 2),
             'target': args.target, 'target_reached_sec': reached and round(reached, 1),
             'cpu': cpu_model(), 'threads': os.environ['OMP_NUM_THREADS'],
             'date': datetime.date.today().isoformat(),
             'command': f'python benchmarks/time_to_accuracy.py --recipe {args.recipe}'
                        + (f' --epochs {args.epochs}' if args.epochs else '')
                        + (f' --seed {args.seed}' if args.seed is not None else '')
                        + (f' --target {args.target}' if args.target != 0.90 else '')}
    if args.entry:
        write_json(args.entry, entry)
    else:
        results = json.loads(OUT.read_text()) if OUT.exists() else {}
        results[args.recipe] = entry
        write_json(OUT, results)
    print(f'final test acc {accuracy[-1]:.4f}; wall {marks[-1]:.0f} s; process CPU {entry["process_cpu_sec"]} s; '
          f'load average {entry["load_average_end"]:.1f}; other processes {OTHERS.cores:.2f} cores')
    print(f'time to {args.target}: ' + (f'{reached:.0f} s' if reached else 'not reached'))


if __name__ == '__main__':
    main()
