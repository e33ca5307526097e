"""Peak memory of one training step: the curve, recomputation (mirroring), 224 px, DenseNet vs ResNet.

Every point is a fresh process (``d2l_extras.memory.measure_step``). Writes ``benchmarks/memory.json``,
which notebook 05 reads. About 10-15 minutes on 2 busy CPU cores; peak memory does not depend on
how busy the cores are, only the times do (and none are recorded).

    .venv/bin/python benchmarks/memory.py            # all sections
    .venv/bin/python benchmarks/memory.py --only curve
"""
import argparse
import datetime
import json
import pathlib
import platform

import d2l_extras  # noqa: F401  (first: its compat module prepares numpy and Python for MXNet)
import mxnet as mx
import numpy as onp
from machine import cpu_model   # benchmarks/machine.py, next to this script

from d2l_extras.atomic import write_json
from d2l_extras.memory import measure_step
from d2l_extras.model_zoo import compared

OUT = pathlib.Path(__file__).with_name('memory.json')
LAYERS = (1, 2, 4, 6, 8, 12, 16, 24, 32)   # convs per dense block of the deck's model (it has 4)
BATCH = 32


def curve() -> list:
    """The lesson's model with L conv blocks in each of its 4 dense blocks, imperative and hybridized."""
    rows = []
    for mode in ('imperative', 'hybrid'):
        for L in LAYERS:
            r = measure_step('densenet', {'convs_per_block': [L] * 4}, BATCH, 96, mode=mode)
            rows.append({**r, 'layers_per_block': L})
            print(mode, L, r['step_mib'], 'MiB', flush=True)
    return rows


def fit(rows: list, mode: str) -> dict:
    """Least-squares fits of activation memory (step minus weights and gradients) vs L: linear, quadratic."""
    pts = [r for r in rows if r['mode'] == mode]
    L = onp.array([r['layers_per_block'] for r in pts], float)
    act = onp.array([r['step_mib'] - 8 * r['params'] / 2 ** 20 for r in pts])
    out = {}
    for name, deg in (('linear', 1), ('quadratic', 2)):
        coef = onp.polyfit(L, act, deg)
        resid = act - onp.polyval(coef, L)
        out[name] = {'coef_high_first': [round(c, 4) for c in coef],
                     'rms_residual_mib': round(float(onp.sqrt(onp.mean(resid ** 2))), 2),
                     'r2': round(float(1 - resid.var() / act.var()), 5)}
    return out


def mirroring() -> list:
    """Graph executor with and without MXNet 1.9's mirroring switches, and Gluon hybridized with the env var."""
    rows = []
    for L in (4, 16, 32):
        kw = {'convs_per_block': [L] * 4}
        cases = [('hybrid', {}, ()), ('hybrid', {'MXNET_BACKWARD_DO_MIRROR': '1'}, ()),
                 ('symbol', {}, ()), ('symbol', {'MXNET_BACKWARD_DO_MIRROR': '1'}, ()),
                 ('symbol', {'MXNET_BACKWARD_DO_MIRROR': '1'},
                  ('BatchNorm', 'Activation', 'Concat', 'Pooling'))]
        for mode, env, ops in cases:
            r = measure_step('densenet', kw, BATCH, 96, mode=mode, env=env, mirror_ops=ops)
            rows.append({**r, 'layers_per_block': L})
            print('mirror', L, mode, env, ops, r['step_mib'], 'MiB', flush=True)
    return rows


def at_224() -> list:
    """d2l's exercise: the lesson's model at 224 x 224 vs 96 x 96 (batch 32 and 64, to extrapolate to 256)."""
    rows = []
    for size, batch in ((96, 32), (96, 64), (224, 32), (224, 64)):
        r = measure_step('densenet', {}, batch, size, mode='hybrid')
        rows.append(r)
        print('224', size, batch, r['step_mib'], 'MiB', flush=True)
    return rows


def versus_resnet() -> list:
    """Every compared model of the registry at 96 px, batch 32, hybridized and imperative."""
    rows = []
    for name in compared():
        for mode in ('hybrid', 'imperative'):
            r = measure_step(name, {}, BATCH, 96, mode=mode)
            rows.append(r)
            print('vs', name, mode, r['step_mib'], 'MiB', flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', choices=('curve', 'mirroring', 'at_224', 'versus_resnet'))
    args = parser.parse_args()
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    sections = {'curve': curve, 'mirroring': mirroring, 'at_224': at_224, 'versus_resnet': versus_resnet}
    for name, run in sections.items():
        if args.only in (None, name):
            results[name] = run()
    if 'curve' in results:
        results['fit'] = {m: fit(results['curve'], m) for m in ('imperative', 'hybrid')}
    results['meta'] = {'mxnet': mx.__version__, 'python': platform.python_version(),
                       'date': datetime.date.today().isoformat(), 'batch_size': BATCH,
                       'cpu': cpu_model(), 'command': 'python benchmarks/memory.py',
                       'note': 'step_mib = peak RSS - RSS before allocating parameters, one process per row'}
    write_json(OUT, results)
    print('wrote', OUT.name)


if __name__ == '__main__':
    main()
