"""Faster CPU training of the lesson's code without changing the code: oneDNN's concatenation.

The lesson's dense block concatenates with ``np.concatenate``. In MXNet 1.9 that operator
(``_npi_concatenate``) has no oneDNN kernel on the CPU, while the older ``concat`` the 2019 deck used
(``Concat``) has one, which keeps the feature maps in oneDNN's own memory layout between layers. Inside
``fast_concat()``, every hybridized graph that is built (traced) turns ``np.concatenate`` into ``Concat``:
the same values, the same gradient, a faster training step (``benchmarks/throughput.py`` measures it).
The graph is built on a hybridized net's first call, so ``d2l_extras.training.train`` runs inside it.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator

_lock = threading.RLock()   # re-entrant: a fast_concat() inside another one is fine


def _legacy_concatenate(seq, axis=0, out=None):
    """``np.concatenate`` for symbols, written with the legacy ``concat`` (oneDNN's kernel on the CPU)."""
    import mxnet as mx
    if out is not None or axis is None:
        raise ValueError('fast_concat supports np.concatenate(seq, axis=k) only (no out=, no axis=None)')
    return mx.sym.concat(*[s.as_nd_ndarray() for s in seq], dim=axis).as_np_ndarray()


@contextlib.contextmanager
def fast_concat() -> Iterator[None]:
    """Within this block, hybridized graphs built from ``np.concatenate`` use the legacy ``Concat`` operator."""
    import mxnet.symbol.numpy as symbol_np
    with _lock:
        original = symbol_np.concatenate
        symbol_np.concatenate = _legacy_concatenate
        try:
            yield
        finally:
            symbol_np.concatenate = original
