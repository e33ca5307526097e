"""Candidates for notebook 04's CPU recipe, each timed against today's ``cpu-quick`` side by side.

    .venv/bin/python benchmarks/recipe_candidates.py --next     # the next run of the schedule (1-3 minutes)
    .venv/bin/python benchmarks/recipe_candidates.py --table    # the runs so far, and the verdict
    .venv/bin/python benchmarks/recipe_candidates.py --next --names quick-2444-3ep   # baseline + one candidate
    .venv/bin/python benchmarks/recipe_candidates.py --run quick-244-3ep 2          # one run, out of the schedule

The goal ("the deck on a laptop"): a recipe reaches the deck's GPU result, 0.915 test accuracy (the mean
over seeds 0, 1 and 2, none below 0.910), within 1.1 times the wall time of today's ``cpu-quick`` measured
side by side on the same machine (the deck's GPU took about 66 s of training; machines of this kind
differ up to 2x, so the budget is relative).

A candidate is ``cpu-quick`` with a few fields replaced (``CANDIDATES``), so adopting one is one line in
``d2l_extras.recipes.RECIPES``. Each run is ``benchmarks/time_to_accuracy.py`` in a fresh process (a cold
start: reading the data and building the model count), which records the seed, the date, the command, the
processor and how many cores other processes kept busy meanwhile. The schedule interleaves, seed by seed:
baseline seed 0, every candidate seed 0, baseline seed 1, ... so that load from other processes hits all
alike. ``--next`` runs the first missing run and appends it to ``benchmarks/recipe_candidates.json``
(atomically), so the schedule runs one training at a time and resumes. A run during which other processes
kept more than ``BUSY`` cores busy is kept and marked in the table; its time is an upper bound and does not
count for the verdict (accuracies do not depend on load), and it is run once more.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

# d2l_extras (the repository) and schedule.py (this folder), when run from anywhere or loaded by a test
sys.path[:0] = [str(pathlib.Path(__file__).resolve().parents[i]) for i in (1, 0)]

from d2l_extras.recipes import RECIPES  # noqa: E402
from schedule import append_run, load_runs  # noqa: E402 - benchmarks/schedule.py, next to this script

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / 'recipe_candidates.json'
BASELINE = 'cpu-quick'
SEEDS = (0, 1, 2)
BUSY = 0.25           # cores kept busy by other processes above which a run's time does not count
TRIES = 2             # runs of a (recipe, seed) when the first was busy
TARGET, FLOOR, BUDGET = 0.915, 0.910, 1.1

_QUICK = RECIPES[BASELINE]
_THREE_BLOCKS = dict(convs_per_block=(2, 4, 4), lr=0.2)     # the three-block net most candidates start from
#: name: (the fields of cpu-quick it replaces, why it might reach 0.915 sooner). Single-seed probes chose the
#: first four (benchmarks/RESULTS.md); the others change one or two fields of quick-244-3ep or quick-244-4ep.
_CHANGES = {
    # Half the first dense block's convolutions (its 8x8 maps cost the most per conv), a third epoch and a
    # peak learning rate of 0.2: the cheapest of the probes that came near 0.915.
    'quick-2444-3ep': (dict(convs_per_block=(2, 4, 4, 4), epochs=3, lr=0.2),
                       'first dense block 2 convs, 3 epochs, lr 0.2'),
    # The same with a fourth epoch: the most accurate probe.
    'quick-2444-4ep': (dict(convs_per_block=(2, 4, 4, 4), epochs=4, lr=0.2),
                       'first dense block 2 convs, 4 epochs, lr 0.2'),
    # Three dense blocks instead of four (the last, 1x1 maps at 32 px, does little), 4 epochs.
    'quick-244-4ep': (dict(_THREE_BLOCKS, epochs=4), 'three dense blocks 2,4,4, 4 epochs, lr 0.2'),
    # The same with 3 epochs: under the budget by its cost, if the accuracy holds.
    'quick-244-3ep': (dict(_THREE_BLOCKS, epochs=3), 'three dense blocks 2,4,4, 3 epochs, lr 0.2'),
    # quick-244-3ep is on the budget and 0.001 short: ways to spend the 5 s left, or none.
    'quick-244-3ep-lr0.3': (dict(_THREE_BLOCKS, epochs=3, lr=0.3), 'three dense blocks 2,4,4, 3 epochs, lr 0.3'),
    'quick-244-3ep-b96': (dict(_THREE_BLOCKS, epochs=3, batch_size=96),
                          'three dense blocks 2,4,4, 3 epochs, lr 0.2, batch 96'),
    'quick-344-3ep': (dict(_THREE_BLOCKS, convs_per_block=(3, 4, 4), epochs=3),
                      'three dense blocks 3,4,4, 3 epochs, lr 0.2'),
    # Fashion-MNIST's own 28 px instead of 32: the three blocks work on 7x7, 3x3, 1x1 maps instead of 8x8, 4x4,
    # 2x2 (about a quarter less work per image), which pays for quick-244-4ep's fourth epoch.
    'quick-244-4ep-28px': (dict(_THREE_BLOCKS, epochs=4, resize=28),
                           'three dense blocks 2,4,4, 28 px, 4 epochs, lr 0.2'),
    # quick-244-4ep with batches twice as large (and the lr with them): half the steps, and the small operators
    # of the 2x2 and 1x1 maps, whose cost does not grow with the batch, paid half as often.
    'quick-244-4ep-b256': (dict(_THREE_BLOCKS, epochs=4, batch_size=256, lr=0.4),
                           'three dense blocks 2,4,4, 4 epochs, batch 256, lr 0.4'),
    # quick-244-4ep with plain momentum: MXNet 1.9 updates Nesterov's parameters one call each, plain SGD with
    # momentum several tensors per call (MXNET_OPTIMIZER_AGGREGATION_SIZE), a few percent of a step.
    'quick-244-4ep-sgd': (dict(_THREE_BLOCKS, epochs=4, nesterov=False),
                          'three dense blocks 2,4,4, 4 epochs, lr 0.2, plain momentum'),
}
#: name: (the recipe, why); adopting one is its fields in ``d2l_extras.recipes.RECIPES``.
CANDIDATES = {name: (_QUICK.replace(name=name, **fields), why) for name, (fields, why) in _CHANGES.items()}

def recipe(name: str):
    """The named recipe: the baseline from ``RECIPES`` or a candidate."""
    return RECIPES[name] if name == BASELINE else CANDIDATES[name][0]


def clean(run: dict) -> bool:
    return run['other_processes_cores'] <= BUSY


def schedule(names: list[str]) -> list[tuple[str, int]]:
    """(recipe, seed) in the order they run: for each seed, the baseline then each candidate."""
    return [(name, seed) for seed in SEEDS for name in [BASELINE, *names]]


def next_run(runs: list[dict], names: list[str]) -> tuple[str, int] | None:
    """The first (recipe, seed) of the schedule without a clean run (a busy one is run again, up to ``TRIES``
    runs in all); None when every one is done."""
    def done(todo: tuple[str, int]) -> bool:
        mine = [r for r in runs if (r['name'], r['recipe']['seed']) == todo]
        return any(clean(r) for r in mine) or len(mine) >= TRIES
    return next((todo for todo in schedule(names) if not done(todo)), None)


def best_runs(runs: list[dict]) -> dict[tuple[str, int], dict]:
    """Per (recipe, seed): its last clean run, else its last run."""
    out = {}
    for r in runs:
        key = (r['name'], r['recipe']['seed'])
        if key not in out or clean(r) or not clean(out[key]):
            out[key] = r
    return out


def baselines_before(runs: list[dict]) -> dict[int, dict]:
    """Per run (by ``id``): the last clean baseline run of the same seed before it, its side-by-side partner
    (the schedule runs a seed's baseline just before that seed's candidates; the machine's speed drifts over a day)."""
    last, out = {}, {}
    for r in runs:
        seed = r['recipe']['seed']
        if r['name'] == BASELINE and clean(r):
            last[seed] = r
        elif seed in last:
            out[id(r)] = last[seed]
    return out


def run(name: str, seed: int) -> dict:
    """One cold-start run of ``time_to_accuracy.py`` in a fresh process; its entry, labelled with the name."""
    with tempfile.TemporaryDirectory() as tmp:
        entry_file = pathlib.Path(tmp) / 'entry.json'
        subprocess.run([sys.executable, str(HERE / 'time_to_accuracy.py'), '--recipe', name, '--seed', str(seed),
                        '--target', str(TARGET), '--entry', str(entry_file)], check=True)
        entry = json.loads(entry_file.read_text())
    return {'name': name, **entry}


def verdicts(runs: list[dict]) -> dict[str, dict]:
    """Per candidate: the final accuracy per seed, and the ratio of its wall time to that of the baseline run of
    the same seed just before it (``best_runs``, ``baselines_before``; both clean), with whether the goal is met."""
    last, partner = best_runs(runs), baselines_before(runs)
    out = {}
    for name in CANDIDATES:
        finals, ratios = {}, {}
        for seed in SEEDS:
            cand = last.get((name, seed))
            if cand is None:
                continue
            finals[seed] = cand['test_acc'][-1]
            base = partner.get(id(cand))
            if base is not None and clean(cand):
                ratios[seed] = cand['wall_sec'][-1] / base['wall_sec'][-1]
        if not finals:
            continue
        mean, worst = statistics.mean(finals.values()), min(finals.values())
        ratio = max(ratios.values()) if ratios else None
        met = (len(finals) == len(SEEDS) and len(ratios) == len(SEEDS) and mean >= TARGET and worst >= FLOOR
               and ratio <= BUDGET)
        out[name] = {'finals': finals, 'ratios': ratios, 'mean': mean, 'lowest': worst, 'worst_ratio': ratio,
                     'met': met}
    return out


def table(runs: list[dict]) -> str:
    """Every run (wall time, accuracy, time to the target, other processes), then the verdict per candidate."""
    lines = [f'{"recipe":20} {"seed":>4} {"wall s":>7} {"acc":>7} {"to " + str(TARGET):>9} {"others":>6}']
    for r in runs:
        reached = r['target_reached_sec']
        lines.append(f'{r["name"]:20} {r["recipe"]["seed"]:>4} {r["wall_sec"][-1]:7.1f} {r["test_acc"][-1]:7.4f} '
                     f'{(f"{reached:.1f}" if reached else "-"):>9} {r["other_processes_cores"]:6.2f}'
                     + ('' if clean(r) else '  (busy: time not counted)'))
    for name, v in verdicts(runs).items():
        ratio = (f'wall time {v["worst_ratio"]:.3f}x the baseline\'s at most (median '
                 f'{statistics.median(v["ratios"].values()):.3f}x)' if v['ratios'] else 'no clean pair yet')
        lines.append(f'{name}: {v["mean"]:.4f} mean, {v["lowest"]:.4f} lowest over seeds {sorted(v["finals"])}; '
                     f'{ratio}; goal (mean >= {TARGET}, none below {FLOOR}, <= {BUDGET}x, {len(SEEDS)} seeds): '
                     f'{"met" if v["met"] else "not met"}')
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--next', action='store_true', help='run the next missing run of the schedule')
    parser.add_argument('--table', action='store_true', help='only print the table (the default)')
    parser.add_argument('--run', nargs=2, metavar=('NAME', 'SEED'), help='run this one (out of the schedule)')
    parser.add_argument('--names', default=','.join(CANDIDATES),
                        help='the candidates to schedule, comma-separated (default: all: %(default)s)')
    args = parser.parse_args()
    names = [n for n in args.names.split(',') if n]
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown:
        parser.error(f'unknown candidate(s) {", ".join(unknown)}; the candidates are {", ".join(CANDIDATES)}')
    if args.next or args.run:
        todo = (args.run[0], int(args.run[1])) if args.run else next_run(load_runs(OUT), names)
        if todo is not None and todo[0] != BASELINE and todo[0] not in CANDIDATES:
            parser.error(f'unknown recipe {todo[0]}')
        if todo is None:
            print('every run of the schedule is there')
        else:
            entry = run(*todo)
            append_run(OUT, entry)
            print(f'{todo[0]} seed {todo[1]}: {entry["test_acc"][-1]:.4f} after {entry["wall_sec"][-1]:.1f} s '
                  f'(other processes {entry["other_processes_cores"]:.2f} cores)')
    print(table(load_runs(OUT)))


if __name__ == '__main__':
    main()
