"""Where the time of one training step goes: data, forward, backward, optimizer, host reads; and the operators.

    .venv/bin/python benchmarks/step_profile.py [--recipe cpu-quick] [--batches 40] [--out FILE]

Three views of the step that ``d2l_extras.training.train`` runs for a named recipe, on the CPU:

1. **pipelined**: batches through ``training.train_epoch`` itself (what a real epoch costs per batch);
2. **phases**: the same step cut into data (``BatchLoader.batch``), forward + loss, backward, optimizer
   (``Trainer.step``) and metrics + the one host read, with ``mx.nd.waitall()`` after each phase, so each
   phase's time is its own (their sum exceeds the pipelined step by what the engine overlaps);
3. **operators**: MXNet's profiler over the phases' batches, aggregated by operator (forward and backward),
   with the FLOPs of the convolutions and the dense layer (2 per multiply-add, from
   ``d2l_extras.summary.costs``; a backward pass is counted as twice its forward);
4. **stages**: forward + backward of the first k layers of the net (the stem, then each dense block and
   transition) for k = 1, 2, ..., the best of several batches each; the difference between k and k - 1
   is what stage k costs, next to its share of the FLOPs.

Shares of peak are against the best GFLOP/s this CPU reached in the same run on one large convolution
(oneDNN, 3x3, 256 -> 256 channels, 14 x 14, batch 64: what a convolution can reach here) and on an
2048 x 2048 float32 matrix product (``mx.nd.dot``, the reference of ``benchmarks/throughput.py``).
Results go to ``benchmarks/step_profile.json`` (one entry per recipe).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import statistics
import tempfile
import time
from collections import defaultdict

from machine import OtherLoad, cpu_model   # benchmarks/machine.py, next to this script

from d2l_extras import use_all_cores
from d2l_extras.atomic import write_json

use_all_cores()   # as notebook 04 and the CLI do, before MXNet loads

import mxnet as mx  # noqa: E402

OUT = pathlib.Path(__file__).with_name('step_profile.json')


def best_gflops(run, flops: float, repeats: int = 7) -> float:
    """Best GFLOP/s of ``run()`` (which must wait for its result) over ``repeats`` calls after one warm-up."""
    run()
    best = min(_timed(run) for _ in range(repeats))
    return flops / best / 1e9


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def conv_peak() -> float:
    """GFLOP/s of one large 3x3 convolution's forward pass (oneDNN)."""
    n, c, hw = 64, 256, 14
    x = mx.nd.random.uniform(shape=(n, c, hw, hw))
    w = mx.nd.random.uniform(shape=(c, c, 3, 3))
    run = lambda: mx.nd.Convolution(x, w, kernel=(3, 3), pad=(1, 1), num_filter=c, no_bias=True).wait_to_read()
    return best_gflops(run, 2 * n * c * c * 9 * hw * hw)


def gemm_peak(n: int = 2048) -> float:
    """GFLOP/s of an n x n float32 matrix product (``mx.nd.dot``)."""
    a, b = mx.nd.random.uniform(shape=(n, n)), mx.nd.random.uniform(shape=(n, n))
    return best_gflops(lambda: mx.nd.dot(a, b).wait_to_read(), 2 * n ** 3)


def operator_kind(name: str) -> str:
    """Group MXNet's operator names: 'Convolution', 'BatchNorm', 'Activation', 'Concat', 'Pooling', ..."""
    for kind in ('Convolution', 'BatchNorm', 'Activation', 'Concat', 'Pooling', 'FullyConnected'):
        if kind in name:
            return kind
    if name == 'add_n' or name.startswith('_zeros'):
        return 'add_n (gradients of reused maps)'
    if 'nag' in name or 'sgd' in name or 'mom' in name:
        return 'optimizer update'
    if 'softmax' in name.lower() or 'log' in name.lower() or 'one_hot' in name:
        return 'loss'
    return 'other'


def profile_operators(net, recipe, step, batches: int) -> dict[str, dict[str, float]]:
    """ms per batch of each operator kind, forward and backward, from MXNet's aggregate profiler stats.

    The net is hybridized again without bulk execution (segments of 1 operator), so that the profiler
    times operators one by one instead of the engine's segments of many.
    """
    net.hybridize(static_alloc=True, static_shape=True, forward_bulk_size=1, backward_bulk_size=1)
    for _ in range(3):
        step(timed=False)
    with tempfile.TemporaryDirectory() as tmp:
        mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename=os.path.join(tmp, 'profile.json'))
        mx.profiler.set_state('run')
        for _ in range(batches):
            step(timed=False)
        mx.nd.waitall()
        mx.profiler.set_state('stop')
        stats = json.loads(mx.profiler.dumps(reset=True, format='json'))
    kinds: dict[str, dict[str, float]] = defaultdict(lambda: {'forward': 0.0, 'backward': 0.0})
    for domain, operators in stats['Time'].items():
        if 'operator' not in domain.lower():
            continue
        for name, record in operators.items():
            direction = 'backward' if name.startswith('_backward') else 'forward'
            kinds[operator_kind(name)][direction] += record['Total'] / batches      # ms
    return dict(kinds)


def profile_stages(net, X, repeats: int = 12) -> list[dict]:
    """ms of forward + backward of each stage of ``net`` (a HybridSequential): best time of net[:k] minus net[:k-1]."""
    from mxnet import autograd
    from d2l_extras.summary import layer_table
    table = layer_table(net, X.shape)
    flops = table['mult-adds'] * 2
    rows, before = [], 0.0
    for k in range(1, len(net) + 1):
        prefix = net[:k]
        prefix.hybridize(static_alloc=True, static_shape=True)

        def run():
            with autograd.record():
                out = prefix(X)
            out.backward()
            mx.nd.waitall()
        run()
        best = 1e3 * min(_timed(run) for _ in range(repeats))
        rows.append({'stage': table['layer'][k - 1], 'output shape': list(table['output shape'][k - 1]),
                     'ms': round(best - before, 2), 'forward GFLOP': round(float(flops[k - 1]) / 1e9, 4)})
        before = best
    return rows


def parse_change(text: str) -> tuple[str, object]:
    """'convs_per_block=2,2,4,4' -> ('convs_per_block', (2, 2, 4, 4)); numbers as numbers, else text."""
    name, _, value = text.partition('=')
    parts = [json.loads(v) if v.strip().lstrip('-').replace('.', '', 1).isdigit() else v for v in value.split(',')]
    return name, tuple(parts) if ',' in value else parts[0]


def main() -> None:
    from d2l_extras.recipes import RECIPES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--recipe', default='cpu-quick', choices=sorted(RECIPES))
    parser.add_argument('--batches', type=int, default=40, help='batches per view (after a warm-up of 10)')
    parser.add_argument('--change', action='append', default=[], metavar='FIELD=VALUE',
                        help='the recipe with a field changed, e.g. convs_per_block=2,2,4,4 or batch_size=256')
    args = parser.parse_args()

    from mxnet import autograd, npx
    from d2l_extras.data import BatchLoader, load_arrays
    from d2l_extras.history import History
    from d2l_extras.recipes import build_model, get_recipe
    from d2l_extras.speedups import fast_concat
    from d2l_extras.summary import costs
    from d2l_extras.training import Display, make_loss, make_trainer, prepare_net, train_epoch

    npx.set_np()
    others = OtherLoad()
    recipe = get_recipe(args.recipe)
    recipe = recipe.replace(**dict(parse_change(c) for c in args.change))
    images, labels = load_arrays('train')
    count = recipe.batch_size * (args.batches + 10)
    loader = BatchLoader(images[:count], labels[:count], recipe.batch_size, recipe.resize, shuffle=True,
                         seed=recipe.seed)
    net, devices = build_model(recipe), [mx.cpu()]
    forward_gflop = costs(net, recipe.resize)['GFLOPs'] * recipe.batch_size    # per batch
    prepare_net(net, recipe, devices)
    trainer, loss_fn = make_trainer(net, recipe), make_loss(recipe)
    display = Display(recipe, loader, History(), plot=False, progress=False, log=print)
    order = list(range(count))
    phases: dict[str, list[float]] = defaultdict(list)

    def step(timed: bool = True) -> None:
        """One step cut into phases, each waited for."""
        marks = [time.perf_counter()]

        def mark(name: str) -> None:
            mx.nd.waitall()
            marks.append(time.perf_counter())
            if timed:
                phases[name].append(1e3 * (marks[-1] - marks[-2]))

        X, y = loader.batch(order[:recipe.batch_size])
        mark('data (batch, resize)')
        with autograd.record():
            out = net(X)
            loss = loss_fn(out, y)
        mark('forward + loss')
        loss.backward()
        mark('backward')
        trainer.step(X.shape[0])
        mark('optimizer (Trainer.step)')
        hits = (out.argmax(axis=1).astype('int32') == y.astype('int32')).astype('float32').sum()
        float(loss.sum().item()), float(hits.item())
        mark('metrics + host read')

    with fast_concat():
        train_epoch(net, trainer, loss_fn, loader, recipe, devices, 1, display)       # warm-up and trace
        start = time.perf_counter()
        n = train_epoch(net, trainer, loss_fn, loader, recipe, devices, 1, display)[2]
        pipelined = 1e3 * (time.perf_counter() - start) / (n / recipe.batch_size)
        for _ in range(args.batches):
            step()
        operators = profile_operators(net, recipe, step, args.batches)
        stages = profile_stages(net, loader.batch(order[:recipe.batch_size])[0])
    peaks = {'one large convolution (oneDNN)': conv_peak(), '2048 x 2048 GEMM (mx.nd.dot)': gemm_peak()}
    peak = max(peaks.values())

    phase_ms = {name: statistics.median(times) for name, times in phases.items()}
    print(f'{recipe.describe()}\n{cpu_model()}, OMP_NUM_THREADS={os.environ["OMP_NUM_THREADS"]}; '
          f'forward {forward_gflop:.2f} GFLOP per batch of {recipe.batch_size}, a step ~{3 * forward_gflop:.2f}')
    for name, value in peaks.items():
        print(f'peak: {name}: {value:.1f} GFLOP/s')
    print(f'\npipelined step (train_epoch): {pipelined:.1f} ms per batch = '
          f'{recipe.batch_size / pipelined * 1e3:.0f} img/s, {3 * forward_gflop / pipelined * 1e3:.1f} GFLOP/s, '
          f'{3 * forward_gflop / pipelined * 1e3 / peak:.0%} of the best peak')
    print(f'\n{"phase (each waited for)":28} {"ms":>8} {"share":>7}')
    total = sum(phase_ms.values())
    for name, ms in phase_ms.items():
        print(f'{name:28} {ms:8.1f} {ms / total:7.1%}')
    print(f'{"sum of the phases":28} {total:8.1f}')

    print(f'\n{"operators (profiler)":20} {"fwd ms":>8} {"bwd ms":>8} {"share":>7}')
    op_total = sum(v['forward'] + v['backward'] for v in operators.values())
    for kind, v in sorted(operators.items(), key=lambda kv: -(kv[1]['forward'] + kv[1]['backward'])):
        print(f'{kind:20} {v["forward"]:8.1f} {v["backward"]:8.1f} {(v["forward"] + v["backward"]) / op_total:7.1%}')
    print(f'{"all operators":20} {op_total:8.1f}')
    conv = operators.get('Convolution', {'forward': 0, 'backward': 0})
    conv_rates = {d: (forward_gflop * (1 if d == 'forward' else 2)) / (conv[d] / 1e3) if conv[d] else 0
                  for d in ('forward', 'backward')}
    for d, rate in conv_rates.items():
        print(f'convolutions {d}: {rate:.1f} GFLOP/s, {rate / peak:.0%} of the best peak')

    print(f'\n{"stage (forward + backward)":44} {"output":>14} {"ms":>7} {"share":>6} {"FLOPs":>6}')
    stage_total, flop_total = sum(r['ms'] for r in stages), sum(r['forward GFLOP'] for r in stages)
    for r in stages:
        print(f"{r['stage'][:44]:44} {str(tuple(r['output shape'][1:])):>14} {r['ms']:7.1f} "
              f"{r['ms'] / stage_total:6.1%} {r['forward GFLOP'] / flop_total:6.1%}")
    print(f'{"all stages":44} {"":>14} {stage_total:7.1f}')

    print(f'other processes kept {others.stop():.2f} cores busy meanwhile (above ~0.1 the times are upper bounds)')
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    key = ' '.join([args.recipe, *args.change])
    results[key] = {
        'recipe': recipe.to_dict(), 'batches': args.batches, 'forward_gflop_per_batch': round(forward_gflop, 4),
        'peaks_gflops': {k: round(v, 1) for k, v in peaks.items()},
        'pipelined_ms_per_batch': round(pipelined, 2),
        'phases_ms': {k: round(v, 2) for k, v in phase_ms.items()},
        'operators_ms': {k: {d: round(t, 2) for d, t in v.items()} for k, v in operators.items()},
        'conv_gflops': {d: round(r, 1) for d, r in conv_rates.items()}, 'stages': stages,
        'cpu': cpu_model(), 'threads': os.environ['OMP_NUM_THREADS'], 'load_average': os.getloadavg()[0],
        'date': datetime.date.today().isoformat(),
        'other_processes_cores': round(others.cores, 2),
        'command': f'python benchmarks/step_profile.py --recipe {args.recipe} --batches {args.batches}'
                   + ''.join(f' --change {c}' for c in args.change)}
    write_json(OUT, results)


if __name__ == '__main__':
    main()
