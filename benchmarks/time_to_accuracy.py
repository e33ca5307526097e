"""Wall time of a training recipe (default ``cpu-quick``) from a cold start to a test accuracy target.

    .venv/bin/python benchmarks/time_to_accuracy.py [--recipe cpu-quick] [--target 0.85]

Times what notebook 04 does: read the data, build the model, train with the recipe on the CPU, test
after every epoch. Prints each epoch, the wall time at which the target was first reached,
the process CPU time and the load average (other processes on a shared machine slow the run down).
"""
from __future__ import annotations

import argparse
import os
import resource
import time

from d2l_extras import use_all_cores

START = time.time()
use_all_cores()   # as notebook 04 and the CLI do, before MXNet loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--recipe', default='cpu-quick', help='cpu-quick or full')
    parser.add_argument('--target', type=float, default=0.85)
    args = parser.parse_args()

    from mxnet import npx
    from d2l_extras.recipes import build_model, get_recipe, load_data
    from d2l_extras.training import train

    npx.set_np()
    recipe = get_recipe(args.recipe)
    print(f'recipe {recipe.describe()}')
    reached = []

    def log(line: str) -> None:
        elapsed = time.time() - START
        print(f'{line}  [wall {elapsed:.0f} s since start]', flush=True)
        if line.startswith('epoch') and not reached and float(line.split('test acc ')[1].split(',')[0]) >= args.target:
            reached.append(elapsed)

    train_iter, test_iter = load_data(recipe)
    history = train(build_model(recipe), train_iter, test_iter, recipe, devices='cpu', progress=False, plot=False,
                    log=log)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = time.time() - START
    print(f'final test acc {history.epochs[-1].test_acc:.3f}; total wall {total:.0f} s; '
          f'process CPU {usage.ru_utime + usage.ru_stime:.0f} s; load average {os.getloadavg()[0]:.1f}')
    print(f'time to {args.target}: ' + (f'{reached[0]:.0f} s' if reached else 'not reached'))


if __name__ == '__main__':
    main()
