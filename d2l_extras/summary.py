"""A layer-by-layer table of any Gluon net: output shape, channels, parameters, mult-adds, memory.

One forward pass with hooks on every block records what each layer outputs; rows are the net's
children (``depth=1``) or their children (``depth=2``) ... Mult-adds count Conv2D and Dense layers
only (BatchNorm, activations and pooling are cheap in comparison); one mult-add is two FLOPs.
"""
from __future__ import annotations

from math import prod
from typing import Sequence

import pandas as pd
from mxnet import autograd, np
from mxnet.gluon import nn
from mxnet.util import use_np

from .densenet import check_count, check_counts

COLUMNS = ['layer', 'output shape', 'channels', 'params', 'mult-adds', 'activation bytes']


def describe(block: nn.Block) -> str:
    """A short name for a block: 'Conv 3x3', 'MaxPool 3x3/2', 'BN-ReLU-Conv 1x1-AvgPool 2x2/2', ..."""
    kwargs = getattr(block, '_kwargs', {})
    stride = '' if max(kwargs.get('stride', (1,))) == 1 else f"/{kwargs['stride'][0]}"
    if isinstance(block, nn.Conv2D):
        return f"Conv {'x'.join(map(str, kwargs['kernel']))}{stride}"
    if isinstance(block, (nn.MaxPool2D, nn.AvgPool2D)):
        kind = 'MaxPool' if kwargs['pool_type'] == 'max' else 'AvgPool'
        return f"{kind} {'x'.join(map(str, kwargs['kernel']))}{stride}"
    if isinstance(block, (nn.GlobalAvgPool2D, nn.GlobalMaxPool2D)):
        return 'GlobalAvgPool' if kwargs['pool_type'] == 'avg' else 'GlobalMaxPool'
    if isinstance(block, nn.BatchNorm):
        return 'BN'
    if isinstance(block, nn.Activation):
        return 'ReLU' if block._act_type == 'relu' else block._act_type
    if isinstance(block, (nn.Sequential, nn.HybridSequential)):
        return '-'.join(describe(child) for child in block._children.values())
    return type(block).__name__


def _mult_adds(block: nn.Block, in_shape: tuple, out_shape: tuple) -> int:
    """Multiply-adds of one call of a Conv2D or Dense layer (0 for every other block)."""
    if isinstance(block, nn.Conv2D):
        kwargs = block._kwargs
        return prod(out_shape) * (in_shape[1] // kwargs['num_group']) * prod(kwargs['kernel'])
    if isinstance(block, nn.Dense):
        return prod(out_shape) * prod(in_shape[1:] if block._flatten else in_shape[-1:])
    return 0


def _rows(block: nn.Block, depth: int, called: set[int]) -> list[tuple[str, nn.Block]]:
    """(path, block) of the called blocks ``depth`` levels down; leaves stop early, uncalled
    containers (like the ``net`` inside a DenseBlock) are looked into."""
    if not block._children or (depth <= 0 and id(block) in called):
        return [('', block)] if id(block) in called else []
    rows = []
    for name, child in block._children.items():
        rows += [(f'{name}.{sub}'.rstrip('.'), b) for sub, b in _rows(child, depth - 1, called)]
    return rows


def _descendants(block: nn.Block) -> list[nn.Block]:
    """The block and every block inside it."""
    return [block] + [b for child in block._children.values() for b in _descendants(child)]


@use_np   # also in widget callbacks, which ipykernel runs outside the notebook's thread
def layer_table(net: nn.Block, input_shape: Sequence[int], depth: int = 1,
                bytes_per_value: int = 4) -> pd.DataFrame:
    """One row per layer of an initialized ``net`` run on ``input_shape`` (batch included).

    Args:
        net: any Gluon Block; hybridized nets are run imperatively once, then hybridized again.
        input_shape: e.g. ``(1, 1, 96, 96)``; mult-adds and memory are for this whole batch.
        depth: 1 lists the net's children, 2 their children, and so on.
        bytes_per_value: 4 for float32 activations.
    Returns:
        A DataFrame with the columns in ``COLUMNS``; ``params`` counts trainable values only.
    """
    input_shape = check_counts('input_shape', input_shape)
    check_count('depth', depth)
    check_count('bytes_per_value', bytes_per_value)
    params = list(net.collect_params().values())
    if any(p._data is None and not p._deferred_init for p in params):
        raise ValueError('net must be initialized before layer_table: call net.initialize() first')
    ctx = params[0].list_ctx()[0] if params else None
    calls: dict[int, list[tuple[tuple, tuple]]] = {}

    def record(block, inputs, output):
        calls.setdefault(id(block), []).append((inputs[0].shape, output.shape))

    active, flags = getattr(net, '_active', False), dict(getattr(net, '_flags', []))
    if active:
        net.hybridize(False)            # hooks of children fire only when run imperatively
    handles = [b.register_forward_hook(record) for b in _descendants(net)]
    try:
        with autograd.predict_mode():
            net(np.zeros(input_shape, ctx=ctx))
    finally:
        for handle in handles:
            handle.detach()
        if active:
            net.hybridize(True, **flags)
    rows = []
    for path, block in _rows(net, depth, set(calls)):
        out_shape = calls[id(block)][-1][1]
        inside = [(b, i, o) for b in _descendants(block) for i, o in calls.get(id(b), [])]
        rows.append({
            'layer': f'{path} {describe(block)}'.strip(),
            'output shape': tuple(out_shape),
            'channels': out_shape[1] if len(out_shape) > 1 else out_shape[0],
            'params': sum(p.data().size for p in block.collect_params().values() if p.grad_req != 'null'),
            'mult-adds': sum(_mult_adds(b, i, o) for b, i, o in inside),
            'activation bytes': prod(out_shape) * bytes_per_value,
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def totals(table: pd.DataFrame) -> dict[str, int]:
    """Total params, mult-adds, FLOPs (2 per mult-add) and activation bytes of a ``layer_table``."""
    total = {col: int(table[col].sum()) for col in ('params', 'mult-adds', 'activation bytes')}
    return {**total, 'FLOPs': 2 * total['mult-adds']}


def pretty(table: pd.DataFrame) -> pd.DataFrame:
    """A readable copy of a ``layer_table``: thousands separators, MFLOPs, KiB and a total row."""
    total = totals(table)
    total_row = {'layer': 'total', 'output shape': '', 'channels': '', **total}
    shown = pd.concat([table, pd.DataFrame([total_row], columns=COLUMNS)], ignore_index=True)
    return pd.DataFrame({
        'layer': shown['layer'],
        'output shape': shown['output shape'].map(str),
        'channels': shown['channels'],
        'params': shown['params'].map('{:,}'.format),
        'MFLOPs': (2 * shown['mult-adds'] / 1e6).map('{:,.2f}'.format),
        'memory (KiB)': (shown['activation bytes'] / 1024).map('{:,.1f}'.format),
    })
