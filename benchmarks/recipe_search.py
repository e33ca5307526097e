"""The handful of CPU recipes tried for notebook 04, trained with seeds; what chose ``cpu-quick`` and ``cpu-long``.

Each candidate is a ``Recipe`` of the lesson's model, trained by ``d2l_extras.training.train`` on the full
training set and scored on the 10,000 test images after every epoch, as notebook 04 scores them. No tuning
beyond choosing among these candidates. Results go to ``benchmarks/recipe_search.json`` (one entry per
candidate and seed; entries already there are kept, so an interrupted search continues where it stopped).
Wall times are recorded but depend on what else the machine runs; ``benchmarks/time_to_accuracy.py``
times the chosen recipes on an idle machine.

    .venv/bin/python benchmarks/recipe_search.py                       # every candidate, seed 0
    .venv/bin/python benchmarks/recipe_search.py modern-2 --seeds 0 1 2
    .venv/bin/python benchmarks/recipe_search.py --table               # print what is there
"""
from __future__ import annotations

import argparse
import datetime
import pathlib
import time

from schedule import load_runs, run_missing   # benchmarks/schedule.py, next to this script

from d2l_extras import use_all_cores

use_all_cores()   # as notebook 04 and the CLI do, before MXNet loads

from d2l_extras.recipes import MODERN, Recipe, build_model, load_data  # noqa: E402

OUT = pathlib.Path(__file__).with_name('recipe_search.json')
SMALL = Recipe('search', resize=32, batch_size=128)                   # 32 px, batch 128: the lesson's model
CANDIDATES = {
    # the deck's plain SGD, with a cosine decay to 0 (cpu-quick until now, and one epoch more)
    'plain-1': SMALL.replace(epochs=1, lr=0.2, schedule='cosine'),
    'plain-2': SMALL.replace(epochs=2, lr=0.2, schedule='cosine'),
    # Nesterov momentum, a short warm-up, weight decay, label smoothing
    'modern-2': SMALL.replace(epochs=2, lr=0.1, warmup_epochs=0.2, **MODERN),
    'modern-2-no-smoothing': SMALL.replace(epochs=2, lr=0.1, warmup_epochs=0.2, **{**MODERN, 'label_smoothing': 0.0}),
    'modern-2-batch-256': SMALL.replace(epochs=2, batch_size=256, lr=0.2, warmup_epochs=0.2, **MODERN),
    'modern-3': SMALL.replace(epochs=3, lr=0.1, warmup_epochs=0.2, **MODERN),
    # longer runs, for a student who can leave the notebook running
    'modern-48px-8': SMALL.replace(resize=48, epochs=8, lr=0.1, warmup_epochs=0.5, **MODERN),
    # toward 0.94 in 10 minutes: the three-block net (an epoch costs about two thirds of the four-block one's)
    # for 12 epochs at 48 px
    'modern-244-48px-12': SMALL.replace(resize=48, convs_per_block=(2, 4, 4), epochs=12, lr=0.2, warmup_epochs=0.5,
                                        **MODERN),
}


def run(name: str, seed: int) -> dict:
    """Train one candidate with one seed; its per-epoch test accuracy and wall time."""
    from mxnet import npx
    from d2l_extras.training import train
    npx.set_np()
    recipe = CANDIDATES[name].replace(name=name, seed=seed)
    start = time.time()
    history = train(build_model(recipe), *load_data(recipe), recipe, progress=False, plot=False)
    return {'candidate': name, 'seed': seed, 'recipe': recipe.to_dict(), 'history': history.to_dict(),
            'wall_sec': round(time.time() - start, 1), 'date': datetime.date.today().isoformat()}


def table(results: list[dict]) -> str:
    """Final test accuracy per candidate: each seed, the mean and the spread."""
    lines = [f'{"candidate":24} {"epochs":>6}  final test accuracy per seed']
    for name in CANDIDATES:
        done = sorted((r for r in results if r['candidate'] == name), key=lambda r: r['seed'])
        if done:
            finals = [r['history']['epochs'][-1]['test_acc'] for r in done]
            per_seed = ', '.join(f"{f:.4f} (seed {r['seed']})" for f, r in zip(finals, done))
            spread = f'  mean {sum(finals) / len(finals):.4f}, range {max(finals) - min(finals):.4f}' \
                if len(finals) > 1 else ''
            lines.append(f"{name:24} {done[0]['recipe']['epochs']:>6}  {per_seed}{spread}")
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('candidates', nargs='*', choices=[[], *CANDIDATES], default=[])
    parser.add_argument('--seeds', nargs='+', type=int, default=[0])
    parser.add_argument('--table', action='store_true', help='only print the table of what was run')
    args = parser.parse_args()
    if not args.table:
        run_missing(OUT, [(name, seed) for name in args.candidates or list(CANDIDATES) for seed in args.seeds],
                    run, key='candidate')
    print(table(load_runs(OUT)))


if __name__ == '__main__':
    main()
