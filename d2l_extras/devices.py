"""Which devices to compute on, the one place that decides: GPUs that really work, and why not.

``resolve_devices(spec)`` turns what a student or a flag says (``'auto'``, ``'cpu'``, ``'gpu:0,1'``,
``None``, a context or a list of them) into a checked list of distinct, working contexts and one line
saying why; training, evaluation, the CLI and the notebooks all call it.

``mx.context.num_gpus()`` counts devices, not working ones: ``mxnet-cu112`` has no kernels for compute
capability 9.0 and newer, and a missing CUDA or cuDNN library fails only at the first operation. Here a
GPU counts only if a tiny convolution (which needs cuDNN) really runs on it and gives the right answer.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import mxnet as mx

from .errors import error_line

SPEC_FORMS = 'auto, cpu, cpu:0,1, gpu or gpu:0,1'
SPEC_HELP = f'{SPEC_FORMS} (or mx.cpu(), mx.gpu(i), or a list of them)'

def cuda_build() -> bool:
    """Whether the installed MXNet was built with CUDA (``mxnet-cu112``) rather than for the CPU."""
    return mx.runtime.Features().is_enabled('CUDA')


def num_gpus() -> int:
    """How many GPUs the CUDA driver reports; 0 for a CPU build or when the driver is missing."""
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:
        return 0


def probe_gpu(i: int) -> str | None:
    """Run a tiny convolution on GPU ``i``; None when it works, otherwise the error as one line."""
    try:
        x = mx.nd.ones((1, 1, 3, 3), ctx=mx.gpu(i))
        w = mx.nd.ones((1, 1, 3, 3), ctx=mx.gpu(i))
        y = mx.nd.Convolution(x, w, kernel=(3, 3), num_filter=1, no_bias=True)
        value = float(y.asnumpy().ravel()[0])
    except Exception as e:  # noqa: BLE001 - MXNetError, OSError from a missing library, ...
        return error_line(e)
    return None if value == 9.0 else f'a 3x3 convolution of ones gave {value}, not 9'


def usable_gpus() -> tuple[list[int], str]:
    """Indices of the GPUs that work, and one line saying what was found and why."""
    if not cuda_build():
        return [], 'MXNet is the CPU build (pip package mxnet); install mxnet-cu112 (GPU=1 make setup) for a GPU'
    count = num_gpus()
    if count == 0:
        return [], 'MXNet is the CUDA build, but no GPU is visible (driver missing or no device)'
    working, failures = [], []
    for i in range(count):
        error = probe_gpu(i)
        if error is None:
            working.append(i)
        else:
            failures.append(f'gpu({i}): {error}')
    if not failures:
        return working, f'{count} GPU(s) found and working'
    hint = ('mxnet-cu112 needs CUDA 11.2 + cuDNN 8 and a GPU of compute capability 5.0-8.6')
    return working, f'{len(working)} of {count} GPU(s) work; ' + '; '.join(failures) + f' ({hint})'


def _parse_spec(spec: str, name: str = 'devices') -> tuple[str, list[int]]:
    """('auto' | 'cpu' | 'gpu', indices) of a device string, or a ValueError naming ``name`` and the valid forms."""
    kind, colon, indices = spec.strip().lower().partition(':')
    numbers = indices.split(',') if colon else []
    if kind not in ('auto', 'cpu', 'gpu') or (kind == 'auto' and colon) or (colon and not all(
            re.fullmatch(r'[0-9]{1,6}', n.strip()) for n in numbers)):      # not '²', which isdigit() lets through
        forms = SPEC_FORMS if name.startswith('--') else SPEC_HELP
        raise ValueError(f'{name}: unknown device {spec!r}: use {forms}')
    return kind, [int(n) for n in numbers]


def resolve_devices(spec: str | mx.Context | Sequence[mx.Context] | None = None,
                    name: str = 'devices') -> tuple[list[mx.Context], str]:
    """The contexts ``spec`` names, checked (distinct, GPUs working), and one line saying why these.

    ``None`` and ``'auto'`` mean every GPU that works, else the CPU; ``'cpu:0,1'`` are two CPU contexts
    (data parallel on one CPU); ``'gpu'`` every working GPU. A ValueError says what is wrong and what works,
    naming the argument ``name`` (the CLI: ``'--devices'``).
    """
    if spec is None or isinstance(spec, str):
        kind, indices = _parse_spec('auto' if spec is None else spec, name)
        if kind == 'cpu':
            devices, reason = [mx.cpu(i) for i in indices or [0]], 'CPU as asked'
        else:
            working, found = usable_gpus()
            if kind == 'auto':
                devices = [mx.gpu(i) for i in working] or [mx.cpu()]
                reason = f'devices auto: {found}'
            elif not (indices or working):
                raise ValueError(f"{name} {spec!r}: no GPU is usable: {found}; use devices='cpu' (--devices cpu)")
            else:
                devices, reason = [mx.gpu(i) for i in indices or working], found
    else:
        devices = [spec] if isinstance(spec, mx.Context) else list(spec) if isinstance(spec, (list, tuple)) else None
        if devices is None or not all(isinstance(d, mx.Context) for d in devices):
            raise ValueError(f'{name} must be {SPEC_HELP}, got {spec!r}')
        reason = 'devices as given'
    return _checked(devices, spec, name), reason


def _checked(devices: list[mx.Context], spec: object, name: str) -> list[mx.Context]:
    """``devices`` if it is non-empty, without repeats, CPU or GPU, and every GPU in it works."""
    if not devices:
        raise ValueError(f'{name} must name at least one device, got {spec!r}: use {SPEC_HELP}')
    for d in devices:
        if d.device_type not in ('cpu', 'gpu'):
            raise ValueError(f'{name}: {d} is neither a CPU nor a GPU: use {SPEC_HELP}')
        if devices.count(d) > 1:
            raise ValueError(f'{name} lists {d} {devices.count(d)} times, got {spec!r}: name each device once')
    gpus = [d.device_id for d in devices if d.device_type == 'gpu']
    if gpus:
        working, reason = usable_gpus()
        bad = [i for i in gpus if i not in working]
        if bad:
            raise ValueError(f'{name}: GPU {", ".join(map(str, bad))} not usable: {reason}; '
                             "use devices='cpu' (--devices cpu) or the GPUs that work")
    return devices


def net_devices(net) -> list[mx.Context]:
    """The contexts a network's (initialized) parameters live on; ``[cpu()]`` when it has none yet."""
    for param in getattr(net, 'collect_params', dict)().values():
        try:
            return list(param.list_ctx())
        except (RuntimeError, AssertionError):    # not initialized yet (deferred)
            continue
    return [mx.cpu()]


def free_memory(device: mx.Context) -> int | None:
    """Bytes that ``device`` can still allocate (RAM for the CPU, within a container's limit); None if unknown."""
    if device.device_type == 'gpu':
        try:
            return mx.context.gpu_memory_info(device.device_id)[0]
        except mx.base.MXNetError:
            return None
    sizes = []
    try:
        meminfo = dict(line.split(':', 1) for line in Path('/proc/meminfo').read_text().splitlines())
        sizes.append(int(meminfo['MemAvailable'].split()[0]) * 1024)
    except (OSError, KeyError, ValueError):
        try:
            sizes.append(os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE'))
        except (OSError, ValueError, AttributeError):
            pass
    try:                                              # cgroup v2: a container's memory limit
        limit = Path('/sys/fs/cgroup/memory.max').read_text().strip()
        if limit != 'max':
            sizes.append(int(limit) - int(Path('/sys/fs/cgroup/memory.current').read_text()))
    except (OSError, ValueError):
        pass
    return min(sizes) if sizes else None
