"""What a network costs, layer by layer: output shape, channels, parameters, FLOPs and activation memory.

Everything comes from MXNet's shape inference on the real network: ``layer_table`` calls the net once
on a symbolic input (no values, no initialization, no arithmetic), with hooks on every block, and asks
MXNet for the shape of every intermediate result. So it is exact and quick even for DenseNet-169 at
224 px, and the net need not be initialized (the parameters' shapes are set, as a first call would).

Two measures, defined once here and used by every notebook:

- **FLOPs**: 2 per multiply-add of the convolutions and dense layers (BatchNorm, ReLU, pooling and
  concatenation are cheap in comparison and not counted);
- **activations**: every value that an operation of the forward pass outputs (each convolution,
  BatchNorm, ReLU, pooling, concatenation and the dense layer), in float32. A training step must keep
  these (or recompute them) for the backward pass; MXNet's memory planner shares and reuses some
  buffers, so a measured step is not this sum (notebook 05 compares the two).
"""
from __future__ import annotations

import json
import re
from math import prod
from typing import Iterable, Sequence

import mxnet as mx
import pandas as pd
from mxnet.gluon import nn
from mxnet.util import use_np

from .sizes import MAX_BATCH, MAX_CHANNELS, MAX_IMAGE_SIZE, check_choice, check_int, check_ints, count_parameters

COLUMNS = ['layer', 'output shape', 'channels', 'params', 'mult-adds', 'activation bytes']
BYTES_PER_VALUE = 4   # float32


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
    if isinstance(block, (nn.Sequential, nn.HybridSequential)) and block._children:
        return '-'.join(describe(child) for child in block._children.values())
    return type(block).__name__


def _descendants(block: nn.Block) -> list[nn.Block]:
    """The block and every block inside it."""
    return [block] + [b for child in block._children.values() for b in _descendants(child)]


def _rows(block: nn.Block, depth: int, called: set[int]) -> list[tuple[str, nn.Block]]:
    """(path, block) of the called blocks ``depth`` levels down; leaves stop early, uncalled containers
    (like the ``net`` inside a DenseBlock) are looked into."""
    if not block._children or (depth <= 0 and id(block) in called):
        return [('', block)] if id(block) in called else []
    rows = []
    for name, child in block._children.items():
        rows += [(f'{name}.{sub}'.rstrip('.'), b) for sub, b in _rows(child, depth - 1, called)]
    return rows


def _mult_adds(block: nn.Block, in_shape: tuple, out_shape: tuple) -> int:
    """Multiply-adds of one call of a Conv2D or Dense layer (0 for every other block)."""
    if isinstance(block, nn.Conv2D):
        kwargs = block._kwargs
        return prod(out_shape) * (in_shape[1] // kwargs['num_group']) * prod(kwargs['kernel'])
    if isinstance(block, nn.Dense):
        return prod(out_shape) * prod(in_shape[1:] if block._flatten else in_shape[-1:])
    return 0


def _node_name(output: str) -> str:
    """The graph node an output belongs to: 'conv0_fwd_output' -> 'conv0_fwd', 'x_concatenate0_out' -> ..."""
    return re.sub(r'_out(put)?\d*$', '', output)


def _check_net(net: object) -> None:
    if not isinstance(net, nn.HybridBlock):
        raise ValueError(f'net must be a Gluon HybridBlock (shapes are inferred from its graph), '
                         f'got {type(net).__name__}')


@use_np   # also in widget callbacks, which ipykernel runs outside the notebook's thread
def layer_table(net: nn.HybridBlock, input_shape: Sequence[int], depth: int = 1) -> pd.DataFrame:
    """One row per layer of ``net`` for an input of ``input_shape`` (batch included).

    Args:
        net: any Gluon HybridBlock, initialized or not (its parameters' shapes get set).
        input_shape: e.g. ``(1, 1, 96, 96)``; mult-adds and activations are for this whole batch.
        depth: 1 lists the net's children, 2 their children, and so on.
    Returns:
        A DataFrame with the columns ``COLUMNS``: ``params`` counts trainable values; ``activation bytes``
        are the outputs of every operation inside the row (see the module's docstring). Operations that
        belong to no row (the concatenations of a dense block listed at depth 2) get a row of their own,
        so that the columns always add up to the whole net.
    """
    _check_net(net)
    input_shape = check_ints('input_shape', input_shape, high=max(MAX_BATCH, MAX_CHANNELS, MAX_IMAGE_SIZE),
                             max_len=6)
    check_int('depth', depth, high=32)
    calls: dict[int, tuple] = {}

    def record(block, inputs, output):
        calls[id(block)] = (inputs[0], output)

    handles = [b.register_forward_hook(record) for b in _descendants(net)]
    try:
        out = net(mx.sym.var('data').as_np_ndarray())
    finally:
        for handle in handles:
            handle.detach()
    graph = out.get_internals()
    try:
        arg_shapes, out_shapes, aux_shapes = graph.infer_shape(data=input_shape)
    except mx.base.MXNetError as error:
        message = str(error).strip().splitlines()[-1]
        raise ValueError(f'net cannot process an input of shape {input_shape}: {message}') from None
    shapes = dict(zip(graph.list_outputs(), out_shapes))
    for params, names, values in ((net.collect_params(), graph.list_arguments(), arg_shapes),
                                  (net.collect_params(), graph.list_auxiliary_states(), aux_shapes)):
        for name, shape in zip(names, values):
            if name in params:
                params[name].shape = shape     # what Gluon's own shape inference does
    variables = set(graph.list_arguments()) | set(graph.list_auxiliary_states())

    def op_outputs(sym) -> set[str]:
        return {name for name in sym.get_internals().list_outputs() if name not in variables}

    rows, counted = [], set()
    for path, block in _rows(net, depth, set(calls)):
        x, y = calls[id(block)]
        inside = op_outputs(y) - op_outputs(x) - counted
        counted |= inside
        out_shape = shapes[y.list_outputs()[0]]
        leaves = [b for b in _descendants(block) if id(b) in calls]
        rows.append({
            'layer': f'{path} {describe(block)}'.strip(),
            'output shape': tuple(out_shape),
            'channels': out_shape[1] if len(out_shape) > 1 else out_shape[0],
            'params': count_parameters(block),
            'mult-adds': sum(_mult_adds(b, shapes[calls[id(b)][0].list_outputs()[0]],
                                        shapes[calls[id(b)][1].list_outputs()[0]]) for b in leaves),
            'activation bytes': sum(prod(shapes[name]) for name in inside) * BYTES_PER_VALUE,
        })
    rest = op_outputs(out) - counted
    if rest:
        ops = {node['name']: node['op'] for node in json.loads(out.tojson())['nodes']}
        kinds = sorted({ops[_node_name(name)] for name in rest})
        kinds = ['concatenate' if 'oncat' in kind else kind for kind in kinds]
        rows.append({'layer': f'{len(rest)} x {"/".join(kinds)} (between the rows)', 'output shape': '',
                     'channels': '', 'params': 0, 'mult-adds': 0,
                     'activation bytes': sum(prod(shapes[name]) for name in rest) * BYTES_PER_VALUE})
    return pd.DataFrame(rows, columns=COLUMNS)


def totals(table: pd.DataFrame) -> dict[str, int]:
    """Total params, mult-adds, FLOPs (2 per mult-add) and activation bytes of a ``layer_table``."""
    total = {col: int(table[col].sum()) for col in ('params', 'mult-adds', 'activation bytes')}
    return {**total, 'FLOPs': 2 * total['mult-adds']}


def pretty(table: pd.DataFrame) -> pd.DataFrame:
    """A readable copy of a ``layer_table``: thousands separators, MFLOPs, KiB, a total row, no index."""
    total = totals(table)
    total_row = {'layer': 'total', 'output shape': '', 'channels': '', **total}
    shown = pd.concat([table, pd.DataFrame([total_row], columns=COLUMNS)], ignore_index=True)
    return pd.DataFrame({
        'layer': shown['layer'],
        'output shape': shown['output shape'].map(str),
        'channels': shown['channels'],
        'params': shown['params'].map('{:,}'.format),
        'MFLOPs': (2 * shown['mult-adds'] / 1e6).map('{:,.2f}'.format),
        'activations (KiB)': (shown['activation bytes'] / 1024).map('{:,.1f}'.format),
    }).set_index('layer').rename_axis(None)


def costs(net: nn.HybridBlock, image_size: int = 96, in_channels: int = 1) -> dict[str, float]:
    """Trainable parameters, forward GFLOPs and MiB of activations for one image of ``image_size`` px."""
    check_int('image_size', image_size, high=MAX_IMAGE_SIZE)
    check_int('in_channels', in_channels, high=MAX_CHANNELS)
    total = totals(layer_table(net, (1, in_channels, image_size, image_size)))
    return {'params': total['params'], 'GFLOPs': total['FLOPs'] / 1e9,
            'activations MiB': total['activation bytes'] / 2 ** 20}


def compare(names: Iterable[str], image_size: int = 96, in_channels: int = 1) -> pd.DataFrame:
    """One row of ``costs`` per model of the registry (``d2l_extras.model_zoo.MODELS``), by name."""
    from .model_zoo import MODELS, build
    rows = {check_choice('name', name, MODELS): costs(build(name), image_size, in_channels) for name in names}
    return pd.DataFrame.from_dict(rows, orient='index')
