"""Parameters, FLOPs and layer-output memory of DenseNet variants and ResNets (notebook 05's tables).

Counts come from ``d2l_extras.summary.layer_table`` run down to single layers; "outputs MiB" is the
sum of every layer's output for one image (what a training step keeps for backward, roughly;
concatenations and residual additions come on top).
"""
from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd
from mxnet import init
from mxnet.gluon import nn

from . import model_zoo
from .summary import layer_table, totals

ALL_LAYERS = 99   # layer_table depth that reaches every single layer of these nets


def costs(net: nn.Block, image_size: int = 96, in_channels: int = 1) -> dict:
    """Trainable parameters, GFLOPs and MiB of layer outputs per image; initializes ``net`` if needed."""
    params = list(net.collect_params().values())
    if any(p._data is None and not p._deferred_init for p in params):
        net.initialize(init.Xavier())
    total = totals(layer_table(net, (1, in_channels, image_size, image_size), depth=ALL_LAYERS))
    return {'params': total['params'], 'GFLOPs': total['FLOPs'] / 1e9,
            'outputs MiB': total['activation bytes'] / 2 ** 20}


def compare(builders: dict[str, Callable[[], nn.Block]], image_size: int = 96,
            in_channels: int = 1) -> pd.DataFrame:
    """One row of ``costs`` per named net builder."""
    rows = {name: costs(build(), image_size, in_channels) for name, build in builders.items()}
    return pd.DataFrame.from_dict(rows, orient='index')


def variant(bottleneck: bool, compression: float, growth_rate: int = 32,
            block_config: Sequence[int] = (4, 4, 4, 4)) -> model_zoo.DenseNet:
    """The deck's DenseNet with or without the 1x1 bottleneck (B) and with compression theta (C)."""
    if not isinstance(bottleneck, bool):
        raise ValueError(f"bottleneck must be True or False, got {bottleneck!r}")
    return model_zoo.DenseNet(growth_rate, block_config, 64, 4 if bottleneck else None,
                              compression, 10, 'imagenet', use_bias=True)


def explore_bc(bottleneck: bool = True, compression: float = 0.5, growth_rate: int = 32,
               block_config: Sequence[int] = (4, 4, 4, 4), image_size: int = 96) -> pd.DataFrame:
    """Costs of the chosen B/C setting next to the plain DenseNet (no bottleneck, theta = 1)."""
    plain = variant(False, 1.0, growth_rate, block_config)
    chosen = variant(bottleneck, compression, growth_rate, block_config)
    name = ('DenseNet-BC' if compression < 1 else 'DenseNet-B') if bottleneck else \
        ('DenseNet-C' if compression < 1 else 'DenseNet')
    rows = {'DenseNet (no B, theta = 1)': costs(plain, image_size),
            f'{name} (theta = {compression:g})': costs(chosen, image_size)}
    a, b = rows.values()
    rows['ratio'] = {key: b[key] / a[key] for key in a}
    table = pd.DataFrame({
        'params': [f"{r['params']:,}" for r in (a, b)] + [f"{rows['ratio']['params']:.0%}"],
        'GFLOPs': [f"{r['GFLOPs']:.3f}" for r in (a, b)] + [f"{rows['ratio']['GFLOPs']:.0%}"],
        'outputs MiB': [f"{r['outputs MiB']:.2f}" for r in (a, b)] + [f"{rows['ratio']['outputs MiB']:.0%}"],
        'channels after each block': [plain.channels[1::2], chosen.channels[1::2], '']},
        index=list(rows))
    return table
