"""The plain functions behind the notebooks' sliders: each ``explore_*`` returns a Report (text, table, figure).

A Report shows itself in Jupyter (text, then the table, then the figure), so ``interact(explore_dense_block,
...)`` redraws everything when a slider moves. Every number comes from MXNet's shape inference on the real
block or net (``d2l_extras.summary``), not from a formula that could drift from the code. Every argument is
checked first (``d2l_extras.sizes``): a bad value gets a ValueError naming it, never a hang or an MXNet error.

Functions that touch MXNet are decorated with ``use_np``: ipykernel runs widget callbacks in another
thread, where the notebook's ``npx.set_np()`` (a thread-local setting) is not in force.
"""
from __future__ import annotations

from dataclasses import dataclass
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

from .densenet import DenseBlock, transition_block
from .model_zoo import DenseNet, lesson_densenet
from .sizes import (MAX_BLOCKS, MAX_CHANNELS, MAX_CONVS, MAX_GROWTH_RATE, MAX_IMAGE_SIZE, check_bool,
                    check_fraction, check_input_size, check_int, check_ints, count_parameters, spatial_sizes,
                    transition_channels)
from .summary import layer_table, pretty, totals

BLOCK_SIZE = 8          # height and width of the deck's DenseBlock example input
MAX_DIAGRAM_CONVS = 16  # conv blocks an arc diagram can still show legibly


@dataclass
class Report:
    """What an explorer shows: a line of text, a table and an optional figure."""
    text: str
    table: pd.DataFrame
    figure: Figure | None = None

    def _ipython_display_(self) -> None:
        from IPython.display import display
        print(self.text)
        display(self.shown_table())
        if self.figure is not None:
            display(self.figure)

    def shown_table(self) -> pd.DataFrame:
        """The table as shown: whole numbers with thousands separators (the ``table`` itself stays numeric)."""
        return self.table.apply(lambda column: column.map('{:,}'.format)
                                if pd.api.types.is_integer_dtype(column) else column)


# ---- 01: dense blocks ----------------------------------------------------------------------------
def resnet_vs_densenet_figure() -> Figure:
    """ResNet adds x to g(x); DenseNet concatenates them, so later layers see both."""
    fig = Figure(figsize=(9, 2.4))
    for ax, title, merge, result in zip(fig.subplots(1, 2), ('ResNet: add', 'DenseNet: concatenate'),
                                        ('+', '[ , ]'), ('x + g(x)', '[x, g(x)]')):
        box = {'boxstyle': 'round', 'fc': 'tab:blue', 'alpha': 0.25}
        ax.text(0, 0, 'x', ha='center', va='center', fontsize=13, bbox=box)
        ax.text(1.5, 0, 'g', ha='center', va='center', fontsize=13, bbox={**box, 'fc': 'tab:orange'})
        ax.text(3, 0, merge, ha='center', va='center', fontsize=13, bbox={**box, 'fc': 'lightgray', 'alpha': 1})
        ax.text(4.4, 0, result, ha='center', va='center', fontsize=13)
        arrow = {'arrowstyle': '-|>', 'color': 'black', 'lw': 1.3}
        for a, b in ((0.25, 1.3), (1.7, 2.65), (3.4, 3.85)):
            ax.annotate('', (b, 0), (a, 0), arrowprops=arrow)
        ax.annotate('', (3, 0.2), (0, 0.2), arrowprops={**arrow, 'connectionstyle': 'arc3,rad=-0.35'})
        ax.set_title(title, fontsize=12)
        ax.set_xlim(-0.5, 5.2)
        ax.set_ylim(-0.5, 1.3)
        ax.axis('off')
    fig.tight_layout()
    return fig


def _check_block_args(growth_rate: int, num_convs: int, in_channels: int) -> None:
    """ValueError unless the three dense-block arguments are integers within their limits."""
    check_int('growth_rate', growth_rate, high=MAX_GROWTH_RATE)
    check_int('num_convs', num_convs, high=MAX_CONVS)
    check_int('in_channels', in_channels, high=MAX_CHANNELS)


@use_np
def dense_block_table(growth_rate: int = 10, num_convs: int = 2, in_channels: int = 3) -> pd.DataFrame:
    """Per conv block of DenseBlock(num_convs, growth_rate): channels it sees, adds and outputs; params."""
    _check_block_args(growth_rate, num_convs, in_channels)
    blk = DenseBlock(num_convs, growth_rate)
    layer_table(blk, (1, in_channels, BLOCK_SIZE, BLOCK_SIZE))      # infers every weight's shape
    rows = []
    for i, conv in enumerate(blk.net, 1):
        adds, sees = conv[-1].weight.shape[:2]
        rows.append({'conv block': i, 'sees channels': sees, 'adds channels': adds,
                     'output channels': sees + adds, 'params': count_parameters(conv)})
    return pd.DataFrame(rows).set_index('conv block')


def dense_block_diagram(growth_rate: int = 10, num_convs: int = 2, in_channels: int = 3) -> Figure:
    """Arc diagram of a dense block: every conv block reads the input and every earlier output."""
    _check_block_args(growth_rate, num_convs, in_channels)
    check_int('num_convs', num_convs, high=MAX_DIAGRAM_CONVS)
    colors = matplotlib.colormaps['tab10']
    n = num_convs + 2                                   # input, conv blocks, concatenated output
    fig = Figure(figsize=(9, 3.2))
    ax = fig.add_subplot()
    names = ['input'] + [f'conv {i}' for i in range(1, num_convs + 1)] + ['output']
    channels = [in_channels] + [growth_rate] * num_convs + [in_channels + num_convs * growth_rate]
    fontsize = 11 if n <= 6 else 9
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
        ax.text(k, 0, f'{name}\n{"+" if 0 < k < n - 1 else ""}{c} ch', ha='center', va='center',
                fontsize=fontsize, bbox={'boxstyle': 'round', 'fc': color, 'alpha': 0.35 if k < n - 1 else 1.0})
        if 0 < k < n - 1:
            ax.text(k, -0.32, f'sees {in_channels + (k - 1) * growth_rate}', ha='center', fontsize=fontsize - 1)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(-0.45, 0.3 + top)
    ax.axis('off')
    ax.set_title(f'DenseBlock({num_convs}, {growth_rate}): every arrow carries feature maps forward; '
                 'they are concatenated, never added', fontsize=11)
    fig.tight_layout()
    return fig


@use_np
def explore_dense_block(growth_rate: int = 10, num_convs: int = 2, in_channels: int = 3) -> Report:
    """Output shape, parameters per conv block and connections of DenseBlock(num_convs, growth_rate)."""
    table = dense_block_table(growth_rate, num_convs, in_channels)
    out = in_channels + num_convs * growth_rate
    text = (f'Output shape: (1, {out}, {BLOCK_SIZE}, {BLOCK_SIZE})\n'
            f'{in_channels} + {num_convs} x {growth_rate} = {out} channels; '
            f'{table["params"].sum():,} parameters')
    figure = dense_block_diagram(growth_rate, num_convs, in_channels) if num_convs <= MAX_DIAGRAM_CONVS else None
    return Report(text, table, figure)


@use_np
def feature_maps_figure(image: onp.ndarray, growth_rate: int = 4, num_convs: int = 3, seed: int = 0) -> Figure:
    """The feature maps each conv block of an (untrained, seeded) DenseBlock adds to one image."""
    wanted = f'image must be a 2-D array of numbers (height, width) of 1 to {MAX_IMAGE_SIZE} pixels a side'
    try:
        image = onp.asarray(image, dtype='float32')
    except (TypeError, ValueError):
        raise ValueError(f'{wanted}, got {type(image).__name__} {str(image)[:40]!r}') from None
    if image.ndim != 2 or min(image.shape, default=0) < 1 or max(image.shape) > MAX_IMAGE_SIZE:
        raise ValueError(f'{wanted}, got shape {image.shape}')
    check_int('growth_rate', growth_rate, high=16)
    check_int('num_convs', num_convs, high=8)
    check_int('seed', seed, low=0, high=2 ** 31 - 1)
    mx_random.seed(seed)
    blk = DenseBlock(num_convs, growth_rate)
    blk.initialize(init.Xavier())
    with autograd.predict_mode():
        out = blk(np.array(image)[None, None]).asnumpy()[0]
    cols = growth_rate + 1
    fig = Figure(figsize=(min(1.1 * cols, 9), 0.85 * (num_convs + 1)))
    axes = fig.subplots(num_convs + 1, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    axes[0, 0].imshow(image, cmap='gray')
    axes[0, 0].set_title('input (1 ch)', fontsize=10)
    for i in range(num_convs):
        axes[i + 1, 0].text(0.5, 0.5, f'conv {i + 1}\nsees {1 + i * growth_rate}\nadds {growth_rate}',
                            ha='center', va='center', fontsize=10, transform=axes[i + 1, 0].transAxes)
        for c in range(growth_rate):
            axes[i + 1, c + 1].imshow(out[1 + i * growth_rate + c], cmap='viridis')
    fig.suptitle('New feature maps of each conv block (the input and all earlier maps are kept)', fontsize=11)
    fig.tight_layout()
    return fig


# ---- 02: transition layers -----------------------------------------------------------------------
@use_np
def compression_table(theta: float = 0.5, in_channels: int = 192, size: int = 24,
                      growth_rate: int = 32, num_convs: int = 4) -> pd.DataFrame:
    """Params and MFLOPs of a transition and the dense block after it, theta = 1 vs ``theta``.

    Defaults: the corrected model at 96 px, after dense block 1 (192 channels, 24 x 24).
    """
    check_fraction('theta', theta)
    check_int('in_channels', in_channels, high=MAX_CHANNELS)
    check_int('size', size, low=2, high=MAX_IMAGE_SIZE)
    check_int('growth_rate', growth_rate, high=MAX_GROWTH_RATE)
    check_int('num_convs', num_convs, high=MAX_CONVS)
    result = {}
    for t in (1, theta):
        net = nn.HybridSequential()
        net.add(transition_block(transition_channels(in_channels, t)), DenseBlock(num_convs, growth_rate))
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
    out = transition_channels(in_channels, theta)
    text = (f'θ = {theta:g}: the transition outputs floor({theta:g} x {in_channels}) = {out} channels '
            f'at {size // 2} x {size // 2}; the next block grows them to {out + num_convs * growth_rate}.\n'
            f'Saved in both: {table.loc["both", "params saved"]:.1%} of the parameters, '
            f'{table.loc["both", "MFLOPs saved"]:.1%} of the FLOPs.')
    fig = Figure(figsize=(8.5, 2.4))
    for ax, what in zip(fig.subplots(1, 2), ('params', 'MFLOPs')):
        cols = [f'{what} (θ=1)', f'{what} (θ={theta:g})']
        bottom = onp.zeros(2)
        for part, color in zip(['transition', 'next dense block'], ['tab:orange', 'tab:blue']):
            values = table.loc[part, cols].to_numpy(dtype=float)
            ax.bar(['θ = 1', f'θ = {theta:g}'], values, bottom=bottom, color=color, label=part)
            bottom += values
        ax.set_title(what, fontsize=11)
    ax.legend(fontsize=9, loc='upper left', bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return Report(text, table, fig)


# ---- 03: the model -------------------------------------------------------------------------------
def _check_model_args(growth_rate: int, convs_per_block: Sequence[int], input_size: int) -> tuple[int, ...]:
    """Check the arguments of the lesson's model and an input size it can process; return the layout."""
    check_int('growth_rate', growth_rate, high=MAX_GROWTH_RATE)
    convs_per_block = check_ints('convs_per_block', convs_per_block, high=MAX_CONVS, max_len=MAX_BLOCKS)
    check_input_size(input_size, len(convs_per_block))
    return convs_per_block


@use_np
def deck_vs_fixed(growth_rate: int = 32, convs_per_block: Sequence[int] = (4, 4, 4, 4),
                  input_size: int = 96) -> pd.DataFrame:
    """Output channels and params of every layer of the deck's model (fixed=False) next to the fixed one."""
    convs_per_block = _check_model_args(growth_rate, convs_per_block, input_size)
    tables = {fixed: layer_table(lesson_densenet(growth_rate, convs_per_block, fixed=fixed),
                                 (1, 1, input_size, input_size)) for fixed in (False, True)}
    table = pd.DataFrame({'layer': tables[True]['layer'],
                          'deck: channels': tables[False]['channels'], 'fixed: channels': tables[True]['channels'],
                          'deck: params': tables[False]['params'], 'fixed: params': tables[True]['params']})
    total = {'layer': 'total (whole net)', 'deck: channels': '', 'fixed: channels': '',
             'deck: params': tables[False]['params'].sum(), 'fixed: params': tables[True]['params'].sum()}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True).set_index('layer')


def spatial_size_table(input_sizes: Sequence[int] = (28, 29, 32, 96, 224), num_blocks: int = 4) -> pd.DataFrame:
    """Height/width after each down-sampling stage for several input sizes; 0 means the stage fails."""
    columns = {}
    for size in check_ints('input_sizes', input_sizes, high=MAX_IMAGE_SIZE, max_len=16):
        stages = spatial_sizes(size, num_blocks)
        columns[f'{size} px'] = [s for _, s in stages] + ['yes' if stages[-1][1] >= 1 else 'no']
    index = [name for name, _ in spatial_sizes(1, num_blocks)] + ['works?']
    return pd.DataFrame(columns, index=index)


def stage_table(table: pd.DataFrame) -> pd.DataFrame:
    """A ``layer_table`` of the lesson's model with one row per stage: stem, dense blocks, transitions, head."""
    is_block = table['layer'].str.endswith('DenseBlock').to_numpy()
    first, last = is_block.argmax(), len(is_block) - 1 - is_block[::-1].argmax()
    names, blocks, transitions = [], 0, 0
    for i, layer in enumerate(table['layer']):
        if i < first or i > last:
            names.append('stem' if i < first else 'head')
        elif is_block[i]:
            blocks += 1
            names.append(f'dense block {blocks}')
        else:
            transitions += 1
            names.append(f'transition {transitions}')
    grouped = table.assign(layer=names).groupby('layer', sort=False)
    return grouped.agg({'output shape': 'last', 'channels': 'last', 'params': 'sum', 'mult-adds': 'sum',
                        'activation bytes': 'sum'}).reset_index()


@use_np
def explore_densenet(growth_rate: int = 32, convs_per_block: Sequence[int] = (4, 4, 4, 4),
                     input_size: int = 96, fixed: bool = True) -> Report:
    """Parameters, FLOPs and activations of densenet(growth_rate, convs_per_block) at input_size, stage by stage."""
    convs_per_block = _check_model_args(growth_rate, convs_per_block, input_size)
    check_bool('fixed', fixed)
    table = layer_table(lesson_densenet(growth_rate, convs_per_block, fixed=fixed), (1, 1, input_size, input_size))
    total = totals(table)
    text = (f'densenet(growth_rate={growth_rate}, convs_per_block={convs_per_block}, fixed={fixed}) '
            f'at {input_size} x {input_size}:\n'
            f'{total["params"]:,} parameters, {total["FLOPs"] / 1e9:.3f} GFLOPs per image, '
            f'{total["activation bytes"] / 2**20:.2f} MiB of activations per image')
    return Report(text, pretty(stage_table(table)))


# ---- 05: bottleneck and compression ---------------------------------------------------------------
@use_np
def explore_bc(bottleneck: bool = True, compression: float = 0.5, growth_rate: int = 32,
               block_config: Sequence[int] = (4, 4, 4, 4), image_size: int = 96) -> Report:
    """Costs of a DenseNet with or without the bottleneck (B) and with compression theta (C), next to
    the plain DenseNet (no bottleneck, theta = 1), both with the deck's stem and sizes."""
    check_bool('bottleneck', bottleneck)
    check_fraction('compression', compression)
    block_config = _check_model_args(growth_rate, block_config, image_size)
    nets = {}
    for name, bn_size, theta in (('DenseNet (no B, θ = 1)', None, 1.0),
                                 (_bc_name(bottleneck, compression), 4 if bottleneck else None, compression)):
        nets[name] = DenseNet(growth_rate=growth_rate, block_config=block_config, bn_size=bn_size,
                              compression=theta, num_classes=10, use_bias=True)
    rows = {name: totals(layer_table(net, (1, 1, image_size, image_size))) for name, net in nets.items()}
    (plain, a), (chosen, b) = rows.items()
    ratio = {key: b[key] / a[key] for key in a}
    table = pd.DataFrame({
        'params': [f"{a['params']:,}", f"{b['params']:,}", f"{ratio['params']:.0%}"],
        'GFLOPs': [f"{a['FLOPs'] / 1e9:.3f}", f"{b['FLOPs'] / 1e9:.3f}", f"{ratio['FLOPs']:.0%}"],
        'activations MiB': [f"{a['activation bytes'] / 2**20:.2f}", f"{b['activation bytes'] / 2**20:.2f}",
                            f"{ratio['activation bytes']:.0%}"],
        'channels after each block': [nets[plain].channels[1::2], nets[chosen].channels[1::2], '']},
        index=[plain, chosen, 'ratio'])
    text = (f'{chosen} has {ratio["params"]:.0%} of the parameters and {ratio["FLOPs"]:.0%} of the FLOPs '
            f'of the plain DenseNet at {image_size} x {image_size}.')
    return Report(text, table)


def _bc_name(bottleneck: bool, compression: float) -> str:
    """'DenseNet-BC (θ = 0.5)', 'DenseNet-B', 'DenseNet-C (θ = 0.5)' or 'DenseNet'."""
    letters = ('B' if bottleneck else '') + ('C' if compression < 1 else '')
    return f'DenseNet{"-" + letters if letters else ""}' + (f' (θ = {compression:g})' if compression < 1 else '')
