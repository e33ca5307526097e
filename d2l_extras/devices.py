"""GPUs that really work, in d2l's spirit: ``try_gpu()`` and ``try_all_gpus()`` with a reason when they don't.

``mx.context.num_gpus()`` counts devices, not working ones: ``mxnet-cu112`` has no kernels for compute
capability 9.0 and newer, and a missing CUDA or cuDNN library fails only at the first operation. Here a
GPU counts only if a tiny convolution (which needs cuDNN) really runs on it and gives the right answer.
"""
from __future__ import annotations

import mxnet as mx

#: Why the last ``try_gpu``/``try_all_gpus`` call chose what it chose, one line for the student.
last_reason = ''


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
        return str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
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


def try_gpu(i: int = 0, verbose: bool = True) -> mx.Context:
    """``gpu(i)`` if it exists and really works, else ``cpu()``; says why when it falls back."""
    global last_reason
    if not isinstance(i, int) or i < 0:
        raise ValueError(f'i must be a non-negative integer (GPU index), got {i!r}')
    working, reason = usable_gpus()
    if i in working:
        last_reason = f'using gpu({i}): {reason}'
        return mx.gpu(i)
    last_reason = f'using cpu(0): gpu({i}) is not usable: {reason}'
    if verbose:
        print(last_reason)
    return mx.cpu()


def try_all_gpus(verbose: bool = True) -> list[mx.Context]:
    """All GPUs that really work, or ``[cpu()]``; says why when it falls back."""
    global last_reason
    working, reason = usable_gpus()
    if working:
        last_reason = f'using {len(working)} GPU(s): {reason}'
        if verbose and len(working) < num_gpus():   # some GPUs failed their probe: say which and why
            print(last_reason)
        return [mx.gpu(i) for i in working]
    last_reason = f'using cpu(0): {reason}'
    if verbose:
        print(last_reason)
    return [mx.cpu()]
