"""Peak memory of one training step, measured in a fresh Python process per measurement.

A process's peak resident set size (RSS) is a high-water mark that only rises, so each point runs
``python -m d2l_extras.memory SPEC`` in its own subprocess: import MXNet, build the net, reset the
kernel's high-water mark, then allocate the parameters and run one forward, backward and SGD step.
``step_mib`` is the peak minus the resident size just before: parameters, gradients, saved
activations and workspace of that one step.

    >>> measure_step('deck_densenet', batch_size=64, image_size=96)['step_mib']   # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from typing import Sequence

BUILDERS = ('deck_densenet', 'densenet_bc', 'DenseNet', 'resnet', 'resnet18_d2l')
MODES = ('imperative', 'hybrid', 'symbol')


def _validate(builder: str, batch_size: int, image_size: int, in_channels: int, mode: str) -> None:
    """Raise a ValueError naming the first bad argument and its valid range."""
    if builder not in BUILDERS:
        raise ValueError(f"builder must be one of {BUILDERS}, got {builder!r}")
    for name, value, low in (('batch_size', batch_size, 1), ('image_size', image_size, 1),
                             ('in_channels', in_channels, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be a positive integer ({low} or more), got {value!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def measure_step(builder: str = 'deck_densenet', kwargs: dict | None = None, batch_size: int = 64,
                 image_size: int = 96, in_channels: int = 1, mode: str = 'hybrid',
                 env: dict | None = None, mirror_ops: Sequence[str] = (), timeout: float = 900) -> dict:
    """Run one training step in a fresh process and return its memory and parameter count.

    Args:
        builder: a name from ``BUILDERS`` (``d2l_extras.model_zoo`` builders, or d2l's ResNet-18).
        kwargs: keyword arguments for the builder, e.g. ``{'block_config': (8, 8, 8, 8)}``.
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
    _validate(builder, batch_size, image_size, in_channels, mode)
    if kwargs is not None and not isinstance(kwargs, dict):
        raise ValueError(f"kwargs must be None or a dict of the builder's arguments, got {kwargs!r}")
    if env is not None and not (isinstance(env, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
        raise ValueError(f"env must be None or a dict of str to str, got {env!r}")
    if mirror_ops and mode != 'symbol':
        raise ValueError(f"mirror_ops needs mode='symbol' (the graph executor), got mode={mode!r}")
    spec = dict(builder=builder, kwargs=kwargs or {}, batch_size=batch_size,
                image_size=image_size, in_channels=in_channels, mode=mode, mirror_ops=list(mirror_ops))
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run([sys.executable, '-m', 'd2l_extras.memory', json.dumps(spec)],
                          capture_output=True, text=True, env=full_env, timeout=timeout)
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


def _build(builder: str, kwargs: dict):
    """The net named by ``builder`` (imports here so that a measurement pays for them up front)."""
    if builder == 'resnet18_d2l':
        from d2l import mxnet as d2l
        return d2l.resnet18(**kwargs)
    from d2l_extras import model_zoo
    if 'block_config' in kwargs:
        kwargs = {**kwargs, 'block_config': tuple(kwargs['block_config'])}
    return getattr(model_zoo, builder)(**kwargs)


def _one_step(spec: dict) -> dict:
    """The child process: build, reset the peak, one SGD step, report MiB and parameter count."""
    import mxnet as mx
    from mxnet import autograd, gluon, np, npx
    npx.set_np()
    mx.random.seed(0)
    net = _build(spec['builder'], spec['kwargs'])
    n, c, s = spec['batch_size'], spec['in_channels'], spec['image_size']
    X = np.random.uniform(size=(n, c, s, s))
    y = np.random.randint(0, 10, size=(n,))
    npx.waitall()
    baseline, reset = _rss_mib('VmRSS'), _reset_peak()
    if spec['mode'] == 'symbol':
        params = _symbol_step(net, (n, c, s, s), spec['mirror_ops'])
    else:
        net.initialize(mx.init.Xavier())
        if spec['mode'] == 'hybrid':
            net.hybridize(static_alloc=True, static_shape=True)
        trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
        loss = gluon.loss.SoftmaxCrossEntropyLoss()
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(n)
        npx.waitall()
        params = sum(p.data().size for p in net.collect_params().values() if p.grad_req != 'null')
    peak = _rss_mib('VmHWM') if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(baseline_mib=round(baseline, 1), peak_mib=round(peak, 1),
                step_mib=round(peak - baseline, 1), params=int(params))


def _symbol_step(net, shape: tuple, mirror_ops: Sequence[str]) -> int:
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
    skip = ('data', 'softmax_label')
    return sum(a.size for k, a in exe.arg_dict.items() if k not in skip and exe.grad_dict.get(k) is not None)


if __name__ == '__main__':
    print(json.dumps(_one_step(json.loads(sys.argv[1]))))
