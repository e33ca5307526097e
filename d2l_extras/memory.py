"""Peak memory of one training step, measured in a fresh Python process per measurement.

A process's peak resident set size (RSS) is a high-water mark that only rises, so each point runs
``python -m d2l_extras.memory SPEC`` in its own subprocess: import MXNet, build the net, reset the
kernel's high-water mark, then allocate the parameters and run one training step: with Gluon
('imperative', 'hybrid') a forward, backward and SGD step; with the graph executor ('symbol') a forward
and backward pass. ``step_mib`` is the peak minus the resident size just before: parameters, gradients,
saved activations and workspace of that one step.

    >>> measure_step('densenet', batch_size=64, image_size=96)['step_mib']   # doctest: +SKIP

This is the CPU's resident memory, a proxy for the GPU memory a training step needs: the same arrays
(parameters, gradients, the activations kept for backward, workspaces) live on the GPU there.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from typing import Sequence

from .sizes import MAX_BATCH, MAX_CHANNELS, MAX_IMAGE_SIZE, check_choice, check_int, check_real

MODES = ('imperative', 'hybrid', 'symbol')


def _validate(model: str, batch_size: int, image_size: int, in_channels: int, mode: str) -> tuple[int, int, int]:
    """The three sizes as ints; a ValueError naming the first bad argument and its valid range."""
    from .model_zoo import MODELS
    check_choice('model', model, MODELS)
    sizes = (check_int('batch_size', batch_size, high=MAX_BATCH),
             check_int('image_size', image_size, high=MAX_IMAGE_SIZE),
             check_int('in_channels', in_channels, high=MAX_CHANNELS))
    check_choice('mode', mode, MODES)
    return sizes


def measure_step(model: str = 'densenet', kwargs: dict | None = None, batch_size: int = 64,
                 image_size: int = 96, in_channels: int = 1, mode: str = 'hybrid',
                 env: dict | None = None, mirror_ops: Sequence[str] = (), timeout: float = 900) -> dict:
    """Run one training step in a fresh process and return its memory and parameter count.

    Args:
        model: a name of the registry ``d2l_extras.model_zoo.MODELS``.
        kwargs: keyword arguments for its builder, e.g. ``{'convs_per_block': [8, 8, 8, 8]}`` (JSON-able).
        mode: 'imperative' (autograd records every op), 'hybrid' (Gluon CachedOp, static memory
            plan) or 'symbol' (the hybridized net's symbol bound by MXNet's graph executor, the
            only place where ``MXNET_BACKWARD_DO_MIRROR`` is read in MXNet 1.9).
        env: extra environment variables for the subprocess, e.g. ``{'MXNET_BACKWARD_DO_MIRROR': '1'}``.
        mirror_ops: 'symbol' mode only: operator names (e.g. 'BatchNorm') whose nodes get the
            ``__force_mirroring__`` attribute, asking the graph executor to recompute them in backward.
    Returns:
        dict with ``baseline_mib``, ``peak_mib``, ``step_mib`` (peak - baseline), ``params``, the
        arguments, and ``env``.
    """
    batch_size, image_size, in_channels = _validate(model, batch_size, image_size, in_channels, mode)
    if kwargs is not None and not isinstance(kwargs, dict):
        raise ValueError(f"kwargs must be None or a dict of the builder's arguments, got {kwargs!r}")
    if env is not None and not (isinstance(env, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
        raise ValueError(f"env must be None or a dict of str to str, got {env!r}")
    if mirror_ops and mode != 'symbol':
        raise ValueError(f"mirror_ops needs mode='symbol' (the graph executor), got mode={mode!r}")
    timeout = check_real('timeout', timeout, 0, 24 * 3600, low_open=True)     # seconds
    spec = dict(model=model, kwargs=kwargs or {}, batch_size=batch_size,
                image_size=image_size, in_channels=in_channels, mode=mode, mirror_ops=list(mirror_ops))
    full_env = {**os.environ, **(env or {})}
    try:
        done = subprocess.run([sys.executable, '-m', 'd2l_extras.memory', json.dumps(spec)],
                              capture_output=True, text=True, env=full_env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f'memory measurement of {model} (batch {batch_size}, {image_size} px, {mode}) took '
                           f'more than timeout={timeout:g} s and was stopped: give it more time') from None
    lines = [line for line in done.stdout.splitlines() if line.startswith('{')]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"memory measurement failed ({done.returncode}): {done.stderr[-2000:]}")
    return {**spec, **json.loads(lines[-1]), 'env': dict(env or {})}


def _rss_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in MiB."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False where that is not allowed."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _build(model: str, kwargs: dict):
    """The registry's net ``model`` (JSON lists become the tuples its builder expects)."""
    from d2l_extras import model_zoo
    return model_zoo.build(model, **{k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()})


def _one_step(spec: dict) -> dict:
    """The child process: build, reset the peak, one SGD step, report MiB and parameter count.

    Graphs ('hybrid', 'symbol') are built inside ``fast_concat()``, as ``d2l_extras.training.train`` builds
    them, so their concatenations are ``Concat``; 'imperative' runs ``np.concatenate`` call by call.
    """
    import mxnet as mx
    from mxnet import np, npx

    from d2l_extras.sizes import count_parameters
    from d2l_extras.speedups import fast_concat
    from d2l_extras.summary import layer_table
    npx.set_np()
    mx.random.seed(0)
    net = _build(spec['model'], spec['kwargs'])
    n, c, s = spec['batch_size'], spec['in_channels'], spec['image_size']
    layer_table(net, (n, c, s, s))                   # sets the parameters' shapes, for the count
    X = np.random.uniform(size=(n, c, s, s))
    y = np.random.randint(0, 10, size=(n,))
    npx.waitall()
    baseline, reset = _rss_mib('VmRSS'), _reset_peak()
    with fast_concat():
        _symbol_step(net, (n, c, s, s), spec['mirror_ops']) if spec['mode'] == 'symbol' else \
            _gluon_step(net, X, y, hybridize=spec['mode'] == 'hybrid')
    peak = _rss_mib('VmHWM') if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(baseline_mib=round(baseline, 1), peak_mib=round(peak, 1),
                step_mib=round(peak - baseline, 1), params=count_parameters(net))


def _gluon_step(net, X, y, hybridize: bool) -> None:
    """Initialize, (hybridize,) and run one forward, backward and SGD step with Gluon."""
    import mxnet as mx
    from mxnet import autograd, gluon, npx
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    with autograd.record():
        l = loss(net(X), y)
    l.backward()
    trainer.step(X.shape[0])
    npx.waitall()


def _symbol_step(net, shape: tuple, mirror_ops: Sequence[str]) -> None:
    """Bind the net's symbol with MXNet's graph executor and run forward + backward once."""
    import mxnet as mx
    data = mx.sym.var('data').as_np_ndarray()
    out = mx.sym.SoftmaxOutput(net(data).as_nd_ndarray(), name='softmax')
    if mirror_ops:                                   # mark nodes to be recomputed in backward
        graph = json.loads(out.tojson())
        for node in graph['nodes']:
            if node['op'] in mirror_ops:
                node.setdefault('attrs', {})['__force_mirroring__'] = 'True'
        out = mx.sym.load_json(json.dumps(graph))
    exe = out.simple_bind(mx.cpu(), data=shape, grad_req='write')
    for name, arr in exe.arg_dict.items():
        if name not in ('data', 'softmax_label'):
            arr[:] = mx.nd.random.uniform(-0.05, 0.05, arr.shape)
    exe.arg_dict['data'][:] = mx.nd.random.uniform(shape=shape)
    exe.forward(is_train=True)
    exe.backward()
    mx.nd.waitall()


if __name__ == '__main__':
    print(json.dumps(_one_step(json.loads(sys.argv[1]))))
