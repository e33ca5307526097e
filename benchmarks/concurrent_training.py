"""Two trainings at once: seconds per `cpu-quick` training step in one process or in several at the same time.

    .venv/bin/python benchmarks/concurrent_training.py [--steps 100] [--runs 2 1 2+2 1+1 2+1 auto+auto] [--repeats 3]

A run such as ``2+1`` starts two processes together, the first with ``OMP_NUM_THREADS=2``, the second with 1;
``auto+auto`` starts the first without ``OMP_NUM_THREADS`` (``d2l_extras.use_all_cores`` chooses), and the
second the same way once the first trains, as a student starting a second training would.
Each process reads Fashion-MNIST, builds `cpu-quick` (the lesson's DenseNet at 32 px, batch 128, the modern
optimizer) and trains it with ``d2l_extras.training.train_epoch``, the step notebook 04 and the CLI run. It
takes ``--warmup`` steps (graph building, first allocations), trains on until every process of the run is warm,
times ``--steps`` steps (one step: forward, backward, update and the one loss read per batch), then keeps
training until every process has finished its timed steps, so that none is timed alone. Printed per
process: the median seconds per step and images per second; per run: their sum. ``--passive`` sets
``OMP_WAIT_POLICY=PASSIVE`` (OpenMP threads sleep instead of spinning while they wait). ``--repeats``
measures every run several times, interleaved. Each measurement also says how many cores other processes
used meanwhile (from /proc/stat, less this benchmark's own CPU time): run it on an otherwise idle machine.
Results go to ``benchmarks/concurrent_training.json`` with the processor and the date.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from machine import OtherLoad, cpu_model   # benchmarks/machine.py, next to this script
from schedule import append_run             # benchmarks/schedule.py

OUT = pathlib.Path(__file__).with_name('concurrent_training.json')


def child(sync: pathlib.Path, copies: int, warmup: int, steps: int) -> dict:
    """One training process: warm up, train on until all are warm, time ``steps`` steps, train on until all
    are done (so that every timed step has the others training beside it)."""
    from d2l_extras import use_all_cores
    use_all_cores()                      # 'auto': the package's default; a number: OMP_NUM_THREADS is set
    import mxnet as mx
    from mxnet import npx

    from d2l_extras.history import History
    from d2l_extras.recipes import build_model, get_recipe, load_data
    from d2l_extras.speedups import fast_concat
    from d2l_extras.training import Display, make_loss, make_trainer, prepare_net, train_epoch
    npx.set_np()
    recipe = get_recipe('cpu-quick')
    train_iter, _ = load_data(recipe)
    net, devices = build_model(recipe), [mx.cpu()]
    prepare_net(net, recipe, devices)
    times: list[float] = []              # when each batch's step was done (its loss read: train_epoch's wait)
    first_timed: list[int] = []          # how many batches had been given when every process was warm
    me = str(os.getpid())

    def count(kind: str) -> int:
        return len(list(sync.glob(f'{kind}-*')))

    class Batches:
        """The training set's batches, for as long as some process of the run still times its steps."""
        batch_size, resize, seed, shuffle = train_iter.batch_size, train_iter.resize, train_iter.seed, True

        def __len__(self):
            return len(train_iter)

        def __iter__(self):
            given = 0
            while True:
                for batch in train_iter:
                    if given == warmup:
                        (sync / f'ready-{me}').touch()
                    if given >= warmup and not first_timed and count('ready') == copies:
                        first_timed.append(given)
                    if first_timed and given == first_timed[0] + steps + 1:
                        (sync / f'done-{me}').touch()
                    if first_timed and given > first_timed[0] + steps and count('done') == copies:
                        return
                    given += 1
                    yield batch

    class Timed(Display):
        def step(self, images: int) -> None:
            times.append(time.perf_counter())

    display = Timed(recipe, Batches(), History(), plot=False, progress=False, log=lambda line: None)
    with fast_concat():
        train_epoch(net, make_trainer(net, recipe), make_loss(recipe), Batches(), recipe, devices, 1, display)
    start = first_timed[0]               # batch start + 1 is the first timed one: it ends at times[start]
    step_times = [b - a for a, b in zip(times[start - 1:start - 1 + steps], times[start:start + steps])]
    median = statistics.median(step_times)
    return {'threads': int(os.environ['OMP_NUM_THREADS']), 'sec_per_step': round(median, 4),
            'img_per_sec': round(recipe.batch_size / median, 1), 'steps': len(step_times)}


def measure(threads: list[str], warmup: int, steps: int, passive: bool) -> dict:
    """Start one process per entry of ``threads`` (a number, or 'auto': the package's default, started once the
    process before it trains); their results, and the cores other processes used meanwhile."""
    with OtherLoad() as others, tempfile.TemporaryDirectory() as sync:
        procs = []
        for t in threads:
            env = {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'}
            if t != 'auto':
                env['OMP_NUM_THREADS'] = t
            elif procs:                                  # a second training started beside a running one
                while len(list(pathlib.Path(sync).glob('ready-*'))) < len(procs):
                    time.sleep(0.05)
            if passive:
                env['OMP_WAIT_POLICY'] = 'PASSIVE'
            procs.append(subprocess.Popen([sys.executable, __file__, '--child', sync, '--copies', str(len(threads)),
                                           '--warmup', str(warmup), '--steps', str(steps)],
                                          env=env, stdout=subprocess.PIPE, text=True))
        results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    return {'run': '+'.join(map(str, threads)), 'passive': passive, 'processes': results,
            'total_img_per_sec': round(sum(r['img_per_sec'] for r in results), 1),
            'other_processes_cores': round(others.cores, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', nargs='+', default=['2', '1', '2+2', '1+1', '2+1', 'auto+auto'],
                        help="threads of each process of a run, joined by + ('auto': the package's default)")
    parser.add_argument('--steps', type=int, default=100)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=1, help='measure every run this many times, interleaved')
    parser.add_argument('--passive', action='store_true', help='OMP_WAIT_POLICY=PASSIVE in every process')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--copies', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(pathlib.Path(args.child), args.copies, args.warmup, args.steps)))
        return
    entries = []
    for repeat in range(args.repeats):
        for run in args.runs:
            entry = measure(run.split('+'), args.warmup, args.steps, args.passive)
            entries.append(entry)
            said = ', '.join(f"{p['threads']} thread(s): {p['sec_per_step']:.4f} s/step, {p['img_per_sec']:.0f} img/s"
                             for p in entry['processes'])
            print(f"{entry['run']:>5}{' passive' if args.passive else ''}: {said}; total "
                  f"{entry['total_img_per_sec']:.0f} img/s; other processes used {entry['other_processes_cores']:.2f} "
                  'cores', flush=True)
    record = {'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='minutes'), 'cpu': cpu_model(),
              'cores': os.cpu_count(), 'command': 'python benchmarks/concurrent_training.py ' + ' '.join(sys.argv[1:]),
              'steps': args.steps, 'warmup': args.warmup, 'runs': entries}
    append_run(OUT, record)


if __name__ == '__main__':
    main()
