"""The plain functions behind the notebooks' sliders: each returns a Report (text, table, figure).

A Report shows itself in Jupyter (text first, then the table, then the figure), so
``interact(explore_dense_block, ...)`` redraws everything when a slider moves. Every number comes
from a real block or net run once on zeros, not from a formula that could drift from the code.

Functions that run MXNet are decorated with ``use_np``: ipykernel runs widget callbacks in another
thread, where the notebook's ``npx.set_np()`` (a thread-local setting) is not in force.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import floor
from typing import Sequence

import matplotlib
import numpy as onp
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.path import Path
from mxnet import autograd, init, np
from mxnet import random as mx_random
from mxnet.gluon import nn
from mxnet.util import use_np

from .densenet import (DenseBlock, check_convs_per_block, check_count, check_counts, check_input_shape,
                       count_parameters, densenet, spatial_sizes, transition_block)
from .summary import layer_table, pretty, totals

BLOCK_SIZE = 8   # height and width of the deck's DenseBlock example input


@dataclass
class Report:
    """What an explorer shows: a line of text, a table and an optional figure."""
    text: str
    table: pd.DataFrame
    figure: Figure | None = None

    def _ipython_display_(self) -> None:
        from IPython.display import display
        print(self.text)
        display(self.table)
        if self.figure is not None:
            display(self.figure)


def _run(block: nn.Block, shape: Sequence[int]) -> tuple[int, ...]:
    """Initialize ``block``, run it on zeros of ``shape`` and return the output shape."""
    block.initialize()
    with autograd.predict_mode():
        return tuple(block(np.zeros(shape)).shape)


# ---- 01: dense blocks ----------------------------------------------------------------------------
def resnet_vs_densenet_figure() -> Figure:
    """ResNet adds the input to f(x); DenseNet concatenates it, so later layers see both."""
    fig = Figure(figsize=(9, 2.6))
    for ax, title, merge, result in zip(fig.subplots(1, 2), ('ResNet', 'DenseNet'), ('+', '[ , ]'),
                                        ('x + f(x)', '[x, f(x)]')):
        box = {'boxstyle': 'round', 'fc': 'tab:blue', 'alpha': 0.25}
        ax.text(0, 0, 'x', ha='center', va='center', fontsize=13, bbox=box)
        ax.text(1.5, 0, 'f', ha='center', va='center', fontsize=13, bbox={**box, 'fc': 'tab:orange'})
        ax.text(3, 0, merge, ha='center', va='center', fontsize=13,
                bbox={**box, 'fc': 'lightgray', 'alpha': 1})
        ax.text(4.4, 0, result, ha='center', va='center', fontsize=13)
        arrow = {'arrowstyle': '-|>', 'color': 'black', 'lw': 1.3}
        for a, b in ((0.25, 1.3), (1.7, 2.65), (3.4, 3.85)):
            ax.annotate('', (b, 0), (a, 0), arrowprops=arrow)
        ax.annotate('', (3, 0.2), (0, 0.2), arrowprops={**arrow, 'connectionstyle': 'arc3,rad=-0.35'})
        ax.set_title(f'{title}: {"add" if title == "ResNet" else "concatenate"} the input', fontsize=11)
        ax.set_xlim(-0.5, 5.2)
        ax.set_ylim(-0.5, 1.3)
        ax.axis('off')
    fig.tight_layout()
    return fig


def _check_block_args(growth_rate: int, num_convs: int, in_channels: int) -> None:
    """ValueError unless the three dense-block explorer arguments are positive integers."""
    check_count('growth_rate', growth_rate)
    check_count('num_convs', num_convs)
    check_count('in_channels', in_channels)


@use_np
def _dense_block(growth_rate: int, num_convs: int, in_channels: int) -> tuple[DenseBlock, tuple[int, ...]]:
    """A DenseBlock run once on a (1, in_channels, 8, 8) input, and its output shape."""
    _check_block_args(growth_rate, num_convs, in_channels)
    blk = DenseBlock(num_convs, growth_rate)
    return blk, _run(blk, (1, in_channels, BLOCK_SIZE, BLOCK_SIZE))


def _conv_rows(blk: DenseBlock) -> pd.DataFrame:
    """Channels each conv block of a run DenseBlock sees and adds (read from its weights), and its params."""
    rows = []
    for i, conv in enumerate(blk.net):
        adds, sees = conv[-1].weight.shape[:2]
        rows.append({'conv block': i + 1, 'sees channels': sees, 'adds channels': adds,
                     'output channels': sees + adds, 'params': count_parameters(conv)})
    return pd.DataFrame(rows).set_index('conv block')


def dense_block_table(growth_rate: int = 10, num_convs: int = 2, in_channels: int = 3) -> pd.DataFrame:
    """Per conv block of DenseBlock(num_convs, growth_rate): channels it sees, adds, outputs; params."""
    return _conv_rows(_dense_block(growth_rate, num_convs, in_channels)[0])


def dense_block_diagram(growth_rate: int = 10, num_convs: int = 2, in_channels: int = 3) -> Figure:
    """Arc diagram of a dense block: every conv block reads the input and every earlier output."""
    _check_block_args(growth_rate, num_convs, in_channels)
    colors = matplotlib.colormaps['tab10']
    n = num_convs + 2                                   # input, conv blocks, concatenated output
    fig = Figure(figsize=(max(6.5, 1.3 * n + 1), 3.4))
    ax = fig.add_subplot()
    names = (['input'] + [f'conv {i}' for i in range(1, num_convs + 1)] + ['output'])
    channels = [in_channels] + [growth_rate] * num_convs + [in_channels + num_convs * growth_rate]
    top = 0.0
    for j in range(1, n):                               # arcs into node j from every earlier node
        for i in range(j):
            height = 0.35 * (j - i) ** 0.8
            top = max(top, height)
            arc = Path([(i, 0.2), ((i + j) / 2, 0.2 + 2 * height), (j, 0.2)],
                       [Path.MOVETO, Path.CURVE3, Path.CURVE3])
            ax.add_patch(FancyArrowPatch(path=arc, arrowstyle='-|>', mutation_scale=10, lw=1.2,
                                         color=colors(i % 10), alpha=0.8))
    for k, (name, c) in enumerate(zip(names, channels)):
        color = 'lightgray' if k == n - 1 else colors(k % 10)
        ax.text(k, 0, f'{name}\n{"+" if 0 < k < n - 1 else ""}{c} ch', ha='center', va='center', fontsize=9,
                bbox={'boxstyle': 'round', 'fc': color, 'alpha': 0.35 if k < n - 1 else 1.0})
        if 0 < k < n - 1:
            ax.text(k, -0.3, f'sees {in_channels + (k - 1) * growth_rate}', ha='center', fontsize=8)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(-0.45, 0.3 + top)
    ax.axis('off')
    ax.set_title(f'DenseBlock({num_convs}, {growth_rate}): each arrow carries feature maps to a later\n'
                 'layer, where they are concatenated on the channel axis (never added)', fontsize=10)
    fig.tight_layout()
    return fig


@use_np
def explore_dense_block(growth_rate: int = 10, num_convs: int = 2, in_channels: int = 3) -> Report:
    """Output shape, parameters per conv block and connectivity of DenseBlock(num_convs, growth_rate)."""
    blk, shape = _dense_block(growth_rate, num_convs, in_channels)
    table = _conv_rows(blk)
    text = (f'Output shape: {shape}\n'
            f'{in_channels} + {num_convs} x {growth_rate} = {shape[1]} channels; '
            f'{table["params"].sum():,} parameters')
    return Report(text, table, dense_block_diagram(growth_rate, num_convs, in_channels))


@use_np
def feature_maps_figure(image: onp.ndarray, growth_rate: int = 4, num_convs: int = 3,
                        seed: int = 0) -> Figure:
    """The feature maps each conv block of an (untrained, seeded) DenseBlock adds to one image."""
    image = onp.asarray(image, dtype='float32')
    if image.ndim != 2:
        raise ValueError(f'image must have rank 2 (height, width), got shape {image.shape}')
    check_count('growth_rate', growth_rate, high=16)
    check_count('num_convs', num_convs, high=8)
    mx_random.seed(seed)
    blk = DenseBlock(num_convs, growth_rate)
    blk.initialize(init.Xavier())
    with autograd.predict_mode():
        out = blk(np.array(image)[None, None]).asnumpy()[0]
    cols = max(growth_rate, 1) + 1
    fig = Figure(figsize=(1.3 * cols, 1.45 * (num_convs + 1)))
    axes = fig.subplots(num_convs + 1, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    axes[0, 0].imshow(image, cmap='gray')
    axes[0, 0].set_title('input (1 ch)', fontsize=9)
    for i in range(num_convs):
        axes[i + 1, 0].text(0.5, 0.5, f'conv {i + 1}\nsees {1 + i * growth_rate} ch\nadds {growth_rate}',
                            ha='center', va='center', fontsize=9, transform=axes[i + 1, 0].transAxes)
        for c in range(growth_rate):
            axes[i + 1, c + 1].imshow(out[1 + i * growth_rate + c], cmap='viridis')
    fig.suptitle('New feature maps per conv block (the input and all earlier maps are kept)', fontsize=10)
    fig.tight_layout()
    return fig


# ---- 02: transition layers -----------------------------------------------------------------------
def check_theta(theta: float, in_channels: int) -> int:
    """Return floor(theta x in_channels) if theta is in (0, 1] and that leaves at least 1 channel."""
    if isinstance(theta, bool) or not isinstance(theta, (int, float)) or not 0 < theta <= 1:
        raise ValueError(f'theta must be a number in (0, 1], got {theta!r}')
    out = floor(round(theta * in_channels, 9))           # round: 0.29 * 100 is 28.999999999999996
    if out < 1:
        raise ValueError(f'theta x in_channels must be at least 1 channel, got {theta!r} x {in_channels}')
    return out


@use_np
def compression_table(theta: float = 0.5, in_channels: int = 192, size: int = 24,
                      growth_rate: int = 32, num_convs: int = 4) -> pd.DataFrame:
    """Params and MFLOPs of a transition and the dense block after it, theta = 1 vs ``theta``.

    Defaults: the corrected model at 96 px, after dense block 1 (192 channels, 24 x 24).
    """
    check_count('in_channels', in_channels)
    check_count('size', size, low=2)
    check_count('growth_rate', growth_rate)
    check_count('num_convs', num_convs)
    result = {}
    for t in (1, theta):
        net = nn.HybridSequential()
        net.add(transition_block(check_theta(t, in_channels)), DenseBlock(num_convs, growth_rate))
        net.initialize()
        result[t] = layer_table(net, (1, in_channels, size, size))
    one, this = '(θ=1)', f'(θ={theta:g})'
    table = pd.DataFrame({f'params {one}': result[1]['params'].to_numpy(),
                          f'params {this}': result[theta]['params'].to_numpy(),
                          f'MFLOPs {one}': 2 * result[1]['mult-adds'].to_numpy() / 1e6,
                          f'MFLOPs {this}': 2 * result[theta]['mult-adds'].to_numpy() / 1e6},
                         index=pd.Index(['transition', 'next dense block'], name='part'))
    table.loc['both'] = table.sum()
    table = table.astype({f'params {one}': int, f'params {this}': int})
    for what in ('params', 'MFLOPs'):
        table[f'{what} saved'] = (1 - table[f'{what} {this}'] / table[f'{what} {one}']).round(3)
    return table.round({f'MFLOPs {one}': 2, f'MFLOPs {this}': 2})


@use_np
def explore_compression(theta: float = 0.5, in_channels: int = 192, size: int = 24,
                        growth_rate: int = 32, num_convs: int = 4) -> Report:
    """What a compression factor theta saves in the transition and the dense block after it."""
    table = compression_table(theta, in_channels, size, growth_rate, num_convs)
    out = check_theta(theta, in_channels)
    text = (f'θ = {theta:g}: the transition outputs floor({theta:g} x {in_channels}) = {out} channels '
            f'at {size // 2} x {size // 2}; the next block grows them to {out + num_convs * growth_rate}.\n'
            f'Saved in both: {table.loc["both", "params saved"]:.1%} of the parameters, '
            f'{table.loc["both", "MFLOPs saved"]:.1%} of the FLOPs.')
    fig = Figure(figsize=(8.5, 2.6))
    for ax, what in zip(fig.subplots(1, 2), ('params', 'MFLOPs')):
        cols = [f'{what} (θ=1)', f'{what} (θ={theta:g})']
        bottom = onp.zeros(2)
        for part, color in zip(['transition', 'next dense block'], ['tab:orange', 'tab:blue']):
            values = table.loc[part, cols].to_numpy(dtype=float)
            ax.bar(['θ = 1', f'θ = {theta:g}'], values, bottom=bottom, color=color, label=part)
            bottom += values
        ax.set_title(what, fontsize=10)
    ax.legend(fontsize=8, loc='upper left', bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return Report(text, table, fig)


# ---- 03: the model -------------------------------------------------------------------------------
MAIN_STAGES = ('Conv 7x7/2', 'DenseBlock', 'AvgPool 2x2/2', 'Dense')   # rows worth a side-by-side


@use_np
def deck_vs_fixed(growth_rate: int = 32, convs_per_block: Sequence[int] = (4, 4, 4, 4),
                  input_size: int = 96, num_classes: int = 10) -> pd.DataFrame:
    """Output channels and params per stage of the deck's model (fixed=False) next to the fixed one."""
    tables = {}
    for fixed in (False, True):
        net = densenet(growth_rate, convs_per_block, num_classes, fixed=fixed)
        net.initialize()
        tables[fixed] = layer_table(net, (1, 1, input_size, input_size))
    keep = tables[True]['layer'].str.endswith(MAIN_STAGES)
    table = pd.DataFrame({'layer': tables[True]['layer'][keep],
                          'deck: channels': tables[False]['channels'][keep],
                          'fixed: channels': tables[True]['channels'][keep],
                          'deck: params': tables[False]['params'][keep],
                          'fixed: params': tables[True]['params'][keep]})
    total = {'layer': 'total (whole net)', 'deck: channels': '', 'fixed: channels': '',
             'deck: params': tables[False]['params'].sum(), 'fixed: params': tables[True]['params'].sum()}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True).set_index('layer')


def spatial_size_table(input_sizes: Sequence[int] = (28, 29, 32, 96, 224),
                       num_blocks: int = 4) -> pd.DataFrame:
    """Height/width after each down-sampling stage for several input sizes; 0 means the stage fails."""
    columns = {}
    for size in check_counts('input_sizes', input_sizes):
        stages = spatial_sizes(size, num_blocks)
        columns[f'{size} px'] = [s for _, s in stages] + ['yes' if stages[-1][1] >= 1 else 'no']
    index = [name for name, _ in spatial_sizes(1, num_blocks)] + ['works?']
    return pd.DataFrame(columns, index=index)


@use_np
def explore_densenet(growth_rate: int = 32, convs_per_block: Sequence[int] = (4, 4, 4, 4),
                     input_size: int = 96, fixed: bool = True) -> Report:
    """Layer table, total parameters and FLOPs of densenet(growth_rate, convs_per_block) at input_size."""
    check_count('growth_rate', growth_rate)
    convs_per_block = check_convs_per_block(convs_per_block)
    check_count('input_size', input_size)
    check_input_shape((1, 1, input_size, input_size), len(convs_per_block))
    net = densenet(growth_rate, convs_per_block, fixed=bool(fixed))
    net.initialize()
    table = layer_table(net, (1, 1, input_size, input_size))
    total = totals(table)
    text = (f'densenet(growth_rate={growth_rate}, convs_per_block={convs_per_block}, fixed={bool(fixed)}) '
            f'at {input_size} x {input_size}:\n'
            f'{total["params"]:,} parameters, {total["FLOPs"] / 1e9:.3f} GFLOPs per image, '
            f'{total["activation bytes"] / 2**20:.2f} MiB of layer outputs per image')
    return Report(text, pretty(table))
